/* leak_storm.c: leak checks in a storm, which must end (the test runs it under timeout).
 *
 *   signals  4 threads allocate and free while another sends 100 MEMPROF_LEAK_CHECK_SIGNAL
 *            (SIGUSR1) to the process and 100 SIGUSR2 (the program's own handler, which
 *            allocates) to the main thread as fast as it can; then exit(0). Checks asked
 *            for while one is under way are one check.
 *   fork     4 threads allocate and free while the main thread forks 30 children (each
 *            allocates and frees, and half of them ask for a check before they exit) and
 *            another thread sends SIGUSR1 and SIGUSR2 (as above) every millisecond, 20
 *            times; then exit(0).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4

static volatile int g_stop;

static void *worker(void *arg)
{
	void *live[32] = { 0 };
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (!g_stop) {
		unsigned slot = (seed = seed * 1103515245u + 12345u) % 32;
		free(live[slot]);
		live[slot] = malloc(16 + (seed >> 16) % 512);
	}
	for (int i = 0; i < 32; i++)
		free(live[i]);
	return NULL;
}

static void on_usr2(int sig)
{
	(void)sig;
	free(malloc(32)); /* not async-signal-safe, as programs do */
}

/* The SIGUSR2 handler allocates, which is not async-signal-safe: run in a worker that
 * it interrupted inside glibc's malloc with its arena locked, its malloc waits for that
 * lock forever, with or without memprof (without it, 26 of 3000 runs hung when SIGUSR2
 * went to the process). So it goes to the main thread, which waits in pthread_join while
 * the storm lasts; memprof's SIGUSR1 still goes to the process, and lands anywhere. */
static pthread_t main_thread;

/* The sender blocks SIGUSR1: a check asked for on its own thread would hold it until the
 * check ends, and the checks would come one after another, none asked for while another
 * is under way. */
static void *sender(void *arg)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	int count = (int)(intptr_t)arg;
	for (int i = 0; i < count && !g_stop; i++) {
		kill(getpid(), SIGUSR1);
		pthread_kill(main_thread, SIGUSR2);
		if (count < 100)
			usleep(1000);
	}
	return NULL;
}

/* The program's SIGUSR2 handler allocates, which is not async-signal-safe: if it ran in
 * the forking thread while glibc's fork holds malloc's locks, it would deadlock with or
 * without memprof. So it is blocked around fork(), as a program that does this must;
 * memprof's SIGUSR1 (a leak check) is not, and may land inside fork. */
static void fork_storm(void)
{
	sigset_t usr2, saved;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	for (int i = 0; i < 30; i++) {
		pthread_sigmask(SIG_BLOCK, &usr2, &saved);
		pid_t child = fork();
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
		if (child == 0) {
			free(malloc(100));
			if (i % 2)
				raise(SIGUSR1);
			exit(0);
		}
		if (child > 0)
			waitpid(child, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "signals";
	pthread_t ids[WORKERS], send;
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_usr2;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	sigaction(SIGUSR2, &action, NULL);
	main_thread = pthread_self();
	for (long i = 0; i < WORKERS; i++)
		if (pthread_create(&ids[i], NULL, worker, (void *)(i + 1)))
			return 1;
	int fork_mode = strcmp(mode, "fork") == 0;
	if (pthread_create(&send, NULL, sender, (void *)(intptr_t)(fork_mode ? 20 : 100)))
		return 1;
	if (fork_mode)
		fork_storm();
	pthread_join(send, NULL);
	g_stop = 1;
	for (int i = 0; i < WORKERS; i++)
		pthread_join(ids[i], NULL);
	exit(0);
}
