/* leak_live.c: the blocks still allocated, folded from the trace file as it grows.
 *
 * The recorder keeps no set of live blocks: that would cost every malloc and free a
 * shared hash update. The trace holds every event, so the set is folded from it instead,
 * a round at a time, by the leak thread (leak_thread.c) while the program runs: each
 * round reads, with pread(2) on a descriptor opened for the round, the records every
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
 *
 * Pruning. A released address is kept only while an older allocation of it may still
 * be unfolded. An allocation is committed before its block is returned to the program,
 * so before any release of that block is even recorded. A round reads every chunk's
 * committed length in turn; whatever was committed before a round starts is folded by
 * its end. So a release folded in round k-1 was committed before round k began, its
 * allocation too, and at the end of round k no older allocation of that address can
 * come: the release is pruned (from a log of the round's releases, so pruning costs
 * what the releases cost, never a walk of the table). A pruned slot stays in the table
 * as a marker that probes go past and insertions reuse, until the table is full enough
 * to drop them all in one pass. The table thus holds the live blocks and the releases
 * of the last two rounds; it shrinks when under a sixteenth of it holds entries. A check's round
 * prunes nothing (it needs the live blocks, not the memory back).
 *
 * Cost. Most blocks live briefly: an allocation and its release within the same batch
 * of one thread's records cancel out before they reach the table. The rest miss the
 * cache once the heap is large, so slots are prefetched a few operations ahead, and a
 * large table asks for huge pages.
 *
 * Chunks. A chunk is open while its thread may still commit into it. It is complete
 * once the thread marked it last (MP_CHUNK_LAST) or a later chunk of the same thread
 * appeared; it is folded one more round after that, then forgotten. A chunk header not
 * written yet ends the walk for the round, unless a valid one follows (its writer failed
 * between growing the file and writing it); one that does not validate otherwise is
 * stepped over a page at a time, as the analyzer's reader does. The file is checked to
 * be this process's trace at every round (its pid and start time).
 *
 * Memory: the table (24-byte slots, between 5/16 and 5/8 in use: 40 to 80 bytes per live
 * block), the open chunks, the release logs and one read buffer with the batch, all from
 * mp_sys_map_anon; the table is bounded by MEMPROF_LEAK_CHECK_MAX_MB.
 * Not thread-safe: one thread at a time (leak_thread.c serializes).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "memprof/trace_decode.h"

#define LIVE_RELEASED (1ull << 63) /* in slot.size: the last event released the address */
#define LIVE_PRUNED 1u /* in slot.addr: a release dropped (0: empty) */
#define LIVE_FIRST_SLOTS (1u << 12)
#define LIVE_BATCH 8192u /* operations of one chunk decoded, paired, then applied */
#define LIVE_PAIR_SLOTS 16384u /* the batch's allocations by address (twice the batch) */
#define LIVE_PAIR_GONE UINT32_MAX /* in batch.pairs: a pair that cancelled out */
#define LIVE_PREFETCH 12u /* how far ahead a fold or a prune prefetches: about the misses
			     a core keeps in flight */
#define LIVE_HUGE_BYTES (4u << 20)
#define LIVE_READ_BYTES (256u * 1024u)
/* The read buffer, then the batch, then the batch's index of allocations by address. */
#define LIVE_BUFFER_BYTES (LIVE_READ_BYTES + LIVE_BATCH * 32u + LIVE_PAIR_SLOTS * 4u)
#define LIVE_FIRST_CHUNKS 64u
#define LIVE_FIRST_LOG 4096u
#define LIVE_CHUNK_FORGET 3u /* chunk.complete: folded twice since it was found complete */
#define LIVE_LOOKAHEAD_PAGES 512u

struct live_slot {
	uint64_t addr; /* 0: empty */
	uint64_t size; /* | LIVE_RELEASED */
	uint64_t time;
};

struct live_release {
	uint64_t addr, time;
};

