/* test_stack_stats.c: per-stack aggregates: ranking, ties, metric names, lazy peak shares. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stack_stats.h"

static void set_live(struct mp_stack_stats *stats, uint32_t id, uint64_t bytes)
{
	struct mp_stack_agg *agg = mp_stack_stats_at(stats, id);
	mp_stack_stats_touch(stats, agg);
	agg->live_bytes = bytes;
}

static void top_orders_by_value_then_id_and_skips_zero(void **state)
{
	struct mp_stack_stats stats;
	uint32_t ids[10];
	(void)state;
	assert_int_equal(mp_stack_stats_init(&stats, 4), 0);
	mp_stack_stats_at(&stats, 1)->allocated_bytes = 10;
	mp_stack_stats_at(&stats, 2)->allocated_bytes = 30;
	mp_stack_stats_at(&stats, 3)->allocated_bytes = 10;
	mp_stack_stats_at(&stats, 7)->allocated_bytes = 0;
	mp_stack_stats_at(&stats, 9)->calls = 4;
	assert_int_equal(mp_stack_stats_count(&stats), 10);
	assert_int_equal(mp_stack_stats_top(&stats, MP_METRIC_ALLOCATED, ids, 10), 3);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 1);
	assert_int_equal(ids[2], 3);
	assert_int_equal(mp_stack_stats_top(&stats, MP_METRIC_ALLOCATED, ids, 2), 2);
	assert_int_equal(mp_stack_stats_top(&stats, MP_METRIC_CALLS, ids, 10), 1);
	assert_int_equal(ids[0], 9);
	mp_stack_stats_destroy(&stats);
}

static void peak_share_is_the_value_at_the_last_peak(void **state)
{
	struct mp_stack_stats stats;
	(void)state;
	assert_int_equal(mp_stack_stats_init(&stats, 2), 0);
	set_live(&stats, 1, 100);
	mp_stack_stats_mark_peak(&stats);
	set_live(&stats, 1, 20);  /* after peak 1: saves 100 */
	set_live(&stats, 2, 500);
	mp_stack_stats_mark_peak(&stats);
	set_live(&stats, 2, 0);   /* after peak 2: saves 500 */
	set_live(&stats, 2, 7);
	mp_stack_stats_finish(&stats);
	assert_int_equal(mp_stack_stats_at(&stats, 1)->peak_bytes, 20);
	assert_int_equal(mp_stack_stats_at(&stats, 2)->peak_bytes, 500);
	assert_int_equal(mp_stack_stats_value(mp_stack_stats_at(&stats, 2), MP_METRIC_UNFREED), 7);
	/* Leaked is the lost part of it, which only leaks.c knows: none until it says. */
	assert_int_equal(mp_stack_stats_value(mp_stack_stats_at(&stats, 2), MP_METRIC_LEAKED), 0);
	mp_stack_stats_at(&stats, 2)->leaked_bytes = 5;
	assert_int_equal(mp_stack_stats_value(mp_stack_stats_at(&stats, 2), MP_METRIC_LEAKED), 5);
	mp_stack_stats_destroy(&stats);
}

static void metric_names_parse(void **state)
{
	enum mp_stack_metric metric;
	(void)state;
	assert_int_equal(mp_stack_metric_parse("allocated", &metric), 0);
	assert_int_equal(metric, MP_METRIC_ALLOCATED);
	assert_int_equal(mp_stack_metric_parse("leaked", &metric), 0);
	assert_int_equal(metric, MP_METRIC_LEAKED);
	assert_int_equal(mp_stack_metric_parse("peak", &metric), 0);
	assert_int_equal(metric, MP_METRIC_PEAK);
	assert_int_equal(mp_stack_metric_parse("calls", &metric), 0);
	assert_int_equal(metric, MP_METRIC_CALLS);
	assert_int_equal(mp_stack_metric_parse("unfreed", &metric), 0);
	assert_int_equal(metric, MP_METRIC_UNFREED);
	assert_int_equal(mp_stack_metric_parse("bytes", &metric), -EINVAL);
	for (int m = MP_METRIC_ALLOCATED; m <= MP_METRIC_UNFREED; m++) {
		assert_int_equal(mp_stack_metric_parse(mp_stack_metric_name(m), &metric), 0);
		assert_int_equal(metric, m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(top_orders_by_value_then_id_and_skips_zero),
		cmocka_unit_test(peak_share_is_the_value_at_the_last_peak),
		cmocka_unit_test(metric_names_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
