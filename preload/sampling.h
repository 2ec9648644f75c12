/* sampling.h: MEMPROF_SAMPLE_BYTES, a feature of five files, all prefixed mp_sampling_
 * but the tally they share:
 *   sampling.c         the decision: a byte countdown per thread to the next sample point
 *   sampling_set.c     the sampled blocks still live, and the filter in front of them
 *   sampling_window.c  counts of blocks freed within the sampling window, per stack
 *   sampling_peak.c    the sampled heap's estimate and its stacks at each new peak
 *   stack_tally.c      figures summed per stack id, for the two before
 */
#ifndef MEMPROF_PRELOAD_SAMPLING_H
#define MEMPROF_PRELOAD_SAMPLING_H

#include "memprof/sample_weight.h"
#include "writer.h"

/* --- sampling.c: the decision --- */
/* Counts `size` bytes down to the thread's next sample point and returns 1 if none falls
 * in them; 0 (countdown untouched) if one does: then mp_sampling_decide decides. */
static inline int mp_sampling_countdown_absorbs(struct mp_thread *thread, size_t size)
{
	if (MP_LIKELY(size < thread->sample_countdown)) {
		thread->sample_countdown -= size;
		return 1;
	}
	return 0;
}

/* Slow part of the sampling decision (record_hot.h): the countdown ran out, or the thread
 * has none yet. Returns 1 if the allocation is sampled, 0 if not. */
int mp_sampling_decide(struct mp_thread *thread, size_t size);

/* The whole decision: 1 if an allocation of `size` bytes is sampled; always 1 without
 * sampling. The cost of an unsampled allocation is the countdown's subtraction. */
static inline int mp_sampling_picks(struct mp_thread *thread, size_t size)
{
	if (MP_LIKELY(mp_config.sample_bytes == 0))
		return 1;
	if (mp_sampling_countdown_absorbs(thread, size))
		return 0;
	return mp_sampling_decide(thread, size);
}

/* The first half of the decision, taken before the real allocator runs: 1 if sampling
 * and the allocation is certainly not sampled (no sample point is due in its bytes), so
 * that the interposed function can end in a jump to the real one (no frame, nothing after
 * it). Without sampling the countdown stays 0, so this is 0 for every call without
 * testing the option. Counting down the profiler's own allocations too (busy) moves the
 * sample points, but they stay a Poisson process over the program's bytes, so nothing is
 * biased. */
static inline int mp_sampling_not_due(size_t size)
{
	return mp_sampling_countdown_absorbs(&mp_state_thread, size);
}

/* --- sampling_set.c: the sampled blocks still live --- */
/* A sampled block the recorder remembers until its free is struct mp_sampled_set_entry
 * (trace_format.h): with a sampling window the set lives in the trace file, so that the
 * blocks still `pending` (allocation not written yet) survive a kill. */
/* Remembers a sampled block, so that its free is recorded; 0 or -1 (set full). With a
 * sampling window, `writer` (busy) writes the sampled heap's new peaks. */
int mp_sampling_set_insert(const struct mp_sampled_set_entry *block, struct mp_thread *writer);
/* What mp_sampling_set_take found. */
enum mp_sampling_set_found {
	MP_SAMPLING_SET_NONE = 0,    /* not a sampled block */
	MP_SAMPLING_SET_WRITTEN = 1, /* a sampled block whose allocation is in the trace */
	MP_SAMPLING_SET_COUNTED = 2, /* a pending one: counted as freed within the window */
};
/* Forgets addr if it is a sampled block; lock-free for blocks that were never sampled.
 * With `writer` (a busy thread), a pending block's allocation is written first, so the
 * caller can record a release of it (realloc); without, a pending block is counted. */
enum mp_sampling_set_found mp_sampling_set_take(uint64_t addr, struct mp_thread *writer);
/* Writes the allocations of pending blocks older than the window (all of them if `all`)
 * and the counts of blocks freed within it, into writer's chunk (writer busy). */
void mp_sampling_set_flush(struct mp_thread *writer, uint64_t now_ns, int all);
/* When the next flush is due (CLOCK_MONOTONIC ns); read without the lock. */
extern uint64_t mp_sampling_set_next_flush_ns;
/* The counting filter in front of the set: two one-byte counters per address, indexed by
 * the address itself (malloc's 16-byte granules) rather than a hash, so that a free reads
 * a counter near one a recent free brought into cache. It grows with the sampled blocks
 * (16 counters per block at least): small while few are live, so it stays in the L1
 * cache, and sparse enough that a free is rarely a "maybe". A grown filter replaces the
 * old one by one store; the old one is never freed, so a reader may still use it (it only
 * errs towards "maybe": see sampling.c).
 *
 * The filter is published as one word: the address of its counters, which are page
 * aligned, plus log2 of their number in the low 6 bits. A free then finds a counter with
 * two dependent loads (the word, the counter) rather than three (pointer, size, counter). */
