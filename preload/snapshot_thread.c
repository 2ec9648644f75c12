/* snapshot_thread.c: memprof's snapshot thread: snapshots every MEMPROF_SNAPSHOT_MS and
 * on the signal MEMPROF_SNAPSHOT_SIGNAL, and the RSS watch every MEMPROF_RSS_WATCH_MS
 * (rss_watch.c) when the leak thread does not keep it (sampled, or MEMPROF_LEAK_CHECK=0).
 *
 * Started from the constructor, after the leak thread, when one of those is its to do; in a
 * sampled run with only the watch to do, at the first sampled allocation instead
 * (record.c), from inside the program's call: the recorder is done with that allocation
 * and holds no lock, and pthread_create's own allocation goes straight to malloc. It is busy for life (records nothing of its own), blocks every signal, runs on a
 * stack from mp_sys_map_anon (so it counts as memprof's memory) and leaves when it is the
 * last thread, so it never keeps a process alive whose program threads have all ended.
 * The signal handler only posts a semaphore (sem_post is async-signal-safe) and chains to
 * nothing: the user gave that signal to us. A fork child gets a thread of its own from its
 * fork handler (glibc has reset its loader and allocator locks by then) when the RSS watch
 * is on: its RSS peaks are its own.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"

#define THREAD_STACK_BYTES (128u * 1024u)
#define LIVENESS_CHECK_NS 1000000000ull

static sem_t wake;
static int wake_ready, thread_running, signal_pending, stopping;
static int watching; /* this thread claimed the RSS watch */

static void thread_on_signal(int signal_number)
{
	(void)signal_number;
	int saved_errno = errno;
	__atomic_store_n(&signal_pending, 1, __ATOMIC_RELEASE);
	sem_post(&wake);
	errno = saved_errno;
}

/* The earliest of the deadlines that are set (0: not set). */
static uint64_t thread_earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* Sleeps until `until` (CLOCK_MONOTONIC ns, the clock mp_clock_now_ns follows) or the
 * signal's post. */
static void thread_sleep(uint64_t now, uint64_t until)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	uint64_t wait_ns = until > now ? until - now : 0;
	deadline.tv_sec += (time_t)(wait_ns / 1000000000u);
	deadline.tv_nsec += (long)(wait_ns % 1000000000u);
	if (deadline.tv_nsec >= 1000000000l) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000l;
	}
	sem_clockwait(&wake, CLOCK_MONOTONIC, &deadline);
}

/* The next deadline of a period after `now`: missed ticks are not made up. */
static uint64_t thread_next(uint64_t deadline, uint64_t period, uint64_t now)
{
	while (deadline <= now)
		deadline += period;
	return deadline;
}


static void *thread_main(void *unused)
{
	(void)unused;
	struct mp_thread *thread = &mp_state_thread;
	thread->busy = 1; /* for life: nothing this thread does is the program's */
	thread->own = 1;
	int tid = (int)syscall(SYS_gettid);
	mp_sys_own_thread_add(tid);
	uint64_t interval_ns = (uint64_t)mp_config.snapshot_ms * 1000000u;
	uint64_t watch_ns = watching ? (uint64_t)mp_config.rss_watch_ms * 1000000u : 0;
	uint64_t start = mp_clock_now_ns();
	uint64_t next_interval = interval_ns ? start + interval_ns : 0;
	uint64_t next_watch = watch_ns ? start + watch_ns : 0;
	uint64_t next_check = start + LIVENESS_CHECK_NS;
	for (;;) {
		uint64_t now = mp_clock_now_ns();
		thread_sleep(now, thread_earliest(thread_earliest(next_interval, next_watch),
						  next_check));
		/* Told to leave as the process exits: busy to the end (what glibc frees for it
		 * is memprof's), and still listed as memprof's (mp_sys_own_thread), so that the
		 * exit snapshot does not wait for it to be off its CPU. */
		if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
			thread_running = 0;
			return NULL;
		}
		if (__atomic_exchange_n(&signal_pending, 0, __ATOMIC_ACQ_REL))
			mp_snapshot_take_busy(thread, MP_SNAP_SIGNAL, 1);
		now = mp_clock_now_ns();
		if (next_interval && now >= next_interval) {
			mp_snapshot_take_busy(thread, MP_SNAP_INTERVAL, 1);
			/* N ms from the end of this one: a snapshot of a big process takes tens of
			 * ms, and the next interval, the one MEMPROF_SNAPSHOT_ACCESS measures,
			 * must not shrink by as much. */
			next_interval = mp_clock_now_ns() + interval_ns;
		}
		if (next_watch && now >= next_watch) {
			mp_rss_watch_tick(thread, now);
			next_watch = thread_next(next_watch, watch_ns, mp_clock_now_ns());
		}
		if (now >= next_check) {
			next_check = now + LIVENESS_CHECK_NS;
			if (mp_sys_only_own_threads())
				break;
		}
	}
	/* The last thread: glibc now calls exit(0) on this thread, whose hook runs the exit
	 * snapshot and the leak check as on any other thread: from here on, what this thread
	 * does (the program's exit handlers) is the program's. */
	thread_running = 0;
	mp_sys_own_thread_remove(tid);
	thread->busy = 0;
	return NULL;
}

