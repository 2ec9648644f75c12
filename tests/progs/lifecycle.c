/* lifecycle.c: process life cycles under the preload, one per mode (argv[1]).
 * Each mode allocates blocks of sizes no other code uses, so a test can count them. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void leak(int count, size_t size)
{
	for (int i = 0; i < count; i++) {
		char *block = malloc(size);
		block[0] = 1;
	}
}

/* Runs before libc and the preload's constructor: getenv does not work yet. */
static void early(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	leak(2, 4567);
}
__attribute__((section(".preinit_array"), used)) static void (*preinit)(int, char **, char **) = early;

static void at_exit_handler(void)
{
	leak(3, 2345);
}

__attribute__((destructor)) static void destructor(void)
{
	leak(4, 3456);
}

static void on_signal(int sig)
{
	(void)sig;
	leak(1, 5678);
}

static int mode_fork(void)
{
	leak(3, 11111);
	pid_t child = fork();
	if (child == 0) {
		leak(5, 22222);
		exit(0);
	}
	int status;
	waitpid(child, &status, 0);
	leak(2, 33333);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* exec: this image leaks 4 blocks of 44444 bytes and execs itself with "exec2", through
 * execv, or with "execl", "execlp", "execle", "fexecve" or "execveat" through that
 * function. */
static int mode_exec(const char *how, char **argv)
{
	extern char **environ;
	leak(4, 44444);
	char *args[] = { argv[0], "exec2", NULL };
	if (strcmp(how, "execl") == 0)
		execl("/proc/self/exe", argv[0], "exec2", (char *)NULL);
	else if (strcmp(how, "execlp") == 0)
		execlp("/proc/self/exe", argv[0], "exec2", (char *)NULL);
	else if (strcmp(how, "execle") == 0)
		execle("/proc/self/exe", argv[0], "exec2", (char *)NULL, environ);
	else if (strcmp(how, "fexecve") == 0)
		fexecve(open("/proc/self/exe", O_RDONLY | O_CLOEXEC), args, environ);
	else if (strcmp(how, "execveat") == 0)
		execveat(AT_FDCWD, "/proc/self/exe", args, environ, 0);
	else
		execv("/proc/self/exe", args);
	return 1;
}

static int mode_closefds(void)
{
	/* A daemon-style start: close everything we did not open, then reuse the numbers. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	int null = open("/dev/null", O_RDWR);
	for (int fd = 3; fd < 40; fd++)
		dup2(null, fd);
	void **blocks = malloc(100000 * sizeof(void *));
	for (int i = 0; i < 100000; i++)
		blocks[i] = malloc(6789);
	for (int i = 0; i < 100000; i++)
		free(blocks[i]);
	free(blocks);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	atexit(at_exit_handler);
	if (strcmp(mode, "fork") == 0)
		return mode_fork();
	if (strcmp(mode, "exec") == 0 || strcmp(mode, "execl") == 0 || strcmp(mode, "execlp") == 0 ||
	    strcmp(mode, "execle") == 0 || strcmp(mode, "fexecve") == 0 ||
	    strcmp(mode, "execveat") == 0)
		return mode_exec(mode, argv);
	if (strcmp(mode, "exec2") == 0) {
		leak(6, 55555);
		return 0;
	}
	if (strcmp(mode, "sigkill") == 0) {
		void *blocks[1000];
		for (int i = 0; i < 1000; i++)
			blocks[i] = malloc(777);
		for (int i = 0; i < 400; i++)
			free(blocks[i]);
		raise(SIGKILL);
	}
	if (strcmp(mode, "abort") == 0) {
		leak(100, 888);
		abort();
	}
	if (strcmp(mode, "segv") == 0) {
		leak(50, 999);
		*(volatile int *)0 = 1;
	}
	if (strcmp(mode, "exit_now") == 0) {
		leak(10, 1234);
		_exit(3);
	}
	if (strcmp(mode, "signal") == 0) {
		signal(SIGUSR1, on_signal);
		for (int i = 0; i < 10; i++)
			raise(SIGUSR1);
		return 0;
	}
	if (strcmp(mode, "closefds") == 0)
		return mode_closefds();
	if (strcmp(mode, "output") == 0) {
		leak(1, 100);
		printf("hello from the program\n");
		return 7;
	}
	return 0;
}
