/* record.c: the recorder API the libc shim calls; one function per kind of event.
 *
 * Each function checks the thread's recursion flag, captures the stack if the event has
 * one, encodes the record into the thread's chunk and commits it; which allocations and
 * frees get here is decided inline in record_hot.h. The encodings are the ones documented in
 * memprof/trace_format.h. errno is preserved: the host must not see the profiler's system
 * calls. With sampling, frees and reallocs are recorded only for sampled blocks, and mmap,
 * munmap, mremap and brk always (they are few, and residency reports need all of them).
 */
#include "record_hot.h"

static inline void write_alloc(struct mp_thread *thread, unsigned tag, uint64_t addr,
			       uint64_t size, uint32_t stack, uint64_t time_ns)
{
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (!at)
		return;
	*at++ = (uint8_t)tag;
	at = mp_put_addr(thread, at, addr);
	at = mp_put_u(at, size);
	at = mp_put_u(at, stack);
	at = mp_put_time(thread, at, time_ns);
	mp_chunk_commit(thread, at);
}

/* A sampled allocation: remembered so that its free is recorded, and written now, or with
 * a sampling window only once it has outlived the window (sample_window.c). Also decides
 * for the process's very first allocation, which came before the options were read. */
static inline __attribute__((always_inline)) void record_sampled(
	struct mp_thread *thread, enum mp_record_tag tag, void *addr, size_t size)
{
	if (MP_UNLIKELY(!thread->rng) && mp_sample_skip(thread, size))
		return;
	struct mp_sampled_set_entry block = {
		.addr = (uint64_t)(uintptr_t)addr, .size = size, .tag = (uint8_t)tag,
		.stack = mp_stack_current(thread), .pending = mp_config.sample_window_ms != 0,
	};
	block.time_ns = mp_now_ns();
	if (mp_sampled_insert(&block, thread) < 0) {
		/* Its free could not be recognized: better unrecorded than a false leak. */
		mp_chunk_count_dropped(thread);
		return;
	}
	if (!block.pending)
		write_alloc(thread, tag, block.addr, size, block.stack, block.time_ns);
	else if (block.time_ns >= __atomic_load_n(&mp_sampled_next_flush_ns, __ATOMIC_RELAXED))
		mp_sampled_flush(thread, block.time_ns, 0);
}

__attribute__((noinline)) void *mp_record_alloc_chosen(enum mp_record_tag tag, void *addr,
							size_t size)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return addr;
	if (MP_UNLIKELY(mp_config.sample_bytes)) {
		record_sampled(thread, tag, addr, size);
		mp_record_leave(thread, saved_errno);
		return addr;
	}
	uint32_t stack = mp_stack_current(thread);
	write_alloc(thread, tag, (uint64_t)(uintptr_t)addr, size, stack, mp_now_ns());
	mp_heap_note(thread, (int64_t)mp_heap_usable(addr));
	mp_record_leave(thread, saved_errno);
	return addr;
}

void mp_record_alloc_late(struct mp_thread *thread, const struct mp_sampled_set_entry *block,
			  uint64_t now_ns)
{
	write_alloc(thread, block->tag, block->addr, block->size, block->stack, now_ns);
}

void mp_record_sampled_flush_all(void)
{
	if (!mp_config.sample_bytes || !mp_config.sample_window_ms)
		return;
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_sampled_flush(thread, mp_now_ns(), 1);
	mp_record_leave(thread, saved_errno);
}

/* Not inline: free() stays a few instructions when nothing is recorded. */
__attribute__((noinline)) void mp_record_free(void *addr)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_FREE;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_heap_note(thread, -(int64_t)mp_heap_usable(addr));
	mp_record_leave(thread, saved_errno);
}

/* Sampled realloc: the old block's release is recorded if it was sampled, the new block
 * if it is sampled now; a side that is not becomes 0 (realloc(NULL, n) or realloc(p, 0)
 * in the trace). Returns 0 if there is nothing to record. */
