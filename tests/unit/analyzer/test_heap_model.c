/* test_heap_model.c: exact heap, mmap and brk arithmetic of the heap model, fed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "heap_model.h"

static uint64_t now_ns = 1000;

static struct mp_event ev(enum mp_record_tag tag, uint32_t thread, uint64_t addr, uint64_t size,
			  uint32_t stack)
{
	struct mp_event event = {
		.tag = tag, .thread_serial = thread, .tid = 100 + thread, .addr = addr,
		.size = size, .stack_id = stack, .prot = PROT_READ | PROT_WRITE,
	};
	now_ns += 10;
	event.time_ns = event.time_before_ns = now_ns;
	return event;
}

static void feed(struct mp_heap_model *model, struct mp_event event)
{
	assert_int_equal(mp_heap_model_feed(model, &event), 0);
}

static void do_malloc(struct mp_heap_model *m, uint32_t thread, uint64_t addr, uint64_t size,
		      uint32_t stack)
{
	feed(m, ev(MP_REC_MALLOC, thread, addr, size, stack));
}

static void do_free(struct mp_heap_model *m, uint32_t thread, uint64_t addr)
{
	feed(m, ev(MP_REC_FREE, thread, addr, 0, 0));
}

static void do_realloc(struct mp_heap_model *m, uint32_t thread, uint64_t old_addr,
		       uint64_t addr, uint64_t size, uint32_t stack)
{
	struct mp_event event = ev(MP_REC_REALLOC, thread, addr, size, stack);
	event.old_addr = old_addr;
	event.time_before_ns = event.time_ns - 5;
	feed(m, event);
}

static int setup(void **state)
{
	static struct mp_heap_model model;
	if (mp_heap_model_init(&model, 8, 4096))
		return -1;
	*state = &model;
	return 0;
}

static int teardown(void **state)
{
	mp_heap_model_destroy(*state);
	return 0;
}

static const struct mp_stack_agg *agg(struct mp_heap_model *m, uint32_t stack)
{
	return mp_stack_stats_at(&m->stacks, stack);
}

static void malloc_free_counts_and_bytes(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_malloc(m, 1, 0x2000, 50, 2);
	do_free(m, 1, 0x1000);
	mp_heap_model_finish(m);
	assert_int_equal(m->totals.allocations, 2);
	assert_int_equal(m->totals.frees, 1);
	assert_int_equal(m->totals.allocated_bytes, 150);
	assert_int_equal(m->totals.live_bytes, 50);
	assert_int_equal(m->totals.live_blocks, 1);
	assert_int_equal(m->totals.peak_bytes, 150);
	assert_int_equal(m->totals.peak_event, 2);
	assert_int_equal(agg(m, 2)->live_bytes, 50);
	assert_int_equal(agg(m, 1)->live_bytes, 0);
	assert_int_equal(agg(m, 1)->calls, 1);
	assert_int_equal(m->totals.events, 3);
}

static void realloc_move_releases_old_and_charges_new_stack(void **state)
{
	struct mp_heap_model *m = *state;
	struct mp_live_block found;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_realloc(m, 1, 0x1000, 0x5000, 300, 2);
	mp_heap_model_finish(m);
	assert_int_equal(m->totals.allocations, 1);
	assert_int_equal(m->totals.reallocs, 1);
	assert_int_equal(m->totals.allocated_bytes, 400);
	assert_int_equal(m->totals.live_bytes, 300);
	assert_int_equal(m->totals.live_blocks, 1);
	/* Released before the new block exists: the peak never holds both. */
	assert_int_equal(m->totals.peak_bytes, 300);
	assert_int_equal(agg(m, 1)->live_bytes, 0);
	assert_int_equal(agg(m, 2)->live_bytes, 300);
	assert_int_equal(agg(m, 2)->allocated_bytes, 300);
	assert_int_equal(mp_live_blocks_find(&m->blocks, 0x5000, &found), 1);
	assert_int_equal(mp_live_blocks_find(&m->blocks, 0x1000, &found), 0);
}

static void realloc_in_place_shrink_lowers_live(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_realloc(m, 1, 0x1000, 0x1000, 40, 1);
	assert_int_equal(m->totals.live_bytes, 40);
	assert_int_equal(m->totals.live_blocks, 1);
	assert_int_equal(m->totals.peak_bytes, 100);
	assert_int_equal(m->totals.allocated_bytes, 140);
	assert_int_equal(m->totals.unknown_frees, 0);
}

