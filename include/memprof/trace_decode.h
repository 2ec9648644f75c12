/* trace_decode.h: decoding event records and validating chunk headers, for every reader
 * of a trace: the analyzer (analyzer/trace_read.c and its parts) and the preload's exit
 * leak check, which rebuilds the live blocks from its own trace file (preload/leak_live.c).
 *
 * Event records carry no length, so the field lists here must match trace_format.h
 * exactly. Every read is bounded by `end`; a record that does not fit fails as a whole and
 * leaves the delta state untouched, so the caller can stop the chunk at the record. All
 * inline: the analyzer decodes tens of millions of records a second through these, and the
 * preload may call nothing of the analyzer's.
 */
#ifndef MEMPROF_TRACE_DECODE_H
#define MEMPROF_TRACE_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memprof/trace_format.h"
#include "memprof/varint.h"

/* One decoded event record. The decoder fills the record's own fields; a reader that
 * merges threads fills in thread_serial, tid and the canonical stack_id. */
struct mp_event {
	enum mp_record_tag tag;   /* an event tag: MP_REC_MALLOC .. MP_REC_BRK */
	uint32_t thread_serial;
	uint32_t tid;
	uint64_t time_ns;         /* CLOCK_MONOTONIC; for realloc/mremap the time after */
	uint64_t time_before_ns;  /* realloc/mremap: time before the call; else = time_ns */
	uint64_t addr;            /* new/allocated address (0 for realloc(p, 0)) */
	uint64_t old_addr;        /* realloc/mremap: previous address (0 for realloc(NULL,n)) */
	uint64_t size;            /* requested bytes; mmap/munmap/mremap: length */
	uint64_t old_size;        /* mremap: old length */
	uint32_t stack_id;        /* canonical id (see mp_trace_stack), 0 if none */
	uint32_t failed_function; /* MP_REC_ALLOC_FAILED: the tag of the call that failed */
	uint32_t prot, flags;     /* mmap; flags also for mremap */
	int32_t fd;               /* mmap */
	uint64_t offset;          /* mmap */
};

/* Whether a chunk header (copied out of the file, `used` read once) is one a reader may
 * follow: the right magic and header size, a capacity of whole pages, and a committed
 * length inside it. A header failing this is skipped a page at a time: a writer may have
 * been killed between growing the file and filling the header. */
static inline int mp_chunk_header_valid(const struct mp_chunk_header *chunk, uint32_t page_size)
{
	return chunk->magic == MP_CHUNK_MAGIC && chunk->header_size == sizeof(*chunk) &&
	       chunk->capacity >= sizeof(*chunk) && page_size != 0 &&
	       chunk->capacity % page_size == 0 && chunk->used >= sizeof(*chunk) &&
	       chunk->used <= chunk->capacity;
}

/* The per-chunk delta bases of trace_format.h. */
struct mp_decode_state {
	uint64_t prev_addr;
	uint64_t prev_time;
};

/* A decoded event before its stack id is made canonical. */
struct mp_raw_event {
	struct mp_event event;
	uint64_t raw_stack;
};

/* mp_decode_u where MP_VARINT_MAX bytes are readable at *at, so that no byte needs its
 * own bounds check: for a reader that checked the room for a whole record at once
 * (preload/leak_live.c). Fields of one and two bytes, most of them, are decoded before
 * the loop, whose per-byte bookkeeping (the shift, the 64-bit check) cost them more than
 * the bytes themselves: folding a trace took 14-16% fewer instructions (callgrind). A
 * branch-free decode of 8 bytes at once took more. */
static inline int mp_decode_u_room(const uint8_t **at, uint64_t *out)
{
	const uint8_t *p = *at;
	uint64_t value = p[0];
	if (value < 0x80) {
		*out = value;
		*at = p + 1;
		return 0;
	}
	uint64_t second = p[1];
	value = (value & 0x7f) | (second & 0x7f) << 7;
	if (second < 0x80) {
		*out = value;
		*at = p + 2;
		return 0;
	}
	for (unsigned i = 2; i < MP_VARINT_MAX; i++) {
		uint64_t byte = p[i];
		value |= (byte & 0x7f) << (7 * i);
		if (byte < 0x80) {
			if (i == MP_VARINT_MAX - 1 && byte > 1)
				return -1; /* more than 64 bits */
			*out = value;
			*at = p + i + 1;
			return 0;
		}
	}
	return -1;
}

