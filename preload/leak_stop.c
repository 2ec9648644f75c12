/* leak_stop.c: stopping the program's threads for a leak check, and letting them go.
 *
 * memcheck scans a process none of whose threads runs, and it reads every thread's
 * registers. We get both the way conservative collectors do (Boehm GC's stop-the-world):
 * a signal of our own goes to every other thread, whose handler says it is there and
 * waits on a futex until the check is over. Before it answers, the handler notes the
 * context the kernel saved of what the signal interrupted, which stays on the thread's
 * stack while it waits: its stack pointer, from which the thread's stack is scanned, and
 * its sixteen general registers, which are roots, as memcheck scans every thread's. Not the rest of the signal frame: its vector
 * registers (memcheck does not read them: a pointer left in %xmm7 made a block memprof
 * called reachable definitely lost for memcheck), nor the handler's own frames below it,
 * whose unwritten slots hold whatever the program's deeper calls left there.
 *
 * The signal is the highest real-time signal that nobody handles when the leak thread
 * starts (mp_leak_stop_install); interpose_signals.c tells the program that signal has
 * its default disposition, keeps what the program sets for it, and this handler passes
 * a delivery that is not ours on to it. The handler blocks every signal while it waits,
 * so no handler of the program runs on a stopped thread.
 *
 * Not stopped: memprof's own threads; zombies; threads stopped by a debugger or
 * SIGSTOP ('T', 't': they do not run anyway, but their registers are not read); threads
 * that block the signal (SigBlk of /proc/self/task/TID/status), and threads that do not
 * answer within STOP_TIMEOUT_NS. Those keep running during the check and their
 * registers are not seen; the check says how many.
 *
 * What it costs the program: each thread takes one signal per check. With SA_RESTART
 * the system calls it was blocked in are restarted, except those Linux never restarts
 * after a handler (poll, epoll_wait, select, nanosleep and the other sleeps, ...), which
 * return EINTR (signal(7)), as they do for any signal the program receives.
 *
 * Async-signal-safe throughout, allocation-free on the handler's side; the list of the
 * threads signalled comes from mp_sys_map_anon and is only read by handlers while a stop
 * is under way (the resume waits until every handler has left).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "leak_scan.h"
#include "proc_text.h"

#define STOP_TIMEOUT_NS 1000000000ull
#define STOP_MAX_PASSES 16
#define STOP_FIRST_SLOTS 256u

struct stop_slot {
	int tid;          /* 0: empty */
	uint32_t acked;   /* the stop generation the thread answered */
	uint32_t gone;    /* the thread ended before answering */
	uint64_t state;   /* where its struct mp_thread is (never a root: see leak_scan.c) */
	const void *context; /* the ucontext_t of where it was interrupted, on its own stack
				while it waits (see stop_handler) */
};

static int stop_signal;
static struct sigaction stop_chained; /* what the program set for the signal */
static int stop_chained_set;
static uint32_t stop_gen, release_gen; /* a stop is under way while they differ */
/* Bumped by each answer, a futex the stopping thread waits on: polling it every 50 us
 * (100 with the kernel's timer slack) made every check, the exit's of a program with one
 * thread included, wait 100-200 us for an answer that takes a few. */
static uint32_t stop_answers;
static int stop_inside;                /* handlers that have not left yet */
static struct stop_slot *stop_slots;
static uint32_t stop_mask;             /* slots - 1 */

static long stop_futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static uint32_t stop_hash(int tid)
{
	return (uint32_t)mp_mix64((uint64_t)tid);
}

static struct stop_slot *stop_find(int tid)
{
	if (!stop_slots)
		return NULL;
	for (uint32_t at = stop_hash(tid) & stop_mask, probes = 0; probes <= stop_mask;
	     at = (at + 1) & stop_mask, probes++) {
		int here = __atomic_load_n(&stop_slots[at].tid, __ATOMIC_ACQUIRE);
		if (here == tid)
			return &stop_slots[at];
		if (!here)
			return NULL;
	}
	return NULL;
}

/* A delivery that is not ours goes where the program wanted it. */
static void stop_chain(int sig, siginfo_t *info, void *context)
{
	if (stop_chained_set && stop_chained.sa_handler == SIG_IGN)
		return;
	if (!stop_chained_set || stop_chained.sa_handler == SIG_DFL) {
		/* The default action of a real-time signal ends the process. */
		mp_sys_resend_default(sig);
		return;
	}
	if (stop_chained.sa_flags & SA_SIGINFO)
		stop_chained.sa_sigaction(sig, info, context);
	else
		stop_chained.sa_handler(sig);
}

