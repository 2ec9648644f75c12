/* test_live_blocks.c: the live-block hash map against a plain array, through growth,
 * backward-shift deletion, replacement, and blocks too big to pack. */
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
	assert_int_equal(mp_live_blocks_find(&map, 0x1000, &out), 0);
	assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
	assert_int_equal(mp_live_blocks_find(&map, 0x1000, &out), 1);
	assert_int_equal(out.size, 5);
	assert_int_equal(out.stack_id, 3);
	assert_int_equal(mp_live_blocks_find(&map, 0, &out), 0);
	assert_int_equal(mp_live_blocks_remove(&map, 0x2000, &out), 0);
	assert_int_equal(mp_live_blocks_remove(&map, 0x1000, &out), 1);
	assert_int_equal(out.stack_id, 3);
	assert_int_equal(map.count, 0);
	mp_live_blocks_destroy(&map);
}

/* A second block at a live address replaces the first and hands it back. */
static void put_replaces_and_returns_the_stale_block(void **state)
{
	struct mp_live_blocks map;
	struct mp_live_block first = { .addr = 0x40, .size = 7, .stack_id = 1 };
	struct mp_live_block second = { .addr = 0x40, .size = 9, .stack_id = 2 }, out;
	(void)state;
	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_int_equal(mp_live_blocks_put(&map, &first, &out), 0);
	assert_int_equal(mp_live_blocks_put(&map, &second, &out), 1);
	assert_int_equal(out.size, 7);
	assert_int_equal(out.stack_id, 1);
	assert_int_equal(map.count, 1);
	assert_int_equal(mp_live_blocks_find(&map, 0x40, &out), 1);
	assert_int_equal(out.size, 9);
	mp_live_blocks_destroy(&map);
}

/* Sizes from 2^40 - 1 and stack ids from 2^24 do not pack: they must come back whole, through
 * replacement and removal, beside packed neighbours. */
static void blocks_that_do_not_pack_come_back_whole(void **state)
{
	struct mp_live_blocks map;
	struct mp_live_block out;
	struct mp_live_block huge = { .addr = 0x1000, .size = 3ull << 40, .stack_id = 4 };
	struct mp_live_block deep = { .addr = 0x2000, .size = 16, .stack_id = 1u << 24 };
	struct mp_live_block plain = { .addr = 0x3000, .size = (1ull << 40) - 2,
				       .stack_id = (1u << 24) - 1 };
	struct mp_live_block edge = { .addr = 0x4000, .size = (1ull << 40) - 1, .stack_id = 6 };
	(void)state;
	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_int_equal(mp_live_blocks_put(&map, &huge, &out), 0);
	assert_int_equal(mp_live_blocks_put(&map, &deep, &out), 0);
	assert_int_equal(mp_live_blocks_put(&map, &plain, &out), 0);
	assert_int_equal(map.overflow_count, 2);
	assert_int_equal(mp_live_blocks_put(&map, &edge, &out), 0);
	assert_int_equal(map.overflow_count, 3);
	assert_int_equal(mp_live_blocks_remove(&map, 0x4000, &out), 1);
	assert_int_equal(out.size, (1ull << 40) - 1);
	assert_int_equal(map.overflow_count, 2);
	assert_int_equal(mp_live_blocks_find(&map, 0x1000, &out), 1);
	assert_int_equal(out.size, 3ull << 40);
	assert_int_equal(mp_live_blocks_find(&map, 0x2000, &out), 1);
	assert_int_equal(out.stack_id, 1u << 24);
	assert_int_equal(mp_live_blocks_find(&map, 0x3000, &out), 1);
	assert_int_equal(out.size, (1ull << 40) - 2);
	assert_int_equal(out.stack_id, (1u << 24) - 1);
	/* Replacing an overflowing block by a packed one empties its overflow entry. */
	struct mp_live_block small = { .addr = 0x1000, .size = 8, .stack_id = 5 };
	assert_int_equal(mp_live_blocks_put(&map, &small, &out), 1);
	assert_int_equal(out.size, 3ull << 40);
	assert_int_equal(map.overflow_count, 1);
	assert_int_equal(mp_live_blocks_remove(&map, 0x2000, &out), 1);
	assert_int_equal(out.stack_id, 1u << 24);
	assert_int_equal(map.overflow_count, 0);
	mp_live_blocks_destroy(&map);
}

