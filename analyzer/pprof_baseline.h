/* pprof_baseline.h: what each stack had allocated at the last push, across reopenings of a
 * trace that is still being written.
 *
 * `memprof run --push` reopens the trace every interval and replays it whole; what was
 * allocated in the window is the difference between the figures now and those of the
 * last push. Stack ids are not stable across reopenings (the reader numbers stacks as it
 * finds them, and a chunk that grows holds new ones), so the baseline is keyed by what a
 * canonical stack is: its module generation and its return addresses. The builder keeps
 * there the highest figures it has seen (pprof.c says why).
 */
#ifndef MEMPROF_PPROF_BASELINE_H
#define MEMPROF_PPROF_BASELINE_H

#include <stdint.h>

struct mp_pprof_baseline;

/* What a stack had allocated (blocks and bytes; estimates in a sampled trace). */
struct mp_pprof_allocated {
	uint64_t objects, bytes;
};

/* NULL on -ENOMEM. */
struct mp_pprof_baseline *mp_pprof_baseline_new(void);
void mp_pprof_baseline_free(struct mp_pprof_baseline *baseline);

/* The figures last set for the stack (generation, frames[0..count)), zeros if none. A
 * stack with no frames (count 0) is "no stack recorded". */
struct mp_pprof_allocated mp_pprof_baseline_get(const struct mp_pprof_baseline *baseline,
						uint32_t generation, const uint64_t *frames,
						uint32_t count);
/* Sets them. 0 or -ENOMEM (the baseline then keeps its old figures for the stack). */
int mp_pprof_baseline_set(struct mp_pprof_baseline *baseline, uint32_t generation,
			  const uint64_t *frames, uint32_t count,
			  struct mp_pprof_allocated allocated);

#endif
