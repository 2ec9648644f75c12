/* unwind_memo.c: the walks each thread made, kept and checked before they are trusted again.
 *
 * A walk (unwind.c) is a function of its start (the caller's rip, rsp and rbp), of the
 * rules (fixed within a module generation) and of the stack words it reads. So a walk kept
 * with the offsets of those words and their values is the walk of any later capture with
 * the same start and generation whose words still hold those values. Checking them is a
 * handful of independent loads, where walking again is a chain of dependent ones per
 * frame. Words the walk read whose value cannot change its result are not kept (an rbp
 * restored from the stack and overwritten before any CFA was computed from it); offsets
 * are from the capturing function's frame, inside the stack's mapping.
 *
 * Many stacks share a start (the same call of malloc from the same depth, reached through
 * different callers), so a start leads to the last walk kept from it, and the values found
 * at that walk's offsets, hashed, lead to any other kept walk with the same offsets; that
 * one is then checked word for word as well. Walks live in an arena of 64 KiB per thread;
 * when it is full it starts over and everything kept before is forgotten. The memo is
 * the thread's only: no lock, no atomic. It is mapped at the thread's first capture and
 * unmapped by a thread-specific key's destructor; unwind.c's trail (the last walk) and the
 * notes of the walk under way live in the same mapping.
 */
#include <pthread.h>
#include <string.h>

#include "unwind.h"

/* By start: the last walk kept from it, in sets of two. Direct-mapped, starts that
 * shared a slot evicted each other: with 256 slots the 40-odd starts per thread of
 * alloc_bench collided often enough, depending only on where code and stacks happened to
 * be mapped, that one build walked and interned far more than another (callgrind,
 * 2 x 100000: 353 M instructions against 311 M with 1024 slots). Two ways per set take
 * three starts in one set to evict, where two in one slot were enough. */
#define LAST_SET_BITS 9u
#define LAST_WAYS 2u
#define LAST_SLOTS (LAST_WAYS << LAST_SET_BITS)
#define BY_VALUES_SLOTS 1024u /* by start, offsets and values */
#define SEEN_SLOTS 2048u      /* walks seen once, not kept */
#define ARENA_WORDS 8192u
#define HEADER_WORDS 6u

/* A kept walk in the arena: the header, then ips[count], then check values[checks]. The
 * offsets (uint32) of the words holding ips[1..count) and the check values are at
 * offsets_at, shared by the walks from one start that read the same words (the same
 * layout), so that comparing layouts is comparing two numbers. */
struct walk_header {
	uint64_t rip, rsp, rbp;
	uint64_t payload;
	uint32_t generation;
	int32_t max;
	uint16_t count, checks;
	uint32_t offsets_at;
};
_Static_assert(sizeof(struct walk_header) == HEADER_WORDS * 8, "header layout");

struct ref {
	uint32_t at;    /* word index in the arena */
	uint32_t epoch; /* the arena's when stored; 0: none */
};

struct by_values {
	uint64_t key;
	struct ref ref;
};

struct memo {
	struct ref last[LAST_SLOTS];
	struct by_values by_values[BY_VALUES_SLOTS];
	uint32_t seen[SEEN_SLOTS]; /* fingerprints of walks seen once */
	uint32_t epoch, used;
	uint64_t arena[ARENA_WORDS];
	struct mp_unwind_trail trails[2]; /* unwind.c's: the last walk, the next one's notes */
};

static pthread_key_t memo_key;
static int memo_key_ready;
static __thread struct memo *thread_memo __attribute__((tls_model("initial-exec")));
static __thread int thread_memo_off __attribute__((tls_model("initial-exec")));

/* At thread exit: the memo goes, and is not made again (a later TLS destructor may still
 * record; it walks without). */
static void memo_thread_exit(void *memo)
{
	thread_memo = NULL;
	thread_memo_off = 1;
	mp_sys_unmap(memo, sizeof(struct memo));
}

void mp_unwind_memo_init(void)
{
	if (!memo_key_ready && pthread_key_create(&memo_key, memo_thread_exit) == 0)
		memo_key_ready = 1;
}

