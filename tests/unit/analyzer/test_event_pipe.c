/* test_event_pipe.c: events read through the pipe's thread against mp_trace_next read
 * directly, on a trace of several threads and every event kind, many batches long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event_pipe.h"
#include "same_event.h"
#include "trace_builder.h"
#include "trace_read.h"

#define THREADS 3
#define ROUNDS 6000 /* per thread: about 70 batches of 256 events in all */

struct opened {
	uint8_t *bytes;
	size_t len;
	struct mp_trace *trace;
};

/* A trace whose threads interleave allocations, frees, reallocs, mmaps and breaks, in
 * small chunks so that the merge switches streams and chunks all the time. */
static void build(struct opened *o)
{
	struct mp_tb *tb = mp_tb_new();
	uint64_t frames[] = { 0x401234, 0x401100 };
	mp_tb_set_chunk_capacity(tb, 4096);
	mp_tb_stack(tb, 1, 7, 0, frames, 2);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (uint64_t round = 0; round < ROUNDS; round++) {
		for (uint32_t serial = 1; serial <= THREADS; serial++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			uint64_t time = 1000 + round * 40 + serial * 3 + seed % 3;
			uint64_t addr = 0x100000 * serial + (round % 512) * 64;
			switch (round % 8) {
			case 0: case 1: case 2:
				mp_tb_malloc(tb, serial, time, addr, 16 + seed % 4000, 7);
				break;
			case 3:
				mp_tb_realloc(tb, serial, time, time + 1, addr - 64, addr, 99, 7);
				break;
			case 4:
				mp_tb_mmap(tb, serial, time, 0x7f0000000000 + round * 4096, 8192, 3,
					   0x22, -1, 0, 7);
				break;
			case 5:
				mp_tb_munmap(tb, serial, time, 0x7f0000000000 + (round - 1) * 4096, 4096);
				break;
			case 6:
				mp_tb_brk(tb, serial, time, 0x600000 + round, 0x601000 + round, 7);
				break;
			default:
				mp_tb_free(tb, serial, time, addr);
			}
		}
	}
	mp_tb_bytes(tb, &o->bytes, &o->len);
	mp_tb_destroy(tb);
	char err[256];
	assert_int_equal(mp_trace_open_memory(o->bytes, o->len, &o->trace, err, sizeof(err)), 0);
}

/* The reference: every event of the trace read directly, kept whole; the trace is
 * rewound after. Returns the array (free it), *total the count. */
static struct mp_event *read_reference(struct mp_trace *trace, size_t *total)
{
	size_t cap = (size_t)THREADS * ROUNDS + 16;
	struct mp_event *want = malloc(cap * sizeof(*want));
	assert_non_null(want);
	char err[128];
	*total = 0;
	while (*total < cap && mp_trace_next(trace, &want[*total], err, sizeof(err)) == 1)
		(*total)++;
	mp_trace_rewind(trace);
	return want;
}

static void test_pipe_hands_over_every_event_in_order(void **state)
{
	(void)state;
	struct opened o;
	build(&o);
	size_t total;
	struct mp_event *want = read_reference(o.trace, &total);
	assert_int_equal(total, (size_t)THREADS * ROUNDS);

	struct mp_event_pipe *pipe = mp_event_pipe_start(o.trace);
	assert_non_null(pipe);
	const struct mp_event *events;
	size_t count, seen = 0, batches = 0;
	while ((count = mp_event_pipe_next(pipe, &events)) > 0) {
		batches++;
		assert_true(seen + count <= total);
		for (size_t i = 0; i < count; i++)
			assert_same_event(&events[i], &want[seen + i]);
		seen += count;
	}
	assert_int_equal(seen, total);
	assert_true(batches > 16); /* the ring went round more than once */
	assert_int_equal(mp_event_pipe_next(pipe, &events), 0); /* and stays ended */
	assert_int_equal(mp_event_pipe_finish(pipe), 0);
	free(want);
	mp_trace_close(o.trace);
	free(o.bytes);
}

/* A consumer that stops early (the model ran out of memory) must not leave the reader
 * blocked on a full ring. */
static void test_finishing_early_stops_the_reader(void **state)
{
	(void)state;
	struct opened o;
	build(&o);
	for (int taken = 0; taken < 3; taken++) {
		struct mp_event_pipe *pipe = mp_event_pipe_start(o.trace);
		assert_non_null(pipe);
		const struct mp_event *events;
		for (int i = 0; i < taken; i++)
			assert_true(mp_event_pipe_next(pipe, &events) > 0);
		assert_int_equal(mp_event_pipe_finish(pipe), 0);
		mp_trace_rewind(o.trace);
	}
	mp_trace_close(o.trace);
	free(o.bytes);
}

/* A drained pipe hands over every event it read in the batches it published (this
 * trace's batches end early for want of room for whole events), and the caller reads the
 * rest from the trace: the same events, in the same order, as read directly. */
static void test_drained_pipe_leaves_the_rest_in_order(void **state)
{
	(void)state;
	struct opened o;
	build(&o);
	size_t total;
	struct mp_event *want = read_reference(o.trace, &total);
	assert_int_equal(total, (size_t)THREADS * ROUNDS);
	char err[128];
	static const int drain_after[] = { 0, 1, 2, 5, 20, 60 };
	for (size_t round = 0; round < sizeof(drain_after) / sizeof(drain_after[0]); round++) {
		mp_trace_rewind(o.trace);
		struct mp_event_pipe *pipe = mp_event_pipe_start(o.trace);
		assert_non_null(pipe);
		const struct mp_event *events;
		size_t count, seen = 0;
		for (int batch = 0; batch < drain_after[round]; batch++) {
			count = mp_event_pipe_next(pipe, &events);
			for (size_t i = 0; i < count; i++)
				assert_same_event(&events[i], &want[seen + i]);
			seen += count;
		}
		mp_event_pipe_drain(pipe);
		while ((count = mp_event_pipe_next(pipe, &events)) > 0) {
			for (size_t i = 0; i < count; i++)
				assert_same_event(&events[i], &want[seen + i]);
			seen += count;
		}
		struct mp_event event;
		assert_true(mp_event_pipe_finish(pipe) >= 0);
		while (mp_trace_next(o.trace, &event, err, sizeof(err)) == 1)
			assert_same_event(&event, &want[seen++]);
		assert_int_equal(seen, total);
	}
	free(want);
	mp_trace_close(o.trace);
	free(o.bytes);
}

static void test_an_empty_trace_ends_at_once(void **state)
{
	(void)state;
	struct opened o;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_bytes(tb, &o.bytes, &o.len);
	mp_tb_destroy(tb);
	char err[256];
	assert_int_equal(mp_trace_open_memory(o.bytes, o.len, &o.trace, err, sizeof(err)), 0);
	struct mp_event_pipe *pipe = mp_event_pipe_start(o.trace);
	assert_non_null(pipe);
	const struct mp_event *events;
	assert_int_equal(mp_event_pipe_next(pipe, &events), 0);
	assert_int_equal(mp_event_pipe_finish(pipe), 0);
	mp_trace_close(o.trace);
	free(o.bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_hands_over_every_event_in_order),
		cmocka_unit_test(test_finishing_early_stops_the_reader),
		cmocka_unit_test(test_drained_pipe_leaves_the_rest_in_order),
		cmocka_unit_test(test_an_empty_trace_ends_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
