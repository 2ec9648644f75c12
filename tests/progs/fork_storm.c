/* fork_storm.c: 8 threads allocating (with blocks large enough that the allocator maps
 * memory) while the main thread forks 20 times, each child allocating once and leaving by
 * _exit (tests/integration/fork_storm.sh). Exits 0 when every child exited 0. A fork that
 * deadlocks hangs it: the test runs it under timeout. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8

static volatile int stop;

static void *churn(void *arg)
{
	void *keep[64] = { 0 };
	unsigned i = (unsigned)(size_t)arg;
	while (!stop) {
		unsigned slot = i++ % 64;
		free(keep[slot]);
		keep[slot] = malloc(16 + (i * 7919u) % 4096);
		if (i % 128 == 0)
			sched_yield(); /* leaves the forking thread its share of two cores */
		if (i % 512 == 0)
			free(malloc(1 << 20));
	}
	for (int k = 0; k < 64; k++)
		free(keep[k]);
	return NULL;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 20;
	pthread_t threads[THREADS];
	for (int t = 0; t < THREADS; t++)
		pthread_create(&threads[t], NULL, churn, (void *)(size_t)(t * 1000));
	int failed = 0;
	for (int f = 0; f < forks && !failed; f++) {
		pid_t pid = fork();
		if (pid == 0) {
			volatile char *block = malloc(100);
			block[0] = 1;
			free((void *)block);
			_exit(0);
		}
		int status;
		failed = pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
			 WEXITSTATUS(status) != 0;
	}
	stop = 1;
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	return failed;
}
