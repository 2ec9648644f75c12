/* resident.c: programs whose resident memory is known exactly, for `memprof memory`.
 *
 *   resident half      malloc 512 MiB, write the first 256 MiB; keep it to exit
 *   resident quarter   anonymous mmap of 256 MiB, write every 4th page (64 MiB)
 *   resident full      malloc 8 MiB and write all of it
 *   resident fatal     as full, then abort(): the process dies of SIGABRT, and its
 *                      snapshot is the fatal signal's
 *   resident readzero  calloc 64 MiB (a mapping of its own, zero without a write), read
 *                      every page of it, then write its first 16 MiB: the pages only read
 *                      map the kernel's zero page, in nobody's RSS
 *   resident frag      40000 blocks of 1 KiB written, then 9 of every 10 freed
 *   resident kinds     a thread blocked with 64 KiB of its stack written, and a 1 MiB file
 *                      mmap'd privately and read, both alive at exit
 *   resident timeline  4 MiB, 300 ms, raise(SIGUSR2), 16 MiB more, 300 ms: for
 *                      MEMPROF_SNAPSHOT_MS and MEMPROF_SNAPSHOT_SIGNAL=SIGUSR2
 *   resident growlate  ten steps of 8 MiB, 150 ms apart, each by a new thread, after 2100
 *                      threads that made one allocation each
 *   resident mainexit  main calls pthread_exit while a thread sleeps 100 ms: the process
 *                      must still end (memprof's snapshot thread must not keep it alive)
 *   resident slowfill  malloc 256 MiB, then write it 16 MiB every 25 ms, hold it 500 ms,
 *                      free it and exit: the RSS peak comes long after the heap peak and
 *                      ends before the exit snapshot
 *   resident access own|merged   malloc 256 MiB and 16 MiB and write both, then for
 *                      800 ms rewrite the first 64 MiB of the first and all of the second,
 *                      pass after pass; prints "filled T" and one "pass START END" per
 *                      pass (CLOCK_MONOTONIC ns). "own": the two blocks get different
 *                      madvise flags, so the kernel keeps each in a mapping of its own;
 *                      "merged": the same flags, and the program prints "merged 1" if they
 *                      ended up in one mapping (the kernel merges adjacent anonymous
 *                      mappings with equal flags), "merged 0" if not
 *
 * Transparent huge pages are turned off for the big regions (MADV_NOHUGEPAGE): with THP
 * "always" the first write would fault in 2 MiB at once and the page counts would not be
 * the ones written. Every mode but `fatal` exits with status 0 from main, so the exit
 * snapshot runs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

static void no_huge_pages(void *start, size_t length)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)start & ~(page - 1);
	madvise((void *)from, (uintptr_t)start + length - from, MADV_NOHUGEPAGE);
}

static char *half_block(void)
{
	char *block = malloc(512u * MIB); /* RESIDENT_SITE:half */
	if (!block)
		exit(1);
	no_huge_pages(block, 512u * MIB);
	memset(block, 1, 256u * MIB);
	return block;
}

static char *quarter_mapping(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *region = mmap(NULL, 256u * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0); /* RESIDENT_SITE:quarter */
	if (region == MAP_FAILED)
		exit(1);
	no_huge_pages(region, 256u * MIB);
	for (size_t at = 0; at < 256u * MIB; at += 4 * (size_t)page)
		region[at] = 1;
	return region;
}

static char *read_zero_block(void)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile char *block = calloc(64u * MIB, 1); /* RESIDENT_SITE:readzero */
	if (!block)
		exit(1);
	no_huge_pages((void *)block, 64u * MIB);
	char sum = 0;
	for (size_t at = 0; at < 64u * MIB; at += (size_t)page)
		sum = (char)(sum + block[at]);
	memset((void *)block, 1 + sum, 16u * MIB);
	return (char *)block;
}

static char *full_block(void)
{
	char *block = malloc(8u * MIB); /* RESIDENT_SITE:full */
	if (!block)
		exit(1);
	no_huge_pages(block, 8u * MIB);
	memset(block, 1, 8u * MIB);
	return block;
}

