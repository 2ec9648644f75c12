/* test_cli_json.c: exact numbers and JSON shape of `memprof report/leaks/flamegraph`,
 * run as a command on synthetic traces built with trace_builder.
 *
 * The scenario (times in ns; thread 1 and 2; no MODULE records, so frames stay bare
 * addresses whatever the symbolizer finds):
 *   2000 T1 malloc 0x10000 100 s1     2100 T2 malloc 0x20000 200 s2
 *   2200 T1 free 0x10000  (temporary: T2's allocation does not count for T1)
 *   2300 T1 malloc 0x10000 40 s3 (address reuse)   2400 T2 free 0x10000 (cross-thread)
 *   2500 T1 malloc 0x30000 50 s1
 *   2600..2610 T1 realloc 0x30000 -> 0x40000 500 s4 (move; temporary)  peak 700 here
 *   2700 T2 free 0x40000   2800 T2 malloc of 2^40 fails   2900 T1 free 0xdead0 (unknown)
 *   3000 T1 mmap 16 KiB    3100 T1 munmap its second page   3200 T1 malloc 0x50000 300 s1
 * Not freed at the end: 0x20000 (200, s2) and 0x50000 (300, s1). An exited scenario ends
 * as exit() does: an exit snapshot, then the leak check, which finds 0x20000 still
 * reachable and 0x50000 definitely lost.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness.h"

#include "trace_builder.h"

static const uint64_t frames1[] = { 0x401100, 0x401000 };
static const uint64_t frames2[] = { 0x402200, 0x401000 };
static const uint64_t frames3[] = { 0x403300, 0x401000 };
static const uint64_t frames4[] = { 0x404400, 0x401000 };

/* What exit() writes last: the exit snapshot, then the leak check's kinds (0x20000 is
 * still reachable, 0x50000 definitely lost) and its summary. */
static void scenario_exit(struct mp_tb *tb)
{
	const uint64_t addrs[] = { 0x20000, 0x50000 };
	const unsigned kinds[] = { MP_LEAK_KIND_REACHABLE, MP_LEAK_KIND_DEFINITE };
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 3300, 2, 1); /* both threads alive */
	mp_tb_leak_class(tb, 1, addrs, kinds, 2);
	mp_tb_leak_summary(tb, 1, 0, 0);
}

static struct mp_tb *scenario(uint32_t end_state)
{
	struct mp_tb *tb = mp_tb_new();
	struct mp_file_header *header = mp_tb_header(tb);

	header->start_monotonic_ns = 1000;
	header->end_monotonic_ns = 1000000;
	header->end_state = end_state;
	header->end_status = end_state == MP_END_RUNNING ? 0 : 3;
	mp_tb_stack(tb, 1, 1, 0, frames1, 2);
	mp_tb_stack(tb, 1, 2, 0, frames2, 2);
	mp_tb_stack(tb, 1, 3, 0, frames3, 2);
	mp_tb_stack(tb, 1, 4, 0, frames4, 2);
	mp_tb_malloc(tb, 1, 2000, 0x10000, 100, 1);
	mp_tb_malloc(tb, 2, 2100, 0x20000, 200, 2);
	mp_tb_free(tb, 1, 2200, 0x10000);
	mp_tb_malloc(tb, 1, 2300, 0x10000, 40, 3);
	mp_tb_free(tb, 2, 2400, 0x10000);
	mp_tb_malloc(tb, 1, 2500, 0x30000, 50, 1);
	mp_tb_realloc(tb, 1, 2600, 2610, 0x30000, 0x40000, 500, 4);
	mp_tb_free(tb, 2, 2700, 0x40000);
	mp_tb_alloc_failed(tb, 2, 2800, MP_REC_MALLOC, 1ull << 40, 2);
	mp_tb_free(tb, 1, 2900, 0xdead0);
	mp_tb_mmap(tb, 1, 3000, 0x7f0000000000, 16384, 3, 0x22, -1, 0, 3);
	mp_tb_munmap(tb, 1, 3100, 0x7f0000001000, 4096);
	mp_tb_malloc(tb, 1, 3200, 0x50000, 300, 1);
	if (end_state == MP_END_EXIT)
		scenario_exit(tb);
	return tb;
}

static void write_scenario(const char *path, uint32_t end_state)
{
	struct mp_tb *tb = scenario(end_state);
	assert_int_equal(mp_tb_write(tb, path), 0);
	mp_tb_destroy(tb);
}

