/* stacks.c: interning the captured stacks (the walk is unwind.c's).
 *
 * Each distinct stack is written once, as a STACK record, and events refer to it by id.
 * The intern table is lock-free: open addressing over slots keyed by a 128-bit hash of
 * (frames, module generation), claimed with one compare-and-swap. A lookup that finds a
 * slot still being filled by another thread does not wait: it writes the stack under a
 * fresh id of its own (the analyzer merges identical stacks). A slot keeps 96 of the
 * 128 bits (16 bytes with the id, not 24: cc1's probes missed the last-level cache 18%
 * less often, callgrind's cache model); two different stacks would have to agree in all
 * 96 to be confused, about 1 in 10^17 for a million stacks.
 *
 * The table grows without moving anything: when the newest level is half full a level
 * twice as large is added, lookups search newest first, inserts go to the newest. So
 * the memory touched follows the number of distinct stacks, starting at 64 KiB. Stacks
 * land anywhere in a level, so a level touches all its pages long before it is half
 * full (it is mapped populated): levels four times larger made cc1's 12000 stacks touch
 * a level of 1.5 MiB for its last 1800 (505 of the 1140 page faults memprof added to it,
 * with 24-byte slots); twice as large, its three levels take 448 KiB.
 *
 * Each level has a filter, a bit per slot set by the hash of each stack put there, so a
 * lookup skips, without touching its slots, a level that cannot hold its stack. cc1's
 * 12000 stacks fill three levels, most of its lookups hit in the middle one, and the
 * probe of the newest (1.5 MiB, mostly empty) missed the cache before each of them.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <string.h>

#include "encode.h"
#include "modules.h"
#include "stack_hash.h"
#include "stacks.h"
#include "memprof/varint.h"

#define FIRST_LEVEL_SLOTS 4096u
#define MAX_LEVELS 20 /* 2^31 stacks */
#define MAX_PROBES 32

struct slot {
	uint64_t hash_a; /* 0: empty; claimed by CAS */
	uint64_t check;  /* 0 until the STACK record is committed; then the stack's id in the
			    low half, hash_b's high half in the high one */
};

struct level {
	struct slot *slots;
	uint64_t *filter; /* mask + 1 bits, after the slots */
	uint64_t mask;
	uint32_t inserted;
};

static struct level levels[MAX_LEVELS];
static int level_count; /* published with release after the level is set up */
static struct mp_mutex grow_lock;
static uint32_t last_stack_id;
static uintptr_t self_start, self_end;
uintptr_t mp_stacks_unwinder_start, mp_stacks_unwinder_end;
uint32_t mp_stacks_epoch = 1;

static int add_level(int expected_count);

void mp_stacks_init(uintptr_t start, uintptr_t end)
{
	self_start = start;
	self_end = end;
	mp_stack_hash_init();
	mp_modules_range_of((uintptr_t)&unw_backtrace, &mp_stacks_unwinder_start, &mp_stacks_unwinder_end);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	mp_unwind_init();
	if (__atomic_load_n(&level_count, __ATOMIC_ACQUIRE) == 0)
		add_level(0);
}

/* The hash of ips[0..count) (innermost first), by stack_hash.h: outermost frame first. */
static void hash_stack(void *const *ips, int count, uint32_t generation, uint64_t *hash_a,
		       uint64_t *hash_b)
{
	const uint64_t *frames = (const uint64_t *)ips;
	struct mp_stack_hash_sum sum = { 0, 0 };
	for (int position = 0; position + 2 <= count; position += 2)
		mp_stack_hash_pair(&sum, position, frames[count - 1 - position],
				   frames[count - 2 - position]);
	mp_stack_hash_final(sum, count, frames[0], generation, hash_a, hash_b);
}

static uint64_t level_bytes(uint64_t slots)
{
	return slots * sizeof(struct slot) + slots / 8;
}

/* The filter's bit for a hash: bits of it the slot's index does not use. */
static inline uint64_t filter_bit(const struct level *level, uint64_t hash_a)
{
	return (hash_a >> 40 ^ hash_a >> 20) & level->mask;
}

static inline int filter_has(const struct level *level, uint64_t hash_a)
{
	uint64_t bit = filter_bit(level, hash_a);
	return (int)(__atomic_load_n(&level->filter[bit / 64], __ATOMIC_ACQUIRE) >> (bit % 64) & 1);
}

