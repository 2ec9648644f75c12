/* fd_exhaust.c: a program that takes every file descriptor it may have, as a server
 * under load does until accept() fails with EMFILE, allocates while none is left, then
 * gives them back and allocates again (tests/integration/fd_exhaust.sh).
 *
 * Opens /dev/null until EMFILE (with RLIMIT_NOFILE's soft limit set to 1024 first, the
 * usual one, so that this is quick where the limit is far higher), then allocates and
 * frees ALLOCATIONS blocks of 100 bytes, each from the same call site, keeping none;
 * closes what it opened and does the same again. Prints "full N" (the descriptors it
 * opened) and "done". Exit status 0 unless a call it needs failed. With "full", it leaks
 * a block of 4242 bytes and exits instead, every descriptor still taken: the exit's leak
 * check reads /proc all the same. HOLD_MS keeps it allocating that long at its limit
 * first, while memprof's threads read /proc (a snapshot and an RSS reading every
 * millisecond, as the test asks), each with /proc's lent number in turn. With `last
 * DIR` a worker thread is started first; with every descriptor taken the process changes
 * its root to DIR (where there is no /proc: root only) and the main thread ends with
 * pthread_exit; the worker allocates, says "last", waits 300 ms and returns, the process
 * ending with it: nothing of /proc can be read any more when its last thread ends.
 *
 *   fd_exhaust [ALLOCATIONS, default 200000] [full [HOLD_MS] | last DIR]
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "churn.h"

#define MAX_FDS 4096

static int opened[MAX_FDS];
static long worker_allocations;
static int worker_go[2];

static void *last_worker(void *unused)
{
	(void)unused;
	char byte;
	if (read(worker_go[0], &byte, 1) != 1)
		abort();
	churn(worker_allocations);
	puts("last");
	fflush(stdout);
	usleep(300 * 1000);
	return NULL;
}

int main(int argc, char **argv)
{
	long allocations = argc > 1 ? atol(argv[1]) : 200000;
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max < 1024)
		return 2;
	limit.rlim_cur = 1024;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 2;
	int last = argc > 3 && strcmp(argv[2], "last") == 0;
	long hold_ms = argc > 3 && !last ? atol(argv[3]) : 0;
	pthread_t worker;
	worker_allocations = allocations;
	/* pthread_exit unwinds with libgcc_s, which glibc loads at its first use: loaded
	 * here, while there is a root to find it in and a descriptor to open it with. */
	if (last && (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL) || pipe(worker_go) != 0 ||
		     pthread_create(&worker, NULL, last_worker, NULL) != 0))
		return 2;
	int count = 0;
	for (; count < MAX_FDS; count++) {
		opened[count] = open("/dev/null", O_RDONLY);
		if (opened[count] < 0)
			break;
	}
	if (count == MAX_FDS || errno != EMFILE)
		return 2;
	churn(allocations);
	if (last) {
		if (chroot(argv[3]) != 0 || chdir("/") != 0)
			return 2;
		if (write(worker_go[1], "g", 1) != 1)
			return 2;
		pthread_exit(NULL);
	}
	for (long held = 0; held < hold_ms; held++) {
		churn(100);
		usleep(1000);
	}
	if (argc > 2 && strcmp(argv[2], "full") == 0) {
		char *lost = malloc(4242);
		memset(lost, 1, 4242);
		lost = NULL;
		printf("full %d\n", count);
		return 0;
	}
	for (int i = 0; i < count; i++)
		close(opened[i]);
	printf("full %d\n", count);
	churn(allocations);
	puts("done");
	return 0;
}