struct live_log {
	struct live_release *items;
	size_t count, cap;
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
	uint64_t used;           /* slots not empty: entries, released ones, pruned ones */
	uint64_t pruned;         /* slots pruned */
	uint64_t live;           /* entries not released */
	int failed;              /* -ENOMEM or -E2BIG: the table could not grow */
	struct live_chunk *chunks;
	size_t chunk_count, chunk_cap;
	struct live_log logs[2]; /* releases folded in the round before, and in this one */
	uint64_t walk;           /* file offset of the next chunk header to look at */
	uint32_t page;
	uint8_t *buffer;         /* LIVE_READ_BYTES */
	uint64_t start_ns;       /* the trace's start time, which names it; 0 before a round */
	uint64_t *progress;      /* bumped at every batch: a waiter's sign of life */
	uint64_t rounds, events;
	uint64_t table_ops;      /* operations that reached the table (not paired) */
} live;

/* Operations waiting to be applied (live_flush): after the read buffer, in memory of
 * ours (in the library's own data they would be roots: block addresses). */
struct live_op {
	uint64_t addr, size, time;
	int release;
};
_Static_assert(sizeof(struct live_op) == 32, "LIVE_BUFFER_BYTES counts 32 bytes an operation");
static struct {
	struct live_op *ops;   /* LIVE_BATCH */
	uint32_t *pairs;       /* LIVE_PAIR_SLOTS: index + 1 of an allocation in ops, or 0 */
	size_t count;
} batch;

static uint64_t live_hash(uint64_t addr)
{
	addr ^= addr >> 29;
	addr *= 0xbf58476d1ce4e5b9ull;
	return addr ^ (addr >> 32);
}

/* The slot holding addr, or NULL. */
static struct live_slot *live_find(uint64_t addr)
{
	for (uint64_t at = live_hash(addr) & live.mask;; at = (at + 1) & live.mask) {
		uint64_t here = live.slots[at].addr;
		if (here == addr)
			return &live.slots[at];
		if (!here)
			return NULL;
	}
}

/* A slot for addr, which is not in the table: the first pruned one on its way, or the
 * empty one that ends it. */
static struct live_slot *live_free_slot(struct live_slot *slots, uint64_t mask, uint64_t addr)
{
	uint64_t at = live_hash(addr) & mask;
	while (slots[at].addr > LIVE_PRUNED)
		at = (at + 1) & mask;
	return &slots[at];
}

