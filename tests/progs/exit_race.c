/* exit_race.c: threads that call exit() at the same moment (tests/integration/
 * exit_race.sh). glibc runs the exit handlers from every thread that calls exit, and the
 * first to run out of them ends the process, in the middle of another's handler.
 *
 *   exit_race race   two workers and main call exit (3, 3 and 4) together, past a
 *                    barrier; main has lost a block of 99 bytes.
 *   exit_race race-return  the same, main returning 4 from main instead.
 *   exit_race join   main calls exit(4); a handler it registered tells the worker to go
 *                    and joins it; the worker calls exit(5), which must not wait for
 *                    main's exit to finish (it never would).
 *   exit_race quick  main calls quick_exit(6); its at_quick_exit handler allocates and
 *                    frees a block first.
 *   exit_race daemon FILE  daemon(1, 1): its parent ends with _exit(0) from inside libc;
 *                    the daemon allocates, frees, writes FILE and exits.
 *   exit_race vfork  a vfork child whose exec fails calls exit(127) (where _exit was
 *                    meant, a common slip), sharing the parent's memory; then the parent
 *                    calls exit(4).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t barrier;
static pthread_t worker_thread;
static int go;

static void *racer(void *unused)
{
	(void)unused;
	for (int i = 0; i < 1000; i++)
		free(malloc(64));
	pthread_barrier_wait(&barrier);
	exit(3);
	return NULL;
}

static void *waiter(void *unused)
{
	(void)unused;
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		free(malloc(32));
	exit(5);
	return NULL;
}

static void quick_handler(void)
{
	free(malloc(1234));
}

static void join_worker(void)
{
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	pthread_join(worker_thread, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char *lost = malloc(99);
	memset(lost, 1, 99);
	lost = NULL;
	if (strcmp(argv[1], "race") == 0 || strcmp(argv[1], "race-return") == 0) {
		pthread_t threads[2];
		pthread_barrier_init(&barrier, NULL, 3);
		for (int i = 0; i < 2; i++)
			if (pthread_create(&threads[i], NULL, racer, NULL) != 0)
				return 2;
		pthread_barrier_wait(&barrier);
		if (strcmp(argv[1], "race-return") == 0)
			return 4;
		exit(4);
	}
	if (strcmp(argv[1], "daemon") == 0 && argc == 3) {
		if (daemon(1, 1) != 0)
			return 2;
		free(malloc(4321));
		FILE *done = fopen(argv[2], "w");
		if (!done)
			return 2;
		fputs("done\n", done);
		fclose(done);
		return 0;
	}
	if (strcmp(argv[1], "vfork") == 0) {
		char *child_argv[] = { "no-such-program", NULL };
		pid_t child = vfork();
		if (child == 0) {
			execv("/no/such/program", child_argv);
			exit(127);
		}
		int status;
		if (child < 0 || waitpid(child, &status, 0) != child)
			return 2;
		exit(4);
	}
	if (strcmp(argv[1], "quick") == 0) {
		if (at_quick_exit(quick_handler) != 0)
			return 2;
		quick_exit(6);
	}
	if (pthread_create(&worker_thread, NULL, waiter, NULL) != 0 || atexit(join_worker) != 0)
		return 2;
	exit(4);
}
