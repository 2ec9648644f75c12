/* getattr_first.c: threads whose first allocation comes from inside glibc's
 * pthread_getattr_np (tests/integration/getattr_first.sh), as a Rust thread's does: it asks
 * about itself as it starts. glibc reallocs the CPU set it copies there, holding the lock
 * of the thread asked about; memprof, learning the thread's stack at its first capture,
 * asked pthread_getattr_np about the thread too, and waited for that lock for good.
 *
 *   getattr_first THREADS PAIRS
 * starts THREADS threads that each ask about themselves, and PAIRS pairs that ask about
 * each other at once, each then allocating 10 blocks of 24 bytes through `allocate`;
 * prints "ok N" with N the threads that found their stack.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_barrier_t pair_start, pair_asked;
static pthread_t partners[2];
static int found;

static __attribute__((noinline)) void allocate(void)
{
	void *blocks[10];
	for (int i = 0; i < 10; i++)
		blocks[i] = malloc(24);
	for (int i = 0; i < 10; i++)
		free(blocks[i]);
}

/* Asks glibc about `thread`: its stack's address and size. */
static __attribute__((noinline)) void ask(pthread_t thread)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(thread, &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr && size)
		__atomic_add_fetch(&found, 1, __ATOMIC_RELAXED);
	pthread_attr_destroy(&attr);
}

static void *about_self(void *unused)
{
	(void)unused;
	ask(pthread_self());
	allocate();
	return NULL;
}

static void *about_partner(void *index)
{
	pthread_barrier_wait(&pair_start); /* both partners' ids are set */
	ask(partners[1 - (long)index]);
	pthread_barrier_wait(&pair_asked); /* neither ends before it was asked about */
	allocate();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int threads = atoi(argv[1]), pairs = atoi(argv[2]);
	for (int i = 0; i < threads; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, about_self, NULL) != 0)
			return 3;
		pthread_join(thread, NULL);
	}
	for (int i = 0; i < pairs; i++) {
		pthread_barrier_init(&pair_start, NULL, 3);
		pthread_barrier_init(&pair_asked, NULL, 2);
		for (long k = 0; k < 2; k++)
			if (pthread_create(&partners[k], NULL, about_partner, (void *)k) != 0)
				return 3;
		pthread_barrier_wait(&pair_start);
		for (int k = 0; k < 2; k++)
			pthread_join(partners[k], NULL);
		pthread_barrier_destroy(&pair_start);
		pthread_barrier_destroy(&pair_asked);
	}
	printf("ok %d\n", found);
	return 0;
}
