/* runner.c: runs one command and prints its wall time, the peak RSS of the process tree
 * it waited for and the CPU time (user + system) that tree used:
 * "wall_ns maxrss_kib cpu_ns". Used by the scripts in bench/. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: runner COMMAND [ARGS...]\n");
		return 2;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t child = fork();
	if (child == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	int status;
	waitpid(child, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	struct rusage usage;
	getrusage(RUSAGE_CHILDREN, &usage);
	long long wall = (long long)(end.tv_sec - start.tv_sec) * 1000000000ll +
			 (end.tv_nsec - start.tv_nsec);
	long long cpu = ((long long)usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000ll +
			((long long)usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000ll;
	printf("%lld %ld %lld\n", wall, usage.ru_maxrss, cpu);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
