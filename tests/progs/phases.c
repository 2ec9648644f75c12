/* phases.c: allocations in three phases 100 ms apart, for memprof html's time ranges.
 *
 *   phase 1 (at once):     early_alloc makes 10 blocks of 4096 bytes
 *   phase 2 (at 100 ms):   late_alloc makes 5 blocks of 2048 bytes and drops them (lost)
 *   phase 3 (at 200 ms):   the early blocks are freed, and the program exits
 *
 * So a range over the first quarter of the run allocated 40960 bytes, all still live at
 * its end, and one around the middle 10240 bytes, from late_alloc. No stdio.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *early[10];

__attribute__((noinline)) static void early_alloc(void)
{
	for (int i = 0; i < 10; i++)
		early[i] = malloc(4096);
}

__attribute__((noinline)) static void late_alloc(void)
{
	for (int i = 0; i < 5; i++)
		memset(malloc(2048), 0, 2048);
}

/* Overwrites the stack below main's frame, so that no copy of a lost pointer is left. */
__attribute__((noinline)) static void scrub(void)
{
	volatile char area[16384];
	memset((char *)area, 0, sizeof(area));
}

static void pause_ms(long ms)
{
	struct timespec delay = { 0, ms * 1000000 };
	nanosleep(&delay, NULL);
}

int main(void)
{
	early_alloc();
	pause_ms(100);
	late_alloc();
	scrub();
	pause_ms(100);
	for (int i = 0; i < 10; i++)
		free(early[i]);
	return 0;
}
