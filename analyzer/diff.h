/* diff.h: two traces compared stack by stack (memprof diff, memprof html --base).
 *
 * Stacks are matched by their symbolized frames (function, file and line of each, as
 * mp_analysis_frames shows them), not by addresses, which move between builds: a frame
 * without a function name is matched by its "module+0xoffset" label, which holds within
 * one build. Stacks of one trace that show the same frames are added together. Pure
 * computation over two finished analyses; the printers are in report_diff.c.
 */
#ifndef MEMPROF_DIFF_H
#define MEMPROF_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "leaks.h"

enum mp_diff_metric {
	MP_DIFF_LEAKED,    /* lost blocks: definite, indirect, possible (unknown without a scan) */
	MP_DIFF_ALLOCATED, /* bytes and blocks allocated */
	MP_DIFF_PEAK,      /* bytes and blocks live at the heap peak */
	MP_DIFF_CALLS,     /* calls (as blocks) and bytes allocated; ranked by calls */
};

/* One trace of the two: its analysis and, for the leaked metric, its leaks. */
struct mp_diff_side {
	struct mp_analysis analysis;
	struct mp_leak_list leaks;
	int ready;
};

struct mp_diff_stack {
	uint64_t base_bytes, new_bytes, base_blocks, new_blocks;
	uint32_t base_stack, new_stack; /* a stack id showing these frames on each side, 0: none */
};

struct mp_diff {
	enum mp_diff_metric metric;
	struct mp_diff_side base, next;  /* `next` is the NEW trace */
	struct mp_diff_stack *stacks;    /* largest change first (see mp_diff_compute) */
	size_t count;
	uint64_t base_bytes, new_bytes, base_blocks, new_blocks; /* totals */
};

/* Parses "leaked", "allocated", "peak" or "calls". 0 or -EINVAL. */
int mp_diff_metric_parse(const char *name, enum mp_diff_metric *metric);
const char *mp_diff_metric_name(enum mp_diff_metric metric);

/* Analyzes both traces (flags: enum mp_analysis_flags), computes the leaks with `supp`
 * (may be NULL) and matches the stacks of `metric`. Returns 0, or a negative code with
 * one line in err naming the trace that failed; *diff may then only be destroyed. */
int mp_diff_run(const char *base_path, const char *new_path, enum mp_diff_metric metric,
		unsigned flags, const struct mp_suppressions *supp, struct mp_diff *diff,
		char *err, size_t err_len);

/* Matches the stacks of two finished sides (mp_diff_run's second half): every stack with
 * a nonzero value on either side, ordered by the absolute change of the metric's main
 * figure (blocks for calls, else bytes), growth before shrinkage at equal size, then
 * unchanged ones. 0 or -ENOMEM. */
int mp_diff_compute(struct mp_diff *diff);
void mp_diff_destroy(struct mp_diff *diff);

/* The matching key of a frame, "function\x1ffile\x1fline", into buf (truncated to len);
 * returns its length. For callers that match frames across traces themselves. */
size_t mp_diff_frame_key(const struct mp_frame *frame, char *buf, size_t len);

#endif
