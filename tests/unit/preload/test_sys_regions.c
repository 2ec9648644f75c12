/* test_sys_regions.c: memprof's list of its own regions (sys.c, mp_sys_own_regions):
 * every region mp_sys_map_anon made is in it, more than the 256 the list once held, sorted
 * by address with neighbours merged into one, and an unmapped region leaves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base.h"

#define REGIONS 600u /* one thread's memo each, in a program of 600 threads */
#define REGION_BYTES (3u * 4096u)

static struct mp_sys_region listed[MP_SYS_OWN_REGIONS_MAX];

/* The listed range that holds [start, start + len) whole, or NULL. */
static const struct mp_sys_region *holding(size_t count, uint64_t start, uint64_t len)
{
	for (size_t i = 0; i < count; i++)
		if (listed[i].start <= start && start + len <= listed[i].start + listed[i].length)
			return &listed[i];
	return NULL;
}

static void test_regions_are_listed_sorted_and_merged(void **state)
{
	(void)state;
	static void *regions[REGIONS];
	for (unsigned i = 0; i < REGIONS; i++) {
		regions[i] = mp_sys_map_anon(REGION_BYTES);
		assert_non_null(regions[i]);
	}
	size_t count = mp_sys_own_regions(listed, MP_SYS_OWN_REGIONS_MAX);
	assert_true(count > 0);
	for (size_t i = 1; i < count; i++) /* sorted, apart: neighbours were merged */
		assert_true(listed[i - 1].start + listed[i - 1].length < listed[i].start);
	for (unsigned i = 0; i < REGIONS; i++)
		assert_non_null(holding(count, (uint64_t)(uintptr_t)regions[i], REGION_BYTES));

	/* Every other one unmapped: those leave the list, the rest stay. */
	for (unsigned i = 0; i < REGIONS; i += 2)
		mp_sys_unmap(regions[i], REGION_BYTES);
	count = mp_sys_own_regions(listed, MP_SYS_OWN_REGIONS_MAX);
	for (unsigned i = 0; i < REGIONS; i++) {
		const struct mp_sys_region *range =
			holding(count, (uint64_t)(uintptr_t)regions[i], REGION_BYTES);
		if (i % 2)
			assert_non_null(range);
		else
			assert_null(range);
	}
	for (unsigned i = 1; i < REGIONS; i += 2)
		mp_sys_unmap(regions[i], REGION_BYTES);
}

/* A caller's array shorter than the list gets what fits, still sorted. */
static void test_a_short_array_gets_what_fits(void **state)
{
	(void)state;
	void *regions[8];
	for (unsigned i = 0; i < 8; i++)
		regions[i] = mp_sys_map_anon(REGION_BYTES);
	size_t count = mp_sys_own_regions(listed, 3);
	assert_true(count >= 1 && count <= 3);
	for (size_t i = 1; i < count; i++)
		assert_true(listed[i - 1].start + listed[i - 1].length < listed[i].start);
	for (unsigned i = 0; i < 8; i++)
		mp_sys_unmap(regions[i], REGION_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regions_are_listed_sorted_and_merged),
		cmocka_unit_test(test_a_short_array_gets_what_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
