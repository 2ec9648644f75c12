/* leak_live.c: the blocks still allocated, rebuilt at exit from the trace file itself.
 *
 * The recorder keeps no set of live blocks (that would cost every malloc and free a
 * lock or a hash update), but the trace holds every event, so at exit the set is
 * rebuilt from it: the file is mapped read-only and every chunk decoded up to its
 * committed `used`, with the bounded decoder every reader of a trace shares
 * (memprof/trace_decode.h, header-only). Chunks come in file order, not time order, so
 * the result must not depend on order: per address the event with the latest time wins,
 * and at equal times a release beats an allocation (a free's time is taken before the
 * real free, an allocation's after the real call, so a reuse of the address is always
 * later). A realloc releases old_addr at its time before and creates addr at its time
 * after.
 *
 * Memory: an open-addressing table of 24-byte slots keyed by address (one per distinct
 * address ever allocated), doubled at 5/8 full, then the live ones copied out and
 * radix-sorted by address. All of it from mp_sys_map_anon.
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
#define LIVE_FIRST_SLOTS (1u << 16)

struct live_slot {
	uint64_t addr; /* 0: empty */
	uint64_t size; /* | LIVE_RELEASED */
	uint64_t time;
};

struct live_table {
	struct live_slot *slots;
	uint64_t mask;
	uint64_t used;
	int failed;    /* -ENOMEM or -E2BIG: the table could not grow */
	uint64_t budget; /* bytes the slots may take */
};

static uint64_t live_hash(uint64_t addr)
{
	addr ^= addr >> 29;
	addr *= 0xbf58476d1ce4e5b9ull;
	return addr ^ (addr >> 32);
}

static struct live_slot *live_slot_of(struct live_table *table, uint64_t addr)
{
	uint64_t at = live_hash(addr) & table->mask;
	while (table->slots[at].addr && table->slots[at].addr != addr)
		at = (at + 1) & table->mask;
	return &table->slots[at];
}

/* The table may take at most MEMPROF_LEAK_CHECK_MAX_MB (config.c): about 48 bytes per
 * distinct heap address the program ever used. A program that needs more gets no leak
 * kinds (reported as such), never an exit that runs out of memory. */
static int live_grow(struct live_table *table)
{
	uint64_t capacity = table->slots ? (table->mask + 1) * 2 : LIVE_FIRST_SLOTS;
	if (capacity * sizeof(struct live_slot) > table->budget)
		return -E2BIG;
	struct live_table bigger = { mp_sys_map_anon(capacity * sizeof(struct live_slot)),
				     capacity - 1, table->used, 0, table->budget };
	if (!bigger.slots)
		return -ENOMEM;
	for (uint64_t i = 0; table->slots && i <= table->mask; i++)
		if (table->slots[i].addr)
			*live_slot_of(&bigger, table->slots[i].addr) = table->slots[i];
	if (table->slots)
		mp_sys_unmap(table->slots, (table->mask + 1) * sizeof(struct live_slot));
	*table = bigger;
	return 0;
}

/* Applies one allocation (release = 0) or release of `addr` at `time`. */
static void live_apply(struct live_table *table, uint64_t addr, uint64_t size, uint64_t time,
		       int release)
{
	if (!addr || table->failed)
		return;
	if ((table->used + 1) * 8 > (table->mask + 1) * 5 && live_grow(table) < 0) {
		table->failed = -ENOMEM;
		return;
	}
	struct live_slot *slot = live_slot_of(table, addr);
	if (slot->addr) {
		int newer = time > slot->time || (time == slot->time && release);
		if (!newer)
			return;
	} else {
		table->used++;
	}
	slot->addr = addr;
	slot->size = release ? LIVE_RELEASED : size;
	slot->time = time;
}

static void live_event(struct live_table *table, const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
		live_apply(table, event->addr, event->size, event->time_ns, 0);
		break;
	case MP_REC_FREE:
		live_apply(table, event->addr, 0, event->time_ns, 1);
		break;
	case MP_REC_REALLOC:
		live_apply(table, event->old_addr, 0, event->time_before_ns, 1);
		/* In place: the new block wins over the release of the same record. */
		live_apply(table, event->addr, event->size,
			   event->time_ns > event->time_before_ns || event->addr != event->old_addr
				   ? event->time_ns : event->time_ns + 1, 0);
		break;
	default:
		break;
	}
}

