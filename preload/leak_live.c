/* leak_live.c: the blocks still allocated, folded from the trace file as it grows.
 *
 * The recorder keeps no set of live blocks: that would cost every malloc and free a
 * shared hash update. The trace holds every event, so the set is folded from it instead,
 * a round at a time, by the leak thread (leak_thread.c) while the program runs: each
 * round reads, with pread(2) on the descriptor trace_file.c keeps, the records every
 * chunk has committed since the last round, and applies them to a table keyed by
 * address. At a check only what was committed since the last round is left to fold, so
 * a check costs what the live heap costs, not what the trace does; and nothing of the
 * trace is mapped or kept, so the host's memory does not grow with it.
 *
 * Order. Chunks are read in file order, threads interleaved, so the result must not
 * depend on order: the table (leak_table.c) keeps per address the event with the latest
 * time, a release at equal times. A realloc releases old_addr at its time before and
 * creates addr at its time after.
 *
 * Pruning. A released address is kept only while an older allocation of it may still
 * be unfolded. An allocation is committed before its block is returned to the program,
 * so before any release of that block is even recorded. A round reads every chunk's
 * committed length in turn; whatever was committed before a round starts is folded by
 * its end. So a release folded in round k-1 was committed before round k began, its
 * allocation too, and at the end of round k no older allocation of that address can
 * come: the release may be dropped (pruned), which the table does lazily (it knows the
 * rounds: mp_leak_table_round_begin and _end). (Releases used to be logged in each round
 * and looked up again a round later to be marked: 16 bytes each in fresh memory and a
 * second miss in the table; python3's dict folded at 30-31 ns an event instead of 34-41,
 * bench/fold_bench.c.) With holding (below) an allocation may reach the table a round
 * after the one that read it, so a release waits one round more: the table is told so
 * (mp_leak_table_round_end's `behind`) at the end of each round that held any.
 *
 * Cost. Every record is decoded and most cancel out before the table: the fold decodes
 * the malloc, free and realloc records itself, keeping the fields it needs, and each
 * allocation goes into a batch of one thread's operations with an index by address, where
 * the release of the same block, found as it is decoded, cancels it (most blocks live
 * briefly). The chunks are kept in order of thread, then sequence, so that a round folds
 * a thread's chunks one after the other into one batch: a block allocated at the end of
 * one chunk and freed in the next cancels out too (alloc_bench's blocks, freed 2048
 * records after their allocation, sent 131071 operations to the table when each chunk
 * had a batch of its own, 108567 in one). A full batch drops its cancelled pairs and goes
 * on pairing (57367); it is applied to the table only when half of it is left, and at the
 * end of the thread's records for the round. What reaches the table may miss the cache
 * once the heap is large, so slots are prefetched a few operations ahead; the table keeps
 * blocks in address order within each region of heap, so that a heap freed in the order
 * it was built walks its lines in order (leak_table.c).
 *
 * Holding. A round's end used to send every thread's allocations still unpaired to the
 * table, and their frees in the next round after them: alloc_bench's last thousand
 * blocks per thread each round, 211221 table operations for 1.2M events. Instead, at the
 * end of a thread's records in a leak thread's round, its newest unpaired allocations
 * (LIVE_HOLD for all threads together) are held over, and go first into its batch in the
 * next round, where its frees cancel them: 5 table operations, 16.7 -> 11.7 ns an event
 * (bench/fold_bench.c). An allocation is held once: if the next round does not pair it,
 * it is applied then, as are those of a thread with no records in that round, and a
 * check's round (MP_LEAK_FOLD_KEEP) holds nothing and applies everything held. Where
 * held blocks stay (a heap being built) holding is a copy for nothing, so each thread
 * may hold at most twice what its frees took of those it held last time, or half as
 * many as then, never fewer than LIVE_HOLD_LEAST.
 *
 * Chunks. A chunk is open while its thread may still commit into it. It is complete
 * once the thread marked it last (MP_CHUNK_LAST) or a later chunk of the same thread
 * appeared; it is folded one more round after that, then forgotten. A chunk header not
 * written yet ends the walk for the round, unless a valid one follows (its writer failed
 * between growing the file and writing it); one that does not validate otherwise is
 * stepped over a page at a time, as the analyzer's reader does. The file is checked to
 * be this process's trace at every round (its pid and start time).
 *
 * Fork. A fork child's trace holds none of the blocks it inherited, but its checks must
 * reach through them (a prefork server's worker adds its blocks to its parent's tables),
 * so the child keeps the live set it was copied with. A copy taken in the middle of a
 * round could not be trusted: a fork's prepare handler stops rounds from starting (a
 * round and the fork see each other's flag, sequentially consistent) and waits, up to
 * LIVE_FORK_WAIT_STEPS, for one under way. What the parent committed after its last
 * round is folded by the child at its first round, from the parent's file, up to the
 * time the prepare handler read: the parent's events before the fork have earlier
 * times, those after it later ones (the forking thread reads the clock at its next
 * event). Then the child's own file. If anything fails the child starts afresh and its
 * trace says its checks cannot see the inherited blocks (MP_TRACE_FORK_CHILD).
 *
 * Memory: the table (leak_table.c: 26 to 48 bytes per live block), the open chunks and
 * one read buffer with the batch, its index and the held allocations (1.3 MiB), all from
 * mp_sys_map_anon; the table is bounded by MEMPROF_LEAK_CHECK_MAX_MB.
 * Not thread-safe: one thread at a time (leak_thread.c serializes).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "leak_scan.h"
#include "leak_table.h"
#include "memprof/trace_decode.h"

#define LIVE_RELEASED (1ull << 63) /* in op.size: the event releases the address */
/* Operations of one thread held for pairing, then applied. 16384: on alloc_bench's trace
 * (1024 blocks live per thread, each freed 2048 records after its allocation) a batch of
 * 8192 sent a quarter of its allocations to the table; folded in 5 ms rounds, 219759 ->
 * 144331 table operations, 14.0-14.2 -> 12.7 ns an event (bench/fold_bench.c); sqlite3
 * and python3 the same or a little faster. 32768 was no better on alloc_bench and 5-10%
 * slower on python3: the index no longer fits the core's cache. Since a full batch is
 * compacted rather than applied (live_batch_full), 8192 and 4096 were tried again: 8192
 * as fast on sqlite3 and cc1, 5% slower on alloc_bench and python3; 4096 sent 32% more
 * operations to the table on alloc_bench. (Figures before that: one batch a chunk.) */
#define LIVE_BATCH 16384u
#define LIVE_PAIR_BITS 15
#define LIVE_PAIR_SLOTS (1u << LIVE_PAIR_BITS) /* the batch's allocations by address (twice
						  the batch) */
