/* recording_alone.c: calls that need the process to hold only the program's threads.
 *
 * unshare(CLONE_NEWUSER) (and CLONE_THREAD, CLONE_SIGHAND, CLONE_VM) fails with EINVAL in
 * a process of more than one thread, and so does setns() into a user or a mount
 * namespace. A single-threaded program that makes such a call (`unshare -U`, nsenter, a
 * service that puts itself in namespaces) had memprof's leak and snapshot threads beside
 * its own: `unshare -U true` failed under memprof with "Invalid argument"
 * (tests/progs/single_thread.c).
 *
 * So unshare() and setns() (sys_call.c, with the same calls through syscall()) tell the
 * recorder before such a call: memprof's threads are asked to end and waited for, until
 * the process counts that many threads fewer (ALONE_GONE_NS at most), and started again
 * at the first allocation ALONE_RESUME_NS after the last such call (record.c sees
 * mp_leak_thread_deferred set): sequences of calls (nsenter's setns into each namespace
 * in turn) find the process alone throughout, and the usual end of such a sequence, an
 * exec, starts memprof afresh anyway. Meanwhile recording goes on; only the folding of
 * the live set waits (a check in that time folds what it needs itself) and the RSS watch
 * misses its looks.
 *
 * The same goes for glibc's set*id functions (interpose_ids.c): glibc makes every thread
 * of the process change its ids, and aborts the process if some succeed and others fail.
 * Capabilities are a thread's own: a program that keeps its capabilities through a change
 * of user (setpriv, capsh, daemons dropping privileges with libcap) restores them on its
 * own thread only, and its next setresgid failed on memprof's thread: `setpriv
 * --reuid=nobody --regid=nogroup id` aborted under memprof.
 *
 * Not covered: a program that checks by itself that it has one thread (Chromium's zygote
 * counts /proc/self/task and stops when it finds more). With MEMPROF_LEAK_CHECK=0 and
 * MEMPROF_RSS_WATCH=0 memprof starts no thread (README).
 */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "leak_scan.h"
#include "proc_text.h"
#include "recorder.h"
#include "snapshot.h"

/* memprof's threads end within microseconds of being asked. */
#define ALONE_GONE_NS (200ull * 1000 * 1000)
#define ALONE_RESUME_NS (1000ull * 1000 * 1000)

static struct {
	int pending; /* threads paused, to be resumed */
	int leak, snapshot; /* which were running */
	uint64_t resume_ns; /* not before (mp_clock_now_ns) */
} alone;

/* The process's threads, /proc/self/status's "Threads:" line (memprof's included, and
 * one made but not run yet); 0 if unknown, or while another thread reads it (the buffer
 * is static: a small stack could not spare it). */
static uint64_t alone_threads(void)
{
	static char status[8192];
	static int reading;
	uint64_t threads = 0;
	if (__atomic_exchange_n(&reading, 1, __ATOMIC_ACQUIRE))
		return 0;
	if (!mp_sys_read_text("/proc/self/status", status, sizeof(status)) ||
	    !mp_proc_field(status, "Threads", &threads))
		threads = 0;
	__atomic_store_n(&reading, 0, __ATOMIC_RELEASE);
	return threads;
}

/* Waits until the process has at most `threads` threads, ALONE_GONE_NS at most: a thread
 * that left its function still runs its exit for a while. 1 if it does. */
static int alone_wait(uint64_t threads)
{
	uint64_t deadline = mp_clock_now_ns() + ALONE_GONE_NS;
	struct timespec pause = { 0, 20 * 1000 };
	for (;;) {
		uint64_t now_threads = alone_threads();
		if (now_threads && now_threads <= threads)
			return 1;
		if (!now_threads || mp_clock_now_ns() >= deadline)
			return 0;
		syscall(SYS_nanosleep, &pause, NULL);
	}
}

void mp_recording_alone_needed(void)
{
	if (mp_state_sandboxed())
		return;
	__atomic_store_n(&alone.resume_ns, mp_clock_now_ns() + ALONE_RESUME_NS, __ATOMIC_RELAXED);
	/* Cheap when paused already: a program switching its effective user back and forth
	 * (seteuid) calls this each time. */
	if (!mp_leak_thread_running() && !mp_snapshot_thread_running())
		return;
	/* A vfork child (posix_spawn's, or a program's own) shares its parent's memory and
	 * none of its threads: the threads running are the parent's, and stay. */
	if (mp_recording_in_vfork_child())
		return;
	uint64_t before = alone_threads();
	int leak = mp_leak_thread_pause();
	int snapshot = mp_snapshot_thread_pause();
	if (!leak && !snapshot)
		return;
	alone.leak |= leak;
	alone.snapshot |= snapshot;
	__atomic_store_n(&alone.pending, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&mp_leak_thread_deferred, 1, __ATOMIC_RELEASE);
	/* The snapshot thread does not take itself off memprof's list when it leaves. */
	if (before > (uint64_t)(leak + snapshot) && alone_wait(before - (uint64_t)(leak + snapshot)))
		mp_sys_own_threads_forget();
}

void mp_recording_threads_deferred(void)
{
	/* A fork child's first leak thread waits as well; a sandboxed process has none. */
	if (mp_state_sandboxed() ||
	    mp_clock_now_ns() < __atomic_load_n(&alone.resume_ns, __ATOMIC_RELAXED))
		return;
	if (!__atomic_load_n(&alone.pending, __ATOMIC_ACQUIRE)) {
		mp_leak_thread_start_deferred();
		return;
	}
	int expected = 1;
	if (!__atomic_compare_exchange_n(&alone.pending, &expected, 0, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&mp_leak_thread_deferred, 0, __ATOMIC_RELEASE);
	/* Signals held: from a program's allocation, whose signal handler could jump out of
	 * it (recording_jumps.c) and leave a thread made but not known. */
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	if (alone.leak)
		mp_leak_thread_resume();
	if (alone.snapshot)
		mp_snapshot_thread_resume();
	alone.leak = alone.snapshot = 0;
	mp_sys_signals_release(&signals);
}

void mp_recording_alone_watch(void)
{
	mp_sys_call_watch_alone(mp_recording_alone_needed);
}