static void realloc_null_is_allocation_and_realloc_zero_is_free(void **state)
{
	struct mp_heap_model *m = *state;
	do_realloc(m, 1, 0, 0x1000, 64, 1);
	assert_int_equal(m->totals.allocations, 1);
	assert_int_equal(m->totals.reallocs, 0);
	assert_int_equal(m->totals.live_bytes, 64);
	do_realloc(m, 1, 0x1000, 0, 0, 2);
	assert_int_equal(m->totals.frees, 1);
	assert_int_equal(m->totals.reallocs, 0);
	assert_int_equal(m->totals.live_bytes, 0);
	assert_int_equal(m->totals.live_blocks, 0);
	assert_int_equal(m->totals.allocated_bytes, 64);
	assert_int_equal(agg(m, 2)->calls, 1);
}

static void free_by_another_thread_releases_but_is_not_temporary(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_free(m, 2, 0x1000);
	assert_int_equal(m->totals.live_bytes, 0);
	assert_int_equal(m->totals.frees, 1);
	assert_int_equal(m->totals.unknown_frees, 0);
	assert_int_equal(m->totals.temporary_allocations, 0);
}

static void temporaries_are_per_thread(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 8, 1);
	do_malloc(m, 2, 0x2000, 8, 2);  /* another thread: does not break thread 1's run */
	do_free(m, 1, 0x1000);          /* temporary */
	assert_int_equal(m->totals.temporary_allocations, 1);
	do_malloc(m, 1, 0x3000, 8, 1);
	do_malloc(m, 1, 0x4000, 8, 3);
	do_free(m, 1, 0x3000);          /* 0x4000 came in between: not temporary */
	assert_int_equal(m->totals.temporary_allocations, 1);
	do_free(m, 1, 0x4000);          /* nothing allocated by thread 1 since: temporary */
	assert_int_equal(m->totals.temporary_allocations, 2);
	do_free(m, 2, 0x2000);          /* thread 2's latest allocation: temporary */
	assert_int_equal(m->totals.temporary_allocations, 3);
	assert_int_equal(agg(m, 1)->temporary, 1);
	assert_int_equal(agg(m, 2)->temporary, 1);
	assert_int_equal(agg(m, 3)->temporary, 1);
}

/* A thread's latest allocation freed by another thread, its address handed to a third:
 * the first thread freeing that address frees the third's block, which is no temporary
 * of its own; nor is a block whose free was never seen and whose address came back. */
static void a_reused_address_is_not_the_old_threads_temporary(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 8, 1);
	do_free(m, 2, 0x1000);
	do_malloc(m, 3, 0x1000, 8, 1);
	do_free(m, 1, 0x1000);
	assert_int_equal(m->totals.temporary_allocations, 0);
	do_malloc(m, 1, 0x2000, 8, 1);  /* its free is lost */
	do_malloc(m, 2, 0x2000, 8, 1);  /* replaces it */
	assert_int_equal(m->totals.replaced_blocks, 1);
	do_free(m, 1, 0x2000);
	assert_int_equal(m->totals.temporary_allocations, 0);
	do_malloc(m, 2, 0x3000, 8, 1);
	do_free(m, 2, 0x3000);          /* thread 2's latest, freed by it: temporary */
	assert_int_equal(m->totals.temporary_allocations, 1);
}

static void realloc_release_of_latest_block_is_temporary(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 8, 1);
	do_realloc(m, 1, 0x1000, 0x2000, 16, 1);
	assert_int_equal(m->totals.temporary_allocations, 1);
	do_malloc(m, 1, 0x3000, 8, 1);
	do_realloc(m, 1, 0x2000, 0x4000, 32, 1);
	assert_int_equal(m->totals.temporary_allocations, 1);
}

static void address_reuse_after_free_charges_the_new_stack(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_free(m, 1, 0x1000);
	do_malloc(m, 1, 0x1000, 30, 2);
	mp_heap_model_finish(m);
	assert_int_equal(m->totals.live_bytes, 30);
	assert_int_equal(agg(m, 1)->live_bytes, 0);
	assert_int_equal(agg(m, 2)->live_bytes, 30);
	assert_int_equal(m->totals.replaced_blocks, 0);
	assert_int_equal(m->totals.peak_bytes, 100);
}

static void unknown_free_is_counted_and_never_negative(void **state)
{
	struct mp_heap_model *m = *state;
	do_free(m, 1, 0xdead0);
	do_realloc(m, 1, 0xbeef0, 0x1000, 10, 1);
	assert_int_equal(m->totals.unknown_frees, 2);
	assert_int_equal(m->totals.frees, 1);
	assert_int_equal(m->totals.live_bytes, 10);
	assert_int_equal(m->totals.live_blocks, 1);
}

