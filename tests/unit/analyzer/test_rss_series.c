/* test_rss_series.c: decoding the RSS watch's records (rss_series.c) from a synthetic trace. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "memprof/varint.h"
#include "rss_series.h"
#include "trace_builder.h"

static void rss_record(struct mp_tb *tb, uint64_t time, uint64_t rss, uint64_t shared,
		       uint64_t virt, uint64_t period)
{
	uint8_t body[64], *at = body;
	at = mp_put_u(at, time);
	at = mp_put_u(at, rss);
	at = mp_put_u(at, shared);
	at = mp_put_u(at, virt);
	at = mp_put_u(at, period);
	mp_tb_extended(tb, 1, MP_REC_RSS, body, (size_t)(at - body));
}

static struct mp_trace *open_built(struct mp_tb *tb, uint8_t **bytes)
{
	struct mp_trace *trace;
	size_t len;
	char err[256];
	assert_int_equal(mp_tb_bytes(tb, bytes, &len), 0);
	mp_tb_destroy(tb);
	assert_int_equal(mp_trace_open_memory(*bytes, len, &trace, err, sizeof(err)), 0);
	return trace;
}

static void test_series_in_time_order_with_its_highest_sample(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	uint8_t *bytes, truncated[] = { 0x80 };
	rss_record(tb, 3000, 5 << 20, 1 << 20, 9 << 20, 10);
	rss_record(tb, 1000, 2 << 20, 1 << 20, 8 << 20, 10);
	rss_record(tb, 2000, 7 << 20, 1 << 20, 9 << 20, 10);
	rss_record(tb, 4000, 7 << 20, 1 << 20, 9 << 20, 10);
	mp_tb_extended(tb, 1, MP_REC_RSS, truncated, sizeof(truncated));
	struct mp_trace *trace = open_built(tb, &bytes);
	struct mp_rss_series series;
	uint64_t bad;
	assert_int_equal(mp_rss_series_load(&series, trace, &bad), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(series.count, 4);
	assert_int_equal(series.period_ms, 10);
	assert_int_equal(series.samples[0].time_ns, 1000);
	assert_int_equal(series.samples[3].time_ns, 4000);
	/* The highest RSS, the first of equals. */
	assert_int_equal(series.samples[series.max_index].time_ns, 2000);
	assert_int_equal(series.samples[series.max_index].shared, 1 << 20);
	assert_int_equal(series.samples[series.max_index].virt, 9 << 20);
	mp_rss_series_free(&series);
	mp_trace_close(trace);
	free(bytes);
}

static void test_no_record_no_series(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	uint8_t *bytes;
	mp_tb_malloc(tb, 1, 10, 0x1000, 16, 0);
	struct mp_trace *trace = open_built(tb, &bytes);
	struct mp_rss_series series;
	uint64_t bad;
	assert_int_equal(mp_rss_series_load(&series, trace, &bad), 0);
	assert_int_equal(series.count, 0);
	assert_int_equal(series.period_ms, 0);
	assert_int_equal(bad, 0);
	mp_rss_series_free(&series);
	mp_trace_close(trace);
	free(bytes);
}

static void test_decode_refuses_a_period_beyond_32_bits(void **state)
{
	(void)state;
	uint8_t body[64], *at = body;
	struct mp_rss_sample sample;
	uint32_t period;
	for (int i = 0; i < 4; i++)
		at = mp_put_u(at, 1);
	at = mp_put_u(at, 1ull << 40);
	assert_int_equal(mp_rss_series_decode(body, at, &sample, &period), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_series_in_time_order_with_its_highest_sample),
		cmocka_unit_test(test_no_record_no_series),
		cmocka_unit_test(test_decode_refuses_a_period_beyond_32_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