/* Random inserts and removals, including addresses that collide in their low bits, must
 * agree with a brute-force array at every step, and a visit must see each live block
 * once. */
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
			/* Every 97th block too big to pack, so the overflow list takes part. */
			uint64_t size = i % 97 ? i : i | (1ull << 41);
			struct mp_live_block block = { .addr = addrs[i], .size = size };
			assert_int_equal(mp_live_blocks_find(&map, addrs[i], &out), 0);
			assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
			if (size != i) {
				assert_int_equal(mp_live_blocks_remove(&map, addrs[i], &out), 1);
				assert_int_equal(out.size, size);
				block.size = i;
				assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
			}
			live[i] = 1;
		}
	}
	size_t count = 0;
	for (size_t i = 0; i < N; i++) {
		int found = mp_live_blocks_find(&map, addrs[i], &out);
		assert_int_equal(found, live[i]);
		count += (size_t)live[i];
	}
	assert_int_equal(map.count, count);
	size_t visited = 0;
	for (size_t i = 0; i < mp_live_blocks_span(&map); i++)
		visited += (size_t)mp_live_blocks_at(&map, i, &out);
	assert_int_equal(visited, count);
	/* The array grows at 7/10 full past 1 MiB, at a quarter below: never more than 48
	 * bytes per live block, or 1 MiB. */
	size_t bytes = mp_live_blocks_span(&map) * sizeof(struct mp_live_slot);
	assert_true(bytes <= 48 * (count + 1024) || bytes <= (1u << 20));
	mp_live_blocks_destroy(&map);
}

/* Past 4 MiB the slots are mapped on their own and the old array is given back piece by
 * piece while it grows: every block must survive growths on that path. */
static void growth_of_a_mapped_table_keeps_every_block(void **state)
{
	enum { N = 600000 };
	struct mp_live_blocks map;
	struct mp_live_block out;
	(void)state;
	assert_int_equal(mp_live_blocks_init(&map), 0);
	for (uint64_t i = 1; i <= N; i++) {
		struct mp_live_block block = { .addr = i * 48, .size = i, .stack_id = (uint32_t)i % 1000 };
		assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
	}
	assert_true(mp_live_blocks_span(&map) * sizeof(struct mp_live_slot) >= (8u << 20));
	for (uint64_t i = 1; i <= N; i++) {
		assert_int_equal(mp_live_blocks_find(&map, i * 48, &out), 1);
		assert_int_equal(out.size, i);
		assert_int_equal(out.stack_id, i % 1000);
	}
	assert_int_equal(map.count, N);
	mp_live_blocks_destroy(&map);
}

/* A reserved map holds that many blocks without growing, and everything put in it before
 * the reservation is still there; a reservation never shrinks it, and a huge one stops at
 * the ceiling (128 MiB of slots). */
