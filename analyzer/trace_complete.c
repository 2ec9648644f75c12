/* trace_complete.c: the verdict "complete" or "incomplete, because ..." for one trace. */
#include <inttypes.h>
#include <stdio.h>

#include "memprof/varint.h"
#include "trace_complete.h"

/* What the records the process writes as it ends say about the end. */
struct complete_ends {
	int leak_summary;   /* a LEAK_SUMMARY: the leak check finished */
	int leak_classes;   /* LEAK_CLASS records, which a summary must follow */
	int exit_snapshot;  /* an exit SNAPSHOT whose SNAPSHOT_END arrived */
	uint64_t extent;    /* the most of the trace file any snapshot saw mapped */
	uint64_t threads;   /* threads alive at the exit snapshot (Threads:); 0 if unknown */
	uint32_t exiting;   /* serial of the thread that wrote the exit snapshot */
	int end;            /* an END record: the process's last */
	uint64_t end_chunks; /* the most chunks an END counted */
};

/* The exit snapshot's thread count ("u seq, u reason, u time, u page_size, u count, then
 * (u key, u value) pairs"), or 0 if it has none. */
static uint64_t complete_exit_threads(const struct mp_ext_record *record)
{
	const uint8_t *p = record->body, *end = record->body + record->len;
	uint64_t field, count, key, value;

	for (int i = 0; i < 4; i++)
		if (mp_get_u(&p, end, &field))
			return 0;
	if (mp_get_u(&p, end, &count))
		return 0;
	for (uint64_t i = 0; i < count; i++) {
		if (mp_get_u(&p, end, &key) || mp_get_u(&p, end, &value))
			return 0;
		if (key == MP_SNAPK_THREADS)
			return value;
	}
	return 0;
}

/* The end of the trace file's part that a MAPPING record shows mapped (a chunk or the
 * header, shared, kind memprof, its path the trace's), or 0 for any other mapping:
 * "u seq, u start, u length, u perms, u file_offset, u kind, string path, ...". The file
 * only grows, so a file shorter than that was cut. */
static uint64_t complete_file_extent(const struct mp_ext_record *record)
{
	const uint8_t *p = record->body, *end = record->body + record->len;
	uint64_t seq, start, length, perms, offset, kind, path_len;

	if (mp_get_u(&p, end, &seq) || mp_get_u(&p, end, &start) || mp_get_u(&p, end, &length) ||
	    mp_get_u(&p, end, &perms) || mp_get_u(&p, end, &offset) || mp_get_u(&p, end, &kind) ||
	    mp_get_u(&p, end, &path_len) || path_len == 0 || path_len > (uint64_t)(end - p))
		return 0;
	if (kind != MP_MAPK_MEMPROF || !(perms & MP_PERM_SHARED) || p[0] != '/')
		return 0;
	return offset + length;
}

/* The seq of an exit snapshot ("u seq, u reason, ..."), or 0 for any other record. */
static uint64_t complete_exit_seq(const struct mp_ext_record *record)
{
	const uint8_t *p = record->body, *end = record->body + record->len;
	uint64_t seq, reason;

	if (mp_get_u(&p, end, &seq) || mp_get_u(&p, end, &reason) || reason != MP_SNAP_EXIT)
		return 0;
	return seq;
}

static void complete_scan(const struct mp_trace *trace, struct complete_ends *ends)
{
	uint32_t end_state = mp_trace_header(trace)->end_state;
	size_t count;
	const struct mp_ext_record *records = mp_trace_ext_records(trace, &count);
	uint64_t exit_seq = 0;

	*ends = (struct complete_ends){ 0 };
	for (size_t i = 0; i < count; i++) {
		const uint8_t *p = records[i].body, *end = p + records[i].len;
		uint64_t seq, extent;
		switch (records[i].tag) {
		case MP_REC_LEAK_SUMMARY:
			ends->leak_summary = 1;
			break;
		case MP_REC_LEAK_CLASS:
			ends->leak_classes = 1;
			break;
		case MP_REC_SNAPSHOT:
			seq = complete_exit_seq(&records[i]);
			if (!seq)
				break;
			exit_seq = seq;
			ends->threads = complete_exit_threads(&records[i]);
			ends->exiting = records[i].thread_serial;
			break;
		case MP_REC_MAPPING:
			extent = complete_file_extent(&records[i]);
			ends->extent = extent > ends->extent ? extent : ends->extent;
			break;
		case MP_REC_SNAPSHOT_END:
			if (exit_seq && !mp_get_u(&p, end, &seq) && seq == exit_seq)
				ends->exit_snapshot = 1;
			break;
		case MP_REC_END:
			/* A failed exec leaves one behind, and recording goes on: only an END
			 * of the end the header says counts. */
			if (!mp_get_u(&p, end, &seq) && seq == end_state &&
			    !mp_get_u(&p, end, &extent)) {
				ends->end = 1;
				ends->end_chunks = extent > ends->end_chunks ? extent : ends->end_chunks;
			}
			break;
		}
	}
}

/* A thread's last chunk is flagged when the thread ends, so the threads whose last chunk
 * in the file is not flagged were alive at exit, or lost their last chunk to a cut: more
 * of them than the exit snapshot counted alive means a cut. The main thread's chunks are
 * never flagged (its first chunk comes before libmemprof can arm the flag), which is only
 * right while it lives: when another thread called exit, main may have left by
 * pthread_exit, so it is not counted then. */
