/* record.c: the recorder API the libc shim calls; one function per kind of event.
 *
 * Each function checks the thread's recursion flag, captures the stack if the event has
 * one, encodes the record into the thread's chunk and commits it. The encodings are the
 * ones documented in memprof/trace_format.h. errno is preserved: the host must not see
 * the profiler's system calls.
 */
#include <errno.h>

#include "internal.h"
#include "memprof/varint.h"

/* Marks the thread busy; returns NULL if the event must not be recorded (we are inside
 * the recorder already, or recording is off). */
static inline struct mp_thread *enter(int *saved_errno)
{
	struct mp_thread *thread = &mp_self_thread;
	if (thread->busy)
		return NULL;
	thread->busy = 1;
	*saved_errno = errno;
	if (MP_UNLIKELY(!mp_ready())) {
		thread->busy = 0;
		return NULL;
	}
	return thread;
}

static inline void leave(struct mp_thread *thread, int saved_errno)
{
	errno = saved_errno;
	thread->busy = 0;
}

static inline uint8_t *put_addr(struct mp_thread *thread, uint8_t *at, uint64_t addr)
{
	at = mp_put_s(at, (int64_t)(addr - thread->prev_addr));
	thread->prev_addr = addr;
	return at;
}

/* Times never go backwards within a thread: a signal handler's event may have been
 * recorded between a "before" time and the record that carries it. */
static inline uint8_t *put_time(struct mp_thread *thread, uint8_t *at, uint64_t time)
{
	if (time < thread->prev_time)
		time = thread->prev_time;
	at = mp_put_u(at, time - thread->prev_time);
	thread->prev_time = time;
	return at;
}

void mp_record_alloc(enum mp_record_tag tag, void *addr, size_t size)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = (uint8_t)tag;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_u(at, size);
		at = mp_put_u(at, stack);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_free(void *addr)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_FREE;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_realloc(void *old_addr, void *new_addr, size_t size, uint64_t time_before)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = new_addr ? mp_stack_current(thread) : 0;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_REALLOC;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)old_addr);
		at = mp_put_s(at, (int64_t)((uint64_t)(uintptr_t)new_addr -
					    (uint64_t)(uintptr_t)old_addr));
		thread->prev_addr = (uint64_t)(uintptr_t)new_addr;
		at = mp_put_u(at, size);
		at = mp_put_u(at, stack);
		at = put_time(thread, at, time_before);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_failed(enum mp_record_tag function, size_t size)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_ALLOC_FAILED;
		at = mp_put_u(at, (uint64_t)function);
		at = mp_put_u(at, size);
		at = mp_put_u(at, stack);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_mmap(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_MMAP;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_u(at, length);
		at = mp_put_u(at, (uint32_t)prot);
		at = mp_put_u(at, (uint32_t)flags);
		at = mp_put_s(at, fd);
		at = mp_put_u(at, offset);
		at = mp_put_u(at, stack);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_munmap(void *addr, size_t length)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_MUNMAP;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_u(at, length);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_mremap(void *old_addr, size_t old_length, void *new_addr, size_t new_length,
		      int flags, uint64_t time_before)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_MREMAP;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)old_addr);
		at = mp_put_u(at, old_length);
		at = mp_put_s(at, (int64_t)((uint64_t)(uintptr_t)new_addr -
					    (uint64_t)(uintptr_t)old_addr));
		thread->prev_addr = (uint64_t)(uintptr_t)new_addr;
		at = mp_put_u(at, new_length);
		at = mp_put_u(at, (uint32_t)flags);
		at = mp_put_u(at, stack);
		at = put_time(thread, at, time_before);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
}

void mp_record_brk(void *old_break, void *new_break)
{
	int saved_errno;
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = MP_REC_BRK;
		at = put_addr(thread, at, (uint64_t)(uintptr_t)old_break);
		at = mp_put_s(at, (int64_t)((uint64_t)(uintptr_t)new_break -
					    (uint64_t)(uintptr_t)old_break));
		at = mp_put_u(at, stack);
		at = put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	leave(thread, saved_errno);
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
	struct mp_thread *thread = enter(&saved_errno);
	if (!thread)
		return;
	mp_modules_sync(thread);
	leave(thread, saved_errno);
}
