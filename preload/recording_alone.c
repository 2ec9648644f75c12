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
 * And a program that checks by itself that it has one thread, by the link count of its
 * /proc/self/task (Chromium's zygote stopped on finding more): the stat family
 * (interpose_stat.c) tells the recorder before a stat of that directory. Not covered:
 * counting by /proc/self/status or by the directory's entries. With MEMPROF_LEAK_CHECK=0
 * and MEMPROF_RSS_WATCH=0 memprof starts no thread (README).
 */
#include "leak_scan.h"
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
	uint64_t before = 0; /* memprof's included, and one made but not run yet */
	mp_sys_status_field("Threads", &before);
	int leak = mp_leak_thread_pause();
	int snapshot = mp_snapshot_thread_pause();
	if (!leak && !snapshot)
		return;
	alone.leak |= leak;
	alone.snapshot |= snapshot;
	__atomic_store_n(&alone.pending, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&mp_leak_thread_deferred, 1, __ATOMIC_RELEASE);
	/* The snapshot thread does not take itself off memprof's list when it leaves. */
	uint64_t ending = (uint64_t)(leak + snapshot);
	if (before > ending && mp_sys_threads_fall_to(before - ending, ALONE_GONE_NS))
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