static inline int mp_decode_u(const uint8_t **at, const uint8_t *end, uint64_t *out)
{
	/* Far from the end (nearly always) a varint, at most MP_VARINT_MAX bytes, is read
	 * without a check per byte. */
	if (__builtin_expect(end - *at >= (ptrdiff_t)MP_VARINT_MAX, 1))
		return mp_decode_u_room(at, out);
	return mp_get_u(at, end, out);
}

static inline int mp_decode_s(const uint8_t **at, const uint8_t *end, uint64_t base,
			      uint64_t *out)
{
	uint64_t raw;
	if (mp_decode_u(at, end, &raw) < 0)
		return -1;
	*out = base + (uint64_t)mp_unzigzag(raw);
	return 0;
}

/* Fills *event with an allocation's or a free's fields, the rest as the decoder leaves
 * them: 0, or the time for time_before_ns. */
static inline void mp_decode_fill_simple(struct mp_event *event, unsigned tag, uint64_t time,
					 uint64_t addr, uint64_t size)
{
	event->tag = (enum mp_record_tag)tag;
	event->thread_serial = 0;
	event->tid = 0;
	event->time_ns = time;
	event->time_before_ns = time;
	event->addr = addr;
	event->old_addr = 0;
	event->size = size;
	event->old_size = 0;
	event->stack_id = 0;
	event->failed_function = 0;
	event->prot = 0;
	event->flags = 0;
	event->fd = 0;
	event->offset = 0;
}

/* The fast path below takes every tag from MP_REC_MALLOC to MP_REC_FREE, the allocation
 * tags then FREE (trace_format.h). */
_Static_assert(MP_REC_MALLOC == 1 && MP_REC_PVALLOC == 7 && MP_REC_FREE == 8,
	       "the allocation tags come right before MP_REC_FREE");

/* Longest allocation or free record after its tag: four varints. */
#define MP_DECODE_SIMPLE_ROOM (4 * MP_VARINT_MAX)

/* mp_decode_event_into for an allocation or a free (MP_REC_MALLOC .. MP_REC_FREE, the
 * events of nearly every record) with MP_DECODE_SIMPLE_ROOM bytes readable at *at: the
 * room checked once for the record instead of once a field, and only the fields the tag
 * has decoded. Accepts and produces exactly what the general path does; callgrind: about
 * a third fewer instructions for the analyzer's decoding of a trace. */
static inline int mp_decode_simple(const uint8_t **at, unsigned tag,
				   struct mp_decode_state *state, struct mp_event *event,
				   uint64_t *raw_stack)
{
	const uint8_t *p = *at;
	uint64_t zigzag, size = 0, stack = 0, dt;
	if (mp_decode_u_room(&p, &zigzag))
		return -1;
	if (tag != MP_REC_FREE && (mp_decode_u_room(&p, &size) || mp_decode_u_room(&p, &stack)))
		return -1;
	if (mp_decode_u_room(&p, &dt))
		return -1;
	uint64_t addr = state->prev_addr + (uint64_t)mp_unzigzag(zigzag);
	uint64_t time = state->prev_time + dt;
	mp_decode_fill_simple(event, tag, time, addr, size);
	*raw_stack = stack;
	state->prev_addr = addr;
	state->prev_time = time;
	*at = p;
	return 0;
}

/* Decodes the fields of event `tag` (already consumed) from *at into *event and its raw
 * stack id into *raw_stack. On success advances *at and *state and returns 0; returns -1
 * if the record does not decode, writing nothing. For a reader that
 * decodes straight into its caller's array: copying a decoded event out again, right
 * after the decoder's stores, cost the analyzer's merge more than the decoding. */
