/* leak_thread.c: memprof's leak thread: it folds the trace into the live set while the
 * program runs, and runs the leak checks the process asks for.
 *
 * Folding. Every FOLD_MIN_NS (backing off to FOLD_MAX_NS while nothing happens, and
 * sooner, down to no pause, while the program allocates fast) the thread folds what the
 * trace committed since its last round (leak_live.c). So a check only folds the last
 * few milliseconds: its cost follows the live heap, not the number of events. The
 * folding costs this thread about what replaying the trace at exit used to cost the
 * exiting one, spread over the run and off the program's threads; malloc and free do
 * nothing more than before. Where no CPU is free, a round that waited for one moves the
 * thread to another for the next (leak_move_if_crowded).
 *
 * Checks (leak_scan.c), asked for by:
 *  - exit(): the exiting thread asks and waits (mp_leak_scan_at_exit), spared from the
 *    stop (its stack is scanned from where it waits, its registers saved above) and
 *    marking from the roots beside this thread while it waits (leak_scan.c);
 *  - MEMPROF_LEAK_CHECK_SIGNAL: the handler asks and, unless it interrupted memprof
 *    itself, waits, so the thread that received the signal goes on after its check;
 *  - a fatal signal the program does not handle (recording_signals.c): the dying thread
 *    asks and waits; its registers are in its signal frame, on its stack. The check
 *    leaves every other thread stopped, and the dying thread then dies of the signal.
 * The checks run here, never in a signal handler: whatever lock the interrupted thread
 * held (malloc's, memprof's), this thread needs none of them while the others are
 * stopped: the live set is its own, the roots come from /proc, memory from
 * mp_sys_map_anon. The thread that asked writes the records in its own chunk once the
 * others run again (so the trace shows no thread of memprof's), unless it may hold a
 * lock the writing needs (it was inside memprof) or is dying: then this thread writes
 * them, before a fatal check into room it made in its chunk beforehand (leak_scan.c). A
 * waiter gives up if the check makes no progress for STALL_NS.
 *
 * The RSS watch (rss_watch.c): this thread keeps it when it runs, looking every
 * MEMPROF_RSS_WATCH_MS between its rounds, so that a full trace costs the program one
 * thread of memprof's, not two.
 *
 * Like the snapshot thread: started from the constructor (or at a fork child's first
 * event, the thread not surviving fork), busy for life (records nothing of its own),
 * blocks every signal, runs on a stack from mp_sys_map_anon (memprof's memory: never a
 * root), and leaves when the program has no thread left, so that a process whose main
 * thread called pthread_exit still ends. Without it (it could not be started, or has
 * left) the exit check runs on the exiting thread, folding the whole trace then, and a
 * fatal or on-demand signal gets no check.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "leak_scan.h"
#include "snapshot.h"
#include "unwind.h"

#define THREAD_STACK_BYTES (256u * 1024u)
#define FOLD_MIN_NS 10000000ull  /* after a round with few events */
#define FOLD_MAX_NS 500000000ull /* backing off while nothing happens */
#define FOLD_BUSY_EVENTS 4096    /* a round with more: the program allocates fast */
/* 5 ms, not 1: each round's boundary sends the blocks then live to the table, where their
 * frees follow (a batch would have cancelled them), and each wake-up costs this VM 30-50
 * us. alloc_bench's trace folded at 16.3-17.2 ns an event in 1 ms rounds, 14.2-14.6 in 5
 * ms ones, 338875 -> 219759 table operations (bench/fold_bench.c, ROUND_US); a check
 * inherits at most 5 ms of records, which fold in a few milliseconds. */
#define FOLD_BUSY_NS 5000000ull
#define FOLD_BEHIND_EVENTS 65536 /* a round with more: behind, go again at once */
#define LIVENESS_CHECK_NS 1000000000ull
/* Waiting for a CPU this long, and a tenth of the time spent on one, since the last
 * round: the thread shares its CPU (see leak_move_if_crowded). */
#define CROWDED_WAIT_NS 200000ull
#define STALL_NS 10000000000ull