static int64_t num(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("key '%s' is not an integer", key);
	return json_integer_value(value);
}

static void report_json_numbers_are_exact(void **state)
{
	json_t *r;
	(void)state;
	write_scenario("exact.trace", MP_END_EXIT);
	r = harness_memprof_json("report --json exact.trace", 0);
	assert_true(json_is_object(r));
	assert_int_equal(num(r, "allocations"), 5);
	assert_int_equal(num(r, "frees"), 4);
	assert_int_equal(num(r, "reallocs"), 1);
	assert_int_equal(num(r, "failed_calls"), 1);
	assert_int_equal(num(r, "mmaps"), 1);
	assert_int_equal(num(r, "munmaps"), 1);
	assert_int_equal(num(r, "allocated_bytes"), 1190);
	assert_int_equal(num(r, "peak_heap_bytes"), 700);
	assert_int_equal(num(r, "peak_heap_blocks"), 2);
	assert_int_equal(num(r, "peak_time_ns"), 1610);
	/* Not freed: both blocks; leaked: only the one the exit scan found lost. */
	assert_int_equal(num(r, "unfreed_bytes"), 500);
	assert_int_equal(num(r, "unfreed_blocks"), 2);
	assert_int_equal(num(r, "leaked_bytes"), 300);
	assert_int_equal(num(r, "leaked_blocks"), 1);
	assert_int_equal(num(r, "suppressed_bytes"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "leak_check")), "scanned");
	assert_int_equal(num(r, "temporary_allocations"), 2);
	assert_int_equal(num(r, "unknown_frees"), 1);
	assert_int_equal(num(r, "peak_mmap_bytes"), 16384);
	assert_int_equal(num(r, "mmap_live_bytes"), 12288);
	assert_int_equal(num(r, "run_time_ns"), 999000);
	assert_int_equal(num(r, "pid"), 4242);
	assert_int_equal(num(r, "ppid"), 1);
	assert_true(json_is_null(json_object_get(r, "continued_in")));
	assert_int_equal(num(r, "exit_status"), 3);
	assert_true(json_is_true(json_object_get(r, "complete")));
	assert_true(json_is_true(json_object_get(r, "exited_normally")));
	/* Stacks live at the peak: s4 (500) then s2 (200). */
	json_t *top = json_object_get(r, "top_peak");
	assert_int_equal(json_array_size(top), 2);
	assert_int_equal(num(json_array_get(top, 0), "peak_bytes"), 500);
	assert_int_equal(num(json_array_get(top, 1), "peak_bytes"), 200);
	top = json_object_get(r, "top_leaked");
	assert_int_equal(json_array_size(top), 1);
	assert_int_equal(num(json_array_get(top, 0), "leaked_bytes"), 300);
	assert_int_equal(num(json_array_get(top, 0), "leaked_blocks"), 1);
	assert_int_equal(num(json_array_get(top, 0), "unfreed_bytes"), 300);
	assert_int_equal(num(json_array_get(top, 0), "allocated_bytes"), 450);
	assert_int_equal(num(json_array_get(top, 0), "allocations"), 3);
	top = json_object_get(r, "top_unfreed");
	assert_int_equal(json_array_size(top), 2);
	assert_int_equal(num(json_array_get(top, 1), "unfreed_bytes"), 200);
	assert_int_equal(num(json_array_get(top, 1), "unfreed_blocks"), 1);
	assert_int_equal(num(json_array_get(top, 1), "leaked_bytes"), 0);
	json_decref(r);
}

