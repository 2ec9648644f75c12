/* live_blocks.c: open-addressing hash map of live heap blocks keyed by address. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "live_blocks.h"

#define LIVE_BLOCKS_INITIAL 1024u
_Static_assert(LIVE_BLOCKS_INITIAL >= MP_LIVE_WINDOW, "a window fits in the smallest table");
#define LIVE_STACK_BITS 24u
/* Below 2^40 - 1: the largest packed word then stays below LIVE_OVERFLOW. */
#define LIVE_SIZE_LIMIT ((1ull << (64 - LIVE_STACK_BITS)) - 1)
#define LIVE_OVERFLOW UINT64_MAX /* packed: the block is in the overflow list */
/* Grow past 7/10 full: with backward-shift deletion the runs a removal walks stay short,
 * and the array never falls under 35% full after growing (46 bytes per block at most). */
#define LIVE_LOAD_NUM 7u
#define LIVE_LOAD_DEN 10u
/* Up to MP_LIVE_SPARSE_BYTES the array is at most a quarter full instead: it then stays
 * in the cache, where memory costs nothing and time goes to the probes and to the
 * backward shifts of removals, whose runs grow fast with the load (alloc_bench's 2000
 * live blocks: 43.6 ns an event at 7/10, 33 at 1/2, 25 at 1/4). */
#define LIVE_SPARSE_BYTES MP_LIVE_SPARSE_BYTES
#define LIVE_SPARSE_LOAD_DEN 4u
/* mp_live_blocks_reserve's ceiling: the blocks that fit in 2^23 slots, 128 MiB. A
 * reservation is a guess made before the replay (mp_trace_live_hint), and a wrong one
 * must not cost more than the analyzer's memory budget of 256 MiB allows. */
#define LIVE_RESERVE_MAX_BLOCKS ((size_t)(1u << 23) * LIVE_LOAD_NUM / LIVE_LOAD_DEN)

/* The slot after `i`, wrapping around. */
static inline size_t live_next(const struct mp_live_blocks *map, size_t i)
{
	return i + 1 == map->capacity ? 0 : i + 1;
}

/* How many slots forward from `from` to `to`, wrapping around. */
static inline size_t live_distance(const struct mp_live_blocks *map, size_t from, size_t to)
{
	return to >= from ? to - from : to + map->capacity - from;
}

/* Whether `count` blocks fit in `capacity` slots without passing the load limit: a
 * quarter while the array is small enough to stay in the cache, 7/10 above. */
static int live_blocks_fit(size_t count, size_t capacity)
{
	if (capacity * sizeof(struct mp_live_slot) <= LIVE_SPARSE_BYTES)
		return count * LIVE_SPARSE_LOAD_DEN <= capacity;
	return count * LIVE_LOAD_DEN <= capacity * LIVE_LOAD_NUM;
}

/* The most blocks that fit in the map's array (live_blocks_fit), or 0 while a reservation
 * is pending, so that every put looks at it (mp_live_blocks_put). */
static void live_blocks_set_room(struct mp_live_blocks *map)
{
	if (map->pending || !map->slots)
		map->room = 0;
	else if (map->capacity * sizeof(struct mp_live_slot) <= LIVE_SPARSE_BYTES)
		map->room = map->capacity / LIVE_SPARSE_LOAD_DEN;
	else
		map->room = map->capacity / LIVE_LOAD_DEN * LIVE_LOAD_NUM +
			    map->capacity % LIVE_LOAD_DEN * LIVE_LOAD_NUM / LIVE_LOAD_DEN;
}

/* From this size the slots are mapped on their own and asked for transparent huge pages:
 * lookups land at random across the whole array, and with 4 KiB pages nearly every one
 * also misses the TLB (the page walk costs as much as the cache miss it comes with). */
#define LIVE_HUGE_BYTES (4u << 20)
#define LIVE_HUGE_ALIGN (2u << 20)

