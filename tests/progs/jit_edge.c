/* jit_edge.c: malloc called from code generated at run time whose return address lies 2
 * bytes before the end of its mapping, an inaccessible page after it: what the last call
 * of a JIT's code region looks like. Such code has no unwind information, and libunwind
 * reads the 16 bytes at the return address to test for a signal frame, unchecked: a
 * profiler handing it that frame crashes the program. Exit status 0 when the allocation
 * (4242 bytes) returned and was freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	/* push %rbx; movabs $malloc, %rax; mov $4242, %edi; call *%rax; pop %rbx; ret */
	uint8_t code[] = { 0x53, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
			   0xbf, 0x92, 0x10, 0, 0, 0xff, 0xd0, 0x5b, 0xc3 };
	void *(*target)(size_t) = malloc;
	memcpy(code + 3, &target, sizeof(target));
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
	if (pages == MAP_FAILED)
		return 2;
	uint8_t *stub = pages + page - sizeof(code);
	memcpy(stub, code, sizeof(code));
	if (mprotect(pages, page, PROT_READ | PROT_EXEC) != 0 ||
	    mprotect(pages + page, page, PROT_NONE) != 0)
		return 2;
	void *(*call)(void);
	memcpy(&call, &stub, sizeof(call));
	void *block = call();
	if (!block)
		return 1;
	free(block);
	return 0;
}
