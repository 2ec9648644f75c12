/* memory.h: `memprof memory`: a trace's snapshots joined with its replayed heap.
 *
 * The glue between the reader, the snapshots (snapshot_read.h), the heap model replayed up to
 * each snapshot's time, and the computation (residency.h). The trace is analyzed once as
 * every command does (mp_analysis_run, for symbolization and the end state), then
 * rewound and replayed again, pausing at every snapshot: the timeline needs the live heap
 * at each, the chosen one its live blocks. The RSS watch's series (rss_series.h) is the
 * timeline's line and, with the snapshots' VmHWM, says where the RSS peak was.
 */
#ifndef MEMPROF_MEMORY_H
#define MEMPROF_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "residency.h"
#include "rss_series.h"
#include "snapshot_read.h"

enum mp_memory_pick {
	MP_PICK_DEFAULT,   /* the exit snapshot, else the last one */
	MP_PICK_EXIT,      /* the last snapshot taken at exit */
	MP_PICK_PEAK,      /* the one nearest the process's RSS peak: whose mappings hold the
			      most RSS, smaps' sum (the earliest of equals) */
	MP_PICK_HEAP_PEAK, /* the last one taken at a new heap peak */
	MP_PICK_INDEX,     /* the index'th in time order, 1-based */
};

/* One snapshot on the timeline. */
struct mp_memory_point {
	uint32_t reason;
	int complete;
	uint64_t time_ns;          /* since the trace started */
	uint64_t rss, virt;        /* VmRSS and VmSize, else the sums of smaps */
	uint64_t heap_live_bytes, heap_live_blocks; /* replayed at its time */
	uint64_t cost_ns;
	int has_access;            /* MEMPROF_SNAPSHOT_ACCESS measured its interval */
	uint64_t access_since_ns;  /* its start, since the trace started */
};

/* The process's RSS peak, and how far the selected snapshot is from it. */
struct mp_memory_peak {
	uint64_t hwm;              /* the highest VmHWM of the snapshots; 0: none recorded */
	size_t hwm_snapshot;       /* the snapshot that recorded it */
	int watched;               /* the RSS watch wrote a series */
	uint64_t watched_rss;      /* its highest sample */
	uint64_t watched_time_ns;  /* when, since the trace started */
	uint64_t snapshot_rss;     /* the selected snapshot's RSS, smaps' sum */
	size_t nearest;            /* the snapshot whose smaps sum the most RSS: --snapshot peak's */
};

struct mp_memory_report {
	struct mp_analysis analysis;
	struct mp_snapshot_table snapshots;
	struct mp_rss_series rss;   /* the RSS watch's series (may be empty) */
	uint64_t bad_records;       /* snapshot and RSS records that did not decode */
	size_t selected;            /* index into snapshots */
	struct mp_memory_point *timeline; /* one per snapshot, in time order */
	struct mp_memory_peak peak;
	struct mp_memory_result result;   /* of the selected snapshot */
};

/* Analyzes `path` and computes the report for the picked snapshot. Returns 0, or a
 * negative code with one line in err (the trace cannot be read, has no snapshot, or the
 * pick names none); *report is then empty. */
int mp_memory_report_run(const char *path, enum mp_memory_pick pick, size_t index,
			 struct mp_memory_report *report, char *err, size_t err_len);
/* The same, with `observer` (may be NULL) watching the replay's events (analyze.h), so
 * that a caller needing more of the replay than the snapshots (memprof html) replays once. */
int mp_memory_report_run_observed(const char *path, enum mp_memory_pick pick, size_t index,
				  const struct mp_analysis_observer *observer,
				  struct mp_memory_report *report, char *err, size_t err_len);
void mp_memory_report_destroy(struct mp_memory_report *report);

/* The selected snapshot. */
const struct mp_snapshot *mp_memory_snapshot(const struct mp_memory_report *report);
/* "exit", "heap-peak", "rss-peak", "interval", "signal" or "unknown". */
const char *mp_memory_reason_name(uint32_t reason);

#endif
