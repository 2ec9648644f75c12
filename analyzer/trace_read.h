/* trace_read.h: decoding a trace file into one time-ordered stream of events.
 *
 * The reader maps the file, validates the header, indexes chunks per thread, loads every
 * STACK and MODULE record up front (they are few), and then merges the threads' event
 * streams by time, so memory grows with threads and stacks, not with events. Realloc and
 * mremap records are delivered as one event carrying both times; callers that need strict
 * ordering of the release use time_before_ns.
 */
#ifndef MEMPROF_TRACE_READ_H
#define MEMPROF_TRACE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "memprof/trace_decode.h"
#include "memprof/trace_format.h"

struct mp_trace;

/* struct mp_event, one decoded event, is in memprof/trace_decode.h. */

struct mp_module {
	uint64_t start, end, load_bias;
	const char *path;         /* NUL-terminated, owned by the trace */
	const uint8_t *build_id;
	size_t build_id_len;
};

/* Opens and validates `path`. On failure returns a negative errno-style code and writes
 * one human-readable line (no trailing newline) into err. */
int mp_trace_open(const char *path, struct mp_trace **out, char *err, size_t err_len);
/* Same, for a trace already in memory (tests, fuzzing). `data` is not copied: it must stay
 * valid and unchanged until mp_trace_close. The message does not name the file. */
int mp_trace_open_memory(const void *data, size_t size, struct mp_trace **out, char *err,
			 size_t err_len);
void mp_trace_close(struct mp_trace *trace);

const struct mp_file_header *mp_trace_header(const struct mp_trace *trace);
/* The bytes of the file (or of the memory) the trace was opened from. */
size_t mp_trace_size(const struct mp_trace *trace);
const char *mp_trace_exe(const struct mp_trace *trace);
/* argv joined by NUL bytes; *len receives its length. */
const char *mp_trace_cmdline(const struct mp_trace *trace, size_t *len);

/* Next event in time order: returns 1 and fills *event, 0 at the end, or a negative code
 * with a message in err when a record is corrupt (events already returned stay valid). */
int mp_trace_next(struct mp_trace *trace, struct mp_event *event, char *err, size_t err_len);
/* Merge details: a realloc that released a block (old_addr != 0) and an mremap are placed
 * at time_before_ns, everything else at time_ns. At equal times releases (FREE, MUNMAP,
 * such realloc, MREMAP) come before the rest, then lower thread serials first. Records
 * that do not decode were cut off at open (see mp_trace_stats), so in practice this never
 * fails. MP_REC_BRK: old_addr is the old break, addr the new one, size 0. */

/* Up to `max` next events at once into events[]: the same events, in the same order, as
 * that many calls of mp_trace_next, decoded in place where they can be (cheaper by a copy
 * of each event). Returns how many; fewer than max only at the end of the events. */
size_t mp_trace_next_batch(struct mp_trace *trace, struct mp_event *events, size_t max);

/* Restarts mp_trace_next from the first event (for a second pass over the trace). */
void mp_trace_rewind(struct mp_trace *trace);

/* Canonical stacks: ids 1..mp_trace_stack_count(); identical frame lists recorded under
 * several raw ids share one canonical id. Frames are innermost first. */
uint32_t mp_trace_stack_count(const struct mp_trace *trace);
const uint64_t *mp_trace_stack(const struct mp_trace *trace, uint32_t id, uint32_t *frame_count,
			       uint32_t *generation);

/* The module containing `ip` in the map of `generation`, or NULL. */
const struct mp_module *mp_trace_module_at(const struct mp_trace *trace, uint32_t generation,
					   uint64_t ip);
/* The whole module map used for `generation` (its own, else the nearest lower generation
 * that has one), sorted by start; *count receives its length. NULL and 0 if none. */
const struct mp_module *mp_trace_modules(const struct mp_trace *trace, uint32_t generation,
					 size_t *count);