/* --top N cuts every list to N call stacks, and 0 lists them all, in JSON as in text. */
static void top_limits_every_list(void **state)
{
	json_t *r;
	char *out;
	(void)state;
	write_scenario("top.trace", MP_END_EXIT);
	r = harness_memprof_json("report --json --top 1 top.trace", 0);
	assert_int_equal(json_array_size(json_object_get(r, "top_allocated")), 1);
	assert_int_equal(json_array_size(json_object_get(r, "top_unfreed")), 1);
	json_decref(r);
	r = harness_memprof_json("report --json --top=0 top.trace", 0);
	assert_int_equal(json_array_size(json_object_get(r, "top_allocated")), 4);
	json_decref(r);
	assert_int_equal(harness_memprof("report --top 1 top.trace", &out), 0);
	assert_non_null(strstr(out, "\nCall stacks by bytes allocated (top 1):\n"
				    "  1. 500 bytes in 1 allocation, 1 call\n"
				    "       0x404400\n       0x401000\n"
				    "  (3 more: --top 0 lists them all)\n"));
	free(out);
	assert_int_equal(harness_memprof("flamegraph --top 2 top.trace", &out), 0);
	assert_string_equal(out, "0x401000;0x404400 500\n0x401000;0x401100 450\n");
	free(out);
	r = harness_memprof_json("flamegraph --json --top 1 top.trace", 0);
	assert_int_equal(json_array_size(json_object_get(r, "stacks")), 1);
	assert_int_equal(num(r, "total"), 1190); /* of every call stack, listed or not */
	json_decref(r);
	r = harness_memprof_json("leaks --json --show-reachable --top 1 top.trace", 0);
	assert_int_equal(json_array_size(json_object_get(r, "leaks")), 1);
	assert_int_equal(num(r, "leaked_bytes"), 300); /* whatever is listed */
	json_decref(r);
	assert_int_equal(harness_memprof("leaks --show-reachable --top 1 top.trace", &out), 0);
	assert_non_null(strstr(out, "\n300 bytes in 1 block definitely lost\n    0x401100\n"
				    "    0x401000\n\n(1 more: --top 0 lists them all)\n"));
	free(out);
}

static void leaks_json_has_the_documented_shape(void **state)
{
	json_t *r, *leak, *frame;
	(void)state;
	write_scenario("leaks.trace", MP_END_EXIT);
	r = harness_memprof_json("leaks --json leaks.trace", 0);
	/* 0x20000 is still reachable: not leaked, not listed without --show-reachable. */
	assert_int_equal(num(r, "leaked_bytes"), 300);
	assert_int_equal(num(r, "leaked_blocks"), 1);
	assert_int_equal(num(r, "unfreed_bytes"), 500);
	assert_int_equal(num(r, "unfreed_blocks"), 2);
	assert_int_equal(json_array_size(json_object_get(r, "leaks")), 1);
	leak = json_array_get(json_object_get(r, "leaks"), 0);
	assert_string_equal(json_string_value(json_object_get(leak, "kind")), "definite");
	assert_int_equal(num(leak, "bytes"), 300);
	assert_int_equal(num(leak, "blocks"), 1);
	assert_int_equal(json_array_size(json_object_get(leak, "stack")), 2);
	frame = json_array_get(json_object_get(leak, "stack"), 0); /* innermost first */
	assert_string_equal(json_string_value(json_object_get(frame, "address")), "0x401100");
	assert_true(json_is_null(json_object_get(frame, "line")));
	assert_non_null(json_object_get(frame, "function"));
	assert_non_null(json_object_get(frame, "file"));
	assert_non_null(json_object_get(frame, "module"));
	frame = json_array_get(json_object_get(leak, "stack"), 1);
	assert_string_equal(json_string_value(json_object_get(frame, "address")), "0x401000");
	json_decref(r);
}

static void fail_on_leak_sets_the_exit_code(void **state)
{
	struct mp_tb *tb = mp_tb_new();
	char *out;
	(void)state;
	mp_tb_malloc(tb, 1, 2000, 0x1000, 8, 0);
	mp_tb_free(tb, 1, 2100, 0x1000);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_EXIT, 2200, 1, 1);
	mp_tb_leak_summary(tb, 1, 0, 0);
	assert_int_equal(mp_tb_write(tb, "clean.trace"), 0);
	mp_tb_destroy(tb);
	write_scenario("leaky.trace", MP_END_EXIT);
	assert_int_equal(harness_memprof("leaks --fail-on-leak clean.trace", &out), 0);
	free(out);
	assert_int_equal(harness_memprof("leaks --fail-on-leak leaky.trace", &out), 1);
	free(out);
	assert_int_equal(harness_memprof("leaks leaky.trace", &out), 0);
	free(out);
	json_decref(harness_memprof_json("leaks --json --fail-on-leak leaky.trace", 1));
}

/* Whether file `path` holds `text`. */
static int file_has(const char *path, const char *text)
{
	char buf[4096] = "";
	FILE *file = fopen(path, "r");
	if (!file)
		return 0;
	size_t len = fread(buf, 1, sizeof(buf) - 1, file);
	buf[len] = '\0';
	fclose(file);
	return strstr(buf, text) != NULL;
}

/* A trace without its end fails the gate even when what is left has no leak, and says
 * why on stderr; without --fail-on-leak the exit code stays 0. */