extern uint8_t *mp_sampling_set_filter_word;
#define MP_SAMPLING_SET_FILTER_LOG2_BITS 63u
struct mp_sampling_set_filter {
	uint8_t *counters;
	uint64_t mask;          /* counters - 1, a power of two minus one */
};
static inline struct mp_sampling_set_filter mp_sampling_set_filter_unpack(uint8_t *word)
{
	uintptr_t bits = (uintptr_t)word;
	return (struct mp_sampling_set_filter){
		.counters = (uint8_t *)(bits & ~(uintptr_t)MP_SAMPLING_SET_FILTER_LOG2_BITS),
		.mask = ((uint64_t)1 << (bits & MP_SAMPLING_SET_FILTER_LOG2_BITS)) - 1,
	};
}
static inline uint64_t mp_sampling_set_filter_index(const struct mp_sampling_set_filter *filter,
					       uint64_t addr, int which)
{
	uint64_t key = which ? (addr >> 18) ^ (addr >> 4) : addr >> 4;
	return key & filter->mask;
}
/* The filter of a run without sampling (and of every run until the options are read):
 * one counter that is never 0. Told apart by its address first, so that a free without
 * sampling costs a load and a compare, not the two counters' (20 instructions a free,
 * 24M of sqlite3's bench run). */
extern uint8_t mp_sampling_set_always_maybe[1];
/* 0: addr is certainly not a sampled block; 1: it may be (ask mp_sampling_set_take). */
static inline int mp_sampling_set_maybe(uint64_t addr)
{
	uint8_t *word = __atomic_load_n(&mp_sampling_set_filter_word, __ATOMIC_ACQUIRE);
	if (word == mp_sampling_set_always_maybe)
		return 1;
	struct mp_sampling_set_filter filter = mp_sampling_set_filter_unpack(word);
	return __atomic_load_n(&filter.counters[mp_sampling_set_filter_index(&filter, addr, 0)],
			       __ATOMIC_RELAXED) != 0 &&
	       __atomic_load_n(&filter.counters[mp_sampling_set_filter_index(&filter, addr, 1)],
			       __ATOMIC_RELAXED) != 0;
}

/* Sets the filter for the options read (recording.c, once mp_config is loaded): without
 * sampling, one that lets every free through to be recorded. */
void mp_sampling_set_configure(void);
/* In a fork child: an empty set of the child's own (the fork handlers take no lock, so
 * the parent's may have been mid-change). */
void mp_sampling_set_after_fork_child(void);

/* --- stack_tally.c: figures summed per stack id (callers serialize) --- */
struct mp_stack_tally_slot {
	uint32_t key;            /* 0: empty; else the stack id (UINT32_MAX for stack 0) */
	uint64_t samples;
	uint64_t blocks, bytes;  /* weighted by sample_weight.h */
	uint64_t sampled_bytes;  /* requested sizes, unweighted */
};
struct mp_stack_tally {
	struct mp_stack_tally_slot *slots;
	uint64_t capacity, used;
};
/* The stack's entry, created at zero if new; NULL only when no memory is left. */
struct mp_stack_tally_slot *mp_stack_tally_at(struct mp_stack_tally *tally, uint32_t stack);
/* The stack id an entry (key != 0) is for. */
uint32_t mp_stack_tally_stack(const struct mp_stack_tally_slot *slot);
void mp_stack_tally_clear(struct mp_stack_tally *tally);

/* --- sampling_window.c: counts of sampled blocks freed within the window, per stack.
 * Called under the sampling lock only. --- */
/* Counts a pending block that is being freed; `weight` is what it stands for. */
void mp_sampling_window_count(const struct mp_sampled_set_entry *block,
			      struct mp_sample_weight weight);
/* Writes the counts as MP_REC_SAMPLES_FREED records and starts again from zero. */
void mp_sampling_window_emit(struct mp_thread *writer);
void mp_sampling_window_after_fork_child(void);

/* --- sampling_peak.c: the sampled heap's estimate and its peak (sampling lock held) --- */
/* A sampled block of that weight joins (sign 1) or leaves (-1) the live estimate. */
void mp_sampling_peak_live_change(struct mp_sample_weight weight, int sign);
/* Writes the live samples per stack if the estimate reached a new peak (5% above the
 * last one written). */
void mp_sampling_peak_check(struct mp_thread *writer, const struct mp_sampled_set_entry *set,
			   uint64_t capacity, uint64_t now_ns);
void mp_sampling_peak_after_fork_child(void);

#endif
