/* encode.h: the writer layer's record encoders: one function per record kind, each
 * reserving room in the thread's chunk, writing the fields that trace_format.h documents
 * and committing them. The recorder (record.c) and the features (stacks, modules,
 * sampling, snapshots, the leak check) write through these only.
 *
 * Inline: an allocation's record is encoded on every malloc, and the recorder reaches it
 * with no call of its own (record_hot.h). A record that finds no room (recording has
 * stopped, see chunk.c) is dropped silently: the stop was said once already.
 */
#ifndef MEMPROF_PRELOAD_ENCODE_H
#define MEMPROF_PRELOAD_ENCODE_H

#include "memprof/varint.h"
#include "writer.h"

/* Addresses are deltas from the thread's previous address (trace_format.h). */
static inline uint8_t *mp_encode_addr(struct mp_thread *thread, uint8_t *at, uint64_t addr)
{
	at = mp_put_s(at, (int64_t)(addr - thread->prev_addr));
	thread->prev_addr = addr;
	return at;
}

/* Times never go backwards within a thread: a signal handler's event may have been
 * recorded between a "before" time and the record that carries it. */
static inline uint8_t *mp_encode_time(struct mp_thread *thread, uint8_t *at, uint64_t time)
{
	if (time < thread->prev_time)
		time = thread->prev_time;
	at = mp_put_u(at, time - thread->prev_time);
	thread->prev_time = time;
	return at;
}

/* MALLOC .. PVALLOC (`tag`): a block of `size` bytes at addr. */
static inline void mp_encode_alloc(struct mp_thread *thread, unsigned tag, uint64_t addr,
				   uint64_t size, uint32_t stack, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = (uint8_t)tag;
	at = mp_encode_addr(thread, at, addr);
	at = mp_put_u(at, size);
	at = mp_put_u(at, stack);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

static inline void mp_encode_free(struct mp_thread *thread, uint64_t addr, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_FREE;
	at = mp_encode_addr(thread, at, addr);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

/* old_addr 0: realloc(NULL, n); new_addr 0: the block was released (realloc(p, 0)). */
static inline void mp_encode_realloc(struct mp_thread *thread, uint64_t old_addr,
				     uint64_t new_addr, uint64_t size, uint32_t stack,
				     uint64_t time_before, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_REALLOC;
	at = mp_encode_addr(thread, at, old_addr);
	at = mp_put_s(at, (int64_t)(new_addr - old_addr));
	thread->prev_addr = new_addr;
	at = mp_put_u(at, size);
	at = mp_put_u(at, stack);
	at = mp_encode_time(thread, at, time_before);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

/* A call that failed: `function` is the tag of the call (MP_REC_MALLOC, MP_REC_MMAP...). */
static inline void mp_encode_failed(struct mp_thread *thread, unsigned function, uint64_t size,
				    uint32_t stack, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_ALLOC_FAILED;
	at = mp_put_u(at, function);
	at = mp_put_u(at, size);
	at = mp_put_u(at, stack);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

struct mp_encode_mmap {
	uint64_t addr, length, offset;
	uint32_t prot, flags;
	int fd;
};

static inline void mp_encode_mmap(struct mp_thread *thread, const struct mp_encode_mmap *map,
				  uint32_t stack, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_MMAP;
	at = mp_encode_addr(thread, at, map->addr);
	at = mp_put_u(at, map->length);
	at = mp_put_u(at, map->prot);
	at = mp_put_u(at, map->flags);
	at = mp_put_s(at, map->fd);
	at = mp_put_u(at, map->offset);
	at = mp_put_u(at, stack);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

static inline void mp_encode_munmap(struct mp_thread *thread, uint64_t addr, uint64_t length,
				    uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_MUNMAP;
	at = mp_encode_addr(thread, at, addr);
	at = mp_put_u(at, length);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

static inline void mp_encode_mremap(struct mp_thread *thread, uint64_t old_addr,
				    uint64_t old_length, uint64_t new_addr, uint64_t new_length,
				    uint32_t flags, uint32_t stack, uint64_t time_before,
				    uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_MREMAP;
	at = mp_encode_addr(thread, at, old_addr);
	at = mp_put_u(at, old_length);
	at = mp_put_s(at, (int64_t)(new_addr - old_addr));
	thread->prev_addr = new_addr;
	at = mp_put_u(at, new_length);
	at = mp_put_u(at, flags);
	at = mp_put_u(at, stack);
	at = mp_encode_time(thread, at, time_before);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

static inline void mp_encode_brk(struct mp_thread *thread, uint64_t old_break,
				 uint64_t new_break, uint32_t stack, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = MP_REC_BRK;
	at = mp_encode_addr(thread, at, old_break);
	at = mp_put_s(at, (int64_t)(new_break - old_break));
	at = mp_put_u(at, stack);
	at = mp_encode_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

/* An extended record (tag >= MP_REC_EXTENDED): the tag, the body's length, the body.
 * 1 if it was written, 0 if recording has stopped. */
static inline int mp_encode_extended(struct mp_thread *thread, enum mp_record_tag tag,
				     const uint8_t *body, size_t body_len)
{
	uint8_t *at = mp_chunk_reserve(thread, 1 + MP_VARINT_MAX + body_len);
	if (!at)
		return 0;
	*at++ = (uint8_t)tag;
	at = mp_put_u(at, body_len);
	for (size_t i = 0; i < body_len; i++)
		at[i] = body[i];
	mp_chunk_commit(thread, at + body_len);
	return 1;
}

#endif