static int complete_threads_accounted(const struct mp_trace *trace,
				      const struct mp_trace_stats *stats,
				      const struct complete_ends *ends, char *reason, size_t len)
{
	uint32_t unflagged = stats->threads - stats->threads_ended;

	if (!ends->exit_snapshot || !ends->threads)
		return 1;
	if (ends->exiting != 1 && mp_trace_thread_ended(trace, 1) == 0)
		unflagged--;
	if (unflagged <= ends->threads)
		return 1;
	snprintf(reason, len, "threads' last chunks are missing: %" PRIu32 " threads did not "
		 "end in the file, and the exit snapshot counted %" PRIu64 " alive", unflagged,
		 ends->threads);
	return 0;
}

/* A trace whose writer numbers its chunks ends with an END record that counts them: the
 * END proves that every record the end wrote is there (they come before it), and a count
 * above what the file holds proves a cut after the END's chunk. */
static int complete_end_counted(const struct mp_trace_stats *stats,
				const struct complete_ends *ends, char *reason, size_t len)
{
	if (!ends->end) {
		snprintf(reason, len, "no end record: the process ended, but its last record is not "
				      "in the trace (cut short)");
		return 0;
	}
	if (stats->numbered_chunks < ends->end_chunks || stats->last_file_seq < ends->end_chunks) {
		snprintf(reason, len, "the file is cut short: the process ended with %" PRIu64
			 " chunks, %" PRIu32 " are in the file", ends->end_chunks,
			 stats->numbered_chunks);
		return 0;
	}
	return 1;
}

/* Whether the records the end state promises are there; else the reason. */
static int complete_end_records(const struct mp_trace *trace, const struct mp_trace_stats *stats,
				char *reason, size_t len)
{
	uint32_t end_state = mp_trace_header(trace)->end_state;
	struct complete_ends ends;

	complete_scan(trace, &ends);
	if (stats->numbered_chunks) {
		if (!complete_end_counted(stats, &ends, reason, len))
			return 0;
		if (ends.leak_classes && !ends.leak_summary) {
			snprintf(reason, len, "the leak check's records stop before its summary");
			return 0;
		}
		return 1;
	}
	/* An older writer's trace: what the end records that are there can prove. */
	if (ends.extent > mp_trace_size(trace)) {
		snprintf(reason, len, "the file is cut short: %zu bytes, where a snapshot saw %"
			 PRIu64 " mapped", mp_trace_size(trace), ends.extent);
		return 0;
	}
	if (!complete_threads_accounted(trace, stats, &ends, reason, len))
		return 0;
	if (end_state == MP_END_EXIT && ends.leak_classes && !ends.leak_summary) {
		snprintf(reason, len, "the leak check's records stop before its summary");
		return 0;
	}
	if (end_state == MP_END_EXIT && !ends.leak_summary && !ends.exit_snapshot) {
		snprintf(reason, len, "no end record: neither the exit snapshot nor the leak "
				      "check's summary is in the trace (cut short, or both turned off)");
		return 0;
	}
	if (end_state == MP_END_EXIT_NOW && !ends.exit_snapshot) {
		snprintf(reason, len, "no end record: the exit snapshot is not in the trace (cut "
				      "short, or MEMPROF_SNAPSHOT_EXIT=0)");
		return 0;
	}
	if (end_state == MP_END_EXEC && stats->chunks == 0) {
		snprintf(reason, len, "no records after the header");
		return 0;
	}
	return 1;
}

int mp_trace_complete(const struct mp_trace *trace, char *reason, size_t len)
{
	const struct mp_file_header *header = mp_trace_header(trace);
	struct mp_trace_stats stats;

	mp_trace_stats(trace, &stats);
	if (stats.header_truncated) {
		snprintf(reason, len, "the file ends inside its header, before any record");
		return 0;
	}
	/* A cut chunk also counts as corrupt when the cut splits a record: name the cut. */
	if (stats.truncated) {
		snprintf(reason, len, "the file ends inside a chunk");
		return 0;
	}
	/* A thread takes its serial at its first event, before its first chunk is made: one
	 * that the process's end killed in between leaves its number unused (a program that
	 * exits while its threads start, one run in about fifteen). Where chunks are numbered,
	 * the END's count says whether any chunk is missing (complete_end_counted); without
	 * it, a missing serial may be a thread's chunks cut out. */
	uint32_t missing = stats.missing_chunks + (stats.numbered_chunks ? 0 : stats.missing_serials);
	if (missing) {
		snprintf(reason, len, "%" PRIu32 " %s missing from the file", missing,
			 missing == 1 ? "chunk is" : "chunks are");
		return 0;
	}
	if (stats.corrupt_chunks) {
		snprintf(reason, len, "%" PRIu32 " corrupt %s, read up to the damage",
			 stats.corrupt_chunks, stats.corrupt_chunks == 1 ? "chunk" : "chunks");
		return 0;
	}
	if (header->end_state != MP_END_EXIT && header->end_state != MP_END_EXIT_NOW &&
	    header->end_state != MP_END_EXEC && header->end_state != MP_END_SIGNAL) {
		snprintf(reason, len, "the process did not end (killed, crashed or still running), "
				      "so the trace has no end");
		return 0;
	}
	return complete_end_records(trace, &stats, reason, len);
}
