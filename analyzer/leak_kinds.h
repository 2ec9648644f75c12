/* leak_kinds.h: the leak checks libmemprof wrote (LEAK_CLASS, LEAK_SUMMARY).
 *
 * The preload scans memory for pointers as the process exits, as it dies of a signal it
 * does not handle, and on MEMPROF_LEAK_CHECK_SIGNAL; each check lists every block it
 * found allocated with memcheck's kind (trace_format.h). This reads one check's lists
 * into a sorted table, so each block can be given its kind by address. A block the table
 * does not list (allocated after the check, or a trace without one) has kind
 * MP_LEAK_KIND_UNKNOWN.
 */
#ifndef MEMPROF_LEAK_KINDS_H
#define MEMPROF_LEAK_KINDS_H

#include <stddef.h>
#include <stdint.h>

#include "trace_read.h"

/* Beyond trace_format.h's kinds: the analyzer's "no data for this block". */
#define MP_LEAK_KIND_UNKNOWN MP_LEAK_KIND_COUNT
#define MP_LEAK_KINDS (MP_LEAK_KIND_COUNT + 1)

enum mp_leak_scan_state {
	MP_LEAK_SCAN_NONE,   /* no summary: MEMPROF_LEAK_CHECK=0, no normal exit, older writer */
	MP_LEAK_SCAN_FAILED, /* the summary says the scan stopped (status) */
	MP_LEAK_SCAN_DONE,
};

struct mp_leak_kinds {
	enum mp_leak_scan_state state;
	uint32_t status;     /* the summary's errno when FAILED */
	uint64_t time_ns, scan_ns, blocks, root_bytes, block_bytes;
	uint32_t threads, flags;
	uint32_t reason;     /* enum mp_leak_check_reason */
	uint32_t signal;     /* the signal that asked for the check, or 0 */
	uint32_t stopped, not_stopped; /* other threads stopped for it, and left running */
	/* Blocks memcheck's heuristics alone kept reachable (MEMPROF_LEAK_HEURISTICS), and
	 * their bytes: 0 in a trace written before they were counted. */
	uint64_t heuristic_blocks, heuristic_bytes;
	size_t index;        /* the check's place in time order, from 1; 0 if none */
	size_t checks;       /* checks in the trace (with their summary) */
	uint64_t *addrs;     /* sorted */
	uint8_t *kinds;      /* kinds[i] of addrs[i] */
	size_t count;
};

/* Reads check number `index` (from 1, in time order; 0: the check at exit, else the
 * last one) of `trace` into *kinds (zeroed first). Records that do not decode make the
 * state NONE, as if there were none. Returns 0, -ENOMEM, or -ERANGE if the trace has
 * fewer checks than index (kinds->checks says how many). */
int mp_leak_kinds_load(struct mp_leak_kinds *kinds, const struct mp_trace *trace, size_t index);
/* "exit", "signal" or "fatal-signal". */
const char *mp_leak_check_reason_name(uint32_t reason);
void mp_leak_kinds_free(struct mp_leak_kinds *kinds);
/* The kind of the block at addr: an MP_LEAK_KIND_* or MP_LEAK_KIND_UNKNOWN. */
unsigned mp_leak_kinds_lookup(const struct mp_leak_kinds *kinds, uint64_t addr);

/* "definite", "indirect", "possible", "reachable", "unknown". */
const char *mp_leak_kind_name(unsigned kind);
/* The bit set (1 << kind) named by a comma-separated list of kind names, or "all".
 * Returns 0 or -EINVAL. */
int mp_leak_kind_set_parse(const char *text, unsigned *set);

#endif