static void fail_on_leak_fails_on_an_incomplete_trace(void **state)
{
	struct mp_tb *tb = mp_tb_new();
	char *out;
	(void)state;
	mp_tb_malloc(tb, 1, 2000, 0x1000, 8, 0);
	mp_tb_free(tb, 1, 2100, 0x1000);
	assert_int_equal(mp_tb_write(tb, "no-end.trace"), 0);
	mp_tb_destroy(tb);
	assert_int_equal(harness_memprof("leaks no-end.trace 2>/dev/null", &out), 0);
	free(out);
	assert_int_equal(harness_memprof("leaks --fail-on-leak no-end.trace 2>err.txt", &out), 1);
	free(out);
	assert_true(file_has("err.txt", "memprof: leaks: --fail-on-leak fails: trace "
			     "'no-end.trace' is incomplete (no end record: neither the exit "
			     "snapshot nor the leak check's summary is in the trace (cut short, or "
			     "both turned off)), so its leaks cannot all be known\n"));
	json_t *r = harness_memprof_json("leaks --json --fail-on-leak no-end.trace 2>/dev/null", 1);
	assert_true(json_is_false(json_object_get(r, "complete")));
	assert_string_equal(json_string_value(json_object_get(r, "incomplete_reason")),
			    "no end record: neither the exit snapshot nor the leak check's summary "
			    "is in the trace (cut short, or both turned off)");
	json_decref(r);
}

static void several_traces_give_an_array(void **state)
{
	json_t *r;
	(void)state;
	write_scenario("one.trace", MP_END_EXIT);
	write_scenario("two.trace", MP_END_RUNNING);
	r = harness_memprof_json("report --json one.trace two.trace", 0);
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "trace")),
			    "two.trace");
	json_decref(r);
}

static void unfinished_process_is_reported_as_such(void **state)
{
	json_t *r;
	char *out;
	(void)state;
	write_scenario("running.trace", MP_END_RUNNING);
	r = harness_memprof_json("report --json running.trace", 0);
	assert_string_equal(json_string_value(json_object_get(r, "end_state")), "running");
	assert_true(json_is_false(json_object_get(r, "exited_normally")));
	assert_true(json_is_null(json_object_get(r, "exit_status")));
	/* No leak check ran: every block not freed counts as leaked, and it says so. */
	assert_int_equal(num(r, "unfreed_bytes"), 500);
	assert_int_equal(num(r, "leaked_bytes"), 500);
	assert_string_equal(json_string_value(json_object_get(r, "leak_check")), "none");
	/* Up to the last event: 3200 - 1000. */
	assert_int_equal(num(r, "run_time_ns"), 2200);
	json_decref(r);
	assert_int_equal(harness_memprof("report running.trace", &out), 0);
	assert_non_null(strstr(out, "did not exit normally"));
	/* The Leaked line says why no check ran, as `memprof leaks` does. */
	assert_non_null(strstr(out, "no leak check having run (the process did not exit: it was "
				    "killed or crashed, or is still running)"));
	free(out);
}

/* The text report of a scenario ending in `end_state` holds `expected`. */
static void report_holds(uint32_t end_state, const char *expected)
{
	char *out;
	write_scenario("ended.trace", end_state);
	assert_int_equal(harness_memprof("report ended.trace", &out), 0);
	if (!strstr(out, expected))
		fail_msg("no '%s' in:\n%s", expected, out);
	free(out);
}

/* A fork child whose check could not take its parent's blocks along says so where it
 * lost anything, in text and JSON; a trace without the flag says nothing of it. */
static void fork_child_without_inherited_blocks_says_so(void **state)
{
	char *out;
	(void)state;
	struct mp_tb *tb = scenario(MP_END_EXIT);
	mp_tb_header(tb)->flags |= MP_TRACE_FORK_CHILD;
	assert_int_equal(mp_tb_write(tb, "child.trace"), 0);
	mp_tb_destroy(tb);
	assert_int_equal(harness_memprof("leaks child.trace", &out), 0);
	assert_non_null(strstr(out, "This process is a fork child: the blocks it inherited"));
	free(out);
	json_t *r = harness_memprof_json("leaks --json child.trace", 0);
	assert_true(json_is_true(json_object_get(json_object_get(r, "reachability"), "fork_child")));
	json_decref(r);
	write_scenario("plain.trace", MP_END_EXIT);
	assert_int_equal(harness_memprof("leaks plain.trace", &out), 0);
	assert_null(strstr(out, "fork child"));
	free(out);
	r = harness_memprof_json("leaks --json plain.trace", 0);
	assert_null(json_object_get(json_object_get(r, "reachability"), "fork_child"));
	json_decref(r);
}

