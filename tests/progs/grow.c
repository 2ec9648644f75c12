/* grow.c: a known growth between two runs, for memprof diff and memprof html --base.
 *
 *   grow N   leak_block leaks N blocks of 1000 bytes (definitely lost), churn allocates
 *            and frees 10 * N blocks of 100 bytes, and with N >= 4 only_new leaks one
 *            block of 5000 bytes.
 *
 * Built twice: as grow, and as grow_padded with GROW_PAD, which puts 4 KiB of code before
 * every function and so moves every address but no line: diff must match stacks by their
 * frames all the same. No stdio (its buffers would be blocks of libc's).
 */
#include <stdlib.h>
#include <string.h>

#ifdef GROW_PAD
__attribute__((used, noinline)) static void grow_pad(void) { __asm__ volatile(".skip 4096"); }
#endif

__attribute__((noinline)) static void leak_block(void)
{
	char *block = malloc(1000); /* GROW_SITE:leak */
	memset(block, 1, 1000);
}

__attribute__((noinline)) static void only_new(void)
{
	char *block = malloc(5000); /* GROW_SITE:only_new */
	memset(block, 2, 5000);
}

__attribute__((noinline)) static void churn(int count)
{
	for (int i = 0; i < count; i++)
		free(malloc(100)); /* GROW_SITE:churn */
}

/* Overwrites the stack below main's frame, where the leaked pointers were, so that the
 * exit scan finds none of them (definitely lost). */
__attribute__((noinline)) static void scrub(void)
{
	volatile char area[16384];
	memset((char *)area, 0, sizeof(area));
}

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 1;
	for (int i = 0; i < count; i++)
		leak_block(); /* GROW_SITE:main_leak */
	churn(10 * count); /* GROW_SITE:main_churn */
	if (count >= 4)
		only_new(); /* GROW_SITE:main_only_new */
	scrub();
	return 0;
}
