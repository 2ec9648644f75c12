/* resident_bench.c: a process with a known resident set, for bench/rss_watch.sh.
 *
 *   resident_bench MIB SECONDS
 * mallocs MIB MiB and writes all of it, then for SECONDS reads one byte of every page,
 * pass after pass, and prints "passes N ns_per_page X" (how fast it goes through its
 * memory: what clearing the referenced bits costs the program itself). SECONDS 0: exits
 * once written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	size_t bytes = (size_t)strtoul(argv[1], NULL, 10) << 20;
	double seconds = strtod(argv[2], NULL);
	long page = sysconf(_SC_PAGESIZE);
	volatile char *block = malloc(bytes);
	if (!block)
		return 1;
	memset((char *)block, 1, bytes);
	uint64_t start = now_ns(), until = start + (uint64_t)(seconds * 1e9), passes = 0;
	unsigned sum = 0;
	while (seconds > 0 && now_ns() < until) {
		for (size_t at = 0; at < bytes; at += (size_t)page)
			sum += (unsigned char)block[at];
		passes++;
	}
	uint64_t spent = now_ns() - start;
	if (seconds > 0)
		printf("passes %llu ns_per_page %.2f sum %u\n", (unsigned long long)passes,
		       passes ? (double)spent / ((double)passes * (double)(bytes / (size_t)page)) : 0.0,
		       sum);
	free((char *)block);
	return 0;
}
