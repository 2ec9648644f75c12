/* time_buckets.c: each stack's allocations and frees in buckets of time, from the replay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/sample_weight.h"
#include "hash_mix.h"
#include "time_buckets.h"

/* Buckets of a run whose end is unknown start this wide and double as needed. */
#define TIME_FIRST_BUCKET_NS 1000000ull

static uint64_t time_cell_key(uint32_t stack_id, unsigned alloc_bucket, unsigned end_bucket)
{
	return (uint64_t)stack_id << 32 | (uint64_t)alloc_bucket << 16 | end_bucket;
}

static size_t time_hash(uint64_t key, size_t mask)
{
	return (size_t)mp_hash_mix64(key) & mask;
}

/* Rebuilds the index over the cells with room for twice as many. 0 or -ENOMEM. */
static int time_reindex(struct mp_time_buckets *buckets, size_t capacity)
{
	uint32_t *index = calloc(capacity, sizeof(*index));
	if (!index)
		return -ENOMEM;
	free(buckets->index);
	buckets->index = index;
	buckets->index_mask = capacity - 1;
	for (size_t c = 0; c < buckets->count; c++) {
		const struct mp_time_cell *cell = &buckets->cells[c];
		size_t i = time_hash(time_cell_key(cell->stack_id, cell->alloc_bucket,
						   cell->end_bucket), buckets->index_mask);
		while (index[i])
			i = (i + 1) & buckets->index_mask;
		index[i] = (uint32_t)c + 1;
	}
	return 0;
}

/* Adds bytes and blocks to the cell (stack, alloc_bucket, end_bucket). 0 or -ENOMEM. */
static int time_cell_add(struct mp_time_buckets *buckets, uint32_t stack_id,
			 unsigned alloc_bucket, unsigned end_bucket, struct mp_sample_weight weight)
{
	if ((buckets->count + 1) * 2 > buckets->index_mask + 1 &&
	    time_reindex(buckets, (buckets->index_mask + 1) * 2))
		return -ENOMEM;
	uint64_t key = time_cell_key(stack_id, alloc_bucket, end_bucket);
	size_t i = time_hash(key, buckets->index_mask);
	for (; buckets->index[i]; i = (i + 1) & buckets->index_mask) {
		struct mp_time_cell *cell = &buckets->cells[buckets->index[i] - 1];
		if (time_cell_key(cell->stack_id, cell->alloc_bucket, cell->end_bucket) == key) {
			cell->bytes += weight.bytes;
			cell->blocks += weight.blocks;
			return 0;
		}
	}
	if (buckets->count == buckets->cap) {
		size_t cap = buckets->cap ? buckets->cap * 2 : 256;
		void *grown = realloc(buckets->cells, cap * sizeof(*buckets->cells));
		if (!grown)
			return -ENOMEM;
		buckets->cells = grown;
		buckets->cap = cap;
	}
	buckets->cells[buckets->count] = (struct mp_time_cell){
		stack_id, (uint16_t)alloc_bucket, (uint16_t)end_bucket, weight.bytes, weight.blocks };
	buckets->index[i] = (uint32_t)++buckets->count;
	return 0;
}

static int time_event(void *context, const struct mp_event *event,
		      const struct mp_analysis *analysis);

int mp_time_buckets_init(struct mp_time_buckets *buckets)
{
	memset(buckets, 0, sizeof(*buckets));
	buckets->observer.event = time_event;
	buckets->observer.context = buckets;
	if (mp_block_ages_init(&buckets->ages) || time_reindex(buckets, 1024)) {
		mp_time_buckets_destroy(buckets);
		return -ENOMEM;
	}
	return 0;
}

void mp_time_buckets_destroy(struct mp_time_buckets *buckets)
{
	mp_block_ages_destroy(&buckets->ages);
	free(buckets->cells);
	free(buckets->index);
	buckets->cells = NULL;
	buckets->index = NULL;
	buckets->count = buckets->cap = 0;
}

/* The index of time_ns on a grid of `width` from the start, at most limit - 1; *end
 * receives where that cell of the grid ends (UINT64_MAX for the last). */
static unsigned time_grid(const struct mp_time_buckets *buckets, uint64_t time_ns,
			  uint64_t width, unsigned limit, uint64_t *end)
{
	uint64_t index = time_ns > buckets->start_ns ? (time_ns - buckets->start_ns) / width : 0;
	if (index >= limit - 1) {
		*end = UINT64_MAX;
		return limit - 1;
	}
	*end = buckets->start_ns + (index + 1) * width;
	return (unsigned)index;
}

static unsigned time_bucket_of(struct mp_time_buckets *buckets, uint64_t time_ns)
{
	if (time_ns >= buckets->bucket_end_ns ||
	    time_ns < buckets->bucket_end_ns - buckets->bucket_ns)
		buckets->bucket = time_grid(buckets, time_ns, buckets->bucket_ns, MP_TIME_BUCKETS,
					    &buckets->bucket_end_ns);
	return buckets->bucket;
}