static void reserve_sizes_once_and_keeps_blocks(void **state)
{
	enum { N = 300000 };
	struct mp_live_blocks map;
	struct mp_live_block out;
	(void)state;
	assert_int_equal(mp_live_blocks_init(&map), 0);
	for (uint64_t i = 1; i <= 100; i++) {
		struct mp_live_block block = { .addr = i * 32, .size = i, .stack_id = 7 };
		assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
	}
	assert_int_equal(mp_live_blocks_reserve(&map, N), 0);
	size_t span = mp_live_blocks_span(&map);
	assert_true(span * 7 >= (size_t)N * 10);
	/* 7/10 full, rounded up to whole huge pages of slots (131072 of them) */
	assert_true(span <= (size_t)N * 10 / 7 + 1 + 131072);
	for (uint64_t i = 101; i <= N; i++) {
		struct mp_live_block block = { .addr = i * 32, .size = i, .stack_id = 7 };
		assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
	}
	assert_int_equal(mp_live_blocks_span(&map), span);
	for (uint64_t i = 1; i <= N; i++) {
		assert_int_equal(mp_live_blocks_find(&map, i * 32, &out), 1);
		assert_int_equal(out.size, i);
	}
	assert_int_equal(mp_live_blocks_reserve(&map, 10), 0);
	assert_int_equal(mp_live_blocks_span(&map), span);
	mp_live_blocks_destroy(&map);

	/* A small heap gets a sparse array: at most a quarter full. */
	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_int_equal(mp_live_blocks_reserve(&map, 2000), 0);
	assert_true(mp_live_blocks_span(&map) >= 4 * 2000);
	assert_true(mp_live_blocks_span(&map) * sizeof(struct mp_live_slot) <= (1u << 20));
	mp_live_blocks_destroy(&map);

	/* A huge one is made ready on a thread: the map moves to it at the latest when the
	 * array it goes on in meanwhile is full. */
	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_int_equal(mp_live_blocks_reserve(&map, SIZE_MAX), 0);
	for (uint64_t i = 1; mp_live_blocks_span(&map) * sizeof(struct mp_live_slot) < 128u << 20;
	     i++) {
		assert_true(i <= 600000); /* 8 MiB of slots hold fewer, 7/10 full */
		struct mp_live_block block = { .addr = i * 48, .size = i, .stack_id = 7 };
		assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
	}
	assert_int_equal(mp_live_blocks_span(&map) * sizeof(struct mp_live_slot), 128u << 20);
	mp_live_blocks_destroy(&map);
}

/* Blocks put in a map whose big reservation is still being made ready are all there after
 * the map has moved to it (as soon as its pages are in), and removals work on either
 * side of the move; a map destroyed with a reservation pending frees it (ASan: no leak). */
static void blocks_survive_the_move_to_a_pending_reservation(void **state)
{
	enum { BLOCKS = 3000000 };
	struct mp_live_blocks map;
	struct mp_live_block out;
	(void)state;
	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_int_equal(mp_live_blocks_reserve(&map, BLOCKS), 0);
	size_t interim = mp_live_blocks_span(&map);
	assert_true(interim * sizeof(struct mp_live_slot) <= 8u << 20);
	/* Put and remove in turns until the map moves (at most until it is full). */
	uint64_t next = 1, removed = 0;
	while (mp_live_blocks_span(&map) == interim) {
		struct mp_live_block block = { .addr = next * 32, .size = next, .stack_id = 3 };
		assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
		if (next % 3 == 0) {
			removed++;
			assert_int_equal(mp_live_blocks_remove(&map, (next - 1) * 32, &out), 1);
			assert_int_equal(out.size, next - 1);
		}
		next++;
	}
	assert_true(mp_live_blocks_span(&map) * 7 >= (size_t)BLOCKS * 10);
	assert_int_equal(map.count, next - 1 - removed);
	for (uint64_t i = 1; i < next; i++) {
		int live = !((i + 1) % 3 == 0 && i + 1 < next); /* removed when i + 1 came */
		assert_int_equal(mp_live_blocks_find(&map, i * 32, &out), live);
		if (live)
			assert_int_equal(out.size, i);
	}
	for (uint64_t i = 1; i < next; i += 3)
		assert_int_equal(mp_live_blocks_remove(&map, i * 32, &out), 1);
	assert_int_equal(mp_live_blocks_find(&map, 32, &out), 0);
	mp_live_blocks_destroy(&map);

	assert_int_equal(mp_live_blocks_init(&map), 0);
	assert_int_equal(mp_live_blocks_reserve(&map, BLOCKS), 0);
	struct mp_live_block block = { .addr = 0x1000, .size = 1, .stack_id = 1 };
	assert_int_equal(mp_live_blocks_put(&map, &block, &out), 0);
	mp_live_blocks_destroy(&map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insert_find_remove_single),
		cmocka_unit_test(put_replaces_and_returns_the_stale_block),
		cmocka_unit_test(blocks_that_do_not_pack_come_back_whole),
		cmocka_unit_test(random_operations_match_reference),
		cmocka_unit_test(growth_of_a_mapped_table_keeps_every_block),
		cmocka_unit_test(reserve_sizes_once_and_keeps_blocks),
		cmocka_unit_test(blocks_survive_the_move_to_a_pending_reservation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
