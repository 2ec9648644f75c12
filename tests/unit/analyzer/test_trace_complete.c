/* test_trace_complete.c: which traces are complete, and the reason given for the others:
 * the end state, the end records each end writes, and files cut anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "memprof/varint.h"
#include "trace_builder.h"
#include "trace_complete.h"

/* The builder's trace, cut to `len` bytes (all of it if len is 0), opened from memory:
 * 1 if complete, else 0 with the reason in reason[]. */
static int verdict(struct mp_tb *tb, size_t len, char *reason, size_t reason_len)
{
	uint8_t *bytes;
	size_t size;
	struct mp_trace *trace;
	char err[256];
	assert_int_equal(mp_tb_bytes(tb, &bytes, &size), 0);
	assert_true(len <= size);
	assert_int_equal(mp_trace_open_memory(bytes, len ? len : size, &trace, err, sizeof(err)), 0);
	reason[0] = '\0';
	int complete = mp_trace_complete(trace, reason, reason_len);
	mp_trace_close(trace);
	free(bytes);
	return complete;
}

/* A process that allocated, then ended as `end_state` says. */
static struct mp_tb *process(uint32_t end_state)
{
	struct mp_tb *tb = mp_tb_new();
	mp_tb_header(tb)->end_state = end_state;
	mp_tb_malloc(tb, 1, 1000, 0x1000, 64, 0);
	mp_tb_free(tb, 1, 1100, 0x1000);
	return tb;
}

static void exit_with_the_leak_checks_summary_is_complete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_EXIT);
	const uint64_t addrs[] = { 0x2000 };
	const unsigned kinds[] = { MP_LEAK_KIND_DEFINITE };
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1200, 0, 1);
	mp_tb_leak_class(tb, 1, addrs, kinds, 1);
	mp_tb_leak_summary(tb, 1, 0, 0);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "");
	mp_tb_destroy(tb);
}

/* MEMPROF_LEAK_CHECK=0: the exit snapshot is the last record. */
static void exit_with_only_the_exit_snapshot_is_complete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_EXIT);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1200, 0, 1);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	mp_tb_destroy(tb);
}

static void exit_without_end_records_is_incomplete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_EXIT);
	/* A peak snapshot is not an end record, nor is an exit snapshot left unfinished. */
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_PEAK, 1050, 0, 1);
	mp_tb_snapshot(tb, 1, 2, MP_SNAP_EXIT, 1200, 0, 0);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "no end record: neither the exit snapshot nor the leak "
				    "check's summary is in the trace (cut short, or both turned off)");
	mp_tb_destroy(tb);
}

static void leak_classes_without_their_summary_are_incomplete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_EXIT);
	const uint64_t addrs[] = { 0x2000, 0x3000 };
	const unsigned kinds[] = { MP_LEAK_KIND_DEFINITE, MP_LEAK_KIND_REACHABLE };
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1200, 0, 1);
	mp_tb_leak_class(tb, 1, addrs, kinds, 2);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the leak check's records stop before its summary");
	mp_tb_destroy(tb);
}

static void underscore_exit_needs_its_exit_snapshot(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_EXIT_NOW);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "no end record: the exit snapshot is not in the trace (cut "
				    "short, or MEMPROF_SNAPSHOT_EXIT=0)");
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1200, 0, 1);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	mp_tb_destroy(tb);
}

/* exec writes no end record: a trace with records is complete, one without is not. */
static void exec_needs_a_chunk(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_EXEC);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	mp_tb_destroy(tb);
	tb = mp_tb_new();
	mp_tb_header(tb)->end_state = MP_END_EXEC;
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "no records after the header");
	mp_tb_destroy(tb);
}

static void a_process_that_did_not_end_is_incomplete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = process(MP_END_RUNNING);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1200, 0, 1);
	mp_tb_leak_summary(tb, 1, 0, 0);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the process did not end (killed, crashed or still "
				    "running), so the trace has no end");
	mp_tb_destroy(tb);
}