static int add_level(int expected_count)
{
	int result = 0;
	/* No handler may jump out while the lock is held (recording_jumps.c). Rare: a level
	 * is added a few times in a run. */
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	mp_state_thread.fragile++;
	mp_mutex_lock(&grow_lock);
	int count = __atomic_load_n(&level_count, __ATOMIC_ACQUIRE);
	if (count == expected_count && count < MAX_LEVELS) {
		uint64_t slots = (uint64_t)FIRST_LEVEL_SLOTS << count;
		struct slot *memory = mp_sys_map_anon_populated(level_bytes(slots));
		if (memory) {
			levels[count].slots = memory;
			levels[count].filter = (uint64_t *)(memory + slots);
			levels[count].mask = slots - 1;
			levels[count].inserted = 0;
			__atomic_store_n(&level_count, count + 1, __ATOMIC_RELEASE);
		} else {
			result = -1;
		}
	}
	mp_mutex_unlock(&grow_lock);
	mp_state_thread.fragile--;
	mp_sys_signals_release(&signals);
	return result;
}

/* Returns the id, 0 if absent, or UINT32_MAX if a slot for it is still being filled. */
static MP_HOT uint32_t find(uint64_t hash_a, uint64_t hash_b)
{
	int count = __atomic_load_n(&level_count, __ATOMIC_ACQUIRE);
	for (int index = count - 1; index >= 0; index--) {
		const struct level *level = &levels[index];
		if (!filter_has(level, hash_a))
			continue;
		for (uint64_t probe = 0; probe < MAX_PROBES; probe++) {
			struct slot *slot = &level->slots[(hash_a + probe) & level->mask];
			uint64_t found = __atomic_load_n(&slot->hash_a, __ATOMIC_ACQUIRE);
			if (found == 0)
				break;
			if (found != hash_a)
				continue;
			uint64_t check = __atomic_load_n(&slot->check, __ATOMIC_ACQUIRE);
			if (check == 0)
				return UINT32_MAX;
			if (check >> 32 == hash_b >> 32)
				return (uint32_t)check;
		}
	}
	return 0;
}

/* The slot where find() will first look for the stack of hash hash_a, loaded ahead: in
 * the level whose filter may hold it (the filters are small and stay in the cache: one
 * line loaded, not one a level). In none, the stack is new, and claim() will write the
 * newest level's slot: loaded for writing (cc1's 12000 new stacks spent a fifth of
 * mp_stacks_intern's samples waiting for that line). */
MP_HOT void mp_stacks_prefetch(uint64_t hash_a)
{
	int count = __atomic_load_n(&level_count, __ATOMIC_ACQUIRE);
	for (int index = count - 1; index >= 0; index--) {
		const struct level *level = &levels[index];
		if (filter_has(level, hash_a)) {
			__builtin_prefetch(&level->slots[hash_a & level->mask]);
			return;
		}
	}
	if (count > 0)
		__builtin_prefetch(&levels[count - 1].slots[hash_a & levels[count - 1].mask], 1);
}

/* Claims an empty slot in the newest level; NULL if the stack must stay uncached. */
static struct slot *claim(uint64_t hash_a)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int count = __atomic_load_n(&level_count, __ATOMIC_ACQUIRE);
		if (count == 0)
			return NULL;
		struct level *level = &levels[count - 1];
		if (__atomic_load_n(&level->inserted, __ATOMIC_RELAXED) <= level->mask / 2) {
			for (uint64_t probe = 0; probe < MAX_PROBES; probe++) {
				struct slot *slot = &level->slots[(hash_a + probe) & level->mask];
				uint64_t expected = 0;
				if (__atomic_compare_exchange_n(&slot->hash_a, &expected, hash_a, 0,
								__ATOMIC_ACQ_REL,
								__ATOMIC_ACQUIRE)) {
					__atomic_add_fetch(&level->inserted, 1, __ATOMIC_RELAXED);
					/* Before the id is published: a lookup that
					 * misses the bit meanwhile writes the stack
					 * under an id of its own, as when it finds the
					 * slot still being filled. */
					uint64_t bit = filter_bit(level, hash_a);
					__atomic_fetch_or(&level->filter[bit / 64], 1ull << (bit % 64),
							  __ATOMIC_ACQ_REL);
					return slot;
				}
				if (expected == hash_a)
					return NULL; /* another thread is interning it right now */
			}
		}
		if (add_level(count) < 0)
			return NULL;
	}
	return NULL;
}

