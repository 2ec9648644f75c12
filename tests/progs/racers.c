/* racers.c: starts N copies of a program at the same moment (tests/integration/
 * racing_writers.sh). racers [-g] N PROGRAM ARGS...: N children each wait on one pipe,
 * then all exec PROGRAM at once when it closes. -g puts them in a process group of their
 * own first (another run, as far as trace names go). Exits 0 if all of them exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int own_group = argc > 1 && strcmp(argv[1], "-g") == 0;
	if (argc < 3 + own_group) {
		fprintf(stderr, "usage: racers [-g] N PROGRAM ARGS...\n");
		return 2;
	}
	int count = atoi(argv[1 + own_group]);
	char **command = argv + 2 + own_group;
	int gate[2];
	if (pipe(gate) != 0 || (own_group && setpgid(0, 0) != 0))
		return 2;
	for (int i = 0; i < count; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			char byte;
			close(gate[1]);
			if (read(gate[0], &byte, 1) < 0)
				_exit(126);
			close(gate[0]);
			execvp(command[0], command);
			_exit(127);
		}
	}
	close(gate[0]);
	close(gate[1]); /* every child's read returns now */
	int failed = 0, status;
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	return failed != 0;
}
