/* fold_bench.c: what the leak thread's folding costs per record, on a saved trace.
 *
 * Linked with the preload's objects (bench/bench.mk). Replays TRACE (written with
 * MEMPROF_LEAK_CHECK=0, say) into a scratch file whose header names this process (the
 * fold accepts only its own process's trace) as the program wrote it: every ROUND_US
 * microseconds of the trace's own clock (default 2000: about the leak thread's busy
 * pace), each chunk's committed length moves past the records stamped before then, new
 * chunks appear when their thread started them, and mp_leak_live_fold(path,
 * MP_LEAK_FOLD_PRUNE) folds the round as the leak thread would; the last fold is the
 * exit check's (MP_LEAK_FOLD_KEEP). ROUND_US=0 folds the whole trace in one round;
 * TAIL_MS=N leaves the records of the trace's last N ms to the check's round, the
 * backlog a check inherits at exit when the leak thread fell behind (python3's dict
 * freed just before exit).
 *
 * Prints the events folded, the operations that reached the table (not paired within a
 * batch), the blocks live at the end with a checksum of them (to compare two builds'
 * verdicts), the folding's ns per event (the fastest and the median of REPEATS replays)
 * and how long listing the live blocks took (mp_leak_live_blocks, as a check does after
 * its last fold); then the check's round alone, and the table at its largest (memory
 * mapped, slots, regions: leak_table.c). Only the folds are timed; under
 * callgrind, count them alone with --toggle-collect=mp_leak_live_fold.
 *
 *   [ROUND_US=2000] [TAIL_MS=0] fold_bench TRACE [REPEATS, default 5]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "leak_scan.h"
#include "leak_table.h"
#include "memprof/trace_decode.h"

#define REPEATS_MAX 64

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A chunk of the original trace, and how much of it the replay has committed. */
struct chunk {
	uint64_t offset;
	struct mp_chunk_header header; /* the original's */
	uint32_t shown;                /* bytes committed in the copy */
	struct mp_decode_state decode; /* at `shown` */
};

static struct {
	uint8_t *data;                 /* the original trace */
	size_t size;
	struct chunk *chunks;
	size_t chunk_count, visible;   /* chunks in the copy: a prefix, in file order */
	uint64_t start_ns, end_ns;     /* the trace's first and last times */
	int fd;                        /* the copy */
} trace;

static int load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	trace.size = (size_t)st.st_size;
	trace.data = mmap(NULL, trace.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (trace.data == MAP_FAILED || trace.size < sizeof(struct mp_file_header))
		return -1;
	struct mp_file_header *file = (struct mp_file_header *)trace.data;
	file->pid = (uint32_t)getpid();
	trace.start_ns = file->start_monotonic_ns;
	trace.end_ns = file->end_monotonic_ns;
	trace.chunks = calloc(trace.size / file->page_size + 1, sizeof(*trace.chunks));
	for (uint64_t at = file->header_size; at + sizeof(struct mp_chunk_header) <= trace.size;) {
		struct chunk *chunk = &trace.chunks[trace.chunk_count];
		memcpy(&chunk->header, trace.data + at, sizeof(chunk->header));
		if (!mp_chunk_header_valid(&chunk->header, file->page_size)) {
			at += file->page_size;
			continue;
		}
		chunk->offset = at;
		chunk->shown = sizeof(chunk->header);
		chunk->decode = (struct mp_decode_state){ 0, chunk->header.base_time_ns };
		trace.chunk_count++;
		at += chunk->header.capacity;
	}
	return 0;
}

/* Moves `chunk`'s committed length past the records stamped before `cutoff`. */
static void advance(struct chunk *chunk, uint64_t cutoff)
{
	const uint8_t *base = trace.data + chunk->offset, *end = base + chunk->header.used;
	const uint8_t *at = base + chunk->shown;
	while (at < end) {
		const uint8_t *next = at + 1;
		unsigned tag = *at;
		struct mp_decode_state state = chunk->decode;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t body;
			if (mp_get_u(&next, end, &body) || body > (uint64_t)(end - next))
				break;
			next += body;
		} else {
			struct mp_raw_event raw;
			if (mp_decode_event(&next, end, tag, &state, &raw) || raw.event.time_ns >= cutoff)
				break;
		}
		chunk->decode = state;
		at = next;
	}
	chunk->shown = (uint32_t)(at - base);
}

/* Writes the copy as the program had it at `cutoff`; returns 1 once all of it is there. */
static int show(uint64_t cutoff)
{
	while (trace.visible < trace.chunk_count &&
	       trace.chunks[trace.visible].header.base_time_ns < cutoff) {
		struct chunk *chunk = &trace.chunks[trace.visible++];
		uint64_t from = trace.visible > 1 ? trace.chunks[trace.visible - 2].offset +
							  trace.chunks[trace.visible - 2].header.capacity
						  : 0;
		uint64_t to = chunk->offset + chunk->header.capacity;
		if (pwrite(trace.fd, trace.data + from, to - from, (off_t)from) != (ssize_t)(to - from))
			return -1;
	}
	int all = trace.visible == trace.chunk_count;
	for (size_t i = 0; i < trace.visible; i++) {
		struct chunk *chunk = &trace.chunks[i];
		advance(chunk, cutoff);
		struct mp_chunk_header header = chunk->header;
		header.used = chunk->shown;
		if (chunk->shown < chunk->header.used) {
			header.flags &= ~(uint32_t)MP_CHUNK_LAST;
			all = 0;
		}
		if (pwrite(trace.fd, &header, sizeof(header), (off_t)chunk->offset) !=
		    (ssize_t)sizeof(header))
			return -1;
	}
	return all;
}

