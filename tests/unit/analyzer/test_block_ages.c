/* test_block_ages.c: the allocation bucket kept per live block, through growth, removal
 * (backward shift) and the halving of every tag. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "block_ages.h"

static void test_block_ages_put_take_many_through_growth(void **state)
{
	(void)state;
	struct mp_block_ages ages;
	uint8_t tag;
	assert_int_equal(mp_block_ages_init(&ages), 0);
	for (uint64_t i = 1; i <= 5000; i++)
		assert_int_equal(mp_block_ages_put(&ages, 0x7f0000000000ull + i * 16, (uint8_t)(i % 128)), 0);
	assert_int_equal(ages.count, 5000);
	/* Take every other one: the rest must still be found after the shifts. */
	for (uint64_t i = 1; i <= 5000; i += 2) {
		assert_int_equal(mp_block_ages_take(&ages, 0x7f0000000000ull + i * 16, &tag), 1);
		assert_int_equal(tag, i % 128);
	}
	for (uint64_t i = 2; i <= 5000; i += 2) {
		assert_int_equal(mp_block_ages_get(&ages, 0x7f0000000000ull + i * 16, &tag), 1);
		assert_int_equal(tag, i % 128);
	}
	assert_int_equal(mp_block_ages_take(&ages, 0x7f0000000000ull + 16, &tag), 0);
	assert_int_equal(ages.count, 2500);
	mp_block_ages_destroy(&ages);
}

static void test_block_ages_replace_halve_and_range(void **state)
{
	(void)state;
	struct mp_block_ages ages;
	uint8_t tag = 0;
	assert_int_equal(mp_block_ages_init(&ages), 0);
	assert_int_equal(mp_block_ages_put(&ages, 0x1000, 7), 0);
	assert_int_equal(mp_block_ages_put(&ages, 0x1000, 9), 0);
	assert_int_equal(ages.count, 1);
	mp_block_ages_halve(&ages);
	assert_int_equal(mp_block_ages_get(&ages, 0x1000, &tag), 1);
	assert_int_equal(tag, 4);
	assert_int_equal(mp_block_ages_put(&ages, MP_BLOCK_AGES_ADDR_LIMIT, 1), -ERANGE);
	assert_int_equal(mp_block_ages_put(&ages, 0, 1), -ERANGE);
	mp_block_ages_destroy(&ages);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_ages_put_take_many_through_growth),
		cmocka_unit_test(test_block_ages_replace_halve_and_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