static void thread_create(void)
{
	thread_running = mp_single_thread_start_own(thread_main, THREAD_STACK_BYTES) == 0;
}

int mp_snapshot_thread_deferred;

void mp_snapshot_thread_start(void)
{
	int only_watch = !mp_config.snapshot_ms && !mp_config.snapshot_signal;
	if (only_watch && !mp_config.rss_watch_ms)
		return;
	if (!wake_ready && sem_init(&wake, 0, 0) == 0)
		wake_ready = 1;
	if (!wake_ready)
		return;
	/* Sampled, with only the watch to do: RSS grows only in memory the program allocated
	 * or mapped, and a program that never allocated enough to be sampled (512 KiB on
	 * average) has no peak to find; a short one then pays for no thread at all. */
	if (only_watch && mp_config.sample_bytes) {
		__atomic_store_n(&mp_snapshot_thread_deferred, 1, __ATOMIC_RELEASE);
		return;
	}
	watching = mp_config.rss_watch_ms && mp_rss_watch_claim();
	if (only_watch && !watching)
		return;
	if (mp_config.snapshot_signal)
		mp_sys_handle_signal(mp_config.snapshot_signal, thread_on_signal,
				     "MEMPROF_SNAPSHOT_SIGNAL");
	thread_create();
}

void mp_snapshot_thread_start_deferred(void)
{
	int expected = 1;
	if (!__atomic_compare_exchange_n(&mp_snapshot_thread_deferred, &expected, 0, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	watching = mp_rss_watch_claim();
	if (watching)
		thread_create();
}

void mp_snapshot_thread_stop(void)
{
	__atomic_store_n(&mp_snapshot_thread_deferred, 0, __ATOMIC_RELEASE); /* too late */
	mp_rss_watch_stop(); /* whichever thread keeps it */
	if (!__atomic_load_n(&thread_running, __ATOMIC_ACQUIRE))
		return;
	mp_single_thread_give_up(); /* the thread's end frees through glibc's free */
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	sem_post(&wake);
}

int mp_snapshot_thread_running(void)
{
	return __atomic_load_n(&thread_running, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&stopping, __ATOMIC_ACQUIRE);
}

int mp_snapshot_thread_pause(void)
{
	if (!mp_snapshot_thread_running())
		return 0;
	mp_single_thread_give_up(); /* the thread's end frees through glibc's free */
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	sem_post(&wake);
	return 1;
}

void mp_snapshot_thread_resume(void)
{
	if (__atomic_load_n(&thread_running, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&stopping, 0, __ATOMIC_RELEASE); /* it never left */
		return;
	}
	__atomic_store_n(&stopping, 0, __ATOMIC_RELEASE);
	thread_create();
}

void mp_snapshot_thread_after_fork_child(void)
{
	/* Only the forking thread survives. If this thread ran and the RSS watch is on, the
	 * child gets a thread of its own, now: glibc has reset its allocator and loader locks
	 * before running the fork handlers, and later the only places to start one would be
	 * inside the program's calls. It keeps the child's watch, and interval and signal
	 * snapshots then serve the child too; without the watch the child has none (its
	 * signal handler, inherited, posts to a semaphore no one waits on) and takes its exit
	 * snapshot. If the leak thread kept the watch, the child's leak thread, started at
	 * its first event, keeps the child's. */
	int was_running = thread_running && !stopping;
	thread_running = 0;
	stopping = 0;
	mp_rss_watch_after_fork_child();
	if (!wake_ready)
		return;
	sem_init(&wake, 0, 0);
	if (was_running && mp_config.rss_watch_ms) {
		watching = mp_rss_watch_claim();
		thread_create();
	}
}
