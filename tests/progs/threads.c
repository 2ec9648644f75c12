/* threads.c: 8 threads with known allocations, some detached and ending while others run.
 * Thread i (1..8) allocates i*100 blocks of 10000+i bytes and frees the first i*50;
 * the main thread leaks 7 blocks of 9999 bytes. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS 8

static pthread_barrier_t started;

static void *worker(void *arg)
{
	long index = (long)arg;
	int count = (int)index * 100;
	void **blocks = calloc((size_t)count, sizeof(void *));
	pthread_barrier_wait(&started);
	for (int i = 0; i < count; i++)
		blocks[i] = malloc(10000 + (size_t)index);
	for (int i = 0; i < count / 2; i++)
		free(blocks[i]);
	free(blocks);
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	pthread_barrier_init(&started, NULL, THREADS + 1);
	for (long i = 1; i <= THREADS; i++) {
		pthread_create(&threads[i - 1], NULL, worker, (void *)i);
		if (i % 2 == 0)
			pthread_detach(threads[i - 1]);
	}
	pthread_barrier_wait(&started);
	for (int i = 0; i < 7; i++)
		(void)!malloc(9999);
	for (int i = 1; i <= THREADS; i += 2)
		pthread_join(threads[i - 1], NULL);
	/* Detached threads: give them time to finish before exit. */
	usleep(200 * 1000);
	return 0;
}
