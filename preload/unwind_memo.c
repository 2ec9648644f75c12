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
 * different callers), so a start leads to the last walk kept from it, and the few words
 * picked to tell apart the kept walks from that start that read the same words (struct
 * layout), read at that walk's offsets, lead to the one of them holding those values;
 * that one is then checked word for word as well. Only the checks read every word, once
 * each: alloc_bench makes four different stacks from each of its starts at random, and
 * reading all words three times (against the last walk, to hash them, against the walk
 * the hash found) cost 436 instructions a capture, 38% of what memprof added to it
 * (callgrind). Walks live in an arena of 64 KiB per thread; when it is full it starts
 * over and everything kept before is forgotten. The memo is
 * the thread's only: no lock, no atomic. It is mapped at the thread's first capture and
 * unmapped by a thread-specific key's destructor; unwind.c's trail (the last walk) and the
 * notes of the walk under way live in the same mapping.
 */
#include <pthread.h>
#include <stddef.h>
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
#define BY_VALUES_SETS 512u /* by start, layout and picked value; two ways a set */
#define SEEN_SLOTS 2048u      /* walks seen once, not kept */
#define ARENA_WORDS 8192u
#define HEADER_WORDS 6u

/* A kept walk in the arena: the header, then ips[count], then check values[checks]. Its
 * layout, the offsets of the words holding ips[1..count) and the check values, is at
 * offsets_at, shared by the walks from one start that read the same words, so that
 * comparing layouts is comparing two numbers. */
struct walk_header {
	uint64_t rip, rsp, rbp;
	uint64_t payload;
	uint32_t generation;
	int16_t max;
	uint16_t rbp_live; /* the walk's result depends on the start's rbp */
	uint16_t count, checks;
	uint32_t offsets_at;
};
_Static_assert(sizeof(struct walk_header) == HEADER_WORDS * 8, "header layout");

/* The words a walk read, as offsets from the capturing frame, and which of them key the
 * walks with this layout in by_values: none at first; when a walk is kept whose picked
 * words hold what another kept walk's do, the first word where the two differ is picked
 * too, and both are keyed anew (others kept before are keyed anew once walked again). */
#define PICKS_MAX 7u
struct layout {
	uint16_t picks[PICKS_MAX];
	uint16_t picked;
	uint32_t offsets[];
};
#define LAYOUT_HEADER_WORDS 2u
_Static_assert(sizeof(struct layout) == LAYOUT_HEADER_WORDS * 8, "a layout's header");

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
	struct by_values by_values[BY_VALUES_SETS][2]; /* the newest first */
	uint32_t seen[SEEN_SLOTS]; /* fingerprints of walks seen once */
	uint32_t epoch, used;
	uint64_t arena[ARENA_WORDS];
	struct mp_unwind_trail trails[2]; /* unwind.c's: the last walk, the next one's notes */
};

static pthread_key_t memo_key;
static int memo_key_ready;
static __thread struct memo *thread_memo __attribute__((tls_model("initial-exec")));
static __thread int thread_memo_off __attribute__((tls_model("initial-exec")));

/* Memos of threads that ended, kept for the next threads to start (SPARE_MEMOS at most):
 * mapping, faulting in and unmapping a memo for each thread cost a program that makes
 * many short threads a third of what memprof added to each (the unmap flushes the TLBs
 * of the CPUs running its other threads). A slot is taken and filled with an atomic
 * exchange, so no lock is needed at a thread's end or its first capture. */
#define SPARE_MEMOS 8u
static struct memo *spare_memos[SPARE_MEMOS];

/* At thread exit: the memo goes to the spares, or is unmapped, and is not made again for
 * this thread (a later TLS destructor may still record; it walks without). */