#define LIVE_PAIR_GONE (LIVE_BATCH + 1u) /* in batch.pairs, over the stamp: a pair that
					    cancelled out */
#define LIVE_PREFETCH 12u /* how far ahead the fold prefetches the table: about the misses
			     a core keeps in flight */
#define LIVE_READ_BYTES (256u * 1024u)
/* Allocations a round holds over to the next (see Holding), all threads together, and the
 * threads that may hold some. */
#define LIVE_HOLD 8192u
#define LIVE_HOLD_RUNS 256u
#define LIVE_HELD (1ull << 62) /* in op.size: an allocation held over once already */
#define LIVE_HOLD_LEAST 64u   /* a thread's limit never goes below */
/* The read buffer, then the batch, then the batch's index of allocations by address, then
 * the held allocations: those of the last round, and those this round holds. */
#define LIVE_BUFFER_BYTES \
	(LIVE_READ_BYTES + LIVE_BATCH * 24u + LIVE_PAIR_SLOTS * 8u + 2u * LIVE_HOLD * 24u)
#define LIVE_FIRST_CHUNKS 64u
#define LIVE_CHUNK_FORGET 3u /* chunk.complete: folded twice since it was found complete */
#define LIVE_LOOKAHEAD_PAGES 512u
#define LIVE_PAST_UNTIL (-2) /* a decoder's: the record is after live.until_ns */
#define LIVE_FORK_WAIT_STEPS 2000 /* a fork waits for a round at most 100 ms */
#define LIVE_FORK_WAIT_STEP_NS 50000
/* A chunk that may still hold records not folded. */
struct live_chunk {
	uint64_t offset;       /* in the file */
	uint32_t capacity;
	uint32_t serial, seq;
	uint32_t done;         /* bytes from the chunk's start folded (records end there) */
	uint32_t complete;     /* 0: open; then rounds folded since it was found complete */
	struct mp_decode_state decode;
};

static struct {
	int failed;              /* -ENOMEM or -E2BIG: the table or the chunks could not grow */
	struct live_chunk *chunks;
	size_t chunk_count, chunk_cap;
	uint64_t walk;           /* file offset of the next chunk header to look at */
	uint32_t page;
	uint8_t *buffer;         /* LIVE_READ_BYTES */
	uint64_t start_ns;       /* the trace's start time, which names it; 0 before a round */
	uint64_t *progress;      /* bumped at every batch: a waiter's sign of life */
	uint64_t rounds, events;
	uint64_t table_ops;      /* operations that reached the table (not paired) */
	int in_round;            /* a fold is changing the table (see Fork) */
	uint64_t until_ns;       /* folding a parent's file: its events up to here; 0: all */
	int past_until;          /* a record after until_ns ended the chunk being read */
} live;

/* Fork (see the top): what a child still has to fold of its parent's file. */
static struct {
	int pending;
	uint32_t pid;            /* the parent's, whose header the file must carry */
	uint64_t until_ns;       /* the fork: the parent's events up to here are the child's past */
	uint64_t file_end;       /* the end of the parent's chunks then: later ones are not read */
	char path[4096];
} inherit;
/* Set by a fork's prepare handler until the fork is over: no round may start. */
static int fork_pending;
/* Set once the process is ending (mp_leak_live_exit_coming). */
static int exit_coming;

/* An operation waiting to be applied (live_flush): an allocation, or a release with
 * LIVE_RELEASED for its size. After the read buffer, in memory of ours (in the library's
 * own data they would be roots: block addresses). */
struct live_op {
	uint64_t addr; /* 0: cancelled out by its release within the batch */
	uint64_t size; /* | LIVE_RELEASED */
	uint64_t time;
};
_Static_assert(sizeof(struct live_op) == 24, "LIVE_BUFFER_BYTES counts 24 bytes an operation");

/* One chunk's operations, paired as they are decoded. The index holds, by address, the
 * batch's allocations not released yet, as stamp + 1 + their place in ops: an entry at
 * or below the stamp is empty, so moving the stamp past every entry empties the index at
 * a flush without clearing it (clearing cost more than pairing a small round's batch).
 * Each entry also holds bits of its address, so that a probe seldom reads the operation:
 * that second load, in another 200 KiB, was the pairing's cost. */
struct live_pair {
	uint32_t key;   /* live_pair_key of the address */
	uint32_t entry;
};

static struct {
	struct live_op *ops;     /* LIVE_BATCH */
	struct live_pair *pairs; /* LIVE_PAIR_SLOTS */
	uint32_t count;
	uint32_t stamp;
	int pairs_written;       /* the index's pages are the process's (live_pairs_write_for) */
} batch;

/* The allocations a thread's records left unreleased at the end of a round, held over
 * (see Holding): a run per thread, in the order of the threads' serials. */
struct live_hold_run {
	uint32_t serial, start, count;
	uint32_t limit; /* how many the thread may hold at the round's end */
};
struct live_holds {
	struct live_op *ops; /* LIVE_HOLD */
	struct live_hold_run runs[LIVE_HOLD_RUNS];
	uint32_t used, run_count;
};
static struct {
	struct live_holds sets[2];
	unsigned last;      /* sets[last]: the last round's, loaded or applied in this one */
	uint32_t next_run;  /* the last round's first run not loaded or applied yet */
	/* The thread whose records are being folded: its limit, how many allocations it
	 * held over, and how many of them reached the table (no release took them). */
	uint32_t limit, loaded, unpaired;
} hold;

static size_t live_round_up(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}
/* Grows an array of `size`-byte items from mp_sys_map_anon to hold `need`. */
static int live_grow_array(void **items, size_t *cap, size_t need, size_t size, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t grown = *cap ? *cap * 2 : first;
	while (grown < need)
		grown *= 2;
	void *bigger = mp_sys_map_anon(live_round_up(grown * size));
	if (!bigger)
		return -ENOMEM;
	if (*items) {
		memcpy(bigger, *items, *cap * size);
		mp_sys_unmap(*items, live_round_up(*cap * size));
	}
	*items = bigger;
	*cap = grown;
	return 0;
}

/* Empties the pairing index: the stamp moves past every entry it may hold. */
static void live_pair_reset(void)
{
	if (batch.stamp > UINT32_MAX - 2 * LIVE_PAIR_GONE) {
		memset(batch.pairs, 0, LIVE_PAIR_SLOTS * sizeof(*batch.pairs));
		batch.stamp = 0;
	} else {
		batch.stamp += LIVE_PAIR_GONE;
	}
}

/* Applies ops[0..count) to the table. The table is far larger than the cache once the
 * heap is: each operation misses it, so the slots are prefetched LIVE_PREFETCH operations
 * ahead and the misses overlap. */