static void allocation_over_live_block_replaces_it(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_malloc(m, 1, 0x1000, 20, 2);
	mp_heap_model_finish(m);
	assert_int_equal(m->totals.replaced_blocks, 1);
	assert_int_equal(m->totals.live_bytes, 20);
	assert_int_equal(m->totals.live_blocks, 1);
	assert_int_equal(agg(m, 1)->live_bytes, 0);
	assert_int_equal(agg(m, 1)->live_blocks, 0);
}

static void failed_calls_count_but_never_live(void **state)
{
	struct mp_heap_model *m = *state;
	struct mp_event failed = ev(MP_REC_ALLOC_FAILED, 1, 0, 1ull << 50, 3);
	failed.failed_function = MP_REC_MALLOC;
	feed(m, failed);
	assert_int_equal(m->totals.failed_calls, 1);
	assert_int_equal(m->totals.allocations, 0);
	assert_int_equal(m->totals.allocated_bytes, 0);
	assert_int_equal(m->totals.live_bytes, 0);
	assert_int_equal(m->totals.peak_bytes, 0);
	assert_int_equal(agg(m, 3)->calls, 1);
}

static void peak_records_each_stack_share_at_the_peak(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_malloc(m, 1, 0x2000, 200, 2); /* first peak: 300 */
	do_free(m, 1, 0x2000);
	do_malloc(m, 1, 0x3000, 50, 1);
	uint64_t peak_time = now_ns + 10;
	do_malloc(m, 1, 0x4000, 400, 3); /* new peak: 550 = 150 (1) + 400 (3) */
	do_free(m, 1, 0x4000);
	do_malloc(m, 1, 0x5000, 10, 2);
	do_free(m, 1, 0x1000);
	do_malloc(m, 1, 0x6000, 300, 4); /* 360 live: below the peak */
	mp_heap_model_finish(m);
	assert_int_equal(m->totals.peak_bytes, 550);
	assert_int_equal(m->totals.peak_blocks, 3);
	assert_int_equal(m->totals.peak_time_ns, peak_time);
	assert_int_equal(m->totals.peak_event, 5);
	assert_int_equal(agg(m, 1)->peak_bytes, 150);
	assert_int_equal(agg(m, 1)->peak_blocks, 2);
	assert_int_equal(agg(m, 2)->peak_bytes, 0);
	assert_int_equal(agg(m, 3)->peak_bytes, 400);
	assert_int_equal(agg(m, 4)->peak_bytes, 0);
	assert_int_equal(agg(m, 1)->live_bytes, 50);
	assert_int_equal(agg(m, 2)->live_bytes, 10);
	assert_int_equal(agg(m, 4)->live_bytes, 300);
	assert_int_equal(m->totals.live_bytes, 360);
}

static void peak_untouched_stack_keeps_its_live_value(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 100, 1);
	do_malloc(m, 1, 0x2000, 100, 2);
	mp_heap_model_finish(m);
	assert_int_equal(agg(m, 1)->peak_bytes, 100);
	assert_int_equal(agg(m, 2)->peak_bytes, 100);
}

static void partial_munmap_splits_and_trims(void **state)
{
	struct mp_heap_model *m = *state;
	feed(m, ev(MP_REC_MMAP, 1, 0x100000, 4 * 4096, 1));
	assert_int_equal(m->totals.mmap_live_bytes, 4 * 4096);
	feed(m, ev(MP_REC_MUNMAP, 1, 0x101000, 4096, 0)); /* hole in the middle */
	assert_int_equal(m->totals.mmap_live_bytes, 3 * 4096);
	assert_int_equal(m->mappings.count, 2);
	feed(m, ev(MP_REC_MUNMAP, 1, 0x100000, 100, 0)); /* rounds up to one page */
	assert_int_equal(m->totals.mmap_live_bytes, 2 * 4096);
	assert_int_equal(m->mappings.count, 1);
	feed(m, ev(MP_REC_MUNMAP, 1, 0x0ff000, 0x10000, 0)); /* covers the rest and beyond */
	assert_int_equal(m->totals.mmap_live_bytes, 0);
	assert_int_equal(m->mappings.count, 0);
	feed(m, ev(MP_REC_MUNMAP, 1, 0x500000, 4096, 0));
	assert_int_equal(m->totals.munmaps, 4);
	assert_int_equal(m->totals.unknown_unmaps, 1);
	assert_int_equal(m->totals.mmaps, 1);
	assert_int_equal(m->totals.mmap_peak_bytes, 4 * 4096);
	assert_int_equal(m->totals.mmap_bytes, 4 * 4096);
	assert_int_equal(m->totals.live_bytes, 0); /* heap untouched */
}