/* A trace where a thread stopped recording (a signal handler's jump out of the library
 * where it could not resume) says so: a warning on stderr, "thread_stopped" in JSON. */
static void stopped_thread_is_said(void **state)
{
	char *out;
	(void)state;
	struct mp_tb *tb = scenario(MP_END_EXIT);
	mp_tb_header(tb)->flags |= MP_TRACE_THREAD_STOPPED;
	assert_int_equal(mp_tb_write(tb, "stopped.trace"), 0);
	mp_tb_destroy(tb);
	assert_int_equal(harness_memprof("report stopped.trace 2>&1", &out), 0);
	assert_non_null(strstr(out, "warning: trace 'stopped.trace': a signal handler jumped out "
				    "of memprof's code where it could not be resumed"));
	free(out);
	json_t *r = harness_memprof_json("report --json stopped.trace", 0);
	assert_true(json_is_true(json_object_get(r, "thread_stopped")));
	json_decref(r);
	write_scenario("plain.trace", MP_END_EXIT);
	r = harness_memprof_json("report --json plain.trace", 0);
	assert_true(json_is_false(json_object_get(r, "thread_stopped")));
	json_decref(r);
}

/* Each way of ending without a check is named in the report's Leaked line: _exit() and
 * exec() run none. */
static void report_says_why_no_leak_check_ran(void **state)
{
	(void)state;
	report_holds(MP_END_EXIT_NOW, "no leak check having run (the process ended by _exit(), "
				      "which runs no leak check)");
	report_holds(MP_END_EXEC, "no leak check having run (the process replaced itself by "
				  "execve())");
}

static void flamegraph_folds_root_first(void **state)
{
	char *out;
	(void)state;
	write_scenario("flame.trace", MP_END_EXIT);
	/* Leaked: the lost block only; unfreed: the reachable one too. */
	assert_int_equal(harness_memprof("flamegraph --metric leaked flame.trace", &out), 0);
	assert_string_equal(out, "0x401000;0x401100 300\n");
	free(out);
	assert_int_equal(harness_memprof("flamegraph --metric=unfreed flame.trace", &out), 0);
	assert_string_equal(out, "0x401000;0x401100 300\n0x401000;0x402200 200\n");
	free(out);
	assert_int_equal(harness_memprof("flamegraph --metric peak flame.trace", &out), 0);
	assert_string_equal(out, "0x401000;0x404400 500\n0x401000;0x402200 200\n");
	free(out);
	assert_int_equal(harness_memprof("flamegraph flame.trace", &out), 0);
	assert_string_equal(out, "0x401000;0x404400 500\n0x401000;0x401100 450\n"
				 "0x401000;0x402200 200\n0x401000;0x403300 40\n");
	free(out);
	assert_int_equal(harness_memprof("flamegraph --metric calls flame.trace", &out), 0);
	assert_string_equal(out, "0x401000;0x401100 3\n0x401000;0x402200 2\n"
				 "0x401000;0x403300 2\n0x401000;0x404400 1\n");
	free(out);
}

/* An exit snapshot that could not read smaps (every descriptor taken) holds no mapping:
 * `memory` says so and why, instead of "RSS 0 B of VIRT 0 B"; an interval snapshot
 * taken before it can still be asked for. */
static void memory_says_why_a_snapshot_has_no_mappings(void **state)
{
	struct mp_tb *tb = mp_tb_new();
	struct mp_file_header *header = mp_tb_header(tb);
	char *out;
	(void)state;
	header->start_monotonic_ns = 1000;
	header->end_monotonic_ns = 9000;
	header->end_state = MP_END_EXIT;
	mp_tb_malloc(tb, 1, 2000, 0x20000, 100, 0);
	mp_tb_snapshot(tb, 1, 1, MP_SNAP_INTERVAL, 2500, 1, 0);
	mp_tb_mapping(tb, 1, 1, 0x20000, 0x1000, MP_PERM_READ | MP_PERM_WRITE, 0, MP_MAPK_HEAP,
		      "[heap]");
	mp_tb_snapshot_end(tb, 1, 1, 2600, 1, 0);
	mp_tb_snapshot(tb, 1, 2, MP_SNAP_EXIT, 3000, 1, 0);
	mp_tb_snapshot_end(tb, 1, 2, 3100, 0, EMFILE);
	mp_tb_leak_summary(tb, 1, 0, 0);
	assert_int_equal(mp_tb_write(tb, "unread.trace"), 0);
	mp_tb_destroy(tb);
	assert_int_equal(harness_memprof("memory unread.trace 2>&1", &out), 2);
	assert_non_null(strstr(out, "the exit snapshot (2 of 2) could not read /proc/self/smaps "
				    "(Too many open files), so it holds no mappings"));
	assert_null(strstr(out, "RSS 0 B"));
	free(out);
	assert_int_equal(harness_memprof("memory --snapshot 1 unread.trace", &out), 0);
	assert_non_null(strstr(out, "at the interval snapshot"));
	free(out);
	/* The page says the same where its memory view would be. */
	assert_int_equal(harness_memprof("html -o unread.html unread.trace && grep -c "
					 "'No memory view: the exit snapshot (2 of 2) could not "
					 "read /proc/self/smaps' unread.html", &out), 0);
	assert_string_equal(out, "1\n");
	free(out);
}