static struct mp_time_point *time_point_of(struct mp_time_buckets *buckets, uint64_t time_ns)
{
	uint64_t width = buckets->bucket_ns / MP_TIME_POINTS_PER_BUCKET;
	if (time_ns >= buckets->point_end_ns || time_ns < buckets->point_end_ns - width)
		buckets->point = time_grid(buckets, time_ns, width, MP_TIME_POINTS,
					   &buckets->point_end_ns);
	return &buckets->points[buckets->point];
}

/* Forgets the cached grid cells and allocation cells (the grid or the cells changed). */
static void time_forget(struct mp_time_buckets *buckets)
{
	buckets->bucket_end_ns = buckets->point_end_ns = 0;
	memset(buckets->recent, 0xff, sizeof(buckets->recent));
}

static void time_start(struct mp_time_buckets *buckets, const struct mp_analysis *analysis,
		       uint64_t first_ns)
{
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	buckets->started = 1;
	buckets->start_ns = header->start_monotonic_ns;
	buckets->end_known = header->end_state != MP_END_RUNNING &&
			     header->end_monotonic_ns > header->start_monotonic_ns;
	uint64_t span = buckets->end_known ? header->end_monotonic_ns - header->start_monotonic_ns
					   : TIME_FIRST_BUCKET_NS * MP_TIME_BUCKETS;
	/* Whole nanoseconds per point, so that points and buckets share their edges. */
	uint64_t per = MP_TIME_BUCKETS * MP_TIME_POINTS_PER_BUCKET;
	buckets->bucket_ns = (span + per - 1) / per * MP_TIME_POINTS_PER_BUCKET;
	buckets->prev_ns = first_ns;
	time_forget(buckets);
}

/* The buckets become twice as wide: cells, tags and points are merged pairwise. A cell
 * of blocks freed in a later bucket that now is their own bucket is dropped (blocks
 * freed in their own bucket need none). 0 or -ENOMEM. */
static int time_double(struct mp_time_buckets *buckets)
{
	size_t old_count = buckets->count;
	struct mp_time_cell *old = buckets->cells;
	buckets->cells = NULL;
	buckets->count = buckets->cap = 0;
	int rc = time_reindex(buckets, buckets->index_mask + 1);
	for (size_t c = 0; rc == 0 && c < old_count; c++) {
		unsigned alloc_bucket = old[c].alloc_bucket / 2, end_bucket = old[c].end_bucket / 2;
		if (old[c].alloc_bucket != old[c].end_bucket && alloc_bucket == end_bucket)
			continue;
		rc = time_cell_add(buckets, old[c].stack_id, alloc_bucket, end_bucket,
				   (struct mp_sample_weight){ old[c].blocks, old[c].bytes });
	}
	free(old);
	mp_block_ages_halve(&buckets->ages);
	for (size_t p = 0; p < MP_TIME_POINTS / 2; p++) {
		struct mp_time_point first = buckets->points[2 * p], second = buckets->points[2 * p + 1];
		if (second.seen && first.seen) {
			second.heap_max = first.heap_max > second.heap_max ? first.heap_max : second.heap_max;
			second.mmap_max = first.mmap_max > second.mmap_max ? first.mmap_max : second.mmap_max;
		}
		buckets->points[p] = second.seen ? second : first;
	}
	memset(&buckets->points[MP_TIME_POINTS / 2], 0,
	       MP_TIME_POINTS / 2 * sizeof(buckets->points[0]));
	buckets->bucket_ns *= 2;
	time_forget(buckets);
	return rc;
}

/* The model's state just before this event held since the previous one. */
static void time_note_state(struct mp_time_buckets *buckets, const struct mp_heap_model *model)
{
	struct mp_time_point *point = time_point_of(buckets, buckets->prev_ns);
	uint64_t heap = model->totals.live_bytes, mmap = model->mappings.live_bytes;
	if (!point->seen || heap > point->heap_max)
		point->heap_max = heap;
	if (!point->seen || mmap > point->mmap_max)
		point->mmap_max = mmap;
	point->heap_end = heap;
	point->mmap_end = mmap;
	point->seen = 1;
}

/* Adds an allocation to its stack's cell of the bucket, looked up in `recent` first. */
static int time_alloc_cell(struct mp_time_buckets *buckets, uint32_t stack_id, unsigned bucket,
			   struct mp_sample_weight weight)
{
	size_t slot = stack_id % (sizeof(buckets->recent) / sizeof(buckets->recent[0]));
	uint32_t cell = buckets->recent[slot].cell;
	if (buckets->recent[slot].stack_id == stack_id && cell < buckets->count &&
	    buckets->cells[cell].alloc_bucket == bucket && buckets->cells[cell].end_bucket == bucket &&
	    buckets->cells[cell].stack_id == stack_id) {
		buckets->cells[cell].bytes += weight.bytes;
		buckets->cells[cell].blocks += weight.blocks;
		return 0;
	}
	int rc = time_cell_add(buckets, stack_id, bucket, bucket, weight);
	if (rc == 0) {
		/* time_cell_add leaves the cell it touched last in the index: find it again. */
		size_t i = time_hash(time_cell_key(stack_id, bucket, bucket), buckets->index_mask);
		while (buckets->index[i]) {
			const struct mp_time_cell *found = &buckets->cells[buckets->index[i] - 1];
			if (found->stack_id == stack_id && found->alloc_bucket == bucket &&
			    found->end_bucket == bucket)
				break;
			i = (i + 1) & buckets->index_mask;
		}
		buckets->recent[slot].stack_id = stack_id;
		buckets->recent[slot].cell = buckets->index[i] - 1;
	}
	return rc;
}