static void live_apply(const struct live_op *ops, size_t count)
{
	live.table_ops += count;
	for (size_t i = 0; i < count && i < LIVE_PREFETCH; i++)
		mp_leak_table_prefetch(ops[i].addr);
	for (size_t i = 0; i < count && !live.failed; i++) {
		if (i + LIVE_PREFETCH < count)
			mp_leak_table_prefetch(ops[i + LIVE_PREFETCH].addr);
		hold.unpaired += (ops[i].size & LIVE_HELD) != 0;
		live.failed = mp_leak_table_apply(ops[i].addr,
						  ops[i].size & ~(LIVE_RELEASED | LIVE_HELD),
						  ops[i].time, (ops[i].size & LIVE_RELEASED) != 0);
	}
}

/* Drops the batch's operations that a release within it cancelled; how many are left. */
static size_t live_compact(void)
{
	size_t count = 0;
	for (size_t i = 0; i < batch.count; i++)
		if (batch.ops[i].addr)
			batch.ops[count++] = batch.ops[i];
	return count;
}

/* What the thread whose records end may hold over at its next round's end: twice what
 * its releases took of those it held over this round, or half its limit if more (a
 * round may end soon after the thread's last one). */
static uint32_t live_hold_limit(void)
{
	uint32_t paired = hold.loaded - (hold.unpaired < hold.loaded ? hold.unpaired : hold.loaded);
	uint32_t limit = paired * 2 > hold.limit / 2 ? paired * 2 : hold.limit / 2;
	return limit < LIVE_HOLD_LEAST ? LIVE_HOLD_LEAST : limit < LIVE_HOLD ? limit : LIVE_HOLD;
}

/* Moves to `to` the newest of the batch's allocations not held over before, as many as
 * it has room for, as the run of thread `serial`; returns how many operations are left
 * in the batch (compacted). */
static size_t live_hold_newest(struct live_holds *to, uint32_t serial, size_t count)
{
	if (to->run_count == LIVE_HOLD_RUNS)
		return count;
	uint32_t room = LIVE_HOLD - to->used, held = 0;
	if (room > hold.limit)
		room = hold.limit;
	struct live_op *ops = to->ops + to->used;
	size_t left = count;
	/* From the newest back: the held ones leave holes, filled as the rest move down. */
	for (size_t i = count; i-- > 0 && held < room;) {
		if (batch.ops[i].size & (LIVE_RELEASED | LIVE_HELD))
			continue;
		ops[held++] = batch.ops[i];
		batch.ops[i].addr = 0;
	}
	to->runs[to->run_count++] = (struct live_hold_run){ serial, to->used, held, hold.limit };
	to->used += held;
	if (held) {
		batch.count = (uint32_t)count;
		left = live_compact();
	}
	return left;
}

/* Applies the batch's operations that no release within it cancelled, but for the
 * allocations thread `serial` holds over (with `holds` set and room for them). */
static void live_flush_holding(int holds, uint32_t serial)
{
	if (!batch.count)
		return;
	if (live.progress)
		__atomic_add_fetch(live.progress, 1, __ATOMIC_RELAXED);
	size_t count = live_compact();
	struct live_holds *to = &hold.sets[!hold.last];
	uint32_t runs = to->run_count;
	if (holds)
		count = live_hold_newest(to, serial, count);
	live_apply(batch.ops, count);
	batch.count = 0;
	live_pair_reset();
	if (to->run_count > runs)
		to->runs[runs].limit = live_hold_limit();
}

static void live_flush(void)
{
	live_flush_holding(0, 0);
}

/* The pairing index's slot for addr: each 512 bytes of heap have a window of 32 slots, one
 * per 16-byte granule, so that the blocks of a piece of heap share the index's lines, the
 * windows spread by a multiplication's top bits (Fibonacci hashing, enough for the
 * addresses of one batch). */
#define LIVE_WINDOW_SHIFT 9
#define LIVE_WINDOW_BITS 5
static inline uint32_t live_pair_home(uint64_t addr)
{
	uint32_t window = (uint32_t)(((addr >> LIVE_WINDOW_SHIFT) * 0x9e3779b97f4a7c15ull) >>
				     (64 - LIVE_PAIR_BITS + LIVE_WINDOW_BITS));
	return window << LIVE_WINDOW_BITS | (uint32_t)(addr >> 4 & ((1u << LIVE_WINDOW_BITS) - 1));
}

/* Blocks are 16-byte aligned: bits 4 to 35, equal only for addresses 64 GiB apart. */
static inline uint32_t live_pair_key(uint64_t addr)
{
	return (uint32_t)(addr >> 4);
}

/* The index slot of the batch's unreleased allocation of addr, or the empty slot that
 * ends the probe for it; *reuse: the first cancelled pair's slot on the way, if any. */
static inline uint32_t live_pair_find(uint64_t addr, uint32_t *reuse)
{
	uint32_t gone = batch.stamp + LIVE_PAIR_GONE, key = live_pair_key(addr);
	for (uint32_t at = live_pair_home(addr);; at = (at + 1) & (LIVE_PAIR_SLOTS - 1)) {
		struct live_pair pair = batch.pairs[at];
		if (pair.entry <= batch.stamp)
			return at;
		if (pair.entry == gone)
			*reuse = *reuse == UINT32_MAX ? at : *reuse;
		else if (pair.key == key && batch.ops[pair.entry - batch.stamp - 1].addr == addr)
			return at;
	}
}

/* A full batch: most of its operations may be pairs that cancelled out. Those are
 * dropped and the index rebuilt over what is left, so that the pairing goes on; only a
 * batch mostly left after that is applied to the table. */
static void live_batch_full(void)
{
	size_t count = live_compact();
	if (count > LIVE_BATCH / 2) {
		batch.count = (uint32_t)count;
		live_flush();
		return;
	}
	live_pair_reset();
	batch.count = (uint32_t)count;
	for (uint32_t i = 0; i < batch.count; i++) {
		if (batch.ops[i].size & LIVE_RELEASED)
			continue;
		uint32_t reuse = UINT32_MAX, at = live_pair_find(batch.ops[i].addr, &reuse);
		batch.pairs[at] = (struct live_pair){ live_pair_key(batch.ops[i].addr),
						      batch.stamp + 1 + i };
	}
}

/* Adds an allocation to the batch, where a release of the same thread may cancel it.
 * The index stays at most half full: it holds allocations and cancelled pairs, each an
 * operation of the batch. */