/* Decodes one chunk's committed records into the table. */
static void live_chunk(struct live_table *table, const uint8_t *chunk, uint32_t used)
{
	const struct mp_chunk_header *header = (const struct mp_chunk_header *)chunk;
	struct mp_decode_state state = { 0, header->base_time_ns };
	struct mp_raw_event raw;
	const uint8_t *at = chunk + sizeof(*header), *end = chunk + used;
	while (at < end) {
		unsigned tag = *at++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t len;
			if (mp_get_u(&at, end, &len) || len > (uint64_t)(end - at))
				return;
			at += len;
		} else if (mp_decode_event(&at, end, tag, &state, &raw) == 0) {
			live_event(table, &raw.event);
		} else {
			return;
		}
	}
}

/* Walks the chunks of the mapped file as the analyzer does, minus its repairs: a chunk
 * header that does not validate (memprof/trace_decode.h) is skipped a page at a time, and
 * so is one that claims more than the file holds. Other threads may still be committing:
 * each header is copied with its `used` read once. */
static void live_walk(struct live_table *table, const uint8_t *data, size_t size)
{
	const struct mp_file_header *file = (const struct mp_file_header *)data;
	uint32_t page = file->page_size ? file->page_size : 4096;
	uint64_t offset = file->header_size;
	while (offset + sizeof(struct mp_chunk_header) <= size && !table->failed) {
		const struct mp_chunk_header *in_file = (const void *)(data + offset);
		struct mp_chunk_header chunk = *in_file;
		chunk.used = __atomic_load_n(&in_file->used, __ATOMIC_ACQUIRE);
		if (!mp_chunk_header_valid(&chunk, page) || chunk.capacity > size - offset) {
			offset += page;
			continue;
		}
		live_chunk(table, data + offset, chunk.used);
		offset += chunk.capacity;
	}
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

static size_t live_round(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* Copies the live slots out, sorted. 0 or -ENOMEM. */
static int live_extract(struct live_table *table, struct mp_leak_block **blocks, size_t *count,
			size_t *bytes)
{
	size_t live = 0;
	for (uint64_t i = 0; i <= table->mask; i++)
		live += table->slots[i].addr && !(table->slots[i].size & LIVE_RELEASED);
	size_t array_bytes = live_round((live ? live : 1) * sizeof(struct mp_leak_block));
	size_t counts_bytes = 65536 * sizeof(uint32_t);
	struct mp_leak_block *out = mp_sys_map_anon(array_bytes);
	struct mp_leak_block *scratch = mp_sys_map_anon(array_bytes);
	uint32_t *counts = mp_sys_map_anon(counts_bytes);
	int err = out && scratch && counts ? 0 : -ENOMEM;
	if (!err) {
		size_t at = 0;
		for (uint64_t i = 0; i <= table->mask; i++)
			if (table->slots[i].addr && !(table->slots[i].size & LIVE_RELEASED))
				out[at++] = (struct mp_leak_block){ table->slots[i].addr,
								    table->slots[i].size };
		live_sort(out, scratch, live, counts);
		*blocks = out;
		*count = live;
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

int mp_leak_live_blocks(const char *path, struct mp_leak_block **blocks, size_t *count,
			size_t *bytes, uint64_t *sampled)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	void *data = MAP_FAILED;
	if (syscall(SYS_fstat, fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct mp_file_header))
		data = (void *)syscall(SYS_mmap, NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED,
				       fd, 0);
	int err = data == MAP_FAILED ? -EIO : 0;
	syscall(SYS_close, fd);
	if (err)
		return err;
	*sampled = ((const struct mp_file_header *)data)->sample_bytes;
	struct live_table table = { .budget = mp_config.leak_check_max_bytes };
	err = live_grow(&table);
	if (!err) {
		live_walk(&table, data, (size_t)st.st_size);
		err = table.failed;
	}
	if (!err)
		err = live_extract(&table, blocks, count, bytes);
	if (table.slots)
		mp_sys_unmap(table.slots, (table.mask + 1) * sizeof(struct live_slot));
	mp_sys_unmap(data, (size_t)st.st_size);
	return err;
}
