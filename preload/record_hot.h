/* record_hot.h: the part of the recorder that runs inside every interposed allocation.
 *
 * Two costs shape it. libunwind walks every frame between the program and itself, so each
 * function of ours left on the stack while it unwinds costs every allocation a frame's
 * worth of unwinding: the capture is inline in the recorder, and the recorder is reached
 * by a tail call from malloc(). And with sampling most calls record nothing, so the
 * decision is inline in the interposed functions and must stay tiny.
 */
#ifndef MEMPROF_PRELOAD_RECORD_HOT_H
#define MEMPROF_PRELOAD_RECORD_HOT_H

#include <errno.h>

#include "encode.h"
#include "heap_peak.h"
#include "recorder.h"
#include "sampling.h"
#include "stacks.h"

/* The thread's errno, by an address kept in its state: errno is a call to
 * __errno_location through libc's PLT, one at every event. The address is the
 * thread's for life (a fork child's thread has it at the same place). */
static inline int *mp_record_errno(struct mp_thread *thread)
{
	if (MP_UNLIKELY(!thread->errno_at))
		thread->errno_at = &errno;
	return thread->errno_at;
}

/* Marks the thread busy; returns NULL if the event must not be recorded (we are inside
 * the recorder already, or recording is off). errno is saved: the host must not see the
 * profiler's system calls. */
static inline struct mp_thread *mp_record_enter(int *saved_errno)
{
	struct mp_thread *thread = &mp_state_thread;
	if (thread->busy)
		return NULL;
	thread->busy = mp_sys_stack_pointer();
	*saved_errno = *mp_record_errno(thread);
	if (MP_UNLIKELY(!mp_recording_ready())) {
		thread->busy = 0;
		return NULL;
	}
	return thread;
}

static inline void mp_record_leave(struct mp_thread *thread, int saved_errno)
{
	*thread->errno_at = saved_errno;
	thread->busy = 0;
}

/* Records an allocation that mp_record_alloc_done chose, and returns addr (record.c). */
void *mp_record_alloc_chosen(enum mp_record_tag tag, void *addr, size_t size);

/* The end of an interposed allocation that mp_sampling_not_due did not let through: records
 * a failure; with sampling decides (the countdown ran out); then, unless inside the
 * recorder, reaches the recorder by a tail call, so while libunwind runs the only frame
 * of ours on the stack is the recorder's. */
static inline void *mp_record_alloc_passed_done(enum mp_record_tag tag, void *addr, size_t size)
{
	if (MP_UNLIKELY(!addr)) {
		mp_record_failed(tag, size);
		return addr;
	}
	if (mp_config.sample_bytes && !mp_sampling_decide(&mp_state_thread, size))
		return addr;
	if (mp_state_thread.busy)
		return addr;
	return mp_record_alloc_chosen(tag, addr, size);
}

/* The end of every other interposed allocation function: `return mp_record_alloc_done(...)`.
 * With sampling, a failed call is recorded only if it was sampled. */
static inline void *mp_record_alloc_done(enum mp_record_tag tag, void *addr, size_t size)
{
	if (mp_sampling_not_due(size))
		return addr;
	return mp_record_alloc_passed_done(tag, addr, size);
}

/* Whether the free of addr may have to be recorded: what the filter says (with sampling
 * it rules out almost every free without touching the thread's state; without, it says
 * yes). mp_record_free_wanted then decides. */
static inline int mp_record_free_maybe_wanted(void *addr)
{
	/* Without sampling the filter is one that says "maybe" to everything (sampling_set.c). */
	return mp_sampling_set_maybe((uint64_t)(uintptr_t)addr);
}

/* Whether the free of addr is recorded: not from inside the recorder or libunwind, and
 * with sampling only for sampled blocks whose allocation is in the trace (this forgets
 * them; one still pending is counted instead; libunwind's blocks, made while the
 * recorder was busy, are never among them). */
static inline int mp_record_free_wanted(void *addr, const void *caller)
{
	struct mp_thread *thread = &mp_state_thread;
	if (thread->busy)
		return 0;
	if (mp_config.sample_bytes) {
		/* Busy while the sampling lock is held: a signal handler that allocates on this
		 * thread then records nothing instead of waiting for the lock forever. The
		 * count of a pending block may map memory: errno is the program's. */
		int *errno_at = mp_record_errno(thread);
		int saved_errno = *errno_at;
		thread->busy = mp_sys_stack_pointer(); /* see mp_record_enter */
		int wanted = mp_sampling_set_take((uint64_t)(uintptr_t)addr, NULL) == MP_SAMPLING_SET_WRITTEN;
		thread->busy = 0;
		*errno_at = saved_errno;
		return wanted;
	}
	return !mp_stacks_called_by_unwinder(caller);
}

#endif
