/* record.c: the recorder API the libc shim calls; one function per kind of event.
 *
 * (The hottest one, mp_record_alloc, is inline in record_hot.h.) Each function checks the thread's recursion flag, captures the stack if the event has
 * one, encodes the record into the thread's chunk and commits it. The encodings are the
 * ones documented in memprof/trace_format.h. errno is preserved: the host must not see
 * the profiler's system calls.
 */
#include "record_hot.h"

void mp_record_free(void *addr)
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
	mp_record_leave(thread, saved_errno);
}

void mp_record_realloc(void *old_addr, void *new_addr, size_t size, uint64_t time_before)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
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
