/* heap_model.c: exact heap, mmap and brk accounting replayed from trace events. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#include "heap_model.h"

#include "freed_samples.h"

int mp_heap_model_init(struct mp_heap_model *model, uint32_t stack_count, uint32_t page_size)
{
	memset(model, 0, sizeof(*model));
	mp_mappings_init(&model->mappings, page_size);
	if (mp_live_blocks_init(&model->blocks) || mp_thread_latest_init(&model->latest) ||
	    mp_stack_stats_init(&model->stacks, stack_count)) {
		mp_heap_model_destroy(model);
		return -ENOMEM;
	}
	return 0;
}

void mp_heap_model_destroy(struct mp_heap_model *model)
{
	mp_live_blocks_destroy(&model->blocks);
	mp_stack_stats_destroy(&model->stacks);
	mp_mappings_destroy(&model->mappings);
	mp_thread_latest_destroy(&model->latest);
	free(model->brks);
	model->brks = NULL;
	model->brk_count = model->brk_cap = 0;
}

void mp_heap_model_set_sampling(struct mp_heap_model *model, uint64_t sample_bytes)
{
	model->totals.sample_bytes = sample_bytes;
}

int mp_heap_model_expect_blocks(struct mp_heap_model *model, uint64_t blocks)
{
	return mp_live_blocks_reserve(&model->blocks, blocks > SIZE_MAX ? SIZE_MAX : (size_t)blocks);
}

static uint64_t block_count(const struct mp_heap_model *model, uint64_t size)
{
	return model->totals.sample_bytes ? mp_sample_weight_count(model->totals.sample_bytes, size)
					  : 1;
}

static uint64_t block_bytes(const struct mp_heap_model *model, uint64_t size)
{
	return model->totals.sample_bytes ? mp_sample_weight_bytes(model->totals.sample_bytes, size)
					  : size;
}

/* Counts `calls` calls (more than 1 for a sampled allocation) made from stack_id. */
static int heap_model_count_call(struct mp_heap_model *model, uint32_t stack_id, uint64_t calls)
{
	struct mp_stack_agg *agg = mp_stack_stats_at(&model->stacks, stack_id);

	if (!agg)
		return -ENOMEM;
	agg->calls += calls;
	return 0;
}

/* Takes the block at addr out of the live set, charging its stack; returns 1 if it was
 * live, 0 if not, -ENOMEM. `releaser` is the releasing thread's serial. *blocks receives
 * how many blocks it stood for (1, or more in a sampled trace). */
static int heap_model_release(struct mp_heap_model *model, uint64_t addr, uint32_t releaser,
			      uint64_t *blocks)
{
	struct mp_live_block block;
	struct mp_stack_agg *agg;

	if (!mp_live_blocks_remove(&model->blocks, addr, &block))
		return 0;
	agg = mp_stack_stats_at(&model->stacks, block.stack_id);
	if (!agg)
		return -ENOMEM;
	uint64_t count = block_count(model, block.size), bytes = block_bytes(model, block.size);
	*blocks = count;
	mp_stack_stats_touch(&model->stacks, agg);
	agg->live_bytes -= bytes;
	agg->live_blocks -= count;
	model->totals.live_bytes -= bytes;
	model->totals.live_blocks -= count;
	/* Temporary: the releasing thread's latest allocation is this very block. */
	if (mp_thread_latest_released(&model->latest, addr) == (uint64_t)releaser + 1) {
		model->totals.temporary_allocations += count;
		agg->temporary += count;
	}
	return 1;
}

/* A free-like release by the program: counts unknown addresses. *blocks receives the
 * number of blocks released (0 if the address was unknown). */
static int heap_model_free(struct mp_heap_model *model, const struct mp_event *event,
			   uint64_t addr, uint64_t *blocks)
{
	*blocks = 0;
	int found = heap_model_release(model, addr, event->thread_serial, blocks);
	if (found == 0)
		model->totals.unknown_frees++;
	return found < 0 ? found : 0;
}

static void heap_model_check_peak(struct mp_heap_model *model, const struct mp_event *event)
{
	struct mp_heap_totals *totals = &model->totals;

	if (totals->live_bytes > totals->peak_bytes) {
		totals->peak_bytes = totals->live_bytes;
		totals->peak_blocks = totals->live_blocks;
		totals->peak_time_ns = event->time_ns;
		totals->peak_event = totals->events;
		mp_stack_stats_mark_peak(&model->stacks);
	}
}

/* Drops a stale block found at an address being allocated again (its free was not seen). */
static int heap_model_drop_stale(struct mp_heap_model *model, const struct mp_live_block *stale)
{
	struct mp_stack_agg *agg = mp_stack_stats_at(&model->stacks, stale->stack_id);

	if (!agg)
		return -ENOMEM;
	uint64_t count = block_count(model, stale->size), bytes = block_bytes(model, stale->size);
	mp_stack_stats_touch(&model->stacks, agg);
	agg->live_bytes -= bytes;
	agg->live_blocks -= count;
	model->totals.live_bytes -= bytes;
	model->totals.live_blocks -= count;
	model->totals.replaced_blocks++;
	mp_thread_latest_released(&model->latest, stale->addr);
	return 0;
}

