/* time_buckets.h: when each stack's memory was allocated and freed, in buckets of time.
 *
 * For memprof html's time ranges: the run is cut into MP_TIME_BUCKETS equal buckets, and
 * for each stack it records what was allocated in each bucket and, of that, what was
 * freed in each later bucket or still live at the end: a sparse list of cells
 * (stack, allocated in bucket a, ended in bucket e, bytes, blocks). From it the page
 * computes, for a range of buckets [first, last], what was allocated in the range and
 * what of that was still live at the end of `last` (cells with first <= a <= last < e),
 * without a cell per (stack, bucket, bucket) that nothing fills. Blocks freed in the
 * bucket they were allocated in need no cell beyond the allocation's own.
 *
 * It also keeps a finer series for the timeline (MP_TIME_POINTS points): the highest and
 * the last live heap and mmap'd bytes of each point.
 *
 * It watches the replay as an observer (analyze.h) and keeps the allocation bucket of
 * each live block in a map of its own (block_ages.h). When the run's end is not known
 * beforehand (a killed process), buckets start 1 ms wide and double as the events go on.
 */
#ifndef MEMPROF_TIME_BUCKETS_H
#define MEMPROF_TIME_BUCKETS_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "block_ages.h"

#define MP_TIME_BUCKETS 128
#define MP_TIME_POINTS_PER_BUCKET 8
#define MP_TIME_POINTS (MP_TIME_BUCKETS * MP_TIME_POINTS_PER_BUCKET)

/* alloc_bucket == end_bucket: allocated in that bucket (everything the stack allocated
 * there); alloc_bucket < end_bucket < MP_TIME_BUCKETS: of that, freed in end_bucket;
 * end_bucket == MP_TIME_BUCKETS: still live when the trace ends. */
struct mp_time_cell {
	uint32_t stack_id;
	uint16_t alloc_bucket, end_bucket;
	uint64_t bytes, blocks;
};

struct mp_time_point {
	uint64_t heap_max, heap_end;  /* live heap bytes: highest, and at the point's end */
	uint64_t mmap_max, mmap_end;  /* live mmap'd bytes, likewise */
	int seen;                     /* 0: no event in the point (its values carry on) */
};

struct mp_time_buckets {
	struct mp_analysis_observer observer; /* give &observer to the analysis */
	uint64_t start_ns;           /* the trace's start, CLOCK_MONOTONIC */
	uint64_t bucket_ns;          /* width of a bucket */
	int started, end_known;
	uint64_t prev_ns;            /* the previous event's time */
	/* The bucket and point of the latest time asked for, until their end: events come
	 * in time order, so most need no division. */
	uint64_t bucket_end_ns, point_end_ns;
	unsigned bucket, point;
	/* Per stack (modulo its size): the cell of its allocations in the current bucket. */
	struct { uint32_t stack_id, cell; } recent[256];
	uint64_t untimed_blocks;     /* blocks whose address did not fit the age map */
	struct mp_block_ages ages;
	struct mp_time_cell *cells;  /* after finish: sorted by stack, then buckets */
	size_t count, cap;
	uint32_t *index;             /* open addressing over cells: index + 1, 0 empty */
	size_t index_mask;
	struct mp_time_point points[MP_TIME_POINTS];
};

/* Initializes; then set analysis->observer = &buckets->observer before the replay.
 * Returns 0 or -ENOMEM. */
int mp_time_buckets_init(struct mp_time_buckets *buckets);
void mp_time_buckets_destroy(struct mp_time_buckets *buckets);

/* After the replay: adds the blocks still live at the end and sorts the cells. Returns 0
 * or -ENOMEM. */
int mp_time_buckets_finish(struct mp_time_buckets *buckets, const struct mp_analysis *analysis);

/* The cells of `stack_id` (after finish), *count of them; NULL if none. */
const struct mp_time_cell *mp_time_buckets_of(const struct mp_time_buckets *buckets,
					      uint32_t stack_id, size_t *count);

#endif
