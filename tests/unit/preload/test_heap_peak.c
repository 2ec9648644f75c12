/* test_heap_peak.c: the heap estimate's usable sizes, read from glibc's chunk headers once
 * the first blocks showed them to agree with malloc_usable_size. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "heap_peak.h"

/* The block, with what the compiler knows of it forgotten: it would otherwise warn that
 * the header, before the start it saw malloc return, is out of the block's bounds. */
static void *opaque(void *block)
{
	__asm__("" : "+r"(block));
	return block;
}

static size_t header_usable(void *block)
{
	return mp_heap_peak_header_usable(opaque(block));
}

/* Blocks of every kind glibc makes: every small size class, large ones from the heap,
 * mmapped ones (above the mmap threshold), aligned ones, calloc's and grown ones. */
static void test_header_gives_malloc_usable_size(void **state)
{
	(void)state;
	for (size_t size = 0; size < 70000; size = size < 1100 ? size + 1 : size * 3 / 2) {
		void *block = malloc(size);
		assert_non_null(block);
		assert_int_equal(header_usable(block), malloc_usable_size(block));
		free(block);
	}
	void *blocks[] = { malloc(1u << 20), malloc(40u << 20), calloc(300, 7),
			   memalign(64, 100), aligned_alloc(4096, 8192), memalign(1u << 16, 1u << 20),
			   realloc(malloc(16), 5000) };
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		assert_non_null(blocks[i]);
		assert_int_equal(header_usable(blocks[i]), malloc_usable_size(blocks[i]));
		free(blocks[i]);
	}
}

static void ask_for_blocks(unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		void *block = malloc(i * 8 + 1);
		mp_heap_peak_usable_call(opaque(block));
		free(block);
	}
}

static void test_header_trusted_once_the_first_blocks_agree(void **state)
{
	(void)state;
	mp_heap_peak_set_allocator(malloc_usable_size, 1);
	ask_for_blocks(10);
	assert_int_equal(mp_heap_peak_from_header, 0);
	ask_for_blocks(300);
	assert_int_equal(mp_heap_peak_from_header, 1);
}

static size_t usable_of_another_layout(void *block)
{
	return malloc_usable_size(block) + 16;
}

static void test_header_never_trusted_when_a_block_disagrees(void **state)
{
	(void)state;
	mp_heap_peak_set_allocator(usable_of_another_layout, 1);
	ask_for_blocks(300);
	assert_int_equal(mp_heap_peak_from_header, 0);
}

static void test_header_never_trusted_for_another_allocator(void **state)
{
	(void)state;
	mp_heap_peak_set_allocator(malloc_usable_size, 0);
	ask_for_blocks(300);
	assert_int_equal(mp_heap_peak_from_header, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_gives_malloc_usable_size),
		cmocka_unit_test(test_header_trusted_once_the_first_blocks_agree),
		cmocka_unit_test(test_header_never_trusted_when_a_block_disagrees),
		cmocka_unit_test(test_header_never_trusted_for_another_allocator),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