static void fatal_block(void)
{
	full_block();
	abort();
}

#define FRAG_BLOCKS 40000
static char *frag_blocks[FRAG_BLOCKS];

static void fragment(void)
{
	for (int i = 0; i < FRAG_BLOCKS; i++) {
		frag_blocks[i] = malloc(1024); /* RESIDENT_SITE:frag */
		if (!frag_blocks[i])
			exit(1);
		memset(frag_blocks[i], 1, 1024);
	}
	for (int i = 0; i < FRAG_BLOCKS; i++)
		if (i % 10 != 0) {
			free(frag_blocks[i]);
			frag_blocks[i] = NULL;
		}
}

static int blocker[2];

static void *blocked_thread(void *unused)
{
	(void)unused;
	volatile char stack_bytes[64 * 1024];
	memset((char *)stack_bytes, 1, sizeof(stack_bytes));
	char byte;
	/* Never written to: the thread is blocked here when the process exits. */
	if (read(blocker[0], &byte, 1) < 0)
		return NULL;
	return (void *)(uintptr_t)stack_bytes[0];
}

static void kinds(void)
{
	pthread_t thread;
	if (pipe(blocker) != 0 || pthread_create(&thread, NULL, blocked_thread, NULL) != 0)
		exit(1);
	int fd = open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
	char chunk[4096];
	memset(chunk, 7, sizeof(chunk));
	for (unsigned i = 0; fd >= 0 && i < MIB / sizeof(chunk); i++)
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			exit(1);
	char *file = mmap(NULL, MIB, PROT_READ, MAP_PRIVATE, fd, 0); /* RESIDENT_SITE:file */
	if (fd < 0 || file == MAP_FAILED)
		exit(1);
	unsigned sum = 0;
	for (size_t at = 0; at < MIB; at += 4096)
		sum += (unsigned char)file[at];
	printf("file sum %u\n", sum);
	usleep(100 * 1000); /* let the thread reach its read() */
}

static void *written_block(size_t size)
{
	char *block = malloc(size); /* RESIDENT_SITE:timeline */
	if (!block)
		exit(1);
	memset(block, 1, size);
	return block;
}

static void timeline(void)
{
	written_block(4u * MIB);
	usleep(300 * 1000);
	raise(SIGUSR2);
	usleep(100 * 1000);
	written_block(16u * MIB);
	usleep(300 * 1000);
}

/* 48000 blocks of 4 KiB, each written as it is allocated, over about 600 ms: the heap
 * and RSS grow together, as a program filling a table does (python3 building a dict). */
static void steady(void)
{
	for (int i = 0; i < 48000; i++) {
		char *block = malloc(4096); /* RESIDENT_SITE:steady */
		if (!block)
			exit(1);
		memset(block, 1, 4096);
		if (i % 400 == 399)
			usleep(5000);
	}
}

/* Ten steps of 8 MiB, 150 ms apart: each is a new heap peak by more than a tenth. */
static void grow(void)
{
	for (int step = 0; step < 10; step++) {
		written_block(8u * MIB);
		usleep(150 * 1000);
	}
}

/* As grow, each step made by a thread of its own, after 2100 threads that each made one
 * allocation: the steps' threads count past memprof's first two segments of per-thread
 * heap counters (heap_peak.c maps 1024 at a time, as threads need them). */
static void *small_allocation(void *unused)
{
	(void)unused;
	free(malloc(32));
	return NULL;
}

static void *step_8_mib(void *unused)
{
	(void)unused;
	return written_block(8u * MIB);
}

static void run_thread(void *(*body)(void *))
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, body, NULL) != 0 || pthread_join(thread, NULL) != 0)
		exit(1);
}

static void grow_late_threads(void)
{
	for (int i = 0; i < 2100; i++)
		run_thread(small_allocation);
	for (int step = 0; step < 10; step++) {
		run_thread(step_8_mib);
		usleep(150 * 1000);
	}
}

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static char *slowfill_buffer(void)
{
	char *buffer = malloc(256u * MIB); /* RESIDENT_SITE:slowfill */
	if (!buffer)
		exit(1);
	no_huge_pages(buffer, 256u * MIB);
	return buffer;
}

