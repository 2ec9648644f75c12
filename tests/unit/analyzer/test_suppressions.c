/* test_suppressions.c: parsing suppression rules and matching them against stacks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "suppressions.h"

static const struct mp_frame stack[] = {
	{ .function = "cache_insert", .file = "/src/lib/third_party/cache.c", .line = 10,
	  .module = "libcache.so.2" },
	{ .function = "ns::Widget::make(int)", .file = "/src/app/widget.cc", .line = 20,
	  .module = "app" },
	{ .function = "main", .file = "/src/app/main.c", .line = 5, .module = "app" },
};
#define DEPTH 3

static int match(const char *rules)
{
	struct mp_suppressions supp = { 0 };
	char err[256];
	assert_int_equal(mp_suppressions_parse(&supp, "test.supp", rules, err, sizeof(err)), 0);
	int rule = mp_suppressions_match(&supp, stack, DEPTH);
	mp_suppressions_free(&supp);
	return rule;
}

static void test_suppressions_function_glob_anywhere_in_stack(void **state)
{
	(void)state;
	assert_int_equal(match("function:main\n"), 0);
	assert_int_equal(match("function:cache_*"), 0);
	assert_int_equal(match("fun:ns::Widget::make*"), 0);
	assert_int_equal(match("function:cache"), -1);
	assert_int_equal(match("function:mai?"), 0);
}

static void test_suppressions_file_basename_or_whole_path(void **state)
{
	(void)state;
	assert_int_equal(match("file:cache.c"), 0);
	assert_int_equal(match("src:*.cc"), 0);
	assert_int_equal(match("file:*/third_party/*"), 0);
	assert_int_equal(match("file:/src/app/*.c"), 0);
	assert_int_equal(match("file:third_party"), -1);
}

static void test_suppressions_module_and_all_conditions(void **state)
{
	(void)state;
	assert_int_equal(match("module:libcache.so*"), 0);
	assert_int_equal(match("obj:libz.so*"), -1);
	/* All conditions of a rule must hold; each may hold in another frame. */
	assert_int_equal(match("module:app function:cache_insert"), 0);
	assert_int_equal(match("module:libz.so function:cache_insert"), -1);
}

/* alloc-module: the object of the innermost frame, the code that called malloc, only. */
static void test_suppressions_alloc_module_is_the_innermost_frames(void **state)
{
	(void)state;
	assert_int_equal(match("alloc-module:libcache.so*"), 0);
	assert_int_equal(match("alloc-module:app"), -1); /* app is further out */
	assert_int_equal(match("alloc-module:libcache.so.2 function:main"), 0);
	struct mp_suppressions supp = { 0 };
	char err[256];
	assert_int_equal(mp_suppressions_parse(&supp, "s", "alloc-module:*", err, sizeof(err)), 0);
	assert_int_equal(mp_suppressions_match(&supp, NULL, 0), -1);
	mp_suppressions_free(&supp);
}

static void test_suppressions_first_matching_rule_comments_blank_lines(void **state)
{
	(void)state;
	struct mp_suppressions supp = { 0 };
	char err[256];
	const char *text = "# known leaks\n\n  function:nothing_*   # trailing comment\n"
			   "\tmodule:app\r\nfunction:main\n";
	assert_int_equal(mp_suppressions_parse(&supp, "x.supp", text, err, sizeof(err)), 0);
	assert_int_equal(supp.count, 3);
	assert_string_equal(supp.rules[0].text, "function:nothing_*");
	assert_int_equal(supp.rules[0].line, 3);
	assert_string_equal(supp.rules[1].text, "module:app");
	assert_int_equal(supp.rules[1].line, 4);
	assert_string_equal(supp.rules[1].file, "x.supp");
	assert_int_equal(mp_suppressions_match(&supp, stack, DEPTH), 1);
	mp_suppressions_free(&supp);
}

static void test_suppressions_bad_rules_name_file_and_line(void **state)
{
	(void)state;
	struct mp_suppressions supp = { 0 };
	char err[256];
	assert_int_equal(mp_suppressions_parse(&supp, "bad.supp", "function:a\nsymbol:x\n", err,
					       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'bad.supp' line 2"));
	assert_int_equal(supp.count, 1);
	assert_int_equal(mp_suppressions_parse(&supp, "bad.supp", "file:", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "empty pattern"));
	mp_suppressions_free(&supp);
	assert_true(mp_suppressions_load(&supp, "/nonexistent/x.supp", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "'/nonexistent/x.supp'"));
}

static void test_suppressions_frames_without_names_never_match(void **state)
{
	(void)state;
	struct mp_frame unnamed = { .address = 0x1234 };
	struct mp_suppressions supp = { 0 };
	char err[256];
	assert_int_equal(mp_suppressions_parse(&supp, "s", "function:*\nmodule:*\nfile:*", err,
					       sizeof(err)), 0);
	assert_int_equal(mp_suppressions_match(&supp, &unnamed, 1), -1);
	assert_int_equal(mp_suppressions_match(&supp, NULL, 0), -1);
	mp_suppressions_free(&supp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suppressions_function_glob_anywhere_in_stack),
		cmocka_unit_test(test_suppressions_file_basename_or_whole_path),
		cmocka_unit_test(test_suppressions_module_and_all_conditions),
		cmocka_unit_test(test_suppressions_alloc_module_is_the_innermost_frames),
		cmocka_unit_test(test_suppressions_first_matching_rule_comments_blank_lines),
		cmocka_unit_test(test_suppressions_bad_rules_name_file_and_line),
		cmocka_unit_test(test_suppressions_frames_without_names_never_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
