/* stacks.h: capturing the caller's stack and interning it (stacks.c), a feature. */
#ifndef MEMPROF_PRELOAD_STACKS_H
#define MEMPROF_PRELOAD_STACKS_H

#include "stack_hash.h"
#include "unwind.h"
#include "writer.h"

/* Returns the id of the stack captured in ips[0..captured) (innermost first, our own
 * frames on top are dropped), writing a STACK record first if the stack is new; 0 if no
 * frame is left. outer_sums, if not NULL, holds the hash sums (stack_hash.h) of the
 * outermost 2j frames at j. The capture itself is mp_stacks_capture below. */
uint32_t mp_stacks_intern(struct mp_thread *thread, void *const *ips, int captured,
			  const struct mp_stack_hash_sum *outer_sums);
/* Starts loading the slot where the stack of this hash (stack_hash.h) is looked up, or
 * where it will be written if the table does not hold it: the walk
 * (mp_unwind_capture_here) calls it as soon as it knows the stack it will return, so
 * that the load overlaps the walk's last checks. */
void mp_stacks_prefetch(uint64_t hash_a);
/* Interns that missed the table's fast path (a new stack, or its hash computed wrong),
 * for tests. */
extern uint64_t mp_stacks_slow_lookups;
/* Changes when ids stop meaning anything (a fork child's new trace): an id kept with a
 * stack in the walk's memo is reused only within the epoch it was interned in. */
extern uint32_t mp_stacks_epoch;
/* Frames of libmemprof itself at the top of a capture (the recorder's, at most a frame or
 * two of ours). Captured beyond max_frames so the program's are not cut. */
#define MP_STACKS_OWN_FRAMES_MAX 8
/* Sets the address range of libmemprof's own code, whose frames are never recorded. */
void mp_stacks_init(uintptr_t self_start, uintptr_t self_end);
/* In a fork child: the parent's ids mean nothing in the child's trace. */
void mp_stacks_reset(void);
/* After a jump out of the recorder (recording_jumps.c): the next stack this thread writes
 * names no earlier one as its parent (the last may be half-noted), and a slot it claimed
 * but did not fill is given up. */
void mp_stacks_forget_thread(void);
/* libunwind's code range. libunwind allocates while the recorder is busy (so nothing is
 * recorded) but releases some of it later from its own TLS destructor: a free or munmap
 * called from there is the profiler's, not the program's. */
extern uintptr_t mp_stacks_unwinder_start, mp_stacks_unwinder_end;
static inline int mp_stacks_called_by_unwinder(const void *return_address)
{
	return (uintptr_t)return_address - mp_stacks_unwinder_start <
	       mp_stacks_unwinder_end - mp_stacks_unwinder_start;
}


/* The id of a capture: the one kept with its walk, or interned now. */
static inline __attribute__((always_inline)) uint32_t mp_stacks_id(
	struct mp_thread *thread, const struct mp_unwind_capture *captured)
{
	uint32_t epoch = __atomic_load_n(&mp_stacks_epoch, __ATOMIC_RELAXED);
	if (captured->memo && (uint32_t)(*captured->memo >> 32) == epoch)
		return (uint32_t)*captured->memo; /* the same walk as before: the same stack */
	uint32_t id = mp_stacks_intern(thread, captured->ips, captured->count,
				       captured->outer_sums);
	if (captured->memo)
		*captured->memo = (uint64_t)epoch << 32 | id;
	return id;
}

/* The capture into `buffer` of `max` frames, and its interning. */
static inline __attribute__((always_inline)) uint32_t mp_stacks_capture_into(
	struct mp_thread *thread, void **buffer, int max)
{
	struct mp_unwind_capture captured;
	mp_unwind_capture(&captured, buffer, max);
	return mp_stacks_id(thread, &captured);
}

/* MEMPROF_MAX_FRAMES above the default: the capture with a buffer for the most frames
 * there can be, in a frame of its own. */
uint32_t mp_stacks_capture_many(struct mp_thread *thread);

/* Captures the caller's stack and returns its interned id (0 if none). Always inline:
 * the walk (unwind.c) steps through every frame between the program and itself, so each
 * function of ours left on the stack costs every allocation a frame's worth of
 * unwinding. The buffer holds the default's frames (64, and ours), not the most there can
 * be (256, 2 KiB): the program's thread pays it in every function of the recorder's that
 * captures, even one a nested call enters and leaves at once, and a small stack
 * overflowed. (Sized at run time, a variable-length array, it made alloc_bench's
 * captures 8% slower: their own frame was no longer a fixed size.) */
static inline __attribute__((always_inline)) uint32_t mp_stacks_capture(struct mp_thread *thread)
{
	if (MP_UNLIKELY(mp_config.max_frames > MP_DEFAULT_MAX_FRAMES))
		return mp_stacks_capture_many(thread);
	void *buffer[MP_DEFAULT_MAX_FRAMES + MP_STACKS_OWN_FRAMES_MAX];
	return mp_stacks_capture_into(thread, buffer, (int)mp_config.max_frames +
							      MP_STACKS_OWN_FRAMES_MAX);
}

/* The same, the walk starting at the frame of the recorder's function that inlines this
 * (mp_unwind_capture_here): for the allocations' recorder only, which malloc reaches by
 * tail calls, so that its return address is the program's. */
static inline __attribute__((always_inline)) uint32_t mp_stacks_capture_here(
	struct mp_thread *thread)
{
	if (MP_UNLIKELY(mp_config.max_frames > MP_DEFAULT_MAX_FRAMES))
		return mp_stacks_capture_many(thread);
	void *buffer[MP_DEFAULT_MAX_FRAMES + MP_STACKS_OWN_FRAMES_MAX];
	struct mp_unwind_capture captured;
	mp_unwind_capture_here(&captured, buffer,
			       (int)mp_config.max_frames + MP_STACKS_OWN_FRAMES_MAX,
			       mp_stacks_prefetch);
	return mp_stacks_id(thread, &captured);
}

#endif
