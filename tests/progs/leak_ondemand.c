/* leak_ondemand.c: leak checks asked for while 4 threads allocate and free.
 *
 * Run with MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1. The main thread:
 *   2101 lost, 2102 and 2104 held by globals; raise(SIGUSR1): check 1
 *   2102 freed, 2103 lost; raise(SIGUSR1): check 2
 *   the workers stop; exit(0): check 3, at exit
 * So 2101 is definite in every check, 2102 reachable in check 1 only, 2103 definite in
 * checks 2 and 3 only, 2104 reachable in all. raise() returns once its check is in the
 * trace. The workers allocate and free blocks of 16 to 1023 bytes, keeping up to 64 live
 * (held by their own arrays: reachable).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 4

static void *g_2102, *g_2104;
static volatile int g_stop;

static void *worker(void *arg)
{
	void *live[64] = { 0 };
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!g_stop) {
		unsigned slot = (seed = seed * 1103515245u + 12345u) % 64;
		free(live[slot]);
		live[slot] = malloc(16 + (seed >> 16) % 1008);
		if ((seed & 0xff) == 0)
			usleep(100);
	}
	for (int i = 0; i < 64; i++)
		free(live[i]);
	return NULL;
}

static __attribute__((noinline)) void before_first(void)
{
	void *lost = malloc(2101);
	memset(lost, 0, 2101);
	g_2102 = calloc(1, 2102);
	g_2104 = calloc(1, 2104);
}

static __attribute__((noinline)) void between(void)
{
	free(g_2102);
	g_2102 = NULL;
	void *lost = malloc(2103);
	memset(lost, 0, 2103);
}

static __attribute__((noinline)) void wipe_stack(void)
{
	volatile char area[64 * 1024];
	memset((char *)area, 0, sizeof(area));
}

int main(void)
{
	pthread_t ids[WORKERS];
	for (long i = 0; i < WORKERS; i++)
		if (pthread_create(&ids[i], NULL, worker, (void *)(i + 1)))
			return 1;
	usleep(20 * 1000);
	before_first();
	wipe_stack();
	raise(SIGUSR1);
	between();
	wipe_stack();
	raise(SIGUSR1);
	usleep(20 * 1000);
	g_stop = 1;
	for (int i = 0; i < WORKERS; i++)
		pthread_join(ids[i], NULL);
	exit(0);
}
