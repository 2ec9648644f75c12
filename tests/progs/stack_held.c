/* stack_held.c: a block that only a thread's own stack points to, while the thread runs
 * a coroutine on a stack of its own (tests/integration/small_stacks.sh).
 *
 * The thread allocates a block of 7777 bytes and keeps its address in a local variable
 * only, then switches to a coroutine (makecontext, 64 KiB) that allocates and frees a
 * small block over and over and never returns. A leak check that stops the thread finds
 * its stack pointer on the coroutine's stack, not on the thread's own; the block is
 * still reachable from there, and must be reported so. main says "running" once the
 * coroutine runs, waits MILLISECONDS, and returns.
 *
 *   stack_held [MILLISECONDS, default 100]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#define COROUTINE_STACK (64 * 1024)

static int running;
static ucontext_t thread_context, coroutine_context;

static void churn(void)
{
	__atomic_store_n(&running, 1, __ATOMIC_RELEASE);
	for (;;) {
		char *small = malloc(24);
		__asm__ volatile("" : : "r"(small) : "memory");
		free(small);
	}
}

static void *hold(void *unused)
{
	(void)unused;
	char *volatile held = malloc(7777); /* in this frame, on this thread's own stack */
	memset(held, 1, 7777);
	/* No register left holding it for getcontext to save in a global. */
	char scratch[64];
	memset(scratch, 0, sizeof(scratch));
	__asm__ volatile("" : : "r"(scratch) : "memory");
	static char stack[COROUTINE_STACK] __attribute__((aligned(16)));
	if (getcontext(&coroutine_context) != 0)
		return NULL;
	coroutine_context.uc_stack.ss_sp = stack;
	coroutine_context.uc_stack.ss_size = sizeof(stack);
	coroutine_context.uc_link = NULL;
	makecontext(&coroutine_context, churn, 0);
	swapcontext(&thread_context, &coroutine_context);
	return (void *)held;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 100;
	pthread_t thread;
	if (pthread_create(&thread, NULL, hold, NULL) != 0)
		return 2;
	while (!__atomic_load_n(&running, __ATOMIC_ACQUIRE))
		;
	puts("running");
	fflush(stdout);
	struct timespec pause = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&pause, NULL);
	return 0;
}
