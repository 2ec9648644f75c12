/* leak_scan_bench.c: a large heap of small blocks left allocated at exit, to time the
 * exit of a process, and with it libmemprof's exit-time leak scan (bench/leak_scan.sh).
 *
 *   leak_scan_bench BLOCKS SIZE [WAIT_MS]
 *
 * A child allocates BLOCKS blocks of SIZE bytes as a singly linked list held by a global
 * (the worst case for the scan: every block is reached and read), leaving every 64th
 * block out of the list (definitely lost), waits WAIT_MS milliseconds (default 0: a
 * program that exits right after building its heap leaves memprof's leak thread the
 * building's records to fold at exit), tells its parent the CLOCK_MONOTONIC time and
 * calls exit(0). The parent prints "exit_ns maxrss_kib": from that moment to waitpid()
 * returning (exit handlers, the scan, the kernel freeing the address space), and the
 * child's peak RSS.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct node {
	struct node *next;
};

static struct node *head;

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void child(size_t blocks, size_t size, unsigned wait_ms, int out)
{
	struct node *tail = NULL;
	for (size_t i = 0; i < blocks; i++) {
		struct node *node = malloc(size);
		memset(node, 0, size);
		if (i % 64 == 63)
			continue; /* lost */
		if (tail)
			tail->next = node;
		else
			head = node;
		tail = node;
	}
	if (wait_ms)
		usleep(wait_ms * 1000u);
	uint64_t at = now_ns();
	if (write(out, &at, sizeof(at)) != sizeof(at))
		_exit(1);
	exit(0);
}

int main(int argc, char **argv)
{
	int fds[2];
	if (argc < 3 || pipe(fds)) {
		fprintf(stderr, "usage: leak_scan_bench BLOCKS SIZE [WAIT_MS]\n");
		return 2;
	}
	size_t blocks = strtoull(argv[1], NULL, 10), size = strtoull(argv[2], NULL, 10);
	unsigned wait_ms = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
	if (size < sizeof(struct node))
		size = sizeof(struct node);
	pid_t pid = fork();
	if (pid == 0)
		child(blocks, size, wait_ms, fds[1]);
	uint64_t exit_at = 0;
	int status;
	if (read(fds[0], &exit_at, sizeof(exit_at)) != sizeof(exit_at))
		return 1;
	waitpid(pid, &status, 0);
	uint64_t end = now_ns();
	struct rusage usage;
	getrusage(RUSAGE_CHILDREN, &usage);
	printf("%" PRIu64 " %ld\n", end - exit_at, usage.ru_maxrss);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