static inline int mp_decode_event_into(const uint8_t **at, const uint8_t *end, unsigned tag,
				       struct mp_decode_state *state, struct mp_event *event,
				       uint64_t *raw_stack)
{
	if (tag >= MP_REC_MALLOC && tag <= MP_REC_FREE && end - *at >= MP_DECODE_SIMPLE_ROOM)
		return mp_decode_simple(at, tag, state, event, raw_stack);
	const uint8_t *p = *at;
	uint64_t addr = 0, old = 0, size = 0, old_size = 0, stack = 0, prot = 0, flags = 0;
	uint64_t offset = 0, fd = 0, dt_before = 0, dt = 0, function = 0;
	uint64_t next_addr = state->prev_addr;
	int bad;
	switch (tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
		bad = mp_decode_s(&p, end, state->prev_addr, &addr) || mp_decode_u(&p, end, &size) ||
		      mp_decode_u(&p, end, &stack) || mp_decode_u(&p, end, &dt);
		next_addr = addr;
		break;
	case MP_REC_FREE:
		bad = mp_decode_s(&p, end, state->prev_addr, &addr) || mp_decode_u(&p, end, &dt);
		next_addr = addr;
		break;
	case MP_REC_REALLOC:
		bad = mp_decode_s(&p, end, state->prev_addr, &old) ||
		      mp_decode_s(&p, end, old, &addr) || mp_decode_u(&p, end, &size) ||
		      mp_decode_u(&p, end, &stack) || mp_decode_u(&p, end, &dt_before) ||
		      mp_decode_u(&p, end, &dt);
		next_addr = addr;
		break;
	case MP_REC_ALLOC_FAILED:
		bad = mp_decode_u(&p, end, &function) || mp_decode_u(&p, end, &size) ||
		      mp_decode_u(&p, end, &stack) || mp_decode_u(&p, end, &dt);
		break;
	case MP_REC_MMAP:
		bad = mp_decode_s(&p, end, state->prev_addr, &addr) || mp_decode_u(&p, end, &size) ||
		      mp_decode_u(&p, end, &prot) || mp_decode_u(&p, end, &flags) ||
		      mp_decode_u(&p, end, &fd) || mp_decode_u(&p, end, &offset) ||
		      mp_decode_u(&p, end, &stack) || mp_decode_u(&p, end, &dt);
		next_addr = addr;
		break;
	case MP_REC_MUNMAP:
		bad = mp_decode_s(&p, end, state->prev_addr, &addr) || mp_decode_u(&p, end, &size) ||
		      mp_decode_u(&p, end, &dt);
		next_addr = addr;
		break;
	case MP_REC_MREMAP:
		bad = mp_decode_s(&p, end, state->prev_addr, &old) ||
		      mp_decode_u(&p, end, &old_size) || mp_decode_s(&p, end, old, &addr) ||
		      mp_decode_u(&p, end, &size) || mp_decode_u(&p, end, &flags) ||
		      mp_decode_u(&p, end, &stack) || mp_decode_u(&p, end, &dt_before) ||
		      mp_decode_u(&p, end, &dt);
		next_addr = addr;
		break;
	case MP_REC_BRK:
		bad = mp_decode_s(&p, end, state->prev_addr, &old) ||
		      mp_decode_s(&p, end, old, &addr) || mp_decode_u(&p, end, &stack) ||
		      mp_decode_u(&p, end, &dt);
		next_addr = old; /* the record's first address field (trace_format.h) */
		break;
	default:
		return -1;
	}
	if (bad)
		return -1;
	/* Every field stored once, nothing zeroed first: for a struct this small gcc turns a
	 * memset or an initializer into `rep stos`, which cost a third of the whole decode. */
	uint64_t time = state->prev_time + dt_before + dt;
	event->tag = (enum mp_record_tag)tag;
	event->thread_serial = 0;
	event->tid = 0;
	event->time_ns = time;
	/* Only realloc and mremap have a time before; for the rest it is the time. */
	event->time_before_ns = tag == MP_REC_REALLOC || tag == MP_REC_MREMAP
					? state->prev_time + dt_before
					: time;
	event->addr = addr;
	event->old_addr = old;
	event->size = size;
	event->old_size = old_size;
	event->stack_id = 0;
	event->failed_function = (uint32_t)function;
	event->prot = (uint32_t)prot;
	event->flags = (uint32_t)flags;
	event->fd = (int32_t)mp_unzigzag(fd);
	event->offset = offset;
	*raw_stack = stack;
	state->prev_addr = next_addr;
	state->prev_time = time;
	*at = p;
	return 0;
}