static size_t live_round_up(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* Rehashes the entries (pruned slots are dropped) into `capacity` slots, a power of two.
 * The table may take at most MEMPROF_LEAK_CHECK_MAX_MB (config.c): a program that needs
 * more gets no leak kinds (reported as such), never an exit that runs out of memory. */
static int live_resize(uint64_t capacity)
{
	if (capacity * sizeof(struct live_slot) > mp_config.leak_check_max_bytes)
		return -E2BIG;
	struct live_slot *slots = mp_sys_map_anon(capacity * sizeof(struct live_slot));
	if (!slots)
		return -ENOMEM;
	/* A large table is touched at random: in 4 KiB pages every access would miss the TLB
	 * as well as the cache. */
	if (capacity * sizeof(struct live_slot) >= LIVE_HUGE_BYTES)
		syscall(SYS_madvise, slots, capacity * sizeof(struct live_slot), MADV_HUGEPAGE);
	/* Written before anything reads it: a probe's first read of a fresh page maps the
	 * shared zero page, and the write after it then has to unmap that page from every
	 * CPU running the program (a TLB shootdown, an IPI that a VM pays dearly for: 3-4%
	 * of alloc_bench's samples went to them). A write first simply allocates the page. */
	for (uint64_t at = 0; at < capacity * sizeof(struct live_slot); at += 4096)
		((volatile uint8_t *)slots)[at] = 0;
	struct live_slot *old = live.slots;
	uint64_t old_capacity = old ? live.mask + 1 : 0;
	for (uint64_t i = 0; i < old_capacity; i++)
		if (old[i].addr > LIVE_PRUNED)
			*live_free_slot(slots, capacity - 1, old[i].addr) = old[i];
	live.slots = slots;
	live.mask = capacity - 1;
	live.used -= live.pruned;
	live.pruned = 0;
	if (old)
		mp_sys_unmap(old, old_capacity * sizeof(struct live_slot));
	return 0;
}

/* The smallest table that holds `entries` at most half full. */
static uint64_t live_capacity_for(uint64_t entries)
{
	uint64_t capacity = LIVE_FIRST_SLOTS;
	while (capacity < entries * 2)
		capacity *= 2;
	return capacity;
}

/* Drops the pruned slots in place: every entry is taken out and put back where a probe
 * from its home first finds room, in table order from an empty slot, so that the ones
 * already put back are where they stay. A sequential pass, no new memory: a new table
 * would cost its size in zeroed pages (a churning program prunes much). */
static void live_compact(void)
{
	uint64_t capacity = live.mask + 1, start = 0;
	for (uint64_t i = 0; i < capacity; i++)
		if (live.slots[i].addr == LIVE_PRUNED)
			live.slots[i].addr = 0;
	while (live.slots[start].addr)
		start++; /* there is one: the table is never full */
	for (uint64_t step = 1; step <= capacity; step++) {
		struct live_slot *slot = &live.slots[(start + step) & live.mask];
		if (!slot->addr)
			continue;
		struct live_slot entry = *slot;
		slot->addr = 0;
		*live_free_slot(live.slots, live.mask, entry.addr) = entry;
	}
	live.used -= live.pruned;
	live.pruned = 0;
}

/* Room for one more slot in use: at 5/8 (pruned slots count, since probes cross them) the
 * pruned slots are dropped, and the table doubled if its entries alone fill half of it:
 * so between 24 / (5/8) and 24 / (5/16) bytes per entry. */
static int live_make_room(void)
{
	uint64_t capacity = live.mask + 1;
	if ((live.used + 1) * 8 <= capacity * 5)
		return 0;
	uint64_t wanted = live_capacity_for(live.used - live.pruned + 1);
	if (wanted > capacity)
		return live_resize(wanted);
	live_compact();
	return 0;
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

static void live_log_release(uint64_t addr, uint64_t time)
{
	struct live_log *log = &live.logs[1];
	if (live_grow_array((void **)&log->items, &log->cap, log->count + 1, sizeof(*log->items),
			    LIVE_FIRST_LOG) < 0) {
		live.failed = -ENOMEM;
		return;
	}
	log->items[log->count++] = (struct live_release){ addr, time };
}

/* Applies one allocation (release = 0) or release of `addr` at `time`. */
static void live_apply(uint64_t addr, uint64_t size, uint64_t time, int release)
{
	if (addr <= LIVE_PRUNED || live.failed)
		return;
	struct live_slot *slot = live_find(addr);
	if (slot) {
		int newer = time > slot->time || (time == slot->time && release);
		if (!newer)
			return;
		live.live -= !(slot->size & LIVE_RELEASED);
	} else {
		int err = live_make_room();
		if (err < 0) {
			live.failed = err;
			return;
		}
		slot = live_free_slot(live.slots, live.mask, addr);
		if (slot->addr == LIVE_PRUNED)
			live.pruned--;
		else
			live.used++;
	}
	slot->addr = addr;
	slot->size = release ? LIVE_RELEASED : size;
	slot->time = time;
	live.live += !release;
	if (release)
		live_log_release(addr, time);
}

/* Drops the pairs that cancel out: a block allocated and freed within the batch, which
 * holds the records of one thread in order. Their net effect would be a release of
 * the address at the free's time, which only decides against an older allocation
 * still unfolded, whose own release is unfolded too and decides on its own. Most blocks
 * live briefly: this spares the table most of its misses. */
static void live_pair(void)
{
	/* The index is sized to the batch, at least twice its count: a round's batch is
	 * often much smaller than LIVE_BATCH, and clearing all of it cost more than the
	 * pairing of a small batch. */
	uint32_t mask = 63;
	while (mask + 1 < 2 * batch.count)
		mask = mask * 2 + 1;
	memset(batch.pairs, 0, (mask + 1) * sizeof(*batch.pairs));
	for (size_t i = 0; i < batch.count; i++) {
		struct live_op *op = &batch.ops[i];
		uint32_t at = (uint32_t)(live_hash(op->addr) & mask);
		uint32_t reuse = UINT32_MAX;
		for (; batch.pairs[at]; at = (at + 1) & mask) {
			if (batch.pairs[at] == LIVE_PAIR_GONE) {
				reuse = reuse == UINT32_MAX ? at : reuse;
				continue;
			}
			if (batch.ops[batch.pairs[at] - 1].addr == op->addr)
				break;
		}
		if (!op->release) {
			/* An address allocated again and again (the allocator hands the same block
			 * back) reuses the slot its last pair left. */
			batch.pairs[batch.pairs[at] || reuse == UINT32_MAX ? at : reuse] = (uint32_t)i + 1;
		} else if (batch.pairs[at]) {
			batch.ops[batch.pairs[at] - 1].addr = 0;
			op->addr = 0;
			batch.pairs[at] = LIVE_PAIR_GONE; /* probes go on past it */
		}
	}
}

/* Applies the operations decoded so far, in order. The table is far larger than the
 * cache once the heap is: each operation misses it, so the slots are prefetched
 * LIVE_PREFETCH operations ahead and the misses overlap. */
static void live_flush(void)
{
	live_pair();
	if (live.progress)
		__atomic_add_fetch(live.progress, 1, __ATOMIC_RELAXED);
	size_t count = 0;
	for (size_t i = 0; i < batch.count; i++)
		if (batch.ops[i].addr)
			batch.ops[count++] = batch.ops[i];
	live.table_ops += count;
	for (size_t i = 0; i < count && i < LIVE_PREFETCH && live.slots; i++)
		__builtin_prefetch(&live.slots[live_hash(batch.ops[i].addr) & live.mask], 1);
	for (size_t i = 0; i < count; i++) {
		if (i + LIVE_PREFETCH < count && live.slots)
			__builtin_prefetch(&live.slots[live_hash(batch.ops[i + LIVE_PREFETCH].addr) &
						       live.mask], 1);
		live_apply(batch.ops[i].addr, batch.ops[i].size, batch.ops[i].time,
			   batch.ops[i].release);
	}
	batch.count = 0;
}

static void live_push(uint64_t addr, uint64_t size, uint64_t time, int release)
{
	if (!addr)
		return;
	if (batch.count == LIVE_BATCH)
		live_flush();
	batch.ops[batch.count++] = (struct live_op){ addr, size, time, release };
}

static void live_event(const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
		live_push(event->addr, event->size, event->time_ns, 0);
		break;
	case MP_REC_FREE:
		live_push(event->addr, 0, event->time_ns, 1);
		break;
	case MP_REC_REALLOC:
		live_push(event->old_addr, 0, event->time_before_ns, 1);
		/* In place: the new block wins over the release of the same record. */
		live_push(event->addr, event->size,
			  event->time_ns > event->time_before_ns || event->addr != event->old_addr
				  ? event->time_ns : event->time_ns + 1, 0);
		break;
	default:
		break;
	}
	live.events++;
}

/* Prunes the releases folded before the last pruning round that nothing changed since
 * (their slots are marked pruned: probes go on past them, insertions reuse them, a
 * rehash drops them), then shrinks a table that is mostly empty. */
static void live_prune(void)
{
	struct live_log *old = &live.logs[0];
	for (size_t i = 0; i < old->count && live.slots; i++) {
		if (i + LIVE_PREFETCH < old->count)
			__builtin_prefetch(&live.slots[live_hash(old->items[i + LIVE_PREFETCH].addr) &
						       live.mask]);
		struct live_slot *slot = live_find(old->items[i].addr);
		if (slot && (slot->size & LIVE_RELEASED) && slot->time == old->items[i].time) {
			slot->addr = LIVE_PRUNED;
			live.pruned++;
		}
	}
	old->count = 0;
	struct live_log swap = live.logs[0];
	live.logs[0] = live.logs[1];
	live.logs[1] = swap;
	uint64_t entries = live.used - live.pruned, capacity = live.mask + 1;
	if (live.slots && capacity > LIVE_FIRST_SLOTS && entries * 16 < capacity)
		live_resize(live_capacity_for(entries)); /* on failure the table simply stays */
}

/* Folds the records of buf[0..len), which starts at a record boundary of `chunk`;
 * returns the bytes consumed (up to the last whole record), or -1 on a record that
 * cannot decode although it lies whole in the buffer. `whole`: buf ends at `used`. */
static long live_records(struct live_chunk *chunk, const uint8_t *buf, size_t len, int whole,
			 uint64_t *skip)
{
	const uint8_t *at = buf, *end = buf + len;
	struct mp_raw_event raw;
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
				return (long)len;
			}
			at += body;
		} else if (mp_decode_event(&at, end, tag, &chunk->decode, &raw) == 0) {
			live_event(&raw.event);
		} else {
			at = record;
			break;
		}
	}
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

