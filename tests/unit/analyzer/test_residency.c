/* test_residency.c: the page arithmetic of `memprof memory` (residency.c) on hand-made
 * snapshots, and the decoding of snapshot records (snapshot_read.c). Page size 4096. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "memprof/varint.h"
#include "residency.h"

#define P 4096ull
#define BASE 0x100000ull

static struct mp_snap_run runs[16];
static struct mp_snap_mapping mappings[4];
static struct mp_snap_range own[4];

/* One anonymous mapping [BASE, BASE + pages * P) with the given runs. */
static struct mp_snapshot one_mapping(uint64_t pages, uint32_t kind, size_t run_count)
{
	memset(mappings, 0, sizeof(mappings));
	mappings[0] = (struct mp_snap_mapping){
		.start = BASE, .end = BASE + pages * P, .perms = MP_PERM_READ | MP_PERM_WRITE,
		.kind = kind, .path = "" };
	return (struct mp_snapshot){ .page_size = P, .begun = 1, .complete = 1,
				     .mappings = mappings, .mapping_count = 1, .own = own,
				     .runs = runs, .run_count = run_count };
}

static void test_range_counts_bytes_of_present_and_swapped_pages(void **state)
{
	(void)state;
	runs[0] = (struct mp_snap_run){ BASE, BASE + 2 * P, MP_PAGE_PRESENT };
	runs[1] = (struct mp_snap_run){ BASE + 2 * P, BASE + 3 * P, MP_PAGE_ABSENT };
	runs[2] = (struct mp_snap_run){ BASE + 3 * P, BASE + 4 * P, MP_PAGE_SWAPPED };
	struct mp_snapshot snapshot = one_mapping(4, MP_MAPK_ANON, 3);
	uint64_t present, swapped;
	/* From 16 bytes into page 0 to 100 bytes into page 3. */
	mp_memory_range(&snapshot, BASE + 16, BASE + 3 * P + 100, &present, &swapped);
	assert_int_equal(present, 2 * P - 16);
	assert_int_equal(swapped, 100);
	/* Inside one absent page. */
	mp_memory_range(&snapshot, BASE + 2 * P + 1, BASE + 2 * P + 50, &present, &swapped);
	assert_int_equal(present + swapped, 0);
	/* Past every run: nothing. */
	mp_memory_range(&snapshot, BASE + 10 * P, BASE + 11 * P, &present, &swapped);
	assert_int_equal(present + swapped, 0);
}

/* Two blocks share a present page; each is charged its own bytes in it, and the rest of
 * the page (malloc's headers, free space) is the heap's unexplained part. */
static void test_shared_page_is_split_by_bytes_and_rest_is_unexplained(void **state)
{
	(void)state;
	runs[0] = (struct mp_snap_run){ BASE, BASE + P, MP_PAGE_PRESENT };
	runs[1] = (struct mp_snap_run){ BASE + P, BASE + 3 * P, MP_PAGE_ABSENT };
	struct mp_snapshot snapshot = one_mapping(3, MP_MAPK_HEAP, 2);
	struct mp_residency_item blocks[] = {
		{ BASE + 16, BASE + 16 + 1000, 1 },        /* all in page 0 */
		{ BASE + 1040, BASE + 1040 + 2 * P, 2 },   /* 3056 bytes in page 0, rest absent */
	};
	struct mp_memory_input input = { .snapshot = &snapshot, .blocks = blocks, .block_count = 2 };
	struct mp_memory_result result;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	assert_int_equal(result.heap_rss, P);
	assert_int_equal(result.heap_live_resident, 1000 + (P - 1040));
	assert_int_equal(result.heap_unexplained, P - 1000 - (P - 1040));
	assert_int_equal(result.heap_live_bytes, 1000 + 2 * P);
	assert_int_equal(result.heap_live_blocks, 2);
	/* Sorted by gap: block 2 (8192 committed, 3056 resident) first. */
	assert_int_equal(result.stack_count, 2);
	assert_int_equal(result.stacks[0].stack_id, 2);
	assert_int_equal(result.stacks[0].resident, P - 1040);
	assert_int_equal(result.stacks[1].stack_id, 1);
	assert_int_equal(result.stacks[1].resident, 1000);
	assert_int_equal(result.anon_unexplained, 0);
	mp_memory_result_free(&result);
}

/* One anonymous mapping holding, in order: a page of ours, a program mmap of 2 pages, a
 * malloc'd block's 2 pages, and 2 pages nothing recorded explains (merged VMAs). */
