/* sampling.c: Poisson sampling by bytes (MEMPROF_SAMPLE_BYTES), and the set of sampled
 * blocks whose frees must be recorded.
 *
 * Sample points fall on the stream of allocated bytes as a Poisson process of mean
 * spacing N: each thread counts down bytes to its next point, drawn from an exponential
 * distribution of mean N. An allocation of s bytes is sampled when a point falls inside
 * it, which happens with probability 1 - exp(-s/N) independently of everything before
 * (the exponential is memoryless, so after an unsampled allocation the rest of the
 * countdown is again exponential, and after a sampled one we draw afresh). This is the
 * scheme of tcmalloc and jemalloc; the analyzer weighs each sample by the inverse of that
 * probability.
 *
 * An unsampled allocation costs one subtraction (record_hot.h). Its free must not cost a
 * lock either: a counting filter (two counters per address, changed only when a sampled
 * block comes or goes, under the set's lock) answers "certainly not sampled" for almost
 * every free with two reads; only a "maybe" takes the lock and consults the exact set.
 * The filter is 16 KiB so that those reads stay in cache: with 200 sampled blocks live
 * about one free in 7000 is a "maybe", with 2000 (a 1 GiB heap at N = 512 KiB) one in 70.
 * A counter that reaches 255 stays there (a few more "maybe"s, never a missed block).
 */
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define FILTER_STUCK 255u
#define FIRST_SET_SLOTS 1024u

/* Static: the filter exists before the options are read, so a free racing with
 * initialization reads zeros, never a NULL pointer; untouched, it costs no memory. */
uint8_t mp_sampled_filter[MP_SAMPLED_FILTER_SLOTS];
#define filter mp_sampled_filter
static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *set_slots;       /* open addressing, 0 empty; guarded by set_lock */
static uint64_t set_capacity, set_count;
static uint64_t seed_override;

#define filter_index mp_sampled_filter_index

/* Counter updates happen under set_lock; the lock-free reader only needs each byte
 * stored whole, hence the relaxed atomic stores. */
static void filter_add(uint64_t addr, int delta)
{
	for (int which = 0; which < 2; which++) {
		uint8_t *counter = &filter[filter_index(addr, which)];
		uint8_t value = __atomic_load_n(counter, __ATOMIC_RELAXED);
		if (value != FILTER_STUCK)
			__atomic_store_n(counter, (uint8_t)(value + delta), __ATOMIC_RELAXED);
	}
}

void mp_sampling_seed(uint64_t seed)
{
	seed_override = seed;
}

/* xorshift64*: a fast generator of our own, so sampling never touches the program's
 * random state (rand(), random()). */
static uint64_t next_random(struct mp_thread *thread)
{
	uint64_t x = thread->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	thread->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static int64_t draw_countdown(struct mp_thread *thread)
{
	/* A uniform in (0, 1]: 53 random bits, never 0, so the log is finite. */
	double uniform = (double)((next_random(thread) >> 11) + 1) * (1.0 / 9007199254740992.0);
	double bytes = -log(uniform) * (double)mp_config.sample_bytes;
	return bytes >= 9.0e18 ? INT64_MAX : (int64_t)bytes + 1;
}

static void seed_thread(struct mp_thread *thread)
{
	uint64_t seed = seed_override;
	if (!seed)
		seed = mp_now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32) ^
		       (uint64_t)(uintptr_t)thread;
	thread->rng = mp_mix64(seed) | 1;
}

int mp_sample_slow(struct mp_thread *thread, size_t size)
{
	if (MP_UNLIKELY(!thread->rng)) {
		/* First allocation of this thread: its countdown starts now, not at 0. */
		seed_thread(thread);
		thread->sample_countdown += draw_countdown(thread);
		if (thread->sample_countdown > 0)
			return 0;
	}
	(void)size;
	thread->sample_countdown = draw_countdown(thread);
	return 1;
}

static uint64_t *set_find(uint64_t *slots, uint64_t capacity, uint64_t addr)
{
	uint64_t index = mp_mix64(addr) & (capacity - 1);
	while (slots[index] != 0 && slots[index] != addr)
		index = (index + 1) & (capacity - 1);
	return &slots[index];
}

static int set_grow(void)
{
	uint64_t capacity = set_capacity ? set_capacity * 2 : FIRST_SET_SLOTS;
	uint64_t *slots = mp_map_anon(capacity * sizeof(*slots));
	if (!slots)
		return -1;
	for (uint64_t i = 0; i < set_capacity; i++) {
		if (set_slots[i])
			*set_find(slots, capacity, set_slots[i]) = set_slots[i];
	}
	if (set_slots)
		mp_unmap(set_slots, set_capacity * sizeof(*set_slots));
	set_slots = slots;
	set_capacity = capacity;
	return 0;
}

/* Linear probing without tombstones: the run after a removed slot is shifted back, so
 * lookups never wade through dead entries however long the program runs. */
static void set_erase(uint64_t *slot)
{
	uint64_t hole = (uint64_t)(slot - set_slots);
	uint64_t index = hole;
	for (;;) {
		index = (index + 1) & (set_capacity - 1);
		if (set_slots[index] == 0)
			break;
		uint64_t home = mp_mix64(set_slots[index]) & (set_capacity - 1);
		/* Move the entry into the hole unless its home lies in (hole, index]. */
		if ((index > hole && (home <= hole || home > index)) ||
		    (index < hole && (home <= hole && home > index))) {
			set_slots[hole] = set_slots[index];
			hole = index;
		}
	}
	set_slots[hole] = 0;
}

int mp_sampled_insert(uint64_t addr)
{
	int result = 0;
	pthread_mutex_lock(&set_lock);
	if ((set_count + 1) * 2 > set_capacity && set_grow() < 0) {
		result = -1;
	} else {
		uint64_t *slot = set_find(set_slots, set_capacity, addr);
		if (*slot != addr) {
			*slot = addr;
			set_count++;
			filter_add(addr, 1);
		}
	}
	pthread_mutex_unlock(&set_lock);
	return result;
}

int mp_sampled_take(uint64_t addr)
{
	/* The common answer, without a lock: a counter at 0 means never inserted. Inserts of
	 * this address happen-before its free in the program, so they are visible here. */
	if (!mp_sampled_maybe(addr))
		return 0;
	int found = 0;
	pthread_mutex_lock(&set_lock);
	if (set_capacity) {
		uint64_t *slot = set_find(set_slots, set_capacity, addr);
		if (*slot == addr) {
			set_erase(slot);
			set_count--;
			filter_add(addr, -1);
			found = 1;
		}
	}
	pthread_mutex_unlock(&set_lock);
	return found;
}

void mp_sampling_lock(void)
{
	pthread_mutex_lock(&set_lock);
}

void mp_sampling_unlock(void)
{
	pthread_mutex_unlock(&set_lock);
}

void mp_sampling_after_fork_child(void)
{
	/* The child's trace starts empty: none of the inherited blocks is in it. */
	memset(filter, 0, sizeof(mp_sampled_filter));
	if (set_slots)
		memset(set_slots, 0, set_capacity * sizeof(*set_slots));
	set_count = 0;
	pthread_mutex_init(&set_lock, NULL);
}