static inline void live_push_alloc(uint64_t addr, uint64_t size, uint64_t time)
{
	if (!addr)
		return;
	if (batch.count == LIVE_BATCH)
		live_batch_full();
	uint32_t reuse = UINT32_MAX, at = live_pair_find(addr, &reuse);
	/* An address allocated again and again (the allocator hands the same block back)
	 * reuses the slot its last pair left. */
	if (batch.pairs[at].entry <= batch.stamp && reuse != UINT32_MAX)
		at = reuse;
	batch.pairs[at] = (struct live_pair){ live_pair_key(addr), batch.stamp + 1 + batch.count };
	batch.ops[batch.count++] = (struct live_op){ addr, size, time };
}

/* Adds a release, or cancels it with the batch's allocation of the address: a block
 * allocated and freed within the records of one thread, in order. Their net effect would
 * be a release of the address at the free's time, which only decides against an older
 * allocation still unfolded, whose own release is unfolded too and decides on its own.
 * Most blocks live briefly: this spares the table most of its misses. */
static inline void live_push_release(uint64_t addr, uint64_t time)
{
	if (!addr)
		return;
	uint32_t reuse = UINT32_MAX, at = live_pair_find(addr, &reuse);
	uint32_t entry = batch.pairs[at].entry;
	if (entry > batch.stamp) {
		batch.ops[entry - batch.stamp - 1].addr = 0;
		/* Probes go on past a cancelled pair, unless it ends their run anyway. */
		uint32_t next = batch.pairs[(at + 1) & (LIVE_PAIR_SLOTS - 1)].entry;
		batch.pairs[at].entry = next <= batch.stamp ? 0 : batch.stamp + LIVE_PAIR_GONE;
		return;
	}
	if (batch.count == LIVE_BATCH)
		live_batch_full();
	batch.ops[batch.count++] = (struct live_op){ addr, LIVE_RELEASED, time };
}

static void live_push_realloc(uint64_t old_addr, uint64_t addr, uint64_t size,
			      uint64_t time_before, uint64_t time)
{
	live_push_release(old_addr, time_before);
	/* In place: the new block wins over the release of the same record. */
	live_push_alloc(addr, size, time > time_before || addr != old_addr ? time : time + 1);
}

/* The events the fold needs, as the decoder has them (mp_decode_event). */
static void live_event(const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
		live_push_alloc(event->addr, event->size, event->time_ns);
		break;
	case MP_REC_FREE:
		live_push_release(event->addr, event->time_ns);
		break;
	case MP_REC_REALLOC:
		live_push_realloc(event->old_addr, event->addr, event->size, event->time_before_ns,
				  event->time_ns);
		break;
	default:
		break;
	}
}

/* The fold's own decoding of the three events it meets most, where the whole record is
 * readable (so no field needs a bounds check): only the fields the fold needs are kept,
 * and each goes straight to the batch. mp_decode_event filled 15 fields of an event for
 * the fold to read three: this took about a third of the instructions of folding a
 * record. Fields are decoded and checked exactly as mp_decode_event does; the stack is
 * checked and dropped. 0, or -1 if the record does not decode (state untouched). */
static int live_decode_alloc(const uint8_t **at, struct mp_decode_state *state)
{
	uint64_t addr, size, stack, dt;
	if (mp_decode_u_room(at, &addr) || mp_decode_u_room(at, &size) ||
	    mp_decode_u_room(at, &stack) || mp_decode_u_room(at, &dt))
		return -1;
	state->prev_addr += (uint64_t)mp_unzigzag(addr);
	state->prev_time += dt;
	live_push_alloc(state->prev_addr, size, state->prev_time);
	return 0;
}

static int live_decode_free(const uint8_t **at, struct mp_decode_state *state)
{
	uint64_t addr, dt;
	if (mp_decode_u_room(at, &addr) || mp_decode_u_room(at, &dt))
		return -1;
	state->prev_addr += (uint64_t)mp_unzigzag(addr);
	state->prev_time += dt;
	live_push_release(state->prev_addr, state->prev_time);
	return 0;
}

static int live_decode_realloc(const uint8_t **at, struct mp_decode_state *state)
{
	uint64_t old, addr, size, stack, dt_before, dt;
	if (mp_decode_u_room(at, &old) || mp_decode_u_room(at, &addr) ||
	    mp_decode_u_room(at, &size) || mp_decode_u_room(at, &stack) ||
	    mp_decode_u_room(at, &dt_before) || mp_decode_u_room(at, &dt))
		return -1;
	old = state->prev_addr + (uint64_t)mp_unzigzag(old);
	state->prev_addr = old + (uint64_t)mp_unzigzag(addr);
	uint64_t time_before = state->prev_time + dt_before;
	state->prev_time = time_before + dt;
	live_push_realloc(old, state->prev_addr, size, time_before, state->prev_time);
	return 0;
}

/* Decodes event `tag` (already consumed) at *at into the batch: 0, or -1 if it does not
 * decode (*at and state untouched). */
static int live_decode_event(const uint8_t **at, const uint8_t *end, unsigned tag,
			     struct mp_decode_state *state)
{
	int lean = tag == MP_REC_FREE || tag == MP_REC_REALLOC ||
		   (tag >= MP_REC_MALLOC && tag <= MP_REC_PVALLOC);
	if (lean && end - *at >= (ptrdiff_t)MP_EVENT_RECORD_MAX) {
		const uint8_t *p = *at;
		int err = tag == MP_REC_FREE	    ? live_decode_free(&p, state)
			  : tag == MP_REC_REALLOC ? live_decode_realloc(&p, state)
						  : live_decode_alloc(&p, state);
		if (err == 0)
			*at = p;
		return err;
	}
	/* A copy: the state's address, given to a function that is not inlined, would keep
	 * it in memory on the lean paths too, a load and a store of it per event. */
	struct mp_raw_event raw;
	struct mp_decode_state copy = *state;
	if (mp_decode_event(at, end, tag, &copy, &raw) < 0)
		return -1;
	*state = copy;
	live_event(&raw.event);
	return 0;
}

/* live_decode_event for a parent's file (see Fork): LIVE_PAST_UNTIL, with nothing pushed,
 * for an event after live.until_ns. Apart, so that the common fold pays nothing for it:
 * the checks in the lean decoders cost 2.8% of folding alloc_bench's trace. */
static int live_decode_until(const uint8_t **at, const uint8_t *end, unsigned tag,
			     struct mp_decode_state *state)
{
	struct mp_raw_event raw;
	if (mp_decode_event(at, end, tag, state, &raw) < 0)
		return -1;
	/* A realloc's call began at time_before_ns (the others': time_ns). */
	if (raw.event.time_before_ns > live.until_ns)
		return LIVE_PAST_UNTIL;
	live_event(&raw.event);
	return 0;
}

