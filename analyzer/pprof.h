/* pprof.h: a trace's heap as a pprof profile (Google's profile.proto), ready to encode.
 *
 * The profile the Go toolchain, tcmalloc and jemalloc's jeprof speak, and what continuous
 * profilers (Pyroscope, Parca, Polar Signals, Datadog) store. Per allocation stack, the
 * sample types
 *
 *   alloc_objects/count, alloc_space/bytes    every allocation (of the window, with a
 *                                             baseline), as `memprof report` counts them
 *   resident_space/bytes, committed_space/bytes
 *                                             only when the trace has the memory snapshot
 *                                             asked for: `memprof memory`'s per-stack
 *                                             resident and committed bytes (heap blocks,
 *                                             mmap'd regions and brk growth) at it
 *   inuse_objects/count, inuse_space/bytes    heap blocks not freed at the end of the
 *                                             trace (`memprof leaks`' unfreed figures)
 *
 * in that order: a reader that takes the last type when the profile names none (pprof,
 * speedscope) shows inuse_space, as for Go's heap profiles. Sampled traces give the
 * reports' scaled estimates, and the profile's comments say so.
 *
 * Each location is one return address, at address - 1 (the call instruction, which is
 * what was symbolized and what pprof would look up itself), with its mapping (path,
 * build-id, addresses) and its lines: the inlined frames innermost first, then the
 * function they were inlined into, as profile.proto asks. Stacks are cut at the program's
 * entry as every command does (analyze.h). Functions are named as the reports name them
 * (demangled; "module+0xoffset" without a symbol), so the mappings say that functions,
 * files, lines and inline frames are resolved and pprof does not symbolize again.
 */
#ifndef MEMPROF_PPROF_H
#define MEMPROF_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"
#include "pprof_baseline.h"
#include "pprof_intern.h"

enum mp_pprof_type {
	MP_PPROF_ALLOC_OBJECTS,
	MP_PPROF_ALLOC_SPACE,
	MP_PPROF_RESIDENT_SPACE,
	MP_PPROF_COMMITTED_SPACE,
	MP_PPROF_INUSE_OBJECTS,
	MP_PPROF_INUSE_SPACE,
	MP_PPROF_TYPES
};

struct mp_pprof_sample {
	size_t first_location, location_count; /* location ids: location_ids[first ..] */
	int64_t values[MP_PPROF_TYPES];        /* by enum mp_pprof_type */
};

/* Ids are 1-based: entry i of each array below has id i + 1. */
struct mp_pprof_location {
	uint64_t mapping_id;      /* 0: the address is in no loaded object */
	uint64_t address;
	size_t first_line, line_count; /* lines[first ..], innermost first */
};

struct mp_pprof_line {
	uint64_t function_id;
	int64_t line;             /* 0 if unknown */
};

struct mp_pprof_function {
	int64_t name, system_name, filename; /* string indexes */
};

struct mp_pprof_mapping {
	uint64_t start, limit, offset;
	int64_t filename, build_id;          /* string indexes; build-id in hex */
};

#define MP_PPROF_MAX_COMMENTS 8

struct mp_pprof {
	struct mp_pprof_strings strings;
	enum mp_pprof_type types[MP_PPROF_TYPES]; /* the sample types present, in order */
	size_t type_count;
	struct mp_pprof_sample *samples;
	size_t sample_count, sample_cap;
	uint64_t *location_ids;
	size_t location_id_count, location_id_cap;
	struct mp_pprof_location *locations;
	size_t location_count, location_cap;
	struct mp_pprof_line *lines;
	size_t line_count, line_cap;
	struct mp_pprof_function *functions;
	size_t function_count, function_cap;
	struct mp_pprof_mapping *mappings;
	size_t mapping_count, mapping_cap;
	struct mp_pprof_index location_index, function_index, mapping_index;
	int64_t time_nanos;       /* wall clock at the start of what the profile covers */
	int64_t duration_nanos;
	int64_t period;           /* the sampling mean in bytes; 1 for an exact trace */
	int64_t comments[MP_PPROF_MAX_COMMENTS]; /* string indexes */
	size_t comment_count;
	/* Not encoded: facts for the callers. */
	char program[256];        /* the executable's file name, "" if the trace has none */
	uint32_t pid;
	int ended;                /* the process ended (exit, _exit or exec) */
	uint64_t end_monotonic_ns; /* where the profile stops, on the trace's clock */
};

/* The type's name and unit as profile.proto's ValueType spells them. */
const char *mp_pprof_type_name(enum mp_pprof_type type);
const char *mp_pprof_type_unit(enum mp_pprof_type type);

struct mp_pprof_options {
	enum mp_memory_pick pick;  /* the snapshot behind resident_space and committed_space */
	size_t index;              /* with MP_PICK_INDEX, 1-based */
	int pick_required;         /* 1: a trace without that snapshot is an error; 0: such a
				      trace gives a profile without the two types */
	int full_stacks;           /* keep the runtime's frames below main (--full-stacks) */
	/* A window of a trace still being written (memprof run --push), NULL for the whole
	 * trace: alloc_* are then what each stack allocated since the figures the baseline
	 * holds, which are set to those of now; the snapshot's types are given only for a
	 * snapshot taken in the window. */
	struct mp_pprof_baseline *baseline;
	uint64_t window_start_ns;  /* CLOCK_MONOTONIC; 0: the trace's start */
	uint64_t window_end_ns;    /* CLOCK_MONOTONIC, now; the trace's end once it ended */
};

/* Reads the trace at `path` and builds its profile into *profile. Returns 0, or a
 * negative code with one line in err (the trace cannot be read, the snapshot asked for
 * is not there, out of memory); *profile is then empty. A trace cut short gives a
 * profile of what could be read, and a comment says so. */
int mp_pprof_from_trace(const char *path, const struct mp_pprof_options *options,
			struct mp_pprof *profile, char *err, size_t err_len);

void mp_pprof_free(struct mp_pprof *profile);

/* The UNIX seconds the profile covers, for a server's from/until: the start rounded
 * down, the end rounded up. */
void mp_pprof_unix_span(const struct mp_pprof *profile, uint64_t *from, uint64_t *until);

#endif