static void cut_trace_is_marked_incomplete(void **state)
{
	struct mp_tb *tb = scenario(MP_END_EXIT);
	uint8_t *bytes;
	size_t len;
	json_t *r;
	(void)state;
	assert_int_equal(mp_tb_bytes(tb, &bytes, &len), 0);
	/* Keep the header and the first chunk, then half a page of the next one. */
	size_t cut = mp_tb_chunk_offset(tb, 2, 0) + 2048;
	assert_true(cut < len);
	assert_int_equal(mp_tb_write_bytes("cut.trace", bytes, cut), 0);
	free(bytes);
	mp_tb_destroy(tb);
	r = harness_memprof_json("report --json cut.trace", 0);
	assert_true(json_is_false(json_object_get(r, "complete")));
	assert_true(json_is_string(json_object_get(r, "incomplete_reason")));
	json_decref(r);
}

/* The text reports of the scenario, byte for byte, against tests/golden/. After an
 * intended change of layout, MEMPROF_UPDATE_GOLDEN=1 rewrites the files (review the diff). */
static void check_golden(const char *args, const char *name)
{
	char *out, path[4096];
	const char *top = getenv("MEMPROF_TOP");
	assert_int_equal(harness_memprof(args, &out), 0);
	snprintf(path, sizeof(path), "%s/tests/golden/%s", top ? top : ".", name);
	if (getenv("MEMPROF_UPDATE_GOLDEN")) {
		FILE *file = fopen(path, "we");
		assert_non_null(file);
		fputs(out, file);
		fclose(file);
	}
	FILE *file = fopen(path, "re");
	assert_non_null(file);
	static char expected[1 << 16];
	size_t len = fread(expected, 1, sizeof(expected) - 1, file);
	expected[len] = '\0';
	fclose(file);
	if (strcmp(out, expected) != 0)
		fail_msg("memprof %s differs from tests/golden/%s:\n--- got ---\n%s", args, name, out);
	free(out);
}

static void text_reports_match_golden_files(void **state)
{
	(void)state;
	write_scenario("golden.trace", MP_END_EXIT);
	check_golden("report golden.trace 2>/dev/null", "scenario.report.txt");
	check_golden("leaks --show-reachable golden.trace 2>/dev/null", "scenario.leaks.txt");
	check_golden("flamegraph golden.trace 2>/dev/null", "scenario.folded.txt");
	check_golden("flamegraph --metric calls golden.trace 2>/dev/null", "scenario.calls.folded.txt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(report_json_numbers_are_exact),
		cmocka_unit_test(top_limits_every_list),
		cmocka_unit_test(leaks_json_has_the_documented_shape),
		cmocka_unit_test(fail_on_leak_sets_the_exit_code),
		cmocka_unit_test(fail_on_leak_fails_on_an_incomplete_trace),
		cmocka_unit_test(several_traces_give_an_array),
		cmocka_unit_test(unfinished_process_is_reported_as_such),
		cmocka_unit_test(report_says_why_no_leak_check_ran),
		cmocka_unit_test(fork_child_without_inherited_blocks_says_so),
		cmocka_unit_test(stopped_thread_is_said),
		cmocka_unit_test(flamegraph_folds_root_first),
		cmocka_unit_test(memory_says_why_a_snapshot_has_no_mappings),
		cmocka_unit_test(cut_trace_is_marked_incomplete),
		cmocka_unit_test(text_reports_match_golden_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