/* Folds what `chunk` committed since the last round. */
static void live_fold_chunk(int fd, struct live_chunk *chunk)
{
	struct mp_chunk_header header;
	if (live_read_header(fd, chunk->offset, &header) < 0 ||
	    !mp_chunk_header_valid(&header, live.page)) {
		chunk->complete = LIVE_CHUNK_FORGET; /* gone or overwritten */
		return;
	}
	if ((header.flags & MP_CHUNK_LAST) && !chunk->complete)
		chunk->complete = 1;
	while (chunk->done < header.used && !live.failed) {
		size_t want = header.used - chunk->done;
		if (want > LIVE_READ_BYTES)
			want = LIVE_READ_BYTES;
		long got = live_pread(fd, live.buffer, want, chunk->offset + chunk->done);
		if (got <= 0)
			return;
		uint64_t skip = 0;
		long used = live_records(chunk, live.buffer, (size_t)got,
					 chunk->done + (uint64_t)got == header.used, &skip);
		live_flush();
		if (used < 0) {
			chunk->complete = LIVE_CHUNK_FORGET; /* corrupt: the rest is not trusted */
			return;
		}
		if (used == 0)
			return; /* a record straddles what the writer committed: next round */
		chunk->done += (uint32_t)used;
		if (skip) {
			if (chunk->done + skip > header.used)
				return; /* cannot happen: committed records are whole */
			chunk->done += (uint32_t)skip;
		}
	}
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

static int live_add_chunk(uint64_t offset, const struct mp_chunk_header *header)
{
	if (live_grow_array((void **)&live.chunks, &live.chunk_cap, live.chunk_count + 1,
			    sizeof(*live.chunks), LIVE_FIRST_CHUNKS) < 0)
		return -ENOMEM;
	live_supersede(header->thread_serial, header->chunk_seq);
	live.chunks[live.chunk_count++] = (struct live_chunk){
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
static int live_file_is_ours(int fd)
{
	struct mp_file_header header;
	if (live_pread(fd, &header, sizeof(header), 0) != (long)sizeof(header) ||
	    memcmp(header.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN) != 0 ||
	    header.pid != (uint32_t)getpid())
		return 0;
	if (!live.start_ns) {
		live.start_ns = header.start_monotonic_ns;
		live.page = header.page_size ? header.page_size : 4096;
		live.walk = header.header_size;
	}
	return header.start_monotonic_ns == live.start_ns;
}

int mp_leak_live_fold(const char *path, int prune)
{
	if (!live.buffer) {
		live.buffer = mp_sys_map_anon(LIVE_BUFFER_BYTES);
		if (!live.buffer)
			return -ENOMEM;
		batch.ops = (struct live_op *)(live.buffer + LIVE_READ_BYTES);
		batch.pairs = (uint32_t *)(batch.ops + LIVE_BATCH);
		batch.count = 0;
	}
	if (!live.slots && !live.failed)
		live.failed = live_resize(LIVE_FIRST_SLOTS);
	if (live.failed)
		return live.failed;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	uint64_t before = live.events;
	if (!live_file_is_ours(fd) || syscall(SYS_fstat, fd, &st) != 0) {
		syscall(SYS_close, fd);
		return -ESTALE;
	}
	live_discover(fd, (uint64_t)st.st_size);
	size_t kept = 0;
	for (size_t i = 0; i < live.chunk_count; i++) {
		struct live_chunk *chunk = &live.chunks[i];
		live_fold_chunk(fd, chunk);
		/* Noticed complete: folded in this round and the next, then forgotten. */
		if (chunk->complete)
			chunk->complete++;
		if (chunk->complete < LIVE_CHUNK_FORGET)
			live.chunks[kept++] = *chunk;
	}
	live.chunk_count = kept;
	syscall(SYS_close, fd);
	if (!live.failed && prune)
		live_prune();
	live.rounds++;
	uint64_t folded = live.events - before;
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

/* LSD radix sort by address, 16 bits a pass, skipping passes where every key has the
 * same digit (heap addresses share their top bits). */
static void live_sort(struct mp_leak_block *blocks, struct mp_leak_block *scratch, size_t count,
		      uint32_t *counts)
{
	for (int shift = 0; shift < 64; shift += 16) {
		memset(counts, 0, 65536 * sizeof(*counts));
		for (size_t i = 0; i < count; i++)
			counts[(blocks[i].addr >> shift) & 0xffff]++;
		if (count == 0 || counts[(blocks[0].addr >> shift) & 0xffff] == count)
			continue;
		uint32_t total = 0;
		for (size_t digit = 0; digit < 65536; digit++) {
			uint32_t here = counts[digit];
			counts[digit] = total;
			total += here;
		}
		for (size_t i = 0; i < count; i++)
			scratch[counts[(blocks[i].addr >> shift) & 0xffff]++] = blocks[i];
		memcpy(blocks, scratch, count * sizeof(*blocks));
	}
}

int mp_leak_live_blocks(struct mp_leak_block **blocks, size_t *count, size_t *bytes)
{
	if (live.failed)
		return live.failed;
	size_t total = (size_t)live.live;
	size_t array_bytes = live_round_up((total ? total : 1) * sizeof(struct mp_leak_block));
	size_t counts_bytes = 65536 * sizeof(uint32_t);
	struct mp_leak_block *out = mp_sys_map_anon(array_bytes);
	struct mp_leak_block *scratch = mp_sys_map_anon(array_bytes);
	uint32_t *counts = mp_sys_map_anon(counts_bytes);
	int err = out && scratch && counts ? 0 : -ENOMEM;
	if (!err) {
		size_t at = 0;
		for (uint64_t i = 0; live.slots && i <= live.mask && at < total; i++)
			if (live.slots[i].addr > LIVE_PRUNED && !(live.slots[i].size & LIVE_RELEASED))
				out[at++] = (struct mp_leak_block){ live.slots[i].addr,
								    live.slots[i].size };
		live_sort(out, scratch, at, counts);
		*blocks = out;
		*count = at;
		*bytes = array_bytes;
	} else if (out) {
		mp_sys_unmap(out, array_bytes);
	}
	if (scratch)
		mp_sys_unmap(scratch, array_bytes);
	if (counts)
		mp_sys_unmap(counts, counts_bytes);
	return err;
}

static void live_unmap(void *items, size_t bytes)
{
	if (items)
		mp_sys_unmap(items, live_round_up(bytes));
}

void mp_leak_live_reset(void)
{
	live_unmap(live.slots, live.slots ? (live.mask + 1) * sizeof(struct live_slot) : 0);
	live_unmap(live.chunks, live.chunk_cap * sizeof(*live.chunks));
	for (int i = 0; i < 2; i++)
		live_unmap(live.logs[i].items, live.logs[i].cap * sizeof(struct live_release));
	live_unmap(live.buffer, LIVE_BUFFER_BYTES);
	uint64_t *progress = live.progress;
	memset(&live, 0, sizeof(live));
	live.progress = progress;
	memset(&batch, 0, sizeof(batch));
}
