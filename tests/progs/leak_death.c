/* leak_death.c: a heap with every leak kind, then the end argv[1] names.
 *
 *   term, int, hup  kill(getpid(), SIGTERM/SIGINT/SIGHUP) with no handler: dies of it
 *   handler         a SIGTERM handler installed at start calls exit(3)
 *   late            a SIGTERM handler installed after the heap is built calls exit(4)
 *   segv            a write to address 8: dies of SIGSEGV
 *   abort           abort(): dies of SIGABRT
 *   exit            exit(0)
 *
 * Sizes (tests/integration/test_leak_checks.c matches loss records by them):
 *   1101, 1102, 1103  definite: the only pointer overwritten
 *   1104              definite: lost, points to 1105
 *   1105              indirect
 *   1106              reachable: held by a global
 *   1107              reachable: only in a local of a thread blocked in read()
 * As in reach.c, the blocks are made in functions of their own and the stack below is
 * then wiped, so that no stale copy of a pointer survives in a dead frame; no stdio.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "holder_thread.h"

static void *g_held;

static void on_term(int sig)
{
	exit(sig == SIGTERM ? 3 : 5);
}

static void on_term_late(int sig)
{
	exit(sig == SIGTERM ? 4 : 5);
}

/* One call site per size: both tools group their loss records by allocation stack. */
static __attribute__((noinline)) void lose(size_t size)
{
	void *lost = malloc(size);
	memset(lost, 0, size);
}

static __attribute__((noinline)) void make_heap(void)
{
	lose(1101);
	lose(1102);
	lose(1103);
	void **parent = calloc(1, 1104);
	parent[0] = calloc(1, 1105);
	parent = NULL;
	g_held = calloc(1, 1106);
	(void)parent;
}

static void install(void (*handler)(int))
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	sigemptyset(&action.sa_mask);
	sigaction(SIGTERM, &action, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "exit";
	if (strcmp(mode, "handler") == 0)
		install(on_term);
	make_heap();
	start_holder(1107);
	wipe_stack();
	if (strcmp(mode, "late") == 0)
		install(on_term_late);
	if (strcmp(mode, "term") == 0 || strcmp(mode, "handler") == 0 || strcmp(mode, "late") == 0)
		kill(getpid(), SIGTERM);
	else if (strcmp(mode, "int") == 0)
		kill(getpid(), SIGINT);
	else if (strcmp(mode, "hup") == 0)
		kill(getpid(), SIGHUP);
	else if (strcmp(mode, "segv") == 0)
		*(volatile int *)8 = 1;
	else if (strcmp(mode, "abort") == 0)
		abort();
	else
		exit(0);
	for (;;)
		pause(); /* the signal is on its way */
}