/* Makes the event's block live; `agg` is its stack's aggregate (mp_stack_stats_at). */
static int heap_model_alloc(struct mp_heap_model *model, const struct mp_event *event,
			    struct mp_stack_agg *agg)
{
	struct mp_live_block block = {
		.addr = event->addr, .size = event->size, .stack_id = event->stack_id,
	}, stale;

	int existed = mp_live_blocks_put(&model->blocks, &block, &stale);
	if (existed < 0)
		return -ENOMEM;
	if (existed) {
		if (heap_model_drop_stale(model, &stale))
			return -ENOMEM;
		/* drop_stale may have grown the stack array: look the aggregate up again. */
		agg = &model->stacks.aggs[event->stack_id];
	}
	uint64_t count = block_count(model, event->size), bytes = block_bytes(model, event->size);
	mp_stack_stats_touch(&model->stacks, agg);
	agg->allocations += count;
	agg->allocated_bytes += bytes;
	agg->live_bytes += bytes;
	agg->live_blocks += count;
	model->totals.allocated_bytes += bytes;
	model->totals.live_bytes += bytes;
	model->totals.live_blocks += count;
	model->totals.samples++;
	return mp_thread_latest_allocated(&model->latest, event->thread_serial, event->addr);
}

/* Counts `calls` calls from the event's stack, then makes its block live. */
static int heap_model_count_and_alloc(struct mp_heap_model *model, const struct mp_event *event,
				      uint64_t calls)
{
	struct mp_stack_agg *agg = mp_stack_stats_at(&model->stacks, event->stack_id);

	if (!agg)
		return -ENOMEM;
	agg->calls += calls;
	return heap_model_alloc(model, event, agg);
}

static int heap_model_realloc(struct mp_heap_model *model, const struct mp_event *event)
{
	uint64_t calls = event->addr ? block_count(model, event->size) : 1, released;
	int err;

	if (event->old_addr == 0) {
		model->totals.allocations += calls;
		if (event->addr)
			return heap_model_count_and_alloc(model, event, calls);
		return heap_model_count_call(model, event->stack_id, calls);
	}
	if (event->addr == 0 && event->size == 0) {
		err = heap_model_free(model, event, event->old_addr, &released);
		calls = released ? released : 1;
		model->totals.frees += calls;
		return err ? err : heap_model_count_call(model, event->stack_id, calls);
	}
	err = heap_model_count_call(model, event->stack_id, calls);
	model->totals.reallocs += calls;
	if (!err)
		err = heap_model_free(model, event, event->old_addr, &released);
	/* The release may have grown the stack array: look the aggregate up now. */
	return err ? err : heap_model_alloc(model, event, &model->stacks.aggs[event->stack_id]);
}

static void heap_model_mmap_peak(struct mp_heap_model *model, const struct mp_event *event)
{
	struct mp_heap_totals *totals = &model->totals;

	totals->mmap_live_bytes = model->mappings.live_bytes;
	totals->mmap_live_reserved_bytes = model->mappings.reserved_bytes;
	if (totals->mmap_live_bytes > totals->mmap_peak_bytes) {
		totals->mmap_peak_bytes = totals->mmap_live_bytes;
		totals->mmap_peak_reserved_bytes = totals->mmap_live_reserved_bytes;
		totals->mmap_peak_time_ns = event->time_ns;
	}
}

static int heap_model_mmap(struct mp_heap_model *model, const struct mp_event *event)
{
	uint64_t page = model->mappings.page_size;
	int err = heap_model_count_call(model, event->stack_id, 1);

	if (err)
		return err;
	model->totals.mmaps++;
	/* Every call maps its whole (page-rounded) length, even over an older mapping. */
	model->totals.mmap_bytes += event->size + (page - event->size % page) % page;
	return mp_mappings_map(&model->mappings, event->addr, event->size, event->stack_id,
			       event->prot == PROT_NONE);
}

static int heap_model_munmap(struct mp_heap_model *model, const struct mp_event *event)
{
	int64_t removed = mp_mappings_unmap(&model->mappings, event->addr, event->size);

	model->totals.munmaps++;
	if (removed == 0)
		model->totals.unknown_unmaps++;
	return removed < 0 ? (int)removed : 0;
}

static int heap_model_mremap(struct mp_heap_model *model, const struct mp_event *event)
{
	uint64_t before = model->mappings.live_bytes;
	int err = heap_model_count_call(model, event->stack_id, 1);

	if (err)
		return err;
	model->totals.mremaps++;
	if (!mp_mappings_find(&model->mappings, event->old_addr))
		model->totals.unknown_unmaps++;
	err = mp_mappings_remap(&model->mappings, event->old_addr, event->old_size, event->addr,
				event->size, event->stack_id);
	/* Growth counts as newly mapped; a pure move of known bytes does not. */
	if (model->mappings.live_bytes > before)
		model->totals.mmap_bytes += model->mappings.live_bytes - before;
	return err;
}

