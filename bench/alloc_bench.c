/* alloc_bench.c: a malloc-heavy multithreaded workload for measuring profiler overhead.
 *
 * Each thread runs rounds; a round walks down one of several call chains 10 to 20 frames
 * deep, made of distinct functions, so the allocations come from a few dozen distinct
 * stacks, and at the bottom allocates a block of a pseudo-random size and frees one made a
 * while ago (a window of live blocks), as servers and compilers do.
 *
 *   alloc_bench [threads] [allocations per thread]      defaults: 2, 1000000
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 1024
#define CHAINS 4

struct worker {
	uint64_t seed;
	long allocations;
	void *window[WINDOW];
	unsigned next;
	uint64_t checksum;
};

static uint64_t next_random(struct worker *worker)
{
	worker->seed ^= worker->seed << 13;
	worker->seed ^= worker->seed >> 7;
	worker->seed ^= worker->seed << 17;
	return worker->seed;
}

/* The bottom of every chain: two allocation sites, so the chains give 2 * CHAINS * depths
 * distinct stacks. */
__attribute__((noinline)) static void leaf_small(struct worker *worker)
{
	size_t size = 16 + next_random(worker) % 240;
	char *block = malloc(size);
	block[0] = (char)size;
	unsigned slot = worker->next++ % WINDOW;
	worker->checksum += (uint64_t)(uintptr_t)worker->window[slot] & 0xff;
	free(worker->window[slot]);
	worker->window[slot] = block;
}

__attribute__((noinline)) static void leaf_large(struct worker *worker)
{
	size_t size = 256 + next_random(worker) % 3840;
	char *block = malloc(size);
	block[0] = (char)size;
	unsigned slot = worker->next++ % WINDOW;
	free(worker->window[slot]);
	worker->window[slot] = block;
}

static void leaf(struct worker *worker)
{
	if (next_random(worker) % 4 == 0)
		leaf_large(worker);
	else
		leaf_small(worker);
}

/* Four families of frames; each recursion level is a real call with its own frame. */
__attribute__((noinline)) static void chain_a(struct worker *worker, int depth);
__attribute__((noinline)) static void chain_b(struct worker *worker, int depth);
__attribute__((noinline)) static void chain_c(struct worker *worker, int depth);
__attribute__((noinline)) static void chain_d(struct worker *worker, int depth);

static void chain_a(struct worker *worker, int depth)
{
	if (depth == 0)
		leaf(worker);
	else
		chain_a(worker, depth - 1);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep the frame */
}

static void chain_b(struct worker *worker, int depth)
{
	if (depth == 0)
		leaf(worker);
	else if (depth % 2)
		chain_a(worker, depth - 1);
	else
		chain_b(worker, depth - 1);
	__asm__ volatile("" ::: "memory");
}

static void chain_c(struct worker *worker, int depth)
{
	if (depth == 0)
		leaf(worker);
	else if (depth % 3 == 0)
		chain_b(worker, depth - 1);
	else
		chain_c(worker, depth - 1);
	__asm__ volatile("" ::: "memory");
}

static void chain_d(struct worker *worker, int depth)
{
	if (depth == 0)
		leaf(worker);
	else
		chain_c(worker, depth - 1);
	__asm__ volatile("" ::: "memory");
}

static void *run_worker(void *arg)
{
	struct worker *worker = arg;
	static void (*const chains[CHAINS])(struct worker *, int) = { chain_a, chain_b, chain_c,
								      chain_d };
	for (long i = 0; i < worker->allocations; i++) {
		int depth = 8 + (int)(next_random(worker) % 11); /* 10 to 20 frames in all */
		chains[next_random(worker) % CHAINS](worker, depth);
	}
	for (unsigned i = 0; i < WINDOW; i++)
		free(worker->window[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2;
	long allocations = argc > 2 ? atol(argv[2]) : 1000000;
	if (threads < 1 || threads > 64 || allocations < 1) {
		fprintf(stderr, "usage: alloc_bench [threads 1-64] [allocations per thread]\n");
		return 2;
	}
	pthread_t ids[64];
	struct worker *workers = calloc((size_t)threads, sizeof(*workers));
	for (int i = 0; i < threads; i++) {
		workers[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		workers[i].allocations = allocations;
		pthread_create(&ids[i], NULL, run_worker, &workers[i]);
	}
	uint64_t checksum = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(ids[i], NULL);
		checksum += workers[i].checksum;
	}
	free(workers);
	printf("%llu\n", (unsigned long long)(checksum & 0xffff));
	return 0;
}
