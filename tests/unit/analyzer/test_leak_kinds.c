/* test_leak_kinds.c: reading the leak checks of a trace (LEAK_CLASS, LEAK_SUMMARY): one
 * check among several by its place in time order, the default one, and the records an
 * older writer left. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "leak_kinds.h"
#include "memprof/varint.h"
#include "trace_builder.h"

static size_t put(uint8_t *at, uint64_t value)
{
	return (size_t)(mp_put_u(at, value) - at);
}

/* A LEAK_CLASS of one block; check 0 writes none (an older writer). */
static void class_record(struct mp_tb *tb, uint32_t serial, uint64_t addr, unsigned kind,
			 uint64_t check)
{
	uint8_t body[64];
	size_t len = put(body, 1);
	len += put(body + len, addr);
	len += put(body + len, kind);
	if (check)
		len += put(body + len, check);
	mp_tb_extended(tb, serial, MP_REC_LEAK_CLASS, body, len);
}

/* A LEAK_SUMMARY of the first `count` of `fields`. */
static void summary_fields(struct mp_tb *tb, uint32_t serial, const uint64_t *fields,
			   size_t count)
{
	uint8_t body[16 * MP_VARINT_MAX];
	size_t len = 0;
	for (size_t i = 0; i < count; i++)
		len += put(body + len, fields[i]);
	mp_tb_extended(tb, serial, MP_REC_LEAK_SUMMARY, body, len);
}

/* A LEAK_SUMMARY without the heuristics' counts; check 0 writes only the eight fields of
 * an older writer. */
static void summary_record(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t check,
			   unsigned reason, unsigned signal)
{
	uint64_t fields[] = { 0, time, 5000, 1, 4096, 64, 2, 0, check, reason, signal, 2, 0 };
	summary_fields(tb, serial, fields, check ? 13 : 8);
}

/* A LEAK_SUMMARY of today's writer: the heuristics' counts after the thirteen fields. */
static void summary_record_heuristics(struct mp_tb *tb, uint32_t serial, uint64_t blocks,
				      uint64_t bytes)
{
	uint64_t fields[] = { 0, 700, 5000, 1, 4096, 64, 2, 0, 1, MP_LEAK_CHECK_EXIT, 0, 2, 0,
			      blocks, bytes };
	summary_fields(tb, serial, fields, sizeof(fields) / sizeof(fields[0]));
}

struct opened {
	uint8_t *bytes;
	size_t len;
	struct mp_trace *trace;
};

static void open_built(struct mp_tb *tb, struct opened *o)
{
	char err[256];
	mp_tb_bytes(tb, &o->bytes, &o->len);
	mp_tb_destroy(tb);
	assert_int_equal(mp_trace_open_memory(o->bytes, o->len, &o->trace, err, sizeof(err)), 0);
}

static void close_opened(struct opened *o)
{
	mp_trace_close(o->trace);
	free(o->bytes);
}

/* Two checks on a signal, then one at exit, written by two threads: the exit check's
 * records first in the file, as the leak thread's chunk may come before the program's. */
static struct mp_tb *three_checks(void)
{
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 16, 0);
	class_record(tb, 2, 0x1000, MP_LEAK_KIND_DEFINITE, 3);
	summary_record(tb, 2, 900, 3, MP_LEAK_CHECK_EXIT, 0);
	class_record(tb, 1, 0x1000, MP_LEAK_KIND_REACHABLE, 1);
	summary_record(tb, 1, 100, 1, MP_LEAK_CHECK_SIGNAL, 10);
	class_record(tb, 1, 0x1000, MP_LEAK_KIND_POSSIBLE, 2);
	summary_record(tb, 1, 500, 2, MP_LEAK_CHECK_SIGNAL, 10);
	class_record(tb, 1, 0x1000, MP_LEAK_KIND_INDIRECT, 4); /* no summary: ignored */
	return tb;
}

static void test_leak_kinds_default_is_the_check_at_exit(void **state)
{
	(void)state;
	struct opened o;
	struct mp_leak_kinds kinds;
	open_built(three_checks(), &o);
	assert_int_equal(mp_leak_kinds_load(&kinds, o.trace, 0), 0);
	assert_int_equal(kinds.state, MP_LEAK_SCAN_DONE);
	assert_int_equal(kinds.checks, 3);
	assert_int_equal(kinds.index, 3);
	assert_int_equal(kinds.reason, MP_LEAK_CHECK_EXIT);
	assert_int_equal(kinds.time_ns, 900);
	assert_int_equal(kinds.stopped, 2);
	assert_int_equal(kinds.heuristic_blocks, 0); /* a writer before the counts */
	assert_int_equal(kinds.heuristic_bytes, 0);
	assert_int_equal(mp_leak_kinds_lookup(&kinds, 0x1000), MP_LEAK_KIND_DEFINITE);
	mp_leak_kinds_free(&kinds);
	close_opened(&o);
}