/* The first chunk of thread `serial` in this round: the allocations the last round held
 * over for threads before it, which have no records this round, are applied; its own go
 * into the batch first, where its releases find them. */
static void live_hold_load(uint32_t serial)
{
	struct live_holds *from = &hold.sets[hold.last];
	hold.limit = LIVE_HOLD; /* none held: hold what there is room for */
	hold.loaded = 0;
	hold.unpaired = 0;
	for (; hold.next_run < from->run_count; hold.next_run++) {
		const struct live_hold_run *run = &from->runs[hold.next_run];
		if (run->serial > serial)
			return;
		const struct live_op *ops = from->ops + run->start;
		if (run->serial < serial) {
			live_apply(ops, run->count);
			continue;
		}
		hold.limit = run->limit;
		hold.loaded = run->count;
		for (uint32_t i = 0; i < run->count; i++)
			live_push_alloc(ops[i].addr, ops[i].size | LIVE_HELD, ops[i].time);
	}
}

/* The round's end: what the last round held over and no thread's records took is
 * applied, and what this round held becomes the last round's. */
static void live_hold_finish(void)
{
	struct live_holds *from = &hold.sets[hold.last];
	for (; hold.next_run < from->run_count; hold.next_run++)
		live_apply(from->ops + from->runs[hold.next_run].start,
			   from->runs[hold.next_run].count);
	from->used = 0;
	from->run_count = 0;
	hold.next_run = 0;
	hold.last = !hold.last;
}

/* Allocations held over now, which the table does not hold yet. */
static uint64_t live_held(void)
{
	return hold.sets[hold.last].used;
}

/* Whether the table's sweep should stop: the process is ending, or forking (both wait
 * for the round). */
static int live_gives_way(void)
{
	return __atomic_load_n(&exit_coming, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&fork_pending, __ATOMIC_RELAXED);
}

/* The pairing index is probed before it is written: a probe's first read of a fresh
 * page maps the shared zero page, and the write after it then has to unmap that page
 * from every CPU (see mp_sys_map_anon_populated). So its pages are written first, once,
 * before the first read that holds an event, not when the buffer is mapped: a short
 * program's checks may fold no allocation at all, and writing them cost /bin/true 64 of
 * the 82 page faults its leak check added. (Asked here, once a read, not as each
 * operation is pushed: that test cost the fold 3 instructions an event.) */
static void live_pairs_write_for(const uint8_t *at, size_t len)
{
	const uint8_t *end = at + len;
	while (at < end) {
		unsigned tag = *at++;
		uint64_t body;
		if (tag < MP_REC_EXTENDED) {
			mp_sys_prefault(batch.pairs, LIVE_PAIR_SLOTS * sizeof(*batch.pairs));
			batch.pairs_written = 1;
			return;
		}
		if (mp_get_u(&at, end, &body) || body > (uint64_t)(end - at))
			return; /* the next read will tell */
		at += body;
	}
}

/* Folds the records of buf[0..len), which starts at a record boundary of `chunk`;
 * returns the bytes consumed (up to the last whole record), or -1 on a record that
 * cannot decode although it lies whole in the buffer. `whole`: buf ends at `used`. */
static long live_records(struct live_chunk *chunk, const uint8_t *buf, size_t len, int whole,
			 uint64_t *skip)
{
	if (MP_UNLIKELY(!batch.pairs_written))
		live_pairs_write_for(buf, len);
	const uint8_t *at = buf, *end = buf + len;
	/* In locals: the batch's stores could alias the chunk's. */
	struct mp_decode_state state = chunk->decode;
	uint64_t events = 0;
	const int until = live.until_ns != 0;
	while (at < end) {
		const uint8_t *record = at;
		unsigned tag = *at++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t body;
			if (mp_get_u(&at, end, &body)) {
				at = record;
				break;
			}
			if (body > (uint64_t)(end - at)) {
				*skip = body - (uint64_t)(end - at); /* the body goes on past buf */
				at = end; /* the decode state is kept below, as on every way out */
				break;
			}
			at += body;
		} else if (MP_UNLIKELY(until)) {
			int decoded = live_decode_until(&at, end, tag, &state);
			if (decoded == 0) {
				events++;
				continue;
			}
			live.past_until = decoded == LIVE_PAST_UNTIL;
			at = record;
			break;
		} else if (live_decode_event(&at, end, tag, &state) == 0) {
			events++;
		} else {
			at = record;
			break;
		}
	}
	chunk->decode = state;
	live.events += events;
	if (at == buf && at < end && (whole || len == LIVE_READ_BYTES))
		return -1;
	return at - buf;
}

static long live_pread(int fd, void *buf, size_t len, uint64_t offset)
{
	long got;
	do
		got = syscall(SYS_pread64, fd, buf, len, (off_t)offset);
	while (got < 0 && errno == EINTR);
	return got;
}

static int live_read_header(int fd, uint64_t offset, struct mp_chunk_header *header)
{
	return live_pread(fd, header, sizeof(*header), offset) == (long)sizeof(*header) ? 0 : -1;
}

/* Decodes what `chunk` committed since the last round into the batch; returns 1 if that
 * was all of its records (it is complete and folded to its end), 0 otherwise. */
static int live_read_chunk(int fd, struct live_chunk *chunk)
{
	struct mp_chunk_header header;
	if (live_read_header(fd, chunk->offset, &header) < 0 ||
	    !mp_chunk_header_valid(&header, live.page)) {
		chunk->complete = LIVE_CHUNK_FORGET; /* gone or overwritten */
		return 0;
	}
	if ((header.flags & MP_CHUNK_LAST) && !chunk->complete)
		chunk->complete = 1;
	while (chunk->done < header.used && !live.failed) {
		size_t want = header.used - chunk->done;
		if (want > LIVE_READ_BYTES)
			want = LIVE_READ_BYTES;
		long got = live_pread(fd, live.buffer, want, chunk->offset + chunk->done);
		if (got <= 0)
			return 0;
		uint64_t skip = 0;
		long used = live_records(chunk, live.buffer, (size_t)got,
					 chunk->done + (uint64_t)got == header.used, &skip);
		if (live.past_until) {
			/* The rest is the parent's after the fork: not the child's past. */
			live.past_until = 0;
			chunk->complete = LIVE_CHUNK_FORGET;
			return 0;
		}
		if (used < 0) {
			chunk->complete = LIVE_CHUNK_FORGET; /* corrupt: the rest is not trusted */
			return 0;
		}
		if (used == 0)
			return 0; /* a record straddles what the writer committed: next round */
		chunk->done += (uint32_t)used;
		if (skip) {
			if (chunk->done + skip > header.used)
				return 0; /* cannot happen: committed records are whole */
			chunk->done += (uint32_t)skip;
		}
	}
	return chunk->complete && chunk->done == header.used && !live.failed;
}