uint64_t mp_leak_context_registers(const void *context, struct mp_leak_range *regs)
{
	/* x86-64's gregs begin with the sixteen (r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx,
	 * rsp); rip, the flags and the segment words after them are not pointers to data. */
	_Static_assert(REG_R8 == 0 && REG_RSP == 15, "gregs' layout");
	const greg_t *gregs = ((const ucontext_t *)context)->uc_mcontext.gregs;
	regs->start = (uint64_t)(uintptr_t)&gregs[REG_R8];
	regs->end = (uint64_t)(uintptr_t)&gregs[REG_RSP + 1];
	regs->flags = 0;
	return (uint64_t)gregs[REG_RSP];
}

/* Ours: queued by this process with stop_gen's address for value (stop_send). The
 * program's own deliveries (raise, kill, tgkill: SI_USER, SI_TKILL; sigqueue with a value
 * of its own) are told apart by it. Telling them by sender alone (SI_TKILL from this
 * process) took a raise() of the signal by the program for memprof's, and swallowed it
 * when no stop was under way. */
static int stop_is_ours(const siginfo_t *info)
{
	return info->si_code == SI_QUEUE && info->si_pid == getpid() &&
	       info->si_value.sival_ptr == (void *)&stop_gen;
}

static long stop_send(int tid)
{
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	info.si_signo = stop_signal;
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_uid = getuid();
	info.si_value.sival_ptr = (void *)&stop_gen;
	return syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, stop_signal, &info);
}

