/* sampling_set.c: the set of sampled blocks whose frees must be recorded, and the
 * counting filter in front of it.
 *
 * An unsampled allocation costs one subtraction (sampling.h). Its free must not cost a
 * lock either: a counting filter (two counters per address, changed only when a sampled
 * block comes or goes, under the set's lock) answers "certainly not sampled" for almost
 * every free with two reads; only a "maybe" takes the lock and consults the exact set.
 * The filter has at least 16 counters per live sampled block, so about one free in 300
 * is a "maybe", and starts at 1 KiB, so that while few blocks are sampled the reads stay
 * in the L1 cache (a fixed 16 KiB filter cost 4% of a malloc-heavy benchmark's time in
 * cache misses). A counter that reaches 255 stays there (more "maybe"s, never a missed
 * block).
 *
 * Growing it: under the set's lock a filter four times larger is filled from the exact
 * set and published with a release store; later inserts and removals go to it only. A
 * free that still reads the old filter is safe: its block was inserted before the program
 * could hand it to the freeing thread, so before the swap (then the old filter counted
 * it) or after (then the freeing thread, ordered after that insert, reads the new one).
 * Counters the old filter keeps for blocks freed since only make more "maybe"s.
 *
 * The set's entries say for each block what its allocation record needs (size, stack,
 * tag, time): with a sampling window (sampling_window.c) a block's allocation is written
 * only once it outlives the window, and a block freed before that is only counted. The
 * flush that writes them runs at the first sampled allocation after each window, and at
 * exit, _exit, exec and snapshots. So that a kill loses no live block, the set is then a
 * chunk of the trace file (trace_format.h, MP_CHUNK_SAMPLED_SET) rather than memory of
 * our own. sampling_peak.c keeps the weighted sum of the set, the sampled heap's estimate.
 */
#include <pthread.h>
#include <string.h>

#include "encode.h"
#include "sampling.h"

#define FILTER_STUCK 255u
#define FIRST_SET_SLOTS 1024u

#define COUNTERS_PER_BLOCK 16u

/* The first filter of a sampled run is static, so that it exists before anything could
 * be inserted. */
#define FIRST_FILTER_LOG2 10u
#define FIRST_FILTER_COUNTERS (1u << FIRST_FILTER_LOG2)
static uint8_t first_counters[FIRST_FILTER_COUNTERS] __attribute__((aligned(4096)));
/* Without sampling every free is recorded: a one-counter filter that is never 0. It is
 * also the filter until the options are read, so that every free before then takes the
 * slow way, which checks that the real functions are known: free() can then jump to the
 * real free without looking. */
uint8_t mp_sampling_set_always_maybe[1] __attribute__((aligned(64))) = { FILTER_STUCK };
uint8_t *mp_sampling_set_filter_word = mp_sampling_set_always_maybe;

void mp_sampling_set_configure(void)
{
	uint8_t *word = mp_config.sample_bytes ? first_counters + FIRST_FILTER_LOG2
					   : mp_sampling_set_always_maybe;
	__atomic_store_n(&mp_sampling_set_filter_word, word, __ATOMIC_RELEASE);
}
static struct mp_mutex set_lock;
/* Open addressing on addr, addr 0 empty; guarded by set_lock. */
static struct mp_sampled_set_entry *set_slots;
static uint64_t set_capacity, set_count;

/* Where the set's entries live: with a sampling window, a chunk of the trace file
 * (MP_CHUNK_SAMPLED_SET, trace_format.h) so that pending blocks survive a kill; without,
 * or if the file cannot grow, memory of our own. */
struct set_region {
	uint8_t *base;
	size_t bytes;
	struct mp_sampled_set_header *header;
};
static struct set_region set_region;
static uint64_t set_generation;
uint64_t mp_sampling_set_next_flush_ns;

static struct mp_sampling_set_filter filter_now(void)
{
	return mp_sampling_set_filter_unpack(
		__atomic_load_n(&mp_sampling_set_filter_word, __ATOMIC_RELAXED));
}

/* Counter updates happen under set_lock; the lock-free reader only needs each byte
 * stored whole, hence the relaxed atomic stores. */
static void filter_add(const struct mp_sampling_set_filter *filter, uint64_t addr, int delta)
{
	for (int which = 0; which < 2; which++) {
		uint8_t *counter = &filter->counters[mp_sampling_set_filter_index(filter, addr, which)];
		uint8_t value = __atomic_load_n(counter, __ATOMIC_RELAXED);
		if (value != FILTER_STUCK)
			__atomic_store_n(counter, (uint8_t)(value + delta), __ATOMIC_RELAXED);
	}
}

/* Replaces the filter by one four times larger once it has fewer than COUNTERS_PER_BLOCK
 * counters per sampled block; called under set_lock. If memory runs out the old one stays
 * (more "maybe"s only). */
