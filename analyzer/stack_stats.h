/* stack_stats.h: per-stack aggregates (calls, bytes, live, at the heap peak) and top-N.
 *
 * Indexed by canonical stack id (0 = "no stack recorded"), grown on demand. The value each
 * stack held at the moment of the global heap peak is kept exactly in one pass with a lazy
 * snapshot: every peak starts a new epoch, and the first change to a stack in a later epoch
 * first saves the value it had at the peak (it cannot have changed since).
 */
#ifndef MEMPROF_STACK_STATS_H
#define MEMPROF_STACK_STATS_H

#include <stddef.h>
#include <stdint.h>

struct mp_stack_agg {
	uint64_t calls;           /* calls recorded with this stack (allocations, reallocs, mmaps, failures) */
	uint64_t allocations;     /* heap blocks created */
	uint64_t allocated_bytes; /* heap bytes requested in total */
	uint64_t temporary;       /* blocks freed before any other allocation by the same thread */
	uint64_t live_bytes;      /* heap bytes live now; at the end of the trace: not freed */
	uint64_t live_blocks;
	uint64_t peak_bytes;      /* live at the global heap peak (see mp_stack_stats_finish) */
	uint64_t peak_blocks;
	uint64_t snap_epoch;      /* peak epoch peak_bytes/peak_blocks were saved in */
	/* Added with leak kinds: of the blocks not freed, the leaked ones (lost, as
	 * memcheck says; leaks.h), set by mp_leaks_compute once the replay is over. */
	uint64_t leaked_bytes;
	uint64_t leaked_blocks;
};

enum mp_stack_metric {
	MP_METRIC_ALLOCATED,
	MP_METRIC_CALLS,
	MP_METRIC_PEAK,
	MP_METRIC_LEAKED,   /* leaked_bytes: lost blocks only (needs mp_leaks_compute) */
	MP_METRIC_UNFREED,  /* live_bytes at the end: every block not freed */
};

struct mp_stack_stats {
	struct mp_stack_agg *aggs;
	uint32_t capacity;   /* entries in aggs */
	uint32_t used;       /* highest id touched + 1 */
	uint64_t peak_epoch; /* number of peaks seen */
	int finished;
};

/* Initializes for ids 0..expected_count (more are added on demand). Returns 0 or -ENOMEM. */
int mp_stack_stats_init(struct mp_stack_stats *stats, uint32_t expected_count);
void mp_stack_stats_destroy(struct mp_stack_stats *stats);

/* The aggregate of `id`, creating it if needed; NULL only on -ENOMEM. */
struct mp_stack_agg *mp_stack_stats_grow_to(struct mp_stack_stats *stats, uint32_t id);
static inline struct mp_stack_agg *mp_stack_stats_at(struct mp_stack_stats *stats, uint32_t id)
{
	if (id < stats->used)
		return &stats->aggs[id];
	return mp_stack_stats_grow_to(stats, id);
}

/* Saves the stack's value at the last peak before it changes. Call before changing
 * live_bytes/live_blocks. */
static inline void mp_stack_stats_touch(struct mp_stack_stats *stats, struct mp_stack_agg *agg)
{
	if (agg->snap_epoch != stats->peak_epoch) {
		agg->peak_bytes = agg->live_bytes;
		agg->peak_blocks = agg->live_blocks;
		agg->snap_epoch = stats->peak_epoch;
	}
}

/* The heap just reached a new peak: every stack's current live value is its peak value. */
static inline void mp_stack_stats_mark_peak(struct mp_stack_stats *stats)
{
	stats->peak_epoch++;
}

/* Resolves the lazy snapshots so that peak_bytes/peak_blocks are final. Call once, after
 * the last event; changes after it are not supported. */
void mp_stack_stats_finish(struct mp_stack_stats *stats);

/* The value of `metric` for an aggregate (after finish for MP_METRIC_PEAK). */
uint64_t mp_stack_stats_value(const struct mp_stack_agg *agg, enum mp_stack_metric metric);

/* Writes into ids[] the ids with a nonzero `metric`, largest first (ties: lower id first),
 * at most `max` of them, and returns how many. */
size_t mp_stack_stats_top(const struct mp_stack_stats *stats, enum mp_stack_metric metric,
			  uint32_t *ids, size_t max);

/* Number of ids with an aggregate: valid ids are 0 .. mp_stack_stats_count() - 1. */
static inline uint32_t mp_stack_stats_count(const struct mp_stack_stats *stats)
{
	return stats->used;
}

/* Parses "allocated", "calls", "peak", "leaked" or "unfreed". Returns 0 or -EINVAL. */
int mp_stack_metric_parse(const char *name, enum mp_stack_metric *metric);
/* The name mp_stack_metric_parse takes for `metric`. */
const char *mp_stack_metric_name(enum mp_stack_metric metric);

#endif
