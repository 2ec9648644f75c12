/* live_blocks.h: the set of live heap blocks, an open-addressing hash map keyed by address.
 *
 * It holds every block live at a time of the replay, millions in a big program, and is
 * touched by almost every event at a random place: its size and the cache misses of its
 * lookups are most of the replay's cost. So a slot is 16 bytes, the address and a packed
 * word (the size in its high 40 bits, the stack id in its low 24), and the array grows at
 * 7/10 full: between 23 and 46 bytes per live block, 23 when reserved in advance. Up to
 * 1 MiB it is kept at most a quarter full, which makes the lookups of a small heap
 * faster and costs at most that MiB. A block whose size or stack id does not fit (a
 * terabyte, sixteen million stacks) is kept whole in a small overflow list and its slot
 * says so. Linear probing, backward-shift deletion (no tombstones), never malloc
 * on a lookup. Address 0 marks an empty slot (no allocator returns it for a block).
 */
#ifndef MEMPROF_LIVE_BLOCKS_H
#define MEMPROF_LIVE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* One live block, as callers see it. */
struct mp_live_block {
	uint64_t addr;      /* never 0 */
	uint64_t size;      /* requested bytes */
	uint32_t stack_id;
};

/* Up to this size the table is kept at most a quarter full (live_blocks.c). */
#define MP_LIVE_SPARSE_BYTES (1u << 20)

struct mp_live_slot {
	uint64_t addr;      /* 0: empty slot */
	uint64_t packed;    /* size << 24 | stack_id, or MP_LIVE_OVERFLOW */
};

struct mp_live_faulting; /* live_blocks.c */

struct mp_live_blocks {
	struct mp_live_slot *slots;
	size_t capacity; /* slots; any number (mp_live_blocks_home) */
	size_t count;    /* live blocks */
	/* Blocks the array holds before it must grow (its load limit), 0 while a reservation
	 * is pending: one comparison tells mp_live_blocks_put that nothing needs doing. */
	size_t room;
	struct mp_live_block *overflow; /* blocks that do not pack, unordered */
	size_t overflow_count, overflow_cap;
	/* A big reservation whose pages a thread has the kernel zero while the blocks go to
	 * the smaller array above (mp_live_blocks_reserve); NULL when none is pending. */
	struct mp_live_faulting *pending;
};

/* Initializes an empty map. Returns 0 or -ENOMEM (then *map is left empty but valid). */
int mp_live_blocks_init(struct mp_live_blocks *map);
/* Frees the slots; the map may be initialized again. */
void mp_live_blocks_destroy(struct mp_live_blocks *map);

/* Makes room for `blocks` live blocks at once (at most about 5.8 million: 128 MiB of
 * slots), so that the map does not grow, moving every block each time, until it holds
 * more. Growing costs most of all in the kernel, which zeroes every new array's pages:
 * reserving once zeroes the final array only. A big reservation is made ready on a
 * thread of its own while the map goes on in an array of a few MiB, and the map moves to
 * it once its pages are there (or when the small array is full: then it waits for them).
 * Never shrinks. 0, or -ENOMEM (then the map is unchanged). */
int mp_live_blocks_reserve(struct mp_live_blocks *map, size_t blocks);

/* Copies the block at `addr` into *out; returns 1 if there is one, 0 if not. */
int mp_live_blocks_find(const struct mp_live_blocks *map, uint64_t addr,
			struct mp_live_block *out);

/* Adds `block` (addr != 0). If a block was live at that address it is replaced and copied
 * into *replaced, and 1 is returned; 0 if the address was free; -ENOMEM if the map could
 * not grow (then it is unchanged). */
int mp_live_blocks_put(struct mp_live_blocks *map, const struct mp_live_block *block,
		       struct mp_live_block *replaced);

/* Removes the block at `addr`, copying it into *removed. Returns 1 if it was there, 0 if
 * not (then *removed is untouched). */
