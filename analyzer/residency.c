/* residency.c: which stacks own the resident pages of a snapshot (see residency.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heap_model.h"
#include "residency.h"

void mp_memory_range(const struct mp_snapshot *snapshot, uint64_t start, uint64_t end,
		     uint64_t *present, uint64_t *swapped)
{
	size_t low = 0, high = snapshot->run_count; /* first run ending after start */
	*present = *swapped = 0;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (snapshot->runs[mid].end <= start)
			low = mid + 1;
		else
			high = mid;
	}
	for (size_t i = low; i < snapshot->run_count && snapshot->runs[i].start < end; i++) {
		const struct mp_snap_run *run = &snapshot->runs[i];
		uint64_t from = run->start > start ? run->start : start;
		uint64_t to = run->end < end ? run->end : end;
		if (run->state == MP_PAGE_PRESENT)
			*present += to - from;
		else if (run->state == MP_PAGE_SWAPPED)
			*swapped += to - from;
	}
}

enum mp_memory_kind mp_memory_kind_of(const struct mp_snap_mapping *mapping)
{
	switch (mapping->kind) {
	case MP_MAPK_HEAP:
		return MP_MEMK_HEAP;
	case MP_MAPK_ANON:
		return MP_MEMK_ANON;
	case MP_MAPK_STACK:
		return MP_MEMK_STACK;
	case MP_MAPK_FILE:
		return MP_MEMK_FILE;
	case MP_MAPK_SHARED:
		return MP_MEMK_SHARED;
	case MP_MAPK_MEMPROF: /* the trace's chunks are a file; the rest is anonymous */
		return mapping->path[0] == '/' ? MP_MEMK_FILE : MP_MEMK_ANON;
	default:
		return MP_MEMK_OTHER;
	}
}

const char *mp_memory_kind_name(enum mp_memory_kind kind)
{
	static const char *const names[MP_MEMK_COUNT] = {
		"heap", "anon", "stack", "file", "shared", "other" };
	return (unsigned)kind < MP_MEMK_COUNT ? names[kind] : "other";
}

const char *mp_memory_source_name(enum mp_memory_source source)
{
	static const char *const names[MP_SOURCE_COUNT] = { "malloc", "mmap", "brk" };
	return (unsigned)source < MP_SOURCE_COUNT ? names[source] : "malloc";
}

/* ---- per stack ---- */

struct memory_rows {
	struct mp_memory_stack *rows; /* (max_stack + 1) * MP_SOURCE_COUNT, by stack and source */
	uint32_t max_stack;
};

static uint32_t memory_max_stack(const struct mp_residency_item *items, size_t count,
				 uint32_t max)
{
	for (size_t i = 0; i < count; i++)
		max = items[i].stack_id > max ? items[i].stack_id : max;
	return max;
}

/* Charges each item to its stack's row. With sample_bytes, an item stands for the blocks
 * and bytes mp_sample_weight_* say (the same for every byte of it: resident and swapped
 * bytes scale like its size). */
static void memory_charge(struct memory_rows *rows, const struct mp_snapshot *snapshot,
			  const struct mp_residency_item *items, size_t count,
			  enum mp_memory_source source, uint64_t sample_bytes,
			  uint64_t *resident_total, uint64_t *swapped_total)
{
	for (size_t i = 0; i < count; i++) {
		struct mp_memory_stack *row =
			&rows->rows[(size_t)items[i].stack_id * MP_SOURCE_COUNT + source];
		uint64_t size = items[i].end - items[i].start, present, swapped;
		mp_memory_range(snapshot, items[i].start, items[i].end, &present, &swapped);
		uint64_t blocks = 1, committed = size;
		if (sample_bytes && size) {
			committed = mp_sample_weight_bytes(sample_bytes, size);
			blocks = mp_sample_weight_count(sample_bytes, size);
			double scale = (double)committed / (double)size;
			present = (uint64_t)llround((double)present * scale);
			swapped = (uint64_t)llround((double)swapped * scale);
		}
		row->stack_id = items[i].stack_id;
		row->source = source;
		row->committed += committed;
		row->resident += present;
		row->swapped += swapped;
		row->blocks += blocks;
		*resident_total += present;
		if (swapped_total)
			*swapped_total += swapped;
	}
}

static int memory_cmp_gap(const void *left, const void *right)
{
	const struct mp_memory_stack *a = left, *b = right;
	uint64_t gap_a = a->committed - a->resident, gap_b = b->committed - b->resident;
	if (gap_a != gap_b)
		return gap_a > gap_b ? -1 : 1;
	if (a->committed != b->committed)
		return a->committed > b->committed ? -1 : 1;
	if (a->stack_id != b->stack_id)
		return a->stack_id < b->stack_id ? -1 : 1;
	return a->source < b->source ? -1 : a->source > b->source;
}