/* A zeroed array of `capacity` slots; NULL if out of memory. */
static struct mp_live_slot *live_slots_new(size_t capacity)
{
	size_t bytes = capacity * sizeof(struct mp_live_slot);
	if (bytes < LIVE_HUGE_BYTES)
		return calloc(capacity, sizeof(struct mp_live_slot));
	/* Over-map by one huge page and trim, so the array starts on a huge-page boundary. */
	uint8_t *raw = mmap(NULL, bytes + LIVE_HUGE_ALIGN, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	size_t lead = (LIVE_HUGE_ALIGN - (uintptr_t)raw % LIVE_HUGE_ALIGN) % LIVE_HUGE_ALIGN;
	if (lead)
		munmap(raw, lead);
	munmap(raw + lead + bytes, LIVE_HUGE_ALIGN - lead);
	madvise(raw + lead, bytes, MADV_HUGEPAGE);
	return (struct mp_live_slot *)(raw + lead);
}

/* A new array's pages being faulted in (the kernel zeroes each on its first write), a
 * huge page at a time, by any number of threads: each takes the next piece until none is
 * left. */
struct mp_live_faulting {
	struct mp_live_slot *slots;
	size_t capacity;
	size_t pieces;      /* LIVE_HUGE_ALIGN bytes each, the last one shorter */
	size_t next_piece;  /* atomic: the next one to take */
	size_t done_pieces; /* atomic: the ones faulted in */
	int small_pages;    /* atomic: the pieces not yet taken go in 4 KiB pages */
	pthread_t thread;
};

/* A huge page that took a thread longer than this to fault in came from memory the host
 * of this VM had to back afresh. The VM gives the host back the free memory of whole huge
 * pages (free page reporting), and a huge page of it then costs 4-5 ms of CPU to zero
 * (python3's 92 MiB table, 200-240 ms), against 0.1 ms for one the host still backs
 * (4.5 ms in all) and 35-47 ms for the whole table in 4 KiB pages, which the kernel
 * takes from memory the host backs. The threshold sits between the two. */
#define LIVE_SLOW_PIECE_NS 1000000u

static uint64_t live_thread_cpu_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* After a slow piece: the pieces after it in 4 KiB pages. The replay's lookups there
 * miss the TLB more (the model about 20% slower on a whole table in 4 KiB pages), which
 * costs python3's report some 50 ms, against 100-150 ms of waiting for fresh huge pages.
 * Thread CPU time, not wall time: a thread made to wait for a core is not slow memory. */
static void live_after_piece(struct mp_live_faulting *faulting, size_t piece, uint64_t cpu_ns)
{
	size_t bytes = faulting->capacity * sizeof(struct mp_live_slot);
	size_t rest = (piece + 1) * LIVE_HUGE_ALIGN;
	if (cpu_ns < LIVE_SLOW_PIECE_NS || rest >= bytes ||
	    __atomic_exchange_n(&faulting->small_pages, 1, __ATOMIC_RELAXED))
		return;
	madvise((uint8_t *)faulting->slots + rest, bytes - rest, MADV_NOHUGEPAGE);
}

static void live_fault_pieces(struct mp_live_faulting *faulting)
{
	size_t bytes = faulting->capacity * sizeof(struct mp_live_slot);
	for (;;) {
		size_t piece = __atomic_fetch_add(&faulting->next_piece, 1, __ATOMIC_RELAXED);
		if (piece >= faulting->pieces)
			return;
		volatile uint8_t *from = (uint8_t *)faulting->slots + piece * LIVE_HUGE_ALIGN;
		size_t len = bytes - piece * LIVE_HUGE_ALIGN;
		uint64_t start = live_thread_cpu_ns();
		for (size_t at = 0; at < len && at < LIVE_HUGE_ALIGN; at += 4096)
			from[at] = 0;
		live_after_piece(faulting, piece, live_thread_cpu_ns() - start);
		__atomic_fetch_add(&faulting->done_pieces, 1, __ATOMIC_RELEASE);
	}
}

static void *live_fault_thread(void *arg)
{
	live_fault_pieces(arg);
	return NULL;
}

/* Starts faulting in the `capacity` slots at `slots` on a thread; NULL without memory or
 * thread. */
static struct mp_live_faulting *live_faulting_start(struct mp_live_slot *slots, size_t capacity)
{
	struct mp_live_faulting *faulting = calloc(1, sizeof(*faulting));
	if (!faulting)
		return NULL;
	faulting->slots = slots;
	faulting->capacity = capacity;
	size_t bytes = capacity * sizeof(*slots);
	faulting->pieces = (bytes + LIVE_HUGE_ALIGN - 1) / LIVE_HUGE_ALIGN;
	if (pthread_create(&faulting->thread, NULL, live_fault_thread, faulting) != 0) {
		free(faulting);
		return NULL;
	}
	return faulting;
}

/* Whether every page is in. */
static int live_faulting_done(const struct mp_live_faulting *faulting)
{
	return __atomic_load_n(&faulting->done_pieces, __ATOMIC_ACQUIRE) == faulting->pieces;
}

/* Faults in, on this thread too, the pieces the faulting thread has not taken yet, then
 * waits for it and frees the job. */
static void live_faulting_finish(struct mp_live_faulting *faulting)
{
	live_fault_pieces(faulting);
	pthread_join(faulting->thread, NULL);
	free(faulting);
}

/* Has the kernel zero the pages of a new array of `capacity` slots now, on two threads.
 * Its first lookups land everywhere in it at once, so the replay would otherwise wait for
 * every page's zeroing at its start, on one core (0.02 to 0.2 s for 92 MiB on this VM,
 * depending on the host's load). */
static void live_slots_prefault(struct mp_live_slot *slots, size_t capacity)
{
	struct mp_live_faulting *faulting = live_faulting_start(slots, capacity);
	if (faulting) {
		live_faulting_finish(faulting);
		return;
	}
	struct mp_live_faulting alone = { .slots = slots, .capacity = capacity };
	alone.pieces = (capacity * sizeof(*slots) + LIVE_HUGE_ALIGN - 1) / LIVE_HUGE_ALIGN;
	live_fault_pieces(&alone);
}

static void live_slots_free(struct mp_live_slot *slots, size_t capacity)
{
	if (!slots)
		return;
	if (capacity * sizeof(*slots) < LIVE_HUGE_BYTES)
		free(slots);
	else
		munmap(slots, capacity * sizeof(*slots));
}

int mp_live_blocks_init(struct mp_live_blocks *map)
{
	memset(map, 0, sizeof(*map));
	map->slots = live_slots_new(LIVE_BLOCKS_INITIAL);
	map->capacity = map->slots ? LIVE_BLOCKS_INITIAL : 0;
	live_blocks_set_room(map);
	return map->slots ? 0 : -ENOMEM;
}

void mp_live_blocks_destroy(struct mp_live_blocks *map)
{
	if (map->pending) {
		struct mp_live_faulting *faulting = map->pending;
		/* No piece is taken any more: the thread stops after the one it is on. */
		__atomic_store_n(&faulting->next_piece, faulting->pieces, __ATOMIC_RELAXED);
		struct mp_live_slot *slots = faulting->slots;
		size_t capacity = faulting->capacity;
		live_faulting_finish(faulting);
		live_slots_free(slots, capacity);
	}
	live_slots_free(map->slots, map->capacity);
	free(map->overflow);
	memset(map, 0, sizeof(*map));
}

static int live_packs(const struct mp_live_block *block)
{
	return block->size < LIVE_SIZE_LIMIT && block->stack_id < (1u << LIVE_STACK_BITS);
}

static size_t live_overflow_index(const struct mp_live_blocks *map, uint64_t addr)
{
	for (size_t i = 0; i < map->overflow_count; i++)
		if (map->overflow[i].addr == addr)
			return i;
	return SIZE_MAX;
}

/* The block of a used slot. */
static void live_unpack(const struct mp_live_blocks *map, const struct mp_live_slot *slot,
			struct mp_live_block *out)
{
	if (slot->packed == LIVE_OVERFLOW) {
		*out = map->overflow[live_overflow_index(map, slot->addr)];
		return;
	}
	out->addr = slot->addr;
	out->size = slot->packed >> LIVE_STACK_BITS;
	out->stack_id = (uint32_t)(slot->packed & ((1u << LIVE_STACK_BITS) - 1));
}

static void live_overflow_drop(struct mp_live_blocks *map, uint64_t addr)
{
	size_t index = live_overflow_index(map, addr);
	if (index != SIZE_MAX)
		map->overflow[index] = map->overflow[--map->overflow_count];
}

/* Room for one more block in the overflow list. 0 or -ENOMEM. */
static int live_overflow_reserve(struct mp_live_blocks *map)
{
	if (map->overflow_count < map->overflow_cap)
		return 0;
	size_t cap = map->overflow_cap ? map->overflow_cap * 2 : 8;
	void *grown = realloc(map->overflow, cap * sizeof(*map->overflow));
	if (!grown)
		return -ENOMEM;
	map->overflow = grown;
	map->overflow_cap = cap;
	return 0;
}

/* Keeps a block that does not pack in the overflow list (the room was reserved); returns
 * the packed word that says so. */
static uint64_t live_overflow_add(struct mp_live_blocks *map, const struct mp_live_block *block)
{
	map->overflow[map->overflow_count++] = *block;
	return LIVE_OVERFLOW;
}

/* The slot holding addr, or the empty slot where it would go. */
static struct mp_live_slot *live_probe(const struct mp_live_blocks *map, uint64_t addr)
{
	size_t i = mp_live_blocks_home(map, addr);
	while (map->slots[i].addr != 0 && map->slots[i].addr != addr)
		i = live_next(map, i);
	return &map->slots[i];
}

int mp_live_blocks_find(const struct mp_live_blocks *map, uint64_t addr,
			struct mp_live_block *out)
{
	if (!map->slots || addr == 0)
		return 0;
	const struct mp_live_slot *slot = live_probe(map, addr);
	if (slot->addr == 0)
		return 0;
	live_unpack(map, slot, out);
	return 1;
}

/* How many slots ahead of the one being moved the new array's line is asked for. */
#define LIVE_MOVE_AHEAD 16

/* Moves every block into `slots`, a zeroed array of `capacity` slots (above the count).
 * The old one is read in order and, when it is mapped on its own, given back a huge page
 * at a time as its slots are moved: at the peak of a doubling the two arrays take 2.1
 * times the old one's bytes, not 3 (under 48 bytes per live block). */
static void live_blocks_move(struct mp_live_blocks *map, struct mp_live_slot *slots,
			     size_t capacity)
{
	size_t old_capacity = map->capacity;
	struct mp_live_blocks bigger = *map;
	bigger.slots = slots;
	bigger.capacity = capacity;
	int mapped = old_capacity * sizeof(*slots) >= LIVE_HUGE_BYTES;
	size_t per_release = LIVE_HUGE_ALIGN / sizeof(*slots), released = 0;
	for (size_t i = 0; i < old_capacity; i++) {
		/* Each block goes to a random line of the new array: ask for it a few slots
		 * ahead (the move of 367,000 blocks into python3's table: 8 -> 4.5 ms). */
		if (i + LIVE_MOVE_AHEAD < old_capacity && map->slots[i + LIVE_MOVE_AHEAD].addr)
			mp_live_blocks_prefetch(&bigger, map->slots[i + LIVE_MOVE_AHEAD].addr);
		if (map->slots[i].addr != 0)
			*live_probe(&bigger, map->slots[i].addr) = map->slots[i];
		if (mapped && i + 1 - released == per_release) {
			munmap(map->slots + released, LIVE_HUGE_ALIGN);
			released = i + 1;
		}
	}
	if (mapped && released < old_capacity)
		munmap(map->slots + released, (old_capacity - released) * sizeof(*slots));
	else if (!mapped)
		live_slots_free(map->slots, old_capacity);
	*map = bigger;
	live_blocks_set_room(map);
}

/* Moves every block into a new array of `capacity` slots, its pages zeroed by the kernel
 * in advance on two threads if `prefault`. 0 or -ENOMEM (then the map is unchanged). */
static int live_blocks_resize(struct mp_live_blocks *map, size_t capacity, int prefault)
{
	struct mp_live_slot *slots = live_slots_new(capacity);
	if (!slots)
		return -ENOMEM;
	if (prefault && capacity * sizeof(*slots) >= LIVE_HUGE_BYTES)
		live_slots_prefault(slots, capacity);
	live_blocks_move(map, slots, capacity);
	return 0;
}

/* Moves the blocks into the pending reservation, once its pages are all in: the pieces
 * its thread has not reached yet are faulted in here. */
static void live_blocks_adopt(struct mp_live_blocks *map)
{
	struct mp_live_faulting *faulting = map->pending;
	struct mp_live_slot *slots = faulting->slots;
	size_t capacity = faulting->capacity;
	live_faulting_finish(faulting);
	map->pending = NULL;
	live_blocks_move(map, slots, capacity);
}

/* The fewest slots that hold `blocks` (live_blocks_fit). */
static size_t live_capacity_for(size_t blocks)
{
	size_t sparse = blocks * LIVE_SPARSE_LOAD_DEN;
	if (sparse * sizeof(struct mp_live_slot) <= LIVE_SPARSE_BYTES)
		return sparse > LIVE_BLOCKS_INITIAL ? sparse : LIVE_BLOCKS_INITIAL;
	size_t dense = (blocks * LIVE_LOAD_DEN + LIVE_LOAD_NUM - 1) / LIVE_LOAD_NUM;
	size_t above_sparse = LIVE_SPARSE_BYTES / sizeof(struct mp_live_slot) + 1;
	return dense > above_sparse ? dense : above_sparse;
}

/* A reservation of this many bytes or more is made ready on a thread while the map goes
 * on in an array of LIVE_INTERIM_SLOTS: the replay need not wait for the kernel to zero
 * it (python3's 92 MiB: 5 to 260 ms on this VM, the most when the host must back the
 * pages afresh). */
#define LIVE_LATER_BYTES (16u << 20)
/* 8 MiB: 367,000 blocks at 7/10 full, python3's first million events or so (20-40 ms of
 * replay); moving that many into the reservation costs about 10 ms. */
#define LIVE_INTERIM_SLOTS ((size_t)1 << 19)

/* The reservation of `capacity` slots made ready on a thread, the blocks meanwhile in an
 * array of LIVE_INTERIM_SLOTS (grown to it now if smaller). Without a thread, made ready
 * here. 0 or -ENOMEM (then the map is unchanged). */
static int live_blocks_reserve_later(struct mp_live_blocks *map, size_t capacity)
{
	struct mp_live_slot *slots = live_slots_new(capacity);
	if (!slots)
		return -ENOMEM;
	if (map->capacity < LIVE_INTERIM_SLOTS && live_blocks_resize(map, LIVE_INTERIM_SLOTS, 0)) {
		live_slots_free(slots, capacity);
		return -ENOMEM;
	}
	map->pending = live_faulting_start(slots, capacity);
	live_blocks_set_room(map);
	if (!map->pending) {
		live_slots_prefault(slots, capacity);
		live_blocks_move(map, slots, capacity);
	}
	return 0;
}

int mp_live_blocks_reserve(struct mp_live_blocks *map, size_t blocks)
{
	if (!map->slots)
		return -ENOMEM;
	if (map->pending)
		live_blocks_adopt(map);
	if (blocks > LIVE_RESERVE_MAX_BLOCKS)
		blocks = LIVE_RESERVE_MAX_BLOCKS;
	if (live_blocks_fit(blocks, map->capacity))
		return 0;
	/* Just enough slots, rounded up to whole huge pages of them. */
	size_t capacity = live_capacity_for(blocks);
	size_t per_huge = LIVE_HUGE_ALIGN / sizeof(struct mp_live_slot);
	if (capacity * sizeof(struct mp_live_slot) >= LIVE_HUGE_BYTES)
		capacity = (capacity + per_huge - 1) / per_huge * per_huge;
	if (capacity * sizeof(struct mp_live_slot) >= LIVE_LATER_BYTES &&
	    live_blocks_fit(map->count, LIVE_INTERIM_SLOTS))
		return live_blocks_reserve_later(map, capacity);
	return live_blocks_resize(map, capacity, 1);
}

/* Makes room for one more block: the pending reservation as soon as it is ready or when
 * this array is full, else a doubling when full. 0 or -ENOMEM. */
static int live_blocks_make_room(struct mp_live_blocks *map)
{
	if (map->pending && (live_faulting_done(map->pending) ||
			     !live_blocks_fit(map->count + 1, map->capacity)))
		live_blocks_adopt(map);
	if (!live_blocks_fit(map->count + 1, map->capacity) &&
	    live_blocks_resize(map, map->capacity * 2, 0))
		return -ENOMEM;
	return 0;
}

int mp_live_blocks_put(struct mp_live_blocks *map, const struct mp_live_block *block,
		       struct mp_live_block *replaced)
{
	if (map->count >= map->room && live_blocks_make_room(map))
		return -ENOMEM;
	int packs = live_packs(block);
	if (!packs && live_overflow_reserve(map))
		return -ENOMEM;
	struct mp_live_slot *slot = live_probe(map, block->addr);
	int existed = slot->addr != 0;
	if (existed) {
		live_unpack(map, slot, replaced);
		if (slot->packed == LIVE_OVERFLOW)
			live_overflow_drop(map, block->addr);
	} else {
		map->count++;
	}
	slot->addr = block->addr;
	slot->packed = packs ? block->size << LIVE_STACK_BITS | block->stack_id
			     : live_overflow_add(map, block);
	return existed;
}

/* Backward-shift deletion: after emptying slot `hole`, pull later entries of the same probe
 * run back so that every entry stays reachable from its home slot without tombstones. */
static void live_blocks_close_hole(struct mp_live_blocks *map, size_t hole)
{
	size_t i = hole;

	for (;;) {
		i = live_next(map, i);
		if (map->slots[i].addr == 0)
			break;
		size_t home = mp_live_blocks_home(map, map->slots[i].addr);
		/* Move it if its home is not in the cyclic range (hole, i]. */
		if (live_distance(map, home, i) >= live_distance(map, hole, i)) {
			map->slots[hole] = map->slots[i];
			hole = i;
		}
	}
	map->slots[hole] = (struct mp_live_slot){ 0, 0 };
}

int mp_live_blocks_remove(struct mp_live_blocks *map, uint64_t addr, struct mp_live_block *removed)
{
	if (!map->slots || addr == 0)
		return 0;
	struct mp_live_slot *slot = live_probe(map, addr);
	if (slot->addr == 0)
		return 0;
	live_unpack(map, slot, removed);
	if (slot->packed == LIVE_OVERFLOW)
		live_overflow_drop(map, addr);
	live_blocks_close_hole(map, (size_t)(slot - map->slots));
	map->count--;
	return 1;
}

size_t mp_live_blocks_span(const struct mp_live_blocks *map)
{
	return map->slots ? map->capacity : 0;
}

int mp_live_blocks_at(const struct mp_live_blocks *map, size_t index, struct mp_live_block *out)
{
	if (index >= map->capacity || map->slots[index].addr == 0)
		return 0;
	live_unpack(map, &map->slots[index], out);
	return 1;
}
