/* churn.h: for the test programs that need allocations to record while something else
 * happens to the process (chroot_alloc.c, fd_exhaust.c, single_thread.c): blocks of 100
 * bytes allocated and freed one at a time from one call site, none kept. Exits with
 * status 3 if malloc fails. Included by one program each; everything is static. */
#ifndef MEMPROF_TEST_CHURN_H
#define MEMPROF_TEST_CHURN_H

#include <stdlib.h>

__attribute__((noinline)) static void churn(long allocations)
{
	for (long i = 0; i < allocations; i++) {
		char *block = malloc(100);
		if (!block)
			exit(3);
		block[0] = (char)i;
		__asm__ volatile("" : : "r"(block) : "memory");
		free(block);
	}
}

#endif
