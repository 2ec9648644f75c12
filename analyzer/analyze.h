/* analyze.h: one trace replayed into a heap model, plus its stacks as source frames.
 *
 * The glue between the reader (trace_read.h), the computation (heap_model.h) and the
 * symbolizer (symbolize.h), shared by every command so that they all count alike.
 */
#ifndef MEMPROF_ANALYZE_H
#define MEMPROF_ANALYZE_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "heap_model.h"
#include "symbolize.h"
#include "trace_read.h"

/* Frames written for one stack at most (raw frames times inlining depth, clipped). */
#define MP_ANALYSIS_MAX_FRAMES 1024

struct mp_analysis {
	const char *path;
	struct mp_trace *trace;
	struct mp_heap_model model;
	struct mp_trace_stats stats;
	int complete;           /* 0: records are missing (trace_complete.h) or do not decode */
	char stop_reason[256];  /* why it is incomplete; "" if it is complete */
	uint64_t run_time_ns;   /* header start to exit, or to the last event if it never exited */
	struct mp_symbolizer *symbolizer; /* made at open, warmed on a thread; NULL if failed */
	int symbolizer_tried;
	pthread_t warmer;                 /* mp_symbolizer_warm, while warming is set */
	int warming;
	int debug_loaded;                 /* set (atomically) by the warming thread once the
					     debug information is loaded */
	int stop_warming;                 /* set (atomically) when the replay is done */
	int full_stacks;                  /* 1: the runtime's root frames are shown too */
	uint32_t *shown;                  /* per stack id: raw frames shown, 0 if not yet known;
					     NULL without memory (then worked out each time) */
	const struct mp_analysis_checkpoints *checkpoints; /* during mp_analysis_replay */
	size_t next_checkpoint;
	/* Added after the first version of this interface: */
	const struct mp_analysis_observer *observer; /* set by the caller before the replay */
	int core_free;    /* a second core was free while the trace was opened (core_share.h) */
};

enum mp_analysis_flags {
	/* Stacks will be printed: load the debug information on a second thread while the
	 * events are replayed (a summary without stacks should not wait for it). */
	MP_ANALYSIS_SYMBOLS = 1,
	/* Show every frame (--full-stacks): keep the runtime's frames at the root of the
	 * stacks, which mp_analysis_frames leaves out otherwise. */
	MP_ANALYSIS_FULL_STACKS = 2,
};

/* Moments of the replay at which a caller looks at the model (memory snapshots): visit is
 * called once per time, in order, with the model as it stood just before the first event
 * at or after that time (releases count at their time before), and after the last event
 * for times beyond it. A nonzero return stops the replay with that code. */
struct mp_analysis_checkpoints {
	const uint64_t *times;  /* ascending, CLOCK_MONOTONIC ns */
	size_t count;
	int (*visit)(void *context, size_t index, const struct mp_heap_model *model);
	void *context;
};

/* Sees every event of the replay just before the model applies it, with the model as it
 * stands then (memprof html's time buckets: a free's block is still in it). Set
 * analysis->observer between mp_analysis_open and mp_analysis_replay; NULL costs nothing.
 * A nonzero return stops the replay with that code. Samples the replay adds at its end
 * (a killed writer's pending ones, the sampling window's counts) are not shown to it. */
struct mp_analysis;
struct mp_analysis_observer {
	int (*event)(void *context, const struct mp_event *event,
		     const struct mp_analysis *analysis);
	void *context;
};

/* mp_analysis_run in two steps, for a caller that reads the trace (its snapshots) before
 * the replay: mp_analysis_open opens `path` and starts the symbolizer (flags), leaving
 * the model empty; mp_analysis_replay replays every event, visiting `checkpoints` (may be
 * NULL) on the way, and finishes the model. Both return 0 or a negative code with one
 * line in err; after a failure only mp_analysis_destroy may follow (the open one leaves
 * *analysis empty). */
int mp_analysis_open(const char *path, struct mp_analysis *analysis, unsigned flags, char *err,
		     size_t err_len);
int mp_analysis_replay(struct mp_analysis *analysis,
		       const struct mp_analysis_checkpoints *checkpoints, char *err,
		       size_t err_len);

/* Opens `path`, replays every event and finishes the model. Returns 0 with *analysis
 * ready (possibly incomplete, see ->complete), or a negative code with one line in err
 * (the reader's reason, without the path) and *analysis left empty. `path` must outlive
 * the analysis. flags: enum mp_analysis_flags. */
int mp_analysis_run(const char *path, struct mp_analysis *analysis, unsigned flags, char *err,
		    size_t err_len);

/* Releases everything the analysis holds. */
void mp_analysis_destroy(struct mp_analysis *analysis);

/* Symbolizes canonical stack `stack_id` into frames[], innermost first, inlined frames as
 * frames of their own; returns how many (0 for stack 0, "no stack"). Strings are owned by
 * the analysis. Without a symbolizer, frames carry the address and module only.
 *
 * Unless MP_ANALYSIS_FULL_STACKS was given, the stack ends at the program's entry: its
 * outermost frames are left out while the symbol table names them as the runtime's own
 * plumbing below main (_start, __libc_start_main, __libc_start_call_main) or below a
 * thread's start routine (start_thread, clone, clone3), but never the innermost frame.
 * In a program without symbols (main and _start unnamed), the stack is cut at the libc
 * function that called its unnamed root (__libc_start_call_main, start_thread).
 * Only what is printed changes: stack ids, and so every grouping by stack, stay the same. */
int mp_analysis_frames(struct mp_analysis *analysis, uint32_t stack_id, struct mp_frame *frames,
		       int max);

/* The same frames, then the ones mp_analysis_frames leaves out, named from the symbol
 * table only (function and module; no file, line or inlined frames, since their debug
 * information is not loaded). For rules about the whole stack (suppressions), whose
 * verdict must not depend on what is displayed. With full stacks, mp_analysis_frames. */
int mp_analysis_all_frames(struct mp_analysis *analysis, uint32_t stack_id,
			   struct mp_frame *frames, int max);

/* Shows full stacks from now on, as MP_ANALYSIS_FULL_STACKS would have (for a command
 * whose analysis is run by a helper that takes no flags: memprof memory). */
void mp_analysis_show_full_stacks(struct mp_analysis *analysis);

/* A display name for a frame: its function, else "module+0xoffset", else "0xaddress".
 * Returns frame->function or buf (which receives the text, truncated to len). */
const char *mp_frame_label(const struct mp_frame *frame, char *buf, size_t len);

#endif