/* Marks the open chunk of `serial` older than seq complete. */
static void live_supersede(uint32_t serial, uint32_t seq)
{
	for (size_t i = 0; i < live.chunk_count; i++)
		if (live.chunks[i].serial == serial && live.chunks[i].seq < seq &&
		    !live.chunks[i].complete)
			live.chunks[i].complete = 1;
}

/* A header not written yet: the writer grows the file, then fills the header, `used`
 * last. */
static int live_header_unwritten(const struct mp_chunk_header *header)
{
	return header->used == 0 || header->capacity == 0;
}

/* Past an unwritten header: the offset of the next valid one within LIVE_LOOKAHEAD_PAGES,
 * or 0. Chunks are added one at a time at the end of the file, so a valid header after
 * an unwritten one means that one never will be (its writer failed in between). */
static uint64_t live_lookahead(int fd, uint64_t file_size)
{
	struct mp_chunk_header header;
	for (uint64_t at = live.walk + live.page, pages = 0;
	     at + sizeof(header) <= file_size && pages < LIVE_LOOKAHEAD_PAGES;
	     at += live.page, pages++)
		if (live_read_header(fd, at, &header) == 0 &&
		    mp_chunk_header_valid(&header, live.page))
			return at;
	return 0;
}

/* Whether chunk comes after (serial, seq) in the order of the chunks. */
static int live_chunk_after(const struct live_chunk *chunk, uint32_t serial, uint32_t seq)
{
	return chunk->serial > serial || (chunk->serial == serial && chunk->seq > seq);
}

static int live_add_chunk(uint64_t offset, const struct mp_chunk_header *header)
{
	if (live_grow_array((void **)&live.chunks, &live.chunk_cap, live.chunk_count + 1,
			    sizeof(*live.chunks), LIVE_FIRST_CHUNKS) < 0)
		return -ENOMEM;
	live_supersede(header->thread_serial, header->chunk_seq);
	/* Kept in order of thread, then sequence: see the round in mp_leak_live_fold. */
	size_t at = live.chunk_count;
	while (at > 0 && live_chunk_after(&live.chunks[at - 1], header->thread_serial,
					  header->chunk_seq))
		at--;
	memmove(&live.chunks[at + 1], &live.chunks[at],
		(live.chunk_count - at) * sizeof(*live.chunks));
	live.chunk_count++;
	live.chunks[at] = (struct live_chunk){
		.offset = offset, .capacity = header->capacity,
		.serial = header->thread_serial, .seq = header->chunk_seq,
		.done = (uint32_t)sizeof(*header),
		.decode = { 0, header->base_time_ns },
	};
	return 0;
}

/* Finds the chunks written since the last round. */
static void live_discover(int fd, uint64_t file_size)
{
	struct mp_chunk_header header;
	while (live.walk + sizeof(header) <= file_size && !live.failed) {
		if (live_read_header(fd, live.walk, &header) < 0)
			return;
		if (live_header_unwritten(&header)) {
			uint64_t next = live_lookahead(fd, file_size);
			if (!next)
				return; /* being written: next round */
			live.walk = next;
			continue;
		}
		if (!mp_chunk_header_valid(&header, live.page) ||
		    header.capacity > file_size - live.walk) {
			/* At the end of what is written, a header that does not validate may be
			 * one another thread is writing, read half done: wait for the next round
			 * unless a valid header follows (then this one never will be). */
			uint64_t next = live_lookahead(fd, file_size);
			if (!next)
				return;
			live.walk = next;
			continue;
		}
		if (!(header.flags & MP_CHUNK_SAMPLED_SET) && live_add_chunk(live.walk, &header) < 0) {
			live.failed = -ENOMEM;
			return;
		}
		live.walk += header.capacity;
	}
}

/* Whether the file at fd is this process's trace (the path may have been replaced since
 * it was created): the first round notes its start time, later ones compare. */
static int live_file_is_ours(int fd, uint32_t pid)
{
	struct mp_file_header header;
	if (live_pread(fd, &header, sizeof(header), 0) != (long)sizeof(header) ||
	    memcmp(header.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN) != 0 || header.pid != pid)
		return 0;
	if (!live.start_ns) {
		live.start_ns = header.start_monotonic_ns;
		live.page = header.page_size ? header.page_size : 4096;
		live.walk = header.header_size;
	}
	return header.start_monotonic_ns == live.start_ns;
}

static int live_fold_file(const char *path, uint32_t pid, enum mp_leak_fold_mode mode);

/* The file at path, read-only, or -errno. This process's own trace is read through the
 * descriptor trace_file.c keeps: a program that had taken every descriptor it may have
 * (EMFILE) left the rounds unable to open the file, and a check then failed. */
static int live_open(const char *path, int *own)
{
	*own = path == mp_trace_file_path() ? mp_trace_file_fd() : -1;
	if (*own >= 0)
		return *own;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void live_close(int fd, int own)
{
	if (fd != own)
		syscall(SYS_close, fd);
}

/* A fork child's first fold: the rest of its parent's file, up to the fork, into the live
 * set the child inherited, then the child's own file from its start. On failure the
 * inherited set is dropped and the trace says the check cannot see inherited blocks. */
static void live_fold_inherited(void)
{
	inherit.pending = 0;
	live.until_ns = inherit.until_ns;
	int err = live_fold_file(inherit.path, inherit.pid, MP_LEAK_FOLD_KEEP);
	live.until_ns = 0;
	live.chunk_count = 0; /* the parent's chunks: never read again */
	live.start_ns = 0;    /* the next file to fold is the child's own (its walk too) */
	if (err < 0) {
		mp_leak_live_reset(); /* keeps the waiters' progress counter */
		mp_trace_file_add_flags(MP_TRACE_FORK_CHILD);
	}
}

int mp_leak_live_fold(const char *path, enum mp_leak_fold_mode mode)
{
	/* Dekker with mp_leak_live_fork_prepare: either this sees the fork coming and does
	 * not start, or the fork waits for the round to end (see Fork). */
	__atomic_store_n(&live.in_round, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&live.in_round, 0, __ATOMIC_RELEASE);
		return 0;
	}
	if (inherit.pending)
		live_fold_inherited();
	int folded = live_fold_file(path, (uint32_t)getpid(), mode);
	__atomic_store_n(&live.in_round, 0, __ATOMIC_RELEASE);
	return folded;
}

