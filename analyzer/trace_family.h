/* trace_family.h: the traces of one run as processes: who started whom, what exec'd into
 * what.
 *
 * A trace's header names its process (pid) and the parent (ppid) that process had when
 * its trace began. A fork child writes a trace of its own; an image started by exec
 * writes a new trace for the same pid (NAME.1.trace when its name is taken), beginning
 * after the old image's trace ended. From those alone the traces of a run form trees:
 * this works them out for `memprof run` and finds, for `memprof report`, the trace that
 * continues an exec'd one. Only headers are read (mp_trace_peek), never the events.
 */
#ifndef MEMPROF_TRACE_FAMILY_H
#define MEMPROF_TRACE_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "memprof/trace_format.h"

/* What a trace's header says about its process. */
struct mp_trace_peek {
	uint32_t pid, ppid;
	uint32_t end_state;         /* enum mp_end_state */
	int32_t end_status;
	uint64_t start_ns, end_ns;  /* CLOCK_MONOTONIC; end_ns 0 while running */
	char exe[256];              /* the executable's path, cut to fit */
};

/* Reads the header of the trace at `path` into *peek. Returns 0, or -errno (cannot
 * open or read it) or -EINVAL (not a memprof trace of this version). */
int mp_trace_peek(const char *path, struct mp_trace_peek *peek);

/* The same from a header already read (exe may be NULL). */
void mp_trace_peek_header(const struct mp_file_header *header, const char *exe,
			  struct mp_trace_peek *peek);

/* One trace of a family, and where it stands in it. */
struct mp_family_member {
	const char *path;
	struct mp_trace_peek peek;
	int parent;    /* index of the trace of the process that started this one, or -1 */
	int exec_of;   /* index of the image this one replaced by exec (same pid), or -1 */
	int exec_next; /* index of the image that replaced this one, or -1 */
	int depth;     /* 0 for a root; an exec'd image keeps its predecessor's depth */
};

/* Works out the family of peeks[0..count), in the same order: exec links first (same
 * pid, the later trace starting after the earlier one ended by exec), then parents (the
 * latest image of pid == ppid that started before this one). */
void mp_family_link(struct mp_family_member *members, size_t count);

/* The order in which to list linked members: each root (by start time), then, depth
 * first, the children its image started (by start time), then the image that replaced
 * it by exec, and so on: the order things happened in within each process. Writes count
 * indexes into order[] and sets each member's depth. Returns the number of roots (trees),
 * or -ENOMEM. */
int mp_family_order(struct mp_family_member *members, size_t count, int *order);

/* For an exec'd trace (end state exec), the path of the trace that continues it: among
 * the memprof traces in the same directory, the one of the same pid that started first
 * after this one ended. Returns 0 with the path in out, -ENOENT if there is none. */
int mp_trace_exec_successor(const char *path, const struct mp_trace_peek *peek, char *out,
			    size_t len);

#endif
