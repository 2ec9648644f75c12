/* one_thread_flag.c: glibc's one-thread flag (__libc_single_threaded) as a single-threaded
 * program sees it, for tests/integration/one_thread_flag.sh.
 *
 *   one_thread_flag flag THREADS   allocates until the process has THREADS threads (1
 *                                  alone, 2 under memprof: its leak thread), prints the
 *                                  flag (the executable's copy, which this program's
 *                                  own reference makes, and libc's), churns the heap with
 *                                  checked contents, forks (the child prints the flag),
 *                                  starts a thread, and prints the flag again
 *   one_thread_flag fork           a fork child that ends with pthread_exit from main,
 *                                  its line still in stdio's buffer: glibc runs exit(0)
 *                                  for the last thread, which writes it
 *   one_thread_flag forkpty        the same through forkpty; the parent prints what the
 *                                  child wrote to the terminal
 *   one_thread_flag daemon FILE    the same after daemon(), its stdout FILE
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHURN_SLOTS 4096
#define CHURN_OPS 400000

/* From /proc/self/status: a stat of /proc/self/task is how a sandbox asks whether it is
 * alone, and memprof's threads step aside for it (interpose_stat.c). */
static int threads_now(void)
{
	char line[256];
	int threads = -1;
	FILE *status = fopen("/proc/self/status", "r");
	while (status && fgets(line, sizeof(line), status))
		sscanf(line, "Threads: %d", &threads);
	if (status)
		fclose(status);
	return threads;
}

static void print_flag(const char *when)
{
	const char *libc_flag = dlsym(RTLD_NEXT, "__libc_single_threaded");
	printf("%s: copy %d libc %d\n", when, __libc_single_threaded,
	       libc_flag ? *libc_flag : -1);
	fflush(stdout);
}

/* Blocks whose every byte says which block and which size it is: a heap that two threads
 * changed at once without its lock shows as a wrong byte or a crash. */
static int churn(void)
{
	static unsigned char *slot[CHURN_SLOTS];
	static size_t size[CHURN_SLOTS];
	uint64_t state = 88172645463325252ull;
	int bad = 0;
	for (int op = 0; op < CHURN_OPS; op++) {
		state ^= state << 13, state ^= state >> 7, state ^= state << 17;
		int at = (int)(state % CHURN_SLOTS);
		if (slot[at]) {
			for (size_t i = 0; i < size[at]; i++)
				bad += slot[at][i] != (unsigned char)(at + size[at]);
			free(slot[at]);
			slot[at] = NULL;
			continue;
		}
		size[at] = 16 + (state >> 20) % 2000;
		slot[at] = malloc(size[at]);
		memset(slot[at], (unsigned char)(at + size[at]), size[at]);
	}
	for (int at = 0; at < CHURN_SLOTS; at++) {
		free(slot[at]);
		slot[at] = NULL;
	}
	return bad;
}

static void *thread_main(void *arg)
{
	free(malloc(64));
	return arg;
}

static int flag_mode(int want_threads)
{
	struct timespec step = { 0, 1000000 };
	for (int tries = 0; tries < 3000 && threads_now() < want_threads; tries++) {
		free(malloc(100));
		nanosleep(&step, NULL);
	}
	printf("threads %d\n", threads_now());
	print_flag("alone");
	printf("churn: %d bad bytes\n", churn());
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		print_flag("fork child");
		_exit(0);
	}
	waitpid(child, NULL, 0);
	print_flag("after fork");
	pthread_t thread;
	pthread_create(&thread, NULL, thread_main, NULL);
	pthread_join(thread, NULL);
	print_flag("after a thread");
	printf("churn: %d bad bytes\n", churn());
	return 0;
}

/* The line stays in stdio's buffer (a file, a pipe or no newline on a terminal) until
 * exit() writes it. */
static void child_ends(const char *line)
{
	free(malloc(100)); /* memprof's first event in the child */
	printf("%s", line);
	pthread_exit(NULL);
}

static int fork_mode(void)
{
	pid_t child = fork();
	if (child == 0)
		child_ends("fork child: its line written at its end\n");
	int status = -1;
	waitpid(child, &status, 0);
	fflush(stdout);
	printf("fork child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int forkpty_mode(void)
{
	int master = -1;
	pid_t child = forkpty(&master, NULL, NULL, NULL);
	if (child == 0)
		child_ends("forkpty child: its line written at its end");
	if (child < 0) {
		perror("forkpty");
		return 1;
	}
	char text[256];
	size_t have = 0;
	for (;;) {
		ssize_t got = read(master, text + have, sizeof(text) - 1 - have);
		if (got <= 0)
			break;
		have += (size_t)got;
	}
	text[have] = '\0';
	int status = -1;
	waitpid(child, &status, 0);
	printf("read from the terminal: %s\n", text);
	printf("forkpty child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int daemon_mode(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	if (daemon(1, 1) != 0) {
		perror("daemon");
		return 1;
	}
	child_ends("daemon: its line written at its end\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "flag") == 0)
		return flag_mode(atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "fork") == 0)
		return fork_mode();
	if (argc == 2 && strcmp(argv[1], "forkpty") == 0)
		return forkpty_mode();
	if (argc == 3 && strcmp(argv[1], "daemon") == 0)
		return daemon_mode(argv[2]);
	fprintf(stderr, "usage: one_thread_flag flag THREADS | fork | forkpty | daemon FILE\n");
	return 2;
}