static void test_anon_mapping_is_split_into_ours_program_malloc_and_unexplained(void **state)
{
	(void)state;
	runs[0] = (struct mp_snap_run){ BASE, BASE + 7 * P, MP_PAGE_PRESENT };
	struct mp_snapshot snapshot = one_mapping(7, MP_MAPK_ANON, 1);
	own[0] = (struct mp_snap_range){ BASE, BASE + P };
	mappings[0].own_first = 0;
	mappings[0].own_count = 1;
	snapshot.own_count = 1;
	mappings[0].figures[MP_SMAPS_RSS] = 7 * P;
	struct mp_residency_item mmaps[] = { { BASE + P, BASE + 3 * P, 7 } };
	struct mp_residency_item blocks[] = { { BASE + 3 * P + 16, BASE + 4 * P, 8 } };
	struct mp_memory_input input = { .snapshot = &snapshot, .blocks = blocks, .block_count = 1,
					 .mmaps = mmaps, .mmap_count = 1 };
	struct mp_memory_result result;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	assert_int_equal(result.memprof_rss, P);
	assert_int_equal(result.kinds[MP_MEMK_ANON].memprof_rss, P);
	assert_int_equal(result.mmap_resident, 2 * P);
	assert_int_equal(result.anon_program_rss, 2 * P);
	/* The gap after the mmap holds a block: 4 pages of malloc's, the block has P - 16. */
	assert_int_equal(result.heap_rss, 4 * P);
	assert_int_equal(result.heap_live_resident, P - 16);
	assert_int_equal(result.heap_unexplained, 3 * P + 16);
	assert_int_equal(result.anon_unexplained, 0);
	assert_int_equal(result.rss, 7 * P);
	assert_int_equal(result.kinds[MP_MEMK_ANON].rss, 7 * P);
	mp_memory_result_free(&result);

	/* Without the block the same gap is unexplained anonymous memory. */
	input.block_count = 0;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	assert_int_equal(result.heap_rss, 0);
	assert_int_equal(result.anon_unexplained, 4 * P);
	mp_memory_result_free(&result);
}

static void test_kinds_of_mappings(void **state)
{
	(void)state;
	struct mp_snap_mapping mapping = { .kind = MP_MAPK_MEMPROF, .path = "/tmp/x.trace" };
	assert_int_equal(mp_memory_kind_of(&mapping), MP_MEMK_FILE);
	mapping.path = "";
	assert_int_equal(mp_memory_kind_of(&mapping), MP_MEMK_ANON);
	mapping.kind = MP_MAPK_STACK;
	assert_int_equal(mp_memory_kind_of(&mapping), MP_MEMK_STACK);
	mapping.kind = 99;
	assert_int_equal(mp_memory_kind_of(&mapping), MP_MEMK_OTHER);
	assert_string_equal(mp_memory_kind_name(MP_MEMK_SHARED), "shared");
	assert_string_equal(mp_memory_source_name(MP_SOURCE_BRK), "brk");
}

/* ---- access (MEMPROF_SNAPSHOT_ACCESS) ---- */

/* One anonymous mapping of `pages` present pages whose smaps says `referenced` bytes
 * were accessed, in a snapshot that measured access. */
static struct mp_snapshot access_mapping(uint64_t pages, uint64_t referenced)
{
	runs[0] = (struct mp_snap_run){ BASE, BASE + pages * P, MP_PAGE_PRESENT };
	struct mp_snapshot snapshot = one_mapping(pages, MP_MAPK_ANON, 1);
	mappings[0].figures[MP_SMAPS_RSS] = pages * P;
	mappings[0].figures[MP_SMAPS_REFERENCED] = referenced;
	snapshot.context[MP_SNAPK_ACCESS_METHOD] = MP_ACCESS_REFERENCED;
	snapshot.context[MP_SNAPK_ACCESS_SINCE_NS] = 1000;
	snapshot.context_known = (1u << MP_SNAPK_ACCESS_METHOD) | (1u << MP_SNAPK_ACCESS_SINCE_NS);
	return snapshot;
}

static const struct mp_memory_stack *row_of(const struct mp_memory_result *result,
					    uint32_t stack_id)
{
	for (size_t i = 0; i < result->stack_count; i++)
		if (result->stacks[i].stack_id == stack_id)
			return &result->stacks[i];
	fail_msg("no row for stack %u", stack_id);
	return NULL;
}

/* A large malloc: its mapping holds the block and malloc's 16-byte header. Referenced is
 * the block's: exact, and the rest of its resident bytes cold. */
