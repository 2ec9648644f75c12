/* heap_model.h: replaying a trace's events into exact heap and mmap accounting.
 *
 * Pure computation: fed one struct mp_event at a time in trace order, it keeps the live
 * blocks, the call counters, the heap peak (and each stack's share of it), what is still
 * live at the end (the leaks), temporary allocations and the mmap/brk totals. No I/O, so
 * tests can drive it with hand-made events. Memory grows with live blocks, stacks and
 * threads, never with the number of events.
 *
 * Semantics (the numbers the reports print):
 *   - malloc, calloc, posix_memalign, aligned_alloc, memalign, valloc, pvalloc and
 *     realloc(NULL, n) count as allocations; free and realloc(p, 0) as frees; any other
 *     realloc as a realloc, which releases the old block (at time_before_ns) and then
 *     creates the new one. allocated_bytes sums the size of every block created.
 *   - MP_REC_ALLOC_FAILED counts as a failed call and never becomes live.
 *   - A release of an address that is not live (allocated before tracing, or dropped)
 *     is counted in unknown_frees and otherwise ignored. An allocation at an address that
 *     is still live (its free was not seen) first drops the stale block (replaced_blocks).
 *   - A block is temporary when the thread that releases it (by free or realloc) made no
 *     other allocation since allocating it; heaptrack's definition, per thread.
 *   - "heap" is the malloc family only; mmap'd bytes (page-rounded) and the brk growth are
 *     tracked on their own.
 *   - A sampled trace (header sample_bytes N > 0) holds each allocation of s bytes with
 *     probability p = 1 - exp(-s/N), and the frees of those only. Every recorded block
 *     then stands for 1/p blocks and s/p bytes (both rounded to integers, the same for a
 *     block when it is created and when it goes, so the live figures never drift): all
 *     counts and bytes of malloc-family blocks become unbiased estimates. mmap, munmap,
 *     mremap and brk are recorded in full and stay exact. With a sampling window, the
 *     samples freed within it come as per-stack counts (mp_heap_model_add_freed) that
 *     were never live in the replay: the heap peak and timeline leave them out.
 */
#ifndef MEMPROF_HEAP_MODEL_H
#define MEMPROF_HEAP_MODEL_H

#include <stdint.h>

#include "live_blocks.h"
#include "memprof/sample_weight.h"
#include "mappings.h"
#include "stack_stats.h"
#include "thread_latest.h"
#include "trace_read.h"

struct mp_heap_totals {
	uint64_t events;          /* events fed */
	uint64_t first_time_ns, last_time_ns; /* of the events fed; 0 if none */

	uint64_t allocations, frees, reallocs, failed_calls;
	uint64_t mmaps, munmaps, mremaps, brks;
	uint64_t allocated_bytes;

	uint64_t live_bytes, live_blocks;  /* heap, now; at the end: leaked */
	uint64_t peak_bytes, peak_blocks;  /* heap peak; its first occurrence */
	uint64_t peak_time_ns, peak_event; /* peak_event: 1-based index of the event */
	uint64_t temporary_allocations;

	uint64_t unknown_frees;   /* free/realloc of an address that was not live */
	uint64_t replaced_blocks; /* allocation at an address already live */
	uint64_t unknown_unmaps;  /* munmap/mremap of nothing the program mapped itself */

	uint64_t mmap_bytes;      /* bytes mapped in total (mmap and mremap growth) */
	uint64_t mmap_live_bytes, mmap_peak_bytes, mmap_peak_time_ns;
	/* The parts of mmap_live_bytes and mmap_peak_bytes mapped PROT_NONE: address space
	 * reserved (a runtime's heap reservation, a guard), which the program may open part
	 * by part with mprotect, which is not traced. */
	uint64_t mmap_live_reserved_bytes, mmap_peak_reserved_bytes;
	uint64_t brk_start;       /* the first break seen; 0 if no brk event */
	uint64_t brk_current;
	uint64_t brk_peak_bytes;  /* highest break above brk_start */

	uint64_t sample_bytes;    /* the trace's sampling mean; 0: exact figures */
	uint64_t samples;         /* samples behind the estimates (written and counted) */
	uint64_t window_samples;  /* of those, blocks freed within the sampling window */
	uint64_t window_blocks, window_bytes; /* what they stand for */
	uint64_t pending_samples; /* samples read from the writer's sampled set: the process
				     ended (killed) before writing their allocations */
};

/* A region the program's brk grew by, charged to the stack that grew it. */
struct mp_brk_region {
	uint64_t start, end;
	uint32_t stack_id;
};

struct mp_heap_model {
	struct mp_heap_totals totals;
	struct mp_live_blocks blocks;
	struct mp_stack_stats stacks;
	struct mp_mappings mappings;
	struct mp_thread_latest latest; /* for temporaries */
	struct mp_brk_region *brks;     /* the brk's growth now, sorted, disjoint */
	size_t brk_count, brk_cap;
};

/* Initializes an empty model expecting stack ids up to stack_count (more are accepted)
 * and rounding mapping lengths to page_size (0: none). Returns 0 or -ENOMEM. */
int mp_heap_model_init(struct mp_heap_model *model, uint32_t stack_count, uint32_t page_size);
void mp_heap_model_destroy(struct mp_heap_model *model);

/* Declares the trace sampled with mean N bytes (mp_file_header.sample_bytes); call
 * before the first event. 0 keeps the figures exact. */
void mp_heap_model_set_sampling(struct mp_heap_model *model, uint64_t sample_bytes);
/* Makes room for `blocks` live blocks at once before the replay (mp_live_blocks_reserve:
 * within a ceiling). Only speed and memory depend on it. 0 or -ENOMEM (then the model is
 * unchanged and still usable). */
int mp_heap_model_expect_blocks(struct mp_heap_model *model, uint64_t blocks);

/* Adds the sampled blocks of a stack freed within the sampling window (trace_format.h,
 * MP_REC_SAMPLES_FREED): allocations and frees at once, never live, so they count in
 * calls and allocated bytes but not in the live, peak or leaked figures. Returns 0 or
 * -ENOMEM. */
struct mp_freed_samples;
int mp_heap_model_add_freed(struct mp_heap_model *model, const struct mp_freed_samples *freed);

/* Brings what `event` will touch into the cache (a hint, no effect on the model): the
 * replay calls it a few events ahead of mp_heap_model_feed, so that the lookups of the
 * live blocks, which land at random in a table of hundreds of megabytes, overlap. Always
 * inline, like mp_live_blocks_prefetch. */
static inline __attribute__((always_inline)) void mp_heap_model_prefetch(
	const struct mp_heap_model *model, const struct mp_event *event)
{
	mp_live_blocks_prefetch(&model->blocks, event->addr);
	if (event->old_addr)
		mp_live_blocks_prefetch(&model->blocks, event->old_addr);
}

/* Applies one event. Returns 0, or -ENOMEM (the event may then be partly applied; the
 * caller should stop). Events with an unknown tag are ignored. */
int mp_heap_model_feed(struct mp_heap_model *model, const struct mp_event *event);

/* Ends the replay: makes each stack's peak share final. Call after the last event. */
void mp_heap_model_finish(struct mp_heap_model *model);

#endif
