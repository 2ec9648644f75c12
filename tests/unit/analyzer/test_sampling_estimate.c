/* test_sampling_estimate.c: how a sampled trace's events become estimates (heap_model). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "heap_model.h"

#define N 1000u

static struct mp_event event(enum mp_record_tag tag, uint64_t time, uint64_t addr, uint64_t size)
{
	struct mp_event e = { .tag = tag, .thread_serial = 1, .time_ns = time,
			      .time_before_ns = time, .addr = addr, .size = size, .stack_id = 1 };
	return e;
}

static void test_weights_follow_the_sampling_probability(void **state)
{
	(void)state;
	/* s = N: p = 1 - 1/e = 0.632121; 1/p = 1.581977, so a block stands for 2 blocks
	 * (rounded) and 1581.977 -> 1582 bytes. */
	assert_int_equal(mp_sample_weight_count(N, N), 2);
	assert_int_equal(mp_sample_weight_bytes(N, N), 1582);
	/* s = N/10: p = 0.0951626; 1/p = 10.50833: 11 blocks, 100/p = 1050.833 -> 1051. */
	assert_int_equal(mp_sample_weight_count(N, 100), 11);
	assert_int_equal(mp_sample_weight_bytes(N, 100), 1051);
	/* Far above N every block is sampled: weight 1, bytes exact. */
	assert_int_equal(mp_sample_weight_count(N, 50 * N), 1);
	assert_int_equal(mp_sample_weight_bytes(N, 50 * N), 50 * N);
	/* Not sampling: the identity. */
	assert_int_equal(mp_sample_weight_count(0, 123), 1);
	assert_int_equal(mp_sample_weight_bytes(0, 123), 123);
	/* The writer's one-exponential form (sample_weight.h) gives the same numbers. */
	for (uint64_t size = 0; size < 20 * N; size = size * 3 / 2 + 1) {
		struct mp_sample_weight weight = mp_sample_weigh(N, size);
		assert_int_equal(weight.blocks, mp_sample_weight_count(N, size));
		assert_int_equal(weight.bytes, mp_sample_weight_bytes(N, size));
	}
}

static void test_sampled_blocks_count_as_estimates_and_leave_no_residue(void **state)
{
	(void)state;
	struct mp_heap_model model;
	assert_int_equal(mp_heap_model_init(&model, 4, 4096), 0);
	mp_heap_model_set_sampling(&model, N);
	struct mp_event a = event(MP_REC_MALLOC, 10, 0x1000, 100);
	struct mp_event b = event(MP_REC_MALLOC, 20, 0x2000, N);
	struct mp_event free_a = event(MP_REC_FREE, 30, 0x1000, 0);
	assert_int_equal(mp_heap_model_feed(&model, &a), 0);
	assert_int_equal(mp_heap_model_feed(&model, &b), 0);
	const struct mp_heap_totals *t = &model.totals;
	assert_int_equal(t->samples, 2);
	assert_int_equal(t->allocations, 11 + 2);
	assert_int_equal(t->allocated_bytes, 1051 + 1582);
	assert_int_equal(t->live_bytes, 1051 + 1582);
	assert_int_equal(t->peak_bytes, 1051 + 1582);
	assert_int_equal(mp_heap_model_feed(&model, &free_a), 0);
	/* The free stands for the 11 blocks its block stood for. */
	assert_int_equal(t->frees, 11);
	assert_int_equal(t->live_bytes, 1582);
	assert_int_equal(t->live_blocks, 2);
	mp_heap_model_finish(&model);
	/* The stack's aggregate is scaled alike. */
	const struct mp_stack_agg *agg = &model.stacks.aggs[1];
	assert_int_equal(agg->calls, 13);
	assert_int_equal(agg->allocated_bytes, 1051 + 1582);
	assert_int_equal(agg->live_bytes, 1582);
	mp_heap_model_destroy(&model);
}

static void test_sampled_realloc_sides(void **state)
{
	(void)state;
	struct mp_heap_model model;
	assert_int_equal(mp_heap_model_init(&model, 4, 4096), 0);
	mp_heap_model_set_sampling(&model, N);
	/* Only the new side sampled: recorded as realloc(NULL, n), an allocation. */
	struct mp_event grow = event(MP_REC_REALLOC, 10, 0x3000, N);
	assert_int_equal(mp_heap_model_feed(&model, &grow), 0);
	assert_int_equal(model.totals.allocations, 2);
	assert_int_equal(model.totals.live_bytes, 1582);
	/* Only the old side sampled: recorded as realloc(p, 0), a free of what it stood for. */
	struct mp_event shrink = event(MP_REC_REALLOC, 20, 0, 0);
	shrink.old_addr = 0x3000;
	assert_int_equal(mp_heap_model_feed(&model, &shrink), 0);
	assert_int_equal(model.totals.frees, 2);
	assert_int_equal(model.totals.live_bytes, 0);
	assert_int_equal(model.totals.live_blocks, 0);
	mp_heap_model_destroy(&model);
}

static void test_exact_trace_unchanged(void **state)
{
	(void)state;
	struct mp_heap_model model;
	assert_int_equal(mp_heap_model_init(&model, 4, 4096), 0);
	struct mp_event a = event(MP_REC_MALLOC, 10, 0x1000, 100);
	assert_int_equal(mp_heap_model_feed(&model, &a), 0);
	assert_int_equal(model.totals.allocations, 1);
	assert_int_equal(model.totals.allocated_bytes, 100);
	mp_heap_model_destroy(&model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weights_follow_the_sampling_probability),
		cmocka_unit_test(test_sampled_blocks_count_as_estimates_and_leave_no_residue),
		cmocka_unit_test(test_sampled_realloc_sides),
		cmocka_unit_test(test_exact_trace_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
