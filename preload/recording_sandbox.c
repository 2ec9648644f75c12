/* recording_sandbox.c: a process that puts a seccomp filter on itself.
 *
 * A program may forbid itself every system call but a few (a seccomp filter: sshd's
 * pre-authentication child, a browser's renderers, services that sandbox a parser), and a
 * forbidden call kills it. memprof's own calls are not in such a list: a new chunk grows
 * the trace file, the leak thread reads it, snapshots read /proc. A program that ran fine
 * alone was killed by SIGSYS under memprof at its next chunk (tests/progs/sandboxed.c).
 *
 * So syscall() and prctl() (sys_call.c) tell the recorder before a call that installs a
 * filter (prctl PR_SET_SECCOMP, the seccomp system call), while memprof may still make
 * its own: recording stops for good, the header saying why (MP_STOP_SANDBOXED,
 * stderr once), memprof's threads are asked to end and waited for (a filter may apply to
 * every thread, theirs included), memprof's signal handlers are replaced by what the
 * program set, and mp_sandboxed is set: from then on nothing of memprof's makes a system
 * call (the exit work, the fork handlers, its stderr lines and unmappings check it). The
 * trace holds what came before the filter; it has no end, its reason says why.
 *
 * Not seen: a filter installed by a raw system call instruction (not through libc's
 * syscall() or prctl()). A filter the kernel refuses (no NO_NEW_PRIVS and no privilege)
 * is not waited for: that case is told apart beforehand.
 *
 * A process started under a filter (systemd's SystemCallFilter=, a container's profile,
 * an exec from a filtered process) cannot be asked what its filter forbids, and memprof
 * records there. Its calls are kept within systemd's @system-service set, the filter
 * services are commonly given (libunwind's mincore is answered by sys_call.c), and the
 * one call it can do without that the usual deny-lists hold (sched_setaffinity, in
 * @resources: the leak thread moving off a crowded CPU) is left out there
 * (mp_filtered_at_start, noted by sys.c at start). tests/progs/sandboxed.c's `service` mode runs under both.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "recorder.h"
#include "snapshot.h"

/* memprof's threads end within microseconds of being asked; a filter that applies to
 * every thread is not put off longer than this if one does not. */
#define THREADS_GONE_NS (200ull * 1000 * 1000)

/* The kernel refuses a filter unless the thread has NO_NEW_PRIVS or CAP_SYS_ADMIN
 * (EACCES): such a call changes nothing, and recording goes on. Strict mode needs
 * neither. The capability is not read: root is taken to have it. */
static int filter_would_be_refused(void)
{
	return syscall(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 &&
	       syscall(SYS_geteuid) != 0;
}

static void sandbox(void)
{
	/* Counted rather than listed: a thread made but not run yet has not said who it is. */
	uint64_t before = 0;
	mp_sys_status_field("Threads", &before);
	uint64_t ending = (uint64_t)mp_leak_thread_running() + (uint64_t)mp_snapshot_thread_running();
	int state = __atomic_load_n(&mp_state, __ATOMIC_ACQUIRE);
	if (state == MP_STATE_READY) {
		mp_recording_flush_samples();
		mp_trace_file_stop(MP_STOP_SANDBOXED, 0);
	} else if (state != MP_STATE_OFF) {
		mp_sys_say("the program put a seccomp filter on itself before its first "
			   "allocation: nothing recorded");
	}
	__atomic_store_n(&mp_state, MP_STATE_OFF, __ATOMIC_RELEASE);
	mp_snapshot_thread_stop();
	mp_leak_thread_quit();
	mp_recording_signals_give_back();
	if (ending && before > ending)
		mp_sys_threads_fall_to(before - ending, THREADS_GONE_NS);
	__atomic_store_n(&mp_sandboxed, 1, __ATOMIC_RELEASE);
}

/* installs: 1 a filter, 2 strict mode (sys_call.c). */
static void sandbox_coming(int installs)
{
	if (mp_state_sandboxed() || (installs == 1 && filter_would_be_refused()))
		return;
	sandbox();
}

void mp_recording_sandbox_watch(void)
{
	mp_sys_call_watch_seccomp(sandbox_coming);
}
