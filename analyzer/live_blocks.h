/* live_blocks.h: the set of live heap blocks, an open-addressing hash map keyed by address.
 *
 * One flat array, linear probing, backward-shift deletion (no tombstones), so a lookup,
 * insert or removal touches a cache line or two and never calls malloc; the array doubles
 * when it is half full (fuller, the runs that a removal shifts back grow long: at 5/8 the
 * removals took a fifth of `memprof report`). Address 0 marks an empty slot (no allocator
 * returns it for a block).
 */
#ifndef MEMPROF_LIVE_BLOCKS_H
#define MEMPROF_LIVE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

struct mp_live_block {
	uint64_t addr;      /* 0: empty slot */
	uint64_t size;      /* requested bytes */
	uint64_t alloc_seq; /* 1, 2, ... in order of allocation over the whole trace */
	uint32_t stack_id;
	uint32_t thread_serial;
};

struct mp_live_blocks {
	struct mp_live_block *slots;
	size_t mask;  /* capacity - 1; capacity is a power of two */
	size_t count; /* live blocks */
};

/* Initializes an empty map. Returns 0 or -ENOMEM (then *map is left empty but valid). */
int mp_live_blocks_init(struct mp_live_blocks *map);
/* Frees the slots; the map may be initialized again. */
void mp_live_blocks_destroy(struct mp_live_blocks *map);

/* The block at `addr`, or NULL. The pointer is valid until the next insert or remove. */
struct mp_live_block *mp_live_blocks_find(const struct mp_live_blocks *map, uint64_t addr);

/* Adds `block` (block->addr != 0, not already present). Returns 0 or -ENOMEM, in which
 * case the map is unchanged. */
int mp_live_blocks_insert(struct mp_live_blocks *map, const struct mp_live_block *block);

/* The slot for `addr` (!= 0) in one probe: the live block there (*existed = 1) or a fresh
 * slot already holding addr and counted (*existed = 0) that the caller fills in. NULL on
 * -ENOMEM (map unchanged). The pointer is valid until the next insert or remove. */
struct mp_live_block *mp_live_blocks_upsert(struct mp_live_blocks *map, uint64_t addr,
					    int *existed);

/* Removes the block at `addr`, copying it into *removed. Returns 1 if it was there, 0 if
 * not (then *removed is untouched). */
int mp_live_blocks_remove(struct mp_live_blocks *map, uint64_t addr, struct mp_live_block *removed);

#endif
