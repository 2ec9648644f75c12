/* alive_threads.c: THREADS threads (argv[1], default 400) alive at once, each having made
 * ALLOCS allocations (argv[2], default 100: enough for memprof to keep walks for it) from a
 * call chain a few frames deep, when the program raises SIGUSR2 (MEMPROF_SNAPSHOT_SIGNAL=SIGUSR2 takes a
 * snapshot then) and waits 300 ms, then raises SIGUSR1 (MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1:
 * a leak check); then the threads end. Nothing is left allocated. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_barrier_t allocated, released;
static long allocs = 100;

static __attribute__((noinline)) void churn(long index)
{
	for (long i = 0; i < allocs; i++) {
		void *block = malloc(16 + (size_t)((index + i) % 48));
		__asm__ volatile("" : : "r"(block) : "memory");
		free(block);
	}
}

static __attribute__((noinline)) void work(long index, int depth)
{
	if (depth > 0)
		work(index, depth - 1);
	else
		churn(index);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static void *worker(void *arg)
{
	work((long)arg, 3);
	pthread_barrier_wait(&allocated);
	pthread_barrier_wait(&released);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 400;
	if (argc > 2)
		allocs = atol(argv[2]);
	pthread_t *ids = calloc((size_t)threads, sizeof(*ids));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 << 10);
	pthread_barrier_init(&allocated, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&released, NULL, (unsigned)threads + 1);
	for (long i = 0; i < threads; i++) {
		if (pthread_create(&ids[i], &attr, worker, (void *)i) != 0) {
			perror("alive_threads");
			return 1;
		}
	}
	pthread_barrier_wait(&allocated);
	raise(SIGUSR2);
	struct timespec pause = { 0, 300000000 };
	nanosleep(&pause, NULL);
	raise(SIGUSR1);
	pthread_barrier_wait(&released);
	for (long i = 0; i < threads; i++)
		pthread_join(ids[i], NULL);
	free(ids);
	return 0;
}