static void slowfill(void)
{
	char *buffer = slowfill_buffer();
	for (size_t at = 0; at < 256u * MIB; at += 16u * MIB) {
		memset(buffer + at, 1, 16u * MIB);
		usleep(25 * 1000);
	}
	usleep(500 * 1000);
	free(buffer);
}

static char *access_big(void)
{
	char *block = malloc(256u * MIB); /* RESIDENT_SITE:access_big */
	if (!block)
		exit(1);
	return block;
}

static char *access_small(void)
{
	char *block = malloc(16u * MIB); /* RESIDENT_SITE:access_small */
	if (!block)
		exit(1);
	return block;
}

/* The mapping of /proc/self/maps holding addr, as its start; 0 if none. */
static unsigned long mapping_of(const void *addr)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	unsigned long start, end, found = 0;
	char line[512];
	while (maps && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && (uintptr_t)addr >= start &&
		    (uintptr_t)addr < end)
			found = start;
	if (maps)
		fclose(maps);
	return found;
}

#define ACCESS_PASSES_MAX 1000

static void access_passes(const char *how)
{
	static uint64_t starts[ACCESS_PASSES_MAX], ends[ACCESS_PASSES_MAX];
	int own = strcmp(how, "own") == 0, passes = 0;
	char *big = access_big(), *small = access_small();
	no_huge_pages(big, 256u * MIB);
	no_huge_pages(small, 16u * MIB);
	if (own) { /* a flag the big block lacks, on every page of the small one's mapping */
		uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
		uintptr_t from = (uintptr_t)small & ~(page - 1);
		uintptr_t to = ((uintptr_t)small + 16u * MIB + page - 1) & ~(page - 1);
		madvise((void *)from, to - from, MADV_DONTDUMP);
	}
	memset(big, 1, 256u * MIB);
	memset(small, 1, 16u * MIB);
	uint64_t filled = now_ns(), until = filled + 800000000ull;
	while (passes < ACCESS_PASSES_MAX && now_ns() < until) {
		starts[passes] = now_ns();
		memset(big, 2, 64u * MIB);
		memset(small, 2, 16u * MIB);
		ends[passes++] = now_ns();
		usleep(10 * 1000);
	}
	printf("filled %llu\n", (unsigned long long)filled);
	for (int i = 0; i < passes; i++)
		printf("pass %llu %llu\n", (unsigned long long)starts[i], (unsigned long long)ends[i]);
	if (!own)
		printf("merged %d\n", mapping_of(big) == mapping_of(small));
}

static void *short_sleeper(void *unused)
{
	(void)unused;
	usleep(100 * 1000);
	return NULL;
}

static void main_exit(void)
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, short_sleeper, NULL) != 0)
		exit(1);
	pthread_exit(NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "half") == 0)
		half_block();
	else if (strcmp(mode, "quarter") == 0)
		quarter_mapping();
	else if (strcmp(mode, "full") == 0)
		full_block();
	else if (strcmp(mode, "fatal") == 0)
		fatal_block();
	else if (strcmp(mode, "readzero") == 0)
		read_zero_block();
	else if (strcmp(mode, "frag") == 0)
		fragment();
	else if (strcmp(mode, "kinds") == 0)
		kinds();
	else if (strcmp(mode, "timeline") == 0)
		timeline();
	else if (strcmp(mode, "mainexit") == 0)
		main_exit();
	else if (strcmp(mode, "grow") == 0)
		grow();
	else if (strcmp(mode, "growlate") == 0)
		grow_late_threads();
	else if (strcmp(mode, "slowfill") == 0)
		slowfill();
	else if (strcmp(mode, "steady") == 0)
		steady();
	else if (strcmp(mode, "access") == 0 && argc > 2)
		access_passes(argv[2]);
	else
		return 2;
	return 0;
}
