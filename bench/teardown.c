/* teardown.c: a heap built, then freed all at once as the program ends.
 *
 * Allocates BLOCKS blocks of SIZE bytes, then frees every one of them in the order they
 * were made, and returns from main: what a program that tears its data structures down
 * before exiting does, at the rate only a loop reaches. memprof's leak thread folds each
 * free into its live set (leak_live.c) while the program runs; what it has not folded
 * when the exit comes, the exit waits for (bench/teardown.sh).
 *
 *   teardown [blocks] [size]      defaults: 4000000, 32
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long blocks = argc > 1 ? atol(argv[1]) : 4000000;
	long size = argc > 2 ? atol(argv[2]) : 32;
	if (blocks < 1 || size < 1) {
		fprintf(stderr, "usage: teardown [blocks] [size]\n");
		return 2;
	}
	char **heap = malloc((size_t)blocks * sizeof(*heap));
	if (!heap)
		return 1;
	for (long i = 0; i < blocks; i++) {
		heap[i] = malloc((size_t)size);
		if (!heap[i])
			return 1;
		heap[i][0] = (char)i; /* touched, as a program's would be */
	}
	for (long i = 0; i < blocks; i++)
		free(heap[i]);
	free(heap);
	return 0;
}
