/* small_stacks.c: four threads on stacks of STACK bytes each recurse DEPTH levels of 288
 * bytes and allocate 100 bytes 1000 times at the bottom (tests/integration/
 * small_stacks.sh). memprof's recording runs on the program's stack: at the session
 * before this test it needed ~4.6 KiB more than glibc's malloc, and a thread of 16 KiB
 * overflowed at 16 levels where the program alone runs to 31. With `peak`, each thread's
 * first time at the bottom also allocates 8 MiB, a new heap peak, whose snapshot memprof
 * takes inside that malloc.
 *
 *   small_stacks STACK DEPTH [peak]       prints "ok" when every thread came back
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int peak;
static __thread int peaked;

/* Once a thread, with `peak`: a block of 8 MiB, written and freed. */
static __attribute__((noinline)) void peak_once(void)
{
	if (!peak || peaked)
		return;
	peaked = 1;
	char *big = malloc(8u << 20);
	if (!big)
		abort();
	big[0] = 1;
	free(big);
}

static __attribute__((noinline)) long descend(int levels)
{
	char pad[256];
	pad[0] = (char)levels;
	__asm__ volatile("" : : "r"(pad) : "memory");
	if (levels == 0) {
		peak_once();
		void *block = malloc(100);
		long bit = (long)(uintptr_t)block & 1;
		free(block);
		return bit;
	}
	return descend(levels - 1) + pad[0] - (char)levels;
}

static void *work(void *depth)
{
	long sum = 0;
	for (int i = 0; i < 1000; i++)
		sum += descend((int)(long)depth);
	return (void *)sum;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4)
		return 2;
	peak = argc == 4;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (pthread_attr_setstacksize(&attr, (size_t)atol(argv[1])) != 0)
		return 2;
	pthread_t threads[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&threads[i], &attr, work, (void *)atol(argv[2])) != 0)
			return 3;
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	puts("ok");
	return 0;
}
