/* trace_private.h: the inside of struct mp_trace, shared by the reader's three files and
 * no one else: trace_read.c (opening, the header, the chunk walk, the accessors),
 * trace_index.c (the index pass over every record) and trace_merge.c (the time-ordered
 * merge of the threads' events). Callers use trace_read.h.
 */
#ifndef MEMPROF_TRACE_PRIVATE_H
#define MEMPROF_TRACE_PRIVATE_H

#include <sys/mman.h>
#include <unistd.h>

#include "freed_samples.h"
#include "memprof/trace_decode.h"
#include "trace_read.h"
#include "trace_tables.h"

/* One chunk that passed validation; records are [records, end). */
struct mp_trace_chunk {
	const uint8_t *records, *end;
	uint64_t base_time;
	uint32_t serial, tid, seq, file_order;
	uint32_t flags;     /* the chunk header's MP_CHUNK_* */
	/* Heap blocks the chunk's events create less those they release (a free -1, an
	 * allocation +1, a realloc 0), and the most that difference reached within the chunk
	 * (>= 0): the index pass's figures for mp_trace_live_hint. */
	int64_t net_blocks;
	uint64_t most_net_blocks;
};

/* One thread's position in the merge: the next event is decoded ahead in `next`. */
struct mp_trace_stream {
	struct mp_raw_event next;
	uint64_t key_time;  /* the release time for realloc/mremap, else the event time */
	uint64_t key_rank;  /* releases first at equal times, then by thread serial */
	const uint8_t *at, *end;
	struct mp_decode_state state;
	const struct mp_trace_chunk *chunk, *first_chunk, *chunks_end;
	const struct mp_trace *trace;
};

struct mp_trace {
	const uint8_t *data;
	size_t size;
	int mapped;
	int window;  /* 1: a mapped file too big to keep resident: chunks are released from
			memory once read (mp_trace_release) */
	struct mp_file_header header;
	char *exe, *cmdline;
	size_t cmdline_len;
	struct mp_trace_chunk *chunks;
	size_t chunk_count;
	struct mp_trace_stream *streams;
	struct mp_trace_stream **heap;
	size_t stream_count, heap_len;
	struct mp_stack_table stacks;
	struct mp_module_table modules;
	struct mp_trace_stats stats;
	uint64_t live_hint;  /* mp_trace_live_hint */
	struct mp_ext_record *ext;  /* extended records of kinds other than STACK and MODULE */
	size_t ext_count, ext_cap;
	struct mp_freed_table freed; /* SAMPLES_FREED records, summed per stack */
	/* The sampled set with the highest generation (MP_CHUNK_SAMPLED_SET); NULL if none. */
	const struct mp_sampled_set_entry *sampled_set;
	uint64_t sampled_set_capacity, sampled_set_generation;
};

/* Drops the pages of [from, to) from this process's memory once the reader is done with
 * them, in a trace read through a window: they stay in the kernel's page cache and come
 * back on a later read (the pointers into the mapping stay valid), but the resident size
 * stays bounded by what is being read, whatever the trace's length. */
static inline void mp_trace_release(const struct mp_trace *trace, const uint8_t *from,
				    const uint8_t *to)
{
	if (!trace->window)
		return;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)from + page - 1) & ~(page - 1);
	uintptr_t end = (uintptr_t)to & ~(page - 1);
	if (end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

/* trace_index.c. Steps over every record of the walked chunks: loads the STACK and MODULE
 * records into the tables, remembers the other extended records, counts events, and cuts
 * each chunk before its first record that does not decode. 0 or -ENOMEM. */
int mp_trace_index(struct mp_trace *trace);

/* trace_merge.c. Sorts the chunks into one stream per thread and puts the merge at the
 * first event. 0 or -ENOMEM. */
int mp_trace_merge_build(struct mp_trace *trace);

#endif