static struct {
	sem_t wake;
	int wake_ready;
	int running;          /* the thread is up and serving */
	int quit;             /* asked to end (mp_leak_thread_quit) */
	int tid;
	uint32_t requested;   /* the number of the last request */
	uint32_t served;      /* every request up to this number is done */
	int want_exit;        /* the requests, by kind */
	int want_signal;      /* the check signal's number */
	int want_fatal;       /* the fatal signal's number */
	int fatal_tid;        /* the dying thread */
	uint64_t fatal_state; /* where its struct mp_thread is */
	int fatal_busy;       /* it was inside memprof when the signal came */
	int fatal_taken;      /* one thread dies with a check; others wait for it */
	struct mp_thread *fatal_writer; /* this thread's state, once its fatal check is written */
	int watches_rss;      /* this thread claimed the RSS watch */
	int want_fold;        /* fold now, whenever the next round was due */
	int signal_waiters;   /* requesters of a signal check waiting to write it */
	uint64_t progress;    /* bumped as a check goes on */
	/* What every requester sleeps on: it changes when a request is served and when the
	 * exit check offers the exiting thread marking (leak_scan.c). */
	uint32_t wait_word;
	/* The exiting thread, spared from the exit check's stop: where it waits (the frame
	 * of exit_wait_quiet) and who it is. */
	uint64_t exit_sp, exit_state;
	int exit_tid;
	uint32_t exit_number; /* the exit check's request */
	/* A check's result handed to the thread that asked for it, which writes it in its
	 * own chunk: the trace then shows no thread of memprof's (LEAK_EXIT, LEAK_SIGNAL).
	 * Handed over by pointer, each result in a mapping of its own: whoever exchanges the
	 * pointer out owns the result alone. (A result kept in the slot itself was read by a
	 * requester while the leak thread, done with the next check, released and replaced
	 * it: a crash in the fork storm, 2 runs in 400.) */
	struct mp_leak_result *results[2];
} leak;

enum { LEAK_EXIT, LEAK_SIGNAL };

static long leak_futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

/* Files a request; returns its number. Async-signal-safe. */
static uint32_t leak_request(int *kind, int value)
{
	__atomic_store_n(kind, value, __ATOMIC_RELEASE);
	uint32_t number = __atomic_add_fetch(&leak.requested, 1, __ATOMIC_ACQ_REL);
	sem_post(&leak.wake);
	return number;
}

/* Waits until request `number` is served (1), or the thread is gone or made no progress
 * for STALL_NS (0); `helping` (the exiting thread only): marks beside the check when it
 * offers (mp_leak_check_help). Async-signal-safe without helping. */
static int leak_wait(uint32_t number, int helping)
{
	uint64_t last = __atomic_load_n(&leak.progress, __ATOMIC_ACQUIRE);
	uint64_t since = mp_clock_now_ns();
	for (;;) {
		uint32_t word = __atomic_load_n(&leak.wait_word, __ATOMIC_ACQUIRE);
		if ((int32_t)(__atomic_load_n(&leak.served, __ATOMIC_ACQUIRE) - number) >= 0)
			return 1;
		if (!__atomic_load_n(&leak.running, __ATOMIC_ACQUIRE))
			return 0;
		if (helping && mp_leak_check_help())
			continue;
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		leak_futex(&leak.wait_word, FUTEX_WAIT_PRIVATE, word, &pause);
		uint64_t now = mp_clock_now_ns(), progress = __atomic_load_n(&leak.progress,
									  __ATOMIC_ACQUIRE);
		if (progress != last) {
			last = progress;
			since = now;
		} else if (now - since > STALL_NS) {
			return 0;
		}
	}
}

