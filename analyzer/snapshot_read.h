/* snapshot_read.h: the memory snapshots of a trace, decoded (records 66-69 of trace_format.h).
 *
 * mp_snapshots_load decodes them from the extended records the reader keeps
 * (mp_trace_ext_records). Input is never trusted: a record that does not decode is
 * skipped and counted, and memory grows at most with the bytes of the records.
 */
#ifndef MEMPROF_SNAPSHOT_READ_H
#define MEMPROF_SNAPSHOT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "memprof/trace_format.h"

#define MP_SNAP_CONTEXT_KEYS 32 /* above the largest enum mp_snapshot_key */
#define MP_SNAP_SMAPS_KEYS 16   /* above the largest enum mp_smaps_key */

/* A part of a mapping, [start, end). */
struct mp_snap_range {
	uint64_t start, end;
};

/* `pages` pages in one state from start: [start, end). */
struct mp_snap_run {
	uint64_t start, end;
	uint32_t state; /* enum mp_page_state */
};

struct mp_snap_mapping {
	uint64_t start, end, offset;
	uint32_t perms;   /* MP_PERM_* */
	uint32_t kind;    /* enum mp_mapping_kind */
	char *path;       /* NUL-terminated; "" for anonymous memory */
	uint64_t figures[MP_SNAP_SMAPS_KEYS]; /* bytes by enum mp_smaps_key; 0 if absent */
	size_t own_first, own_count; /* libmemprof's parts: own[own_first ..] */
};

struct mp_snapshot {
	uint32_t seq;
	uint32_t reason;       /* enum mp_snapshot_reason */
	uint64_t time_ns;      /* CLOCK_MONOTONIC when it started */
	uint64_t end_time_ns;  /* 0 if SNAPSHOT_END is missing */
	uint64_t cost_ns;      /* the writer's CPU time for it */
	uint64_t page_size;
	int begun;             /* its SNAPSHOT record was seen */
	int complete;          /* ...and its SNAPSHOT_END */
	int smaps_errno;       /* smaps could not be read (no mappings): why; 0 if it was */
	uint64_t context[MP_SNAP_CONTEXT_KEYS]; /* by enum mp_snapshot_key */
	uint32_t context_known;                 /* bit k: context[k] was recorded */
	struct mp_snap_mapping *mappings;       /* sorted by start after finish */
	size_t mapping_count, mapping_cap;
	struct mp_snap_range *own;              /* in mapping order of arrival */
	size_t own_count, own_cap;
	struct mp_snap_run *runs;               /* sorted by start, disjoint after finish */
	size_t run_count, run_cap;
};

struct mp_snapshot_table {
	struct mp_snapshot *items; /* sorted by time after finish */
	size_t count, cap;
};

struct mp_trace;
/* Decodes every snapshot of the trace into *table (sorted by time; those whose SNAPSHOT
 * record was lost are left out, those without SNAPSHOT_END have complete = 0). Records
 * that do not decode are counted in *bad_records. 0 or -ENOMEM (table then empty). */
int mp_snapshots_load(struct mp_snapshot_table *table, const struct mp_trace *trace,
		      uint64_t *bad_records);

/* Decodes one record with tag MP_REC_SNAPSHOT .. MP_REC_SNAPSHOT_END. 0, -EINVAL (the
 * record does not decode; nothing was added) or -ENOMEM. */
int mp_snapshots_add(struct mp_snapshot_table *table, unsigned tag, const uint8_t *body,
		     const uint8_t *end);
/* Sorts snapshots by time, their mappings and runs by address, and drops snapshots whose
 * SNAPSHOT record never came. 0. */
int mp_snapshots_finish(struct mp_snapshot_table *table);
void mp_snapshots_free(struct mp_snapshot_table *table);

/* 1 and *value if the snapshot recorded context key `key`. */
int mp_snapshot_context(const struct mp_snapshot *snapshot, enum mp_snapshot_key key,
			uint64_t *value);

#endif
