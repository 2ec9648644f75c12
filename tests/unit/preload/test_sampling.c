/* test_sampling.c: the preload's sampling decision really samples an allocation of s
 * bytes with probability 1 - exp(-s/N), each independently, whatever came before. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "recorder_fixture.h"

#define MEAN 524288u
#define TRIALS 200000

/* Counts how many of TRIALS allocations of `size` bytes are sampled, on a thread state
 * of its own seeded with `seed`. */
static long count_sampled(uint64_t seed, size_t size)
{
	struct mp_thread thread;
	memset(&thread, 0, sizeof(thread));
	mp_config.sample_seed = seed;
	long sampled = 0;
	for (long i = 0; i < TRIALS; i++)
		sampled += mp_sampling_picks(&thread, size);
	return sampled;
}

/* Binomial(TRIALS, p): mean TRIALS p, standard deviation sqrt(TRIALS p (1 - p)). A fair
 * implementation lands outside 5 standard deviations once in 1.7 million; the seed is
 * fixed, so the test is also repeatable. */
static void check_probability(uint64_t seed, size_t size)
{
	double p = -expm1(-(double)size / MEAN);
	double mean = TRIALS * p, sigma = sqrt(TRIALS * p * (1 - p));
	long sampled = count_sampled(seed, size);
	if (fabs((double)sampled - mean) > 5 * sigma)
		fail_msg("size %zu: %ld of %d sampled, expected %.1f +- %.1f (5 sigma %.1f)", size,
			 sampled, TRIALS, mean, sigma, 5 * sigma);
}

static void test_probability_matches_for_small_and_large_sizes(void **state)
{
	(void)state;
	mp_config.sample_bytes = MEAN;
	const size_t sizes[] = { 64, 4096, MEAN / 8, MEAN / 2, MEAN, 3 * MEAN };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_probability(0x1234567u + i, sizes[i]);
}

/* Independence: after an allocation of one size, the chance for the next one does not
 * depend on whether the previous was sampled. Alternate a big and a small size and look
 * at the small ones that follow a sampled big one. */
static void test_decisions_do_not_depend_on_the_previous_one(void **state)
{
	(void)state;
	mp_config.sample_bytes = MEAN;
	struct mp_thread thread;
	memset(&thread, 0, sizeof(thread));
	mp_config.sample_seed = 0xfeedu;
	const size_t big = MEAN, small = MEAN / 4;
	long after_sampled = 0, sampled_after_sampled = 0;
	for (long i = 0; i < TRIALS; i++) {
		int big_sampled = mp_sampling_picks(&thread, big);
		int small_sampled = mp_sampling_picks(&thread, small);
		if (big_sampled) {
			after_sampled++;
			sampled_after_sampled += small_sampled;
		}
	}
	double p = -expm1(-(double)small / MEAN);
	double mean = (double)after_sampled * p;
	double sigma = sqrt((double)after_sampled * p * (1 - p));
	assert_true(fabs((double)sampled_after_sampled - mean) <= 5 * sigma);
}

static void test_no_sampling_records_everything(void **state)
{
	(void)state;
	mp_config.sample_bytes = 0;
	struct mp_thread thread;
	memset(&thread, 0, sizeof(thread));
	for (int i = 0; i < 1000; i++)
		assert_int_equal(mp_sampling_picks(&thread, 16), 1);
}

static void test_sampled_set_remembers_exactly_its_blocks(void **state)
{
	(void)state;
	mp_config.sample_bytes = MEAN;
	mp_config.sample_window_ms = 0;
	mp_sampling_set_configure();
	for (uint64_t addr = 0x10000; addr < 0x10000 + 5000 * 48; addr += 48) {
		struct mp_sampled_set_entry block = { .addr = addr, .size = 48, .stack = 1 };
		assert_int_equal(mp_sampling_set_insert(&block, NULL), 0);
	}
	/* Absent addresses, including neighbours of present ones, are never taken. */
	assert_int_equal(mp_sampling_set_take(0x10000 + 16, NULL), MP_SAMPLING_SET_NONE);
	assert_int_equal(mp_sampling_set_take(0x900000, NULL), MP_SAMPLING_SET_NONE);
	for (uint64_t addr = 0x10000; addr < 0x10000 + 5000 * 48; addr += 48)
		assert_int_equal(mp_sampling_set_take(addr, NULL), MP_SAMPLING_SET_WRITTEN);
	/* Each only once: a second free of the same address is not a sampled block's. */
	assert_int_equal(mp_sampling_set_take(0x10000, NULL), MP_SAMPLING_SET_NONE);
	/* The filter grew with the set (16 counters per block at least) and, the set empty
	 * again, counts nothing. */
	struct mp_sampling_set_filter filter = mp_sampling_set_filter_unpack(mp_sampling_set_filter_word);
	assert_true(filter.mask + 1 >= 5000 * 16);
	for (uint64_t i = 0; i <= filter.mask; i++)
		assert_int_equal(filter.counters[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probability_matches_for_small_and_large_sizes),
		cmocka_unit_test(test_decisions_do_not_depend_on_the_previous_one),
		cmocka_unit_test(test_no_sampling_records_everything),
		cmocka_unit_test(test_sampled_set_remembers_exactly_its_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
