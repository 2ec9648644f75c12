/* test_time_buckets.c: each stack's allocations and frees in buckets of time, exactly,
 * from synthetic traces: a run of known length (128 buckets of 1000 ns), and a killed
 * run whose buckets must double as its events go past them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyze.h"
#include "time_buckets.h"
#include "trace_builder.h"

#define START 1000000ull

struct replayed {
	char path[64];
	struct mp_analysis analysis;
	struct mp_time_buckets *buckets;
};

static void replay(struct mp_tb *tb, struct replayed *out)
{
	char err[256];
	snprintf(out->path, sizeof(out->path), "/tmp/memprof-test-buckets.XXXXXX");
	int fd = mkstemp(out->path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mp_tb_write(tb, out->path), 0);
	mp_tb_destroy(tb);
	out->buckets = malloc(sizeof(*out->buckets));
	assert_non_null(out->buckets);
	assert_int_equal(mp_time_buckets_init(out->buckets), 0);
	assert_int_equal(mp_analysis_open(out->path, &out->analysis, 0, err, sizeof(err)), 0);
	out->analysis.observer = &out->buckets->observer;
	assert_int_equal(mp_analysis_replay(&out->analysis, NULL, err, sizeof(err)), 0);
	assert_int_equal(mp_time_buckets_finish(out->buckets, &out->analysis), 0);
}

static void release(struct replayed *r)
{
	mp_time_buckets_destroy(r->buckets);
	free(r->buckets);
	mp_analysis_destroy(&r->analysis);
	unlink(r->path);
}

/* The cell (stack, alloc, end) must hold exactly bytes and blocks. */
static void expect_cell(const struct mp_time_buckets *buckets, uint32_t stack, unsigned alloc,
			unsigned end, uint64_t bytes, uint64_t blocks)
{
	size_t count = 0;
	const struct mp_time_cell *cells = mp_time_buckets_of(buckets, stack, &count);
	for (size_t i = 0; i < count; i++)
		if (cells[i].alloc_bucket == alloc && cells[i].end_bucket == end) {
			assert_int_equal(cells[i].bytes, bytes);
			assert_int_equal(cells[i].blocks, blocks);
			return;
		}
	fail_msg("no cell (%u, %u, %u)", stack, alloc, end);
}

static struct mp_tb *known_run(void)
{
	struct mp_tb *tb = mp_tb_new();
	struct mp_file_header *header = mp_tb_header(tb);
	header->start_monotonic_ns = START;
	header->end_monotonic_ns = START + 128000; /* buckets of 1000 ns */
	for (uint64_t s = 1; s <= 3; s++) {
		uint64_t frames[] = { 0x401000 + s * 16 }; /* distinct, or they would be one stack */
		mp_tb_stack(tb, 1, s, 0, frames, 1);
	}
	mp_tb_malloc(tb, 1, START + 500, 0xa000, 100, 1);   /* bucket 0, freed in 2 */
	mp_tb_malloc(tb, 1, START + 600, 0xb000, 50, 1);    /* bucket 0, freed in 0 */
	mp_tb_free(tb, 1, START + 700, 0xb000);
	mp_tb_malloc(tb, 1, START + 1500, 0xe000, 10, 3);   /* bucket 1, realloc'd in 3 */
	mp_tb_free(tb, 1, START + 2500, 0xa000);
	mp_tb_realloc(tb, 1, START + 3500, START + 3600, 0xe000, 0xf000, 20, 3);
	mp_tb_malloc(tb, 1, START + 5500, 0xc000, 300, 2);  /* bucket 5, never freed */
	return tb;
}

static void test_time_buckets_cells_of_a_known_run(void **state)
{
	(void)state;
	struct replayed r;
	replay(known_run(), &r);
	const struct mp_time_buckets *b = r.buckets;
	assert_int_equal(b->bucket_ns, 1000);
	expect_cell(b, 1, 0, 0, 150, 2);   /* both allocated in bucket 0 */
	expect_cell(b, 1, 0, 2, 100, 1);   /* one freed in bucket 2; the other in its own */
	expect_cell(b, 3, 1, 1, 10, 1);
	expect_cell(b, 3, 1, 3, 10, 1);    /* released by the realloc */
	expect_cell(b, 3, 3, 3, 20, 1);
	expect_cell(b, 3, 3, MP_TIME_BUCKETS, 20, 1);
	expect_cell(b, 2, 5, 5, 300, 1);
	expect_cell(b, 2, 5, MP_TIME_BUCKETS, 300, 1);
	assert_int_equal(b->count, 8);
	/* The timeline: 8 points per bucket; the 150 bytes live after 600 ns are point 4's. */
	assert_int_equal(b->points[4].heap_max, 150);
	assert_int_equal(b->points[MP_TIME_POINTS - 1].seen, 0);
	release(&r);
}

static void test_time_buckets_double_when_the_end_is_unknown(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	struct mp_file_header *header = mp_tb_header(tb);
	header->start_monotonic_ns = START;
	header->end_state = MP_END_RUNNING; /* killed: buckets start 1 ms wide */
	uint64_t frames[] = { 0x401000 };
	mp_tb_stack(tb, 1, 1, 0, frames, 1);
	mp_tb_malloc(tb, 1, START + 500000, 0xa000, 64, 1);        /* 0.5 ms */
	mp_tb_malloc(tb, 1, START + 1500000, 0xb000, 32, 1);       /* 1.5 ms */
	mp_tb_free(tb, 1, START + 1700000, 0xa000);                /* 1.7 ms */
	mp_tb_free(tb, 1, START + 300000000, 0xb000);              /* 300 ms */
	struct replayed r;
	replay(tb, &r);
	const struct mp_time_buckets *b = r.buckets;
	/* 300 ms needs 4 ms buckets (128 x 2 ms = 256 ms is too short). */
	assert_int_equal(b->bucket_ns, 4000000);
	expect_cell(b, 1, 0, 0, 96, 2);
	expect_cell(b, 1, 0, 75, 32, 1);
	/* The free at 1.7 ms was a later bucket's at 1 ms; now it is the block's own. */
	assert_int_equal(b->count, 2);
	release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_buckets_cells_of_a_known_run),
		cmocka_unit_test(test_time_buckets_double_when_the_end_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