static void test_access_of_a_block_in_a_mapping_of_its_own_is_exact(void **state)
{
	(void)state;
	struct mp_snapshot snapshot = access_mapping(10, 3 * P);
	struct mp_residency_item blocks[] = { { BASE + 16, BASE + 10 * P, 1 } };
	struct mp_memory_input input = { .snapshot = &snapshot, .blocks = blocks, .block_count = 1 };
	struct mp_memory_result result;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	assert_true(result.has_access);
	const struct mp_memory_stack *row = row_of(&result, 1);
	assert_true(row->accessed_exact);
	assert_int_equal(row->accessed_min, 3 * P);
	assert_int_equal(row->accessed_max, 3 * P);
	assert_int_equal(row->resident - row->accessed_max, 7 * P - 16);
	assert_int_equal(result.kinds[MP_MEMK_ANON].access_rss, 10 * P);
	assert_int_equal(result.kinds[MP_MEMK_ANON].accessed, 3 * P);
	assert_int_equal(result.accessed, 3 * P);
	mp_memory_result_free(&result);
}

/* Two stacks' blocks in one mapping (the kernel merged their mappings): 80 of its 100
 * pages accessed, but whose is not known. Each stack gets the bounds that hold whatever
 * the split: A (60 pages) at least 80 - 40 and at most 60, B (40 pages) at least 80 - 60
 * and at most 40. */
static void test_access_of_a_shared_mapping_is_bounded(void **state)
{
	(void)state;
	struct mp_snapshot snapshot = access_mapping(100, 80 * P);
	struct mp_residency_item blocks[] = {
		{ BASE, BASE + 60 * P, 1 },
		{ BASE + 60 * P, BASE + 100 * P, 2 },
	};
	struct mp_memory_input input = { .snapshot = &snapshot, .blocks = blocks, .block_count = 2 };
	struct mp_memory_result result;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	const struct mp_memory_stack *a = row_of(&result, 1), *b = row_of(&result, 2);
	int a_exact = a->accessed_exact, b_exact = b->accessed_exact;
	uint64_t a_min = a->accessed_min, a_max = a->accessed_max;
	uint64_t b_min = b->accessed_min, b_max = b->accessed_max;
	mp_memory_result_free(&result);
	assert_false(a_exact);
	assert_int_equal(a_min, 40 * P);
	assert_int_equal(a_max, 60 * P);
	assert_false(b_exact);
	assert_int_equal(b_min, 20 * P);
	assert_int_equal(b_max, 40 * P);
}

/* The same mapping in a snapshot without the option: Referenced: covers no known
 * interval, so nothing is said about access. */
static void test_no_access_without_the_method(void **state)
{
	(void)state;
	struct mp_snapshot snapshot = access_mapping(10, 3 * P);
	snapshot.context_known = 0;
	struct mp_residency_item blocks[] = { { BASE + 16, BASE + 10 * P, 1 } };
	struct mp_memory_input input = { .snapshot = &snapshot, .blocks = blocks, .block_count = 1 };
	struct mp_memory_result result;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	assert_false(result.has_access);
	assert_int_equal(result.accessed, 0);
	assert_int_equal(result.kinds[MP_MEMK_ANON].access_rss, 0);
	assert_int_equal(row_of(&result, 1)->accessed_max, 0);
	mp_memory_result_free(&result);
}

/* ---- decoding ---- */

static size_t encode(uint8_t *out, const uint64_t *values, size_t count)
{
	uint8_t *at = out;
	for (size_t i = 0; i < count; i++)
		at = mp_put_u(at, values[i]);
	return (size_t)(at - out);
}