/* The blocks memcheck's heuristics alone kept reachable, after the thirteen fields. */
static void test_leak_kinds_heuristics_counts(void **state)
{
	(void)state;
	struct opened o;
	struct mp_leak_kinds kinds;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 16, 0);
	class_record(tb, 1, 0x1000, MP_LEAK_KIND_REACHABLE, 1);
	summary_record_heuristics(tb, 1, 3, 3155);
	open_built(tb, &o);
	assert_int_equal(mp_leak_kinds_load(&kinds, o.trace, 0), 0);
	assert_int_equal(kinds.state, MP_LEAK_SCAN_DONE);
	assert_int_equal(kinds.heuristic_blocks, 3);
	assert_int_equal(kinds.heuristic_bytes, 3155);
	mp_leak_kinds_free(&kinds);
	close_opened(&o);
}

static void test_leak_kinds_nth_check_in_time_order_with_its_own_classes(void **state)
{
	(void)state;
	static const unsigned expected[3] = { MP_LEAK_KIND_REACHABLE, MP_LEAK_KIND_POSSIBLE,
					      MP_LEAK_KIND_DEFINITE };
	static const uint64_t times[3] = { 100, 500, 900 };
	struct opened o;
	struct mp_leak_kinds kinds;
	open_built(three_checks(), &o);
	for (size_t index = 1; index <= 3; index++) {
		assert_int_equal(mp_leak_kinds_load(&kinds, o.trace, index), 0);
		assert_int_equal(kinds.index, index);
		assert_int_equal(kinds.time_ns, times[index - 1]);
		assert_int_equal(kinds.count, 1);
		assert_int_equal(mp_leak_kinds_lookup(&kinds, 0x1000), expected[index - 1]);
		if (index < 3) {
			assert_int_equal(kinds.reason, MP_LEAK_CHECK_SIGNAL);
			assert_int_equal(kinds.signal, 10);
		}
		mp_leak_kinds_free(&kinds);
	}
	assert_int_equal(mp_leak_kinds_load(&kinds, o.trace, 4), -ERANGE);
	assert_int_equal(kinds.checks, 3);
	mp_leak_kinds_free(&kinds);
	close_opened(&o);
}

/* An older writer: classes without a check number, eight summary fields: check 1, at
 * exit. */
static void test_leak_kinds_older_writer_is_one_check_at_exit(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	struct opened o;
	struct mp_leak_kinds kinds;
	mp_tb_malloc(tb, 1, 10, 0x2000, 16, 0);
	class_record(tb, 1, 0x2000, MP_LEAK_KIND_INDIRECT, 0);
	summary_record(tb, 1, 50, 0, 0, 0);
	open_built(tb, &o);
	assert_int_equal(mp_leak_kinds_load(&kinds, o.trace, 0), 0);
	assert_int_equal(kinds.state, MP_LEAK_SCAN_DONE);
	assert_int_equal(kinds.checks, 1);
	assert_int_equal(kinds.index, 1);
	assert_int_equal(kinds.reason, MP_LEAK_CHECK_EXIT);
	assert_int_equal(mp_leak_kinds_lookup(&kinds, 0x2000), MP_LEAK_KIND_INDIRECT);
	mp_leak_kinds_free(&kinds);
	close_opened(&o);
	assert_string_equal(mp_leak_check_reason_name(MP_LEAK_CHECK_FATAL_SIGNAL), "fatal-signal");
}

/* Without a check at exit (the process died of a signal), the last one. */
static void test_leak_kinds_without_exit_check_the_last(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	struct opened o;
	struct mp_leak_kinds kinds;
	mp_tb_malloc(tb, 1, 10, 0x3000, 16, 0);
	summary_record(tb, 1, 100, 1, MP_LEAK_CHECK_SIGNAL, 10);
	summary_record(tb, 2, 300, 2, MP_LEAK_CHECK_FATAL_SIGNAL, 15);
	open_built(tb, &o);
	assert_int_equal(mp_leak_kinds_load(&kinds, o.trace, 0), 0);
	assert_int_equal(kinds.index, 2);
	assert_int_equal(kinds.reason, MP_LEAK_CHECK_FATAL_SIGNAL);
	assert_int_equal(kinds.signal, 15);
	mp_leak_kinds_free(&kinds);
	close_opened(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leak_kinds_default_is_the_check_at_exit),
		cmocka_unit_test(test_leak_kinds_heuristics_counts),
		cmocka_unit_test(test_leak_kinds_nth_check_in_time_order_with_its_own_classes),
		cmocka_unit_test(test_leak_kinds_older_writer_is_one_check_at_exit),
		cmocka_unit_test(test_leak_kinds_without_exit_check_the_last),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
