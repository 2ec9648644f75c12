/* test_options.c: option values as "--name VALUE" and "--name=VALUE", sizes as the
 * library reads MEMPROF_SAMPLE_BYTES, and counts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "options.h"

static void values_come_after_an_equals_sign_or_as_the_next_argument(void **state)
{
	char *argv[] = { "--top", "5", "--top=7", "--topper", "--output", "--json", "--output" };
	const char *value = NULL;
	int i = 0;
	(void)state;
	assert_int_equal(mp_option_value(7, argv, &i, "--top", &value), 1);
	assert_string_equal(value, "5");
	assert_int_equal(i, 1); /* moved onto the value */
	i = 2;
	assert_int_equal(mp_option_value(7, argv, &i, "--top", &value), 1);
	assert_string_equal(value, "7");
	assert_int_equal(i, 2);
	i = 3;
	assert_int_equal(mp_option_value(7, argv, &i, "--top", &value), 0);
	/* No value: the next argument is an option, or there is none. */
	i = 4;
	assert_int_equal(mp_option_value(7, argv, &i, "--output", &value), -1);
	assert_int_equal(i, 4);
	i = 6;
	assert_int_equal(mp_option_value(7, argv, &i, "--output", &value), -1);
	assert_true(mp_option_is_help("--help"));
	assert_true(mp_option_is_help("-h"));
	assert_false(mp_option_is_help("--helpful"));
}

static void sizes_read_as_the_library_reads_them(void **state)
{
	uint64_t bytes;
	(void)state;
	assert_int_equal(mp_option_size("524288", &bytes), 0);
	assert_int_equal(bytes, 524288);
	assert_int_equal(mp_option_size("512k", &bytes), 0);
	assert_int_equal(bytes, 512 * 1024);
	assert_int_equal(mp_option_size("2M", &bytes), 0);
	assert_int_equal(bytes, 2 << 20);
	assert_int_equal(mp_option_size("1g", &bytes), 0);
	assert_int_equal(bytes, 1 << 30);
	assert_int_equal(mp_option_size("0", &bytes), 0);
	assert_int_equal(bytes, 0);
	const char *bad[] = { "abc", "-5", "512q", "", "k", "5kk", "1.5m", " 5", "5 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mp_option_size(bad[i], &bytes), -EINVAL);
	assert_int_equal(mp_option_size("99999999999999999999", &bytes), -ERANGE);
}

static void counts_are_plain_decimals_within_bounds(void **state)
{
	uint64_t value;
	(void)state;
	assert_int_equal(mp_option_count("0", 10, &value), 0);
	assert_int_equal(value, 0);
	assert_int_equal(mp_option_count("10", 10, &value), 0);
	assert_int_equal(value, 10);
	assert_int_equal(mp_option_count("11", 10, &value), -ERANGE);
	assert_int_equal(mp_option_count("18446744073709551615", UINT64_MAX, &value), 0);
	assert_int_equal(value, UINT64_MAX);
	assert_int_equal(mp_option_count("18446744073709551616", UINT64_MAX, &value), -ERANGE);
	assert_int_equal(mp_option_count("-1", 10, &value), -EINVAL);
	assert_int_equal(mp_option_count("", 10, &value), -EINVAL);
	assert_int_equal(mp_option_count("3x", 10, &value), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_come_after_an_equals_sign_or_as_the_next_argument),
		cmocka_unit_test(sizes_read_as_the_library_reads_them),
		cmocka_unit_test(counts_are_plain_decimals_within_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
