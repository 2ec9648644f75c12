/* recording_jumps.c: a signal handler that jumps out of memprof's code.
 *
 * A program whose signal handler leaves with siglongjmp (a time limit on a computation,
 * a fault caught and the work given up) jumps out of whatever the signal interrupted,
 * and under memprof that is often the recorder, which is much of an allocating
 * program's time. The thread then stayed marked busy for good and nothing more of it
 * was recorded: tests/progs/jump_out.c lost every one of the 1000 blocks it allocates
 * after its jumps. So the longjmp family is interposed (interpose.c), and a jump whose
 * target lies further out on the thread's stack than the recorder's entry (its stack
 * pointer, kept in the busy flag) leaves the recorder's frames for good: before it goes,
 * the thread is put back in order. Its half-written record is dropped, counted as a
 * dropped event, and the delta bases are read back from what its chunk committed
 * (chunk.c); the walks it kept and the last stack it wrote are forgotten, as the
 * abandoned capture may have been changing them; and it is no longer busy.
 *
 * Some code cannot be abandoned halfway: a lock of memprof's held (its waiters would
 * wait forever), the loader asked about code not walked before (its lock stays held
 * whatever memprof does), the stacks' or the rules' table growing, libunwind's walk
 * (whose own state is not ours to mend). A jump out of those leaves the thread busy, as
 * before: the trace says a thread stopped, and memprof says so once on stderr. Signals
 * are held there instead wherever a jump could land: a new chunk, a snapshot, the
 * samples' lock, the tables' growth, and the loader's calls once the program has a
 * handler that may jump (loader_gate.c; a loader lock left held hangs every other
 * thread's dlopen, whatever memprof does after). A jump whose stacks are not the
 * thread's own (a coroutine's) cannot be told from one within the handler, and changes
 * nothing either.
 */
#include <setjmp.h>

#include "recorder.h"
#include "stacks.h"
#include "unwind.h"
#include "writer.h"

/* The stack pointer a longjmp to env resumes with; 0 if not known. */
static uintptr_t jump_target_sp(const void *env)
{
#if defined(__x86_64__) && defined(__GLIBC__)
	/* glibc keeps it in __jmpbuf[6], mangled: xor-ed with the thread's pointer guard
	 * (in its thread control block, at %fs:0x30), then rotated left by 17 bits. */
	const struct __jmp_buf_tag *buf = env;
	uintptr_t mangled = (uintptr_t)buf->__jmpbuf[6], guard;
	__asm__("mov %%fs:0x30, %0" : "=r"(guard));
	return ((mangled >> 17) | (mangled << 47)) ^ guard;
#else
	(void)env;
	return 0;
#endif
}

static void say_stopped(void)
{
	static int said;
	mp_trace_file_add_flags(MP_TRACE_THREAD_STOPPED); /* the reports say so too */
	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	mp_sys_say("a signal handler jumped out of memprof's code where it cannot be resumed "
		   "(it held a lock, or asked the loader about new code): that thread's later "
		   "events are not recorded");
}

void mp_recording_jump(const void *env)
{
	struct mp_thread *self = &mp_state_thread;
	uintptr_t entry = self->busy;
	if (entry <= 1 || !mp_state_is_ready())
		return; /* not in the recorder, busy where it keeps no stack pointer, or off */
	uintptr_t target = jump_target_sp(env);
	/* Both on the thread's own stack: otherwise which is further out is not known. */
	if (target <= entry || !mp_unwind_stack_room(entry) || !mp_unwind_stack_room(target))
		return;
	if (self->held_locks || self->fragile || mp_unwind_forget_walks() < 0 ||
	    mp_chunk_resume(self) < 0) {
		say_stopped();
		return;
	}
	mp_stacks_forget_thread();
	mp_chunk_count_dropped(self);
	self->busy = 0;
}