static void filter_grow(uint64_t blocks)
{
	struct mp_sampling_set_filter filter = filter_now();
	if (blocks * COUNTERS_PER_BLOCK <= filter.mask + 1)
		return;
	uint64_t counters = (filter.mask + 1) * 4;
	/* mp_sys_map_anon gives whole pages: the low bits of the address are free for the size. */
	struct mp_sampling_set_filter grown = { mp_sys_map_anon(counters), counters - 1 };
	if (!grown.counters)
		return;
	for (uint64_t i = 0; i < set_capacity; i++)
		if (set_slots[i].addr)
			filter_add(&grown, set_slots[i].addr, 1);
	uint8_t *word = grown.counters + __builtin_ctzll(counters);
	__atomic_store_n(&mp_sampling_set_filter_word, word, __ATOMIC_RELEASE);
}

static struct mp_sampled_set_entry *set_find(struct mp_sampled_set_entry *slots, uint64_t capacity,
					 uint64_t addr)
{
	uint64_t index = mp_mix64(addr) & (capacity - 1);
	while (slots[index].addr != 0 && slots[index].addr != addr)
		index = (index + 1) & (capacity - 1);
	return &slots[index];
}

/* A zeroed region for `capacity` entries, in the trace file if there is a window. */
static struct set_region set_region_new(uint64_t capacity)
{
	size_t bytes = sizeof(struct mp_chunk_header) + sizeof(struct mp_sampled_set_header) +
		       capacity * sizeof(struct mp_sampled_set_entry);
	struct set_region region = { NULL, 0, NULL };
	if (mp_config.sample_window_ms) {
		size_t page = mp_trace_file_page_size();
		size_t chunk_bytes = (bytes + page - 1) & ~(page - 1);
		struct mp_chunk_header fields = { .flags = MP_CHUNK_SAMPLED_SET };
		if (chunk_bytes <= UINT32_MAX)
			region.base = mp_trace_file_new_chunk((uint32_t)chunk_bytes, &fields);
		region.bytes = chunk_bytes;
	}
	if (!region.base) {
		region.base = mp_sys_map_anon(bytes);
		region.bytes = bytes;
	}
	if (region.base) {
		region.header = (struct mp_sampled_set_header *)(region.base +
								 sizeof(struct mp_chunk_header));
		region.header->capacity = capacity;
	}
	return region;
}

/* The grown set is complete before it gets its generation, and the old one loses its
 * generation only then: a reader after a kill at any point finds one whole set. */
static int set_grow(void)
{
	uint64_t capacity = set_capacity ? set_capacity * 2 : FIRST_SET_SLOTS;
	struct set_region region = set_region_new(capacity);
	if (!region.base)
		return -1;
	struct mp_sampled_set_entry *slots = (struct mp_sampled_set_entry *)(region.header + 1);
	for (uint64_t i = 0; i < set_capacity; i++) {
		if (set_slots[i].addr)
			*set_find(slots, capacity, set_slots[i].addr) = set_slots[i];
	}
	__atomic_store_n(&region.header->generation, ++set_generation, __ATOMIC_RELEASE);
	struct set_region old = set_region;
	if (old.base)
		__atomic_store_n(&old.header->generation, 0, __ATOMIC_RELEASE);
	/* The new region is the set's before the old one is unmapped: a fork child (whose
	 * handlers take no lock) unmaps set_region, which must never be unmapped already. */
	set_region = region;
	set_slots = slots;
	set_capacity = capacity;
	if (old.base)
		mp_sys_unmap(old.base, old.bytes);
	return 0;
}

/* Linear probing without tombstones: the run after a removed slot is shifted back, so
 * lookups never wade through dead entries however long the program runs. */
static void set_erase(struct mp_sampled_set_entry *slot)
{
	uint64_t hole = (uint64_t)(slot - set_slots);
	uint64_t index = hole;
	for (;;) {
		index = (index + 1) & (set_capacity - 1);
		if (set_slots[index].addr == 0)
			break;
		uint64_t home = mp_mix64(set_slots[index].addr) & (set_capacity - 1);
		/* Move the entry into the hole unless its home lies in (hole, index]. */
		if ((index > hole && (home <= hole || home > index)) ||
		    (index < hole && (home <= hole && home > index))) {
			set_slots[hole] = set_slots[index];
			hole = index;
		}
	}
	set_slots[hole].addr = 0;
}

/* The set's lock, taken with signals held: a handler that jumps out of a thread holding
 * it (siglongjmp, recording_jumps.c) would leave it held for good, and with fine
 * sampling it is held at every few allocations. Two system calls a sampled event. */
