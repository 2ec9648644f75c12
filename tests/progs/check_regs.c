/* check_regs.c: a leak check asked for by MEMPROF_LEAK_CHECK_SIGNAL (SIGUSR1) from the
 * thread that holds two blocks' only addresses in registers when the signal comes: the
 * 2032-byte block's in %xmm7, the 2033-byte block's in %r12. That thread waits in
 * memprof's handler while the check runs, its registers saved in the signal's frame.
 * The check must read its general registers where the signal interrupted it (2033
 * reachable) and not its vector registers (2032 definitely lost), as memcheck does. Both
 * registers are cleared before exit: at the exit check, both blocks are definitely lost.
 * With "segv", a SIGSEGV comes instead, with the same registers: the check memprof makes
 * before the process dies reads them where that signal found them (2032 definite, 2033
 * reachable, which is also memcheck's verdict at that death).
 * The addresses are kept XOR-ed until the instructions that put them in the registers,
 * and the stack below is wiped, so that no other copy exists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY 0x5a5a5a5a5a5a5a5aull

static __attribute__((noinline)) void wipe_stack(void)
{
	volatile char area[64 * 1024];
	memset((char *)area, 0, sizeof(area));
}

/* The registers set, then SIGUSR1 to this thread, or a fault on address 0. */
static void hold_and_signal(uintptr_t in_vector, uintptr_t in_general, int fault)
{
	long pid = getpid(), tid = syscall(SYS_gettid);
	wipe_stack();
	__asm__ volatile("mov %[vector], %%rax\n\t"
			 "xor %[key], %%rax\n\t"
			 "movq %%rax, %%xmm7\n\t"
			 "mov %[general], %%r12\n\t"
			 "xor %[key], %%r12\n\t"
			 "test %[fault], %[fault]\n\t"
			 "jz 1f\n\t"
			 "xor %%eax, %%eax\n\t"
			 "mov (%%rax), %%rax\n"
			 "1:\n\t"
			 "mov %[pid], %%rdi\n\t"
			 "mov %[tid], %%rsi\n\t"
			 "mov $10, %%edx\n\t" /* SIGUSR1 */
			 "mov %[tgkill], %%eax\n\t"
			 "syscall\n\t"
			 "xor %%r12, %%r12\n\t"
			 "pxor %%xmm7, %%xmm7"
			 : : [vector] "r"(in_vector), [general] "r"(in_general), [key] "r"(KEY),
			   [pid] "r"(pid), [tid] "r"(tid), [tgkill] "i"(SYS_tgkill),
			   [fault] "r"((long)fault)
			 : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "r12", "xmm7", "memory");
}

int main(int argc, char **argv)
{
	uintptr_t in_vector = (uintptr_t)malloc(2032) ^ KEY;
	uintptr_t in_general = (uintptr_t)malloc(2033) ^ KEY;
	*(char *)(in_vector ^ KEY) = 1;
	*(char *)(in_general ^ KEY) = 1;
	free(malloc(8)); /* the last recorded event is neither block */
	hold_and_signal(in_vector, in_general, argc > 1 && strcmp(argv[1], "segv") == 0);
	return 0;
}
