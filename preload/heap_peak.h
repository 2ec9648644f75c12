/* heap_peak.h: the live-heap estimate behind peak snapshots (heap_peak.c), a feature. */
#ifndef MEMPROF_PRELOAD_HEAP_PEAK_H
#define MEMPROF_PRELOAD_HEAP_PEAK_H

#include "writer.h"

/* The allocator in use, from the shim once it knows the real functions: its
 * malloc_usable_size (NULL: none), and whether it is glibc's, whose chunk headers then
 * tell the usable size without a call, once checked against malloc_usable_size on the
 * first blocks recorded. */
void mp_heap_peak_set_allocator(size_t (*usable)(void *), int libc_allocator);
/* Prepares the per-thread counters unless sampling or MEMPROF_SNAPSHOT_PEAK=0 rule out
 * peak snapshots. */
void mp_heap_peak_init(void);

/* What the recorder's inline half below reads; heap_peak.c sets it. */
#define MP_HEAP_PEAK_CHECK_BYTES (1u << 20)
/* 1 while the heap is followed (each thread in a slot of its own, heap_peak.c). */
extern int mp_heap_peak_on;
/* 1: the allocator is glibc's and its headers were checked to agree with it. */
extern int mp_heap_peak_from_header;
size_t mp_heap_peak_usable_call(void *block);
void mp_heap_peak_note_slow(struct mp_thread *thread, int64_t bytes);

/* glibc's malloc_usable_size of a block in use, from its chunk header (malloc/malloc.c):
 * the word before the block holds the chunk's size, flags in its low 3 bits, 2 for a
 * chunk of its own mmap; the block is the chunk less its 16-byte header, plus the next
 * chunk's first word for a chunk of the heap. The call costs more, and reads the next
 * chunk's header (another cache line) to tell a block in use from a free one, which
 * every block the recorder sees is: 3.5-5% of a full trace's samples were there. */
static inline size_t mp_heap_peak_header_usable(const void *block)
{
	size_t word = ((const size_t *)block)[-1];
	return (word & ~(size_t)7) - 8 - ((word & 2) << 2);
}

/* The usable size of a live block, or 0 when the heap is not being followed. Inline:
 * every allocation and free asks (a call and its frame cost more than the answer). */
static inline size_t mp_heap_peak_usable(void *block)
{
	if (!mp_heap_peak_on || !block)
		return 0;
	if (MP_LIKELY(mp_heap_peak_from_header))
		return mp_heap_peak_header_usable(block);
	return mp_heap_peak_usable_call(block);
}

/* Adds `bytes` (negative for a release) to the thread's share of the live heap; may take
 * a peak snapshot (every MP_HEAP_PEAK_CHECK_BYTES of change, in the slow half). Called
 * from the recorder, thread busy. The slot is found once, in the slow half: indexing
 * the slots by serial at every event cost a third of this function. Always inline: in
 * the allocations' recorder, grown by the capture, the compiler made it a call. */
static inline __attribute__((always_inline)) void mp_heap_peak_note(struct mp_thread *thread,
								     int64_t bytes)
{
	int64_t *mine = thread->heap_bytes;
	int64_t since = thread->heap_since_check + bytes;
	if (MP_LIKELY(mine &&
		      (uint64_t)(since + MP_HEAP_PEAK_CHECK_BYTES) < 2u * MP_HEAP_PEAK_CHECK_BYTES)) {
		__atomic_store_n(mine, *mine + bytes, __ATOMIC_RELAXED);
		thread->heap_since_check = since;
		return;
	}
	/* Nothing to add (the heap is not followed: peak snapshots off, or sampling) is no
	 * call: such runs made one at every event. */
	if (bytes)
		mp_heap_peak_note_slow(thread, bytes);
}
void mp_heap_peak_after_fork_child(void);

#endif
