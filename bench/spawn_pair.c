/* spawn_pair.c: the run time of a command in two environments, paired, for a machine too
 * busy for separate series of runs to tell a fraction of a millisecond apart.
 *
 *   spawn_pair N ENV_A... -- ENV_B... -- COMMAND [ARGS...]
 * runs COMMAND 2N times, alternating environment A and B (the order flips every pair),
 * each with exactly the given variables, and prints
 *   "a_median_us b_median_us median_of_differences_us"
 * where a difference is B's run minus the A run next to it.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000000ll + now.tv_nsec;
}

static int compare(const void *left, const void *right)
{
	long long a = *(const long long *)left, b = *(const long long *)right;
	return a < b ? -1 : a > b;
}

static long long one_run(char **command, char **env)
{
	pid_t child;
	long long start = now_ns();
	if (posix_spawnp(&child, command[0], NULL, NULL, command, env) != 0) {
		perror(command[0]);
		exit(1);
	}
	waitpid(child, NULL, 0);
	return now_ns() - start;
}

/* Cuts argv at the next "--" and returns what follows it. */
static char **split(char **at)
{
	while (*at && strcmp(*at, "--") != 0)
		at++;
	if (!*at) {
		fprintf(stderr, "usage: spawn_pair N ENV_A... -- ENV_B... -- COMMAND [ARGS...]\n");
		exit(2);
	}
	*at = NULL;
	return at + 1;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	int runs = atoi(argv[1]);
	char **env_a = argv + 2, **env_b = split(env_a), **command = split(env_b);
	long long *a = calloc((size_t)runs, sizeof(*a)), *b = calloc((size_t)runs, sizeof(*b));
	long long *diff = calloc((size_t)runs, sizeof(*diff));
	if (runs < 1 || !a || !b || !diff)
		return 2;
	for (int i = 0; i < runs; i++) {
		if (i & 1) {
			b[i] = one_run(command, env_b);
			a[i] = one_run(command, env_a);
		} else {
			a[i] = one_run(command, env_a);
			b[i] = one_run(command, env_b);
		}
		diff[i] = b[i] - a[i];
	}
	qsort(a, (size_t)runs, sizeof(*a), compare);
	qsort(b, (size_t)runs, sizeof(*b), compare);
	qsort(diff, (size_t)runs, sizeof(*diff), compare);
	printf("%.1f %.1f %.1f\n", a[runs / 2] / 1e3, b[runs / 2] / 1e3, diff[runs / 2] / 1e3);
	return 0;
}
