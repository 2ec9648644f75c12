/* test_live_blocks.c: the live-block hash map against a plain array, through growth and
 * backward-shift deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "live_blocks.h"

static void insert_find_remove_single(void **state)
{
	struct mp_live_blocks map;
	struct mp_live_block block = { .addr = 0x1000, .size = 5, .stack_id = 3 }, out = { 0 };
	(void)state;
	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_null(mp_live_blocks_find(&map, 0x1000));
	assert_int_equal(mp_live_blocks_insert(&map, &block), 0);
	assert_int_equal(mp_live_blocks_find(&map, 0x1000)->size, 5);
	assert_null(mp_live_blocks_find(&map, 0));
	assert_int_equal(mp_live_blocks_remove(&map, 0x2000, &out), 0);
	assert_int_equal(mp_live_blocks_remove(&map, 0x1000, &out), 1);
	assert_int_equal(out.stack_id, 3);
	assert_int_equal(map.count, 0);
	mp_live_blocks_destroy(&map);
}

/* Random inserts and removals, including addresses that collide in their low bits, must
 * agree with a brute-force array at every step. */
static void random_operations_match_reference(void **state)
{
	enum { N = 20000 };
	static uint64_t addrs[N];
	static char live[N];
	struct mp_live_blocks map;
	struct mp_live_block out;
	(void)state;
	srand(12345);
	for (size_t i = 0; i < N; i++)
		addrs[i] = ((uint64_t)(i + 1) << 4) * ((i % 3) ? 1 : 0x100000);
	assert_int_equal(mp_live_blocks_init(&map), 0);
	for (int step = 0; step < 200000; step++) {
		size_t i = (size_t)rand() % N;
		if (live[i]) {
			assert_int_equal(mp_live_blocks_remove(&map, addrs[i], &out), 1);
			assert_int_equal(out.size, i);
			live[i] = 0;
		} else {
			struct mp_live_block block = { .addr = addrs[i], .size = i };
			assert_null(mp_live_blocks_find(&map, addrs[i]));
			assert_int_equal(mp_live_blocks_insert(&map, &block), 0);
			live[i] = 1;
		}
	}
	size_t count = 0;
	for (size_t i = 0; i < N; i++) {
		struct mp_live_block *found = mp_live_blocks_find(&map, addrs[i]);
		assert_true(live[i] ? found != NULL : found == NULL);
		count += (size_t)live[i];
	}
	assert_int_equal(map.count, count);
	mp_live_blocks_destroy(&map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insert_find_remove_single),
		cmocka_unit_test(random_operations_match_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
