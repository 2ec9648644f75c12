/* thread_churn.c: what a thread costs under a profiler, made and ended again and again.
 *
 * Starts THREADS threads (argv[1], default 1000), each after the last one ended, as a
 * program does that hands each request or task a thread of its own; each makes ALLOCS
 * allocations (argv[2], default 10) from a call chain a few frames deep and frees them.
 * bench/threads.sh times it with and without memprof. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long allocs = 10;

static __attribute__((noinline)) void task_leaf(long index)
{
	void *blocks[64];
	long count = allocs < 64 ? allocs : 64;
	for (long i = 0; i < count; i++)
		blocks[i] = malloc(32 + (size_t)((index + i) % 64));
	for (long i = 0; i < count; i++)
		free(blocks[i]);
}

static __attribute__((noinline)) void task(long index, int depth)
{
	if (depth > 0)
		task(index, depth - 1);
	else
		task_leaf(index);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static void *worker(void *arg)
{
	long index = (long)arg;
	task(index, 2 + (int)(index % 4));
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 1000;
	if (argc > 2)
		allocs = atol(argv[2]);
	for (long i = 0; i < threads; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, worker, (void *)i) != 0 ||
		    pthread_join(thread, NULL) != 0) {
			perror("thread_churn");
			return 1;
		}
	}
	return 0;
}
