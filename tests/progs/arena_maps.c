/* arena_maps.c: blocks large enough that any allocator maps memory for them, one mmap and
 * munmap of the program's own, one leaked block of 4321 bytes (tests/integration/
 * other_allocators.sh). The only mmap the program makes is its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
	char *lost = malloc(4321);
	memset(lost, 1, 4321);
	lost = NULL;
	for (int i = 0; i < 64; i++) {
		char *big = malloc((size_t)(i + 1) << 20);
		memset(big, 1, 4096);
		free(big);
	}
	char *mine = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mine == MAP_FAILED)
		return 1;
	mine[0] = 1;
	munmap(mine, 1 << 16);
	printf("ok\n");
	return 0;
}
