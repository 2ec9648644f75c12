/* leak_table.c: the live set's table: every block still allocated, by address, with the
 * releases that may still decide against an older allocation.
 *
 * Order. leak_live.c applies the trace's operations in file order, threads interleaved,
 * so the result must not depend on order: per address the event with the latest time
 * wins, and at equal times a release beats an allocation (a free's time is taken before
 * the real free, an allocation's after the real call, so a reuse of the address is always
 * later). Slots keep times in 40 bits of nanoseconds after a base that moves when an
 * event is 2^39 ns past it: older times shift down, those before the new base become 0.
 * Only events of the last rounds ever compare unequal, so this loses nothing but for an
 * event whose thread stopped for minutes between reading the clock and writing its record.
 *
 * Pruning. A released address is kept only while an older allocation of it may still be
 * unapplied; leak_live.c says why that is over once the round after the one that applied
 * the release has ended (or the round after that, where the rounds hold allocations over:
 * mp_leak_table_round_end's `behind`). A released slot keeps, where a live one keeps its
 * size, the round that applied it, so that nothing has to be done when rounds end: from
 * then on insertions reuse the slot as if empty (probes go past it as past any entry),
 * and the passes that put every entry back (rebuilds) drop it.
 *
 * Regions. The heap is cut into regions of 64 KiB, and each region that holds an entry
 * has an array of slots of its own, `size` of them, where a block's home is its offset in
 * the region scaled to the array: (addr % 64 KiB) * size / 64 KiB. A region's blocks thus
 * lie in its array in address order, and a program that frees its heap in the order it
 * was built (python3 tearing a dict down, a program freeing everything as it ends) walks
 * the arrays line after line, where a table hashed over the whole heap sent every free to
 * a line and a page of its own: the 16M-block teardown's fold missed the cache and the TLB
 * at every free, and could not keep up with the program (bench/README, session 29). An
 * array is at most 5/8 full: past that it is rebuilt, its prunable releases dropped, in
 * the size that leaves it at most half full; and it grows a size when a probe goes past
 * REGION_PROBE_MAX slots (blocks packed in a part of the region, more of them than homes
 * there), up to two slots per 8-byte granule, where it cannot fill. The regions are found
 * in a directory by their number (open addressing), the last one found kept aside:
 * consecutive operations are mostly in one region.
 *
 * Memory. Arrays are carved from slabs of mp_sys_map_anon, written before they are read
 * (see mp_sys_map_anon_populated), and a free array is kept, by size, for the next array
 * of that size: a growing heap frees each region's array as it grows, the next region
 * takes it. After the leak thread's rounds a sweep (mp_leak_table_sweep) gives back to
 * the kernel the arrays of regions left holding only prunable releases, and shrinks the
 * arrays left mostly empty, a bounded number of slots a round: the table shrinks with the
 * heap, a region at a time, never in one long pass that an exit would wait for. The table
 * takes at most MEMPROF_LEAK_CHECK_MAX_MB (config.c): a program that needs more gets no
 * leak kinds (reported as such), never an exit that runs out of memory. A slot is 16
 * bytes; at between a third and 5/8 full, 26 to 48 bytes per entry (the flat table this
 * replaced took 26 to 51), and more where all the regions grow at once.
 * Sizes of 8 MiB or more do not fit a slot: they are kept in the big map as well.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base.h"
#include "leak_table.h"

/* A slot: the address, and in one word TABLE_RELEASED, the time of the last event (ns
 * after table.time_base, TABLE_TIME_BITS of it) and the size (TABLE_SIZE_BITS; sizes of
 * TABLE_SIZE_BIG and more are in the big map). 16 bytes, not 24: python3's dict (4M blocks
 * live at its peak) needed a table of 192 MiB, fresh memory the leak thread waited for. */
#define TABLE_RELEASED (1ull << 63)
#define TABLE_SIZE_BITS 23
#define TABLE_SIZE_BIG ((1ull << TABLE_SIZE_BITS) - 1) /* 8 MiB - 1 */
#define TABLE_TIME_BITS 40
#define TABLE_TIME_MAX ((1ull << TABLE_TIME_BITS) - 1) /* 18 minutes */
/* The base moves when an event's time is this far past it, to half of it behind: 9 and
 * 4.5 minutes. An event older than the base counts as time 0. */
