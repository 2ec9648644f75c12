/* leak_table.h: the live set's table: every block still allocated, by address, and the
 * releases that may still decide against an older allocation (leak_table.c).
 *
 * Filled by leak_live.c, which folds the trace into it an operation at a time, and read
 * by the checks through mp_leak_live_blocks. One thread at a time, as leak_live.c.
 */
#ifndef MEMPROF_PRELOAD_LEAK_TABLE_H
#define MEMPROF_PRELOAD_LEAK_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "leak_scan.h"

/* A round of folding begins: the releases applied from now on belong to it. */
void mp_leak_table_round_begin(void);
/* The round ended: everything committed before it began has been applied, or with
 * `behind` 1 everything committed before the round before it began (leak_live.c held
 * allocations over to the next round). The releases applied before that round may be
 * dropped from now on (leak_live.c, Pruning). */
void mp_leak_table_round_end(int behind);
/* Applies one allocation (`release` 0, `size` bytes) or release of addr at `time` (ns of
 * the trace's clock): per address, the event with the latest time wins, a release at
 * equal times. 0, or -ENOMEM or -E2BIG (MEMPROF_LEAK_CHECK_MAX_MB), after which the
 * table takes nothing more until a reset. */
int mp_leak_table_apply(uint64_t addr, uint64_t size, uint64_t time, int release);
/* Asks the memory of addr's slot into the cache, some operations ahead of its apply. */
void mp_leak_table_prefetch(uint64_t addr);
/* After a round of the leak thread's: gives back the memory of regions left holding only
 * releases that may be dropped, and of arrays left mostly empty, a bounded part of the
 * table at each call, from where the last one stopped. Stops where give_way() says so
 * (an exit or a fork is coming): the table stays right wherever it stops. */
void mp_leak_table_sweep(int (*give_way)(void));
/* The blocks live. */
uint64_t mp_leak_table_count(void);
/* The regions that hold a live block, in no order: each one's number + 1 in addr (which
 * orders them by address), its entry for mp_leak_table_region_list in size; at most cap.
 * *varying: the bits in which the numbers differ. */
size_t mp_leak_table_regions(struct mp_leak_block *out, size_t cap, uint64_t *varying);
/* Copies up to cap of the region's live blocks to out, nearly in address order: each
 * block near its home slot, so a few places from where it belongs at most, as a rule.
 * Returns how many. */
size_t mp_leak_table_region_list(uint64_t entry, struct mp_leak_block *out, size_t cap);
/* Forgets everything and gives the memory back. */
void mp_leak_table_reset(void);

/* What the table is made of, since the last reset (tests, bench/fold_bench.c). */
struct mp_leak_table_stats {
	uint64_t regions;     /* regions of heap holding entries now */
	uint64_t slots;       /* their arrays' slots */
	uint64_t rebuilt;     /* arrays rebuilt: grown, compacted or shrunk */
	uint64_t released;    /* regions whose array a sweep gave back */
	uint64_t sweeps_cut;  /* sweeps that stopped for an exit or a fork */
	uint64_t mapped;      /* bytes of memory the table holds from the kernel */
	uint64_t rebases;     /* times the time base moved */
};
void mp_leak_table_stats(struct mp_leak_table_stats *out);
/* Tests: how far past the time base an event may be before the base moves (default 2^39
 * ns); after mp_leak_table_reset. */
void mp_leak_table_time_span(uint64_t ns);

#endif
