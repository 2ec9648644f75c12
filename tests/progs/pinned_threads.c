/* pinned_threads.c: a program that keeps every CPU it may use busy allocating, then pins
 * its main thread to one CPU (as `taskset -p CPU PID` does) and keeps the others busy
 * (tests/integration/leak_cpus.sh). memprof's leak thread moves between the main
 * thread's CPUs while its rounds are crowded; it must never run outside them.
 *
 * Prints "cpus N" (the CPUs it may use), then after the first busy phase "others N
 * moved M outside K": the threads that are not the program's, how many of them may run on
 * some of the program's CPUs only, and how many on a CPU the program may not use; then, after pinning and the second phase, "pinned ok",
 * or "escaped TID CPUS" for each thread allowed more than the one CPU. Exit status 0
 * unless something it needs failed.
 *
 *   pinned_threads [MILLISECONDS a phase, default 300]
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

static int stop;
static pid_t worker_tids[MAX_WORKERS];

static void *churn(void *slot)
{
	void *kept[64] = { 0 };
	*(pid_t *)slot = (pid_t)syscall(SYS_gettid);
	for (unsigned i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
		free(kept[i % 64]);
		kept[i % 64] = malloc(16 + (i * 7919u) % 2000);
		__asm__ volatile("" : : "r"(kept) : "memory");
	}
	for (unsigned i = 0; i < 64; i++)
		free(kept[i]);
	return NULL;
}

static int is_program_thread(pid_t tid, int workers)
{
	if (tid == getpid())
		return 1;
	for (int i = 0; i < workers; i++)
		if (worker_tids[i] == tid)
			return 1;
	return 0;
}

/* Calls visit(tid, arg) for every thread of the process; 0, or -1 if /proc failed. */
static int each_thread(void (*visit)(pid_t, void *), void *arg)
{
	DIR *dir = opendir("/proc/self/task");
	if (!dir)
		return -1;
	struct dirent *entry;
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.')
			visit((pid_t)atoi(entry->d_name), arg);
	closedir(dir);
	return 0;
}

struct census {
	int workers, others, narrower, outside;
	cpu_set_t program;
};

static void count_other(pid_t tid, void *arg)
{
	struct census *census = arg;
	cpu_set_t set;
	if (is_program_thread(tid, census->workers) || sched_getaffinity(tid, sizeof(set), &set))
		return;
	census->others++;
	cpu_set_t within;
	CPU_AND(&within, &set, &census->program);
	if (!CPU_EQUAL(&within, &set))
		census->outside++;
	else if (CPU_COUNT(&set) < CPU_COUNT(&census->program))
		census->narrower++;
}

struct escapes {
	int workers, count;
	cpu_set_t pinned;
};

static void check_pinned(pid_t tid, void *arg)
{
	struct escapes *escapes = arg;
	cpu_set_t set, within;
	if (is_program_thread(tid, escapes->workers) || sched_getaffinity(tid, sizeof(set), &set))
		return;
	CPU_AND(&within, &set, &escapes->pinned);
	if (!CPU_EQUAL(&within, &set)) {
		printf("escaped %d %d\n", (int)tid, CPU_COUNT(&set));
		escapes->count++;
	}
}

static void let_run(long ms)
{
	struct timespec pause = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&pause, NULL);
}

int main(int argc, char **argv)
{
	long phase_ms = argc > 1 ? atol(argv[1]) : 300;
	cpu_set_t program;
	if (sched_getaffinity(0, sizeof(program), &program))
		return 2;
	int cpus = CPU_COUNT(&program);
	int workers = cpus < MAX_WORKERS ? cpus : MAX_WORKERS;
	printf("cpus %d\n", cpus);
	pthread_t threads[MAX_WORKERS];
	for (int i = 0; i < workers; i++)
		if (pthread_create(&threads[i], NULL, churn, &worker_tids[i]))
			return 2;
	let_run(phase_ms);
	for (int i = 0; i < workers; i++)
		while (!__atomic_load_n(&worker_tids[i], __ATOMIC_RELAXED))
			sched_yield();
	struct census census = { .workers = workers, .program = program };
	if (each_thread(count_other, &census))
		return 2;
	printf("others %d moved %d outside %d\n", census.others, census.narrower, census.outside);

	struct escapes escapes = { .workers = workers };
	CPU_ZERO(&escapes.pinned);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &program)) {
			CPU_SET(cpu, &escapes.pinned);
			break;
		}
	if (sched_setaffinity(0, sizeof(escapes.pinned), &escapes.pinned))
		return 2;
	/* memprof follows at its next round (within 10 ms while the program allocates); then
	 * every 10 ms, since a thread that moves each round would be outside only at times. */
	let_run(50);
	for (long waited = 50; waited < phase_ms && !escapes.count; waited += 10) {
		if (each_thread(check_pinned, &escapes))
			return 2;
		let_run(10);
	}
	if (!escapes.count)
		puts("pinned ok");
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < workers; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