/* The last stack this thread wrote: its id and its outermost frames, outermost last, for
 * the next one to share (STACK_SHARED, trace_format.h). Its epoch says which trace the id
 * belongs to (a fork child's is new). */
#define LAST_WRITTEN_FRAMES 64
#define SHARED_MIN 2 /* the parent's id and the count cost about two frames */
struct last_written {
	uint32_t id, epoch;
	int kept; /* its outermost frames in tail, all of them up to LAST_WRITTEN_FRAMES */
	uint64_t tail[LAST_WRITTEN_FRAMES];
};
static __thread struct last_written last_written __attribute__((tls_model("initial-exec")));

/* How many outermost frames of ips[0..count) are the last written stack's outermost. */
static int shared_with_last(const struct last_written *last, void *const *ips, int count)
{
	if (!last->id || last->epoch != __atomic_load_n(&mp_stacks_epoch, __ATOMIC_RELAXED))
		return 0;
	int shared = 0;
	while (shared < count && shared < last->kept &&
	       (uint64_t)(uintptr_t)ips[count - 1 - shared] == last->tail[last->kept - 1 - shared])
		shared++;
	return shared;
}

static void keep_written(struct last_written *last, uint32_t id, void *const *ips, int count)
{
	int kept = count < LAST_WRITTEN_FRAMES ? count : LAST_WRITTEN_FRAMES;
	for (int i = 0; i < kept; i++)
		last->tail[i] = (uint64_t)(uintptr_t)ips[count - kept + i];
	last->id = id;
	last->epoch = __atomic_load_n(&mp_stacks_epoch, __ATOMIC_RELAXED);
	last->kept = kept;
}

static int in_self(void *ip)
{
	return (uintptr_t)ip >= self_start && (uintptr_t)ip < self_end;
}

/* A STACK record, or a STACK_SHARED one where the stack's outermost frames are those of
 * the last stack this thread wrote (whose record is then earlier in this thread's). */
static void write_record(struct mp_thread *thread, uint32_t id, uint32_t generation,
			 void *const *ips, int count)
{
	uint8_t body[(5 + count) * MP_VARINT_MAX]; /* not the most frames: see mp_stacks_capture */
	int shared = shared_with_last(&last_written, ips, count);
	uint8_t *at = mp_put_u(body, id);
	at = mp_put_u(at, generation);
	at = mp_put_u(at, (uint64_t)count);
	if (shared >= SHARED_MIN) {
		at = mp_put_u(at, last_written.id);
		at = mp_put_u(at, (uint64_t)shared);
	} else {
		shared = 0;
	}
	uint64_t prev_ip = 0;
	for (int i = 0; i < count - shared; i++) {
		uint64_t ip = (uint64_t)(uintptr_t)ips[i];
		at = mp_put_s(at, (int64_t)(ip - prev_ip));
		prev_ip = ip;
	}
	/* Only a record in the trace can be a parent: one that could not be written (the
	 * recorder stopped) would make every record naming it corrupt. */
	if (mp_encode_extended(thread, shared ? MP_REC_STACK_SHARED : MP_REC_STACK, body,
			       (size_t)(at - body)))
		keep_written(&last_written, id, ips, count);
}

/* The stack's record, without the profiler's frames (trace_format.h): those on top are
 * gone already (mp_stacks_intern), and one of memprof's interposed functions may be in
 * the middle, where the program called it and the function it stands for allocated
 * (pthread_getattr_np's wrapper, under glibc's realloc; dlclose's, under a library's
 * destructors). Such stacks are few: only they are copied. */
static void write_stack(struct mp_thread *thread, uint32_t id, uint32_t generation,
			void *const *ips, int count)
{
	int own = 0;
	for (int i = 0; i < count; i++)
		own += in_self(ips[i]);
	if (!own || own == count) {
		write_record(thread, id, generation, ips, count);
		return;
	}
	void *kept[count];
	int kept_count = 0;
	for (int i = 0; i < count; i++)
		if (!in_self(ips[i]))
			kept[kept_count++] = ips[i];
	write_record(thread, id, generation, kept, kept_count);
}

