/* many_stacks.c: 2^17 = 131072 distinct stacks, for memprof html's size bound.
 *
 * step16() walks down 17 levels, calling left<n>() or right<n>() by one bit of its
 * argument at each, and allocates (and frees) 16 to 47 bytes at the bottom: every value of
 * the bits is a stack of its own. Each level has functions of its own, and right<n>
 * calls after a different number of no-ops at each level: the recorder's stack hash (a
 * sum over positions, preload/stacks.c) only sees how far apart the two return
 * addresses of a level are, and when that distance is the same at every level it merges
 * most of these stacks (into some 800 with one pair of functions for all levels, into
 * 123000 with identical levels). No stdio.
 *
 * In the order of the values (no argument) the outermost level changes at every stack;
 * with any argument, in the order of the values' bits reversed, the innermost level
 * changes at every stack and each new stack shares all but a few levels with the one
 * before (the trace's STACK_SHARED records, tests/integration/shared_stacks.sh).
 */
#include <stdlib.h>

#define DEPTH 17

__attribute__((noinline)) static void leaf(unsigned bits)
{
	free(malloc(16 + bits % 32));
}

/* A level: left and right call the level below (not as tail calls, so that they stay on
 * the stack), right after `pad` bytes of no-ops; step picks one by the lowest bit. */
#define LEVEL(n, below, pad)                                                               \
	__attribute__((noinline)) static void left##n(unsigned bits)                       \
	{                                                                                  \
		below(bits >> 1);                                                          \
		__asm__ volatile("" ::: "memory");                                         \
	}                                                                                  \
	__attribute__((noinline)) static void right##n(unsigned bits)                      \
	{                                                                                  \
		__asm__ volatile(".skip " #pad ", 0x90");                                  \
		below(bits >> 1);                                                          \
		__asm__ volatile("" ::: "memory");                                         \
	}                                                                                  \
	__attribute__((noinline)) static void step##n(unsigned bits)                       \
	{                                                                                  \
		if (bits & 1)                                                              \
			left##n(bits);                                                     \
		else                                                                       \
			right##n(bits);                                                    \
	}

LEVEL(0, leaf, 37)
LEVEL(1, step0, 211)
LEVEL(2, step1, 5)
LEVEL(3, step2, 123)
LEVEL(4, step3, 77)
LEVEL(5, step4, 301)
LEVEL(6, step5, 19)
LEVEL(7, step6, 163)
LEVEL(8, step7, 251)
LEVEL(9, step8, 89)
LEVEL(10, step9, 7)
LEVEL(11, step10, 277)
LEVEL(12, step11, 141)
LEVEL(13, step12, 53)
LEVEL(14, step13, 199)
LEVEL(15, step14, 31)
LEVEL(16, step15, 233)

static unsigned reversed(unsigned value)
{
	unsigned out = 0;
	for (int i = 0; i < DEPTH; i++)
		out |= (value >> i & 1u) << (DEPTH - 1 - i);
	return out;
}

int main(int argc, char **argv)
{
	(void)argv;
	for (unsigned bits = 0; bits < 1u << DEPTH; bits++)
		step16(argc > 1 ? reversed(bits) : bits);
	return 0;
}