/* Facts for "incomplete" warnings: chunks whose records stopped early, dropped events,
 * threads seen. */
struct mp_trace_stats {
	uint32_t threads;
	uint32_t chunks;
	uint64_t dropped_events;
	uint32_t corrupt_chunks;
	/* Added after the first version of this interface: */
	uint64_t events;           /* event records in the trace (counted at open) */
	uint64_t undefined_stacks; /* events delivered since open/rewind whose stack id was
				      never defined; they got stack_id 0 */
	uint32_t unwritten_pages;  /* all-zero pages where a chunk header should be */
	uint32_t truncated;        /* 1 if the file ends inside a chunk */
	uint32_t header_truncated; /* 1 if the file ends inside its header (no chunk read) */
	uint32_t threads_ended;    /* threads whose last chunk says the thread ended
				      (MP_CHUNK_LAST) */
	uint32_t missing_chunks;   /* gaps: chunk numbers missing inside a thread */
	uint32_t numbered_chunks;  /* chunks with a file_seq (a writer that ends its trace
				      with MP_REC_END numbers them all), and the highest */
	uint32_t last_file_seq;
	uint32_t missing_serials;  /* thread serials below the highest with no chunk at all */
};
void mp_trace_stats(const struct mp_trace *trace, struct mp_trace_stats *stats);
/* How many heap blocks may be live at once, from the index pass (no event decoded): the
 * sum over threads of the most allocations a thread had made beyond its frees at any
 * point. A hint for sizing the live set, not a bound: frees of other threads' blocks make
 * it too high, frees of unknown blocks and realloc(NULL, n) too low. */
uint64_t mp_trace_live_hint(const struct mp_trace *trace);
/* 1 if thread `serial`'s last chunk in the file is flagged MP_CHUNK_LAST (the thread
 * ended), 0 if not, -1 if the trace has no chunk of that thread. */
int mp_trace_thread_ended(const struct mp_trace *trace, uint32_t serial);

/* What the header says in words, for messages that must give the true cause. */
/* Why recording stopped before the process ended ("the disk was full (No space left on
 * device)"), written into buf; "" if it did not. */
const char *mp_trace_stop_text(const struct mp_file_header *header, char *buf, size_t len);
/* Why a trace without LEAK_SUMMARY has no leak kinds: the first cause the header shows. */
const char *mp_trace_no_kinds_text(const struct mp_file_header *header);
/* Why a trace has no exit snapshot, likewise. */
const char *mp_trace_no_exit_snapshot_text(const struct mp_file_header *header);

/* An extended record other than STACK and MODULE (those the reader decodes itself). */
struct mp_ext_record {
	unsigned tag;
	uint32_t thread_serial;
	const uint8_t *body;  /* inside the trace's mapping; valid until mp_trace_close */
	size_t len;
};
/* Every such record, chunk by chunk in file order and in record order within a chunk
 * (the order of a thread's records is kept). *count receives how many. */
const struct mp_ext_record *mp_trace_ext_records(const struct mp_trace *trace, size_t *count);

/* The per-stack counts of sampled blocks freed within the sampling window (freed_samples.h);
 * empty unless the trace is sampled with a window. */
struct mp_freed_table;
const struct mp_freed_table *mp_trace_freed_samples(const struct mp_trace *trace);

/* The id events use for the writer's stack id raw_id (as extended records carry it), or
 * 0 if the trace never defined it. */
uint32_t mp_trace_stack_canonical(const struct mp_trace *trace, uint64_t raw_id);

/* The writer's set of live sampled blocks as it last stood (MP_CHUNK_SAMPLED_SET, only in
 * sampled traces with a window): *count entries, empty ones with addr 0; NULL if none.
 * The entries may be unaligned (a trace opened from memory): copy each with memcpy. */
const struct mp_sampled_set_entry *mp_trace_sampled_set(const struct mp_trace *trace,
							 size_t *count);

#endif
