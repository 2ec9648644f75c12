/* snapshot_thread.c: the thread that takes snapshots every MEMPROF_SNAPSHOT_MS and on
 * the signal MEMPROF_SNAPSHOT_SIGNAL.
 *
 * Started from the constructor only when asked for: it is busy for life (records nothing
 * of its own), blocks every signal, runs on a stack from mp_sys_map_anon (so it counts as
 * memprof's memory) and leaves when it is the last thread, so it never keeps a process
 * alive whose program threads have all ended. The signal handler only posts a semaphore
 * (sem_post is async-signal-safe) and chains to nothing: the user gave that signal to us.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc_text.h"
#include "snapshot.h"

#define THREAD_STACK_BYTES (128u * 1024u)
#define LIVENESS_CHECK_NS 1000000000ull

static sem_t wake;
static int wake_ready, thread_running, signal_pending;

static void thread_on_signal(int signal_number)
{
	(void)signal_number;
	int saved_errno = errno;
	__atomic_store_n(&signal_pending, 1, __ATOMIC_RELEASE);
	sem_post(&wake);
	errno = saved_errno;
}

/* Counts the program's live threads (not memprof's) until it has seen one. */
static int thread_count_live(const char *tid, void *context)
{
	int *live = context;
	char path[64] = "/proc/self/task/", stat[512];
	int number = 0;
	for (const char *at = tid; *at >= '0' && *at <= '9'; at++)
		number = number * 10 + (*at - '0');
	if (mp_sys_own_thread(number))
		return 0;
	mp_sys_str_append(path, sizeof(path), tid);
	mp_sys_str_append(path, sizeof(path), "/stat");
	if (mp_sys_read_text(path, stat, sizeof(stat)) && mp_proc_task_alive(stat))
		(*live)++;
	return *live >= 1;
}

/* 1 if no thread of the program is left, only memprof's. A main thread that called
 * pthread_exit stays as a zombie ('Z' in /proc/self/task/TID/stat), so threads are
 * counted by state, not by the Threads: line. */
static int thread_alone(void)
{
	int live = 0;
	mp_sys_each_task(thread_count_live, &live);
	return live == 0;
}

static void *thread_main(void *unused)
{
	(void)unused;
	struct mp_thread *thread = &mp_state_thread;
	thread->busy = 1; /* for life: nothing this thread does is the program's */
	int tid = (int)syscall(SYS_gettid);
	mp_sys_own_thread_add(tid);
	uint64_t interval_ns = (uint64_t)mp_config.snapshot_ms * 1000000u;
	uint64_t next_interval = mp_clock_now_ns() + interval_ns, next_check = 0;
	for (;;) {
		uint64_t now = mp_clock_now_ns();
		uint64_t until = interval_ns && next_interval < now + LIVENESS_CHECK_NS
					 ? next_interval : now + LIVENESS_CHECK_NS;
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
		if (__atomic_exchange_n(&signal_pending, 0, __ATOMIC_ACQ_REL))
			mp_snapshot_take_busy(thread, MP_SNAP_SIGNAL, 1);
		now = mp_clock_now_ns();
		if (interval_ns && now >= next_interval) {
			mp_snapshot_take_busy(thread, MP_SNAP_INTERVAL, 1);
			while (next_interval <= now)
				next_interval += interval_ns; /* missed ticks are not made up */
		}
		if (now >= next_check) {
			next_check = now + LIVENESS_CHECK_NS;
			if (thread_alone())
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
	pthread_attr_t attr;
	pthread_t id;
	sigset_t all, saved;
	void *stack = mp_sys_map_anon(THREAD_STACK_BYTES);
	if (!stack || pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setstack(&attr, stack, THREAD_STACK_BYTES);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Created with every signal blocked, so the program's signals never land on it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	thread_running = pthread_create(&id, &attr, thread_main, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
	if (!thread_running)
		mp_sys_unmap(stack, THREAD_STACK_BYTES);
}

void mp_snapshot_thread_start(void)
{
	if (!mp_config.snapshot_ms && !mp_config.snapshot_signal)
		return;
	if (!wake_ready && sem_init(&wake, 0, 0) == 0)
		wake_ready = 1;
	if (!wake_ready)
		return;
	if (mp_config.snapshot_signal) {
		struct sigaction action;
		memset(&action, 0, sizeof(action));
		action.sa_handler = thread_on_signal;
		action.sa_flags = SA_RESTART;
		sigemptyset(&action.sa_mask);
		if (mp_sys_sigaction(mp_config.snapshot_signal, &action, NULL) != 0)
			mp_sys_say("cannot install the handler of MEMPROF_SNAPSHOT_SIGNAL");
	}
	thread_create();
}

void mp_snapshot_thread_after_fork_child(void)
{
	/* Only the forking thread survives: no snapshot thread. The child takes its exit
	 * snapshot; its signal handler (inherited) posts to a semaphore no one waits on. */
	thread_running = 0;
	if (wake_ready)
		sem_init(&wake, 0, 0);
}
