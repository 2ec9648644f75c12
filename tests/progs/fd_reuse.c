/* fd_reuse.c: a program that closes every descriptor it inherited above stderr, as
 * daemons do, opens its input and its output (which get 3 and 4), and then allocates
 * from code generated at run time, which has no unwind information (a JIT's), before it
 * copies its input to its output. libunwind, unwinding through such code, checks
 * addresses with a pipe of its own: made at 3 and 4, it read the program's input and
 * wrote into its output under memprof (tests/integration/fd_reuse.sh).
 *
 * With NUMBER, the two files are moved to NUMBER and NUMBER + 1 (dup2), where memprof
 * moves libunwind's pipe (700): a program that reuses those numbers too.
 *
 *   fd_reuse INPUT OUTPUT [NUMBER]     prints the numbers it used and what it copied
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* push %rbp; mov %rsp,%rbp; movabs $malloc,%rax; mov $4242,%edi; call *%rax; pop %rbp;
 * ret: a frame that only a frame-pointer walk, with checked reads, gets through. */
static void *(*generated_malloc(void))(void)
{
	uint8_t code[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
			   0xbf, 0x92, 0x10, 0, 0, 0xff, 0xd0, 0x5d, 0xc3 };
	void *(*target)(size_t) = malloc;
	memcpy(code + 6, &target, sizeof(target));
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *stub = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	if (stub == MAP_FAILED)
		return NULL;
	memcpy(stub, code, sizeof(code));
	if (mprotect(stub, page, PROT_READ | PROT_EXEC) != 0)
		return NULL;
	void *(*call)(void);
	memcpy(&call, &stub, sizeof(call));
	return call;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4)
		return 2;
	free(malloc(10)); /* memprof has started */
	close_range(3, ~0u, 0);
	int in = open(argv[1], O_RDONLY);
	int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (argc == 4) {
		int number = atoi(argv[3]);
		if (dup2(in, number) != number || dup2(out, number + 1) != number + 1)
			return 2;
		close(in);
		close(out);
		in = number;
		out = number + 1;
	}
	void *(*call)(void) = generated_malloc();
	if (in < 0 || out < 0 || !call)
		return 2;
	for (int i = 0; i < 100; i++)
		free(call());
	char text[256];
	long got = read(in, text, sizeof(text));
	if (got < 0 || write(out, text, (size_t)got) != got)
		return 1;
	printf("input on %d, output on %d, %ld bytes copied\n", in, out, got);
	return 0;
}