/* Two threads: the exiting thread's last chunk is not the file's last. The exit snapshot
 * saw the other thread's chunk mapped, so cutting it off is seen too. */
static void a_cut_after_the_exiting_threads_last_chunk_is_seen(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = mp_tb_new();
	mp_tb_set_chunk_capacity(tb, 4096);
	for (uint64_t i = 0; i < 3000; i++)
		mp_tb_malloc(tb, 1 + i % 2, 1000 + i, 0x10000 + 64 * i, 64, 0);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 5000, 0, 0);
	uint8_t *bytes;
	size_t size, size_after;
	assert_int_equal(mp_tb_bytes(tb, &bytes, &size), 0);
	free(bytes);
	size_t last_of_thread_1 = mp_tb_chunk_offset(tb, 1, 2), last = mp_tb_chunk_offset(tb, 2, 2);
	assert_true(last_of_thread_1 < last && last + 4096 == size);
	mp_tb_mapping(tb, 1, 1, 0x7f0000000000, 4096, MP_PERM_READ | MP_PERM_WRITE | MP_PERM_SHARED,
		      last, MP_MAPK_MEMPROF, "/tmp/memprof.prog.1.trace");
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 5000, 0, 1);
	mp_tb_leak_summary(tb, 1, 0, 0);
	assert_int_equal(mp_tb_bytes(tb, &bytes, &size_after), 0);
	free(bytes);
	assert_int_equal(size_after, size); /* the end records fit in thread 1's chunk */
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	assert_int_equal(verdict(tb, last, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the file is cut short: 24576 bytes, where a snapshot saw "
				    "28672 mapped");
	mp_tb_destroy(tb);
}

/* Threads 2 and 3 ended before exit: their last chunks are flagged. Without thread 3's
 * last chunk, two threads (main and 3) did not end in the file, and the exit snapshot
 * counted one alive. A chunk lost inside a thread's sequence is seen too. */
static void threads_that_ended_account_for_their_chunks(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 1000, 0x1000, 64, 0);
	for (uint32_t serial = 2; serial <= 3; serial++) {
		mp_tb_malloc(tb, serial, 1100, 0x2000 * serial, 64, 0);
		mp_tb_new_chunk(tb, serial, 1200);
	}
	for (uint32_t serial = 2; serial <= 3; serial++) {
		mp_tb_free(tb, serial, 1300, 0x2000 * serial);
		mp_tb_set_chunk_flags(tb, serial, MP_CHUNK_LAST);
	}
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1400, 1, 1);
	mp_tb_leak_summary(tb, 1, 0, 0);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	assert_int_equal(verdict(tb, mp_tb_chunk_offset(tb, 3, 1), reason, sizeof(reason)), 0);
	assert_string_equal(reason, "threads' last chunks are missing: 2 threads did not end "
				    "in the file, and the exit snapshot counted 1 alive");

	uint8_t *bytes;
	size_t size;
	struct mp_trace *trace;
	char err[256];
	assert_int_equal(mp_tb_bytes(tb, &bytes, &size), 0);
	memset(bytes + mp_tb_chunk_offset(tb, 2, 0), 0, 4096); /* an unwritten chunk */
	assert_int_equal(mp_trace_open_memory(bytes, size, &trace, err, sizeof(err)), 0);
	assert_int_equal(mp_trace_complete(trace, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "1 chunk is missing from the file");
	mp_trace_close(trace);
	free(bytes);
	mp_tb_destroy(tb);
}

/* One thread: every cut, on a page boundary or not, inside the header or past it, is
 * incomplete, though the header still says the process exited; the whole file is
 * complete. */