static void leak_serve(uint32_t number)
{
	__atomic_store_n(&leak.served, number, __ATOMIC_RELEASE);
	__atomic_add_fetch(&leak.wait_word, 1, __ATOMIC_RELEASE);
	leak_futex(&leak.wait_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/* A handed-over result that will not be written, or NULL. */
static void leak_result_drop(struct mp_leak_result *handed)
{
	if (!handed)
		return;
	mp_leak_check_release(handed);
	mp_sys_unmap(handed, sizeof(*handed));
}

/* Runs a check; its result is written here, or handed to a waiting requester (slot
 * LEAK_EXIT or LEAK_SIGNAL, or -1 for none). */
static void leak_check(struct mp_thread *thread, enum mp_leak_check_reason reason, int sig,
		       int slot)
{
	struct mp_leak_check_request request = { .reason = reason, .signal = sig };
	struct mp_leak_result result;
	request.keep_stopped = reason == MP_LEAK_CHECK_FATAL_SIGNAL;
	if (reason == MP_LEAK_CHECK_EXIT && __atomic_load_n(&leak.exit_tid, __ATOMIC_ACQUIRE)) {
		request.spare_tid = __atomic_load_n(&leak.exit_tid, __ATOMIC_ACQUIRE);
		request.spare_state = __atomic_load_n(&leak.exit_state, __ATOMIC_ACQUIRE);
		request.spare_sp = __atomic_load_n(&leak.exit_sp, __ATOMIC_ACQUIRE);
		request.helper_wake = &leak.wait_word;
	}
	if (reason == MP_LEAK_CHECK_FATAL_SIGNAL) {
		request.spare_tid = __atomic_load_n(&leak.fatal_tid, __ATOMIC_ACQUIRE);
		request.spare_state = __atomic_load_n(&leak.fatal_state, __ATOMIC_ACQUIRE);
		request.locks_held = __atomic_load_n(&leak.fatal_busy, __ATOMIC_ACQUIRE);
	}
	mp_leak_check_scan(&request, thread, &result, &leak.progress);
	if (slot < 0) {
		mp_leak_check_write(thread, &result);
		return;
	}
	struct mp_leak_result *handed = mp_sys_map_anon(sizeof(*handed));
	if (!handed) {
		mp_leak_check_release(&result); /* the requester finds nothing to write */
		return;
	}
	*handed = result;
	/* A result nobody took (its requester gave up) is released, not written twice. */
	leak_result_drop(__atomic_exchange_n(&leak.results[slot], handed, __ATOMIC_ACQ_REL));
}

/* The requester's side: writes the result handed over in `slot`, if it is there. */
static int leak_take_result(struct mp_thread *thread, int slot)
{
	struct mp_leak_result *handed = __atomic_exchange_n(&leak.results[slot], NULL,
							    __ATOMIC_ACQ_REL);
	if (!handed)
		return 0;
	mp_leak_check_write(thread, handed); /* releases its blocks */
	mp_sys_unmap(handed, sizeof(*handed));
	return 1;
}

/* Runs the checks asked for; returns 1 if it ran one. After a fatal check this thread
 * has nothing more to do: the process is dying. */
static int leak_serve_requests(struct mp_thread *thread)
{
	uint32_t number = __atomic_load_n(&leak.requested, __ATOMIC_ACQUIRE);
	int fatal = __atomic_exchange_n(&leak.want_fatal, 0, __ATOMIC_ACQ_REL);
	int at_exit = __atomic_exchange_n(&leak.want_exit, 0, __ATOMIC_ACQ_REL);
	int sig = __atomic_exchange_n(&leak.want_signal, 0, __ATOMIC_ACQ_REL);
	if (fatal) {
		leak_check(thread, MP_LEAK_CHECK_FATAL_SIGNAL, fatal, -1);
		__atomic_store_n(&leak.fatal_writer, thread, __ATOMIC_RELEASE);
		leak_serve(number);
		for (;;)
			pause();
	}
	if (at_exit)
		leak_check(thread, MP_LEAK_CHECK_EXIT, 0, LEAK_EXIT);
	if (sig)
		leak_check(thread, MP_LEAK_CHECK_SIGNAL, sig,
			   __atomic_load_n(&leak.signal_waiters, __ATOMIC_ACQUIRE) ? LEAK_SIGNAL : -1);
	if (at_exit || sig)
		leak_serve(number);
	return at_exit || sig;
}

static void leak_sleep(uint64_t wait_ns)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(wait_ns / 1000000000u);
	deadline.tv_nsec += (long)(wait_ns % 1000000000u);
	if (deadline.tv_nsec >= 1000000000l) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000l;
	}
	sem_clockwait(&leak.wake, CLOCK_MONOTONIC, &deadline);
}

/* This thread's time on a CPU and time waiting for one (runnable, not running) since it
 * started, in ns: /proc/thread-self/schedstat. 0 if it cannot be read. */