#define TABLE_TIME_SPAN (1ull << 39)
/* A released slot's round, where a live one keeps its size. */
#define TABLE_ROUND_MASK TABLE_SIZE_BIG

#define REGION_SHIFT 16
#define REGION_OFFSET_MASK ((1ull << REGION_SHIFT) - 1)
/* Array sizes go by half steps, 4, 6, 8, 12, 16, ... slots: a region's array is between a
 * third and 5/8 full once rebuilt, where doubling left it between a quarter and 5/8 (the
 * 16M-block teardown's heap, 1365 blocks a region: 4096 slots each, 3072 now). */
#define CLASS_MAX 24u /* 16384 slots: two per 8-byte granule */
#define CLASS_COUNT (CLASS_MAX + 1u)
/* Longer probes than this grow the array a size (see Regions). 8: python3's dict and the
 * teardown loop's heaps, one block per 48 bytes, never needed it. */
#define REGION_PROBE_MAX 8u
#define DIRECTORY_FIRST 1024u
#define SLAB_FIRST_BYTES (64u * 1024u)
#define SLAB_MAX_BYTES (16u * 1024u * 1024u)
#define SLAB_HEADER_BYTES 64u
/* A sweep reads at most this many slots a round (16 MiB, a few ms; a region's entry counts
 * one), and starts only when the table holds this many more slots than four times its
 * entries. */
#define SWEEP_SLOTS_PER_ROUND (1u << 20)
#define SWEEP_SLACK_SLOTS (1u << 16)

struct table_slot {
	uint64_t addr; /* 0: empty */
	uint64_t meta;
};
_Static_assert(sizeof(struct table_slot) == 16, "a slot is two words");

struct table_big {
	uint64_t addr; /* 0: empty */
	uint64_t size;
};

struct region {
	uint64_t key;             /* the region's number + 1; 0: a free directory entry */
	struct table_slot *slots; /* class_size(size_class) */
	uint32_t used;            /* slots not empty: live entries and releases */
	uint32_t live;            /* entries not released */
	uint32_t last_release;    /* the round of the newest release applied to it */
	uint8_t size_class;
	uint8_t floor_class;      /* the size a long probe asked for: rebuilds keep it */
};
_Static_assert(sizeof(struct region) == 32, "two regions a cache line");

/* Free arrays of one size; the pages of arrays[0, trimmed) went back to the kernel. */
struct shelf {
	struct table_slot **arrays; /* from mp_sys_map_anon, cap of them */
	size_t count, cap, trimmed;
};

/* A slab's first bytes: the chain of slabs, for the reset. */
struct slab {
	struct slab *next;
	uint64_t bytes;
};

static struct {
	struct region *regions;   /* the directory */
	uint64_t region_mask;     /* its capacity - 1 */
	uint64_t region_count;
	struct region *last;      /* the region found last, or NULL */
	uint64_t slots;           /* of all arrays in use */
	uint64_t used;            /* slots not empty: live entries and releases */
	uint64_t released;        /* released entries, prunable ones included */
	uint64_t live;            /* entries not released */
	int failed;
	uint32_t round;           /* the round under way or last applied, mod 2^23 */
	uint32_t ended;           /* the last round that ended */
	uint64_t young[4];        /* releases entered in round r, at r % 4, not prunable yet */
	uint64_t time_base;       /* slot times count from here; 0 before the first event */
	uint64_t time_span;       /* TABLE_TIME_SPAN, or a test's */
	struct table_big *big;    /* the sizes of TABLE_SIZE_BIG and more, by address */
	uint64_t big_mask, big_count;
	struct slab *slabs;
	uint8_t *carve;           /* the free end of the newest slab */
	uint64_t carve_left;
	struct shelf shelves[CLASS_COUNT];
	uint64_t mapped;          /* slabs, directory, big map */
	uint64_t shelved;         /* bytes of free arrays of a page or more still resident */
	uint64_t sweep_at;        /* the directory entry where the next sweep starts */
	uint64_t rebuilt, regions_released, sweeps_cut, rebases;
} table;

static uint64_t table_hash(uint64_t value)
{
	value ^= value >> 29;
	value *= 0xbf58476d1ce4e5b9ull;
	return value ^ (value >> 32);
}

/* ---- Rounds and releases ---- */

static inline uint64_t slot_time(const struct table_slot *slot)
{
	return (slot->meta >> TABLE_SIZE_BITS) & TABLE_TIME_MAX;
}