static void memo_thread_exit(void *memo)
{
	thread_memo = NULL;
	thread_memo_off = 1;
	for (unsigned i = 0; i < SPARE_MEMOS; i++) {
		struct memo *empty = NULL;
		if (__atomic_compare_exchange_n(&spare_memos[i], &empty, memo, 0, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return;
	}
	mp_sys_unmap(memo, sizeof(struct memo));
}

/* The walks it kept are forgotten with a new epoch, the trail with a count of 0. */
static void memo_empty(struct memo *memo)
{
	memo->epoch++;
	memo->used = 0;
	memo->trails[0].count = 0;
	memo->trails[1].count = 0;
}

/* A spare memo, emptied (a walk is sound for any thread whose stack words hold its
 * values, but a new thread starts clean), or NULL. */
static struct memo *spare_memo(void)
{
	for (unsigned i = 0; i < SPARE_MEMOS; i++) {
		if (!__atomic_load_n(&spare_memos[i], __ATOMIC_RELAXED))
			continue;
		struct memo *memo = __atomic_exchange_n(&spare_memos[i], NULL, __ATOMIC_ACQUIRE);
		if (!memo)
			continue;
		memo_empty(memo);
		return memo;
	}
	return NULL;
}

void mp_unwind_memo_forget(void)
{
	if (thread_memo)
		memo_empty(thread_memo);
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
	int spare = 0;
	if (memo_key_ready && !thread_memo_off) {
		memo = spare_memo();
		spare = memo != NULL;
		if (!memo)
			memo = mp_sys_map_anon(sizeof(struct memo));
	}
	if (!memo || pthread_setspecific(memo_key, memo) != 0) {
		if (memo)
			memo_thread_exit(memo);
		thread_memo_off = 1;
		return NULL;
	}
	if (!spare) {
		/* Its tables and trails are read before they are written (see
		 * mp_sys_prefault); the arena, written first, is left to fill as walks are
		 * kept. */
		mp_sys_prefault(memo, offsetof(struct memo, arena));
		mp_sys_prefault(memo->trails, sizeof(memo->trails));
		memo->epoch = 1;
	}
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

/* Without rbp: a walk whose result does not depend on it (no frame computes a CFA from
 * it before one restores it from the stack) is any capture's from the same rip and rsp,
 * whatever rbp holds: in code built without frame pointers it is a register like any
 * other. */
static inline uint64_t start_hash(const struct mp_unwind_start *start)
{
	return (start->rsp ^ (start->rip * 0x9e3779b97f4a7c15ull)) * 0xc2b2ae3d27d4eb4full;
}

static inline struct walk_header *walk_at(struct memo *memo, struct ref ref)
{
	return ref.epoch == memo->epoch ? (struct walk_header *)(memo->arena + ref.at) : NULL;
}

static inline int same_start(const struct walk_header *walk, const struct mp_unwind_start *start,
			     uint32_t generation, int max)
{
	return walk->rip == start->rip && walk->rsp == start->rsp &&
	       (!walk->rbp_live || walk->rbp == start->rbp) && walk->generation == generation &&
	       walk->max == max;
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

static inline struct layout *walk_layout(struct memo *memo, const struct walk_header *walk)
{
	return (struct layout *)(memo->arena + walk->offsets_at);
}

static inline const uint64_t *walk_values(const struct walk_header *walk)
{
	return (const uint64_t *)(walk + 1) + 1;
}

/* Words checked: the return addresses after the first, then the check values. */
static inline unsigned walk_words(const struct walk_header *walk)
{
	return walk->count - 1u + walk->checks;
}

/* The by_values key of the walks from start with the layout at offsets_at whose picked
 * words hold picked[]. */
static inline uint64_t values_key(const struct mp_unwind_start *start, uint32_t offsets_at,
				  const uint64_t *picked, unsigned count)
{
	uint64_t key = start_hash(start) ^ ((uint64_t)offsets_at << 40);
	for (unsigned i = 0; i < count; i++)
		key = (key ^ picked[i]) * 0x9e3779b97f4a7c15ull + i;
	return mp_mix64(key) | 1;
}

/* The stack word at offset from the capturing frame. */
static inline uint64_t stack_word(uintptr_t low, uint32_t offset)
{
	return *(const uint64_t *)(low + offset);
}

/* Whether the words at the layout's offsets all hold walk's values. Four at a time, by
 * pointers: indexed two at a time it took 7 instructions a word, where a word needs 4
 * (its offset, the word, a compare with its value, an or), and a hit of sqlite3's memo
 * reads 25 of them. */
static inline int walk_holds(const struct walk_header *walk, const uint32_t *offsets,
			     uintptr_t low, unsigned words)
{
	const uint64_t *values = walk_values(walk);
	const uint32_t *end = offsets + words;
	uint64_t a = 0, b = 0, c = 0, d = 0;
	for (; end - offsets >= 4; offsets += 4, values += 4) {
		a |= stack_word(low, offsets[0]) ^ values[0];
		b |= stack_word(low, offsets[1]) ^ values[1];
		c |= stack_word(low, offsets[2]) ^ values[2];
		d |= stack_word(low, offsets[3]) ^ values[3];
	}
	for (; offsets < end; offsets++, values++)
		a |= stack_word(low, *offsets) ^ *values;
	return (a | b | c | d) == 0;
}

static inline void found(struct mp_unwind_capture *out, struct walk_header *walk)
{
	out->ips = (void *const *)walk_ips(walk);
	out->count = walk->count;
	out->memo = &walk->payload;
}

/* The walk a way of key's set holds under key, if it is still in the arena; the way's
 * entry in *entry. */
static inline struct walk_header *keyed_walk(struct memo *memo, uint64_t key, unsigned way,
					     const struct by_values **entry)
{
	*entry = &memo->by_values[key % BY_VALUES_SETS][way];
	return (*entry)->key == key ? walk_at(memo, (*entry)->ref) : NULL;
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
	const struct layout *layout = walk_layout(memo, recent);
	unsigned words = walk_words(recent);
	/* The picked words first: they tell whether the last walk can hold at all. */
	const uint64_t *values = walk_values(recent);
	uint64_t picked[PICKS_MAX], differ = 0;
	for (unsigned i = 0; i < layout->picked; i++) {
		picked[i] = stack_word(low, layout->offsets[layout->picks[i]]);
		differ |= picked[i] ^ values[layout->picks[i]];
	}
	if (MP_LIKELY(!differ && walk_holds(recent, layout->offsets, low, words))) {
		found(out, recent);
		return MP_UNWIND_MEMO_HIT;
	}
	/* Another walk from this start that read the same words, whose values they hold. */
	uint64_t key = values_key(start, recent->offsets_at, picked, layout->picked);
	for (unsigned way = 0; way < 2; way++) {
		const struct by_values *entry;
		struct walk_header *other = keyed_walk(memo, key, way, &entry);
		if (other && other != recent && same_start(other, start, generation, max) &&
		    other->offsets_at == recent->offsets_at && other->count == recent->count &&
		    walk_holds(other, layout->offsets, low, words)) {
			*last = entry->ref;
			found(out, other);
			return MP_UNWIND_MEMO_HIT_OTHER;
		}
	}
	return MP_UNWIND_MEMO_CHANGED;
}

/* The offsets (from low) of the words the walk in trail read: those holding ips[1..count)
 * (the trail's frames 1.. innermost first, or count - 2 down to 0 outermost first), then
 * its checks, by address, their values in values. By address, not as noted: a walk that
 * joined the trail lists the trail's checks first, one that did not its own innermost
 * first, and the same stack then made two layouts, one more for every walk kept after
 * the other kind (alloc_bench's chains, once its arena started over). */
static void trail_offsets(const struct mp_unwind_trail *trail, int outermost_first,
			  uintptr_t low, uint32_t *offsets, uint64_t *values)
{
	unsigned count = (unsigned)trail->count, checks = (unsigned)trail->checks;
	for (unsigned i = 1; i < count; i++)
		offsets[i - 1] = (uint32_t)(trail->rsp[outermost_first ? count - 1 - i : i] - 8 - low);
	uint32_t *check_offsets = offsets + count - 1;
	for (unsigned i = 0; i < checks; i++) { /* insertion sort: a walk notes a few */
		uint32_t offset = (uint32_t)(trail->check_address[i] - low);
		unsigned at = i;
		for (; at > 0 && check_offsets[at - 1] > offset; at--) {
			check_offsets[at] = check_offsets[at - 1];
			values[at] = values[at - 1];
		}
		check_offsets[at] = offset;
		values[at] = trail->check_value[i];
	}
}

/* The layout as kept in the arena: the last walk's from the same start if its offsets
 * are the same, else a new one at the arena's end. */
static uint32_t store_layout(struct memo *memo, struct walk_header *recent,
			     const struct mp_unwind_trail *trail, const uint32_t *offsets)
{
	unsigned words = (unsigned)trail->count - 1 + (unsigned)trail->checks;
	if (recent && recent->count == trail->count && recent->checks == trail->checks &&
	    memcmp(walk_layout(memo, recent)->offsets, offsets, words * sizeof(uint32_t)) == 0)
		return recent->offsets_at;
	uint32_t at = memo->used;
	struct layout *layout = (struct layout *)(memo->arena + at);
	layout->picked = 0;
	memcpy(layout->offsets, offsets, words * sizeof(uint32_t));
	memo->used += LAYOUT_HEADER_WORDS + (words + 1) / 2;
	return at;
}

/* Whether the walk noted in trail depends on the start's rbp: a kept trail (outermost
 * first) says so in its innermost frame's RBP_LIVE; a walk's notes (innermost first) in
 * which of using rbp for a CFA or restoring it from the stack comes first, going out. */
static int start_rbp_live(const struct mp_unwind_trail *trail, int outermost_first)
{
	if (outermost_first)
		return (trail->flags[trail->count - 1] &
			(MP_UNWIND_TRAIL_RBP_LIVE | MP_UNWIND_TRAIL_USES_RBP)) != 0;
	for (int frame = 0; frame < trail->count; frame++) {
		if (trail->flags[frame] & MP_UNWIND_TRAIL_USES_RBP)
			return 1;
		if (trail->flags[frame] & MP_UNWIND_TRAIL_RESTORES_RBP)
			return 0;
	}
	return 0;
}

/* The picked words of walk, and its key. */
static uint64_t walk_key(struct memo *memo, const struct mp_unwind_start *start,
			 const struct walk_header *walk)
{
	const struct layout *layout = walk_layout(memo, walk);
	uint64_t picked[PICKS_MAX];
	for (unsigned i = 0; i < layout->picked; i++)
		picked[i] = walk_values(walk)[layout->picks[i]];
	return values_key(start, walk->offsets_at, picked, layout->picked);
}

/* The kept walk other than walk (from start) that its key would find: one from the same
 * start with the same layout whose picked words hold the same values; its ref in *ref. */
static const struct walk_header *same_key(struct memo *memo, const struct mp_unwind_start *start,
					  const struct walk_header *walk, uint64_t key,
					  struct ref *ref)
{
	for (unsigned way = 0; way < 2; way++) {
		const struct by_values *entry;
		const struct walk_header *other = keyed_walk(memo, key, way, &entry);
		if (other && other != walk && same_start(other, start, walk->generation, walk->max) &&
		    other->offsets_at == walk->offsets_at && other->count == walk->count) {
			*ref = entry->ref;
			return other;
		}
	}
	return NULL;
}

/* Picks the first word where walk and other differ, if the layout has room for it:
 * whether it did. */
static int pick_word(struct layout *layout, const struct walk_header *walk,
		     const struct walk_header *other, unsigned words)
{
	if (layout->picked == PICKS_MAX)
		return 0;
	const uint64_t *mine = walk_values(walk), *theirs = walk_values(other);
	for (unsigned i = 0; i < words; i++) {
		if (mine[i] != theirs[i]) {
			layout->picks[layout->picked++] = (uint16_t)i;
			return 1;
		}
	}
	return 0;
}

/* The newest of the key's set; the older way's walk is forgotten there. */
static void by_values_put(struct memo *memo, uint64_t key, struct ref ref)
{
	struct by_values *set = memo->by_values[key % BY_VALUES_SETS];
	set[1] = set[0];
	set[0] = (struct by_values){ key, ref };
}

int mp_unwind_memo_store(struct mp_unwind_capture *out, const struct mp_unwind_start *start,
			 uint32_t generation, int max, const struct mp_unwind_trail *trail,
			 int outermost_first, uintptr_t low)
{
	struct memo *memo = thread_memo;
	if (!memo || trail->count != out->count || out->count < 1)
		return 0;
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
		return 0;
	}
	/* Room for the walk and a layout of its own, which may not be needed. */
	size_t size = HEADER_WORDS + count + checks + LAYOUT_HEADER_WORDS + (words + 1) / 2;
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
	struct ref ref = { memo->used, memo->epoch };
	struct walk_header *walk = (struct walk_header *)(memo->arena + memo->used);
	memo->used += HEADER_WORDS + count + checks;
	*walk = (struct walk_header){
		.rip = start->rip, .rsp = start->rsp, .rbp = start->rbp, .generation = generation,
		.max = (int16_t)max, .rbp_live = (uint16_t)start_rbp_live(trail, outermost_first),
		.count = (uint16_t)count, .checks = (uint16_t)checks,
	};
	uint64_t *ips = walk_ips(walk);
	memcpy(ips, out->ips, count * sizeof(uint64_t));
	trail_offsets(trail, outermost_first, low, offsets, ips + count);
	walk->offsets_at = store_layout(memo, recent, trail, offsets);
	*last = ref;
	uint64_t key = walk_key(memo, start, walk);
	struct ref other_ref;
	const struct walk_header *other = same_key(memo, start, walk, key, &other_ref);
	if (other && pick_word(walk_layout(memo, walk), walk, other, words)) {
		by_values_put(memo, walk_key(memo, start, other), other_ref);
		key = walk_key(memo, start, walk);
	}
	by_values_put(memo, key, ref);
	found(out, walk);
	return !recent || walk->offsets_at != recent->offsets_at;
}
