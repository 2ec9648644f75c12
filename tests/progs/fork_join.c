/* fork_join.c: a fork child whose first recorded event is a free glibc makes holding the
 * lock of its cache of thread stacks. The parent has THREADS threads (argv[1], default 6)
 * alive at the fork; in the child their stacks join glibc's cache, so when the child joins
 * a thread of its own, glibc trims the cache and frees a dead thread's TLS vector under
 * that lock (memprof once started the child's leak thread right there, and the child
 * hung). Then the child leaks one block of 555 bytes and exits; the parent waits for it
 * and says how it ended. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t ready, done;

static void *blocked(void *arg)
{
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done);
	return arg;
}

static void *nothing(void *arg)
{
	return arg;
}

static __attribute__((noinline)) void child_leaks(void)
{
	void *block = malloc(555);
	__asm__ volatile("" : : "r"(block) : "memory");
}

int main(int argc, char **argv)
{
	long threads = argc > 1 ? atol(argv[1]) : 6;
	pthread_t ids[64];
	if (threads < 1 || threads > 64)
		return 2;
	pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&done, NULL, (unsigned)threads + 1);
	for (long i = 0; i < threads; i++)
		pthread_create(&ids[i], NULL, blocked, NULL);
	pthread_barrier_wait(&ready);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t own;
		pthread_create(&own, NULL, nothing, NULL);
		pthread_join(own, NULL);
		child_leaks();
		exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	printf("child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	pthread_barrier_wait(&done);
	for (long i = 0; i < threads; i++)
		pthread_join(ids[i], NULL);
	return 0;
}
