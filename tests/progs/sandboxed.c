/* sandboxed.c: a program that forbids itself system calls (seccomp), as sshd's
 * pre-authentication child or a browser's renderer does, and allocates afterwards.
 *
 * It allocates 100 blocks of 4321 bytes (before_filter), puts a filter on itself that
 * allows only what it needs (read, write, memory, futex, exit; anything else kills the
 * process), then allocates and frees COUNT blocks of varied sizes, writes one line and
 * exits. Modes:
 *   prctl   the filter through prctl(PR_SET_SECCOMP), on this thread
 *   tsync   through syscall(SYS_seccomp) with SECCOMP_FILTER_FLAG_TSYNC, with a second
 *           thread that allocates as much once the filter is on: every thread of the
 *           process gets the filter
 *   strict  strict mode (read, write, exit and sigreturn only), the heap made large
 *           enough first (brk is forbidden too), ended by the exit system call, as a
 *           program in strict mode must
 *   probe   the probes libseccomp makes (no filter given): nothing is installed, and
 *           the program goes on unfiltered
 *
 *   sandboxed MODE [COUNT]   prints "done MODE SUM"
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_exit), ALLOW(SYS_exit_group),
	ALLOW(SYS_brk), ALLOW(SYS_mmap), ALLOW(SYS_munmap), ALLOW(SYS_mremap),
	ALLOW(SYS_madvise), ALLOW(SYS_mprotect), ALLOW(SYS_rt_sigreturn), ALLOW(SYS_futex),
	ALLOW(SYS_newfstatat), ALLOW(SYS_fstat), ALLOW(SYS_clock_gettime),
	ALLOW(SYS_rt_sigprocmask), ALLOW(SYS_sched_yield), ALLOW(SYS_getpid), ALLOW(SYS_gettid),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};
static struct sock_fprog program = { sizeof(filter) / sizeof(filter[0]), filter };

static void *kept[100];

__attribute__((noinline)) static void before_filter(void)
{
	for (int i = 0; i < 100; i++)
		kept[i] = malloc(4321);
}

/* Allocates and frees count blocks of varied sizes; returns a sum of what it wrote. */
__attribute__((noinline)) static long churn(long count)
{
	long sum = 0;
	for (long i = 0; i < count; i++) {
		char *block = malloc(16 + (size_t)(i % 2000));
		if (!block)
			return -1;
		block[0] = (char)i;
		sum += block[0];
		free(block);
	}
	return sum;
}

static long helper_count;
static long helper_sum;

static int helper_started, filter_on;

static void *helper(void *unused)
{
	(void)unused;
	__atomic_store_n(&helper_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&filter_on, __ATOMIC_ACQUIRE))
		sched_yield();
	helper_sum = churn(helper_count);
	return NULL;
}

static void say(const char *mode, long sum)
{
	char line[128];
	int len = snprintf(line, sizeof(line), "done %s %ld\n", mode, sum);
	if (write(1, line, (size_t)len) != len)
		_exit(3);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "prctl";
	long count = argc > 2 ? atol(argv[2]) : 200000;
	before_filter();
	if (strcmp(mode, "probe") == 0) {
		/* libseccomp's: is the seccomp call there, which flags does it take. */
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL);
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, NULL);
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL);
		say(mode, churn(count));
		return 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("sandboxed: PR_SET_NO_NEW_PRIVS");
		return 2;
	}
	if (strcmp(mode, "strict") == 0) {
		/* Strict mode forbids brk: the heap must neither grow nor shrink from here. */
		mallopt(M_TRIM_THRESHOLD, 1 << 30);
		mallopt(M_TOP_PAD, 16 << 20);
		free(malloc(1 << 20));
		churn(count);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
			return 2;
		say(mode, churn(count));
		syscall(SYS_exit, 0); /* strict mode allows no exit_group */
	}
	pthread_t thread;
	int tsync = strcmp(mode, "tsync") == 0;
	if (tsync) {
		helper_count = count;
		if (pthread_create(&thread, NULL, helper, NULL) != 0)
			return 2;
		/* A thread starting registers itself (rseq, robust list): before the filter. */
		while (!__atomic_load_n(&helper_started, __ATOMIC_ACQUIRE))
			sched_yield();
	}
	int installed = tsync ? (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					     SECCOMP_FILTER_FLAG_TSYNC, &program)
			      : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
	if (installed != 0) {
		perror("sandboxed: seccomp");
		return 2;
	}
	__atomic_store_n(&filter_on, 1, __ATOMIC_RELEASE);
	long sum = churn(count);
	if (tsync) {
		pthread_join(thread, NULL);
		sum += helper_sum;
	}
	say(mode, sum);
	return 0;
}
