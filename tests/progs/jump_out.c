/* jump_out.c: a program whose timer signal's handler jumps out (siglongjmp) of whatever
 * it interrupted, as programs with a time limit on a computation do: allocations in a
 * loop under a fast timer (ITIMER_REAL, every 100 us), each tick jumping back to the loop's
 * start unless it interrupted libc or the loader (jumping out of malloc itself would
 * leave its locks held, with or without memprof). The loop's first round runs before the
 * timer starts: memprof's first walks of its stacks learn rules from the loader, whose lock
 * a jump would leave held (recording_jumps.c). Then, with the timer off, `after`
 * blocks of 4242 bytes allocated and freed. Under memprof many ticks land in its code:
 * every one of the `after` blocks must still be recorded.
 *
 * The loop counts the blocks it allocated and freed whole: under memprof as many frees are
 * recorded, and allocations up to one more for each jump (a block allocated, its pointer
 * never received).
 *
 * With "grow", the loop keeps every other block (never freed): the heap grows, and
 * memprof takes its peak snapshots, milliseconds each, on the loop's thread. With
 * "threads", two threads run the loop, JUMPS/2 jumps each, the timer's signal (the
 * process's) going to either, each jumping to its own start; the main thread blocks it.
 * "cold" is "threads" with the timer running from before the threads start, while the
 * main thread loads and unloads PLUGIN again and again: each unload makes memprof learn
 * the threads' return addresses again, from the loader, so jumps may land in its calls of
 * the loader, which must hold signals (loader_gate.c), or the main thread's next dlopen
 * waits for the loader's lock for ever.
 *
 *   jump_out JUMPS AFTER [grow|threads|cold PLUGIN]   prints "jumps N after M completed C"
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

struct range {
	uintptr_t start, end;
};
static struct range skipped[2]; /* libc's and the loader's code */
static __thread sigjmp_buf loop_start;
static __thread volatile sig_atomic_t armed;
static long completed; /* atomic: the threads' loops add to it */
static int grow, cold;
static const char *plugin; /* cold: the library loaded and unloaded meanwhile */
static int threads_done;

static int note_range(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	int slot = strstr(info->dlpi_name, "libc.so") ? 0 : strstr(info->dlpi_name, "ld-linux") ? 1 : -1;
	if (slot < 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			skipped[slot].start = info->dlpi_addr + ph->p_vaddr;
			skipped[slot].end = skipped[slot].start + ph->p_memsz;
		}
	}
	return 0;
}

static void on_tick(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)info;
	uintptr_t pc = (uintptr_t)((ucontext_t *)context)->uc_mcontext.gregs[REG_RIP];
	for (int i = 0; i < 2; i++)
		if (pc >= skipped[i].start && pc < skipped[i].end)
			return;
	if (armed) {
		armed = 0;
		siglongjmp(loop_start, 1);
	}
}

__attribute__((noinline)) static void churn_sized(size_t size, long count)
{
	for (long i = 0; i < count; i++) {
		char *block = malloc(size);
		if (!block)
			exit(3);
		block[0] = (char)i;
		__asm__ volatile("" : : "r"(block) : "memory");
		if (!grow || i % 2)
			free(block);
		__atomic_add_fetch(&completed, 1, __ATOMIC_RELAXED);
	}
}

/* Its own frame, so that these blocks have a stack of their own. */
__attribute__((noinline)) static void after_timer(long count)
{
	churn_sized(4242, count);
	__asm__ volatile("" ::: "memory");
}

static void timer_start(void)
{
	struct itimerval every = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &every, NULL);
}

/* Threads whose loop ran its first round, and whether the timer runs (threads mode). */
static int threads_ready, timer_running;

/* Loops until the timer jumped back to its start `want` times; returns how many. Its first
 * round runs before the timer, through the same calls, then `ready` starts it. */
__attribute__((noinline)) static long jump_loop(long want, void (*ready)(void))
{
	/* Volatile: kept across the jumps. */
	volatile long jumps = 0;
	volatile int first = 1;
	if (sigsetjmp(loop_start, 1))
		jumps++;
	while (jumps < want) {
		armed = !first || cold;
		churn_sized(100, 1000);
		if (first) {
			first = 0;
			ready();
		}
	}
	armed = 0;
	return jumps;
}

/* A thread's loop is ready; the timer starts once both are (cold: it runs already). */
static void thread_ready(void)
{
	__atomic_add_fetch(&threads_ready, 1, __ATOMIC_ACQ_REL);
	if (cold)
		return;
	while (!__atomic_load_n(&timer_running, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void *jump_thread(void *want)
{
	long jumps = jump_loop((long)(intptr_t)want, thread_ready);
	__atomic_add_fetch(&threads_done, 1, __ATOMIC_ACQ_REL);
	return (void *)(intptr_t)jumps;
}

/* Cold: loads and unloads the plugin until both threads are done. */
static void reload_plugin(void)
{
	while (__atomic_load_n(&threads_done, __ATOMIC_ACQUIRE) < 2) {
		void *handle = dlopen(plugin, RTLD_NOW);
		if (!handle) {
			fprintf(stderr, "jump_out: %s\n", dlerror());
			exit(2);
		}
		dlclose(handle);
	}
}

/* The two threads' jumps; the main thread blocks the timer's signal. */
static long jump_threads(long want)
{
	sigset_t alarm;
	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_t threads[2];
	if (cold) {
		timer_start();
		__atomic_store_n(&timer_running, 1, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 2; i++)
		if (pthread_create(&threads[i], NULL, jump_thread, (void *)(intptr_t)(want / 2)))
			exit(2);
	pthread_sigmask(SIG_BLOCK, &alarm, NULL);
	while (!cold && __atomic_load_n(&threads_ready, __ATOMIC_ACQUIRE) < 2)
		sched_yield();
	if (!cold) {
		timer_start();
		__atomic_store_n(&timer_running, 1, __ATOMIC_RELEASE);
	} else {
		reload_plugin();
	}
	long jumps = 0;
	for (int i = 0; i < 2; i++) {
		void *made;
		pthread_join(threads[i], &made);
		jumps += (long)(intptr_t)made;
	}
	return jumps;
}

int main(int argc, char **argv)
{
	long want = argc > 1 ? atol(argv[1]) : 200, after = argc > 2 ? atol(argv[2]) : 1000;
	grow = argc > 3 && strcmp(argv[3], "grow") == 0;
	cold = argc > 4 && strcmp(argv[3], "cold") == 0;
	plugin = cold ? argv[4] : NULL;
	int threads = cold || (argc > 3 && strcmp(argv[3], "threads") == 0);
	dl_iterate_phdr(note_range, NULL);
	if (!skipped[0].end || !skipped[1].end) {
		fprintf(stderr, "jump_out: libc or the loader not found\n");
		return 2;
	}
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = on_tick;
	action.sa_flags = SA_SIGINFO;
	sigaction(SIGALRM, &action, NULL);
	long jumps = threads ? jump_threads(want) : jump_loop(want, timer_start);
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	long loop_completed = __atomic_load_n(&completed, __ATOMIC_RELAXED);
	after_timer(after);
	printf("jumps %ld after %ld completed %ld\n", jumps, after, loop_completed);
	return 0;
}