static void set_lock_take(uint64_t *signals)
{
	mp_sys_signals_hold(signals);
	mp_lock(&set_lock, MP_LOCK_SAMPLING);
}

static void set_lock_give(const uint64_t *signals)
{
	mp_unlock(&set_lock, MP_LOCK_SAMPLING);
	mp_sys_signals_release(signals);
}

int mp_sampling_set_insert(const struct mp_sampled_set_entry *block, struct mp_thread *writer)
{
	int result = 0;
	uint64_t signals;
	set_lock_take(&signals);
	if ((set_count + 1) * 2 > set_capacity && set_grow() < 0) {
		result = -1;
	} else {
		struct mp_sampled_set_entry *slot = set_find(set_slots, set_capacity, block->addr);
		if (slot->addr != block->addr) {
			/* Grown first: the grown filter is filled from the set, without addr. */
			filter_grow(set_count + 1);
			set_count++;
			struct mp_sampling_set_filter filter = filter_now();
			filter_add(&filter, block->addr, 1);
		} else if (mp_config.sample_window_ms) {
			/* replaced: its free was never seen */
			mp_sampling_peak_live_change(mp_sample_weigh(mp_config.sample_bytes, slot->size), -1);
		}
		*slot = *block;
		if (mp_config.sample_window_ms) {
			mp_sampling_peak_live_change(mp_sample_weigh(mp_config.sample_bytes, block->size), 1);
			mp_sampling_peak_check(writer, set_slots, set_capacity, block->time_ns);
		}
	}
	set_lock_give(&signals);
	return result;
}

enum mp_sampling_set_found mp_sampling_set_take(uint64_t addr, struct mp_thread *writer)
{
	/* The common answer, without a lock: a counter at 0 means never inserted. Inserts of
	 * this address happen-before its free in the program, so they are visible here. */
	if (!mp_sampling_set_maybe(addr))
		return MP_SAMPLING_SET_NONE;
	enum mp_sampling_set_found found = MP_SAMPLING_SET_NONE;
	uint64_t signals;
	set_lock_take(&signals);
	struct mp_sampled_set_entry *slot = set_capacity ? set_find(set_slots, set_capacity, addr)
						     : NULL;
	if (slot && slot->addr == addr) {
		found = MP_SAMPLING_SET_WRITTEN;
		if (slot->pending && writer)
			mp_encode_alloc(writer, slot->tag, slot->addr, slot->size, slot->stack,
					mp_clock_now_ns());
		else if (slot->pending)
			found = MP_SAMPLING_SET_COUNTED;
		if (mp_config.sample_window_ms) {
			struct mp_sample_weight weight = mp_sample_weigh(mp_config.sample_bytes,
									 slot->size);
			if (found == MP_SAMPLING_SET_COUNTED)
				mp_sampling_window_count(slot, weight);
			mp_sampling_peak_live_change(weight, -1);
		}
		set_erase(slot);
		set_count--;
		struct mp_sampling_set_filter filter = filter_now();
		filter_add(&filter, addr, -1);
	}
	set_lock_give(&signals);
	return found;
}

/* The free of a block written here is recorded by a thread that takes set_lock after this
 * and reads the clock after that, so it never carries an earlier time than the block's
 * allocation record. */
void mp_sampling_set_flush(struct mp_thread *writer, uint64_t now_ns, int all)
{
	uint64_t window_ns = (uint64_t)mp_config.sample_window_ms * 1000000u;
	uint64_t signals;
	set_lock_take(&signals);
	for (uint64_t i = 0; i < set_capacity; i++) {
		struct mp_sampled_set_entry *block = &set_slots[i];
		if (block->addr && block->pending && (all || now_ns - block->time_ns >= window_ns)) {
			mp_encode_alloc(writer, block->tag, block->addr, block->size, block->stack,
					now_ns);
			block->pending = 0;
		}
	}
	mp_sampling_window_emit(writer);
	__atomic_store_n(&mp_sampling_set_next_flush_ns, now_ns + window_ns, __ATOMIC_RELAXED);
	set_lock_give(&signals);
}

void mp_sampling_set_after_fork_child(void)
{
	/* The child's trace starts empty: none of the inherited blocks is in it. */
	memset(first_counters, 0, sizeof(first_counters));
	mp_sampling_set_configure();
	/* The set may be a chunk of the parent's trace, shared with it: let go of it, and
	 * start a set of the child's own at its first sample. */
	if (set_region.base)
		mp_sys_unmap(set_region.base, set_region.bytes);
	set_region = (struct set_region){ NULL, 0, NULL };
	set_slots = NULL;
	set_capacity = set_count = set_generation = 0;
	mp_sampling_set_next_flush_ns = 0;
	mp_sampling_window_after_fork_child();
	mp_sampling_peak_after_fork_child();
	mp_mutex_reset(&set_lock);
}
