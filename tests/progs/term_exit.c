/* term_exit.c: a daemon whose SIGTERM handler calls exit(0), as many do
 * (tests/integration/exit_in_handler.sh). It leaks one block of 777 bytes, says "ready" on
 * stdout, then allocates and frees for ever: the signal lands inside malloc or free, most
 * often inside the recorder. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void on_term(int signal_number)
{
	(void)signal_number;
	exit(0);
}

int main(void)
{
	char *lost = malloc(777);
	lost[0] = 1;
	lost = NULL;
	signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	void *slots[256] = { 0 };
	for (unsigned i = 0;; i++) {
		unsigned slot = i % 256;
		free(slots[slot]);
		slots[slot] = malloc(16 + i % 512);
	}
}
