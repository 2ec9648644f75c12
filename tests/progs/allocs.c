/* allocs.c: every interposed allocation entry point with known arguments (argv[1]). */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int mode_realloc(void)
{
	char *block = realloc(NULL, 100);    /* like malloc(100) */
	block = realloc(block, 50);          /* shrink */
	block = realloc(block, 100000);      /* grow: moves out of the small bins */
	block = realloc(block, 0);           /* frees, returns NULL */
	return block == NULL ? 0 : 1;
}

static int mode_memalign(void)
{
	void *blocks[6];
	if (posix_memalign(&blocks[0], 64, 1001) != 0)
		return 1;
	blocks[1] = aligned_alloc(128, 1024);
	blocks[2] = memalign(256, 1003);
	blocks[3] = valloc(1004);
	blocks[4] = pvalloc(1005);
	blocks[5] = reallocarray(NULL, 10, 101);
	for (int i = 0; i < 6; i++)
		free(blocks[i]);
	return 0;
}

static int mode_mmap(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (area == MAP_FAILED)
		return 1;
	munmap(area + 4 * page, 4 * page);                   /* a hole: pages 4..7 */
	char *moved = mremap(area, 4 * page, 8 * page, MREMAP_MAYMOVE); /* pages 0..3 grow */
	if (moved == MAP_FAILED)
		return 1;
	munmap(area + 8 * page, 8 * page);                   /* pages 8..15 */
	memset(moved, 1, 8 * page);
	return 0;                                            /* leaves 8 pages mapped */
}

static int mode_failures(void)
{
	void *huge = malloc(SIZE_MAX / 2);
	void *also = calloc(SIZE_MAX / 4, 1);
	void *mapped = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			    -1, 1); /* unaligned offset: EINVAL */
	return huge == NULL && also == NULL && mapped == MAP_FAILED ? 0 : 1;
}

static void *one_block(void *unused)
{
	(void)unused;
	free(malloc(7003));
	return NULL;
}

/* Event times (clock.c): a burst while this thread is the only one recording, a pause, a
 * second thread's one block, then another burst. Sizes 7001-7004 are the test's marks. */
static int mode_times(void)
{
	usleep(100000); /* the RSS watch ticks meanwhile: sparse reads start */
	for (int i = 0; i < 64; i++)
		free(malloc(7001));
	usleep(200000);
	free(malloc(7002));
	pthread_t other;
	if (pthread_create(&other, NULL, one_block, NULL) != 0 || pthread_join(other, NULL) != 0)
		return 1;
	for (int i = 0; i < 64; i++)
		free(malloc(7004));
	return 0;
}

/* Two threads that malloc and free 200000 blocks each, 64 live at a time: a trace of a
 * few MiB, past the size from which the leak thread reserves the file ahead. */
static void *churn_thread(void *unused)
{
	(void)unused;
	void *live[64] = { NULL };
	for (int i = 0; i < 200000; i++) {
		free(live[i % 64]);
		live[i % 64] = malloc(24 + (size_t)(i % 7) * 8);
	}
	for (int i = 0; i < 64; i++)
		free(live[i]);
	return NULL;
}

static int mode_churn(void)
{
	pthread_t other;
	if (pthread_create(&other, NULL, churn_thread, NULL) != 0)
		return 1;
	churn_thread(NULL);
	return pthread_join(other, NULL) != 0;
}

/* One thread allocates blocks of 7101 bytes and hands them through a ring to another,
 * which frees them: every block is freed by a thread that did not allocate it, and
 * glibc gives the freed blocks back to the first thread's next allocations. The test
 * checks the trace orders each block's allocation before its free and its free before
 * the next allocation at its address. */
#define HANDOFFS 50000
#define HANDOFF_RING 16
static void *handoff_ring[HANDOFF_RING];
static unsigned long handoff_put, handoff_taken;

static void *handoff_taker(void *unused)
{
	(void)unused;
	for (unsigned long taken = 0; taken < HANDOFFS; taken++) {
		while (__atomic_load_n(&handoff_put, __ATOMIC_ACQUIRE) == taken)
			sched_yield();
		free(handoff_ring[taken % HANDOFF_RING]);
		__atomic_store_n(&handoff_taken, taken + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int mode_handoff(void)
{
	pthread_t taker;
	if (pthread_create(&taker, NULL, handoff_taker, NULL) != 0)
		return 1;
	for (unsigned long put = 0; put < HANDOFFS; put++) {
		while (put - __atomic_load_n(&handoff_taken, __ATOMIC_ACQUIRE) == HANDOFF_RING)
			sched_yield();
		void *block = malloc(7101);
		if (!block)
			return 1;
		memset(block, 1, 16);
		handoff_ring[put % HANDOFF_RING] = block;
		__atomic_store_n(&handoff_put, put + 1, __ATOMIC_RELEASE);
	}
	return pthread_join(taker, NULL) != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "realloc") == 0)
		return mode_realloc();
	if (strcmp(mode, "memalign") == 0)
		return mode_memalign();
	if (strcmp(mode, "mmap") == 0)
		return mode_mmap();
	if (strcmp(mode, "failures") == 0)
		return mode_failures();
	if (strcmp(mode, "times") == 0)
		return mode_times();
	if (strcmp(mode, "churn") == 0)
		return mode_churn();
	if (strcmp(mode, "handoff") == 0)
		return mode_handoff();
	return 2;
}