static int live_fold_file(const char *path, uint32_t pid, enum mp_leak_fold_mode mode)
{
	if (!live.buffer) {
		live.buffer = mp_sys_map_anon(LIVE_BUFFER_BYTES);
		if (!live.buffer)
			return -ENOMEM;
		batch.ops = (struct live_op *)(live.buffer + LIVE_READ_BYTES);
		batch.pairs = (struct live_pair *)(batch.ops + LIVE_BATCH);
		hold.sets[0].ops = (struct live_op *)(batch.pairs + LIVE_PAIR_SLOTS);
		hold.sets[1].ops = hold.sets[0].ops + LIVE_HOLD;
		/* The read buffer and the operations are written before they are read, and a
		 * short program's fold never writes most of them; the index, see
		 * live_pairs_write_for. */
		batch.pairs_written = 0;
		batch.count = 0;
		batch.stamp = 0;
	}
	if (live.failed)
		return live.failed;
	int own, fd = live_open(path, &own);
	if (fd < 0)
		return fd;
	struct stat st;
	uint64_t before = live.events;
	if (!live_file_is_ours(fd, pid) || syscall(SYS_fstat, fd, &st) != 0) {
		live_close(fd, own);
		return -ESTALE;
	}
	mp_leak_table_round_begin();
	/* Past the chunks handed out, this process's trace holds space reserved ahead, zeros
	 * that would only be read page after page for a header. */
	uint64_t size = (uint64_t)st.st_size, end = mp_trace_file_end();
	if (path == mp_trace_file_path() && end && end < size)
		size = end;
	if (live.until_ns && inherit.file_end && inherit.file_end < size)
		size = inherit.file_end; /* the parent's chunks made after the fork */
	live_discover(fd, size);
	int holding = mode == MP_LEAK_FOLD_PRUNE && !live.until_ns;
	size_t kept = 0;
	for (size_t i = 0; i < live.chunk_count; i++) {
		struct live_chunk *chunk = &live.chunks[i];
		if (i == 0 || live.chunks[i - 1].serial != chunk->serial)
			live_hold_load(chunk->serial);
		/* The batch pairs the records of one thread in order. A chunk folded to its end
		 * is followed by the next of its thread, if that comes next: its records go on
		 * in the same batch, so that a block allocated at the end of one chunk and
		 * freed in the next cancels out there too. The thread's last chunk of the
		 * round may hold its newest allocations over to the next. */
		int whole = live_read_chunk(fd, chunk);
		const struct live_chunk *next = i + 1 < live.chunk_count ? &live.chunks[i + 1] : NULL;
		if (!next || next->serial != chunk->serial)
			live_flush_holding(holding, chunk->serial);
		else if (!whole || next->seq != chunk->seq + 1)
			live_flush();
		/* Noticed complete: folded in this round and the next, then forgotten. */
		if (chunk->complete)
			chunk->complete++;
		if (chunk->complete < LIVE_CHUNK_FORGET)
			live.chunks[kept++] = *chunk;
	}
	live.chunk_count = kept;
	live_close(fd, own);
	live_hold_finish();
	/* Whatever was committed before this round began is folded, and applied but for
	 * what the round held over: see Pruning and Holding. */
	mp_leak_table_round_end(live_held() != 0);
	uint64_t folded = live.events - before;
	if (!live.failed && mode == MP_LEAK_FOLD_PRUNE)
		mp_leak_table_sweep(live_gives_way);
	live.rounds++;
	return live.failed ? live.failed : (int)(folded < INT32_MAX ? folded : INT32_MAX);
}

void mp_leak_live_progress(uint64_t *progress)
{
	live.progress = progress;
}

uint64_t mp_leak_live_count(void)
{
	return mp_leak_table_count() + live_held();
}

uint64_t mp_leak_live_events(void)
{
	return live.events;
}

uint64_t mp_leak_live_table_ops(void)
{
	return live.table_ops;
}

void mp_leak_live_exit_coming(void)
{
	__atomic_store_n(&exit_coming, 1, __ATOMIC_RELAXED);
}

/* LSD radix sort by address over the bits that vary, digit_bits a pass: the counts of
 * every pass are taken in one read of the blocks, a pass where all blocks share their
 * digit is skipped, and the passes go back and forth between the two arrays. Returns
 * the one holding the sorted blocks. counts: room for 64 / digit_bits + 1 passes. */
static struct mp_leak_block *live_sort(struct mp_leak_block *blocks,
				       struct mp_leak_block *scratch, size_t count,
				       uint64_t varying, uint32_t *counts, unsigned digit_bits)
{
	if (count < 2 || !varying)
		return blocks;
	unsigned low = (unsigned)__builtin_ctzll(varying);
	unsigned passes = (64 - (unsigned)__builtin_clzll(varying) - low + digit_bits - 1) /
			  digit_bits;
	size_t digits = (size_t)1 << digit_bits;
	uint64_t mask = digits - 1;
	memset(counts, 0, passes * digits * sizeof(*counts));
	for (size_t i = 0; i < count; i++) {
		uint64_t key = blocks[i].addr >> low;
		for (unsigned pass = 0; pass < passes; pass++, key >>= digit_bits)
			counts[pass * digits + (key & mask)]++;
	}
	for (unsigned pass = 0; pass < passes; pass++) {
		uint32_t *at = counts + pass * digits;
		unsigned shift = low + pass * digit_bits;
		if (at[(blocks[0].addr >> shift) & mask] == count)
			continue;
		uint32_t total = 0;
		for (size_t digit = 0; digit < digits; digit++) {
			uint32_t here = at[digit];
			at[digit] = total;
			total += here;
		}
		for (size_t i = 0; i < count; i++)
			scratch[at[(blocks[i].addr >> shift) & mask]++] = blocks[i];
		struct mp_leak_block *sorted = scratch;
		scratch = blocks;
		blocks = sorted;
	}
	return blocks;
}

/* Puts n blocks in address order by insertion, moving at most `budget` of them; returns
 * the moves made, or SIZE_MAX once past the budget (the blocks then in no set order). */
static size_t live_settle(struct mp_leak_block *blocks, size_t n, size_t budget)
{
	size_t moves = 0;
	for (size_t i = 1; i < n; i++) {
		struct mp_leak_block block = blocks[i];
		size_t j = i;
		for (; j > 0 && blocks[j - 1].addr > block.addr; j--) {
			if (++moves > budget)
				return SIZE_MAX;
			blocks[j] = blocks[j - 1];
		}
		blocks[j] = block;
	}
	return moves;
}

