/* live_blocks.c: open-addressing hash map of live heap blocks keyed by address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "live_blocks.h"

#define LIVE_BLOCKS_INITIAL 1024u

/* Fibonacci hashing: heap addresses share their low bits (16-byte alignment) and often
 * their high bits, so multiply to mix every bit into the top ones we keep. */
static inline size_t live_blocks_slot(const struct mp_live_blocks *map, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 20) & map->mask;
}

int mp_live_blocks_init(struct mp_live_blocks *map)
{
	map->count = 0;
	map->slots = calloc(LIVE_BLOCKS_INITIAL, sizeof(*map->slots));
	map->mask = map->slots ? LIVE_BLOCKS_INITIAL - 1 : 0;
	return map->slots ? 0 : -ENOMEM;
}

void mp_live_blocks_destroy(struct mp_live_blocks *map)
{
	free(map->slots);
	map->slots = NULL;
	map->mask = 0;
	map->count = 0;
}

struct mp_live_block *mp_live_blocks_find(const struct mp_live_blocks *map, uint64_t addr)
{
	if (!map->slots || addr == 0)
		return NULL;
	for (size_t i = live_blocks_slot(map, addr);; i = (i + 1) & map->mask) {
		struct mp_live_block *slot = &map->slots[i];
		if (slot->addr == addr)
			return slot;
		if (slot->addr == 0)
			return NULL;
	}
}

static void live_blocks_place(struct mp_live_blocks *map, const struct mp_live_block *block)
{
	size_t i = live_blocks_slot(map, block->addr);
	while (map->slots[i].addr != 0)
		i = (i + 1) & map->mask;
	map->slots[i] = *block;
}

static int live_blocks_grow(struct mp_live_blocks *map)
{
	struct mp_live_blocks bigger = { .count = map->count };
	size_t capacity = map->slots ? (map->mask + 1) * 2 : LIVE_BLOCKS_INITIAL;

	bigger.slots = calloc(capacity, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	bigger.mask = capacity - 1;
	if (map->slots) {
		for (size_t i = 0; i <= map->mask; i++)
			if (map->slots[i].addr != 0)
				live_blocks_place(&bigger, &map->slots[i]);
	}
	free(map->slots);
	*map = bigger;
	return 0;
}

int mp_live_blocks_insert(struct mp_live_blocks *map, const struct mp_live_block *block)
{
	if (!map->slots || (map->count + 1) * 2 > map->mask + 1) {
		int err = live_blocks_grow(map);
		if (err)
			return err;
	}
	live_blocks_place(map, block);
	map->count++;
	return 0;
}

/* Backward-shift deletion: after emptying slot `hole`, pull later entries of the same probe
 * run back so that every entry stays reachable from its home slot without tombstones. */
static void live_blocks_close_hole(struct mp_live_blocks *map, size_t hole)
{
	size_t i = hole;

	for (;;) {
		i = (i + 1) & map->mask;
		if (map->slots[i].addr == 0)
			break;
		size_t home = live_blocks_slot(map, map->slots[i].addr);
		/* Move it if its home is not in the cyclic range (hole, i]. */
		if (((i - home) & map->mask) >= ((i - hole) & map->mask)) {
			map->slots[hole] = map->slots[i];
			hole = i;
		}
	}
	memset(&map->slots[hole], 0, sizeof(map->slots[hole]));
}

int mp_live_blocks_remove(struct mp_live_blocks *map, uint64_t addr, struct mp_live_block *removed)
{
	struct mp_live_block *slot = mp_live_blocks_find(map, addr);

	if (!slot)
		return 0;
	*removed = *slot;
	live_blocks_close_hole(map, (size_t)(slot - map->slots));
	map->count--;
	return 1;
}

struct mp_live_block *mp_live_blocks_upsert(struct mp_live_blocks *map, uint64_t addr,
					    int *existed)
{
	size_t i;

	if (!map->slots || (map->count + 1) * 2 > map->mask + 1) {
		if (live_blocks_grow(map))
			return NULL;
	}
	for (i = live_blocks_slot(map, addr); map->slots[i].addr != 0; i = (i + 1) & map->mask) {
		if (map->slots[i].addr == addr) {
			*existed = 1;
			return &map->slots[i];
		}
	}
	*existed = 0;
	map->slots[i].addr = addr;
	map->count++;
	return &map->slots[i];
}
