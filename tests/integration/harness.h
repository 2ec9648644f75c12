/* harness.h: running test programs under libmemprof.so and summarizing their traces. */
#ifndef MEMPROF_TEST_HARNESS_H
#define MEMPROF_TEST_HARNESS_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_read.h"

#define HARNESS_MAX_TRACES 32

struct harness_run {
	int status;            /* as from waitpid */
	char dir[PATH_MAX];    /* fresh directory the program ran in; traces land here */
	int trace_count;
	char traces[HARNESS_MAX_TRACES][PATH_MAX]; /* sorted by name */
	char stderr_text[8192];
	char stdout_text[8192];
};

/* What one requested size did over the whole trace. */
struct harness_size {
	uint64_t size;
	uint64_t allocations;  /* successful malloc-family calls (realloc's new block too) */
	uint64_t frees;        /* blocks of this size released (free, realloc move, realloc 0) */
	uint64_t live;         /* blocks of this size still allocated at the end */
	uint32_t thread_serial;/* serial of the thread that made the first allocation */
	int several_threads;   /* allocations came from more than one thread */
	uint32_t first_stack;  /* stack id of the first allocation */
};

struct harness_summary {
	const struct mp_file_header *header; /* valid until harness_summary_free */
	struct mp_trace *trace;
	uint64_t tag_counts[MP_REC_EXTENDED];
	uint64_t events;
	uint32_t threads;
	struct harness_size *sizes; /* open addressing, capacity HARNESS_SIZE_SLOTS */
	struct mp_event *kept;      /* the realloc/mmap-family events, in order */
	int kept_count;
	uint64_t unknown_frees;
};

/* Runs $MEMPROF_BUILD/tests/progs/<prog> args... with the preload and MEMPROF_OUTPUT in a
 * fresh directory, extra_env entries ("NAME=value") added. Returns 0 or -1. */
int harness_run(const char *prog, const char *const *args, const char *const *extra_env,
		struct harness_run *run);
/* harness_run for a program that must exit 0 and write exactly one trace (the test fails
 * otherwise, showing its status and stderr); the trace's path goes to trace. */
void harness_run_one_trace(const char *prog, const char *const *args,
			   const char *const *extra_env, char trace[PATH_MAX]);
/* Decodes the whole trace; 0 or -1 (message on stderr). */
int harness_summarize(const char *path, struct harness_summary *summary);
void harness_summary_free(struct harness_summary *summary);
/* The entry for a requested size (all zero if never seen). */
struct harness_size harness_size(const struct harness_summary *summary, uint64_t size);
const char *harness_build_dir(void);
/* The absolute path of a built test program or library: BUILD/tests/progs/NAME. */
void harness_prog_path(const char *name, char *out, size_t len);
/* Runs `BUILD/memprof ARGS` (ARGS as shell words; stderr is left alone) and returns its
 * exit code; *out receives its stdout, NUL-terminated, freed by the caller. Fails the
 * test if it does not exit normally. */
int harness_memprof(const char *args, char **out);
/* The same, parsed as one JSON document; fails the test unless the command exits with
 * expected_code and prints JSON. */
json_t *harness_memprof_json(const char *args, int expected_code);

#endif
