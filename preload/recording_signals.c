/* recording_signals.c: the recorder's signals: a leak check before a signal the program
 * does not handle ends it, a leak check on MEMPROF_LEAK_CHECK_SIGNAL, and what the
 * program is told of its signals' dispositions (interpose_signals.c asks here).
 *
 * Fatal signals. Every signal whose default action ends the process (with or without a
 * core) and whose disposition is the default when recording starts gets a handler of
 * ours (unless MEMPROF_LEAK_CHECK_FATAL=0). It takes a last snapshot, asks the leak
 * thread (where checks are on) for a check (leak_thread.c: every other thread is
 * stopped, this one waits with its registers in its signal frame), then puts the
 * default disposition back and sends itself the signal again: when the handler
 * returns, the signal is delivered with its default action, so the process dies of it
 * exactly as it would have (wait status, core dump, what the parent sees), its trace
 * ended first (recording.c, mp_recording_fatal_end). A fault
 * (SIGSEGV, SIGBUS, ...) would also happen again on its instruction. SIGKILL cannot be
 * caught: its trace keeps no kinds.
 *
 * The program comes first. A handler it installed before we start is left alone; one it
 * installs later replaces ours (sigaction and signal are interposed and pass it on), and
 * it is told the disposition is the default where ours is installed, so a program that
 * installs a handler only over the default (Python does for SIGINT) still does. Setting
 * SIG_DFL back installs ours again. memprof's own signals are kept: the check signal,
 * which the user gave us, and the leak thread's stop signal (leak_stop.c), for which
 * what the program sets is kept aside and, for the stop signal, called on deliveries
 * that are not memprof's.
 *
 * Handlers that may jump. A handler of the program's for a signal that can come at any
 * instruction may jump out of memprof's loader calls, which must then hold signals
 * (loader_gate.c): the handlers found at start and those the program installs tell it.
 * The faults an instruction raises (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) and
 * SIGABRT (abort() raises it in its own thread) do not: memprof's loader calls raise none.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "recorder.h"
#include "snapshot.h"

static const int fatal_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGUSR1,
	SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ,
	SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS,
};

/* What the program set for the check signal, which stays memprof's. */
static struct sigaction check_program;
static int check_program_set;

/* Tells the loader's gate when `action` is a handler of the program's for a signal that
 * may interrupt any instruction. */
static void signals_note_program(int sig, const struct sigaction *action)
{
	static const int raised_by_the_thread[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE,
						    SIGTRAP, SIGSYS, SIGABRT };
	if (!(action->sa_flags & SA_SIGINFO) &&
	    (action->sa_handler == SIG_DFL || action->sa_handler == SIG_IGN))
		return;
	for (size_t i = 0; i < sizeof(raised_by_the_thread) / sizeof(raised_by_the_thread[0]); i++)
		if (raised_by_the_thread[i] == sig)
			return;
	mp_loader_hold_signals();
}

static void signals_fatal(int sig, siginfo_t *info, void *context)
{
	(void)info;
	int saved_errno = errno;
	mp_state_thread.interrupted = context;
	int own_room = mp_recording_fatal_begin(); /* the snapshot, room for the end */
	int checked = mp_leak_check_fatal(sig);
	mp_state_thread.interrupted = NULL;
	mp_recording_fatal_end(sig, checked, own_room);
	mp_sys_resend_default(sig); /* ends the process once this handler returns */
	errno = saved_errno;
}

static void signals_check(int sig, siginfo_t *info, void *context)
{
	(void)info;
	int saved_errno = errno;
	/* A check asked for by a signal nested in another of memprof's waits keeps the
	 * outer context: that is where the program was. */
	const void *outer = mp_state_thread.interrupted;
	if (!outer)
		mp_state_thread.interrupted = context;
	mp_leak_check_on_signal(sig);
	mp_state_thread.interrupted = outer;
	errno = saved_errno;
}

/* The check signal's handler, with its context (SA_SIGINFO), which the check reads;
 * SA_RESTART, so that the program's system calls go on. */
static void signals_check_install(int sig)
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = signals_check;
	action.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&action.sa_mask);
	if (mp_sys_sigaction(sig, &action, NULL) != 0)
		mp_sys_say("cannot install the handler of MEMPROF_LEAK_CHECK_SIGNAL");
}

static int signals_is_fatal(int sig)
{
	if (!mp_config.leak_check_fatal || sig == mp_config.snapshot_signal ||
	    (mp_config.leak_check && sig == mp_config.leak_check_signal))
		return 0;
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		if (fatal_signals[i] == sig)
			return 1;
	return 0;
}

static void signals_fatal_action(struct sigaction *action)
{
	memset(action, 0, sizeof(*action));
	action->sa_sigaction = signals_fatal;
	/* On the program's alternate stack if it has one: a stack overflow still gets a
	 * check. The stop signal stays deliverable while the dying thread waits. */
	action->sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&action->sa_mask);
}

