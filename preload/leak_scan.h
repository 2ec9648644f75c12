/* leak_scan.h: classifying the blocks still allocated at exit by a conservative scan for
 * pointers, with the semantics of Valgrind memcheck's leak checker.
 *
 * Shared by leak_scan.c (the exit-time driver), leak_live.c (the live set, rebuilt from
 * the trace file), leak_roots.c (/proc/self/maps and the threads' stacks) and
 * leak_classify.c (the marking itself, pure computation over memory it is given, which
 * the unit tests drive with synthetic blocks). Nothing here runs on the recording path;
 * it all runs once, in the exiting thread, with its busy flag set. Memory comes from
 * mp_sys_map_anon only (listed by mp_sys_own_regions, so never mistaken for a root).
 */
#ifndef MEMPROF_PRELOAD_LEAK_SCAN_H
#define MEMPROF_PRELOAD_LEAK_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "encode.h"

/* leak_scan.c. Unless MEMPROF_LEAK_CHECK=0: classifies every block still allocated
 * (memcheck's definite, indirect, possible, reachable) by a conservative scan for pointers
 * and writes LEAK_CLASS and LEAK_SUMMARY records. Never fails loudly. Call with busy
 * clear. */
void mp_leak_scan_at_exit(void);

/* One block still allocated, as the trace says; arrays of them are sorted by addr. */
struct mp_leak_block {
	uint64_t addr;
	uint64_t size; /* requested bytes: what memcheck scans too */
};

/* A range of memory to scan as a root, [start, end). */
struct mp_leak_range {
	uint64_t start, end;
};

/* Per-block classification state (leak_classify.c). The low bits hold the state; NOSCAN
 * marks a block whose memory is not mapped readable (its contents are not scanned). */
enum mp_leak_state {
	MP_LEAK_UNREACHED = 0, /* at the end: definitely lost */
	MP_LEAK_POSSIBLE = 1,
	MP_LEAK_REACHABLE = 2,
	MP_LEAK_INDIRECT = 3,
	MP_LEAK_STATE_MASK = 3,
	MP_LEAK_NOSCAN = 0x80,
};

struct mp_leak_classifier {
	const struct mp_leak_block *blocks; /* sorted, non-overlapping */
	size_t count;
	uint8_t *state;       /* count entries, zeroed by the caller (NOSCAN may be set) */
	uint32_t *work;       /* 2 * count + 1 entries of scratch: each block is pushed at most
				 twice (unreached -> possible -> reachable) */
	size_t work_len;
	uint64_t lowest, highest; /* [lowest, highest): addresses a pointer may hit */
	uint64_t root_bytes;  /* statistics */
	uint64_t block_bytes;
};

/* leak_classify.c. Prepares `c` over blocks[0..count) with the given scratch. */
void mp_leak_classify_init(struct mp_leak_classifier *c, const struct mp_leak_block *blocks,
			   size_t count, uint8_t *state, uint32_t *work);
/* Scans the root range word by word (8-byte aligned words only, as memcheck does): a word
 * holding a block's start makes it reachable, one pointing inside it possibly lost; the
 * blocks reached are scanned in turn. Call for every root, then mp_leak_classify_finish. */
void mp_leak_classify_root(struct mp_leak_classifier *c, uint64_t start, uint64_t end);
/* Separates the blocks no root reaches into definitely lost (the first block of each
 * group, memcheck's "clique leader") and indirectly lost (reachable only from lost
 * blocks). After it, state & MP_LEAK_STATE_MASK is final. */
void mp_leak_classify_finish(struct mp_leak_classifier *c);
/* The MP_LEAK_KIND_* of trace_format.h for a final state. */
unsigned mp_leak_classify_kind_of(uint8_t state);
/* The index of the block holding `addr` (a zero-size block holds its first byte), or
 * SIZE_MAX. */
size_t mp_leak_classify_find(const struct mp_leak_classifier *c, uint64_t addr);

/* leak_live.c. Rebuilds the set of blocks allocated and not freed from the trace file at
 * `path` (mapped read-only, decoded up to each chunk's committed end): per address the
 * event with the latest time wins. On success returns 0 with a sorted array from
 * mp_sys_map_anon in *blocks (*bytes long, to unmap) and *count; else a negative errno.
 * *sampled receives the header's sample_bytes. */
int mp_leak_live_blocks(const char *path, struct mp_leak_block **blocks, size_t *count,
			size_t *bytes, uint64_t *sampled);

/* leak_roots.c. Writes the root ranges (writable memory that is not heap, not
 * libmemprof's own, stacks from their threads' stack pointers) into a fresh mp_sys_map_anon
 * array (*bytes long) and marks blocks not inside readable memory NOSCAN in state[].
 * `own_sp` is the scanning thread's stack pointer, `exclude` ranges (sorted or not) that
 * must not be scanned even inside a root. Returns the range count or a negative errno;
 * *threads receives the number of other threads seen, with bit 31 set if one of them had
 * no readable stack pointer (it was running: its whole stack was scanned). */
long mp_leak_roots(const struct mp_leak_block *blocks, size_t count, uint8_t *state,
		   uint64_t own_sp, const struct mp_leak_range *exclude, size_t exclude_count,
		   const char *trace_path, struct mp_leak_range **roots, size_t *bytes,
		   uint32_t *threads);

#endif
