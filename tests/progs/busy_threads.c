/* busy_threads.c: a program busy allocating in every thread when a signal kills it
 * (tests/integration/fatal_busy.sh). It leaks one block of 4321 bytes, starts THREADS
 * threads (default 3), says "ready", and then it and its threads allocate and free
 * until the process dies, each keeping its last 64 blocks.
 *
 *   busy_threads [THREADS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *churn(void *unused)
{
	void *kept[64] = { 0 };
	(void)unused;
	for (unsigned i = 0;; i++) {
		unsigned slot = i % 64;
		free(kept[slot]);
		kept[slot] = malloc(16 + (i * 7919u) % 2000);
		__asm__ volatile("" : : "r"(kept) : "memory"); /* kept stays on the stack */
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 3;
	char *lost = malloc(4321);
	memset(lost, 1, 4321);
	lost = NULL;
	for (int i = 0; i < threads; i++) {
		pthread_t thread;
		if (pthread_create(&thread, NULL, churn, NULL) != 0)
			return 1;
	}
	puts("ready");
	fflush(stdout);
	churn(NULL);
	return 0;
}