static void test_decode_snapshot_records_into_ranges(void **state)
{
	(void)state;
	struct mp_snapshot_table table = { 0 };
	uint8_t body[256];
	/* SNAPSHOT: seq 1, exit, time 500, page 4096, 2 figures. */
	uint64_t begin[] = { 1, MP_SNAP_EXIT, 500, P, 2, MP_SNAPK_VM_RSS, 8 * P, MP_SNAPK_OVERCOMMIT, 2 };
	size_t len = encode(body, begin, 9);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_SNAPSHOT, body, body + len), 0);
	/* MAPPING: 4 pages, rw-p, kind anon, path "", one own part (page 3), Rss. */
	uint64_t mapping[] = { 1, BASE, 4 * P, 3, 0, MP_MAPK_ANON, 0, 1, 3 * P, P, 1, MP_SMAPS_RSS, 3 * P };
	len = encode(body, mapping, 13);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_MAPPING, body, body + len), 0);
	/* RESIDENCY in two records: 1 present + 1 absent, then 2 present. */
	uint64_t first[] = { 1, BASE, 2, (1 << 2) | MP_PAGE_PRESENT, (1 << 2) | MP_PAGE_ABSENT };
	len = encode(body, first, 5);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_RESIDENCY, body, body + len), 0);
	uint64_t second[] = { 1, BASE + 2 * P, 1, (2 << 2) | MP_PAGE_PRESENT };
	len = encode(body, second, 4);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_RESIDENCY, body, body + len), 0);
	/* A run of 0 pages does not decode, and adds nothing. */
	uint64_t bad[] = { 1, BASE + 8 * P, 1, MP_PAGE_PRESENT };
	len = encode(body, bad, 4);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_RESIDENCY, body, body + len), -EINVAL);
	/* A mapping cut short does not decode. */
	len = encode(body, mapping, 6);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_MAPPING, body, body + len), -EINVAL);
	uint64_t end[] = { 1, 900, 1, 2, 12345 };
	len = encode(body, end, 5);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_SNAPSHOT_END, body, body + len), 0);
	assert_int_equal(mp_snapshots_finish(&table), 0);

	assert_int_equal(table.count, 1);
	const struct mp_snapshot *snapshot = &table.items[0];
	assert_true(snapshot->complete);
	assert_int_equal(snapshot->cost_ns, 12345);
	assert_int_equal(snapshot->smaps_errno, 0); /* a SNAPSHOT_END of older writers */
	uint64_t value;
	assert_true(mp_snapshot_context(snapshot, MP_SNAPK_OVERCOMMIT, &value));
	assert_int_equal(value, 2);
	assert_false(mp_snapshot_context(snapshot, MP_SNAPK_CGROUP_MAX, &value));
	assert_int_equal(snapshot->mapping_count, 1);
	assert_int_equal(snapshot->mappings[0].own_count, 1);
	assert_int_equal(snapshot->own[0].start, BASE + 3 * P);
	assert_int_equal(snapshot->run_count, 3);
	assert_int_equal(snapshot->runs[0].end, BASE + P);
	assert_int_equal(snapshot->runs[1].state, MP_PAGE_ABSENT);
	assert_int_equal(snapshot->runs[2].start, BASE + 2 * P);
	assert_int_equal(snapshot->runs[2].end, BASE + 4 * P);

	/* Joined: page 3 is ours; pages 0 and 2 unexplained (no block). */
	struct mp_memory_input input = { .snapshot = snapshot };
	struct mp_memory_result result;
	assert_int_equal(mp_memory_compute(&input, &result), 0);
	assert_int_equal(result.memprof_rss, P);
	assert_int_equal(result.anon_unexplained, 2 * P);
	mp_memory_result_free(&result);
	mp_snapshots_free(&table);
}

static void test_snapshot_end_says_why_smaps_was_not_read(void **state)
{
	(void)state;
	struct mp_snapshot_table table = { 0 };
	uint8_t body[128];
	uint64_t begin[] = { 1, MP_SNAP_EXIT, 500, P, 0 };
	size_t len = encode(body, begin, 5);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_SNAPSHOT, body, body + len), 0);
	uint64_t too_big[] = { 1, 900, 0, 0, 7, 5000 };
	len = encode(body, too_big, 6);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_SNAPSHOT_END, body, body + len), -EINVAL);
	uint64_t end[] = { 1, 900, 0, 0, 7, EMFILE };
	len = encode(body, end, 6);
	assert_int_equal(mp_snapshots_add(&table, MP_REC_SNAPSHOT_END, body, body + len), 0);
	assert_int_equal(mp_snapshots_finish(&table), 0);
	assert_int_equal(table.count, 1);
	assert_true(table.items[0].complete);
	assert_int_equal(table.items[0].smaps_errno, EMFILE);
	assert_int_equal(table.items[0].mapping_count, 0);
	mp_snapshots_free(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_counts_bytes_of_present_and_swapped_pages),
		cmocka_unit_test(test_shared_page_is_split_by_bytes_and_rest_is_unexplained),
		cmocka_unit_test(test_anon_mapping_is_split_into_ours_program_malloc_and_unexplained),
		cmocka_unit_test(test_kinds_of_mappings),
		cmocka_unit_test(test_decode_snapshot_records_into_ranges),
		cmocka_unit_test(test_snapshot_end_says_why_smaps_was_not_read),
		cmocka_unit_test(test_access_of_a_block_in_a_mapping_of_its_own_is_exact),
		cmocka_unit_test(test_access_of_a_shared_mapping_is_bounded),
		cmocka_unit_test(test_no_access_without_the_method),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