static int sched_times(uint64_t *on_cpu, uint64_t *waited)
{
	char text[96];
	long got = mp_sys_read_file("/proc/thread-self/schedstat", text, sizeof(text) - 1);
	if (got <= 0)
		return 0;
	text[got] = '\0';
	const char *at = text;
	uint64_t values[2] = { 0, 0 };
	for (int i = 0; i < 2; i++) {
		while (*at == ' ')
			at++;
		if (*at < '0' || *at > '9')
			return 0;
		while (*at >= '0' && *at <= '9')
			values[i] = values[i] * 10 + (uint64_t)(*at++ - '0');
	}
	*on_cpu = values[0];
	*waited = values[1];
	return 1;
}

/* The leak thread's times (sched_times) at its last round, and whether its CPUs are a
 * set of its own making (moved). */
struct crowding {
	uint64_t on_cpu, waited;
	int known, moved;
};

/* Where the rounds run. With every CPU busy with the program's threads, the scheduler
 * does not even this thread's share out: with two threads of the program on two CPUs it
 * took its time from the same one for the whole run, and the process ended when that one
 * did, the fold's whole time after the other (alloc_bench, perf sched). So after a round
 * where it waited for a CPU (runnable, not running: woken late, or preempted) a tenth of
 * the time it ran since the last round, and at least CROWDED_WAIT_NS, it moves off the
 * CPU it ran on, to the others the main thread may use: it takes its time from each in
 * turn. One that has a CPU to itself never waits and stays where it is. The main
 * thread's set is the program's choice (taskset, or a program that pins all its threads;
 * this thread started with that set too): a moved thread follows it when it changes, and
 * never leaves it. */
static void leak_move_if_crowded(struct crowding *last)
{
	uint64_t on_cpu, waited;
	/* A filter the process started under may forbid setting affinity (systemd's
	 * ~@resources): the rounds then stay where the scheduler puts them. */
	if (mp_state_filtered_at_start() || !sched_times(&on_cpu, &waited))
		return;
	uint64_t ran = on_cpu - last->on_cpu, wait = waited - last->waited;
	int crowded = last->known && wait >= CROWDED_WAIT_NS && wait * 10 >= ran;
	*last = (struct crowding){ on_cpu, waited, 1, last->moved };
	if (!crowded && !last->moved)
		return;
	cpu_set_t allowed, next;
	if (sched_getaffinity(getpid(), sizeof(allowed), &allowed))
		return;
	int cpu = sched_getcpu();
	if (crowded && cpu >= 0 && cpu < CPU_SETSIZE) {
		next = allowed;
		CPU_CLR(cpu, &next);
		if (CPU_COUNT(&next) && sched_setaffinity(0, sizeof(next), &next) == 0) {
			last->moved = 1;
			return;
		}
	}
	/* Not crowded, or nowhere to go: a set of ours must still lie within the program's. */
	cpu_set_t own;
	if (last->moved && sched_getaffinity(0, sizeof(own), &own) == 0) {
		CPU_AND(&next, &own, &allowed);
		if (!CPU_EQUAL(&next, &own))
			sched_setaffinity(0, sizeof(next), CPU_COUNT(&next) ? &next : &allowed);
	}
}