void mp_unwind_memo_pause(int paused)
{
	static __thread struct memo *paused_memo;
	if (paused && !paused_memo) {
		paused_memo = thread_memo;
		thread_memo = NULL;
		thread_memo_off = 1;
	} else if (!paused && thread_memo_off) {
		thread_memo = paused_memo;
		paused_memo = NULL;
		thread_memo_off = 0;
	}
}

static __attribute__((noinline)) struct memo *memo_create(void)
{
	struct memo *memo = NULL;
	if (memo_key_ready && !thread_memo_off)
		memo = mp_sys_map_anon(sizeof(struct memo));
	if (!memo || pthread_setspecific(memo_key, memo) != 0) {
		if (memo)
			mp_sys_unmap(memo, sizeof(struct memo));
		thread_memo_off = 1;
		return NULL;
	}
	memo->epoch = 1;
	thread_memo = memo;
	return memo;
}

struct mp_unwind_trail *mp_unwind_memo_trails(void)
{
	struct memo *memo = thread_memo;
	if (MP_UNLIKELY(!memo) && (thread_memo_off || !(memo = memo_create())))
		return NULL;
	return memo->trails;
}

static inline uint64_t start_hash(const struct mp_unwind_start *start)
{
	return (start->rsp ^ (start->rip * 0x9e3779b97f4a7c15ull) ^ (start->rbp << 17)) *
	       0xc2b2ae3d27d4eb4full;
}

static inline struct walk_header *walk_at(struct memo *memo, struct ref ref)
{
	return ref.epoch == memo->epoch ? (struct walk_header *)(memo->arena + ref.at) : NULL;
}

static inline int same_start(const struct walk_header *walk, const struct mp_unwind_start *start,
			     uint32_t generation, int max)
{
	return walk->rip == start->rip && walk->rsp == start->rsp && walk->rbp == start->rbp &&
	       walk->generation == generation && walk->max == max;
}

static inline struct ref *last_set(struct memo *memo, const struct mp_unwind_start *start)
{
	return &memo->last[(start_hash(start) >> (64 - LAST_SET_BITS)) * LAST_WAYS];
}

/* The way of start's set that leads to a walk from start, or NULL. */
static inline struct ref *last_of(struct memo *memo, const struct mp_unwind_start *start,
				  uint32_t generation, int max)
{
	struct ref *set = last_set(memo, start);
	for (unsigned way = 0; way < LAST_WAYS; way++) {
		struct walk_header *walk = walk_at(memo, set[way]);
		if (walk && same_start(walk, start, generation, max))
			return &set[way];
	}
	return NULL;
}

static inline uint64_t *walk_ips(struct walk_header *walk)
{
	return (uint64_t *)(walk + 1);
}

static inline const uint32_t *walk_offsets(const struct memo *memo,
					   const struct walk_header *walk)
{
	return (const uint32_t *)(memo->arena + walk->offsets_at);
}

/* Words checked: the return addresses after the first, then the check values. */
static inline unsigned walk_words(const struct walk_header *walk)
{
	return walk->count - 1u + walk->checks;
}

/* The hash of the values the words hold, for by_values: four lanes of rotate and xor,
 * mixed at the end, so that it costs about a cycle a word. A hash only chooses which
 * walk to check; the check is exact. */
static inline uint64_t rotate_in(uint64_t lane, uint64_t value)
{
	return ((lane << 23) | (lane >> 41)) ^ value;
}

static inline uint64_t values_hash(const uint64_t *values, unsigned words)
{
	uint64_t a = words, b = 0, c = 0, d = 0;
	unsigned i = 0;
	for (; i + 4 <= words; i += 4) {
		a = rotate_in(a, values[i]);
		b = rotate_in(b, values[i + 1]);
		c = rotate_in(c, values[i + 2]);
		d = rotate_in(d, values[i + 3]);
	}
	for (; i < words; i++)
		a = rotate_in(a, values[i] * 0x9e3779b97f4a7c15ull);
	/* Independent products, mixed once in values_key. */
	return a * 0x9e3779b97f4a7c15ull ^ b * 0xc2b2ae3d27d4eb4full ^ c * 0x165667b19e3779f9ull ^
	       d * 0xd6e8feb86659fd93ull;
}

