/* altstack_alloc.c: a signal handler running on an alternate signal stack of SIZE bytes
 * allocates and frees 200 bytes, 100 times (crash reporters allocate so, though malloc
 * is not async-signal-safe); tests/integration/small_stacks.sh. A capture off the
 * thread's own stack is libunwind's, which took ~8 KiB: a stack of SIGSTKSZ (8 KiB)
 * overflowed under memprof.
 *
 *   altstack_alloc SIZE     prints "handled 100"
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int handled;

static void handler(int sig)
{
	(void)sig;
	char *block = malloc(200);
	block[0] = 1;
	handled += block[0];
	free(block);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	size_t size = (size_t)atol(argv[1]);
	stack_t stack = { .ss_sp = malloc(size), .ss_size = size };
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	action.sa_flags = SA_ONSTACK;
	if (!stack.ss_sp || sigaltstack(&stack, NULL) != 0 || sigaction(SIGUSR1, &action, NULL) != 0)
		return 2;
	for (int i = 0; i < 100; i++)
		raise(SIGUSR1);
	printf("handled %d\n", handled);
	return 0;
}