__attribute__((noinline)) uint32_t mp_stacks_capture_many(struct mp_thread *thread)
{
	void *buffer[MP_MAX_FRAMES_LIMIT + MP_STACKS_OWN_FRAMES_MAX];
	return mp_stacks_capture_into(thread, buffer, (int)mp_config.max_frames +
							      MP_STACKS_OWN_FRAMES_MAX);
}

uint64_t mp_stacks_slow_lookups;

/* The slot this thread claimed and has not filled yet, with its stack's hash_b (see
 * mp_stacks_forget_thread). */
static __thread struct {
	struct slot *slot;
	uint64_t hash_b;
} claimed __attribute__((tls_model("initial-exec")));

static uint32_t intern_slow(struct mp_thread *thread, void *const *ips, int count)
{
	__atomic_add_fetch(&mp_stacks_slow_lookups, 1, __ATOMIC_RELAXED);
	/* Modules first: a stack through a library loaded a moment ago must find it in the
	 * map, and an unload since the last check starts a new generation. A stack whose
	 * frames all lie in objects of the map, in its generation, needs no check. */
	if (!mp_modules_cover(ips, count))
		mp_modules_sync(thread);
	uint32_t generation = mp_modules_generation();
	uint64_t hash_a, hash_b;
	hash_stack(ips, count, generation, &hash_a, &hash_b);
	uint32_t id = find(hash_a, hash_b);
	if (id && id != UINT32_MAX)
		return id;
	struct slot *slot = id ? NULL : claim(hash_a);
	claimed.hash_b = hash_b;
	claimed.slot = slot;
	id = __atomic_add_fetch(&last_stack_id, 1, __ATOMIC_RELAXED);
	write_stack(thread, id, generation, ips, count);
	if (slot) {
		__atomic_store_n(&slot->check, (hash_b & ~0xffffffffull) | id, __ATOMIC_RELEASE);
		claimed.slot = NULL;
	}
	return id;
}

void mp_stacks_forget_thread(void)
{
	last_written.id = 0;
	if (!claimed.slot)
		return;
	/* A slot claimed for a stack whose record may not have been written: it is never
	 * filled, but made one that no lookup of that stack matches (another half of
	 * hash_b), which they go past as past another stack's; the stack gets a slot
	 * further on. Left "being filled", it would have its record written again at
	 * every one of its events. */
	uint64_t other = ~claimed.hash_b & ~0xffffffffull;
	__atomic_store_n(&claimed.slot->check, other ? other : 1ull << 32, __ATOMIC_RELEASE);
	claimed.slot = NULL;
}

MP_HOT uint32_t mp_stacks_intern(struct mp_thread *thread, void *const *ips, int captured,
				 const struct mp_stack_hash_sum *outer_sums)
{
	int first = 0;
	while (first < captured && in_self(ips[first]))
		first++;
	int count = captured - first;
	if (count <= 0)
		return 0;
	uint64_t hash_a, hash_b;
	uint32_t generation = mp_modules_generation();
	if (outer_sums && count <= (int)mp_config.max_frames)
		mp_stack_hash_final(outer_sums[count / 2], count, (uint64_t)(uintptr_t)ips[first],
				    generation, &hash_a, &hash_b);
	else {
		if (count > (int)mp_config.max_frames)
			count = (int)mp_config.max_frames; /* the outermost frames are dropped */
		hash_stack(ips + first, count, generation, &hash_a, &hash_b);
	}
	uint32_t id = find(hash_a, hash_b);
	if (MP_LIKELY(id && id != UINT32_MAX))
		return id;
	return intern_slow(thread, ips + first, count);
}

void mp_stacks_reset(void)
{
	for (int index = 0; index < level_count; index++) {
		mp_sys_unmap(levels[index].slots, level_bytes(levels[index].mask + 1));
		levels[index].slots = NULL;
	}
	level_count = 0;
	last_stack_id = 0;
	__atomic_add_fetch(&mp_stacks_epoch, 1, __ATOMIC_RELAXED);
	mp_mutex_reset(&grow_lock);
	add_level(0);
}