static void stop_handler(int sig, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	uint32_t gen = __atomic_load_n(&stop_gen, __ATOMIC_ACQUIRE);
	int ours = stop_is_ours(info);
	/* Ours after the stop ended (a late delivery): nothing to do. */
	if (!ours || gen == __atomic_load_n(&release_gen, __ATOMIC_ACQUIRE)) {
		if (!ours)
			stop_chain(sig, info, context);
		errno = saved_errno;
		return;
	}
	__atomic_add_fetch(&stop_inside, 1, __ATOMIC_ACQ_REL);
	struct stop_slot *slot = stop_find((int)syscall(SYS_gettid));
	if (slot) {
		slot->state = (uint64_t)(uintptr_t)&mp_state_thread;
		/* Waiting in a handler of memprof's for this very check: where the program was
		 * is that handler's context, not this one. */
		const void *interrupted = mp_state_thread.interrupted;
		slot->context = interrupted ? interrupted : context;
		__atomic_store_n(&slot->acked, gen, __ATOMIC_RELEASE);
		__atomic_add_fetch(&stop_answers, 1, __ATOMIC_RELEASE);
		stop_futex(&stop_answers, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
	for (;;) {
		uint32_t released = __atomic_load_n(&release_gen, __ATOMIC_ACQUIRE);
		if (released == gen)
			break;
		struct timespec wait = { 0, 100 * 1000 * 1000 };
		stop_futex(&release_gen, FUTEX_WAIT_PRIVATE, released, &wait);
	}
	__atomic_sub_fetch(&stop_inside, 1, __ATOMIC_ACQ_REL);
	errno = saved_errno;
}

int mp_leak_stop_install(void)
{
	if (stop_signal)
		return 0;
	for (int sig = SIGRTMAX; sig > SIGRTMIN; sig--) {
		struct sigaction old, action;
		if (sig == mp_config.snapshot_signal || sig == mp_config.leak_check_signal ||
		    mp_sys_sigaction(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
			continue;
		memset(&action, 0, sizeof(action));
		action.sa_sigaction = stop_handler;
		action.sa_flags = SA_SIGINFO | SA_RESTART;
		sigfillset(&action.sa_mask);
		if (mp_sys_sigaction(sig, &action, NULL) != 0)
			continue;
		stop_signal = sig;
		mp_sys_signals_hold_exempt(sig);
		return 0;
	}
	return -EAGAIN;
}

int mp_leak_stop_signal(void)
{
	return stop_signal;
}

int mp_leak_stop_chain(const struct sigaction *program)
{
	if (program)
		stop_chained = *program;
	stop_chained_set = program != NULL;
	return 0;
}

const struct sigaction *mp_leak_stop_chained(void)
{
	return stop_chained_set ? &stop_chained : NULL;
}

static size_t stop_round(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* Room for at least `threads` slots at under half full; only between stops. */
static int stop_reserve(uint32_t threads)
{
	uint32_t want = STOP_FIRST_SLOTS;
	while (want < threads * 2)
		want *= 2;
	if (stop_slots && want <= stop_mask + 1)
		return 0;
	struct stop_slot *slots = mp_sys_map_anon(stop_round(want * sizeof(*slots)));
	if (!slots)
		return -ENOMEM;
	if (stop_slots)
		mp_sys_unmap(stop_slots, stop_round((stop_mask + 1) * sizeof(*slots)));
	stop_slots = slots;
	stop_mask = want - 1;
	return 0;
}

struct stop_pass {
	struct mp_leak_stop *stop;
	int self, spare;
	uint32_t added;
	uint32_t slots_used;
};

static int stop_read_task(const char *tid, const char *file, char *text, size_t cap)
{
	char path[64] = "/proc/self/task/";
	mp_sys_str_append(path, sizeof(path), tid);
	mp_sys_str_append(path, sizeof(path), file);
	return mp_sys_read_text(path, text, cap);
}

static int stop_number(const char *text)
{
	int value = 0;
	for (; *text >= '0' && *text <= '9'; text++)
		value = value * 10 + (*text - '0');
	return value;
}

/* Whether the thread blocks the stop signal now, or is stopped, or gone. */
static int stop_cannot(const char *tid, struct mp_leak_stop *stop)
{
	char text[2048];
	uint64_t blocked = 0;
	if (!stop_read_task(tid, "/stat", text, sizeof(text)))
		return 1; /* gone */
	char state = mp_proc_task_state(text);
	if (state == 'Z' || state == 'X')
		return 1;
	if (state == 'T' || state == 't') {
		stop->not_stopped++;
		return 1;
	}
	if (stop_read_task(tid, "/status", text, sizeof(text)) &&
	    mp_proc_hex_field(text, "SigBlk", &blocked) &&
	    (blocked & (1ull << (stop_signal - 1)))) {
		stop->not_stopped++;
		return 1;
	}
	return 0;
}

static int stop_one(const char *name, void *context)
{
	struct stop_pass *pass = context;
	int tid = stop_number(name);
	if (tid == pass->self || tid == pass->spare || !tid || mp_sys_own_thread(tid) ||
	    stop_find(tid))
		return 0;
	if ((pass->slots_used + 1) * 2 > stop_mask + 1) {
		pass->stop->not_stopped++;
		return 0; /* full: the rest stays running */
	}
	uint32_t at = stop_hash(tid) & stop_mask;
	while (stop_slots[at].tid)
		at = (at + 1) & stop_mask;
	pass->slots_used++;
	if (stop_cannot(name, pass->stop)) {
		/* Remembered, so that the next pass does not look at it again. */
		stop_slots[at].gone = 1;
		__atomic_store_n(&stop_slots[at].tid, tid, __ATOMIC_RELEASE);
		return 0;
	}
	__atomic_store_n(&stop_slots[at].tid, tid, __ATOMIC_RELEASE);
	if (stop_send(tid) != 0) {
		stop_slots[at].gone = 1;
		return 0;
	}
	pass->stop->signalled++;
	pass->added++;
	return 0;
}

/* The process's thread count, from /proc/self/status. */
static uint32_t stop_count_tasks(void)
{
	char status[4096];
	uint64_t threads = 0;
	if (mp_sys_read_text("/proc/self/status", status, sizeof(status)))
		mp_proc_field(status, "Threads", &threads);
	return (uint32_t)threads;
}

/* Whether every thread signalled answered or ended; counts the ones that did. */
static int stop_all_answered(uint32_t gen, uint32_t *answered)
{
	int all = 1;
	*answered = 0;
	for (uint32_t i = 0; i <= stop_mask; i++) {
		struct stop_slot *slot = &stop_slots[i];
		if (!slot->tid || slot->gone)
			continue;
		if (__atomic_load_n(&slot->acked, __ATOMIC_ACQUIRE) == gen) {
			(*answered)++;
			continue;
		}
		if (syscall(SYS_tgkill, getpid(), slot->tid, 0) != 0 && errno == ESRCH)
			slot->gone = 1;
		else
			all = 0;
	}
	return all;
}

/* Waits (a bounded while) until every handler of the last stop has left: the slots are
 * read by handlers that are still answering it. */
static void stop_wait_handlers_left(void)
{
	uint64_t start = mp_clock_now_ns();
	while (__atomic_load_n(&stop_inside, __ATOMIC_ACQUIRE) &&
	       mp_clock_now_ns() - start < STOP_TIMEOUT_NS) {
		struct timespec pause = { 0, 20 * 1000 };
		syscall(SYS_nanosleep, &pause, NULL);
	}
}

void mp_leak_stop_world(struct mp_leak_stop *stop, int spare_tid)
{
	memset(stop, 0, sizeof(*stop));
	if (!stop_signal)
		return;
	stop_wait_handlers_left();
	uint32_t threads = stop_count_tasks();
	if (stop_reserve(threads + 64) < 0)
		return;
	memset(stop_slots, 0, (stop_mask + 1) * sizeof(*stop_slots));
	uint32_t gen = __atomic_add_fetch(&stop_gen, 1, __ATOMIC_ACQ_REL);
	stop->active = 1;
	struct stop_pass pass = { .stop = stop, .self = (int)syscall(SYS_gettid),
				  .spare = spare_tid };
	/* Threads may be starting while we look: pass again until a pass finds none. */
	for (int i = 0; i < STOP_MAX_PASSES; i++) {
		pass.added = 0;
		if (mp_sys_each_task(stop_one, &pass) < 0 || !pass.added)
			break;
	}
	uint64_t start = mp_clock_now_ns();
	uint32_t answered = 0, answers = __atomic_load_n(&stop_answers, __ATOMIC_ACQUIRE);
	while (!stop_all_answered(gen, &answered) && mp_clock_now_ns() - start < STOP_TIMEOUT_NS) {
		/* Woken by the next answer; a thread that ended instead is seen a pause later. */
		struct timespec pause = { 0, 1000 * 1000 };
		stop_futex(&stop_answers, FUTEX_WAIT_PRIVATE, answers, &pause);
		answers = __atomic_load_n(&stop_answers, __ATOMIC_ACQUIRE);
	}
	stop->stopped = answered;
	if (stop->signalled > answered)
		stop->not_stopped += stop->signalled - answered;
}

size_t mp_leak_stop_states(struct mp_leak_range *out, size_t max)
{
	size_t count = 0;
	uint32_t gen = __atomic_load_n(&stop_gen, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; stop_slots && i <= stop_mask && count < max; i++)
		if (stop_slots[i].tid && __atomic_load_n(&stop_slots[i].acked, __ATOMIC_ACQUIRE) == gen)
			out[count++] = (struct mp_leak_range){
				.start = stop_slots[i].state,
				.end = stop_slots[i].state + sizeof(struct mp_thread),
				.flags = MP_LEAK_EXCLUDE_THREAD_STATE };
	return count;
}

int mp_leak_stop_context(const char *tid, uint64_t *sp, struct mp_leak_range *regs)
{
	const struct stop_slot *slot = stop_find(stop_number(tid));
	if (!slot || __atomic_load_n(&slot->acked, __ATOMIC_ACQUIRE) !=
			     __atomic_load_n(&stop_gen, __ATOMIC_ACQUIRE))
		return 0;
	*sp = mp_leak_context_registers(slot->context, regs);
	/* Stopped on a stack of memprof's (a libunwind walk): its own stack is in use from
	 * where it left it. */
	const struct mp_thread *state = (const struct mp_thread *)(uintptr_t)slot->state;
	if (state && state->program_sp)
		*sp = state->program_sp;
	return 1;
}

void mp_leak_stop_resume(struct mp_leak_stop *stop)
{
	if (!stop->active)
		return;
	__atomic_store_n(&release_gen, __atomic_load_n(&stop_gen, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	stop_futex(&release_gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	/* Not waiting for them to leave: the threads get going as the scheduler lets them,
	 * and the next stop waits for the last one's handlers (stop_wait_handlers_left). */
	stop->active = 0;
}

void mp_leak_stop_after_fork_child(void)
{
	/* The handler stays installed (inherited); no stop is under way in the child. */
	__atomic_store_n(&release_gen, __atomic_load_n(&stop_gen, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&stop_inside, 0, __ATOMIC_RELEASE);
}