static void every_cut_of_an_exited_trace_is_incomplete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = mp_tb_new();
	for (uint64_t i = 0; i < 4000; i++)
		mp_tb_malloc(tb, 1, 1000 + i, 0x10000 + 64 * i, 64, 0);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 5000, 0, 1);
	mp_tb_leak_summary(tb, 1, 0, 0);
	uint8_t *bytes;
	size_t size;
	assert_int_equal(mp_tb_bytes(tb, &bytes, &size), 0);
	free(bytes);
	assert_true(size >= 4 * 4096);
	size_t cuts = 0;
	for (size_t len = sizeof(struct mp_file_header); len < size; len += 1000, cuts++) {
		if (verdict(tb, len, reason, sizeof(reason)))
			fail_msg("a cut at %zu of %zu bytes reads as complete", len, size);
		assert_true(reason[0] != '\0');
	}
	for (size_t len = 4096; len < size; len += 4096, cuts++) {
		if (verdict(tb, len, reason, sizeof(reason)))
			fail_msg("a cut at %zu of %zu bytes reads as complete", len, size);
	}
	assert_true(cuts > 20);
	assert_int_equal(verdict(tb, 1000, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the file ends inside its header, before any record");
	assert_int_equal(verdict(tb, 4096 + 100, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the file ends inside a chunk");
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	mp_tb_destroy(tb);
}

/* The END record (MP_REC_END): how many chunks the file had as the process ended. */
static void end_record(struct mp_tb *tb, uint32_t serial, uint32_t end_state, uint64_t chunks)
{
	uint8_t body[2 * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, end_state);
	at = mp_put_u(at, chunks);
	mp_tb_extended(tb, serial, MP_REC_END, body, (size_t)(at - body));
}

/* Main starts two workers, which allocate and end, then exits with neither the leak check
 * nor the exit snapshot: the END record alone proves the end. Cut right after main's first
 * chunk (the workers' chunks all come after it) the file still holds main's END, which
 * counts the chunks that are gone; cut before the END, it has none. Older traces (chunks
 * not numbered) could see neither. */
static void the_end_record_counts_the_chunks(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = mp_tb_new();
	mp_tb_number_chunks(tb);
	mp_tb_header(tb)->end_state = MP_END_EXIT;
	mp_tb_malloc(tb, 1, 1000, 0x1000, 64, 0);
	for (uint32_t serial = 2; serial <= 3; serial++) {
		mp_tb_malloc(tb, serial, 1100, 0x2000 * serial, 64, 0);
		mp_tb_new_chunk(tb, serial, 1200);
		mp_tb_free(tb, serial, 1300, 0x2000 * serial);
		mp_tb_set_chunk_flags(tb, serial, MP_CHUNK_LAST);
	}
	mp_tb_free(tb, 1, 1400, 0x1000);
	end_record(tb, 1, MP_END_EXIT, mp_tb_chunks(tb));
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "");
	assert_int_equal(verdict(tb, mp_tb_chunk_offset(tb, 2, 0), reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the file is cut short: the process ended with 5 chunks, 1 "
				    "are in the file");
	assert_int_equal(verdict(tb, mp_tb_chunk_offset(tb, 3, 1), reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the file is cut short: the process ended with 5 chunks, 4 "
				    "are in the file");
	mp_tb_destroy(tb);

	/* The same process cut between its last event and its END. */
	tb = mp_tb_new();
	mp_tb_number_chunks(tb);
	mp_tb_header(tb)->end_state = MP_END_EXIT;
	mp_tb_malloc(tb, 1, 1000, 0x1000, 64, 0);
	mp_tb_free(tb, 1, 1400, 0x1000);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1500, 0, 1);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "no end record: the process ended, but its last record is "
				    "not in the trace (cut short)");
	/* A failed exec wrote an END and recording went on: only the exit's END counts, so
	 * a cut that takes it away is seen, though the exec's END is still there. */
	end_record(tb, 1, MP_END_EXEC, 1);
	mp_tb_new_chunk(tb, 1, 1600);
	mp_tb_malloc(tb, 1, 1700, 0x3000, 64, 0);
	end_record(tb, 1, MP_END_EXIT, 2);
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	assert_int_equal(verdict(tb, mp_tb_chunk_offset(tb, 1, 1), reason, sizeof(reason)), 0);
	assert_string_equal(reason, "no end record: the process ended, but its last record is "
				    "not in the trace (cut short)");
	mp_tb_destroy(tb);
}

/* A thread takes its serial at its first event, before its first chunk exists: one that
 * the process's end killed in between leaves its number unused. Where chunks are numbered
 * and the END's count holds, that is no chunk missing (a program that exited while its
 * threads started read as incomplete one run in about fifteen); without numbers, a serial
 * missing may be a thread's chunks cut out, and still says so. */
static void a_serial_no_chunk_took_is_not_a_missing_chunk(void **state)
{
	(void)state;
	char reason[256];
	for (int numbered = 1; numbered >= 0; numbered--) {
		struct mp_tb *tb = mp_tb_new();
		if (numbered)
			mp_tb_number_chunks(tb);
		mp_tb_header(tb)->end_state = MP_END_EXIT;
		mp_tb_malloc(tb, 1, 1000, 0x1000, 64, 0);
		mp_tb_malloc(tb, 2, 1100, 0x2000, 64, 0);
		mp_tb_malloc(tb, 4, 1200, 0x4000, 64, 0); /* serial 3 never wrote a chunk */
		mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 1400, 0, 3);
		mp_tb_leak_summary(tb, 1, 0, 0);
		if (numbered)
			end_record(tb, 1, MP_END_EXIT, mp_tb_chunks(tb));
		int complete = verdict(tb, 0, reason, sizeof(reason));
		if (numbered) {
			assert_int_equal(complete, 1);
		} else {
			assert_int_equal(complete, 0);
			assert_string_equal(reason, "1 chunk is missing from the file");
		}
		mp_tb_destroy(tb);
	}
}

/* A process killed by a signal memprof caught: the check's records, written by the leak
 * thread (serial 2), then the END in that thread's chunk. The trace is whole; without the
 * END (an older writer, or cut before it), it reads as not ended, or as cut. */
static void a_fatal_signal_with_its_end_is_complete(void **state)
{
	(void)state;
	char reason[256];
	struct mp_tb *tb = mp_tb_new();
	mp_tb_number_chunks(tb);
	mp_tb_malloc(tb, 1, 1000, 0x1000, 64, 0);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_FATAL, 1100, 0, 2);
	mp_tb_leak_summary(tb, 2, 0, 0);
	mp_tb_header(tb)->end_state = MP_END_RUNNING;
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "the process did not end (killed, crashed or still running), "
				    "so the trace has no end");
	mp_tb_header(tb)->end_state = MP_END_SIGNAL;
	mp_tb_header(tb)->end_status = 15;
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "no end record: the process ended, but its last record is "
				    "not in the trace (cut short)");
	end_record(tb, 2, MP_END_SIGNAL, mp_tb_chunks(tb));
	assert_int_equal(verdict(tb, 0, reason, sizeof(reason)), 1);
	assert_string_equal(reason, "");
	mp_tb_destroy(tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exit_with_the_leak_checks_summary_is_complete),
		cmocka_unit_test(exit_with_only_the_exit_snapshot_is_complete),
		cmocka_unit_test(exit_without_end_records_is_incomplete),
		cmocka_unit_test(leak_classes_without_their_summary_are_incomplete),
		cmocka_unit_test(underscore_exit_needs_its_exit_snapshot),
		cmocka_unit_test(exec_needs_a_chunk),
		cmocka_unit_test(a_process_that_did_not_end_is_incomplete),
		cmocka_unit_test(a_cut_after_the_exiting_threads_last_chunk_is_seen),
		cmocka_unit_test(threads_that_ended_account_for_their_chunks),
		cmocka_unit_test(every_cut_of_an_exited_trace_is_incomplete),
		cmocka_unit_test(the_end_record_counts_the_chunks),
		cmocka_unit_test(a_serial_no_chunk_took_is_not_a_missing_chunk),
		cmocka_unit_test(a_fatal_signal_with_its_end_is_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