static size_t memory_first_ending_after(const struct mp_residency_item *items, size_t count,
					uint64_t start);

/* ---- access per stack (see residency.h) ---- */

struct memory_access {
	const struct mp_memory_input *input;
	struct mp_memory_stack *rows;  /* by slot: stack * MP_SOURCE_COUNT + source */
	uint64_t *present;  /* by slot: resident bytes in the mapping at hand */
	uint64_t *raw;      /* by slot: resident bytes in every mapping, before sample weights */
	uint64_t *shared;   /* by slot: accessed_max - accessed_min from mappings not its own */
	size_t *touched;    /* the slots with present bytes in the mapping at hand */
	size_t touched_count;
};

static void memory_access_items(struct memory_access *access,
				const struct mp_residency_item *items, size_t count,
				enum mp_memory_source source, const struct mp_snap_mapping *mapping)
{
	for (size_t i = memory_first_ending_after(items, count, mapping->start);
	     i < count && items[i].start < mapping->end; i++) {
		uint64_t from = items[i].start > mapping->start ? items[i].start : mapping->start;
		uint64_t to = items[i].end < mapping->end ? items[i].end : mapping->end, present, swapped;
		mp_memory_range(access->input->snapshot, from, to, &present, &swapped);
		size_t slot = (size_t)items[i].stack_id * MP_SOURCE_COUNT + source;
		if (!present)
			continue;
		if (!access->present[slot])
			access->touched[access->touched_count++] = slot;
		access->present[slot] += present;
	}
}

/* One mapping's Referenced: shared among the stacks with resident bytes in it. */
static void memory_access_mapping(struct memory_access *access,
				  const struct mp_snap_mapping *mapping)
{
	const struct mp_memory_input *input = access->input;
	uint64_t referenced = mapping->figures[MP_SMAPS_REFERENCED];
	uint64_t rss = mapping->figures[MP_SMAPS_RSS], own_slack = 2 * input->snapshot->page_size;
	if (!rss)
		return;
	access->touched_count = 0;
	memory_access_items(access, input->blocks, input->block_count, MP_SOURCE_MALLOC, mapping);
	memory_access_items(access, input->mmaps, input->mmap_count, MP_SOURCE_MMAP, mapping);
	memory_access_items(access, input->brks, input->brk_count, MP_SOURCE_BRK, mapping);
	for (size_t i = 0; i < access->touched_count; i++) {
		size_t slot = access->touched[i];
		uint64_t mine = access->present[slot], others = rss > mine ? rss - mine : 0;
		uint64_t most = referenced < mine ? referenced : mine;
		access->present[slot] = 0;
		access->raw[slot] += mine;
		access->rows[slot].accessed_max += most;
		if (others <= own_slack) {
			access->rows[slot].accessed_min += most; /* its own mapping */
		} else {
			uint64_t least = referenced > others ? referenced - others : 0;
			access->rows[slot].accessed_min += least;
			access->shared[slot] += most - least;
		}
	}
}

/* Fills the rows' accessed_* from the snapshot's mappings; 0 or -ENOMEM. */
static int memory_access_rows(const struct mp_memory_input *input, struct mp_memory_stack *rows,
			      size_t slots)
{
	struct memory_access access = { .input = input, .rows = rows };
	access.present = calloc(slots * 3, sizeof(uint64_t));
	access.touched = calloc(slots, sizeof(size_t));
	if (!access.present || !access.touched) {
		free(access.present);
		free(access.touched);
		return -ENOMEM;
	}
	access.raw = access.present + slots;
	access.shared = access.present + 2 * slots;
	for (size_t i = 0; i < input->snapshot->mapping_count; i++)
		memory_access_mapping(&access, &input->snapshot->mappings[i]);
	for (size_t slot = 0; slot < slots; slot++) {
		struct mp_memory_stack *row = &rows[slot];
		/* Exact to two pages per mapping of its own, and two in all of the others
		 * (a block's last bytes on a page of another mapping). */
		row->accessed_exact = access.shared[slot] <= 2 * input->snapshot->page_size;
		/* Sampled blocks stand for more: their access scales like their residency. */
		if (access.raw[slot] && access.raw[slot] != row->resident) {
			double scale = (double)row->resident / (double)access.raw[slot];
			row->accessed_min = (uint64_t)llround((double)row->accessed_min * scale);
			row->accessed_max = (uint64_t)llround((double)row->accessed_max * scale);
		}
	}
	free(access.present);
	free(access.touched);
	return 0;
}

