/* unreadable.c: a large block (a mapping of its own) that the program makes PROT_NONE,
 * held only by a pointer 8 bytes into it, where memcheck's new[] heuristic would read the
 * block's first word. The leak check must leave the block unread and finish: the block
 * is possibly lost (tests/integration/test_reachability.c). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define BLOCK_BYTES (256u << 10) /* above glibc's mmap threshold */

static char *g_unreadable;

int main(void)
{
	char *block = malloc(BLOCK_BYTES);
	if (!block)
		return 1;
	block[0] = 1; /* a count of 1 divides any size: the heuristic would hold, if read */
	g_unreadable = block + 8;
	uintptr_t page = (uintptr_t)block & ~(uintptr_t)4095;
	if (mprotect((void *)page, BLOCK_BYTES + 4096, PROT_NONE) != 0)
		return 2;
	return 0;
}
