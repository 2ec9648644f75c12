/* reserve_map.c: a program that reserves address space as language runtimes do
 * (tests/integration/mmap_reserved.sh): 64 MiB mapped PROT_NONE, of which it opens 1 MiB
 * with mprotect and writes; then 2 MiB mapped read-write; then it unmaps 48 MiB of the
 * reservation and exits with the rest mapped.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MIB (1024 * 1024)

int main(void)
{
	char *reserved = mmap(NULL, 64 * MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (reserved == MAP_FAILED || mprotect(reserved, MIB, PROT_READ | PROT_WRITE) != 0)
		return 2;
	memset(reserved, 1, MIB);
	char *plain = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (plain == MAP_FAILED)
		return 2;
	memset(plain, 2, 2 * MIB);
	if (munmap(reserved + 16 * MIB, 48 * MIB) != 0)
		return 2;
	puts("mapped");
	return 0;
}
