/* loader_gate.c: memprof's own calls that take the loader's lock, kept out of a fork and
 * out of reach of a signal handler's jump.
 *
 * dl_iterate_phdr holds the loader's lock (glibc's dl_load_write_lock) while it calls
 * back, and fork does not take or reset that lock: a thread inside it at the instant of
 * the fork leaves it held, by no one, in the child, and the child's first call that needs
 * it hangs for ever: memprof's own start of recording, a C++ exception, dlopen. memprof's
 * unwinding asks the loader on every return address it has not seen (unwind_rules.c, and
 * libunwind in the fallback), so without this gate a program that forks while its threads
 * allocate had children that hung (tests/progs/fork_unwinding.c: within 50 forks).
 *
 * So every such call passes through here: it counts itself in, unless a fork is being
 * prepared, in which case it waits for the fork to be over; the fork's prepare handler
 * says a fork is pending and waits for the calls inside to leave. The common path of an
 * allocation never comes here (a capture found in the memo, or walked with known rules).
 *
 * Both waits are bounded. The fork's other prepare handlers run after ours (an allocator
 * locks its arenas), so a thread waiting here may hold a lock the fork needs: after
 * WAIT_LIMIT_NS it goes on, as it did before this gate, rather than stall the fork.
 *
 * Jumps. A signal handler that jumps out of what it interrupted (siglongjmp, see
 * recording_jumps.c) would leave the loader's lock held, by a thread that went on: every
 * other thread's dlopen, C++ exception or memprof walk of new code would then wait for
 * ever (found by tests/progs/jump_out.c's threads, before it warmed its calls). Such a
 * jump cannot be undone, so it must not land here: once the program has a handler for a
 * signal that can arrive at any instruction (mp_loader_hold_signals), the outermost
 * call holds signals (two system calls, 190 ns here) until it leaves. Programs with no
 * such handler, or only handlers of faults (cc1 has those), pay nothing.
 */
#include <link.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

#define WAIT_STEP_NS 20000
#define WAIT_LIMIT_NS (50ull * 1000 * 1000)

static unsigned inside;       /* calls now between enter and leave, all threads */
static int fork_pending;      /* set by the fork's prepare handler until it is done */
static __thread unsigned depth __attribute__((tls_model("initial-exec")));
static int hold_signals;   /* set once by mp_loader_hold_signals */
static __thread struct {
	uint64_t saved; /* the mask to put back */
	int held;
} signals __attribute__((tls_model("initial-exec")));

/* The raw system call: nanosleep() is a cancellation point, and a program thread
 * cancelled here would leave the recorder midway. */
static void pause_briefly(void)
{
	struct timespec step = { 0, WAIT_STEP_NS };
	syscall(SYS_nanosleep, &step, NULL);
}

void mp_loader_enter(void)
{
	/* Held before anything is marked, and released after: a jump between the two
	 * would leave the marks. */
	if (!depth && __atomic_load_n(&hold_signals, __ATOMIC_RELAXED)) {
		mp_sys_signals_hold(&signals.saved);
		signals.held = 1;
	}
	mp_state_thread.fragile++; /* the loader's lock, and the count below */
	/* A nested call (the loader calling back into something that asks again) is part
	 * of the call already counted: waiting there would wait for ourselves. */
	if (depth++)
		return;
	uint64_t waited = 0;
	for (;;) {
		__atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&fork_pending, __ATOMIC_SEQ_CST) || waited >= WAIT_LIMIT_NS)
			return;
		__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&fork_pending, __ATOMIC_ACQUIRE) && waited < WAIT_LIMIT_NS) {
			pause_briefly();
			waited += WAIT_STEP_NS;
		}
	}
}

void mp_loader_leave(void)
{
	mp_state_thread.fragile--;
	if (--depth)
		return;
	__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
	if (signals.held) {
		signals.held = 0;
		mp_sys_signals_release(&signals.saved);
	}
}

void mp_loader_hold_signals(void)
{
	__atomic_store_n(&hold_signals, 1, __ATOMIC_RELAXED);
}

int mp_loader_iterate(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data)
{
	mp_loader_enter();
	int result = dl_iterate_phdr(callback, data);
	mp_loader_leave();
	return result;
}

void mp_loader_fork_prepare(void)
{
	__atomic_store_n(&fork_pending, 1, __ATOMIC_SEQ_CST);
	/* The forking thread's own call, if it forks from inside one, is not waited for. */
	unsigned own = depth ? 1 : 0;
	uint64_t waited = 0;
	while (__atomic_load_n(&inside, __ATOMIC_SEQ_CST) > own && waited < WAIT_LIMIT_NS) {
		pause_briefly();
		waited += WAIT_STEP_NS;
	}
}

void mp_loader_fork_parent(void)
{
	__atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
}

void mp_loader_fork_child(void)
{
	/* Only this thread is left: only its own call can be inside. */
	__atomic_store_n(&inside, depth ? 1 : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fork_pending, 0, __ATOMIC_RELEASE);
}
