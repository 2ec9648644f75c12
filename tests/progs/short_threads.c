/* short_threads.c: THREADS threads (argv[1], default 300), each started after the last one
 * ended, so that each may take over what the one before left (memprof keeps the memos of
 * ended threads for the next ones, and makes one for a thread from its 33rd capture on).
 * Thread i calls down 2 + i % 6 levels, allocates 10 blocks of 48 + i % 16 bytes there and
 * frees them, five times, and every tenth thread leaks one block of 1000 + i bytes from
 * leak_here (definitely lost). Nothing else is left allocated. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static __attribute__((noinline)) void leak_here(long index)
{
	void *block = malloc(1000 + (size_t)index);
	__asm__ volatile("" : : "r"(block) : "memory");
}

static __attribute__((noinline)) void allocate_here(long index)
{
	void *blocks[10];
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 10; i++)
			blocks[i] = malloc(48 + (size_t)(index % 16));
		for (int i = 0; i < 10; i++)
			free(blocks[i]);
	}
	if (index % 10 == 0)
		leak_here(index);
}

static __attribute__((noinline)) void descend(long index, int depth)
{
	if (depth > 0)
		descend(index, depth - 1);
	else
		allocate_here(index);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static void *worker(void *arg)
{
	long index = (long)arg;
	descend(index, 2 + (int)(index % 6));
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 300;
	for (long i = 0; i < threads; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, worker, (void *)i) != 0 ||
		    pthread_join(thread, NULL) != 0) {
			perror("short_threads: thread");
			return 1;
		}
	}
	return 0;
}