static void *leak_main(void *unused)
{
	(void)unused;
	struct mp_thread *thread = &mp_state_thread;
	thread->busy = 1; /* for life: nothing this thread does is the program's */
	thread->own = 1;
	leak.tid = (int)syscall(SYS_gettid);
	mp_sys_own_thread_add(leak.tid);
	mp_leak_live_progress(&leak.progress);
	__atomic_store_n(&leak.running, 1, __ATOMIC_RELEASE);
	mp_trace_file_replaced_close();
	uint64_t interval = FOLD_MIN_NS, next_check = 0;
	uint64_t watch_ns = (uint64_t)mp_config.rss_watch_ms * 1000000u;
	uint64_t next_fold = mp_clock_now_ns() + interval, next_watch = next_fold;
	struct crowding crowding = { 0, 0, 0, 0 };
	for (;;) {
		int watching = __atomic_load_n(&leak.watches_rss, __ATOMIC_ACQUIRE);
		uint64_t now = mp_clock_now_ns();
		uint64_t wake = watching && next_watch < next_fold ? next_watch : next_fold;
		leak_sleep(wake > now ? wake - now : 0);
		if (__atomic_load_n(&leak.quit, __ATOMIC_ACQUIRE))
			break;
		if (leak_serve_requests(thread))
			continue;
		now = mp_clock_now_ns();
		/* The exit check comes next: this round is its first, and like it leaves the
		 * table as it is (shrinking one just emptied only delays the check). */
		enum mp_leak_fold_mode mode = MP_LEAK_FOLD_PRUNE;
		if (__atomic_exchange_n(&leak.want_fold, 0, __ATOMIC_ACQ_REL)) {
			next_fold = now;
			mode = MP_LEAK_FOLD_KEEP;
		}
		if (watching && now >= next_watch) {
			mp_rss_watch_tick(thread, now);
			while (next_watch <= now) /* missed looks are not made up */
				next_watch += watch_ns;
		}
		if (now >= next_check) {
			next_check = now + LIVENESS_CHECK_NS;
			if (mp_sys_only_own_threads())
				break;
		}
		if (now < next_fold)
			continue;
		int folded = mp_leak_live_fold(mp_trace_file_path(), mode);
		leak_move_if_crowded(&crowding);
		/* The exit's round: the space reserved ahead is cut off now, beside the exit
		 * snapshot, rather than at the trace's end, where an ftruncate of up to 2 MiB
		 * took 0.3-0.7 ms of the exit (cc1, alloc_bench). */
		if (mode == MP_LEAK_FOLD_KEEP)
			mp_trace_file_ahead_done();
		else
			mp_trace_file_reserve_ahead();
		if (folded >= FOLD_BEHIND_EVENTS)
			interval = 0;
		else if (folded >= FOLD_BUSY_EVENTS)
			interval = FOLD_BUSY_NS;
		else if (folded > 0)
			interval = FOLD_MIN_NS;
		else
			interval = interval * 2 < FOLD_MAX_NS ? interval * 2 : FOLD_MAX_NS;
		next_fold = mp_clock_now_ns() + interval;
	}
	/* The last thread: glibc now calls exit(0) on this one, whose hook runs the exit
	 * work as on any other thread, the leak check included (without this thread). */
	__atomic_store_n(&leak.running, 0, __ATOMIC_RELEASE);
	int quit = __atomic_load_n(&leak.quit, __ATOMIC_ACQUIRE);
	if (!quit)
		leak_serve(__atomic_load_n(&leak.requested, __ATOMIC_ACQUIRE));
	mp_sys_own_thread_remove(leak.tid);
	/* Asked to end (paused, sandboxed), the thread ends with the process going on: what
	 * glibc frees as it ends (its TLS vector, allocated when memprof made it) is
	 * memprof's, not a free of the program's. */
	if (!quit)
		thread->busy = 0;
	return NULL;
}

static void leak_create(void)
{
	if (mp_single_thread_start_own(leak_main, THREAD_STACK_BYTES) < 0)
		return;
	/* A thread resumed (mp_leak_thread_resume) keeps the watch its predecessor claimed. */
	int watches = __atomic_load_n(&leak.watches_rss, __ATOMIC_ACQUIRE);
	__atomic_store_n(&leak.watches_rss,
			 mp_config.rss_watch_ms && (watches || mp_rss_watch_claim()),
			 __ATOMIC_RELEASE);
	/* Until it runs, requests wait for it rather than fall through. */
	__atomic_store_n(&leak.running, 1, __ATOMIC_RELEASE);
}

int mp_leak_thread_deferred;

