/* leaks.c: known leaks at known lines, for checking `memprof leaks/report --json` exactly.
 *
 * Every allocating line (and every call line a test looks for in a caller frame) carries a
 * LEAK_SITE marker comment; test_leaks_json.c finds line numbers by scanning this file for
 * the markers, so lines may move freely. No stdio: its buffers would be leaks of libc's.
 *
 * `leaks` (no argument) leaks, from the program's own code:
 *   direct           3 x malloc(1111)            in leak_direct, one stack
 *   calloc (A)       2 x calloc(1, 2222)         in zeroed, called from caller_a
 *   calloc (B)       1 x calloc(3, 1111)         in zeroed, called from caller_b
 *   realloc          1 x realloc(malloc(100), 4444) in grow; the malloc'd block is released
 *   inlined          1 x malloc(5555)            in inlined_leak, inlined into outer
 *   thread           2 x malloc(6666)            in thread_leak, on a second thread
 * and frees, from the same functions, blocks of 7001, 7002 (calloc) and 7003 (realloc'd
 * to 7004) bytes, which must not appear. `leaks clean` makes the same calls but frees every
 * block and starts no thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DIRECT_COUNT 3
#define THREAD_COUNT 2

static void *kept[16];
static int kept_count;

/* Keeps or frees a block: in clean mode nothing is kept. */
static void keep(void *block, int clean)
{
	if (clean)
		free(block);
	else
		kept[kept_count++] = block;
}

static void leak_direct(int clean)
{
	for (int i = 0; i < DIRECT_COUNT; i++) {
		void *block = malloc(1111); /* LEAK_SITE:direct */
		keep(block, clean);
	}
	free(malloc(7001));
}

static void *zeroed(size_t count, size_t size)
{
	return calloc(count, size); /* LEAK_SITE:calloc */
}

static void caller_a(int clean)
{
	for (int i = 0; i < 2; i++)
		keep(zeroed(1, 2222), clean); /* LEAK_SITE:calloc_from_a */
	free(zeroed(1, 7002));
}

static void caller_b(int clean)
{
	keep(zeroed(3, 1111), clean); /* LEAK_SITE:calloc_from_b */
}

static void grow(int clean)
{
	char *block = malloc(100);
	memset(block, 1, 100);
	block = realloc(block, 4444); /* LEAK_SITE:realloc */
	keep(block, clean);
	char *freed = malloc(7003);
	freed = realloc(freed, 7004);
	free(freed);
}

static inline __attribute__((always_inline)) void *inlined_leak(void)
{
	return malloc(5555); /* LEAK_SITE:inlined */
}

static void outer(int clean)
{
	void *block = inlined_leak(); /* LEAK_SITE:inlined_caller */
	keep(block, clean);
}

static void *thread_leak(void *arg)
{
	(void)arg;
	for (int i = 0; i < THREAD_COUNT; i++)
		kept[kept_count + i] = malloc(6666); /* LEAK_SITE:thread */
	return NULL;
}

static void leak_from_thread(void)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, thread_leak, NULL) != 0)
		exit(3);
	pthread_join(thread, NULL);
	kept_count += THREAD_COUNT;
}

int main(int argc, char **argv)
{
	int clean = argc > 1 && strcmp(argv[1], "clean") == 0;
	leak_direct(clean); /* LEAK_SITE:main_direct */
	caller_a(clean); /* LEAK_SITE:main_caller_a */
	caller_b(clean); /* LEAK_SITE:main_caller_b */
	grow(clean); /* LEAK_SITE:main_grow */
	outer(clean); /* LEAK_SITE:main_outer */
	if (!clean)
		leak_from_thread();
	return 0;
}
