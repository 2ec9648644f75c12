/* family.c: a parent, a fork child that leaks 4242 bytes, then a fork child that execs
 * `ls` (tests/integration/fork_exec_traces.sh): with a fixed MEMPROF_OUTPUT each of the
 * three processes must keep a trace of its own. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	char *kept = malloc(10);
	strcpy(kept, "parent");
	pid_t child = fork();
	if (child == 0) {
		char *lost = malloc(4242);
		lost[0] = 1;
		lost = NULL;
		exit(0);
	}
	waitpid(child, NULL, 0);
	child = fork();
	if (child == 0) {
		execlp("ls", "ls", "/", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(child, &status, 0);
	free(kept);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