static int signals_is_ours(const struct sigaction *action)
{
	return (action->sa_flags & SA_SIGINFO) && action->sa_sigaction == signals_fatal;
}

/* The handlers installed before recording started (by a library's constructor, say).
 * glibc's own two below SIGRTMIN (cancellation, set*id) are not the program's. */
static void signals_note_installed(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction current;
		if ((sig >= 32 && sig < SIGRTMIN) || sig == mp_leak_stop_signal() ||
		    mp_sys_sigaction(sig, NULL, &current) != 0 || signals_is_ours(&current))
			continue;
		signals_note_program(sig, &current);
	}
}

void mp_recording_signals_start(void)
{
	signals_note_installed();
	if (mp_config.leak_check && !mp_config.sample_bytes) {
		mp_leak_thread_start();
		if (mp_config.leak_check_signal)
			signals_check_install(mp_config.leak_check_signal);
	}
	/* Also without checks (MEMPROF_LEAK_CHECK=0, sampling): a service stopped by SIGTERM
	 * then still ends its trace, its samples flushed, rather than reading as cut. */
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		int sig = fatal_signals[i];
		struct sigaction old, action;
		if (!signals_is_fatal(sig) || mp_sys_sigaction(sig, NULL, &old) != 0 ||
		    (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
			continue;
		signals_fatal_action(&action);
		mp_sys_sigaction(sig, &action, NULL);
	}
}

static void signals_default(struct sigaction *old)
{
	memset(old, 0, sizeof(*old));
	old->sa_handler = SIG_DFL;
	sigemptyset(&old->sa_mask);
}

/* Tells the program what it set for a signal memprof keeps (kept; NULL: nothing, the
 * default). */
static void signals_report_kept(struct sigaction *old, const struct sigaction *kept)
{
	if (old && kept)
		*old = *kept;
	else if (old)
		signals_default(old);
}

int mp_recording_sigaction(int sig, const struct sigaction *action, struct sigaction *old)
{
	struct sigaction current;
	if (sig > 0 && sig == mp_leak_stop_signal() && !mp_state_sandboxed()) {
		struct sigaction copy;
		memset(&copy, 0, sizeof(copy));
		if (action)
			copy = *action;
		signals_report_kept(old, mp_leak_stop_chained());
		if (action) {
			signals_note_program(sig, &copy);
			mp_leak_stop_chain(&copy);
		}
		return 0;
	}
	if (sig > 0 && sig == mp_config.leak_check_signal && mp_config.leak_check &&
	    !mp_config.sample_bytes && !mp_state_sandboxed()) {
		struct sigaction copy;
		memset(&copy, 0, sizeof(copy));
		if (action)
			copy = *action;
		signals_report_kept(old, check_program_set ? &check_program : NULL);
		if (action) {
			check_program = copy;
			check_program_set = 1;
		}
		return 0;
	}
	if (mp_state_sandboxed()) /* memprof's signals were given back (recording_sandbox.c) */
		return mp_sys_sigaction(sig, action, old);
	if (mp_sys_sigaction(sig, NULL, &current) != 0)
		return -1;
	if (action) {
		signals_note_program(sig, action);
		struct sigaction fatal;
		const struct sigaction *wanted = action;
		if (!(action->sa_flags & SA_SIGINFO) && action->sa_handler == SIG_DFL &&
		    signals_is_fatal(sig)) {
			signals_fatal_action(&fatal);
			wanted = &fatal; /* the default, with a check before it */
		}
		if (mp_sys_sigaction(sig, wanted, NULL) != 0)
			return -1;
	}
	if (old) {
		*old = current;
		if (signals_is_ours(&current))
			signals_default(old);
	}
	return 0;
}

/* Puts back what the program would have without memprof: the default where a fatal
 * signal's handler of ours is, and what the program set for the check signal and the stop
 * signal (or the default). Their handlers make system calls. */
void mp_recording_signals_give_back(void)
{
	struct sigaction current, fallback;
	signals_default(&fallback);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		if (mp_sys_sigaction(fatal_signals[i], NULL, &current) == 0 &&
		    signals_is_ours(&current))
			mp_sys_sigaction(fatal_signals[i], &fallback, NULL);
	if (mp_config.leak_check && mp_config.leak_check_signal && !mp_config.sample_bytes)
		mp_sys_sigaction(mp_config.leak_check_signal,
				 check_program_set ? &check_program : &fallback, NULL);
	int stop = mp_leak_stop_signal();
	const struct sigaction *chained = mp_leak_stop_chained();
	if (stop > 0)
		mp_sys_sigaction(stop, chained ? chained : &fallback, NULL);
}
