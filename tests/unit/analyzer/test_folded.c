/* test_folded.c: folded-stack lines: frame order, name escaping, unknown frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "report.h"

/* Runs mp_folded_line into a string; the caller frees it. */
static char *folded(const struct mp_frame *frames, int count, uint64_t value)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(mp_folded_line(out, frames, count, value), 0);
	fclose(out);
	return text;
}

static void outermost_frame_comes_first(void **state)
{
	struct mp_frame frames[] = {
		{ .function = "xstrdup", .address = 0x1000 },
		{ .function = "parse_config", .address = 0x2000 },
		{ .function = "main", .address = 0x3000 },
	};
	char *line = folded(frames, 3, 4096);
	(void)state;
	assert_string_equal(line, "main;parse_config;xstrdup 4096\n");
	free(line);
}

static void semicolons_in_names_become_colons(void **state)
{
	struct mp_frame frames[] = {
		{ .function = "operator;(A, B)", .address = 0x1000 },
		{ .function = "ns::f<a;b>()", .address = 0x2000 },
	};
	char *line = folded(frames, 2, 7);
	(void)state;
	assert_string_equal(line, "ns::f<a:b>();operator:(A, B) 7\n");
	free(line);
}

static void unknown_functions_use_module_offset_or_address(void **state)
{
	struct mp_frame frames[] = {
		{ .module = "libfoo.so", .module_offset = 0x1a2b, .address = 0x7f0000001a2b },
		{ .address = 0xdeadbeef },
	};
	char *line = folded(frames, 2, 1);
	(void)state;
	assert_string_equal(line, "0xdeadbeef;libfoo.so+0x1a2b 1\n");
	free(line);
}

static void empty_stack_has_a_placeholder(void **state)
{
	char *line = folded(NULL, 0, 12);
	(void)state;
	assert_string_equal(line, "[no stack] 12\n");
	free(line);
}

static void large_values_print_in_full(void **state)
{
	struct mp_frame frame = { .function = "f" };
	char *line = folded(&frame, 1, 18446744073709551615ull);
	(void)state;
	assert_string_equal(line, "f 18446744073709551615\n");
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(outermost_frame_comes_first),
		cmocka_unit_test(semicolons_in_names_become_colons),
		cmocka_unit_test(unknown_functions_use_module_offset_or_address),
		cmocka_unit_test(empty_stack_has_a_placeholder),
		cmocka_unit_test(large_values_print_in_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
