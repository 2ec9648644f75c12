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
 * depend on order: per address the event with the latest time wins, and at equal times
 * a release beats an allocation (a free's time is taken before the real free, an
 * allocation's after the real call, so a reuse of the address is always later). A
 * realloc releases old_addr at its time before and creates addr at its time after.
 * Slots keep times in 40 bits of nanoseconds after a base that moves when an event is
 * 2^39 ns past it: older times shift down, those before the new base become 0. Only
 * events of the last rounds ever compare unequal, so this loses nothing but for an event
 * whose thread stopped for minutes between reading the clock and writing its record.
 *
 * Pruning. A released address is kept only while an older allocation of it may still
 * be unfolded. An allocation is committed before its block is returned to the program,
 * so before any release of that block is even recorded. A round reads every chunk's
 * committed length in turn; whatever was committed before a round starts is folded by
 * its end. So a release folded in round k-1 was committed before round k began, its
 * allocation too, and at the end of round k no older allocation of that address can
 * come: the release may be dropped (pruned). A released slot keeps, where a live one
 * keeps its size, the round that folded it, so that nothing has to be done at the end of
 * round k: from then on insertions reuse the slot as if empty (probes go past it as past
 * any entry), and the passes that put every entry back (compaction, growth) drop it.
 * The table thus holds the live blocks, the releases of the last two
 * rounds and older ones until their slots are reused or a pass drops them; it shrinks
 * when under a sixteenth of it holds other entries, after a quiet round (live_shrink:
 * not while the program frees its heap as it ends, which the exit would wait for).
 * (Releases used to
 * be logged in each round and looked up again a round later to be marked: 16 bytes
 * each in fresh memory and a second miss in the table; python3's dict folded at 30-31
 * ns an event instead of 34-41, bench/fold_bench.c.)
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
 * end of the thread's records for the round. What reaches the table misses the cache
 * once the heap is large, so slots are prefetched a few operations ahead, a block's home
 * is in a window of slots shared by its 512 bytes of heap (live_home). The table is in
 * small pages (see live_resize) and doubles in place (live_grow_in_place). A count of the
 * live entries of every 4096 slots lets a check list the blocks without reading a table
 * sized for the heap's peak.
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
 * Memory: the table (16-byte slots, between 5/16 and 5/8 in use: 26 to 51 bytes per live
 * block, and the counts; blocks of 8 MiB or more also in the big map), the open chunks
 * and one read buffer with the batch and its index (0.9 MiB), all from
 * mp_sys_map_anon; the table is bounded by MEMPROF_LEAK_CHECK_MAX_MB.
 * Not thread-safe: one thread at a time (leak_thread.c serializes).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "leak_scan.h"
#include "memprof/trace_decode.h"

#define LIVE_RELEASED (1ull << 63) /* in slot.meta and op.size: the event releases the address */
#define LIVE_FIRST_SLOTS (1u << 12)
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
#define LIVE_PREFETCH 12u /* how far ahead a fold or a prune prefetches: about the misses
			     a core keeps in flight */
/* Slots counted together in live.group_live: 4096, so that the counts of a table of 8M
 * slots take 4 KiB and stay in the cache (a byte per 64 slots, 128 KiB, missed it and
 * cost python3's fold 5%), and listing the blocks reads 96 KiB for each group that
 * holds one. */
#define LIVE_GROUP_SHIFT 12
#define LIVE_READ_BYTES (256u * 1024u)
/* The read buffer, then the batch, then the batch's index of allocations by address. */
#define LIVE_BUFFER_BYTES (LIVE_READ_BYTES + LIVE_BATCH * 24u + LIVE_PAIR_SLOTS * 8u)
#define LIVE_FIRST_CHUNKS 64u
#define LIVE_CHUNK_FORGET 3u /* chunk.complete: folded twice since it was found complete */
#define LIVE_LOOKAHEAD_PAGES 512u
#define LIVE_STASH_ENTRIES 2048u /* 32 KiB */
#define LIVE_PAST_UNTIL (-2) /* a decoder's: the record is after live.until_ns */
#define LIVE_FORK_WAIT_STEPS 2000 /* a fork waits for a round at most 100 ms */
#define LIVE_FORK_WAIT_STEP_NS 50000
/* A mostly empty table is shrunk after a round that folded fewer events than this (the
 * program allocates slowly), or once it has stayed mostly empty this long (see
 * live_shrink). */
#define LIVE_SHRINK_QUIET_EVENTS 4096u
#define LIVE_SHRINK_PATIENCE_NS 2000000000ull
#define LIVE_SHRINK_STEP_SLOTS 65536u /* a shrink looks for an exit or a fork this often */

/* A slot: the address, and in one word LIVE_RELEASED, the time of the last event (ns
 * after live.time_base, LIVE_TIME_BITS of it) and the size (LIVE_SIZE_BITS; sizes of
 * LIVE_SIZE_BIG and more are in the big map). 16 bytes, not 24: python3's dict (4M blocks
 * live at its peak) needed a table of 192 MiB, fresh memory the leak thread waited for. */
#define LIVE_SIZE_BITS 23
#define LIVE_SIZE_BIG ((1ull << LIVE_SIZE_BITS) - 1) /* 8 MiB - 1 */
#define LIVE_TIME_BITS 40
#define LIVE_TIME_MAX ((1ull << LIVE_TIME_BITS) - 1) /* 18 minutes */
/* The base moves when an event's time is this far past it, to half of it behind: 9 and
 * 4.5 minutes. An event older than the base (a thread stopped that long between reading
 * the clock and writing its record) counts as time 0. */
#define LIVE_TIME_SPAN (1ull << 39)
struct live_slot {
	uint64_t addr; /* 0: empty */
	uint64_t meta;
};

_Static_assert(sizeof(struct live_slot) == 16, "a slot is two words");

struct live_big {
	uint64_t addr; /* 0: empty */
	uint64_t size;
};

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
	struct live_slot *slots;
	uint64_t mask;           /* capacity - 1, 0 without a table */
	uint64_t used;           /* slots not empty: live and released entries */
	uint64_t released;       /* released entries, prunable ones included */
	uint64_t live;           /* entries not released */
	uint16_t *group_live;    /* entries not released in each group, after the slots */
	int failed;              /* -ENOMEM or -E2BIG: the table could not grow */
	struct live_chunk *chunks;
	size_t chunk_count, chunk_cap;
	uint32_t round;          /* the round under way or last folded, mod 2^LIVE_SIZE_BITS */
	uint32_t ended;          /* the last round that ended */
	uint64_t young[4];       /* releases entered in round r, at r % 4, not prunable yet */
	uint64_t walk;           /* file offset of the next chunk header to look at */
	uint32_t page;
	uint8_t *buffer;         /* LIVE_READ_BYTES */
	uint64_t start_ns;       /* the trace's start time, which names it; 0 before a round */
	uint64_t *progress;      /* bumped at every batch: a waiter's sign of life */
	uint64_t rounds, events;
	uint64_t table_ops;      /* operations that reached the table (not paired) */
	uint64_t grown_in_place, rehashed, stashed; /* how the table grew (mp_leak_live_growth) */
	struct live_slot *stash; /* LIVE_STASH_ENTRIES, see live_grow_in_place */
	uint64_t time_base;      /* slot times count from here; 0 before a round */
	uint64_t time_span;      /* LIVE_TIME_SPAN, or a test's (mp_leak_live_time_span) */
	struct live_big *big;    /* the sizes of LIVE_SIZE_BIG and more, by address */
	uint64_t big_mask, big_count;
	uint64_t rebases;        /* times the base moved (mp_leak_live_rebases) */
	int in_round;            /* a fold is changing the table (see Fork) */
	uint64_t sparse_since_ns; /* when the table was first found mostly empty; 0: it is not */
	uint64_t shrink_patience_ns; /* LIVE_SHRINK_PATIENCE_NS, or a test's */
	uint64_t shrinks, shrinks_abandoned; /* mp_leak_live_shrinks */
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

static inline uint64_t slot_time(const struct live_slot *slot)
{
	return (slot->meta >> LIVE_SIZE_BITS) & LIVE_TIME_MAX;
}

static inline int slot_live(const struct live_slot *slot)
{
	return !(slot->meta & LIVE_RELEASED);
}

/* A released entry holds, where a live one holds its size, the round that folded it. It
 * may be dropped (pruned) once a round after that one has ended: see Pruning. The
 * distance is taken modulo the field; a wrapped one (millions of rounds untouched) reads
 * as not prunable, which costs a slot, never a verdict. */
#define LIVE_ROUND_MASK LIVE_SIZE_BIG
static inline int round_prunable(uint64_t round)
{
	uint64_t distance = (live.ended - round) & LIVE_ROUND_MASK;
	return distance - 1 < (LIVE_ROUND_MASK >> 1);
}

static inline int slot_prunable(const struct live_slot *slot)
{
	return !slot_live(slot) && round_prunable(slot->meta & LIVE_ROUND_MASK);
}

/* Released entries not prunable yet: entered in the last round that ended or after it (a
 * ring of 4; more rounds than that: all of them, to be safe). */
static uint64_t live_young(void)
{
	uint32_t since = (live.round - live.ended) & LIVE_ROUND_MASK;
	if (since > 3)
		return live.released;
	uint64_t young = 0;
	for (uint32_t i = 0; i <= since; i++)
		young += live.young[(live.round - i) & 3];
	return young;
}

/* Entries a compaction would drop: the prunable releases. */
static uint64_t live_droppable(void)
{
	uint64_t young = live_young();
	return live.released > young ? live.released - young : 0;
}

/* A released entry leaves the table or changes. */
static inline void release_leaves(const struct live_slot *slot)
{
	uint64_t round = slot->meta & LIVE_ROUND_MASK;
	live.released--;
	if (!round_prunable(round) && ((live.round - round) & LIVE_ROUND_MASK) < 4)
		live.young[round & 3]--;
}

/* An event's time as slots keep it. */
static inline uint64_t live_time(uint64_t time)
{
	if (time <= live.time_base)
		return 0;
	uint64_t after = time - live.time_base;
	return after < LIVE_TIME_MAX ? after : LIVE_TIME_MAX;
}

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

static uint64_t live_hash(uint64_t addr)
{
	addr ^= addr >> 29;
	addr *= 0xbf58476d1ce4e5b9ull;
	return addr ^ (addr >> 32);
}

/* The slot where the probe for addr starts in a table of mask + 1 slots (at least
 * LIVE_FIRST_SLOTS): each 512 bytes of heap have a window of 32 consecutive slots, one
 * per 16-byte granule, and the windows are spread by the hash. Programs allocate and
 * free in address order most of the time (python3 tears its dict down in the order it
 * was built); hashing each address alone sent each of them to a random line of a table
 * sized for the heap's peak, a cache and TLB miss each, where now the blocks of a piece
 * of heap share the lines of their windows. The analyzer's live table does the same
 * (analyzer/live_blocks.h). */
#define LIVE_WINDOW_SHIFT 9
#define LIVE_WINDOW_BITS 5
static inline uint64_t live_home(uint64_t addr, uint64_t mask)
{
	uint64_t window = live_hash(addr >> LIVE_WINDOW_SHIFT) << LIVE_WINDOW_BITS;
	return (window | (addr >> 4 & ((1u << LIVE_WINDOW_BITS) - 1))) & mask;
}

/* The slot holding addr, or NULL. */
static struct live_slot *live_find(uint64_t addr)
{
	for (uint64_t at = live_home(addr, live.mask);; at = (at + 1) & live.mask) {
		uint64_t here = live.slots[at].addr;
		if (here == addr)
			return &live.slots[at];
		if (!here)
			return NULL;
	}
}

/* A slot for addr, which is not in the table: the first prunable release on its way, or
 * the empty slot that ends it. */
static struct live_slot *live_free_slot(struct live_slot *slots, uint64_t mask, uint64_t addr)
{
	uint64_t at = live_home(addr, mask);
	while (slots[at].addr && !slot_prunable(&slots[at]))
		at = (at + 1) & mask;
	return &slots[at];
}

/* How many of slots[0..capacity) hold a prunable release. */
static uint64_t live_count_droppable(const struct live_slot *slots, uint64_t capacity)
{
	uint64_t count = 0;
	for (uint64_t i = 0; i < capacity; i++)
		count += slots[i].addr && slot_prunable(&slots[i]);
	return count;
}

/* Empties the slots of prunable releases in slots[0..capacity), for a pass that puts every
 * entry back (probes no longer find what lies past a hole); returns how many. */
static uint64_t live_drop(struct live_slot *slots, uint64_t capacity)
{
	uint64_t dropped = 0;
	for (uint64_t i = 0; i < capacity; i++) {
		if (slots[i].addr && slot_prunable(&slots[i])) {
			release_leaves(&slots[i]);
			slots[i].addr = 0;
			dropped++;
		}
	}
	live.used -= dropped;
	return dropped;
}

static size_t live_round_up(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* The table's mapping: the slots, then a count of live entries per group of slots (the
 * table has at least one group). */
static uint64_t live_table_bytes(uint64_t capacity)
{
	return live_round_up(capacity * sizeof(struct live_slot) +
			     (capacity >> LIVE_GROUP_SHIFT) * sizeof(uint16_t));
}

/* Puts an entry taken out of the table back where a probe from its home first finds
 * room, and counts it in its group. */
static void live_put(struct live_slot *slots, uint16_t *group_live, uint64_t mask,
		     const struct live_slot *entry)
{
	struct live_slot *slot = live_free_slot(slots, mask, entry->addr);
	*slot = *entry;
	group_live[(uint64_t)(slot - slots) >> LIVE_GROUP_SHIFT] += slot_live(entry);
}

/* The smallest table that holds `entries` at most half full. */
static uint64_t live_capacity_for(uint64_t entries)
{
	uint64_t capacity = LIVE_FIRST_SLOTS;
	while (capacity < entries * 2)
		capacity *= 2;
	return capacity;
}

/* Rehashes the entries (prunable releases are dropped) into `capacity` slots, a power of two.
 * The table may take at most MEMPROF_LEAK_CHECK_MAX_MB (config.c): a program that needs
 * more gets no leak kinds (reported as such), never an exit that runs out of memory. */
static int live_resize(uint64_t capacity)
{
	/* What it keeps must fit, whatever was estimated. Counted, not dropped yet: on
	 * failure the table stays as it was. */
	uint64_t keep = live.slots ? live.used - live_count_droppable(live.slots, live.mask + 1)
				   : 0;
	if (capacity < live_capacity_for(keep))
		capacity = live_capacity_for(keep);
	if (capacity * sizeof(struct live_slot) > mp_config.leak_check_max_bytes)
		return -E2BIG;
	uint64_t bytes = live_table_bytes(capacity);
	struct live_slot *slots = mp_sys_map_anon(bytes);
	if (!slots)
		return -ENOMEM;
	uint16_t *group_live = (uint16_t *)(slots + capacity);
	/* No MADV_HUGEPAGE, although the table is touched at random and huge pages save TLB
	 * misses (python3's dict folded at 37-40 instead of 50-53 ns an event, bench/
	 * fold_bench.c, memory already the process's). On a VM whose host takes back the
	 * guest's free memory (free page reporting hands it whole 2 MiB blocks, the very ones
	 * huge pages are made of), every huge page is a fresh host fault: 360 MB/s against
	 * 760 MB/s in small pages, measured here. The table is fresh memory once per doubling
	 * and the leak thread waits for it: python3's dict under the exit check took 1860 ms
	 * of CPU with huge pages, 1630 without (medians of 9 interleaved runs). Where THP is
	 * "always", the kernel still decides. */
	/* Written before anything reads it: a probe's first read of a fresh page maps the
	 * shared zero page, and the write after it then has to unmap that page from every
	 * CPU running the program (a TLB shootdown, an IPI that a VM pays dearly for: 3-4%
	 * of alloc_bench's samples went to them). A write first simply allocates the page. */
	mp_sys_prefault(slots, bytes);
	struct live_slot *old = live.slots;
	uint64_t old_capacity = old ? live.mask + 1 : 0;
	if (old)
		live_drop(old, old_capacity);
	for (uint64_t i = 0; i < old_capacity; i++)
		if (old[i].addr)
			live_put(slots, group_live, capacity - 1, &old[i]);
	live.slots = slots;
	live.group_live = group_live;
	live.mask = capacity - 1;
	if (old)
		mp_sys_unmap(old, live_table_bytes(old_capacity));
	return 0;
}

/* The stash of live_grow_in_place, mapped at its first use and kept (memory of ours:
 * the addresses it held are no roots). */
static int live_stash_map(void)
{
	if (!live.stash)
		live.stash = mp_sys_map_anon(LIVE_STASH_ENTRIES * sizeof(struct live_slot));
	return live.stash ? 0 : -1;
}

/* Puts the `count` stashed entries back into the table, where probes find them. */
static void live_unstash(uint64_t count)
{
	for (uint64_t i = 0; i < count; i++)
		live_put(live.slots, live.group_live, live.mask, &live.stash[i]);
}

/* Doubles the table where it is, or returns -1 with the table as it was, or with every
 * entry in it but not all where probes find them (then only a rehash into a new table,
 * which reads every slot, may follow). mremap keeps the pages the table has, so the kernel
 * zeroes only the new half: a new table had all of it zeroed, and zeroing fresh memory
 * was 40% of the samples of python3's dict under the exit check (this VM zeroes about a
 * GiB a second), two thirds of the leak thread's time.
 *
 * The entries are taken out and put back from their new homes in slot order, from after
 * a slot that was empty before the prunable ones were emptied, as live_compact does: with
 * one more bit of hash, an entry's new home is its old one or that plus the old capacity.
 * Put back in the lower half, it lands at or before its old slot, past slots that hold
 * only entries put back already (its old probe crossed no empty slot, and they come
 * before it in the walk); in the upper half it meets only entries put back already,
 * unless its probe would wrap around the end of the table into slots not walked yet.
 * Those few entries (the run at the table's end) wait in a stash and are put back once
 * the walk is over, like any insertion. Giving up on them instead sent python3's last
 * doubling, 8M slots, to a rehash into a new 192 MiB table nearly every run: a quarter
 * of a second of the leak thread zeroing pages. */
static int live_grow_in_place(uint64_t capacity)
{
	uint64_t old_capacity = live.mask + 1, start = 0, stashed = 0;
	if (capacity != old_capacity * 2)
		return -1;
	uint64_t old_bytes = live_table_bytes(old_capacity), bytes = live_table_bytes(capacity);
	struct live_slot *slots = mp_sys_grow_anon(live.slots, old_bytes, bytes);
	if (!slots)
		return -1;
	/* The new part, written before it is read (see live_resize), the old counts of
	 * groups (now in the upper half's slots) included. */
	mp_sys_prefault(slots + old_capacity, bytes - old_capacity * sizeof(*slots));
	memset(slots + old_capacity, 0, old_bytes - old_capacity * sizeof(*slots));
	live.slots = slots;
	live.group_live = (uint16_t *)(slots + capacity);
	memset(live.group_live, 0, (capacity >> LIVE_GROUP_SHIFT) * sizeof(uint16_t));
	while (slots[start].addr)
		start++; /* there is one: the table is never full */
	live_drop(slots, old_capacity);
	live.mask = capacity - 1;
	for (uint64_t step = 1; step <= old_capacity; step++) {
		struct live_slot *slot = &slots[(start + step) & (old_capacity - 1)];
		if (!slot->addr)
			continue;
		struct live_slot entry = *slot;
		slot->addr = 0;
		uint64_t at = live_home(entry.addr, live.mask);
		while (slots[at].addr && at + 1 < capacity)
			at++;
		if (slots[at].addr) { /* it would wrap */
			if (stashed == LIVE_STASH_ENTRIES || live_stash_map() < 0) {
				*slot = entry; /* back where it was: the rehash will find it */
				live_unstash(stashed);
				return -1;
			}
			live.stash[stashed++] = entry;
			continue;
		}
		slots[at] = entry;
		live.group_live[at >> LIVE_GROUP_SHIFT] += slot_live(&entry);
	}
	live_unstash(stashed);
	live.grown_in_place++;
	live.stashed += stashed;
	return 0;
}

/* Drops the prunable releases in place: every entry is taken out and put back where a probe
 * from its home first finds room, in table order from an empty slot, so that the ones
 * already put back are where they stay. A sequential pass, no new memory: a new table
 * would cost its size in zeroed pages (a churning program prunes much).
 *
 * The walk starts after a slot that was empty before the prunable ones were emptied: no
 * probe run crosses it, so every slot between an entry's home and the entry is put back
 * before it, and its probe meets no entry that will still move. Started after a dropped
 * slot instead (the first empty one once they are emptied), an entry could be put back
 * past one not yet moved, which then moved towards its own home, and the entry was left
 * where no probe reaches it: found by no release, listed as live. (Slots 15..3 of 16:
 * dropped, A of home 15, dropped, B of home 1, D of home 0; from slot 1: B to 1, D to 2,
 * then A to 15, and a probe for D stops at the empty slot 0.) */
static void live_compact(void)
{
	uint64_t capacity = live.mask + 1, start = 0;
	while (live.slots[start].addr)
		start++; /* there is one: the table is never full */
	live_drop(live.slots, capacity);
	memset(live.group_live, 0, (capacity >> LIVE_GROUP_SHIFT) * sizeof(uint16_t));
	for (uint64_t step = 1; step <= capacity; step++) {
		struct live_slot *slot = &live.slots[(start + step) & live.mask];
		if (!slot->addr)
			continue;
		struct live_slot entry = *slot;
		slot->addr = 0;
		live_put(live.slots, live.group_live, live.mask, &entry);
	}
}

/* Room for one more slot in use: at 5/8 (prunable releases count, since probes cross them)
 * they are dropped, and the table doubled if the other entries alone fill half of it:
 * so between 16 / (5/8) and 16 / (5/16) bytes per entry. */
static int live_make_room(void)
{
	uint64_t capacity = live.mask + 1;
	if ((live.used + 1) * 8 <= capacity * 5)
		return 0;
	uint64_t wanted = live_capacity_for(live.used - live_droppable() + 1);
	if (wanted <= capacity) {
		live_compact();
		if ((live.used + 1) * 8 <= capacity * 5)
			return 0;
		wanted = capacity * 2; /* fewer dropped than counted: never so, but never a loop */
	}
	if (wanted * sizeof(struct live_slot) > mp_config.leak_check_max_bytes)
		return -E2BIG;
	if (live_grow_in_place(wanted) == 0)
		return 0;
	live.rehashed++;
	return live_resize(wanted);
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

/* ---- The big map: the sizes a slot cannot hold, by address ---- */

static inline uint64_t live_big_home(uint64_t addr)
{
	return live_hash(addr) & live.big_mask;
}

static struct live_big *live_big_find(uint64_t addr)
{
	if (!live.big)
		return NULL;
	for (uint64_t at = live_big_home(addr);; at = (at + 1) & live.big_mask) {
		if (live.big[at].addr == addr)
			return &live.big[at];
		if (!live.big[at].addr)
			return NULL;
	}
}

static int live_big_grow(void)
{
	uint64_t old_capacity = live.big ? live.big_mask + 1 : 0;
	uint64_t capacity = old_capacity ? old_capacity * 2 : 64;
	struct live_big *big = mp_sys_map_anon(live_round_up(capacity * sizeof(*big)));
	if (!big)
		return -ENOMEM;
	struct live_big *old = live.big;
	live.big = big;
	live.big_mask = capacity - 1;
	for (uint64_t i = 0; i < old_capacity; i++) {
		if (!old[i].addr)
			continue;
		uint64_t at = live_big_home(old[i].addr);
		while (big[at].addr)
			at = (at + 1) & live.big_mask;
		big[at] = old[i];
	}
	if (old)
		mp_sys_unmap(old, live_round_up(old_capacity * sizeof(*old)));
	return 0;
}

/* Notes the size of addr: 0, or -ENOMEM. */
static int live_big_put(uint64_t addr, uint64_t size)
{
	struct live_big *found = live_big_find(addr);
	if (found) {
		found->size = size;
		return 0;
	}
	if ((live.big_count + 1) * 2 > (live.big ? live.big_mask + 1 : 0) && live_big_grow() < 0)
		return -ENOMEM;
	uint64_t at = live_big_home(addr);
	while (live.big[at].addr)
		at = (at + 1) & live.big_mask;
	live.big[at] = (struct live_big){ addr, size };
	live.big_count++;
	return 0;
}

/* Forgets addr; the entries after it in its run move back where their probes still find
 * them (no marker left behind). */
static void live_big_drop(uint64_t addr)
{
	struct live_big *found = live_big_find(addr);
	if (!found)
		return;
	uint64_t hole = (uint64_t)(found - live.big);
	for (uint64_t at = (hole + 1) & live.big_mask; live.big[at].addr;
	     at = (at + 1) & live.big_mask) {
		uint64_t home = live_big_home(live.big[at].addr);
		if (((at - home) & live.big_mask) >= ((at - hole) & live.big_mask)) {
			live.big[hole] = live.big[at];
			hole = at;
		}
	}
	live.big[hole].addr = 0;
	live.big_count--;
}

/* The size of a live slot's block. */
static uint64_t live_size(const struct live_slot *slot)
{
	uint64_t size = slot->meta & LIVE_SIZE_BIG;
	if (size != LIVE_SIZE_BIG)
		return size;
	const struct live_big *big = live_big_find(slot->addr);
	return big ? big->size : LIVE_SIZE_BIG; /* always there: live_apply puts it first */
}

/* Moves the slots' time base to `base`: times before it become 0. A pass over the table
 * every few minutes of the program's time. */
static void live_rebase(uint64_t base)
{
	uint64_t delta = base - live.time_base;
	for (uint64_t i = 0; live.slots && i <= live.mask; i++) {
		struct live_slot *slot = &live.slots[i];
		if (!slot->addr)
			continue;
		uint64_t time = slot_time(slot);
		time = time > delta ? time - delta : 0;
		slot->meta = (slot->meta & ~(LIVE_TIME_MAX << LIVE_SIZE_BITS)) | time << LIVE_SIZE_BITS;
	}
	live.time_base = base;
	live.rebases++;
}

/* Applies one allocation (release = 0) or release of `addr` at `time`. */
static void live_apply(uint64_t addr, uint64_t size, uint64_t time, int release)
{
	if (!addr || live.failed)
		return;
	if (MP_UNLIKELY(time > live.time_base + live.time_span))
		live_rebase(time - live.time_span / 2);
	uint64_t at_time = live_time(time);
	struct live_slot *slot = live_find(addr);
	int was_live = 0;
	if (slot) {
		uint64_t held = slot_time(slot);
		int newer = at_time > held || (at_time == held && release);
		if (!newer)
			return;
		was_live = slot_live(slot);
		if (was_live && (slot->meta & LIVE_SIZE_BIG) == LIVE_SIZE_BIG)
			live_big_drop(addr);
		if (!was_live)
			release_leaves(slot);
	}
	if (!release && size >= LIVE_SIZE_BIG && live_big_put(addr, size) < 0) {
		live.failed = -ENOMEM;
		return;
	}
	if (!slot) {
		int err = live_make_room();
		if (err < 0) {
			live.failed = err;
			return;
		}
		slot = live_free_slot(live.slots, live.mask, addr);
		if (slot->addr)
			release_leaves(slot); /* a prunable release, forgotten */
		else
			live.used++;
	}
	int change = !release - was_live;
	live.live += (uint64_t)(int64_t)change;
	live.group_live[(uint64_t)(slot - live.slots) >> LIVE_GROUP_SHIFT] += (uint16_t)change;
	slot->addr = addr;
	slot->meta = (release ? LIVE_RELEASED | live.round
			      : size < LIVE_SIZE_BIG ? size : LIVE_SIZE_BIG) |
		     at_time << LIVE_SIZE_BITS;
	if (release) {
		live.released++;
		live.young[live.round & 3]++;
	}
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

/* Applies the batch's operations that no release within it cancelled. The table is far
 * larger than the cache once the heap is: each operation misses it, so the slots are
 * prefetched LIVE_PREFETCH operations ahead and the misses overlap. */
static void live_flush(void)
{
	if (!batch.count)
		return;
	/* The table is made for the first operation that reaches it (a short program's
	 * checks may fold none: its 64 KiB, written first, were 17 page faults). */
	if (!live.slots && !live.failed)
		live.failed = live_resize(LIVE_FIRST_SLOTS);
	if (live.progress)
		__atomic_add_fetch(live.progress, 1, __ATOMIC_RELAXED);
	size_t count = 0;
	for (size_t i = 0; i < batch.count; i++)
		if (batch.ops[i].addr)
			batch.ops[count++] = batch.ops[i];
	live.table_ops += count;
	for (size_t i = 0; i < count && i < LIVE_PREFETCH && live.slots; i++)
		__builtin_prefetch(&live.slots[live_home(batch.ops[i].addr, live.mask)], 1);
	for (size_t i = 0; i < count; i++) {
		if (i + LIVE_PREFETCH < count && live.slots)
			__builtin_prefetch(&live.slots[live_home(batch.ops[i + LIVE_PREFETCH].addr,
								 live.mask)], 1);
		live_apply(batch.ops[i].addr, batch.ops[i].size & ~LIVE_RELEASED, batch.ops[i].time,
			   (batch.ops[i].size & LIVE_RELEASED) != 0);
	}
	batch.count = 0;
	live_pair_reset();
}

/* The pairing index's slot for addr: as in the table (live_home), each 512 bytes of heap
 * have a window of 32 slots, one per 16-byte granule, the windows spread by a
 * multiplication's top bits (Fibonacci hashing, cheaper than live_hash and enough for the
 * addresses of one batch). */
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
	size_t count = 0;
	for (size_t i = 0; i < batch.count; i++)
		if (batch.ops[i].addr)
			batch.ops[count++] = batch.ops[i];
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

/* Whether a shrink under way should give way: the process is ending, or forking (both
 * wait for the round). */
static int live_shrink_gives_way(void)
{
	return __atomic_load_n(&exit_coming, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&fork_pending, __ATOMIC_RELAXED);
}

/* Copies the entries into a new table of `capacity` slots, dropping the prunable releases,
 * and takes it; or, if an exit or a fork comes meanwhile (or the entries would not fit,
 * which the counts say never happens), leaves the table as it was. Unlike live_resize it
 * changes nothing of the old table until it is done, so that it can stop at any point. */
static int live_shrink_into(uint64_t capacity)
{
	uint64_t bytes = live_table_bytes(capacity);
	struct live_slot *slots = mp_sys_map_anon(bytes);
	if (!slots)
		return -ENOMEM;
	uint16_t *group_live = (uint16_t *)(slots + capacity);
	struct live_slot *old = live.slots;
	uint64_t old_capacity = live.mask + 1, kept = 0, dropped = 0;
	int abandoned = live_shrink_gives_way();
	if (!abandoned)
		mp_sys_prefault(slots, bytes); /* see live_resize */
	for (uint64_t i = 0; i < old_capacity && !abandoned; i++) {
		if (i % LIVE_SHRINK_STEP_SLOTS == LIVE_SHRINK_STEP_SLOTS - 1 &&
		    live_shrink_gives_way()) {
			abandoned = 1;
			break;
		}
		if (!old[i].addr)
			continue;
		if (slot_prunable(&old[i])) {
			dropped++; /* as release_leaves: a prunable release is no young one */
			continue;
		}
		if (++kept > capacity / 2)
			abandoned = 1;
		else
			live_put(slots, group_live, capacity - 1, &old[i]);
	}
	if (abandoned) {
		mp_sys_unmap(slots, bytes);
		live.shrinks_abandoned++;
		return -EINTR;
	}
	live.used -= dropped;
	live.released -= dropped;
	live.slots = slots;
	live.group_live = group_live;
	live.mask = capacity - 1;
	mp_sys_unmap(old, live_table_bytes(old_capacity));
	live.shrinks++;
	return 0;
}

/* After a round that folded `folded` events: shrinks a table that is mostly empty (under a
 * sixteenth of it holding entries that are not prunable), to give its memory back. A
 * shrink reads the whole table and folds nothing meanwhile: python3 tearing down an
 * 8M-entry dict as it ends left its 512 MiB table mostly empty, the shrink took 0.1-0.3 s,
 * and the exit check then waited for it and for the frees made meanwhile: 31-364 ms from
 * the exit snapshot to the end of the trace, 15-42 ms without the shrink. So it waits for
 * a quiet round, or for the table to have stayed mostly empty for
 * LIVE_SHRINK_PATIENCE_NS, and gives way to an exit or a fork that comes while it runs
 * (the table then stays as it was). */
static void live_shrink(uint64_t folded)
{
	uint64_t entries = live.used - live_droppable(), capacity = live.mask + 1;
	if (!live.slots || capacity <= LIVE_FIRST_SLOTS || entries * 16 >= capacity) {
		live.sparse_since_ns = 0;
		return;
	}
	uint64_t now = mp_clock_now_ns();
	if (!live.sparse_since_ns)
		live.sparse_since_ns = now;
	if (folded >= LIVE_SHRINK_QUIET_EVENTS &&
	    now - live.sparse_since_ns < live.shrink_patience_ns)
		return;
	if (live_shrink_into(live_capacity_for(entries)) == 0)
		live.sparse_since_ns = 0; /* on failure the table simply stays */
}

/* The pairing index is probed before it is written: a probe's first read of a fresh
 * page maps the shared zero page, and the write after it then has to unmap that page
 * from every CPU (see live_resize). So its pages are written first, once, before the
 * first read that holds an event, not when the buffer is mapped: a short program's
 * checks may fold no allocation at all, and writing them cost /bin/true 64 of the 82
 * page faults its leak check added. (Asked here, once a read, not as each operation is
 * pushed: that test cost the fold 3 instructions an event.) */
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
		/* The read buffer and the operations are written before they are read, and a
		 * short program's fold never writes most of them; the index, see
		 * live_pairs_write_for. */
		batch.pairs_written = 0;
		batch.count = 0;
		batch.stamp = 0;
	}
	if (!live.time_span)
		live.time_span = LIVE_TIME_SPAN;
	if (!live.shrink_patience_ns)
		live.shrink_patience_ns = LIVE_SHRINK_PATIENCE_NS;
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
	live.round = (live.round + 1) & LIVE_ROUND_MASK;
	live.young[live.round & 3] = 0;
	/* Past the chunks handed out, this process's trace holds space reserved ahead, zeros
	 * that would only be read page after page for a header. */
	uint64_t size = (uint64_t)st.st_size, end = mp_trace_file_end();
	if (path == mp_trace_file_path() && end && end < size)
		size = end;
	if (live.until_ns && inherit.file_end && inherit.file_end < size)
		size = inherit.file_end; /* the parent's chunks made after the fork */
	live_discover(fd, size);
	size_t kept = 0;
	for (size_t i = 0; i < live.chunk_count; i++) {
		struct live_chunk *chunk = &live.chunks[i];
		/* The batch pairs the records of one thread in order. A chunk folded to its end
		 * is followed by the next of its thread, if that comes next: its records go on
		 * in the same batch, so that a block allocated at the end of one chunk and
		 * freed in the next cancels out there too. */
		int whole = live_read_chunk(fd, chunk);
		const struct live_chunk *next = i + 1 < live.chunk_count ? &live.chunks[i + 1] : NULL;
		if (!whole || !next || next->serial != chunk->serial || next->seq != chunk->seq + 1)
			live_flush();
		/* Noticed complete: folded in this round and the next, then forgotten. */
		if (chunk->complete)
			chunk->complete++;
		if (chunk->complete < LIVE_CHUNK_FORGET)
			live.chunks[kept++] = *chunk;
	}
	live.chunk_count = kept;
	live_close(fd, own);
	/* Whatever was committed before this round began is folded: see Pruning. */
	live.ended = live.round;
	uint64_t folded = live.events - before;
	if (!live.failed && mode == MP_LEAK_FOLD_PRUNE)
		live_shrink(folded);
	live.rounds++;
	return live.failed ? live.failed : (int)(folded < INT32_MAX ? folded : INT32_MAX);
}

void mp_leak_live_progress(uint64_t *progress)
{
	live.progress = progress;
}

uint64_t mp_leak_live_count(void)
{
	return live.live;
}

uint64_t mp_leak_live_events(void)
{
	return live.events;
}

uint64_t mp_leak_live_table_ops(void)
{
	return live.table_ops;
}

void mp_leak_live_time_span(uint64_t ns)
{
	live.time_span = ns;
}

uint64_t mp_leak_live_rebases(void)
{
	return live.rebases;
}

void mp_leak_live_growth(uint64_t *in_place, uint64_t *rehashed, uint64_t *stashed)
{
	*in_place = live.grown_in_place;
	*rehashed = live.rehashed;
	*stashed = live.stashed;
}

void mp_leak_live_shrinks(uint64_t *done, uint64_t *abandoned, uint64_t *slots)
{
	*done = live.shrinks;
	*abandoned = live.shrinks_abandoned;
	*slots = live.slots ? live.mask + 1 : 0;
}

void mp_leak_live_shrink_patience(uint64_t ns)
{
	live.shrink_patience_ns = ns;
}

void mp_leak_live_exit_coming(void)
{
	__atomic_store_n(&exit_coming, 1, __ATOMIC_RELAXED);
}

/* Copies up to `total` live entries to out; returns how many, and in *varying the bits in
 * which their addresses differ. Only the groups of slots that hold one are read: a table
 * sized for the heap's peak may hold a few blocks at exit (python's dict: 8M slots,
 * 192 MiB, 20 blocks), and reading it all took 20-30 ms. */
static size_t live_list(struct mp_leak_block *out, size_t total, uint64_t *varying)
{
	size_t at = 0;
	uint64_t first = 0, differ = 0;
	uint64_t groups = live.slots ? (live.mask + 1) >> LIVE_GROUP_SHIFT : 0;
	for (uint64_t group = 0; group < groups && at < total; group++) {
		if (!live.group_live[group])
			continue;
		struct live_slot *slots = live.slots + (group << LIVE_GROUP_SHIFT);
		for (uint64_t i = 0; i < (1u << LIVE_GROUP_SHIFT) && at < total; i++) {
			if (!slots[i].addr || !slot_live(&slots[i]))
				continue;
			first = at ? first : slots[i].addr;
			differ |= slots[i].addr ^ first;
			out[at++] = (struct mp_leak_block){ slots[i].addr, live_size(&slots[i]) };
		}
	}
	*varying = differ;
	return at;
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
	if (live.failed)
		return live.failed;
	size_t total = (size_t)live.live;
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
		uint64_t varying;
		size_t at = live_list(out, total, &varying);
		struct mp_leak_block *sorted = live_sort(out, scratch, at, varying, counts, digit_bits);
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
	if (live.slots)
		mp_sys_unmap(live.slots, live_table_bytes(live.mask + 1));
	live_unmap(live.chunks, live.chunk_cap * sizeof(*live.chunks));
	live_unmap(live.buffer, LIVE_BUFFER_BYTES);
	live_unmap(live.stash, LIVE_STASH_ENTRIES * sizeof(struct live_slot));
	live_unmap(live.big, live.big ? (live.big_mask + 1) * sizeof(struct live_big) : 0);
	uint64_t *progress = live.progress;
	memset(&live, 0, sizeof(live));
	live.progress = progress;
	memset(&batch, 0, sizeof(batch));
	inherit.pending = 0;
	__atomic_store_n(&exit_coming, 0, __ATOMIC_RELAXED);
}