static int memory_stacks(const struct mp_memory_input *input, struct mp_memory_result *result)
{
	struct memory_rows rows = { NULL, 0 };
	uint64_t mmap_swapped = 0;
	rows.max_stack = memory_max_stack(input->blocks, input->block_count, 0);
	rows.max_stack = memory_max_stack(input->mmaps, input->mmap_count, rows.max_stack);
	rows.max_stack = memory_max_stack(input->brks, input->brk_count, rows.max_stack);
	size_t slots = ((size_t)rows.max_stack + 1) * MP_SOURCE_COUNT;
	rows.rows = calloc(slots, sizeof(*rows.rows));
	if (!rows.rows)
		return -ENOMEM;
	memory_charge(&rows, input->snapshot, input->blocks, input->block_count, MP_SOURCE_MALLOC,
		      input->sample_bytes, &result->heap_live_resident, &result->heap_live_swapped);
	memory_charge(&rows, input->snapshot, input->mmaps, input->mmap_count, MP_SOURCE_MMAP, 0,
		      &result->mmap_resident, &mmap_swapped);
	memory_charge(&rows, input->snapshot, input->brks, input->brk_count, MP_SOURCE_BRK, 0,
		      &result->brk_resident, NULL);
	if (result->has_access && memory_access_rows(input, rows.rows, slots) < 0) {
		free(rows.rows);
		return -ENOMEM;
	}
	size_t used = 0;
	for (size_t i = 0; i < slots; i++) {
		if (rows.rows[i].blocks)
			rows.rows[used++] = rows.rows[i];
		if (i % MP_SOURCE_COUNT == MP_SOURCE_MALLOC) {
			result->heap_live_bytes += rows.rows[i].committed;
			result->heap_live_blocks += rows.rows[i].blocks;
		}
	}
	qsort(rows.rows, used, sizeof(*rows.rows), memory_cmp_gap);
	result->stacks = rows.rows;
	result->stack_count = used;
	return 0;
}

/* ---- the anonymous memory, page by page ---- */