static inline uint64_t values_key(const struct mp_unwind_start *start, uint32_t offsets_at,
				  uint64_t values)
{
	return mp_mix64(start_hash(start) ^ ((uint64_t)offsets_at << 40) ^ values) | 1;
}

/* Reads the words at walk's offsets into held: whether they all hold walk's values. */
static inline int walk_holds(const struct memo *memo, struct walk_header *walk, uintptr_t low,
			     uint64_t *held)
{
	const uint64_t *values = walk_ips(walk) + 1;
	const uint32_t *offsets = walk_offsets(memo, walk);
	unsigned words = walk_words(walk);
	uint64_t differ = 0;
	for (unsigned i = 0; i < words; i++) {
		uint64_t word = *(const uint64_t *)(low + offsets[i]);
		held[i] = word;
		differ |= word ^ values[i];
	}
	return differ == 0;
}

static int same_values(const struct walk_header *walk, const uint64_t *held, unsigned words)
{
	const uint64_t *values = (const uint64_t *)(walk + 1) + 1;
	uint64_t differ = 0;
	for (unsigned i = 0; i < words; i++)
		differ |= values[i] ^ held[i];
	return differ == 0;
}

static inline void found(struct mp_unwind_capture *out, struct walk_header *walk)
{
	out->ips = (void *const *)walk_ips(walk);
	out->count = walk->count;
	out->memo = &walk->payload;
}

/* Inlined into the capture (link-time optimization sees both): as a call, a hit cost 10
 * to 15 ns where it costs 10 (bench/unwind_bench, one chain). */
__attribute__((always_inline)) inline int
mp_unwind_memo_find(struct mp_unwind_capture *out, const struct mp_unwind_start *start,
		    uintptr_t low, uint32_t generation, int max)
{
	struct memo *memo = thread_memo;
	if (MP_UNLIKELY(!memo)) {
		if (thread_memo_off || !memo_create())
			return MP_UNWIND_MEMO_NONE;
		return MP_UNWIND_MEMO_NONE; /* empty yet */
	}
	struct ref *last = last_of(memo, start, generation, max);
	if (!last)
		return MP_UNWIND_MEMO_NONE;
	struct walk_header *recent = walk_at(memo, *last);
	uint64_t held[MP_UNWIND_MEMO_FRAMES_MAX + MP_UNWIND_MEMO_CHECKS_MAX];
	if (MP_LIKELY(walk_holds(memo, recent, low, held))) {
		found(out, recent);
		return MP_UNWIND_MEMO_HIT;
	}
	/* Another walk from this start that read the same words, whose values they hold. */
	unsigned words = walk_words(recent);
	uint64_t key = values_key(start, recent->offsets_at, values_hash(held, words));
	struct by_values *slot = &memo->by_values[key % BY_VALUES_SLOTS];
	struct walk_header *other = slot->key == key ? walk_at(memo, slot->ref) : NULL;
	if (other && other != recent && same_start(other, start, generation, max) &&
	    other->offsets_at == recent->offsets_at && other->count == recent->count &&
	    same_values(other, held, words)) {
		*last = slot->ref;
		found(out, other);
		return MP_UNWIND_MEMO_HIT_OTHER;
	}
	return MP_UNWIND_MEMO_CHANGED;
}

/* The offsets (from low) of the words the walk in trail read: those holding ips[1..count)
 * (the trail's frames 1.. innermost first, or count - 2 down to 0 outermost first), then
 * its checks. */
