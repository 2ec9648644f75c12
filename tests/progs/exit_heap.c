/* exit_heap.c: a process that exits with a large live heap, whose exit leak check takes a
 * while (tests/integration/term_during_exit.sh sends it SIGTERM meanwhile): `blocks`
 * blocks of 32 bytes, all reachable from one array, then "exiting" on stdout and exit(0).
 * One block of 1234 bytes is lost, so that the check has something to find.
 *
 *   exit_heap BLOCKS
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 1000000;
	void **held = malloc((size_t)count * sizeof(*held));
	if (!held)
		return 3;
	for (long i = 0; i < count; i++)
		if (!(held[i] = malloc(32)))
			return 3;
	char *lost = malloc(1234);
	lost[0] = 1;
	__asm__ volatile("" : : "r"(lost) : "memory");
	lost = NULL;
	printf("exiting\n");
	fflush(stdout);
	exit(0);
}