void mp_leak_thread_start_deferred(void)
{
	int expected = 1;
	if (__atomic_compare_exchange_n(&mp_leak_thread_deferred, &expected, 0, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Signals held: from a program's allocation, whose signal handler could jump
		 * out of it (recording_jumps.c) and leave the thread made but not known. */
		uint64_t signals;
		mp_sys_signals_hold(&signals);
		mp_leak_thread_start();
		mp_sys_signals_release(&signals);
	}
}

void mp_leak_thread_start(void)
{
	if (!mp_config.leak_check || mp_config.sample_bytes || leak.running)
		return;
	mp_sys_siglongjmp_resolve(); /* for the scans' fault handler */
	if (!leak.wake_ready && sem_init(&leak.wake, 0, 0) == 0)
		leak.wake_ready = 1;
	if (!leak.wake_ready)
		return;
	if (mp_leak_stop_install() < 0)
		mp_sys_say("no free real-time signal to stop threads with: leak checks will not "
			   "stop the program's threads");
	leak_create();
}

void mp_leak_scan_exit_coming(void)
{
	if (!mp_config.leak_check || !__atomic_load_n(&leak.running, __ATOMIC_ACQUIRE))
		return;
	mp_leak_live_exit_coming();
	__atomic_store_n(&leak.want_fold, 1, __ATOMIC_RELEASE);
	sem_post(&leak.wake);
}

/* The exiting thread's wait for its check, marking beside it when it offers. Not inlined: its frame is where the check scans this
 * thread's stack from, the caller's registers saved above it (exit_wait's and
 * mp_leak_scan_at_exit's frames), its own and its callees' below, unread. */
static __attribute__((noinline)) int exit_wait_quiet(void)
{
	__atomic_store_n(&leak.exit_sp, (uint64_t)(uintptr_t)__builtin_frame_address(0),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&leak.exit_state, (uint64_t)(uintptr_t)&mp_state_thread, __ATOMIC_RELEASE);
	__atomic_store_n(&leak.exit_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	uint32_t number = leak_request(&leak.want_exit, 1);
	__atomic_store_n(&leak.exit_number, number, __ATOMIC_RELEASE);
	return leak_wait(number, 1);
}

/* Spared from the stop, the exiting thread must stay in exit_wait_quiet until the check
 * is done: a handler of the program's that jumped out of the wait would run the program
 * beside the scan of its stack, or leave the check waiting for its help forever, the
 * others stopped. So none runs meanwhile (a signal is delivered after, a few
 * milliseconds later); the faults the marking's guard catches stay deliverable. */
static int exit_wait(void)
{
	sigset_t quiet, saved;
	sigfillset(&quiet);
	sigdelset(&quiet, SIGSEGV);
	sigdelset(&quiet, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &quiet, &saved);
	int served = exit_wait_quiet();
	/* Written before a signal is let in: a SIGTERM that came during the check, delivered
	 * as the mask goes back, finds it in the trace (mp_leak_check_fatal). */
	if (served)
		leak_take_result(&mp_state_thread, LEAK_EXIT);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return served;
}

void mp_leak_scan_at_exit(void)
{
	if (!mp_config.leak_check || !mp_state_is_ready())
		return;
	struct mp_thread *thread = &mp_state_thread;
	if (thread->busy)
		return;
	thread->busy = 1;
	int saved_errno = errno;
	/* Callee-saved registers go onto this frame, above the wait: the registers of the
	 * exiting thread are roots like its stack. */
	__builtin_unwind_init();
	if (__atomic_load_n(&leak.running, __ATOMIC_ACQUIRE)) {
		/* If it stalls, no check: never a second one beside it on the same live set. */
		exit_wait();
	} else {
		struct mp_leak_check_request request = { .reason = MP_LEAK_CHECK_EXIT };
		struct mp_leak_result result;
		uint64_t progress = 0;
		mp_leak_check_scan(&request, thread, &result, &progress);
		mp_leak_check_write(thread, &result);
	}
	errno = saved_errno;
	thread->busy = 0;
}

void mp_leak_check_on_signal(int sig)
{
	if (!__atomic_load_n(&leak.running, __ATOMIC_ACQUIRE))
		return;
	struct mp_thread *thread = &mp_state_thread;
	/* Inside memprof this thread may hold a lock the writing needs: the leak thread
	 * writes the check, and this one does not wait. */
	if (thread->busy) {
		leak_request(&leak.want_signal, sig);
		return;
	}
	thread->busy = 1;
	__atomic_add_fetch(&leak.signal_waiters, 1, __ATOMIC_ACQ_REL);
	uint32_t number = leak_request(&leak.want_signal, sig);
	if (leak_wait(number, 0))
		leak_take_result(thread, LEAK_SIGNAL); /* the first waiter writes it */
	__atomic_sub_fetch(&leak.signal_waiters, 1, __ATOMIC_ACQ_REL);
	thread->busy = 0;
}

/* A fatal signal while the exit's check runs or after it was written: that check is the
 * process's last, and a second one would take as long again (3M blocks live: the death
 * came 0.26 s after the exit would have ended). The exiting thread gets the signal only
 * once its check is written (exit_wait); another thread waits for it to be served, and
 * the exiting thread writes it, unless the signal ends the process first. */
static void fatal_after_exit_check(int exiting)
{
	if (exiting == (int)syscall(SYS_gettid))
		return;
	uint32_t number;
	for (int step = 0; !(number = __atomic_load_n(&leak.exit_number, __ATOMIC_ACQUIRE)) &&
			   step < 2000; step++) {
		struct timespec pause = { 0, 50000 };
		syscall(SYS_nanosleep, &pause, NULL);
	}
	if (number)
		leak_wait(number, 0);
}

int mp_leak_check_fatal(int sig)
{
	if (!mp_config.leak_check || !__atomic_load_n(&leak.running, __ATOMIC_ACQUIRE) ||
	    !mp_state_is_ready())
		return 0;
	int exiting = __atomic_load_n(&leak.exit_tid, __ATOMIC_ACQUIRE);
	if (exiting) {
		fatal_after_exit_check(exiting);
		return 0;
	}
	int expected = 0;
	if (!__atomic_compare_exchange_n(&leak.fatal_taken, &expected, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread is dying with a check: the process goes with it. */
		for (;;)
			pause();
	}
	__atomic_store_n(&leak.fatal_state, (uint64_t)(uintptr_t)&mp_state_thread, __ATOMIC_RELEASE);
	__atomic_store_n(&leak.fatal_busy, mp_state_thread.busy != 0, __ATOMIC_RELEASE);
	__atomic_store_n(&leak.fatal_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	mp_leak_live_exit_coming(); /* a shrink of the live set under way gives way (a store) */
	return leak_wait(leak_request(&leak.want_fatal, sig), 0);
}

struct mp_thread *mp_leak_fatal_writer(void)
{
	return __atomic_load_n(&leak.fatal_writer, __ATOMIC_ACQUIRE);
}

int mp_leak_thread_after_fork_child(uint32_t parent_pid, uint64_t fork_ns, uint64_t file_end)
{
	/* Only the forking thread survives; the child's trace is a new one. */
	__atomic_store_n(&leak.running, 0, __ATOMIC_RELEASE);
	leak.tid = 0;
	leak.requested = leak.served = 0;
	leak.want_exit = leak.want_signal = leak.want_fatal = 0;
	leak.fatal_tid = leak.fatal_taken = 0;
	leak.watches_rss = 0;
	leak.fatal_state = 0;
	leak.fatal_busy = 0;
	leak.fatal_writer = NULL;
	leak.signal_waiters = 0;
	leak.exit_tid = 0;
	leak.exit_sp = leak.exit_state = 0;
	leak.exit_number = 0;
	for (int slot = 0; slot < 2; slot++)
		leak_result_drop(__atomic_exchange_n(&leak.results[slot], NULL, __ATOMIC_ACQ_REL));
	if (leak.wake_ready)
		sem_init(&leak.wake, 0, 0);
	mp_sys_own_threads_forget();
	int kept = mp_leak_live_after_fork_child(mp_trace_file_path(), parent_pid, fork_ns,
						 file_end);
	mp_leak_stop_after_fork_child();
	mp_leak_check_after_fork_child();
	return kept;
}

int mp_leak_thread_running(void)
{
	return __atomic_load_n(&leak.running, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&leak.quit, __ATOMIC_ACQUIRE);
}

int mp_leak_thread_pause(void)
{
	if (!mp_leak_thread_running())
		return 0;
	mp_leak_thread_quit();
	return 1;
}

void mp_leak_thread_resume(void)
{
	__atomic_store_n(&leak.quit, 0, __ATOMIC_RELEASE);
	mp_leak_thread_start(); /* nothing if the paused one never left */
}

void mp_leak_thread_quit(void)
{
	mp_single_thread_give_up(); /* the thread's end frees through glibc's free */
	__atomic_store_n(&leak.quit, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&leak.wake_ready, __ATOMIC_ACQUIRE))
		sem_post(&leak.wake);
}
