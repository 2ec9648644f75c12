/* unwind_bench.c: what one stack capture costs, libunwind's against memprof's walk.
 *
 * Linked with the preload's objects (bench/bench.mk). Captures the stack at the bottom of
 * call chains like alloc_bench's (4 families of frames, 10 to 20 deep, the depth and the
 * family drawn at random each time), or of one chain always the same, or of chains that
 * almost never repeat, and prints the CPU time per capture of
 *   unw_backtrace          libunwind 1.6, as memprof used it before
 *   walk                   mp_unwind_backtrace with its memo paused (unwind.c's rules)
 *   walk + memo            mp_unwind_backtrace as the recorder uses it
 * in interleaved rounds, medians. Each capture's frames are checked against
 * unw_backtrace's once, first.
 *
 *   unwind_bench [captures per round, default 200000] [rounds, default 7] [chains: 0-2]
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unwind.h"

#define FRAMES 72

enum method { NONE, UNW_BACKTRACE, WALK, WALK_MEMO, METHODS };
static const char *const method_names[METHODS] = { "no capture", "unw_backtrace", "walk",
						    "walk + memo" };

struct run {
	uint64_t seed;
	enum method method;
	int shape;     /* 0: random chains, 1: one chain, 2: chains that rarely repeat */
	uint64_t sink;
	long frames;
};

static uint64_t next_random(struct run *run)
{
	run->seed ^= run->seed << 13;
	run->seed ^= run->seed >> 7;
	run->seed ^= run->seed << 17;
	return run->seed;
}

static __attribute__((noinline)) void capture(struct run *run)
{
	void *ips[FRAMES];
	if (run->method == NONE) {
		run->sink++;
		return;
	}
	int count = run->method == UNW_BACKTRACE ? unw_backtrace(ips, FRAMES)
						 : mp_unwind_backtrace(ips, FRAMES);
	run->frames += count;
	run->sink += (uintptr_t)ips[count - 1];
}

__attribute__((noinline)) static void chain_a(struct run *run, int depth);
__attribute__((noinline)) static void chain_b(struct run *run, int depth);
__attribute__((noinline)) static void chain_c(struct run *run, int depth);
__attribute__((noinline)) static void chain_d(struct run *run, int depth);

/* In chains that rarely repeat, each level picks its family at random. */
static void next_level(struct run *run, int depth, void (*usual)(struct run *, int))
{
	static void (*const chains[4])(struct run *, int) = { chain_a, chain_b, chain_c, chain_d };
	if (depth == 0)
		capture(run);
	else if (run->shape == 2)
		chains[next_random(run) % 4](run, depth - 1);
	else
		usual(run, depth - 1);
}

static void chain_a(struct run *run, int depth)
{
	next_level(run, depth, chain_a);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep the frame */
}

static void chain_b(struct run *run, int depth)
{
	next_level(run, depth, depth % 2 ? chain_a : chain_b);
	__asm__ volatile("" ::: "memory");
}

static void chain_c(struct run *run, int depth)
{
	next_level(run, depth, depth % 3 == 0 ? chain_b : chain_c);
	__asm__ volatile("" ::: "memory");
}

static void chain_d(struct run *run, int depth)
{
	next_level(run, depth, chain_c);
	__asm__ volatile("" ::: "memory");
}