static void munmap_across_two_mappings(void **state)
{
	struct mp_heap_model *m = *state;
	feed(m, ev(MP_REC_MMAP, 1, 0x100000, 2 * 4096, 1));
	feed(m, ev(MP_REC_MMAP, 1, 0x102000, 2 * 4096, 2));
	feed(m, ev(MP_REC_MUNMAP, 1, 0x101000, 2 * 4096, 0));
	assert_int_equal(m->totals.mmap_live_bytes, 2 * 4096);
	assert_int_equal(m->mappings.count, 2);
	assert_int_equal(mp_mappings_find(&m->mappings, 0x100000)->stack_id, 1);
	assert_int_equal(mp_mappings_find(&m->mappings, 0x103000)->stack_id, 2);
	assert_null(mp_mappings_find(&m->mappings, 0x101000));
}

static void mmap_fixed_over_mapping_replaces_overlap(void **state)
{
	struct mp_heap_model *m = *state;
	feed(m, ev(MP_REC_MMAP, 1, 0x100000, 4 * 4096, 1));
	feed(m, ev(MP_REC_MMAP, 1, 0x101000, 4096, 2));
	assert_int_equal(m->totals.mmap_live_bytes, 4 * 4096);
	assert_int_equal(m->mappings.count, 3);
	assert_int_equal(mp_mappings_find(&m->mappings, 0x101000)->stack_id, 2);
	assert_int_equal(m->totals.mmap_bytes, 5 * 4096);
	assert_int_equal(m->totals.mmaps, 2);
}

static void mremap_moves_and_grows(void **state)
{
	struct mp_heap_model *m = *state;
	struct mp_event remap;
	feed(m, ev(MP_REC_MMAP, 1, 0x100000, 2 * 4096, 1));
	remap = ev(MP_REC_MREMAP, 1, 0x200000, 5 * 4096, 2);
	remap.old_addr = 0x100000;
	remap.old_size = 2 * 4096;
	feed(m, remap);
	assert_int_equal(m->totals.mremaps, 1);
	assert_int_equal(m->totals.mmap_live_bytes, 5 * 4096);
	assert_int_equal(m->totals.mmap_peak_bytes, 5 * 4096);
	assert_int_equal(m->totals.mmap_bytes, 5 * 4096);
	assert_null(mp_mappings_find(&m->mappings, 0x100000));
	/* Keeps the owner of the original mapping. */
	assert_int_equal(mp_mappings_find(&m->mappings, 0x204000)->stack_id, 1);
	remap = ev(MP_REC_MREMAP, 1, 0x200000, 4096, 2);
	remap.old_addr = 0x200000;
	remap.old_size = 5 * 4096;
	feed(m, remap);
	assert_int_equal(m->totals.mmap_live_bytes, 4096);
	assert_int_equal(m->totals.unknown_unmaps, 0);
}

/* Mapped PROT_NONE: counted apart, through cuts, a MAP_FIXED over part of it and a move. */
static void reserved_mappings_counted_apart(void **state)
{
	struct mp_heap_model *m = *state;
	struct mp_event reserve = ev(MP_REC_MMAP, 1, 0x100000, 8 * 4096, 1), remap;
	reserve.prot = PROT_NONE;
	feed(m, reserve);
	feed(m, ev(MP_REC_MMAP, 1, 0x200000, 2 * 4096, 2));
	assert_int_equal(m->totals.mmap_live_bytes, 10 * 4096);
	assert_int_equal(m->totals.mmap_live_reserved_bytes, 8 * 4096);
	assert_int_equal(m->totals.mmap_peak_reserved_bytes, 8 * 4096);
	feed(m, ev(MP_REC_MMAP, 1, 0x101000, 2 * 4096, 3)); /* opened by MAP_FIXED, read-write */
	assert_int_equal(m->totals.mmap_live_bytes, 10 * 4096);
	assert_int_equal(m->totals.mmap_live_reserved_bytes, 6 * 4096);
	feed(m, ev(MP_REC_MUNMAP, 1, 0x105000, 4096, 0)); /* a hole in the reserved tail */
	assert_int_equal(m->totals.mmap_live_reserved_bytes, 5 * 4096);
	remap = ev(MP_REC_MREMAP, 1, 0x300000, 4 * 4096, 4); /* the reserved tail, moved */
	remap.old_addr = 0x106000;
	remap.old_size = 2 * 4096;
	feed(m, remap);
	assert_int_equal(m->totals.mmap_live_reserved_bytes, 7 * 4096);
	assert_int_equal(m->totals.mmap_live_bytes, 11 * 4096);
	assert_int_equal(m->totals.mmap_peak_bytes, 11 * 4096);
	assert_int_equal(m->totals.mmap_peak_reserved_bytes, 7 * 4096);
	feed(m, ev(MP_REC_MUNMAP, 1, 0x0, 0x1000000, 0));
	assert_int_equal(m->totals.mmap_live_reserved_bytes, 0);
	assert_int_equal(m->totals.mmap_live_bytes, 0);
}