static int memory_cmp_range(const void *left, const void *right)
{
	const struct mp_snap_range *a = left, *b = right;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* The first of the sorted, disjoint items that ends after `start`. */
static size_t memory_first_ending_after(const struct mp_residency_item *items, size_t count,
					uint64_t start)
{
	size_t low = 0, high = count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (items[mid].end <= start)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

/* Adds the parts of `items` inside [start, end) to ranges; returns the new count. */
static size_t memory_clip(struct mp_snap_range *ranges, size_t count,
			  const struct mp_residency_item *items, size_t item_count,
			  uint64_t start, uint64_t end)
{
	for (size_t i = memory_first_ending_after(items, item_count, start); i < item_count && items[i].start < end; i++)
		ranges[count++] = (struct mp_snap_range){
			items[i].start > start ? items[i].start : start,
			items[i].end < end ? items[i].end : end };
	return count;
}

static size_t memory_count_in(const struct mp_residency_item *items, size_t count,
			      uint64_t start, uint64_t end)
{
	size_t found = 0;
	for (size_t i = memory_first_ending_after(items, count, start); i < count && items[i].start < end; i++)
		found++;
	return found;
}

/* 1 if a live block starts or ends inside [start, end): malloc's memory. */
static int memory_holds_block(const struct mp_memory_input *input, uint64_t start, uint64_t end)
{
	return memory_count_in(input->blocks, input->block_count, start, end) > 0;
}

/* A private anonymous mapping (heap, anon, or one of ours): its present pages outside
 * libmemprof's parts and the program's mmap and brk regions are malloc's if a live block
 * lies in them (or it is [heap]) and unexplained otherwise. */
static int memory_anon_mapping(const struct mp_memory_input *input,
			       const struct mp_snap_mapping *mapping,
			       struct mp_memory_result *result)
{
	const struct mp_snapshot *snapshot = input->snapshot;
	size_t cap = mapping->own_count +
		     memory_count_in(input->mmaps, input->mmap_count, mapping->start, mapping->end) +
		     memory_count_in(input->brks, input->brk_count, mapping->start, mapping->end);
	struct mp_snap_range *taken = malloc((cap ? cap : 1) * sizeof(*taken));
	if (!taken)
		return -ENOMEM;
	size_t count = 0;
	for (size_t i = 0; i < mapping->own_count; i++) {
		struct mp_snap_range own = snapshot->own[mapping->own_first + i];
		uint64_t present, swapped;
		mp_memory_range(snapshot, own.start, own.end, &present, &swapped);
		result->memprof_rss += present;
		result->kinds[mp_memory_kind_of(mapping)].memprof_rss += present;
		result->kinds[mp_memory_kind_of(mapping)].memprof_size += own.end - own.start;
		taken[count++] = own;
	}
	size_t own_count = count;
	count = memory_clip(taken, count, input->mmaps, input->mmap_count, mapping->start,
			    mapping->end);
	count = memory_clip(taken, count, input->brks, input->brk_count, mapping->start,
			    mapping->end);
	for (size_t i = own_count; i < count; i++) {
		uint64_t present, swapped;
		mp_memory_range(snapshot, taken[i].start, taken[i].end, &present, &swapped);
		result->anon_program_rss += present;
	}
	qsort(taken, count, sizeof(*taken), memory_cmp_range);
	uint64_t at = mapping->start;
	for (size_t i = 0; i <= count; i++) {
		uint64_t gap_end = i < count ? taken[i].start : mapping->end;
		if (gap_end > at) {
			uint64_t present, swapped;
			mp_memory_range(snapshot, at, gap_end, &present, &swapped);
			if (mapping->kind == MP_MAPK_HEAP || memory_holds_block(input, at, gap_end))
				result->heap_rss += present;
			else
				result->anon_unexplained += present;
		}
		if (i < count && taken[i].end > at)
			at = taken[i].end;
	}
	free(taken);
	return 0;
}

static void memory_kind_totals(const struct mp_memory_input *input,
			       const struct mp_snap_mapping *mapping, struct mp_memory_result *result)
{
	struct mp_memory_kind_totals *kind = &result->kinds[mp_memory_kind_of(mapping)];
	const uint64_t *figures = mapping->figures;
	uint64_t size = mapping->end - mapping->start;
	kind->mappings++;
	kind->size += size;
	kind->rss += figures[MP_SMAPS_RSS];
	kind->pss += figures[MP_SMAPS_PSS];
	kind->swap += figures[MP_SMAPS_SWAP];
	kind->thp += figures[MP_SMAPS_ANON_HUGE] + figures[MP_SMAPS_SHMEM_PMD] +
		     figures[MP_SMAPS_FILE_PMD];
	kind->private_dirty += figures[MP_SMAPS_PRIVATE_DIRTY];
	kind->shared += figures[MP_SMAPS_SHARED_CLEAN] + figures[MP_SMAPS_SHARED_DIRTY];
	result->virt += size;
	result->rss += figures[MP_SMAPS_RSS];
	result->pss += figures[MP_SMAPS_PSS];
	result->swap += figures[MP_SMAPS_SWAP];
	if (result->has_access && !(mapping->kind == MP_MAPK_MEMPROF && mapping->own_count == 0)) {
		uint64_t referenced = figures[MP_SMAPS_REFERENCED];
		kind->access_rss += figures[MP_SMAPS_RSS];
		kind->accessed += referenced < figures[MP_SMAPS_RSS] ? referenced : figures[MP_SMAPS_RSS];
		result->access_rss += figures[MP_SMAPS_RSS];
		result->accessed += referenced < figures[MP_SMAPS_RSS] ? referenced : figures[MP_SMAPS_RSS];
	}
	if (mapping->kind == MP_MAPK_MEMPROF && mapping->own_count == 0) {
		/* Wholly ours but not in the registry (the trace's chunks): smaps' figures. */
		kind->memprof_size += size;
		kind->memprof_rss += figures[MP_SMAPS_RSS];
		result->memprof_rss += figures[MP_SMAPS_RSS];
	} else if (mapping->kind == MP_MAPK_FILE) {
		if (input->is_module && input->is_module(mapping->path, input->is_module_context))
			kind->code_rss += figures[MP_SMAPS_RSS];
		else
			kind->mmap_rss += figures[MP_SMAPS_RSS];
	} else if (mapping->kind == MP_MAPK_STACK) {
		result->stack_rss += figures[MP_SMAPS_RSS];
	}
}

int mp_memory_compute(const struct mp_memory_input *input, struct mp_memory_result *result)
{
	const struct mp_snapshot *snapshot = input->snapshot;
	uint64_t method;
	memset(result, 0, sizeof(*result));
	result->has_residency = snapshot->run_count > 0;
	result->has_access = mp_snapshot_context(snapshot, MP_SNAPK_ACCESS_METHOD, &method) &&
			     method == MP_ACCESS_REFERENCED;
	for (size_t i = 0; i < snapshot->mapping_count; i++) {
		const struct mp_snap_mapping *mapping = &snapshot->mappings[i];
		memory_kind_totals(input, mapping, result);
		int anonymous = mapping->kind == MP_MAPK_HEAP || mapping->kind == MP_MAPK_ANON ||
				(mapping->kind == MP_MAPK_MEMPROF && mapping->own_count);
		if (anonymous && !(mapping->perms & MP_PERM_SHARED) &&
		    memory_anon_mapping(input, mapping, result) < 0) {
			mp_memory_result_free(result);
			return -ENOMEM;
		}
	}
	if (memory_stacks(input, result) < 0) {
		mp_memory_result_free(result);
		return -ENOMEM;
	}
	result->heap_unexplained = result->heap_rss > result->heap_live_resident
					   ? result->heap_rss - result->heap_live_resident : 0;
	return 0;
}

void mp_memory_result_free(struct mp_memory_result *result)
{
	free(result->stacks);
	memset(result, 0, sizeof(*result));
}