/* The last round of a replay: the check's. */
struct last_round {
	int events;
	uint64_t ns;
};

/* The table at its largest over a replay (after any round). */
static struct mp_leak_table_stats largest;

static void note_table(void)
{
	struct mp_leak_table_stats now;
	mp_leak_table_stats(&now);
	if (now.mapped > largest.mapped)
		largest = now;
}

/* One replay: the folding's nanoseconds, or 0 on failure. The records of the trace's
 * last tail_ns are left to the last round, as a check inherits a backlog at exit. */
static uint64_t replay(const char *path, uint64_t round_ns, uint64_t tail_ns, int *rounds,
		       struct last_round *last)
{
	trace.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (trace.fd < 0)
		return 0;
	trace.visible = 0;
	for (size_t i = 0; i < trace.chunk_count; i++) {
		trace.chunks[i].shown = sizeof(struct mp_chunk_header);
		trace.chunks[i].decode =
			(struct mp_decode_state){ 0, trace.chunks[i].header.base_time_ns };
	}
	mp_leak_live_reset();
	uint64_t folding = 0;
	int all = 0;
	*rounds = 0;
	for (uint64_t cutoff = trace.start_ns; !all; (*rounds)++) {
		cutoff = round_ns ? cutoff + round_ns : UINT64_MAX;
		if (tail_ns && trace.end_ns > tail_ns && cutoff >= trace.end_ns - tail_ns)
			cutoff = UINT64_MAX;
		all = show(cutoff);
		if (all < 0)
			break;
		uint64_t start = now_ns();
		int folded = mp_leak_live_fold(path, all ? MP_LEAK_FOLD_KEEP : MP_LEAK_FOLD_PRUNE);
		uint64_t took = now_ns() - start;
		folding += took;
		*last = (struct last_round){ folded, took };
		note_table();
		if (folded < 0) {
			fprintf(stderr, "fold_bench: fold failed: %s\n", strerror(-folded));
			all = -1;
			break;
		}
	}
	close(trace.fd);
	unlink(path);
	return all < 0 ? 0 : folding;
}

/* FNV-1a over the live blocks, sorted by address. */
static uint64_t live_checksum(size_t *count)
{
	struct mp_leak_block *blocks;
	size_t bytes;
	uint64_t hash = 0xcbf29ce484222325ull;
	if (mp_leak_live_blocks(&blocks, count, &bytes) < 0)
		return 0;
	for (size_t i = 0; i < *count; i++) {
		hash = (hash ^ blocks[i].addr) * 0x100000001b3ull;
		hash = (hash ^ blocks[i].size) * 0x100000001b3ull;
	}
	mp_sys_unmap(blocks, bytes);
	return hash;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: [ROUND_US=2000] [TAIL_MS=0] fold_bench TRACE [REPEATS]\n");
		return 2;
	}
	int repeats = argc > 2 ? atoi(argv[2]) : 5;
	if (repeats < 1 || repeats > REPEATS_MAX)
		repeats = 5;
	uint64_t round_ns = (getenv("ROUND_US") ? strtoull(getenv("ROUND_US"), NULL, 10) : 2000) *
			    1000u;
	uint64_t tail_ns = (getenv("TAIL_MS") ? strtoull(getenv("TAIL_MS"), NULL, 10) : 0) * 1000000u;
	char path[256];
	snprintf(path, sizeof(path), "%s/fold_bench.%d.trace",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (load(argv[1]) < 0) {
		fprintf(stderr, "fold_bench: cannot read '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	mp_config.leak_check_max_bytes = 4ull << 30;
	uint64_t times[REPEATS_MAX], last_ns[REPEATS_MAX];
	int rounds = 0;
	struct last_round last = { 0, 0 };
	for (int r = 0; r < repeats; r++) {
		times[r] = replay(path, round_ns, tail_ns, &rounds, &last);
		last_ns[r] = last.ns;
		if (!times[r])
			return 1;
	}
	uint64_t events = mp_leak_live_events();
	size_t live = 0;
	uint64_t list_start = now_ns();
	uint64_t checksum = live_checksum(&live);
	uint64_t list_ns = now_ns() - list_start;
	qsort(times, (size_t)repeats, sizeof(times[0]), compare_u64);
	qsort(last_ns, (size_t)repeats, sizeof(last_ns[0]), compare_u64);
	printf("%llu events in %d rounds, %llu table ops, %zu live, checksum %016llx, "
	       "%.2f ns/event best, %.2f median; listing %.2f ms\n", (unsigned long long)events, rounds,
	       (unsigned long long)mp_leak_live_table_ops(), live, (unsigned long long)checksum,
	       (double)times[0] / events, (double)times[repeats / 2] / events, (double)list_ns / 1e6);
	printf("the check's round: %d events, %.2f ms best, %.2f median\n", last.events,
	       (double)last_ns[0] / 1e6, (double)last_ns[repeats / 2] / 1e6);
	printf("the table at its largest: %llu KiB of memory, %llu slots in %llu regions\n",
	       (unsigned long long)largest.mapped >> 10, (unsigned long long)largest.slots,
	       (unsigned long long)largest.regions);
	return 0;
}
