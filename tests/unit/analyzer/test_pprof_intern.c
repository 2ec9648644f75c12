/* test_pprof_intern.c: the string table and hash indexes of a pprof profile, and the
 * baseline of per-stack allocations run --push keeps across reopenings of a trace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pprof_baseline.h"
#include "pprof_intern.h"

static void string_zero_is_empty_and_strings_are_kept_once(void **state)
{
	struct mp_pprof_strings strings = { 0 };
	(void)state;
	assert_int_equal(mp_pprof_string(&strings, "main"), 1);
	assert_string_equal(strings.items[0], "");
	assert_int_equal(mp_pprof_string(&strings, ""), 0);
	assert_int_equal(mp_pprof_string(&strings, NULL), 0);
	assert_int_equal(mp_pprof_string(&strings, "malloc"), 2);
	assert_int_equal(mp_pprof_string(&strings, "main"), 1);
	assert_int_equal(strings.count, 3);
	mp_pprof_strings_free(&strings);
}

static void many_strings_survive_growth(void **state)
{
	struct mp_pprof_strings strings = { 0 };
	char name[32];
	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(mp_pprof_string(&strings, name), i + 1);
	}
	for (int i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(mp_pprof_string(&strings, name), i + 1);
		assert_string_equal(strings.items[i + 1], name);
	}
	mp_pprof_strings_free(&strings);
}

/* Entries are numbers; `same` compares the probe with them. */
static int same_number(const void *context, uint32_t item)
{
	const uint32_t *probe = context;
	return probe[0] == probe[1 + item];
}

static void colliding_hashes_stay_distinct_entries(void **state)
{
	struct mp_pprof_index index = { 0 };
	uint32_t table[1 + 3] = { 0, 10, 20, 30 }; /* [0]: the probe; then entries 0..2 */
	(void)state;
	for (uint32_t item = 0; item < 3; item++)
		assert_int_equal(mp_pprof_index_add(&index, 42, item), 0); /* one hash for all */
	for (uint32_t item = 0; item < 3; item++) {
		table[0] = table[1 + item];
		assert_int_equal(mp_pprof_index_find(&index, 42, same_number, table), item);
	}
	table[0] = 40;
	assert_int_equal(mp_pprof_index_find(&index, 42, same_number, table), -1);
	table[0] = 10;
	assert_int_equal(mp_pprof_index_find(&index, 43, same_number, table), -1);
	mp_pprof_index_free(&index);
}

static void baseline_is_keyed_by_generation_and_frames(void **state)
{
	struct mp_pprof_baseline *baseline = mp_pprof_baseline_new();
	uint64_t a[] = { 0x401234, 0x401100 }, b[] = { 0x401234, 0x401101 };
	(void)state;
	assert_non_null(baseline);
	struct mp_pprof_allocated none = mp_pprof_baseline_get(baseline, 1, a, 2);
	assert_int_equal(none.objects, 0);
	assert_int_equal(none.bytes, 0);
	assert_int_equal(mp_pprof_baseline_set(baseline, 1, a, 2,
					       (struct mp_pprof_allocated){ 3, 300 }), 0);
	assert_int_equal(mp_pprof_baseline_set(baseline, 0, NULL, 0,
					       (struct mp_pprof_allocated){ 1, 7 }), 0);
	assert_int_equal(mp_pprof_baseline_get(baseline, 1, a, 2).bytes, 300);
	assert_int_equal(mp_pprof_baseline_get(baseline, 2, a, 2).bytes, 0); /* generation */
	assert_int_equal(mp_pprof_baseline_get(baseline, 1, b, 2).bytes, 0); /* a frame */
	assert_int_equal(mp_pprof_baseline_get(baseline, 1, a, 1).bytes, 0); /* the depth */
	assert_int_equal(mp_pprof_baseline_get(baseline, 0, NULL, 0).bytes, 7);
	assert_int_equal(mp_pprof_baseline_set(baseline, 1, a, 2,
					       (struct mp_pprof_allocated){ 5, 500 }), 0);
	assert_int_equal(mp_pprof_baseline_get(baseline, 1, a, 2).objects, 5);
	mp_pprof_baseline_free(baseline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(string_zero_is_empty_and_strings_are_kept_once),
		cmocka_unit_test(many_strings_survive_growth),
		cmocka_unit_test(colliding_hashes_stay_distinct_entries),
		cmocka_unit_test(baseline_is_keyed_by_generation_and_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
