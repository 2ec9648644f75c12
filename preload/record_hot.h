/* record_hot.h: the part of the recorder that runs inside every interposed allocation.
 *
 * It is inline on purpose: libunwind walks every frame between the program and itself, so
 * each function of ours left on the stack while it unwinds costs every allocation a
 * frame's worth of unwinding for nothing. With this inline in malloc(), the only frames
 * of ours are malloc's and libunwind's own.
 */
#ifndef MEMPROF_PRELOAD_RECORD_HOT_H
#define MEMPROF_PRELOAD_RECORD_HOT_H

#include <errno.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "internal.h"
#include "memprof/varint.h"

/* Marks the thread busy; returns NULL if the event must not be recorded (we are inside
 * the recorder already, or recording is off). errno is saved: the host must not see the
 * profiler's system calls. */
static inline struct mp_thread *mp_record_enter(int *saved_errno)
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

static inline void mp_record_leave(struct mp_thread *thread, int saved_errno)
{
	errno = saved_errno;
	thread->busy = 0;
}

static inline uint8_t *mp_put_addr(struct mp_thread *thread, uint8_t *at, uint64_t addr)
{
	at = mp_put_s(at, (int64_t)(addr - thread->prev_addr));
	thread->prev_addr = addr;
	return at;
}

/* Times never go backwards within a thread: a signal handler's event may have been
 * recorded between a "before" time and the record that carries it. */
static inline uint8_t *mp_put_time(struct mp_thread *thread, uint8_t *at, uint64_t time)
{
	if (time < thread->prev_time)
		time = thread->prev_time;
	at = mp_put_u(at, time - thread->prev_time);
	thread->prev_time = time;
	return at;
}

/* Captures the caller's stack and returns its interned id (0 if none). */
static inline __attribute__((always_inline)) uint32_t mp_stack_current(struct mp_thread *thread)
{
	void *ips[MP_MAX_FRAMES_LIMIT + MP_OWN_FRAMES_MAX];
	int captured = unw_backtrace(ips, (int)mp_config.max_frames + MP_OWN_FRAMES_MAX);
	return mp_stacks_intern(thread, ips, captured);
}

static inline __attribute__((always_inline)) void mp_record_alloc(enum mp_record_tag tag,
								  void *addr, size_t size)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stack_current(thread);
	uint8_t *at = mp_chunk_reserve(thread, MP_EVENT_RECORD_MAX);
	if (at) {
		*at++ = (uint8_t)tag;
		at = mp_put_addr(thread, at, (uint64_t)(uintptr_t)addr);
		at = mp_put_u(at, size);
		at = mp_put_u(at, stack);
		at = mp_put_time(thread, at, mp_now_ns());
		mp_chunk_commit(thread, at);
	}
	mp_record_leave(thread, saved_errno);
}

#endif
