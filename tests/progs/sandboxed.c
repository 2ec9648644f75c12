/* sandboxed.c: a program that forbids itself system calls (seccomp), as sshd's
 * pre-authentication child or a browser's renderer does, and allocates afterwards.
 *
 * It allocates 100 blocks of 4321 bytes (before_filter), puts a filter on itself that
 * allows only what it needs (read, write, memory, futex, exit; anything else kills the
 * process), then allocates and frees COUNT blocks of varied sizes, stats its
 * /proc/self/task from a descriptor of /proc opened before (fstatat, which the filter
 * allows: a sandbox counting its threads), writes one line and exits. Modes:
 *   prctl   the filter through prctl(PR_SET_SECCOMP), on this thread
 *   tsync   through syscall(SYS_seccomp) with SECCOMP_FILTER_FLAG_TSYNC, with a second
 *           thread that allocates as much once the filter is on: every thread of the
 *           process gets the filter
 *   strict  strict mode (read, write, exit and sigreturn only), the heap made large
 *           enough first (brk is forbidden too), ended by the exit system call, as a
 *           program in strict mode must
 *   probe   the probes libseccomp makes (no filter given): nothing is installed, and
 *           the program goes on unfiltered
 *   service as systemd starts a hardened service (SystemCallFilter=@system-service,
 *           ~@privileged ~@resources): a filter that kills the process at any call of
 *           those sets' complement, then an exec of this program as `served`, with
 *           LD_PRELOAD set to $SERVICE_PRELOAD when that is set
 *   served  under that filter: two threads allocate and free COUNT blocks each (long
 *           enough for memprof's leak thread to find its CPU crowded), the main thread
 *           COUNT; prints "done served SUM"
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
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)

/* What systemd 252 forbids a service with SystemCallFilter=@system-service and
 * SystemCallFilter=~@privileged @resources, as `systemd-analyze syscall-filter` lists the
 * sets: the x86-64 calls outside @system-service, then @privileged's and @resources'
 * members inside it. */
static struct sock_filter service_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	DENY(SYS__sysctl), DENY(SYS_acct), DENY(SYS_adjtimex), DENY(SYS_bpf), DENY(SYS_chroot),
	DENY(SYS_clock_adjtime), DENY(SYS_clock_settime), DENY(SYS_delete_module),
	DENY(SYS_fanotify_init), DENY(SYS_fanotify_mark), DENY(SYS_finit_module),
	DENY(SYS_fsconfig), DENY(SYS_fsmount), DENY(SYS_fsopen), DENY(SYS_fspick),
	DENY(SYS_init_module), DENY(SYS_ioperm), DENY(SYS_iopl), DENY(SYS_kexec_file_load),
	DENY(SYS_kexec_load), DENY(SYS_landlock_add_rule), DENY(SYS_landlock_create_ruleset),
	DENY(SYS_landlock_restrict_self), DENY(SYS_lookup_dcookie), DENY(SYS_memfd_secret),
	DENY(SYS_mincore), DENY(SYS_modify_ldt), DENY(SYS_mount), DENY(SYS_mount_setattr),
	DENY(SYS_move_mount), DENY(SYS_open_by_handle_at), DENY(SYS_open_tree),
	DENY(SYS_perf_event_open), DENY(SYS_pidfd_getfd), DENY(SYS_pivot_root),
	DENY(SYS_pkey_alloc), DENY(SYS_pkey_free), DENY(SYS_pkey_mprotect),
	DENY(SYS_process_mrelease), DENY(SYS_ptrace), DENY(SYS_quotactl), DENY(SYS_reboot),
	DENY(SYS_seccomp), DENY(SYS_setdomainname), DENY(SYS_sethostname),
	DENY(SYS_settimeofday), DENY(SYS_swapoff), DENY(SYS_swapon), DENY(SYS_sysfs),
	DENY(SYS_syslog), DENY(SYS_umount2), DENY(SYS_uselib), DENY(SYS_ustat), DENY(SYS_vhangup),
	/* @privileged */
	DENY(SYS_capset), DENY(SYS_chown), DENY(SYS_fchown), DENY(SYS_fchownat), DENY(SYS_lchown),
	DENY(SYS_setfsuid), DENY(SYS_setgroups), DENY(SYS_setresuid), DENY(SYS_setreuid),
	DENY(SYS_setuid),
	/* @resources */
	DENY(SYS_ioprio_set), DENY(SYS_mbind), DENY(SYS_migrate_pages), DENY(SYS_move_pages),
	DENY(SYS_sched_setaffinity), DENY(SYS_sched_setattr), DENY(SYS_sched_setparam),
	DENY(SYS_sched_setscheduler), DENY(SYS_set_mempolicy), DENY(SYS_setpriority),
	DENY(SYS_setrlimit),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct sock_fprog service_program = {
	sizeof(service_filter) / sizeof(service_filter[0]), service_filter
};

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

/* The service's manager: the filter, then the service (this program as `served`). */
static int start_service(const char *count)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &service_program) != 0) {
		perror("sandboxed: seccomp");
		return 2;
	}
	const char *preload = getenv("SERVICE_PRELOAD");
	if (preload && setenv("LD_PRELOAD", preload, 1) != 0)
		return 2;
	char *args[] = { "sandboxed", "served", (char *)count, NULL };
	execv("/proc/self/exe", args);
	perror("sandboxed: exec");
	return 2;
}

static void *served_worker(void *count)
{
	long *sum = malloc(sizeof(*sum));
	if (sum)
		*sum = churn(*(long *)count);
	return sum;
}

static int served(long count)
{
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&threads[i], NULL, served_worker, &count) != 0)
			return 2;
	long sum = churn(count);
	for (int i = 0; i < 2; i++) {
		void *result;
		pthread_join(threads[i], &result);
		if (!result)
			return 2;
		sum += *(long *)result;
		free(result);
	}
	say("served", sum);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "prctl";
	long count = argc > 2 ? atol(argv[2]) : 200000;
	before_filter();
	if (strcmp(mode, "served") == 0)
		return served(count);
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
	if (strcmp(mode, "service") == 0)
		return start_service(argc > 2 ? argv[2] : "200000");
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
	int proc = open("/proc/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return 2;
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
	struct stat task;
	if (fstatat(proc, "self/task/", &task, 0) != 0)
		return 2;
	long sum = churn(count);
	if (tsync) {
		pthread_join(thread, NULL);
		sum += helper_sum;
	}
	say(mode, sum);
	return 0;
}
