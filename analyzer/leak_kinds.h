/* leak_kinds.h: the leak classes libmemprof wrote at exit (LEAK_CLASS, LEAK_SUMMARY).
 *
 * The preload scans memory for pointers as the process exits and lists every block it
 * found allocated with memcheck's kind (trace_format.h). This reads those lists into one
 * sorted table, so each block the heap model still holds at the end of the trace can be
 * given its kind by address. A block the table does not list (allocated after the scan,
 * or a trace without a scan) has kind MP_LEAK_KIND_UNKNOWN.
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
	uint64_t *addrs;     /* sorted */
	uint8_t *kinds;      /* kinds[i] of addrs[i] */
	size_t count;
};

/* Reads the records of `trace` into *kinds (zeroed first). Records that do not decode
 * make the state NONE, as if there were none. Returns 0 or -ENOMEM. */
int mp_leak_kinds_load(struct mp_leak_kinds *kinds, const struct mp_trace *trace);
void mp_leak_kinds_free(struct mp_leak_kinds *kinds);
/* The kind of the block at addr: an MP_LEAK_KIND_* or MP_LEAK_KIND_UNKNOWN. */
unsigned mp_leak_kinds_lookup(const struct mp_leak_kinds *kinds, uint64_t addr);

/* "definite", "indirect", "possible", "reachable", "unknown". */
const char *mp_leak_kind_name(unsigned kind);
/* The bit set (1 << kind) named by a comma-separated list of kind names, or "all".
 * Returns 0 or -EINVAL. */
int mp_leak_kind_set_parse(const char *text, unsigned *set);

#endif