static void brk_growth_and_peak(void **state)
{
	struct mp_heap_model *m = *state;
	struct mp_event brk = ev(MP_REC_BRK, 1, 0x60000, 0, 1);
	brk.old_addr = 0x50000;
	feed(m, brk);
	brk = ev(MP_REC_BRK, 1, 0x58000, 0, 1);
	brk.old_addr = 0x60000;
	feed(m, brk);
	assert_int_equal(m->totals.brks, 2);
	assert_int_equal(m->totals.brk_start, 0x50000);
	assert_int_equal(m->totals.brk_current, 0x58000);
	assert_int_equal(m->totals.brk_peak_bytes, 0x10000);
	assert_int_equal(agg(m, 1)->calls, 2);
}

/* The model knows what was not freed; which of it leaked is for leaks.c to say. */
static void blocks_not_freed_are_live_at_the_end(void **state)
{
	struct mp_heap_model *m = *state;
	uint32_t ids[8];
	do_malloc(m, 1, 0x1000, 10, 1);
	do_malloc(m, 1, 0x2000, 10, 1);
	do_malloc(m, 2, 0x3000, 500, 2);
	do_malloc(m, 2, 0x4000, 7, 3);
	do_free(m, 1, 0x4000);
	mp_heap_model_finish(m);
	assert_int_equal(m->totals.live_bytes, 520);
	assert_int_equal(m->totals.live_blocks, 3);
	assert_int_equal(mp_stack_stats_top(&m->stacks, MP_METRIC_UNFREED, ids, 8), 2);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 1);
	assert_int_equal(agg(m, 1)->live_blocks, 2);
	assert_int_equal(mp_stack_stats_top(&m->stacks, MP_METRIC_LEAKED, ids, 8), 0);
}

static void stack_ids_beyond_the_expected_count_grow(void **state)
{
	struct mp_heap_model *m = *state;
	do_malloc(m, 1, 0x1000, 10, 5000);
	do_malloc(m, 700, 0x2000, 10, 0);
	do_free(m, 700, 0x2000);
	assert_int_equal(agg(m, 5000)->live_bytes, 10);
	assert_int_equal(m->totals.temporary_allocations, 1);
}

static void many_blocks_keep_exact_totals(void **state)
{
	struct mp_heap_model *m = *state;
	struct mp_live_block found;
	uint64_t expected = 0;
	for (uint64_t i = 1; i <= 50000; i++) {
		do_malloc(m, 1, i * 16 * 7919, i % 97, (uint32_t)(i % 5));
		expected += i % 97;
	}
	for (uint64_t i = 1; i <= 50000; i += 2) {
		do_free(m, 1, i * 16 * 7919);
		expected -= i % 97;
	}
	assert_int_equal(m->totals.live_bytes, expected);
	assert_int_equal(m->totals.live_blocks, 25000);
	assert_int_equal(m->totals.unknown_frees, 0);
	for (uint64_t i = 2; i <= 50000; i += 2)
		assert_int_equal(mp_live_blocks_find(&m->blocks, i * 16 * 7919, &found), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(malloc_free_counts_and_bytes),
		T(realloc_move_releases_old_and_charges_new_stack),
		T(realloc_in_place_shrink_lowers_live),
		T(realloc_null_is_allocation_and_realloc_zero_is_free),
		T(free_by_another_thread_releases_but_is_not_temporary),
		T(temporaries_are_per_thread),
		T(a_reused_address_is_not_the_old_threads_temporary),
		T(realloc_release_of_latest_block_is_temporary),
		T(address_reuse_after_free_charges_the_new_stack),
		T(unknown_free_is_counted_and_never_negative),
		T(allocation_over_live_block_replaces_it),
		T(failed_calls_count_but_never_live),
		T(peak_records_each_stack_share_at_the_peak),
		T(peak_untouched_stack_keeps_its_live_value),
		T(partial_munmap_splits_and_trims),
		T(munmap_across_two_mappings),
		T(mmap_fixed_over_mapping_replaces_overlap),
		T(reserved_mappings_counted_apart),
		T(mremap_moves_and_grows),
		T(brk_growth_and_peak),
		T(blocks_not_freed_are_live_at_the_end),
		T(stack_ids_beyond_the_expected_count_grow),
		T(many_blocks_keep_exact_totals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