/* The program's brk moved from old to new: growth is a region of the calling stack,
 * shrinking takes back from the top. 0 or -ENOMEM. */
static int heap_model_brk_regions(struct mp_heap_model *model, const struct mp_event *event)
{
	uint64_t old_break = event->old_addr, new_break = event->addr;
	if (new_break > old_break) {
		if (model->brk_count == model->brk_cap) {
			size_t cap = model->brk_cap ? model->brk_cap * 2 : 16;
			void *grown = realloc(model->brks, cap * sizeof(*model->brks));
			if (!grown)
				return -ENOMEM;
			model->brks = grown;
			model->brk_cap = cap;
		}
		model->brks[model->brk_count++] = (struct mp_brk_region){
			old_break, new_break, event->stack_id };
		return 0;
	}
	while (model->brk_count && model->brks[model->brk_count - 1].start >= new_break)
		model->brk_count--;
	if (model->brk_count && model->brks[model->brk_count - 1].end > new_break)
		model->brks[model->brk_count - 1].end = new_break;
	return 0;
}

static int heap_model_brk(struct mp_heap_model *model, const struct mp_event *event)
{
	struct mp_heap_totals *totals = &model->totals;
	if (heap_model_brk_regions(model, event))
		return -ENOMEM;

	totals->brks++;
	if (totals->brk_start == 0)
		totals->brk_start = event->old_addr;
	totals->brk_current = event->addr;
	if (event->addr > totals->brk_start && event->addr - totals->brk_start > totals->brk_peak_bytes)
		totals->brk_peak_bytes = event->addr - totals->brk_start;
	return heap_model_count_call(model, event->stack_id, 1);
}

/* An allocation of the malloc family (not realloc): its calls, then its block. */
static int heap_model_allocation(struct mp_heap_model *model, const struct mp_event *event)
{
	uint64_t calls = block_count(model, event->size);
	model->totals.allocations += calls;
	return heap_model_count_and_alloc(model, event, calls);
}

static int heap_model_free_event(struct mp_heap_model *model, const struct mp_event *event)
{
	uint64_t released;
	int err = heap_model_free(model, event, event->addr, &released);
	model->totals.frees += released ? released : 1;
	return err;
}

/* Every event but an allocation of the malloc family and a free. */
static int heap_model_dispatch(struct mp_heap_model *model, const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_REALLOC:
		return heap_model_realloc(model, event);
	case MP_REC_ALLOC_FAILED:
		model->totals.failed_calls++;
		return heap_model_count_call(model, event->stack_id, 1);
	case MP_REC_MMAP:
		return heap_model_mmap(model, event);
	case MP_REC_MUNMAP:
		return heap_model_munmap(model, event);
	case MP_REC_MREMAP:
		return heap_model_mremap(model, event);
	case MP_REC_BRK:
		return heap_model_brk(model, event);
	default:
		return 0;
	}
}

/* The tags of the malloc family's allocations (trace_format.h), realloc aside. */
_Static_assert(MP_REC_MALLOC == 1 && MP_REC_PVALLOC == 7 && MP_REC_FREE == 8,
	       "the allocation tags come right before MP_REC_FREE");

int mp_heap_model_feed(struct mp_heap_model *model, const struct mp_event *event)
{
	struct mp_heap_totals *totals = &model->totals;
	int err;

	totals->events++;
	if (totals->first_time_ns == 0 || event->time_before_ns < totals->first_time_ns)
		totals->first_time_ns = event->time_before_ns ? event->time_before_ns : event->time_ns;
	if (event->time_ns > totals->last_time_ns)
		totals->last_time_ns = event->time_ns;
	/* Nearly every event is one of these two, which need less than the rest: a free
	 * only lowers the live bytes, so it makes no peak (the peak is at least the live
	 * bytes after every event), and neither changes the mappings. */
	if (event->tag == MP_REC_FREE)
		return heap_model_free_event(model, event);
	if (event->tag >= MP_REC_MALLOC && event->tag < MP_REC_FREE) {
		err = heap_model_allocation(model, event);
		heap_model_check_peak(model, event);
		return err;
	}
	err = heap_model_dispatch(model, event);
	heap_model_check_peak(model, event);
	heap_model_mmap_peak(model, event);
	return err;
}

void mp_heap_model_finish(struct mp_heap_model *model)
{
	mp_stack_stats_finish(&model->stacks);
}

int mp_heap_model_add_freed(struct mp_heap_model *model, const struct mp_freed_samples *freed)
{
	struct mp_heap_totals *totals = &model->totals;
	struct mp_stack_agg *agg = mp_stack_stats_at(&model->stacks, freed->stack_id);

	if (!agg)
		return -ENOMEM;
	agg->calls += freed->blocks;
	agg->allocations += freed->blocks;
	agg->allocated_bytes += freed->bytes;
	totals->allocations += freed->blocks;
	totals->frees += freed->blocks;
	totals->allocated_bytes += freed->bytes;
	totals->samples += freed->samples;
	totals->window_samples += freed->samples;
	totals->window_blocks += freed->blocks;
	totals->window_bytes += freed->bytes;
	return 0;
}
