/* test_thread_latest.c: each thread's latest allocation, against a reference that scans
 * every thread, through many threads (chains that grow and are rebuilt), addresses that
 * share a chain, and allocations at an address another thread's latest still holds, after
 * a first stretch where one thread allocates alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "thread_latest.h"

#define THREADS 300
#define ADDRESSES 500
#define STEPS 200000

/* The reference: a thread's latest address, 0 if none, found by scanning them all. */
static uint64_t reference[THREADS];

static uint64_t reference_released(uint64_t addr)
{
	for (uint32_t serial = 0; serial < THREADS; serial++) {
		if (reference[serial] == addr) {
			reference[serial] = 0;
			return (uint64_t)serial + 1;
		}
	}
	return 0;
}

static void reference_allocated(uint32_t serial, uint64_t addr)
{
	reference_released(addr);
	reference[serial] = addr;
}

static void random_operations_agree_with_a_scan(void **state)
{
	struct mp_thread_latest latest;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	(void)state;
	memset(reference, 0, sizeof(reference));
	assert_int_equal(mp_thread_latest_init(&latest), 0);
	for (unsigned step = 0; step < STEPS; step++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		/* The threads come in over the first half, so the chains are rebuilt on the way. */
		uint32_t threads = step < STEPS / 2 ? 1 + step * THREADS / (STEPS / 2) : THREADS;
		uint32_t serial = (uint32_t)(seed >> 8) % threads;
		uint64_t addr = 16 * (1 + (seed >> 24) % ADDRESSES);
		if (seed % 3) {
			assert_int_equal(mp_thread_latest_allocated(&latest, serial, addr), 0);
			reference_allocated(serial, addr);
		} else {
			assert_int_equal(mp_thread_latest_released(&latest, addr),
					 reference_released(addr));
		}
	}
	for (uint64_t addr = 16; addr <= 16 * ADDRESSES; addr += 16)
		assert_int_equal(mp_thread_latest_released(&latest, addr), reference_released(addr));
	mp_thread_latest_destroy(&latest);
}

/* A release before any allocation, and of an address nobody holds, is nobody's. */
static void release_of_nothing_is_nobodys(void **state)
{
	struct mp_thread_latest latest;
	(void)state;
	assert_int_equal(mp_thread_latest_init(&latest), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x1000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 3, 0x2000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x1000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 3, 0x3000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x2000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x3000), 4);
	assert_int_equal(mp_thread_latest_released(&latest, 0x3000), 0);
	mp_thread_latest_destroy(&latest);
}

/* A damaged trace's allocation at address 0 ends the thread's latest and is nobody's;
 * the thread's later allocations are found as before. */
static void allocation_at_zero_leaves_no_latest(void **state)
{
	struct mp_thread_latest latest;
	(void)state;
	assert_int_equal(mp_thread_latest_init(&latest), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 1, 0x1000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 1, 0), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x1000), 0);
	for (uint64_t addr = 0x2000; addr < 0x2000 + 64 * 16; addr += 16) {
		assert_int_equal(mp_thread_latest_allocated(&latest, 1, 0), 0);
		assert_int_equal(mp_thread_latest_allocated(&latest, 1, addr), 0);
		assert_int_equal(mp_thread_latest_allocated(&latest, 2, addr + 8), 0);
	}
	assert_int_equal(mp_thread_latest_released(&latest, 0x2000 + 63 * 16), 2);
	assert_int_equal(mp_thread_latest_released(&latest, 0x2000 + 63 * 16 + 8), 3);
	mp_thread_latest_destroy(&latest);
}

/* One thread allocates alone (no chains kept), then one whose serial makes the tables
 * grow: the first one's latest must be found once, and stay found. */
static void second_thread_after_growth_finds_the_first(void **state)
{
	struct mp_thread_latest latest;
	(void)state;
	assert_int_equal(mp_thread_latest_init(&latest), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 5, 0x1000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 5, 0x2000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x1000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 1000, 0x3000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x2000), 6);
	assert_int_equal(mp_thread_latest_released(&latest, 0x2000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 5, 0x2000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 5, 0x4000), 0);
	assert_int_equal(mp_thread_latest_allocated(&latest, 1000, 0x2000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x4000), 6);
	assert_int_equal(mp_thread_latest_released(&latest, 0x4000), 0);
	assert_int_equal(mp_thread_latest_released(&latest, 0x2000), 1001);
	assert_int_equal(mp_thread_latest_released(&latest, 0x3000), 0);
	mp_thread_latest_destroy(&latest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_operations_agree_with_a_scan),
		cmocka_unit_test(release_of_nothing_is_nobodys),
		cmocka_unit_test(allocation_at_zero_leaves_no_latest),
		cmocka_unit_test(second_thread_after_growth_finds_the_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
