/* snapshot.h: memory snapshots (snapshot.c, with snapshot_context.c, snapshot_thread.c,
 * smaps.c and pagemap.c doing the reading), a feature. */
#ifndef MEMPROF_PRELOAD_SNAPSHOT_H
#define MEMPROF_PRELOAD_SNAPSHOT_H

#include "writer.h"

/* Writes a snapshot of the process's memory into the calling thread's chunk. The exit
 * snapshot waits for one in progress; the others are skipped if one is. Never fails
 * loudly: what cannot be read is left out. Call with the thread's busy flag clear. */
void mp_snapshot_take(enum mp_snapshot_reason reason);
/* The snapshot of a process a signal it does not handle is ending, from that signal's
 * handler, before its leak check stops the other threads: the exit snapshot's (the
 * trace's last, unless MEMPROF_SNAPSHOT_EXIT=0), but only where it is safe: this thread
 * not inside memprof, holding none of its locks, on its own stack with room to spare
 * (not on a small alternate stack, where a stack overflow's handler runs), and the
 * snapshot lock free. */
void mp_snapshot_fatal(void);
/* The program mapped a file (record.c): snapshots read the residency of file mappings
 * from now on, since one of them is the program's. */
void mp_snapshot_file_mapped(void);
/* From the constructor: snapshots are taken for this process (not a vfork child). */
void mp_snapshot_start(void);
/* In a fork child: the lock may have been held by a thread that is gone. */
void mp_snapshot_after_fork_child(void);
/* A peak snapshot from inside the recorder (thread busy), heap_bytes being the live-heap
 * estimate that triggered it; skipped if another snapshot is under way. */
void mp_snapshot_peak(struct mp_thread *thread, uint64_t heap_bytes);

/* An rss-peak snapshot from memprof's thread (busy): the RSS watch saw `rss` bytes, a
 * new high, at seen_ns. None if another snapshot is in progress or was taken since
 * seen_ns (a heap-peak one, most often: the process at that RSS already). Returns
 * whether it was taken. */
int mp_snapshot_rss_peak(struct mp_thread *thread, uint64_t rss, uint64_t seen_ns);
/* 1 once the process is exiting (its exit snapshot taken, or due with
 * MEMPROF_SNAPSHOT_EXIT=0): no snapshot comes after it. */
int mp_snapshot_ended(void);
/* The last snapshot taken, for any reason: when (0: none yet), the RSS it found (smaps'
 * sum) and the CPU time it took. The RSS watch spaces its snapshots from it: a heap-peak
 * snapshot a moment ago shows the process at that RSS already. */
struct mp_snapshot_last {
	uint64_t time_ns, rss, cost_ns;
};
void mp_snapshot_last(struct mp_snapshot_last *out);

/* Takes a snapshot on a thread that is busy already (inside the recorder, or our snapshot
 * thread): skipped if recording is off or this is not the trace's process (a vfork
 * child); `wait` for a snapshot in progress (exit) or skip (the others). */
void mp_snapshot_take_busy(struct mp_thread *thread, enum mp_snapshot_reason reason, int wait);

/* --- snapshot_context.c: the process context of a snapshot --- */
#define MP_SNAPSHOT_CONTEXT_MAX 32
struct mp_snapshot_context {
	uint64_t keys[MP_SNAPSHOT_CONTEXT_MAX];   /* enum mp_snapshot_key */
	uint64_t values[MP_SNAPSHOT_CONTEXT_MAX];
	uint32_t count;
};
/* Reads what can be read of the context into list, with buf (cap bytes) as scratch. */
void mp_snapshot_context_read(struct mp_snapshot_context *list, char *buf, size_t cap);

/* --- snapshot_thread.c: memprof's thread: the RSS watch, interval and signal snapshots --- */
/* Starts the thread if MEMPROF_SNAPSHOT_MS or MEMPROF_SNAPSHOT_SIGNAL asks for it, or to
 * keep the RSS watch where the leak thread does not (from the constructor, once libc
 * works, after the leak thread). A sampled run with only the watch to do defers it. */
void mp_snapshot_thread_start(void);
/* Set while the thread waits for the first sampled allocation, which calls
 * mp_snapshot_thread_start_deferred (busy, holding no lock of memprof's). */
extern int mp_snapshot_thread_deferred;
void mp_snapshot_thread_start_deferred(void);
/* In a fork child: the thread did not survive; the RSS watch's starts again. */
void mp_snapshot_thread_after_fork_child(void);
/* The process is ending (exit, _exit): tells the thread to leave now, without waiting.
 * The process's end waits for every thread to be gone, and a thread killed only then must
 * first get a CPU: on a loaded machine that wait made a short program milliseconds
 * slower; leaving now, it is gone while the exit snapshot and the leak check run. */
void mp_snapshot_thread_stop(void);
/* Asks the running thread to end for a while (recording_alone.c): 1 if it was running.
 * It keeps its RSS watch for mp_snapshot_thread_resume, which starts it again. */
int mp_snapshot_thread_pause(void);
/* 1 while the thread runs and was not asked to end. */
int mp_snapshot_thread_running(void);
void mp_snapshot_thread_resume(void);

/* --- rss_watch.c: the RSS series and rss-peak snapshots --- */
/* One look at RSS from memprof's thread (busy), now_ns being mp_clock_now_ns(): reads
 * statm, writes an RSS record when the figures moved, takes an rss-peak snapshot at a
 * new high. Does nothing before the trace exists or after the exit snapshot. */
void mp_rss_watch_tick(struct mp_thread *thread, uint64_t now_ns);
/* In a fork child: the series and the highs start again, in the child's trace, and no
 * thread watches until one claims it. */
void mp_rss_watch_after_fork_child(void);
/* One of memprof's threads takes the watch: 1 if the caller now has it (it was nobody's),
 * 0 if another thread has it. */
int mp_rss_watch_claim(void);
/* No more ticks: the process is exiting (its exit snapshot comes next). */
void mp_rss_watch_stop(void);

#endif
