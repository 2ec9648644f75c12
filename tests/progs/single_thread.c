/* single_thread.c: a program that makes the calls that need a process of one thread, as
 * `unshare -U`, nsenter and services that put themselves in namespaces do.
 *
 * It allocates 100 blocks of 4321 bytes (before_calls), then makes each call and prints
 * its result: unshare(CLONE_THREAD) through libc, unshare(CLONE_SIGHAND) through
 * syscall(), and setns() into its own mount namespace, by type and with type 0 (those
 * two need CAP_SYS_ADMIN: without it they print EPERM alone as under memprof). Then it
 * allocates and frees COUNT blocks (churn.h), loses one block of 777 bytes (lose), and
 * with `resume` waits 1.5 s, allocates once more, waits 100 ms and writes to stderr how
 * many threads the process has. Each call fails with EINVAL ("Invalid argument") in a
 * process of more than one thread.
 *
 * With `count-stat`, `count-fstatat` or `count-statx` it counts its threads instead, as
 * sandboxes do before they fork or enter namespaces (Firefox by stat, Chromium's zygote by
 * fstatat from a descriptor of /proc, "self/task/"): the link count of /proc/self/task,
 * 2 + the threads, by that one call (the first one sends memprof's threads away, so each
 * needs a process of its own); prints "task_links N", then goes on as with `resume` for
 * fstatat, without its wait for the others.
 *
 * With `ids` it changes its user and group instead, as setpriv and daemons dropping
 * privileges with libcap do: keeps its capabilities through setresuid to nobody, restores
 * them on its own thread (capabilities are a thread's own), then setresgid and setgroups,
 * which glibc makes on every thread of the process, aborting it if some fail. Needs root:
 * otherwise it prints "ids skipped: not root".
 *
 *   single_thread [resume|ids|count-CALL] [COUNT]   prints "unshare_thread OK" ... "done"
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "churn.h"

static void *kept[100];
static void *lost;

__attribute__((noinline)) static void before_calls(void)
{
	for (int i = 0; i < 100; i++)
		kept[i] = malloc(4321);
}

__attribute__((noinline)) static void lose(void)
{
	lost = malloc(777);
	memset(lost, 1, 777);
	lost = NULL;
}

static void say(const char *call, int result)
{
	printf("%s %s\n", call, result == 0 ? "OK" : strerrorname_np(errno));
}

static void sleep_ms(long ms)
{
	struct timespec pause = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&pause, NULL);
}

/* /proc/self/status's Threads line, or -1. */
static int threads(void)
{
	char line[256];
	int count = -1;
	FILE *status = fopen("/proc/self/status", "r");
	if (!status)
		return -1;
	while (fgets(line, sizeof(line), status))
		if (sscanf(line, "Threads: %d", &count) == 1)
			break;
	fclose(status);
	return count;
}

/* The link count of /proc/self/task, by `call` (stat, fstatat or statx); -1 on failure. */
static long task_links(const char *call)
{
	struct stat st;
	struct statx stx;
	if (strcmp(call, "stat") == 0)
		return stat("/proc/self/task", &st) == 0 ? (long)st.st_nlink : -1;
	int proc = open("/proc/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long links = -1;
	if (proc >= 0 && strcmp(call, "fstatat") == 0 && fstatat(proc, "self/task/", &st, 0) == 0)
		links = (long)st.st_nlink;
	if (proc >= 0 && strcmp(call, "statx") == 0 &&
	    statx(proc, "self/task", 0, STATX_NLINK, &stx) == 0)
		links = stx.stx_nlink;
	if (proc >= 0)
		close(proc);
	return links;
}

/* To nobody and nogroup, keeping the capabilities on this thread only. */
static int drop_ids(void)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2];
	if (geteuid() != 0) {
		printf("ids skipped: not root\n");
		return 0;
	}
	say("keepcaps", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
	say("setresuid", setresuid(65534, 65534, 65534));
	if (syscall(SYS_capget, &header, caps) != 0)
		return -1;
	caps[0].effective = caps[0].permitted;
	caps[1].effective = caps[1].permitted;
	say("capset", (int)syscall(SYS_capset, &header, caps));
	say("setresgid", setresgid(65534, 65534, 65534));
	say("setgroups", setgroups(0, NULL));
	printf("ids %d %d\n", (int)getuid(), (int)getgid());
	return 0;
}

int main(int argc, char **argv)
{
	const char *call = argc > 1 && strncmp(argv[1], "count-", 6) == 0 ? argv[1] + 6 : NULL;
	int links = call != NULL;
	int resume = (call && strcmp(call, "fstatat") == 0) ||
		     (argc > 1 && strcmp(argv[1], "resume") == 0);
	int ids = argc > 1 && strcmp(argv[1], "ids") == 0;
	long count = argc > 1 + (links || resume || ids) ? atol(argv[1 + (links || resume || ids)])
							 : 20000;
	before_calls();
	if (links) {
		long counted = task_links(call);
		if (counted < 0)
			return 2;
		printf("task_links %ld\n", counted);
	}
	if (ids) {
		if (drop_ids() != 0)
			return 2;
		churn(count);
		lose();
		printf("done\n");
		return 0;
	}
	if (!links) {
		say("unshare_thread", unshare(CLONE_THREAD));
		say("unshare_sighand", (int)syscall(SYS_unshare, CLONE_SIGHAND));
		int mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
		say("setns_mnt", setns(mnt, CLONE_NEWNS));
		say("setns_any", setns(mnt, 0));
		close(mnt);
	}
	churn(count);
	lose();
	if (resume) {
		sleep_ms(1500);
		free(malloc(100));
		sleep_ms(100);
		fprintf(stderr, "threads %d\n", threads());
	}
	printf("done\n");
	return 0;
}