static void trail_offsets(const struct mp_unwind_trail *trail, int outermost_first,
			  uintptr_t low, uint32_t *offsets)
{
	unsigned count = (unsigned)trail->count;
	for (unsigned i = 1; i < count; i++)
		offsets[i - 1] = (uint32_t)(trail->rsp[outermost_first ? count - 1 - i : i] - 8 - low);
	for (unsigned i = 0; i < (unsigned)trail->checks; i++)
		offsets[count - 1 + i] = (uint32_t)(trail->check_address[i] - low);
}

/* The offsets as kept in the arena: those of the last walk from the same start if they are
 * the same, else a copy at the arena's end. */
static uint32_t store_offsets(struct memo *memo, struct walk_header *recent,
			      const struct mp_unwind_trail *trail, const uint32_t *offsets)
{
	unsigned words = (unsigned)trail->count - 1 + (unsigned)trail->checks;
	if (recent && recent->count == trail->count && recent->checks == trail->checks &&
	    memcmp(walk_offsets(memo, recent), offsets, words * sizeof(uint32_t)) == 0)
		return recent->offsets_at;
	uint32_t at = memo->used;
	memcpy(memo->arena + at, offsets, words * sizeof(uint32_t));
	memo->used += (words + 1) / 2;
	return at;
}

void mp_unwind_memo_store(struct mp_unwind_capture *out, const struct mp_unwind_start *start,
			  uint32_t generation, int max, const struct mp_unwind_trail *trail,
			  int outermost_first, uintptr_t low)
{
	struct memo *memo = thread_memo;
	if (!memo || trail->count != out->count || out->count < 1)
		return;
	unsigned count = (unsigned)out->count, checks = (unsigned)trail->checks;
	unsigned words = count - 1 + checks;
	/* Only a walk seen before is kept: most of a program whose stacks rarely repeat would
	 * only push out of the caches what is used (the rules, the walks that do repeat). The
	 * fingerprint only decides what is kept, so a few frames of it do. */
	const uint64_t *walked = (const uint64_t *)out->ips;
	uint64_t fingerprint = mp_mix64(start_hash(start) ^ (walked[count - 1] * 31) ^
					(walked[count / 2] * 7) ^ walked[1] ^ ((uint64_t)count << 48));
	uint32_t *seen = &memo->seen[fingerprint % SEEN_SLOTS];
	if (*seen != (uint32_t)(fingerprint >> 32)) {
		*seen = (uint32_t)(fingerprint >> 32);
		return;
	}
	/* Room for the walk and a copy of its offsets, which may not be needed. */
	size_t size = HEADER_WORDS + count + checks + (words + 1) / 2;
	if (memo->used + size > ARENA_WORDS) {
		memo->epoch++; /* every walk kept before is forgotten */
		memo->used = 0;
	}
	struct ref *last = last_of(memo, start, generation, max);
	struct walk_header *recent = last ? walk_at(memo, *last) : NULL;
	if (!last) {
		/* A start not in its set: it takes the first way, the walk there moves to the
		 * second, and the second's is forgotten. */
		last = last_set(memo, start);
		last[1] = last[0];
	}
	uint32_t offsets[MP_UNWIND_MEMO_FRAMES_MAX + MP_UNWIND_MEMO_CHECKS_MAX];
	trail_offsets(trail, outermost_first, low, offsets);
	struct ref ref = { memo->used, memo->epoch };
	struct walk_header *walk = (struct walk_header *)(memo->arena + memo->used);
	memo->used += HEADER_WORDS + count + checks;
	*walk = (struct walk_header){
		.rip = start->rip, .rsp = start->rsp, .rbp = start->rbp, .generation = generation,
		.max = max, .count = (uint16_t)count, .checks = (uint16_t)checks,
	};
	uint64_t *ips = walk_ips(walk);
	memcpy(ips, out->ips, count * sizeof(uint64_t));
	memcpy(ips + count, trail->check_value, checks * sizeof(uint64_t));
	walk->offsets_at = store_offsets(memo, recent, trail, offsets);
	*last = ref;
	uint64_t key = values_key(start, walk->offsets_at, values_hash(ips + 1, words));
	memo->by_values[key % BY_VALUES_SLOTS] = (struct by_values){ key, ref };
	found(out, walk);
}