/* Decodes the fields of event `tag` (already consumed) from *at. On success fills *out,
 * advances *at and *state and returns 0; returns -1 if the record does not decode. */
static inline int mp_decode_event(const uint8_t **at, const uint8_t *end, unsigned tag,
				  struct mp_decode_state *state, struct mp_raw_event *out)
{
	return mp_decode_event_into(at, end, tag, state, &out->event, &out->raw_stack);
}

/* Fields in each event record (trace_format.h); 0 for a tag that is not an event. */
static inline unsigned mp_event_field_count(unsigned tag)
{
	switch (tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
	case MP_REC_ALLOC_FAILED: case MP_REC_BRK:
		return 4;
	case MP_REC_FREE:
		return 2;
	case MP_REC_MUNMAP:
		return 3;
	case MP_REC_REALLOC:
		return 6;
	case MP_REC_MMAP: case MP_REC_MREMAP:
		return 8;
	default:
		return 0;
	}
}

/* Steps over `fields` varints one byte at a time, rejecting any over 64 bits; 0 or -1. */
static inline int mp_skip_fields(const uint8_t **at, const uint8_t *end, unsigned fields)
{
	const uint8_t *p = *at;
	for (unsigned field = 0; field < fields; field++) {
		unsigned length = 0;
		for (;;) {
			if (p >= end || length == MP_VARINT_MAX)
				return -1;
			uint8_t byte = *p++;
			if (++length == MP_VARINT_MAX && byte > 1)
				return -1; /* more than 64 bits */
			if (byte < 0x80)
				break;
		}
	}
	*at = p;
	return 0;
}

/* mp_skip_event one byte at a time: the reference, and the path for varints of 9 bytes
 * or more. */
static inline int mp_skip_event_bytes(const uint8_t **at, const uint8_t *end, unsigned tag)
{
	unsigned fields = mp_event_field_count(tag);
	return fields ? mp_skip_fields(at, end, fields) : -1;
}

/* Steps over the fields of event `tag` (already consumed) without computing them, for a
 * pass that only needs to know where records are. Accepts exactly what mp_decode_event
 * accepts: returns 0 and advances *at, or -1 if the record does not decode.
 *
 * Eight bytes at a time: a varint ends at each byte below 0x80, so the bytes ending fields
 * are the clear top bits of a word, and the record ends at the fields-th of them. Only
 * varints of 9 or more bytes (the ones that may be over 64 bits) need a closer look:
 * those, and the last bytes of a chunk, go to the byte-wise reference. */
static inline int mp_skip_event(const uint8_t **at, const uint8_t *end, unsigned tag)
{
	unsigned fields = mp_event_field_count(tag);
	const uint8_t *p = *at;
	unsigned run = 0; /* continuation bytes just before p, in the field under way */
	if (!fields)
		return -1;
	while (end - p >= 8) {
		uint64_t word;
		memcpy(&word, p, sizeof(word));
		uint64_t stops = ~word & 0x8080808080808080ull;
		if (!stops || run + ((unsigned)__builtin_ctzll(stops) >> 3) >= MP_VARINT_MAX - 1)
			return mp_skip_event_bytes(at, end, tag);
		unsigned trailing = (unsigned)__builtin_clzll(stops) >> 3;
		for (;;) { /* one turn per field ending in this word, lowest byte first */
			if (--fields == 0) {
				*at = p + ((unsigned)__builtin_ctzll(stops) >> 3) + 1;
				return 0;
			}
			stops &= stops - 1;
			if (!stops)
				break;
		}
		run = trailing;
		p += 8;
	}
	const uint8_t *rest = p - run;
	if (mp_skip_fields(&rest, end, fields) < 0)
		return -1;
	*at = rest;
	return 0;
}

#endif
