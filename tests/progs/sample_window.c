/* sample_window.c: a heap that rises and falls among short-lived churn, for checking that
 * a sampling window changes what a sampled trace holds but not what it says.
 *   sample_window serial   one thread, deterministic: churn, a held set that grows to
 *                          about 96 MiB and shrinks twice, blocks grown by realloc, and
 *                          100 blocks never freed
 *   sample_window killed   the same, but SIGKILLed halfway through the second round
 *   sample_window threads  a producer hands blocks to a consumer thread, which frees
 *                          them after 3 or 120 ms; everything is freed
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HELD_MAX 6000
#define HANDOFF 4096

static uint64_t state = 0x243f6a8885a308d3ull;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

__attribute__((noinline)) static void churn(int count)
{
	for (int i = 0; i < count; i++) {
		void *block = malloc(16 + next() % 4000);
		__asm__ volatile("" : : "r"(block) : "memory");
		free(block);
	}
}

__attribute__((noinline)) static void *hold(void)
{
	return malloc(4096 + next() % (32 * 1024));
}

__attribute__((noinline)) static void *grow(void)
{
	void *block = malloc(64);
	for (size_t size = 128; size <= 64 * 1024; size *= 2)
		block = realloc(block, size);
	return block;
}

__attribute__((noinline)) static void *never_freed(void)
{
	return malloc(1000 + next() % 100000);
}

static void serial(int killed)
{
	static void *held[HELD_MAX];
	int count = 0;
	for (int round = 0; round < 3; round++) {
		if (killed && round == 1) {
			/* Killed with the held set at its highest and 100 more blocks. */
			for (int i = 0; i < 100; i++)
				__asm__ volatile("" : : "r"(never_freed()) : "memory");
			raise(SIGKILL);
		}
		int target = HELD_MAX - round * 2000;
		while (count < target) {
			held[count++] = hold();
			churn(20);
		}
		while (count > target / 4) {
			free(held[--count]);
			churn(20);
		}
		free(grow());
	}
	while (count > 0)
		free(held[--count]);
	for (int i = 0; i < 100; i++)
		__asm__ volatile("" : : "r"(never_freed()) : "memory");
}

/* A ring of blocks from the producer to the consumer; guarded by `lock`. */
static void *ring[HANDOFF];
static size_t head, tail;
static int done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void sleep_ms(long ms)
{
	struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&pause, NULL);
}

static void *consumer(void *unused)
{
	(void)unused;
	unsigned rounds = 0;
	for (;;) {
		pthread_mutex_lock(&lock);
		int finished = done && head == tail;
		size_t take = head - tail;
		void *blocks[HANDOFF];
		for (size_t i = 0; i < take; i++)
			blocks[i] = ring[tail++ % HANDOFF];
		pthread_mutex_unlock(&lock);
		for (size_t i = 0; i < take; i++)
			free(blocks[i]);
		if (finished)
			return NULL;
		/* Every 8th wait is long: blocks then outlive a short window while the
		 * producer goes on allocating. */
		sleep_ms(++rounds % 8 == 0 ? 120 : 3);
	}
}

static void threads(void)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, consumer, NULL) != 0)
		exit(1);
	for (int batch = 0; batch < 60; batch++) {
		for (int i = 0; i < 60; i++) {
			void *block = hold();
			pthread_mutex_lock(&lock);
			if (head - tail < HANDOFF)
				ring[head++ % HANDOFF] = block;
			else
				free(block);
			pthread_mutex_unlock(&lock);
		}
		churn(200);
		sleep_ms(5);
	}
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "serial") == 0)
		serial(0);
	else if (argc == 2 && strcmp(argv[1], "killed") == 0)
		serial(1);
	else if (argc == 2 && strcmp(argv[1], "threads") == 0)
		threads();
	else
		return 2;
	return 0;
}