static int sample_realloc(struct mp_thread *thread, void **old_addr, void **new_addr,
			  size_t *size)
{
	/* A pending old block has its allocation written first: the realloc releases it. */
	int old_sampled = *old_addr && mp_sampled_take((uint64_t)(uintptr_t)*old_addr, thread);
	struct mp_sampled_set_entry block = { .addr = (uint64_t)(uintptr_t)*new_addr, .size = *size,
					  .tag = MP_REC_REALLOC, .time_ns = mp_now_ns() };
	int new_sampled = *new_addr && !mp_sample_skip(thread, *size) &&
			  mp_sampled_insert(&block, thread) == 0;
	if (!old_sampled)
		*old_addr = NULL;
	if (!new_sampled) {
		*new_addr = NULL;
		*size = 0;
	}
	return old_sampled || new_sampled;
}

void mp_record_realloc(void *old_addr, void *new_addr, size_t size, uint64_t time_before,
		       size_t old_usable)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	if (MP_UNLIKELY(mp_config.sample_bytes) &&
	    !sample_realloc(thread, &old_addr, &new_addr, &size)) {
		mp_record_leave(thread, saved_errno);
		return;
	}
	uint32_t stack = new_addr ? mp_stack_current(thread) : 0;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_REALLOC;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)old_addr);
		at = mp_put_s(at, (int64_t)((uint64_t)(uintptr_t)new_addr -
					    (uint64_t)(uintptr_t)old_addr));
		thread->prev_addr = (uint64_t)(uintptr_t)new_addr;
		at = mp_put_u(at, size);
		at = mp_put_u(at, stack);
		at = mp_put_time(thread, at, time_before);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_heap_note(thread, (int64_t)mp_heap_usable(new_addr) - (int64_t)old_usable);
	mp_record_leave(thread, saved_errno);
}

void mp_record_failed(enum mp_record_tag function, size_t size)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_ALLOC_FAILED;
		at = mp_put_u(at, (uint64_t)function);
		at = mp_put_u(at, size);
		at = mp_put_u(at, stack);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_record_leave(thread, saved_errno);
}

void mp_record_mmap(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_MMAP;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_u(at, length);
		at = mp_put_u(at, (uint32_t)prot);
		at = mp_put_u(at, (uint32_t)flags);
		at = mp_put_s(at, fd);
		at = mp_put_u(at, offset);
		at = mp_put_u(at, stack);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_record_leave(thread, saved_errno);
}

void mp_record_munmap(void *addr, size_t length)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_MUNMAP;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_u(at, length);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_record_leave(thread, saved_errno);
}

void mp_record_mremap(void *old_addr, size_t old_length, void *new_addr, size_t new_length,
		      int flags, uint64_t time_before)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_MREMAP;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)old_addr);
		at = mp_put_u(at, old_length);
		at = mp_put_s(at, (int64_t)((uint64_t)(uintptr_t)new_addr -
					    (uint64_t)(uintptr_t)old_addr));
		thread->prev_addr = (uint64_t)(uintptr_t)new_addr;
		at = mp_put_u(at, new_length);
		at = mp_put_u(at, (uint32_t)flags);
		at = mp_put_u(at, stack);
		at = mp_put_time(thread, at, time_before);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_record_leave(thread, saved_errno);
}

void mp_record_brk(void *old_break, void *new_break)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_BRK;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)old_break);
		at = mp_put_s(at, (int64_t)((uint64_t)(uintptr_t)new_break -
					    (uint64_t)(uintptr_t)old_break));
		at = mp_put_u(at, stack);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_record_leave(thread, saved_errno);
}

void mp_record_extended(struct mp_thread *thread, enum mp_record_tag tag, const uint8_t *body,
			size_t body_len)
{
	uint8_t *at = mp_chunk_reserve(thread, 1 + MP_VARINT_MAX + body_len);
	if (!at)
		return;
	*at++ = (uint8_t)tag;
	at = mp_put_u(at, body_len);
	for (size_t i = 0; i < body_len; i++)
		at[i] = body[i];
	mp_chunk_commit(thread, at + body_len);
}

void mp_record_module_change(void)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_modules_sync(thread);
	mp_record_leave(thread, saved_errno);
}