static int time_alloc(struct mp_time_buckets *buckets, const struct mp_heap_model *model,
		      const struct mp_event *event)
{
	unsigned bucket = time_bucket_of(buckets, event->time_ns);
	int rc = time_alloc_cell(buckets, event->stack_id, bucket,
				 mp_sample_weigh(model->totals.sample_bytes, event->size));
	if (rc == 0)
		rc = mp_block_ages_put(&buckets->ages, event->addr, (uint8_t)bucket);
	if (rc == -ERANGE) {
		buckets->untimed_blocks++;
		rc = 0;
	}
	return rc;
}

static int time_release(struct mp_time_buckets *buckets, const struct mp_heap_model *model,
			uint64_t addr, uint64_t time_ns)
{
	struct mp_live_block block;
	uint8_t alloc_bucket;
	if (!mp_block_ages_take(&buckets->ages, addr, &alloc_bucket))
		return 0;
	/* Most blocks die in the bucket they were born in: they need no cell, and the
	 * model's lookup for their stack and size is skipped. */
	unsigned end_bucket = time_bucket_of(buckets, time_ns);
	if (end_bucket <= alloc_bucket || !mp_live_blocks_find(&model->blocks, addr, &block))
		return 0;
	return time_cell_add(buckets, block.stack_id, alloc_bucket, end_bucket,
			     mp_sample_weigh(model->totals.sample_bytes, block.size));
}

static int time_event(void *context, const struct mp_event *event,
		      const struct mp_analysis *analysis)
{
	struct mp_time_buckets *buckets = context;
	const struct mp_heap_model *model = &analysis->model;
	uint64_t before = event->time_before_ns ? event->time_before_ns : event->time_ns;
	if (!buckets->started)
		time_start(buckets, analysis, before);
	while (!buckets->end_known && event->time_ns >= buckets->start_ns &&
	       (event->time_ns - buckets->start_ns) / buckets->bucket_ns >= MP_TIME_BUCKETS) {
		int rc = time_double(buckets);
		if (rc)
			return rc;
	}
	time_note_state(buckets, model);
	buckets->prev_ns = event->time_ns;
	switch (event->tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
		return event->addr ? time_alloc(buckets, model, event) : 0;
	case MP_REC_FREE:
		return time_release(buckets, model, event->addr, before);
	case MP_REC_REALLOC: {
		int rc = event->old_addr ? time_release(buckets, model, event->old_addr, before) : 0;
		return rc == 0 && event->addr ? time_alloc(buckets, model, event) : rc;
	}
	default:
		return 0;
	}
}

static int time_cell_compare(const void *left, const void *right)
{
	const struct mp_time_cell *a = left, *b = right;
	uint64_t x = time_cell_key(a->stack_id, a->alloc_bucket, a->end_bucket);
	uint64_t y = time_cell_key(b->stack_id, b->alloc_bucket, b->end_bucket);
	return x < y ? -1 : x > y;
}

int mp_time_buckets_finish(struct mp_time_buckets *buckets, const struct mp_analysis *analysis)
{
	const struct mp_heap_model *model = &analysis->model;
	if (!buckets->started)
		time_start(buckets, analysis, mp_trace_header(analysis->trace)->start_monotonic_ns);
	time_note_state(buckets, model);
	size_t span = mp_live_blocks_span(&model->blocks);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < span; i++) {
		struct mp_live_block block;
		uint8_t alloc_bucket;
		if (mp_live_blocks_at(&model->blocks, i, &block) &&
		    mp_block_ages_get(&buckets->ages, block.addr, &alloc_bucket))
			rc = time_cell_add(buckets, block.stack_id, alloc_bucket, MP_TIME_BUCKETS,
					   mp_sample_weigh(model->totals.sample_bytes, block.size));
	}
	free(buckets->index);
	buckets->index = NULL;
	mp_block_ages_destroy(&buckets->ages);
	if (buckets->count)
		qsort(buckets->cells, buckets->count, sizeof(*buckets->cells), time_cell_compare);
	return rc;
}

const struct mp_time_cell *mp_time_buckets_of(const struct mp_time_buckets *buckets,
					      uint32_t stack_id, size_t *count)
{
	size_t low = 0, high = buckets->count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (buckets->cells[mid].stack_id < stack_id)
			low = mid + 1;
		else
			high = mid;
	}
	size_t end = low;
	while (end < buckets->count && buckets->cells[end].stack_id == stack_id)
		end++;
	*count = end - low;
	return *count ? &buckets->cells[low] : NULL;
}
