/* spawn.c: children started every way a program starts them, under the preload.
 *   spawn posix_spawn PROG   posix_spawn()s PROG exit_now, waits, leaks 2 x 12121 bytes
 *   spawn vfork PROG         vfork()s and execs PROG exit_now in the child, the same
 *   spawn forkstorm          4 threads allocate new stacks while the main thread forks
 *                            20 children that each allocate 3 x 13131 bytes and exit */
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile int stop;

static void leak(int count, size_t size)
{
	for (int i = 0; i < count; i++)
		((char *)malloc(size))[0] = 1;
}

/* Recursion of varying depth makes new stacks, so the interning slow path (and its
 * locks) is busy while the main thread forks. */
static void churn(int depth)
{
	if (depth > 0) {
		churn(depth - 1);
		return;
	}
	free(malloc(64));
}

static void *allocator(void *arg)
{
	long seed = (long)arg;
	while (!stop) {
		seed = seed * 1103515245 + 12345;
		churn((int)((seed >> 16) % 50));
	}
	return NULL;
}

static int wait_ok(pid_t child)
{
	int status;
	if (waitpid(child, &status, 0) < 0)
		return 0;
	return WIFEXITED(status);
}

static int forkstorm(void)
{
	pthread_t threads[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, allocator, (void *)(i + 1));
	int ok = 1;
	for (int i = 0; i < 20; i++) {
		pid_t child = fork();
		if (child == 0) {
			leak(3, 13131);
			exit(0);
		}
		ok &= wait_ok(child);
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "forkstorm") == 0)
		return forkstorm();
	if (argc < 3)
		return 2;
	char *child_argv[] = { argv[2], "exit_now", NULL };
	pid_t child;
	if (strcmp(argv[1], "posix_spawn") == 0) {
		if (posix_spawn(&child, argv[2], NULL, NULL, child_argv, environ) != 0)
			return 1;
	} else {
		child = vfork();
		if (child == 0) {
			execve(argv[2], child_argv, environ);
			_exit(127);
		}
	}
	int status;
	waitpid(child, &status, 0);
	leak(2, 12121);
	return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? 0 : 1;
}
