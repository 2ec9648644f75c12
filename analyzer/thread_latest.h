/* thread_latest.h: each thread's latest allocation while it is live, for telling
 * temporary allocations (heap_model.h: a block the allocating thread releases before it
 * allocates anything else).
 *
 * Kept apart from the live blocks so that a block costs no thread or sequence number:
 * only as many entries as threads, in tables small enough to stay in the cache. An
 * allocation by thread T at address A makes A T's latest (and ends T's previous one); a
 * release of A, by anyone, ends A's being latest and says whose it was.
 *
 * Which thread's latest is at an address: the threads chained by the hash of their
 * latest address, the chains linked through the threads themselves (next[serial]), so
 * that changing a thread's latest, once per allocation, is an unlink from one short
 * chain and a push on another. An open-addressing table by address took an erase, with
 * its backward shift, and an insert: on python3's trace 92 instructions an allocation and
 * 19 a release (callgrind), 61 and 12 now, 6% of the model's instructions less. A
 * program whose allocations all come from one thread (python3's) needs no chain at all:
 * its latest allocation is one address to compare.
 */
#ifndef MEMPROF_THREAD_LATEST_H
#define MEMPROF_THREAD_LATEST_H

#include <stddef.h>
#include <stdint.h>

struct mp_thread_latest {
	uint64_t *addr_of;   /* per thread serial: its latest allocation's address, 0 if none */
	uint32_t *next;      /* per thread serial: the next thread of its chain, + 1; 0 ends */
	uint32_t serials;    /* entries of addr_of and next */
	uint32_t *heads;     /* per hash of an address: the first thread of the chain, + 1 */
	unsigned head_bits;  /* 1 << head_bits heads */
	/* Until a second thread allocates, no chain is kept: the one thread's latest is
	 * addr_of[solo - 1] (solo 0: no allocation yet). */
	uint32_t solo;
	int chained;
};

int mp_thread_latest_init(struct mp_thread_latest *latest);
void mp_thread_latest_destroy(struct mp_thread_latest *latest);
/* The two calls below but for their common case, which they take inline: the replay
 * makes one of them for nearly every event. */
int mp_thread_latest_allocated_rest(struct mp_thread_latest *latest, uint32_t serial,
				    uint64_t addr);
uint64_t mp_thread_latest_released_chained(struct mp_thread_latest *latest, uint64_t addr);

/* Thread `serial` allocated a block at addr (0, in a damaged trace: no block, and the
 * thread has no latest allocation then). 0 or -ENOMEM. */
static inline int mp_thread_latest_allocated(struct mp_thread_latest *latest, uint32_t serial,
					     uint64_t addr)
{
	/* solo is 0 until the first allocation; serial + 1 wraps to 0 for UINT32_MAX. */
	if (!latest->chained && latest->solo && latest->solo == serial + 1) {
		latest->addr_of[serial] = addr;
		return 0;
	}
	return mp_thread_latest_allocated_rest(latest, serial, addr);
}

/* The block at addr was released or dropped: returns serial + 1 of the thread whose
 * latest allocation it was, or 0 if it was no thread's latest. */
static inline uint64_t mp_thread_latest_released(struct mp_thread_latest *latest, uint64_t addr)
{
	if (latest->chained)
		return mp_thread_latest_released_chained(latest, addr);
	if (!latest->solo || !addr || latest->addr_of[latest->solo - 1] != addr)
		return 0;
	latest->addr_of[latest->solo - 1] = 0;
	return latest->solo;
}

#endif
