/* leak_workers.c: argv[1] worker threads (default 8), started and joined argv[2] at a
 * time (default all at once), so that later waves run on the stacks glibc cached from
 * earlier ones. Each worker does some work on its stack, then mallocs one block of
 * 4500 bytes, fills it and drops the pointer: memcheck says every one is definitely
 * lost, whatever stale copy of the pointer the dead thread's stack keeps.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noinline)) void work(void)
{
	volatile char scratch[8192];
	memset((char *)scratch, 1, sizeof(scratch));
}

static void *worker(void *arg)
{
	(void)arg;
	work();
	void *volatile lost = malloc(4500);
	memset(lost, 0x5a, 4500);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 8;
	int wave = argc > 2 ? atoi(argv[2]) : threads;
	pthread_t ids[256];
	if (threads > 256 || wave < 1)
		return 2;
	for (int first = 0; first < threads; first += wave) {
		int last = first + wave < threads ? first + wave : threads;
		for (int i = first; i < last; i++)
			if (pthread_create(&ids[i], NULL, worker, NULL))
				return 1;
		for (int i = first; i < last; i++)
			pthread_join(ids[i], NULL);
	}
	return 0;
}