static double cpu_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static void rounds_of(struct run *run, long captures)
{
	static void (*const chains[4])(struct run *, int) = { chain_a, chain_b, chain_c, chain_d };
	for (long i = 0; i < captures; i++) {
		if (run->shape == 1)
			chain_c(run, 14);
		else
			chains[next_random(run) % 4](run, 8 + (int)(next_random(run) % 11));
	}
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Checks that the walk agrees with libunwind at the bottom of a chain. */
static __attribute__((noinline)) void check_capture(struct run *run)
{
	void *ours[FRAMES], *theirs[FRAMES];
	int ours_count = mp_unwind_backtrace(ours, FRAMES);
	int theirs_count = unw_backtrace(theirs, FRAMES);
	if (ours_count != theirs_count ||
	    memcmp(ours + 1, theirs + 1, (size_t)(ours_count - 1) * sizeof(void *)) != 0) {
		fprintf(stderr, "unwind_bench: the walk and unw_backtrace disagree\n");
		exit(1);
	}
	run->frames += ours_count;
}

int main(int argc, char **argv)
{
	long captures = argc > 1 ? atol(argv[1]) : 200000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	int only = argc > 3 ? atoi(argv[3]) : -1; /* one kind of chains only */
	if (captures < 1 || rounds < 1 || rounds > 99) {
		fprintf(stderr, "usage: unwind_bench [captures per round] [rounds 1-99]\n");
		return 2;
	}
	static const char *const shape_names[] = {
		"random chains 10-20 deep (alloc_bench's)", "one chain, 16 deep",
		"chains that rarely repeat, 10-20 deep",
	};
	mp_unwind_init();
	for (int shape = 0; shape < 3; shape++) {
		if (only >= 0 && shape != only)
			continue;
		double ns[METHODS][99];
		double frames_seen = 0;
		uint64_t hits = 0, others = 0, rejects = 0, fallbacks = 0, joins = 0;
		for (int round = 0; round < rounds; round++) {
			for (int method = 0; method < METHODS; method++) {
				mp_unwind_memo_pause(method != WALK_MEMO);
				struct run run = { .seed = 0x9e3779b97f4a7c15ull * (uint64_t)(round + 1),
						   .method = (enum method)method, .shape = shape };
				if (method == WALK && round == 0 && shape == 0) {
					struct run check = run;
					for (int i = 0; i < 1000; i++)
						chain_b(&check, 5 + i % 15), check_capture(&check);
				}
				if (method == WALK_MEMO && shape == 0 && round == 0)
					rounds_of(&run, 1000); /* warm the memo once */
				struct mp_unwind_counts counts_before, counts_after;
				mp_unwind_counts_get(&counts_before);
				double before = cpu_ns();
				rounds_of(&run, captures);
				ns[method][round] = (cpu_ns() - before) / (double)captures;
				mp_unwind_counts_get(&counts_after);
				if (method == WALK_MEMO) {
					hits += counts_after.memo_hits - counts_before.memo_hits;
					others += counts_after.memo_others - counts_before.memo_others;
					rejects += counts_after.memo_rejects - counts_before.memo_rejects;
					fallbacks += counts_after.fallbacks - counts_before.fallbacks;
					joins += counts_after.joins - counts_before.joins;
				}
				if (method != NONE)
					frames_seen = (double)run.frames / (double)captures;
			}
		}
		printf("%s, %.1f frames a capture, median of %d rounds of %ld:\n", shape_names[shape],
		       frames_seen, rounds, captures);
		for (int method = 0; method < METHODS; method++)
			qsort(ns[method], (size_t)rounds, sizeof(double), compare_doubles);
		double chains = ns[NONE][rounds / 2];
		double reference = ns[UNW_BACKTRACE][rounds / 2] - chains;
		printf("  the chains alone: %.1f ns\n", chains);
		for (int method = UNW_BACKTRACE; method < METHODS; method++) {
			double cost = ns[method][rounds / 2] - chains;
			printf("  %-14s %7.1f ns a capture (%.2f of unw_backtrace's)\n",
			       method_names[method], cost, cost / reference);
		}
		double all = (double)captures * rounds;
		printf("  memo: %.1f%% of captures found there (%.1f%% not the last walk from their "
		       "start), %.1f%% walked again, %.1f%% by libunwind\n", 100.0 * (double)hits / all,
		       100.0 * (double)others / all, 100.0 * (double)rejects / all,
		       100.0 * (double)fallbacks / all);
		printf("  %.1f%% took the outer frames of the walk before them\n",
		       100.0 * (double)joins / all);
	}
	return 0;
}
