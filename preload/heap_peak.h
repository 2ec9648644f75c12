/* heap_peak.h: the live-heap estimate behind peak snapshots (heap_peak.c), a feature. */
#ifndef MEMPROF_PRELOAD_HEAP_PEAK_H
#define MEMPROF_PRELOAD_HEAP_PEAK_H

#include "writer.h"

/* malloc_usable_size of the allocator in use (interpose.c sets it); NULL until known. */
extern size_t (*mp_heap_peak_usable_size)(void *block);
/* Prepares the per-thread counters unless sampling or MEMPROF_SNAPSHOT_PEAK=0 rule out
 * peak snapshots. */
void mp_heap_peak_init(void);
/* The usable size of a live block, or 0 when the heap is not being followed. */
size_t mp_heap_peak_usable(void *block);
/* Adds `bytes` (negative for a release) to the thread's share of the live heap; may take
 * a peak snapshot. Called from the recorder, thread busy. */
void mp_heap_peak_note(struct mp_thread *thread, int64_t bytes);
void mp_heap_peak_after_fork_child(void);

#endif