static inline int slot_live(const struct table_slot *slot)
{
	return !(slot->meta & TABLE_RELEASED);
}

/* The distance is taken modulo the field; a wrapped one (millions of rounds untouched)
 * reads as not prunable, which costs a slot, never a verdict. */
static inline int round_prunable(uint64_t round)
{
	uint64_t distance = (table.ended - round) & TABLE_ROUND_MASK;
	return distance - 1 < (TABLE_ROUND_MASK >> 1);
}

static inline int slot_prunable(const struct table_slot *slot)
{
	return !slot_live(slot) && round_prunable(slot->meta & TABLE_ROUND_MASK);
}

/* Released entries not prunable yet: entered in the last round that ended or after it (a
 * ring of 4; more rounds than that: all of them, to be safe). */
static uint64_t table_young(void)
{
	uint32_t since = (table.round - table.ended) & TABLE_ROUND_MASK;
	if (since > 3)
		return table.released;
	uint64_t young = 0;
	for (uint32_t i = 0; i <= since; i++)
		young += table.young[(table.round - i) & 3];
	return young;
}

/* Entries a rebuild would drop: the prunable releases. */
static uint64_t table_droppable(void)
{
	uint64_t young = table_young();
	return table.released > young ? table.released - young : 0;
}

/* A released entry leaves the table or changes. */
static inline void release_leaves(const struct table_slot *slot)
{
	uint64_t round = slot->meta & TABLE_ROUND_MASK;
	table.released--;
	if (!round_prunable(round) && ((table.round - round) & TABLE_ROUND_MASK) < 4)
		table.young[round & 3]--;
}

void mp_leak_table_round_begin(void)
{
	table.round = (table.round + 1) & TABLE_ROUND_MASK;
	table.young[table.round & 3] = 0;
}

/* Never backwards: a round owes at most the one before it, which owed no more than that. */
void mp_leak_table_round_end(int behind)
{
	table.ended = (table.round - (behind ? 1u : 0u)) & TABLE_ROUND_MASK;
}

/* An event's time as slots keep it. */
static inline uint64_t table_time(uint64_t time)
{
	if (time <= table.time_base)
		return 0;
	uint64_t after = time - table.time_base;
	return after < TABLE_TIME_MAX ? after : TABLE_TIME_MAX;
}

/* ---- Memory: slabs, and arrays carved from them ---- */

