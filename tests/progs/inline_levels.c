/* inline_levels.c: one allocation made three inlined calls deep, built -O2 -g
 * (tests/tests.mk): main -> level1 -> level2 -> level3 -> malloc, all inlined into main.
 *
 * memprof must show every level with its call site, innermost first, as memcheck and
 * addr2line -i do. The test (tests/integration/test_inline_frames.c) finds the expected
 * lines by the markers at their ends, so moving code here does not break it.
 */
#include <stdio.h>
#include <stdlib.h>

#define INLINE inline __attribute__((always_inline))

/* Kept in a global: the block stays live to the exit snapshot, for `memprof memory`. */
static char *volatile kept;

static INLINE void level3(size_t n) { kept = malloc(n); } /* @level3 */
static INLINE void level2(size_t n) { level3(n + 1); } /* @level2 */
static INLINE void level1(size_t n) { level2(n * 2); } /* @level1 */

int main(int argc, char **argv)
{
	(void)argv;
	/* 2 * (2300 + argc) + 1 bytes: 4603 without arguments, a size nothing else asks for. */
	level1(2300 + (size_t)argc); /* @main */
	kept[0] = 1;
	printf("%p\n", (void *)kept);
	return 0;
}
