/* test_sample_window.c: a sampled trace with a sampling window: the SAMPLES_FREED counts
 * and the writer's SAMPLED_PEAK captures become the right figures (freed_samples.c,
 * sampled_peak.c, through mp_analysis_run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze.h"
#include "memprof/varint.h"
#include "trace_builder.h"

#define N 1000u

/* Appends the u varints of values[] to an extended record of `tag` on thread `serial`. */
static void put_record(struct mp_tb *tb, uint32_t serial, unsigned tag, const uint64_t *values,
		       size_t count)
{
	uint8_t body[16 * MP_VARINT_MAX], *at = body;
	for (size_t i = 0; i < count; i++)
		at = mp_put_u(at, values[i]);
	mp_tb_extended(tb, serial, tag, body, (size_t)(at - body));
}

static void freed(struct mp_tb *tb, uint32_t serial, uint64_t stack, uint64_t samples,
		  uint64_t blocks, uint64_t bytes, uint64_t sampled_bytes)
{
	const uint64_t values[] = { stack, samples, blocks, bytes, sampled_bytes };
	put_record(tb, serial, MP_REC_SAMPLES_FREED, values, 5);
}

static void peak(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint64_t time,
		 uint64_t blocks, uint64_t bytes, uint64_t stacks)
{
	const uint64_t values[] = { seq, time, blocks, bytes, stacks };
	put_record(tb, serial, MP_REC_SAMPLED_PEAK, values, 5);
}

static void peak_stack(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint64_t stack,
		       uint64_t blocks, uint64_t bytes)
{
	const uint64_t values[] = { seq, stack, blocks, bytes };
	put_record(tb, serial, MP_REC_SAMPLED_PEAK_STACK, values, 4);
}

/* Writes the trace and analyzes it; the caller destroys the analysis. */
static void analyze(struct mp_tb *tb, struct mp_analysis *analysis)
{
	char path[] = "/tmp/memprof-window-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mp_tb_write(tb, path), 0);
	char err[256];
	assert_int_equal(mp_analysis_run(path, analysis, 0, err, sizeof(err)), 0);
	unlink(path);
}

static struct mp_tb *windowed_trace(void)
{
	struct mp_tb *tb = mp_tb_new();
	mp_tb_header(tb)->sample_bytes = N;
	mp_tb_header(tb)->sample_window_ms = 1000;
	return tb;
}

static void test_counts_add_to_their_stacks_and_the_totals(void **state)
{
	(void)state;
	struct mp_tb *tb = windowed_trace();
	const uint64_t frames_a[] = { 0x401000 }, frames_b[] = { 0x402000 };
	/* Thread 2 counts under stack 7 before thread 1 defines it (another chunk, later in
	 * the file); the reader must still find it. */
	freed(tb, 2, 7, 3, 33, 3153, 300);
	mp_tb_stack(tb, 1, 5, 0, frames_a, 1);
	mp_tb_stack(tb, 1, 7, 0, frames_b, 1);
	/* One written sample of stack 5: 100 bytes stand for 11 blocks, 1051 bytes. */
	mp_tb_malloc(tb, 1, 10, 0x1000, 100, 5);
	freed(tb, 1, 5, 2, 4, 3164, 2000);
	freed(tb, 2, 5, 1, 2, 1582, 1000);
	struct mp_analysis analysis;
	analyze(tb, &analysis);
	const struct mp_heap_totals *t = &analysis.model.totals;
	assert_int_equal(t->samples, 1 + 3 + 2 + 1);
	assert_int_equal(t->window_samples, 6);
	assert_int_equal(t->window_blocks, 33 + 4 + 2);
	assert_int_equal(t->window_bytes, 3153 + 3164 + 1582);
	assert_int_equal(t->allocations, 11 + 39);
	assert_int_equal(t->frees, 39);
	assert_int_equal(t->allocated_bytes, 1051 + 3153 + 3164 + 1582);
	/* Counted samples were never live: only the written one is. */
	assert_int_equal(t->live_bytes, 1051);
	uint32_t count;
	uint32_t generation;
	for (uint32_t id = 1; id <= mp_trace_stack_count(analysis.trace); id++) {
		const uint64_t *ips = mp_trace_stack(analysis.trace, id, &count, &generation);
		const struct mp_stack_agg *agg = &analysis.model.stacks.aggs[id];
		if (ips[0] == 0x401000) {
			assert_int_equal(agg->allocated_bytes, 1051 + 3164 + 1582);
			assert_int_equal(agg->calls, 11 + 4 + 2);
		} else {
			assert_int_equal(agg->allocated_bytes, 3153);
			assert_int_equal(agg->calls, 33);
		}
	}
	mp_analysis_destroy(&analysis);
	mp_tb_destroy(tb);
}

static void test_the_highest_complete_capture_is_the_peak(void **state)
{
	(void)state;
	struct mp_tb *tb = windowed_trace();
	const uint64_t frames_a[] = { 0x401000 }, frames_b[] = { 0x402000 };
	mp_tb_stack(tb, 1, 5, 0, frames_a, 1);
	mp_tb_stack(tb, 1, 7, 0, frames_b, 1);
	uint64_t start = mp_tb_header(tb)->start_monotonic_ns;
	peak(tb, 1, 1, start + 100, 20, 5000, 1);
	peak_stack(tb, 1, 1, 5, 20, 5000);
	peak(tb, 1, 2, start + 200, 30, 9000, 2);
	peak_stack(tb, 1, 2, 5, 10, 4000);
	peak_stack(tb, 1, 2, 7, 20, 5000);
	/* The highest, but cut short: one of its two stacks never came. */
	peak(tb, 2, 3, start + 300, 40, 9999, 2);
	peak_stack(tb, 2, 3, 5, 40, 9999);
	struct mp_analysis analysis;
	analyze(tb, &analysis);
	const struct mp_heap_totals *t = &analysis.model.totals;
	assert_int_equal(t->peak_bytes, 9000);
	assert_int_equal(t->peak_blocks, 30);
	assert_int_equal(t->peak_time_ns, start + 200);
	uint32_t count, generation;
	for (uint32_t id = 1; id <= mp_trace_stack_count(analysis.trace); id++) {
		const uint64_t *ips = mp_trace_stack(analysis.trace, id, &count, &generation);
		const struct mp_stack_agg *agg = &analysis.model.stacks.aggs[id];
		assert_int_equal(agg->peak_bytes, ips[0] == 0x401000 ? 4000 : 5000);
	}
	mp_analysis_destroy(&analysis);
	mp_tb_destroy(tb);
}

static void test_impossible_counts_end_the_chunk(void **state)
{
	(void)state;
	struct mp_tb *tb = windowed_trace();
	const uint64_t frames[] = { 0x401000 };
	mp_tb_stack(tb, 1, 5, 0, frames, 1);
	freed(tb, 1, 5, 2, 4, 3164, 2000);
	/* Fewer blocks than samples cannot come from a writer: corruption. */
	freed(tb, 1, 5, 5, 1, 5000, 5000);
	freed(tb, 1, 5, 1, 2, 1582, 1000);
	struct mp_analysis analysis;
	analyze(tb, &analysis);
	assert_int_equal(analysis.model.totals.window_samples, 2);
	assert_int_equal(analysis.complete, 0);
	assert_int_equal(analysis.stats.corrupt_chunks, 1);
	mp_analysis_destroy(&analysis);
	mp_tb_destroy(tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_add_to_their_stacks_and_the_totals),
		cmocka_unit_test(test_the_highest_complete_capture_is_the_peak),
		cmocka_unit_test(test_impossible_counts_end_the_chunk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