/* The live blocks in address order into one of the two arrays (returned), the other
 * scratch. The table keeps each 64 KiB region's blocks in an array of their own, nearly
 * in address order (leak_table.c): the regions are sorted, then each one's blocks listed
 * and put in order by insertion, a few moves a block. Where that takes more than
 * LIVE_SETTLE_MOVES a block (a table of another shape), a radix sort of them all does.
 * Listed in the directory's order and radix-sorted, cc1's 5700 blocks took 0.24-1.05 ms
 * (six passes: its addresses differ in 43 bits), 4M blocks of 64 B three passes over
 * 64 MiB; their checks took 0.25 ms (median of 10) and 120 ms (of 4) less this way. */
#define LIVE_SETTLE_MOVES 4u
static struct mp_leak_block *live_list(struct mp_leak_block *one, struct mp_leak_block *two,
				       size_t total, uint32_t *counts, unsigned digit_bits,
				       size_t *count)
{
	uint64_t varying;
	size_t regions = mp_leak_table_regions(two, total, &varying);
	struct mp_leak_block *by_region = live_sort(two, one, regions, varying, counts, digit_bits);
	struct mp_leak_block *list = by_region == two ? one : two;
	size_t at = 0, moves = 0, budget = LIVE_SETTLE_MOVES * total;
	for (size_t i = 0; i < regions && at < total; i++) {
		size_t from = at;
		at += mp_leak_table_region_list(by_region[i].size, list + at, total - at);
		if (moves != SIZE_MAX) {
			size_t made = live_settle(list + from, at - from, budget - moves);
			moves = made == SIZE_MAX ? SIZE_MAX : moves + made;
		}
	}
	*count = at;
	if (moves != SIZE_MAX)
		return list;
	varying = 0;
	for (size_t i = 1; i < at; i++)
		varying |= list[i].addr ^ list[0].addr;
	return live_sort(list, by_region, at, varying, counts, digit_bits);
}

/* Digits of 8 bits for fewer blocks than this, their counts on the stack (8 KiB); 11 bits
 * above, so that a pass scatters the blocks over 2048 places, which the core's caches and
 * TLB hold, where 16 bits (65536 places, two passes instead of three for most heaps) missed
 * both for every block: 4M live blocks sorted in 140-250 ms with a copy back after each
 * pass and every pass counted apart (bench/leak_scan.sh). The arrays are mapped populated:
 * the listing's page faults, one by one, were 42 of its 57 ms for 4M blocks. */
#define LIVE_SORT_SMALL 65536u
#define LIVE_SORT_BITS_SMALL 8u
#define LIVE_SORT_BITS 11u

int mp_leak_live_blocks(struct mp_leak_block **blocks, size_t *count, size_t *bytes)
{
	/* After a check's round nothing is held; after the leak thread's, what was is applied
	 * now (early is always right: it is only late that an allocation could be wrong). */
	if (live_held())
		live_hold_finish();
	if (live.failed)
		return live.failed;
	size_t total = (size_t)mp_leak_table_count();
	size_t array_bytes = live_round_up((total ? total : 1) * sizeof(struct mp_leak_block));
	uint32_t small_counts[(64 / LIVE_SORT_BITS_SMALL + 1) << LIVE_SORT_BITS_SMALL];
	unsigned digit_bits = total < LIVE_SORT_SMALL ? LIVE_SORT_BITS_SMALL : LIVE_SORT_BITS;
	size_t counts_bytes = digit_bits == LIVE_SORT_BITS_SMALL
				      ? 0
				      : live_round_up(((64 / LIVE_SORT_BITS + 1) << LIVE_SORT_BITS) *
						      sizeof(uint32_t));
	struct mp_leak_block *out = mp_sys_map_anon_populated(array_bytes);
	struct mp_leak_block *scratch = mp_sys_map_anon_populated(array_bytes);
	uint32_t *counts = counts_bytes ? mp_sys_map_anon(counts_bytes) : small_counts;
	int err = out && scratch && counts ? 0 : -ENOMEM;
	if (!err) {
		size_t at;
		struct mp_leak_block *sorted = live_list(out, scratch, total, counts, digit_bits, &at);
		*blocks = sorted;
		*count = at;
		*bytes = array_bytes;
		mp_sys_unmap(sorted == out ? scratch : out, array_bytes);
	} else {
		if (out)
			mp_sys_unmap(out, array_bytes);
		if (scratch)
			mp_sys_unmap(scratch, array_bytes);
	}
	if (counts && counts_bytes)
		mp_sys_unmap(counts, counts_bytes);
	return err;
}

static void live_unmap(void *items, size_t bytes)
{
	if (items)
		mp_sys_unmap(items, live_round_up(bytes));
}

void mp_leak_live_fork_prepare(void)
{
	__atomic_store_n(&fork_pending, 1, __ATOMIC_SEQ_CST);
	/* A round under way ends within milliseconds; a child copied in the middle of one
	 * could not trust the table. Bounded: past it the child starts afresh. */
	for (int waited = 0; waited < LIVE_FORK_WAIT_STEPS &&
			     __atomic_load_n(&live.in_round, __ATOMIC_SEQ_CST);
	     waited++) {
		struct timespec pause = { 0, LIVE_FORK_WAIT_STEP_NS };
		syscall(SYS_nanosleep, &pause, NULL);
	}
}

void mp_leak_live_fork_parent(void)
{
	__atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
}

int mp_leak_live_after_fork_child(const char *parent_path, uint32_t parent_pid,
				  uint64_t fork_ns, uint64_t file_end)
{
	/* A parent that never folded (a fork soon after it started) leaves its whole file to
	 * fold: its events so far, few. */
	int whole = !__atomic_load_n(&live.in_round, __ATOMIC_ACQUIRE) && !live.failed &&
		    parent_path[0] && strlen(parent_path) < sizeof(inherit.path);
	__atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&live.in_round, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&exit_coming, 0, __ATOMIC_RELAXED); /* the parent's, not the child's */
	if (!whole) {
		mp_leak_live_reset();
		return 0;
	}
	memcpy(inherit.path, parent_path, strlen(parent_path) + 1);
	inherit.pid = parent_pid;
	inherit.until_ns = fork_ns;
	inherit.file_end = file_end;
	inherit.pending = 1;
	return 1;
}

void mp_leak_live_reset(void)
{
	mp_leak_table_reset();
	live_unmap(live.chunks, live.chunk_cap * sizeof(*live.chunks));
	live_unmap(live.buffer, LIVE_BUFFER_BYTES);
	uint64_t *progress = live.progress;
	memset(&live, 0, sizeof(live));
	live.progress = progress;
	memset(&batch, 0, sizeof(batch));
	memset(&hold, 0, sizeof(hold));
	inherit.pending = 0;
	__atomic_store_n(&exit_coming, 0, __ATOMIC_RELAXED);
}