int mp_live_blocks_remove(struct mp_live_blocks *map, uint64_t addr, struct mp_live_block *removed);

/* Heap addresses are hashed a window at a time: the 512 bytes of heap from a multiple of
 * 512 share a window of MP_LIVE_WINDOW consecutive slots, one per 16-byte granule. */
#define MP_LIVE_WINDOW_SHIFT 9
#define MP_LIVE_WINDOW 32u

/* The slot where the probe for `addr` starts: the window of its 512 bytes of heap, at the
 * slot of its granule. Programs allocate (and free) blocks in address order most of the
 * time: 99.9% of python3's 12M events are within 4 KiB of the event before, 85% within
 * one of the last four 256-byte pieces of heap. Hashing each address on its own sent
 * every one of them to a random line of a table of 92 MiB, a cache miss each; now the
 * blocks of a window share its lines, and the windows of a piece of heap being filled or
 * emptied come one after the other. The model alone on python3's trace (CPU time):
 * 23.5 -> 19 ns an event; 4M blocks 32 or 48 bytes apart, allocated then freed in order,
 * 25-55% faster; blocks 16 bytes apart (every slot of their windows taken), one block per
 * window (4 KiB apart) or at random addresses: within 2%. Wider windows did better on
 * python3 (1 KiB of heap: 17 ns) and worse on dense blocks (16 bytes apart: +45%); a slot
 * per 32 bytes of heap put two such blocks on one home slot (x3).
 *
 * The window is chosen by Fibonacci hashing of the address's upper bits (the
 * multiplication mixes every bit into the top ones), then the top bits scaled to the
 * capacity by a multiply (Lemire's "fastrange"), so that the capacity need not be a power
 * of two and a table sized in advance is no bigger than its blocks need. Windows start
 * anywhere but the last MP_LIVE_WINDOW - 1 slots, so none wraps around. */
static inline size_t mp_live_blocks_home(const struct mp_live_blocks *map, uint64_t addr)
{
	uint64_t mixed = (addr >> MP_LIVE_WINDOW_SHIFT) * 0x9e3779b97f4a7c15ull;
	size_t starts = map->capacity - (MP_LIVE_WINDOW - 1);
	size_t window = (size_t)(((unsigned __int128)mixed * starts) >> 64);
	return window + (size_t)(addr >> 4 & (MP_LIVE_WINDOW - 1));
}

/* Asks the CPU to bring the slot where `addr` would be into the cache, so that a lookup a
 * few events later does not wait for memory. A hint: no effect on the contents. Always
 * inline: gcc finds a function that only prefetches "pure" and drops its calls. */
static inline __attribute__((always_inline)) void mp_live_blocks_prefetch(const struct mp_live_blocks *map, uint64_t addr)
{
	/* A read prefetch: without -mprfchw gcc emits nothing at all for a write one. */
	const struct mp_live_slot *home = &map->slots[mp_live_blocks_home(map, addr)];
	__builtin_prefetch(home, 0, 3);
	/* The next line too, where a probe or a removal's shift is likely to go on: always in
	 * a table small enough for the cache, where it costs little; in a big one, whose
	 * every line comes from memory, only from the second half of a line (on the python3
	 * trace 23-26 ns an event against 30-34 always; alloc_bench's small table 27-33
	 * always against 30-38). */
	if (map->capacity * sizeof(*home) <= MP_LIVE_SPARSE_BYTES || ((uintptr_t)home & 63) >= 32)
		__builtin_prefetch((const char *)home + 64, 0, 3);
}

/* Visiting every live block: slots 0 .. mp_live_blocks_span(map) - 1; mp_live_blocks_at
 * copies the block of slot `index` into *out and returns 1, or returns 0 for an empty
 * slot. */
size_t mp_live_blocks_span(const struct mp_live_blocks *map);
int mp_live_blocks_at(const struct mp_live_blocks *map, size_t index, struct mp_live_block *out);

#endif
