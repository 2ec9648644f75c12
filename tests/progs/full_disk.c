/* full_disk.c: a program whose trace outgrows a small file system (tests/integration/
 * disk_full.sh). full_disk COUNT STATUS: COUNT mallocs and frees (one block in a thousand
 * kept), a line on stdout and one on stderr, then exit(STATUS). Its output and status must
 * be the same with the preload as without, whatever the disk does to the trace. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long count = argc > 1 ? atol(argv[1]) : 10;
	int status = argc > 2 ? atoi(argv[2]) : 0;
	char *kept = NULL;
	for (long i = 0; i < count; i++) {
		char *block = malloc(16 + (size_t)(i % 100));
		block[0] = (char)i;
		if (i % 1000 == 999) {
			*(char **)block = kept; /* a list, so the blocks stay reachable */
			kept = block;
		} else {
			free(block);
		}
	}
	printf("done %ld\n", count);
	fprintf(stderr, "the program's own stderr line\n");
	return status;
}
