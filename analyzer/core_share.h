/* core_share.h: whether this process has a second core to itself right now.
 *
 * The replay reads the trace on a second thread (event_pipe.h) when a core is free for
 * it; when other processes keep the cores busy, the two threads hand batches to each
 * other through a scheduler that makes each wait for a time slice, and one thread doing
 * everything is several times faster. The measure: how long the calling thread waited
 * for a CPU (the run-queue delay of /proc/thread-self/schedstat) during a stretch of
 * work that kept two threads busy (the index pass).
 */
#ifndef MEMPROF_CORE_SHARE_H
#define MEMPROF_CORE_SHARE_H

#include <stdint.h>

struct mp_core_share {
	uint64_t start_ns;      /* CLOCK_MONOTONIC when the stretch began */
	uint64_t start_wait_ns; /* the thread's run-queue delay then; UINT64_MAX if unknown */
};

/* Begins a stretch of work on the calling thread. */
void mp_core_share_start(struct mp_core_share *share);

/* Whether the calling thread waited for a CPU less than a fifth of the time since
 * mp_core_share_start (1), or more (0). 1 when it cannot tell: no schedstat (a kernel
 * without CONFIG_SCHED_INFO), or a stretch under 5 ms, too short to mean anything. */
int mp_core_share_free(const struct mp_core_share *share);

#endif