static size_t round_to_page(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

static inline uint64_t class_size(unsigned size_class)
{
	return (uint64_t)(size_class & 1 ? 6u : 4u) << (size_class >> 1);
}

static size_t array_bytes(unsigned size_class)
{
	return class_size(size_class) * sizeof(struct table_slot);
}

/* Memory of mp_sys_map_anon counted against MEMPROF_LEAK_CHECK_MAX_MB; NULL with
 * table.failed set. */
static void *table_map(size_t bytes, int populated)
{
	if (table.mapped + bytes > mp_config.leak_check_max_bytes) {
		table.failed = -E2BIG;
		return NULL;
	}
	void *memory = populated ? mp_sys_map_anon_populated(bytes) : mp_sys_map_anon(bytes);
	if (!memory) {
		table.failed = -ENOMEM;
		return NULL;
	}
	table.mapped += bytes;
	return memory;
}

static void table_unmap(void *memory, size_t bytes)
{
	if (!memory)
		return;
	mp_sys_unmap(memory, bytes);
	table.mapped -= bytes;
}

/* A new slab with room for `bytes` more: a quarter of what the table holds, so that a
 * large table takes few mappings (each is one of mp_sys_own_regions'). */
static int slab_add(size_t bytes)
{
	size_t slab_bytes = table.mapped / 4;
	if (slab_bytes < SLAB_FIRST_BYTES)
		slab_bytes = SLAB_FIRST_BYTES;
	if (slab_bytes > SLAB_MAX_BYTES)
		slab_bytes = SLAB_MAX_BYTES;
	if (slab_bytes < bytes + 4096)
		slab_bytes = bytes + 4096;
	slab_bytes = round_to_page(slab_bytes);
	struct slab *slab = table_map(slab_bytes, 0);
	if (!slab)
		return -1;
	slab->next = table.slabs;
	slab->bytes = slab_bytes;
	table.slabs = slab;
	table.carve = (uint8_t *)slab + SLAB_HEADER_BYTES;
	table.carve_left = slab_bytes - SLAB_HEADER_BYTES;
	return 0;
}

/* An array of the class's empty slots, or NULL with table.failed set. Arrays of a page or
 * more start on a page, so that the sweep can give their pages back, the others on a
 * cache line. */
static struct table_slot *array_take(unsigned size_class)
{
	size_t bytes = array_bytes(size_class);
	struct shelf *shelf = &table.shelves[size_class];
	if (shelf->count) {
		struct table_slot *array = shelf->arrays[--shelf->count];
		if (shelf->count < shelf->trimmed)
			shelf->trimmed = shelf->count;
		else if (bytes >= 4096)
			table.shelved -= bytes;
		memset(array, 0, bytes);
		return array;
	}
	size_t align = bytes < 4096 ? 64 : 4096;
	uint64_t skip = (uint64_t)(-(uintptr_t)table.carve & (align - 1));
	if (!table.carve || skip + bytes > table.carve_left) {
		if (slab_add(bytes) < 0)
			return NULL;
		skip = (uint64_t)(-(uintptr_t)table.carve & (align - 1));
	}
	struct table_slot *array = (struct table_slot *)(table.carve + skip);
	table.carve += skip + bytes;
	table.carve_left -= skip + bytes;
	/* Probed before written: see mp_sys_map_anon_populated. */
	mp_sys_prefault(array, bytes);
	return array;
}

/* As glibc's free gives memory back (so within what a program's seccomp filter allows);
 * not at all once a filter came (recording_sandbox.c). */
static void pages_give_back(struct table_slot *array, size_t bytes)
{
	if (!mp_state_sandboxed())
		syscall(SYS_madvise, array, bytes & ~(size_t)4095, MADV_DONTNEED);
}

/* Keeps a free array for the next of its size; `give_back`: its pages go back to the
 * kernel meanwhile (a sweep's: the heap shrank). Without room on the shelf the array is
 * only lost until the reset. */
static void array_give(struct table_slot *array, unsigned size_class, int give_back)
{
	size_t bytes = array_bytes(size_class);
	struct shelf *shelf = &table.shelves[size_class];
	if (shelf->count == shelf->cap) {
		size_t cap = shelf->cap ? shelf->cap * 2 : 512;
		struct table_slot **arrays = mp_sys_map_anon(cap * sizeof(*arrays));
		if (!arrays)
			return;
		if (shelf->arrays) {
			memcpy(arrays, shelf->arrays, shelf->count * sizeof(*arrays));
			mp_sys_unmap(shelf->arrays, shelf->cap * sizeof(*arrays));
		}
		shelf->arrays = arrays;
		shelf->cap = cap;
	}
	shelf->arrays[shelf->count++] = array;
	if (bytes < 4096)
		return;
	if (!give_back) {
		table.shelved += bytes;
		return;
	}
	pages_give_back(array, bytes);
	/* Among the trimmed ones, at the bottom, so that a take finds resident ones first. */
	shelf->arrays[shelf->count - 1] = shelf->arrays[shelf->trimmed];
	shelf->arrays[shelf->trimmed++] = array;
}

/* Gives back the pages of the free arrays still resident, when they are more than a
 * quarter of the arrays in use and 256 KiB: all of a program's regions grow together (a
 * thread's heaps as it starts: alloc_bench's 33 regions kept twice their arrays' 350 KiB
 * on the shelves), and their smaller arrays wait for regions that may never come. Not
 * after each growth: faulting the pages in again when the array is taken cost python3's
 * fold half again (20 against 30 ns an event). */
static void shelves_trim(void)
{
	uint64_t in_use = table.slots * sizeof(struct table_slot);
	if (table.shelved <= 256u * 1024u || table.shelved * 4 <= in_use)
		return;
	for (unsigned size_class = 0; size_class < CLASS_COUNT; size_class++) {
		struct shelf *shelf = &table.shelves[size_class];
		size_t bytes = array_bytes(size_class);
		if (bytes < 4096)
			continue;
		for (size_t i = shelf->trimmed; i < shelf->count; i++)
			pages_give_back(shelf->arrays[i], bytes);
		shelf->trimmed = shelf->count;
	}
	table.shelved = 0;
}

/* ---- The directory of regions ---- */

static inline uint64_t region_key(uint64_t addr)
{
	return (addr >> REGION_SHIFT) + 1;
}

static inline uint64_t directory_home(uint64_t key)
{
	return table_hash(key) & table.region_mask;
}

static int directory_grow(void)
{
	uint64_t old_capacity = table.regions ? table.region_mask + 1 : 0;
	uint64_t capacity = old_capacity ? old_capacity * 2 : DIRECTORY_FIRST;
	struct region *regions = table_map(capacity * sizeof(*regions), 1);
	if (!regions)
		return -1;
	struct region *old = table.regions;
	table.regions = regions;
	table.region_mask = capacity - 1;
	table.last = NULL;
	for (uint64_t i = 0; i < old_capacity; i++) {
		if (!old[i].key)
			continue;
		uint64_t at = directory_home(old[i].key);
		while (regions[at].key)
			at = (at + 1) & table.region_mask;
		regions[at] = old[i];
	}
	table_unmap(old, old_capacity * sizeof(*old));
	return 0;
}

static inline struct region *region_find(uint64_t key)
{
	if (table.last && table.last->key == key)
		return table.last;
	if (!table.regions)
		return NULL;
	for (uint64_t at = directory_home(key);; at = (at + 1) & table.region_mask) {
		if (table.regions[at].key == key)
			return table.last = &table.regions[at];
		if (!table.regions[at].key)
			return NULL;
	}
}

/* addr's region, made with the smallest array if it has none; NULL with table.failed. */
static struct region *region_make(uint64_t addr)
{
	uint64_t key = region_key(addr);
	struct region *found = region_find(key);
	if (found)
		return found;
	if ((!table.regions || (table.region_count + 1) * 2 > table.region_mask + 1) &&
	    directory_grow() < 0)
		return NULL;
	struct table_slot *slots = array_take(0);
	if (!slots)
		return NULL;
	uint64_t at = directory_home(key);
	while (table.regions[at].key)
		at = (at + 1) & table.region_mask;
	table.regions[at] = (struct region){ .key = key, .slots = slots };
	table.region_count++;
	table.slots += class_size(0);
	return table.last = &table.regions[at];
}

/* Takes the directory entry at `hole` out; the entries after it in its run move back
 * where their probes still find them. */
static void directory_remove(uint64_t hole)
{
	for (uint64_t at = (hole + 1) & table.region_mask; table.regions[at].key;
	     at = (at + 1) & table.region_mask) {
		uint64_t home = directory_home(table.regions[at].key);
		if (((at - home) & table.region_mask) >= ((at - hole) & table.region_mask)) {
			table.regions[hole] = table.regions[at];
			hole = at;
		}
	}
	table.regions[hole].key = 0;
	table.region_count--;
	table.last = NULL;
}

/* ---- A region's array ---- */

static inline uint64_t slot_home(const struct region *region, uint64_t addr)
{
	return ((addr & REGION_OFFSET_MASK) * class_size(region->size_class)) >> REGION_SHIFT;
}

static inline struct table_slot *slot_find(const struct region *region, uint64_t addr)
{
	uint64_t size = class_size(region->size_class);
	for (uint64_t at = slot_home(region, addr);; at = at + 1 < size ? at + 1 : 0) {
		uint64_t here = region->slots[at].addr;
		if (here == addr)
			return &region->slots[at];
		if (!here)
			return NULL;
	}
}

/* The smallest array (at least floor) that holds `entries` at most half full. */
static unsigned class_for(uint64_t entries, unsigned floor)
{
	unsigned size_class = floor;
	while (size_class < CLASS_MAX && class_size(size_class) < entries * 2)
		size_class++;
	return size_class;
}

/* Entries of region that a rebuild keeps (not prunable). */
static uint64_t region_keeps(const struct region *region)
{
	uint64_t keeps = 0, size = class_size(region->size_class);
	for (uint64_t i = 0; i < size; i++)
		keeps += region->slots[i].addr && !slot_prunable(&region->slots[i]);
	return keeps;
}

/* Puts region's entries into a new array of the class's slots, dropping its prunable
 * releases; `give_back`: as array_give's. -1 with the region as it was on failure. */
static int region_rebuild(struct region *region, unsigned size_class, int give_back)
{
	struct table_slot *slots = array_take(size_class), *old = region->slots;
	if (!slots)
		return -1;
	unsigned old_class = region->size_class;
	uint64_t old_size = class_size(old_class), size = class_size(size_class), used = 0;
	region->slots = slots;
	region->size_class = (uint8_t)size_class;
	for (uint64_t i = 0; i < old_size; i++) {
		if (!old[i].addr)
			continue;
		if (slot_prunable(&old[i])) {
			release_leaves(&old[i]);
			continue;
		}
		uint64_t at = slot_home(region, old[i].addr);
		while (slots[at].addr)
			at = at + 1 < size ? at + 1 : 0;
		slots[at] = old[i];
		used++;
	}
	table.used -= region->used - used;
	table.slots += size - old_size;
	region->used = (uint32_t)used;
	array_give(old, old_class, give_back);
	table.rebuilt++;
	return 0;
}

/* The slot where addr, which region does not hold, goes: empty, or a prunable release
 * (which the caller forgets). NULL with table.failed set. */
static struct table_slot *slot_room(struct region *region, uint64_t addr)
{
	for (;;) {
		uint64_t size = class_size(region->size_class);
		/* Full: its prunable releases dropped first (if it holds releases), then a size
		 * that leaves it half full. */
		if ((region->used + 1) * 8 > size * 5 && region->used > region->live &&
		    region_rebuild(region, region->size_class, 0) < 0)
			return NULL;
		if ((region->used + 1) * 8 > size * 5) {
			unsigned size_class = class_for(region->used + 1, region->floor_class);
			if (region->used + 1 >= class_size(size_class)) {
				/* Only addresses closer than 8 bytes could fill the largest. */
				table.failed = -E2BIG;
				return NULL;
			}
			if (size_class != region->size_class &&
			    region_rebuild(region, size_class, 0) < 0)
				return NULL;
			size = class_size(region->size_class);
		}
		uint64_t at = slot_home(region, addr);
		unsigned probes = 1;
		while (region->slots[at].addr && !slot_prunable(&region->slots[at])) {
			at = at + 1 < size ? at + 1 : 0;
			probes++;
		}
		if (probes <= REGION_PROBE_MAX || region->size_class == CLASS_MAX)
			return &region->slots[at];
		region->floor_class = (uint8_t)(region->size_class + 1);
		if (region_rebuild(region, region->size_class + 1u, 0) < 0)
			return NULL;
	}
}

void mp_leak_table_prefetch(uint64_t addr)
{
	const struct region *region = region_find(region_key(addr));
	if (region)
		__builtin_prefetch(&region->slots[slot_home(region, addr)], 1);
}

/* ---- The big map: the sizes a slot cannot hold, by address ---- */

static inline uint64_t big_home(uint64_t addr)
{
	return table_hash(addr) & table.big_mask;
}

static struct table_big *big_find(uint64_t addr)
{
	if (!table.big)
		return NULL;
	for (uint64_t at = big_home(addr);; at = (at + 1) & table.big_mask) {
		if (table.big[at].addr == addr)
			return &table.big[at];
		if (!table.big[at].addr)
			return NULL;
	}
}

static int big_grow(void)
{
	uint64_t old_capacity = table.big ? table.big_mask + 1 : 0;
	uint64_t capacity = old_capacity ? old_capacity * 2 : 64;
	struct table_big *big = table_map(round_to_page(capacity * sizeof(*big)), 0);
	if (!big)
		return -1;
	struct table_big *old = table.big;
	table.big = big;
	table.big_mask = capacity - 1;
	for (uint64_t i = 0; i < old_capacity; i++) {
		if (!old[i].addr)
			continue;
		uint64_t at = big_home(old[i].addr);
		while (big[at].addr)
			at = (at + 1) & table.big_mask;
		big[at] = old[i];
	}
	table_unmap(old, round_to_page(old_capacity * sizeof(*old)));
	return 0;
}

/* Notes the size of addr: 0, or -1 with table.failed set. */
static int big_put(uint64_t addr, uint64_t size)
{
	struct table_big *found = big_find(addr);
	if (found) {
		found->size = size;
		return 0;
	}
	if ((table.big_count + 1) * 2 > (table.big ? table.big_mask + 1 : 0) && big_grow() < 0)
		return -1;
	uint64_t at = big_home(addr);
	while (table.big[at].addr)
		at = (at + 1) & table.big_mask;
	table.big[at] = (struct table_big){ addr, size };
	table.big_count++;
	return 0;
}

/* Forgets addr; the entries after it in its run move back where their probes still find
 * them (no marker left behind). */
static void big_drop(uint64_t addr)
{
	struct table_big *found = big_find(addr);
	if (!found)
		return;
	uint64_t hole = (uint64_t)(found - table.big);
	for (uint64_t at = (hole + 1) & table.big_mask; table.big[at].addr;
	     at = (at + 1) & table.big_mask) {
		uint64_t home = big_home(table.big[at].addr);
		if (((at - home) & table.big_mask) >= ((at - hole) & table.big_mask)) {
			table.big[hole] = table.big[at];
			hole = at;
		}
	}
	table.big[hole].addr = 0;
	table.big_count--;
}

/* The size of a live slot's block. */
static uint64_t slot_size(const struct table_slot *slot)
{
	uint64_t size = slot->meta & TABLE_SIZE_BIG;
	if (size != TABLE_SIZE_BIG)
		return size;
	const struct table_big *big = big_find(slot->addr);
	return big ? big->size : TABLE_SIZE_BIG; /* always there: apply puts it first */
}

/* ---- Applying, listing ---- */

/* Moves the slots' time base to `base`: times before it become 0. A pass over the table
 * every few minutes of the program's time. */
static void table_rebase(uint64_t base)
{
	uint64_t delta = base - table.time_base;
	for (uint64_t r = 0; table.regions && r <= table.region_mask; r++) {
		const struct region *region = &table.regions[r];
		uint64_t size = region->key ? class_size(region->size_class) : 0;
		for (uint64_t i = 0; i < size; i++) {
			struct table_slot *slot = &region->slots[i];
			if (!slot->addr)
				continue;
			uint64_t time = slot_time(slot);
			time = time > delta ? time - delta : 0;
			slot->meta = (slot->meta & ~(TABLE_TIME_MAX << TABLE_SIZE_BITS)) |
				     time << TABLE_SIZE_BITS;
		}
	}
	table.time_base = base;
	table.rebases++;
}

int mp_leak_table_apply(uint64_t addr, uint64_t size, uint64_t time, int release)
{
	if (!addr || table.failed)
		return table.failed;
	if (!table.time_span)
		table.time_span = TABLE_TIME_SPAN;
	if (MP_UNLIKELY(time > table.time_base + table.time_span))
		table_rebase(time - table.time_span / 2);
	uint64_t at_time = table_time(time);
	struct region *region = region_make(addr);
	if (!region)
		return table.failed;
	struct table_slot *slot = slot_find(region, addr);
	int was_live = 0;
	if (slot) {
		uint64_t held = slot_time(slot);
		if (at_time < held || (at_time == held && !release))
			return 0; /* an older event: the newer one stands */
		was_live = slot_live(slot);
		if (was_live && (slot->meta & TABLE_SIZE_BIG) == TABLE_SIZE_BIG)
			big_drop(addr);
		if (!was_live)
			release_leaves(slot);
	}
	if (!release && size >= TABLE_SIZE_BIG && big_put(addr, size) < 0)
		return table.failed;
	if (!slot) {
		slot = slot_room(region, addr);
		if (!slot)
			return table.failed;
		if (slot->addr) {
			release_leaves(slot); /* a prunable release, forgotten */
		} else {
			region->used++;
			table.used++;
		}
	}
	int change = !release - was_live;
	table.live += (uint64_t)(int64_t)change;
	region->live += (uint32_t)change;
	slot->addr = addr;
	slot->meta = (release ? TABLE_RELEASED | table.round
			      : size < TABLE_SIZE_BIG ? size : TABLE_SIZE_BIG) |
		     at_time << TABLE_SIZE_BITS;
	if (release) {
		table.released++;
		table.young[table.round & 3]++;
		region->last_release = table.round;
	}
	return 0;
}

uint64_t mp_leak_table_count(void)
{
	return table.live;
}

/* Only the regions that hold a live block are read: a table sized for the heap's peak may
 * hold a few blocks at exit (python's dict: 20 blocks). */
size_t mp_leak_table_regions(struct mp_leak_block *out, size_t cap, uint64_t *varying)
{
	size_t at = 0;
	uint64_t differ = 0;
	for (uint64_t r = 0; table.regions && r <= table.region_mask && at < cap; r++) {
		const struct region *region = &table.regions[r];
		if (!region->key || !region->live)
			continue;
		differ |= region->key ^ (at ? out[0].addr : region->key);
		out[at++] = (struct mp_leak_block){ region->key, r };
	}
	*varying = differ;
	return at;
}

/* A slot's block is at its home or past it, a run that reached the array's end going on
 * at its start: the blocks there whose home is past their slot come after all others. */
size_t mp_leak_table_region_list(uint64_t entry, struct mp_leak_block *out, size_t cap)
{
	const struct region *region = &table.regions[entry];
	uint64_t size = class_size(region->size_class);
	size_t at = 0, wrapped = 0;
	for (uint64_t i = 0; i < size && at < cap; i++) {
		const struct table_slot *slot = &region->slots[i];
		if (!slot->addr || !slot_live(slot))
			continue;
		if (slot_home(region, slot->addr) > i)
			wrapped++;
		else
			out[at++] = (struct mp_leak_block){ slot->addr, slot_size(slot) };
	}
	for (uint64_t i = 0; wrapped && i < size && at < cap; i++) {
		const struct table_slot *slot = &region->slots[i];
		if (slot->addr && slot_live(slot) && slot_home(region, slot->addr) > i) {
			out[at++] = (struct mp_leak_block){ slot->addr, slot_size(slot) };
			wrapped--;
		}
	}
	return at;
}

/* ---- Sweeping ---- */

/* The region at directory entry r: released if it holds only prunable releases (its
 * array given back), rebuilt smaller if it holds under an eighth of its slots. Returns
 * what it read (a region's entry, and its slots if it counted them); *removed: the entry
 * was taken out (another may have moved there). */
static uint64_t sweep_region(uint64_t r, int *removed)
{
	struct region *region = &table.regions[r];
	uint64_t size = class_size(region->size_class);
	*removed = 0;
	if (!region->live) {
		/* Its newest release prunable: all of them are (see round_prunable: one that
		 * reads as not prunable only because its round wrapped is long prunable). */
		if (!round_prunable(region->last_release))
			return 1;
		table.released -= region->used;
		table.used -= region->used;
		table.slots -= size;
		array_give(region->slots, region->size_class, 1);
		directory_remove(r);
		table.regions_released++;
		*removed = 1;
		return 1;
	}
	if (region->live * 8 >= size || region->size_class == 0)
		return 1;
	uint64_t keeps = region_keeps(region);
	unsigned size_class = class_for(keeps + 1, 0);
	if (keeps * 8 < size && size_class < region->size_class) {
		int failed = table.failed;
		region->floor_class = (uint8_t)size_class;
		if (region_rebuild(region, size_class, 1) < 0)
			table.failed = failed; /* it simply stays as it was */
	}
	return 1 + size;
}

void mp_leak_table_sweep(int (*give_way)(void))
{
	if (!table.regions || table.failed)
		return;
	shelves_trim();
	uint64_t entries = table.used - table_droppable();
	if (table.slots <= entries * 4 + SWEEP_SLACK_SLOTS)
		return;
	uint64_t read = 0, visited = 0, capacity = table.region_mask + 1;
	uint64_t r = table.sweep_at & table.region_mask;
	while (read < SWEEP_SLOTS_PER_ROUND && visited < capacity) {
		if (give_way()) {
			table.sweeps_cut++;
			break;
		}
		int removed = 0;
		if (table.regions[r].key)
			read += sweep_region(r, &removed);
		if (removed)
			continue; /* the entry may hold one that moved back: read it again */
		r = (r + 1) & table.region_mask;
		visited++;
	}
	table.sweep_at = r;
}

/* ---- The rest ---- */

void mp_leak_table_stats(struct mp_leak_table_stats *out)
{
	*out = (struct mp_leak_table_stats){ table.region_count, table.slots,
					     table.rebuilt, table.regions_released,
					     table.sweeps_cut, table.mapped, table.rebases };
}

void mp_leak_table_time_span(uint64_t ns)
{
	table.time_span = ns;
}

void mp_leak_table_reset(void)
{
	for (struct slab *slab = table.slabs, *next; slab; slab = next) {
		next = slab->next;
		mp_sys_unmap(slab, slab->bytes);
	}
	for (unsigned size_class = 0; size_class < CLASS_COUNT; size_class++)
		if (table.shelves[size_class].arrays)
			mp_sys_unmap(table.shelves[size_class].arrays,
				     table.shelves[size_class].cap * sizeof(struct table_slot *));
	if (table.regions)
		mp_sys_unmap(table.regions, (table.region_mask + 1) * sizeof(struct region));
	if (table.big)
		mp_sys_unmap(table.big,
			     round_to_page((table.big_mask + 1) * sizeof(struct table_big)));
	memset(&table, 0, sizeof(table));
}
