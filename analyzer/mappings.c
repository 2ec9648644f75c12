/* mappings.c: sorted disjoint intervals of live mmap regions (mmap, munmap, mremap). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mappings.h"

void mp_mappings_init(struct mp_mappings *set, uint64_t page_size)
{
	memset(set, 0, sizeof(*set));
	set->page_size = page_size > 1 ? page_size : 1;
}

void mp_mappings_destroy(struct mp_mappings *set)
{
	free(set->items);
	mp_mappings_init(set, set->page_size);
}

/* End of [addr, addr + length) rounded up to a page, saturating instead of wrapping. */
static uint64_t mappings_end(const struct mp_mappings *set, uint64_t addr, uint64_t length)
{
	uint64_t end = addr + length;

	if (end < addr)
		return UINT64_MAX;
	if (end % set->page_size) {
		uint64_t rounded = end + (set->page_size - end % set->page_size);
		end = rounded < end ? UINT64_MAX : rounded;
	}
	return end;
}

/* Index of the first mapping whose end is above addr (it may contain addr). */
static size_t mappings_lower(const struct mp_mappings *set, uint64_t addr)
{
	size_t low = 0, high = set->count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (set->items[mid].end <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

static int mappings_insert_at(struct mp_mappings *set, size_t index, const struct mp_mapping *item)
{
	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? set->capacity * 2 : 64;
		struct mp_mapping *items = realloc(set->items, capacity * sizeof(*items));
		if (!items)
			return -ENOMEM;
		set->items = items;
		set->capacity = capacity;
	}
	memmove(&set->items[index + 1], &set->items[index], (set->count - index) * sizeof(*item));
	set->items[index] = *item;
	set->count++;
	return 0;
}

static void mappings_delete_at(struct mp_mappings *set, size_t index)
{
	memmove(&set->items[index], &set->items[index + 1],
		(set->count - index - 1) * sizeof(set->items[0]));
	set->count--;
}

/* Cuts [start, end) out of the mapping at index; returns bytes removed or -ENOMEM. The
 * mapping is known to overlap the range. */
static int64_t mappings_cut(struct mp_mappings *set, size_t *index, uint64_t start, uint64_t end)
{
	struct mp_mapping *item = &set->items[*index];
	uint64_t cut_start = item->start > start ? item->start : start;
	uint64_t cut_end = item->end < end ? item->end : end;
	int reserved = item->reserved;

	if (item->start < cut_start && cut_end < item->end) {
		/* A hole in the middle: split in two. */
		struct mp_mapping tail = { cut_end, item->end, item->stack_id, item->reserved };
		if (mappings_insert_at(set, *index + 1, &tail))
			return -ENOMEM;
		set->items[*index].end = cut_start;
		*index += 2;
	} else if (item->start < cut_start) {
		item->end = cut_start;
		*index += 1;
	} else if (cut_end < item->end) {
		item->start = cut_end;
		*index += 1;
	} else {
		mappings_delete_at(set, *index);
	}
	set->live_bytes -= cut_end - cut_start;
	if (reserved)
		set->reserved_bytes -= cut_end - cut_start;
	return (int64_t)(cut_end - cut_start);
}

int64_t mp_mappings_unmap(struct mp_mappings *set, uint64_t addr, uint64_t length)
{
	uint64_t end = mappings_end(set, addr, length);
	size_t index = mappings_lower(set, addr);
	int64_t removed = 0;

	while (index < set->count && set->items[index].start < end) {
		int64_t cut = mappings_cut(set, &index, addr, end);
		if (cut < 0)
			return cut;
		removed += cut;
	}
	return removed;
}

int mp_mappings_map(struct mp_mappings *set, uint64_t addr, uint64_t length, uint32_t stack_id,
		    int reserved)
{
	struct mp_mapping item = { addr, mappings_end(set, addr, length), stack_id, reserved };
	int64_t removed = mp_mappings_unmap(set, addr, length);
	int err;

	if (removed < 0)
		return (int)removed;
	if (item.end == item.start)
		return 0;
	err = mappings_insert_at(set, mappings_lower(set, addr), &item);
	if (!err)
		set->live_bytes += item.end - item.start;
	if (!err && reserved)
		set->reserved_bytes += item.end - item.start;
	return err;
}

int mp_mappings_remap(struct mp_mappings *set, uint64_t old_addr, uint64_t old_length,
		      uint64_t new_addr, uint64_t new_length, uint32_t stack_id)
{
	const struct mp_mapping *owner = mp_mappings_find(set, old_addr);
	int64_t removed;
	int reserved = 0;

	if (owner) {
		stack_id = owner->stack_id;
		reserved = owner->reserved;
	}
	removed = mp_mappings_unmap(set, old_addr, old_length);
	if (removed < 0)
		return (int)removed;
	return mp_mappings_map(set, new_addr, new_length, stack_id, reserved);
}

const struct mp_mapping *mp_mappings_find(const struct mp_mappings *set, uint64_t addr)
{
	size_t index = mappings_lower(set, addr);

	if (index < set->count && set->items[index].start <= addr)
		return &set->items[index];
	return NULL;
}
