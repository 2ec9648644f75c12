/* test_leak_scan.c: memcheck's leak classes computed on synthetic memory (no process
 * scan needed: blocks and roots are arrays of this test), and the live set rebuilt from a
 * trace the recorder wrote. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "leak_scan.h"
#include "leak_table.h"
#include "recorder_fixture.h"

#define BLOCK_WORDS 8  /* each synthetic block is 64 bytes */
#define MAX_BLOCKS 16

/* The "heap": blocks laid out one after another, 8-byte aligned. */
static uint64_t heap[MAX_BLOCKS][BLOCK_WORDS];
static uint64_t roots[16];

struct scene {
	struct mp_leak_block blocks[MAX_BLOCKS];
	uint8_t state[MAX_BLOCKS];
	uint32_t work[2 * MAX_BLOCKS + 1];
	size_t count;
};

static uint64_t at(int block, int byte)
{
	return (uint64_t)(uintptr_t)&heap[block][0] + (uint64_t)byte;
}

/* Block i is heap[i]; roots[] is the only root. */
static void scene_classify(struct scene *scene, size_t count)
{
	struct mp_leak_classifier c;
	scene->count = count;
	for (size_t i = 0; i < count; i++)
		scene->blocks[i] = (struct mp_leak_block){ at((int)i, 0), sizeof(heap[0]) };
	mp_leak_classify_init(&c, scene->blocks, count, scene->state, scene->work);
	mp_leak_classify_root(&c, (uint64_t)(uintptr_t)roots,
			      (uint64_t)(uintptr_t)roots + sizeof(roots), 0);
	mp_leak_classify_finish(&c);
}

static unsigned kind(const struct scene *scene, int block)
{
	return mp_leak_classify_kind_of(scene->state[block]);
}

static void reset(void **state)
{
	(void)state;
	memset(heap, 0, sizeof(heap));
	memset(roots, 0, sizeof(roots));
}

static void test_leak_classify_start_pointer_from_root_is_reachable(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	roots[3] = at(0, 0);
	heap[0][5] = at(1, 0); /* and what it points to */
	scene_classify(&scene, 3);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(kind(&scene, 2), MP_LEAK_KIND_DEFINITE);
}

static void test_leak_classify_interior_pointer_only_is_possible(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	roots[0] = at(0, 40);
	heap[0][7] = at(1, 0); /* a start pointer, but from a possibly lost block */
	scene_classify(&scene, 2);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_POSSIBLE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_POSSIBLE);
}

static void test_leak_classify_possible_block_upgraded_by_a_start_pointer(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	roots[0] = at(0, 8);   /* interior first: 0 and 1 possible ... */
	heap[0][0] = at(1, 0);
	roots[9] = at(0, 0);   /* ... then a start pointer: both reachable after all */
	scene_classify(&scene, 2);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_REACHABLE);
}

static void test_leak_classify_lost_parent_definite_child_indirect(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	heap[1][0] = at(0, 0); /* the parent at the higher address points down */
	heap[0][2] = at(2, 16); /* and the child into a grandchild's interior */
	scene_classify(&scene, 3);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_DEFINITE);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_INDIRECT);
	assert_int_equal(kind(&scene, 2), MP_LEAK_KIND_INDIRECT);
}

static void test_leak_classify_cycle_has_one_definite_leader(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	heap[0][0] = at(2, 0);
	heap[2][0] = at(1, 0);
	heap[1][0] = at(0, 0);
	scene_classify(&scene, 3);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_DEFINITE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_INDIRECT);
	assert_int_equal(kind(&scene, 2), MP_LEAK_KIND_INDIRECT);
}

static void test_leak_classify_unaligned_and_outside_words_ignored(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	uint64_t value = at(0, 0);
	memcpy((char *)roots + 3, &value, sizeof(value)); /* not 8-byte aligned */
	roots[8] = at(1, 64);                               /* one past the end */
	scene_classify(&scene, 2);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_DEFINITE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_DEFINITE);
}

/* Words in a row: into block 0, at its end (block 1's start), into block 0 again, then
 * past block 1 into block 2. Marking skips the search for a word in the block the word
 * before hit, so it must stop exactly at that block's end. */
static void test_leak_classify_words_in_a_row_stop_at_the_blocks_end(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	roots[0] = at(0, 8);
	roots[1] = at(0, (int)sizeof(heap[0]));
	roots[2] = at(0, 16);
	roots[3] = at(2, 8);
	scene_classify(&scene, 4);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_POSSIBLE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(kind(&scene, 2), MP_LEAK_KIND_POSSIBLE);
	assert_int_equal(kind(&scene, 3), MP_LEAK_KIND_DEFINITE);
}

static void test_leak_classify_noscan_block_contents_not_followed(void **state)
{
	reset(state);
	struct scene scene = { 0 };
	roots[0] = at(0, 0);
	heap[0][0] = at(1, 0);
	scene.state[0] = MP_LEAK_NOSCAN;
	scene_classify(&scene, 2);
	assert_int_equal(kind(&scene, 0), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(kind(&scene, 1), MP_LEAK_KIND_DEFINITE);
}

/* A block laid out as glibc's: its chunk starts 16 bytes before it, the size word (112,
 * PREV_INUSE) 8 bytes before it; asked for 100 bytes, it ends 4 bytes into the next
 * chunk, whose address (block + 96) glibc keeps in main_arena when it is the top chunk. */
static unsigned classify_glibc_block(uint64_t root_word, uint64_t flags)
{
	static uint64_t memory[32] __attribute__((aligned(16)));
	memset(memory, 0, sizeof(memory));
	uint64_t block = (uint64_t)(uintptr_t)&memory[2];
	memory[1] = 112 | 1;
	struct mp_leak_block blocks[1] = { { block, 100 } };
	uint8_t states[1] = { 0 };
	uint32_t work[3];
	uint64_t root = root_word ? block + root_word : 0;
	struct mp_leak_classifier c;
	mp_leak_classify_init(&c, blocks, 1, states, work);
	mp_leak_classify_root(&c, (uint64_t)(uintptr_t)&root, (uint64_t)(uintptr_t)&root + 8, flags);
	mp_leak_classify_finish(&c);
	return mp_leak_classify_kind_of(states[0]);
}

static void test_leak_classify_malloc_state_next_chunk_is_not_a_pointer(void **state)
{
	(void)state;
	/* In glibc's own data, the next chunk's address points at that chunk. */
	assert_int_equal(classify_glibc_block(96, MP_LEAK_ROOT_MALLOC_STATE), MP_LEAK_KIND_DEFINITE);
	/* Anywhere else it is an interior pointer, as memcheck would take it. */
	assert_int_equal(classify_glibc_block(96, 0), MP_LEAK_KIND_POSSIBLE);
	/* Other words of glibc's data count as they always do. */
	assert_int_equal(classify_glibc_block(40, MP_LEAK_ROOT_MALLOC_STATE), MP_LEAK_KIND_POSSIBLE);
	assert_int_equal(classify_glibc_block(0, MP_LEAK_ROOT_MALLOC_STATE), MP_LEAK_KIND_DEFINITE);
}

/* A page's entry in /proc/self/pagemap says it is present. */
static int page_present(int pagemap, uint64_t addr)
{
	uint64_t entry = 0;
	assert_int_equal(pread(pagemap, &entry, 8, (off_t)(addr / 4096 * 8)), 8);
	return (entry >> 63) & 1;
}

/* A 1 MiB SPARSE block of which one page was written, holding the only pointer to a second
 * block: with the pagemap, that page alone is read (the second block is found, the other
 * pages stay untouched); without it, every page is (each gets the zero page). */
static void classify_sparse(int with_pagemap)
{
	enum { BIG = 1 << 20, SMALL = 64, WRITTEN = 100 };
	uint8_t *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *small = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			      0);
	assert_true(big != MAP_FAILED && small != MAP_FAILED);
	*(uint64_t *)(big + WRITTEN * 4096 + 8) = (uint64_t)(uintptr_t)small;
	struct mp_leak_block blocks[2] = { { (uint64_t)(uintptr_t)big, BIG },
					   { (uint64_t)(uintptr_t)small, SMALL } };
	if (small < big) {
		blocks[0] = (struct mp_leak_block){ (uint64_t)(uintptr_t)small, SMALL };
		blocks[1] = (struct mp_leak_block){ (uint64_t)(uintptr_t)big, BIG };
	}
	size_t big_index = small < big;
	uint8_t states[2] = { 0, 0 };
	uint32_t work[5];
	states[big_index] = MP_LEAK_SPARSE;
	uint64_t root = (uint64_t)(uintptr_t)big;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	assert_true(pagemap >= 0);
	struct mp_leak_classifier c;
	mp_leak_classify_init(&c, blocks, 2, states, work);
	c.pagemap_fd = with_pagemap ? pagemap : -1;
	mp_leak_classify_root(&c, (uint64_t)(uintptr_t)&root, (uint64_t)(uintptr_t)&root + 8, 0);
	mp_leak_classify_finish(&c);
	assert_int_equal(mp_leak_classify_kind_of(states[big_index]), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(mp_leak_classify_kind_of(states[!big_index]), MP_LEAK_KIND_REACHABLE);
	if (with_pagemap) {
		assert_int_equal(c.untouched_bytes, BIG - 4096);
		assert_int_equal(c.block_bytes, 4096 + SMALL);
		assert_false(page_present(pagemap, (uint64_t)(uintptr_t)big));
		assert_false(page_present(pagemap, (uint64_t)(uintptr_t)big + BIG - 4096));
	} else {
		assert_int_equal(c.untouched_bytes, 0);
		assert_int_equal(c.block_bytes, BIG + SMALL);
		assert_true(page_present(pagemap, (uint64_t)(uintptr_t)big));
	}
	assert_true(page_present(pagemap, (uint64_t)(uintptr_t)big + WRITTEN * 4096));
	close(pagemap);
	munmap(big, BIG);
	munmap(small, 4096);
}

static void test_leak_classify_sparse_block_reads_only_touched_pages(void **state)
{
	(void)state;
	classify_sparse(1);
}

static void test_leak_classify_sparse_block_without_pagemap_reads_all(void **state)
{
	(void)state;
	classify_sparse(0);
}

static void test_leak_find_zero_size_block_holds_its_first_byte(void **state)
{
	(void)state;
	struct mp_leak_block blocks[2] = { { 0x1000, 0 }, { 0x1010, 16 } };
	uint8_t states[2] = { 0 };
	uint32_t work[5];
	struct mp_leak_classifier c;
	mp_leak_classify_init(&c, blocks, 2, states, work);
	assert_int_equal(mp_leak_classify_find(&c, 0x1000), 0);
	assert_int_equal(mp_leak_classify_find(&c, 0x1001), SIZE_MAX);
	assert_int_equal(mp_leak_classify_find(&c, 0x101f), 1);
	assert_int_equal(mp_leak_classify_find(&c, 0x1020), SIZE_MAX);
	assert_int_equal(mp_leak_classify_find(&c, 0xfff), SIZE_MAX);
}

/* The page filter only rejects sooner: every address finds what it finds without it,
 * around blocks of every size (zero, within a page, across pages, over many pages) and
 * far apart (a wide [lowest, highest) with pages of no block in it). */
static void test_leak_find_with_page_filter_finds_the_same(void **state)
{
	(void)state;
	static uint64_t bits[MP_LEAK_FILTER_BITS / 64];
	struct mp_leak_block blocks[6] = {
		{ 0x10000, 0 }, { 0x10010, 24 }, { 0x10ff8, 16 },
		{ 0x200000, 70000 }, { 0x7f0000001000, 8 }, { 0x7f0000200000, 1u << 20 },
	};
	uint8_t states[6] = { 0 };
	uint32_t work[13];
	struct mp_leak_classifier plain, filtered;
	mp_leak_classify_init(&plain, blocks, 6, states, work);
	mp_leak_classify_init(&filtered, blocks, 6, states, work);
	/* 277 pages hold a block (those of the first three shared): 16 bits each, rounded up
	 * to a power of two. */
	size_t bytes = mp_leak_classify_filter_bytes(&filtered);
	assert_int_equal(bytes, 8192 / 8);
	mp_leak_classify_filter(&filtered, bits, bytes);
	for (size_t i = 0; i < 6; i++) {
		uint64_t size = blocks[i].size ? blocks[i].size : 1;
		uint64_t probes[] = { blocks[i].addr - 1, blocks[i].addr, blocks[i].addr + size / 2,
				      blocks[i].addr + size - 1, blocks[i].addr + size,
				      blocks[i].addr + 4096 * 3 + 5, blocks[i].addr - 4096 * 7 };
		for (size_t j = 0; j < sizeof(probes) / sizeof(probes[0]); j++)
			assert_int_equal(mp_leak_classify_find(&filtered, probes[j]),
					 mp_leak_classify_find(&plain, probes[j]));
	}
	uint64_t rng = 12345;
	for (int i = 0; i < 100000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t addr = 0x10000 + (rng >> 17) % (0x7f0000300000ull - 0x10000);
		assert_int_equal(mp_leak_classify_find(&filtered, addr),
				 mp_leak_classify_find(&plain, addr));
	}
}

/* glibc's layout: a heap low, a block of its own mmapped far above. The widest gap between
 * two blocks is found, and it only rejects sooner: every address on both sides of it, at
 * every block's edges, finds what a look at every block finds. */
static size_t find_by_looking_at_all(const struct mp_leak_block *blocks, size_t count,
				     uint64_t addr)
{
	for (size_t i = 0; i < count; i++)
		if (addr - blocks[i].addr < (blocks[i].size ? blocks[i].size : 1))
			return i;
	return SIZE_MAX;
}

static void test_leak_find_across_the_widest_gap_is_exact(void **state)
{
	(void)state;
	struct mp_leak_block blocks[6] = {
		{ 0x555500001000, 32 }, { 0x555500001040, 0 }, { 0x555500002000, 4096 },
		{ 0x5555000f0000, 200000 }, { 0x7f1234500000, 0 }, { 0x7f1234500010, 135168 },
	};
	uint8_t states[6] = { 0 };
	uint32_t work[13];
	struct mp_leak_classifier c;
	mp_leak_classify_init(&c, blocks, 6, states, work);
	assert_int_equal(c.gap_start, 0x5555000f0000 + 200000);
	assert_int_equal(c.gap_span, 0x7f1234500000 - (0x5555000f0000 + 200000));
	for (size_t i = 0; i < 6; i++) {
		uint64_t size = blocks[i].size ? blocks[i].size : 1;
		uint64_t probes[] = { blocks[i].addr - 1, blocks[i].addr, blocks[i].addr + 1,
				      blocks[i].addr + size - 1, blocks[i].addr + size };
		for (size_t j = 0; j < sizeof(probes) / sizeof(probes[0]); j++)
			assert_int_equal(mp_leak_classify_find(&c, probes[j]),
					 find_by_looking_at_all(blocks, 6, probes[j]));
	}
	uint64_t rng = 777;
	for (int i = 0; i < 100000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t addr = i % 2 ? 0x555500000000 + (rng >> 20) % 0x200000
				      : 0x7f1234400000 + (rng >> 20) % 0x200000;
		assert_int_equal(mp_leak_classify_find(&c, addr),
				 find_by_looking_at_all(blocks, 6, addr));
	}
}

/* The same in the marking, whose words are kept a batch at a time: two blocks of the
 * test's data and one in a mapping of its own, far away. The block before the gap is
 * reached by a pointer to its last byte, the one after it by a pointer to its first, and
 * the words at the gap's two ends reach nothing. */
static void test_leak_classify_marks_on_both_sides_of_the_gap(void **state)
{
	reset(state);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *far = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(far != MAP_FAILED);
	memset(far, 0, page);
	struct mp_leak_block mapped = { (uint64_t)(uintptr_t)far + 64, 64 };
	struct mp_leak_block blocks[3] = { { at(0, 0), 64 }, { at(1, 0), 64 }, mapped };
	if (mapped.addr < blocks[0].addr) { /* mapped below the test's data */
		blocks[2] = blocks[1];
		blocks[1] = blocks[0];
		blocks[0] = mapped;
	}
	uint8_t states[3] = { 0 };
	uint32_t work[7];
	struct mp_leak_classifier c;
	mp_leak_classify_init(&c, blocks, 3, states, work);
	size_t before = mapped.addr > blocks[0].addr ? 1 : 0, after = before + 1;
	assert_int_equal(c.gap_start, blocks[before].addr + 64);
	assert_int_equal(c.gap_start + c.gap_span, blocks[after].addr);
	size_t other = before ? 0 : 2;
	roots[0] = c.gap_start;
	roots[1] = c.gap_start + c.gap_span - 1;
	roots[2] = blocks[before].addr + 63;
	roots[3] = blocks[after].addr;
	roots[4] = blocks[other].addr;
	mp_leak_classify_root(&c, (uint64_t)(uintptr_t)roots,
			      (uint64_t)(uintptr_t)roots + sizeof(roots), 0);
	mp_leak_classify_finish(&c);
	assert_int_equal(mp_leak_classify_kind_of(states[before]), MP_LEAK_KIND_POSSIBLE);
	assert_int_equal(mp_leak_classify_kind_of(states[after]), MP_LEAK_KIND_REACHABLE);
	assert_int_equal(mp_leak_classify_kind_of(states[other]), MP_LEAK_KIND_REACHABLE);
	munmap(far, page);
}

/* The first look at the words (leak_classify_keep.c) keeps exactly the words in
 * [lowest, highest) outside the gap, in order, a word at a time and four at a time alike:
 * words at and around every edge, and random ones, in runs of every length up to 67 (the
 * last ones not a multiple of four). */
static size_t keep_by_definition(const struct mp_leak_classifier *c, const uint64_t *words,
				 size_t n, uint64_t *kept)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (words[i] >= c->lowest && words[i] < c->highest &&
		    !(words[i] >= c->gap_start && words[i] - c->gap_start < c->gap_span))
			kept[count++] = words[i];
	return count;
}

static void keep_compare(struct mp_leak_classifier *c, const uint64_t *words, size_t n)
{
	uint64_t expected[80], got[80];
	size_t count = keep_by_definition(c, words, n, expected);
	for (int simd = 0; simd <= c->simd; simd++) {
		struct mp_leak_classifier way = *c;
		way.simd = simd;
		memset(got, 0xee, sizeof(got));
		assert_int_equal(mp_leak_classify_keep(&way, words, n, got), count);
		assert_memory_equal(got, expected, count * sizeof(uint64_t));
	}
}

static void test_leak_keep_is_exact_a_word_and_four_words_at_a_time(void **state)
{
	(void)state;
	struct mp_leak_block blocks[4] = {
		{ 0x555500001000, 32 }, { 0x555500002000, 4096 },
		{ 0x7f1234500000, 0 }, { 0xfffffffffffff000, 4095 },
	};
	uint8_t states[4] = { 0 };
	uint32_t work[9];
	struct mp_leak_classifier c;
	mp_leak_classify_init(&c, blocks, 4, states, work);
	if (!mp_leak_classify_simd_available())
		print_message("no AVX2 here: the word-at-a-time way only\n");
	uint64_t edges[] = { c.lowest, c.highest, c.gap_start, c.gap_start + c.gap_span, 0,
			     UINT64_MAX, 1ull << 63 };
	uint64_t words[80];
	size_t n = 0;
	for (size_t e = 0; e < sizeof(edges) / sizeof(edges[0]); e++)
		for (int d = -2; d <= 2; d++)
			words[n++] = edges[e] + (uint64_t)(int64_t)d;
	keep_compare(&c, words, n);
	uint64_t rng = 99;
	for (int round = 0; round < 20000; round++) {
		n = (size_t)round % 68;
		for (size_t i = 0; i < n; i++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t pick = rng >> 61;
			words[i] = pick < 2 ? rng : pick < 4 ? blocks[pick - 2].addr + (rng >> 50)
				 : edges[(rng >> 33) % 7] + (rng >> 62) - 2;
		}
		keep_compare(&c, words, n);
	}
}

/* The page index only narrows the search: every address finds what the search over all
 * blocks finds, with many blocks to a page, blocks over many pages (words on pages no
 * block starts on), blocks over more pages than the index holds (MP_LEAK_INDEX_BLOCK_PAGES:
 * looked for apart), a zero-size block, and words below a page's first block (the block
 * found, if any, starts on an earlier page). */
static void test_leak_find_with_page_index_finds_the_same(void **state)
{
	(void)state;
	enum { COUNT = 5000 };
	static struct mp_leak_block blocks[COUNT];
	static uint8_t states[COUNT];
	static uint32_t work[2 * COUNT + 1];
	uint64_t rng = 99, at = 0x555555560010ull;
	for (size_t i = 0; i < COUNT; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t kind = (rng >> 60) % 8, size = 16 + (rng >> 33) % 200;
		if (kind == 0)
			size = 4096 * (1 + (rng >> 40) % 20) + 16; /* over several pages */
		else if (kind == 1)
			size = 0;
		else if ((rng >> 50) % 64 == 0) /* over more pages than the index holds */
			size = 4096 * (MP_LEAK_INDEX_BLOCK_PAGES + (rng >> 40) % 300) + 48;
		blocks[i] = (struct mp_leak_block){ at, size };
		at += (size ? size : 16) + 16 * ((rng >> 20) % 4) + (kind == 2 ? 3 * 4096 : 0);
		at = (at + 15) & ~15ull;
	}
	struct mp_leak_classifier plain, indexed;
	mp_leak_classify_init(&plain, blocks, COUNT, states, work);
	mp_leak_classify_init(&indexed, blocks, COUNT, states, work);
	size_t bytes = mp_leak_classify_index_bytes(&indexed);
	struct mp_leak_page_starts *slots = test_calloc(1, bytes);
	mp_leak_classify_index(&indexed, slots, bytes);
	size_t found = 0;
	for (size_t i = 0; i < COUNT; i++) {
		uint64_t size = blocks[i].size ? blocks[i].size : 1;
		uint64_t probes[] = { blocks[i].addr - 1, blocks[i].addr, blocks[i].addr + size / 2,
				      blocks[i].addr + size - 1, blocks[i].addr + size,
				      (blocks[i].addr & ~4095ull) - 8, blocks[i].addr + 4096 + 8 };
		for (size_t j = 0; j < sizeof(probes) / sizeof(probes[0]); j++) {
			size_t index = mp_leak_classify_find(&plain, probes[j]);
			assert_int_equal(mp_leak_classify_find(&indexed, probes[j]), index);
			found += index != SIZE_MAX;
		}
	}
	for (int i = 0; i < 200000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t addr = blocks[0].addr - 64 + ((rng >> 11) % (at - blocks[0].addr + 128) & ~7ull);
		assert_int_equal(mp_leak_classify_find(&indexed, addr),
				 mp_leak_classify_find(&plain, addr));
	}
	assert_true(found > COUNT * 3); /* the probes did hit blocks */
	assert_true(indexed.large_count > 20 && indexed.large_count < COUNT / 4);
	/* Inside the large blocks, on pages the index does not hold: found all the same. */
	for (size_t i = 0; i < indexed.large_count; i++) {
		const struct mp_leak_block *block = &blocks[indexed.large[i]];
		for (uint64_t offset = 4096 * 2 + 8; offset < block->size; offset += 4096 * 37)
			assert_int_equal(mp_leak_classify_find(&indexed, block->addr + offset),
					 indexed.large[i]);
	}
	test_free(slots);
}

static void expect_live(const struct mp_leak_block *expected, size_t expected_count)
{
	struct mp_leak_block *blocks;
	size_t count, bytes;
	assert_int_equal(mp_leak_live_blocks(&blocks, &count, &bytes), 0);
	assert_int_equal(count, expected_count);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(blocks[i].addr, expected[i].addr);
		assert_int_equal(blocks[i].size, expected[i].size);
	}
	mp_sys_unmap(blocks, bytes);
}

/* The live set from a real trace: frees, a realloc that moves, one in place, and an
 * address reused after its free. */
static void test_leak_live_blocks_last_event_wins(void **state)
{
	(void)state;
	mp_leak_live_reset();
	const char *path = fixture_start();
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x10000, 100);
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x20000, 200);
	mp_record_free((void *)0x10000);
	mp_record_alloc_done(MP_REC_CALLOC, (void *)0x10000, 300); /* reused */
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x30000, 400);
	mp_record_realloc((void *)0x30000, (void *)0x40000, 500, mp_clock_now_ns(), 0);
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x50000, 600);
	mp_record_realloc((void *)0x50000, (void *)0x50000, 700, mp_clock_now_ns(), 0);
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x60000, 800);
	mp_record_free((void *)0x60000);
	assert_int_equal(mp_leak_live_fold(path, 1), 10);
	const struct mp_leak_block expected[] = {
		{ 0x10000, 300 }, { 0x20000, 200 }, { 0x40000, 500 }, { 0x50000, 700 } };
	expect_live(expected, 4);
}

/* An empty live set and a new trace for it (the last test's chunk is another file's). */
static const char *fresh_live_trace(void)
{
	mp_leak_live_reset();
	mp_chunk_after_fork_child(&mp_state_thread);
	return fixture_start();
}

/* Round after round, as the leak thread folds: only what was committed since the last
 * round is read, releases are pruned two rounds later, and an address freed, pruned
 * and allocated again is live again; many blocks make the table grow and shrink. */
static void test_leak_live_fold_in_rounds(void **state)
{
	(void)state;
	const char *path = fresh_live_trace();
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x10000, 100);
	assert_int_equal(mp_leak_live_fold(path, 1), 1);
	assert_int_equal(mp_leak_live_fold(path, 1), 0);
	mp_record_free((void *)0x10000);
	for (uintptr_t i = 1; i <= 100000; i++)
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(0x1000000 + 32 * i), 24);
	assert_int_equal(mp_leak_live_fold(path, 1), 100001);
	assert_int_equal(mp_leak_live_count(), 100000);
	for (uintptr_t i = 1; i <= 100000; i++)
		mp_record_free((void *)(0x1000000 + 32 * i));
	for (int round = 0; round < 3; round++)
		mp_leak_live_fold(path, 1);
	mp_record_alloc_done(MP_REC_MALLOC, (void *)0x10000, 111);
	mp_record_alloc_done(MP_REC_MALLOC, (void *)(0x1000000 + 32 * 5), 55);
	assert_int_equal(mp_leak_live_fold(path, 0), 2);
	const struct mp_leak_block expected[] = { { 0x10000, 111 }, { 0x1000000 + 32 * 5, 55 } };
	expect_live(expected, 2);
	assert_int_equal(mp_leak_live_events(), 200004);
}

/* Blocks allocated rounds before they are freed (a heap torn down at exit): an address
 * allocated again is live, one freed twice is not. */
static void test_leak_live_old_blocks_freed_then_reused(void **state)
{
	(void)state;
	const char *path = fresh_live_trace();
	for (uintptr_t i = 0; i < 1000; i++)
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(0x2000000 + 64 * i), 48);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 1000);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0);
	for (uintptr_t i = 0; i < 1000; i++)
		mp_record_free((void *)(0x2000000 + 64 * i));
	mp_record_alloc_done(MP_REC_MALLOC, (void *)(0x2000000 + 64 * 5), 60);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 1001);
	assert_int_equal(mp_leak_live_count(), 1);
	mp_record_free((void *)(0x2000000 + 64 * 7)); /* a second free of a pruned address */
	mp_record_alloc_done(MP_REC_MALLOC, (void *)(0x2000000 + 64 * 9), 70);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), 2);
	const struct mp_leak_block expected[] = { { 0x2000000 + 64 * 5, 60 },
						  { 0x2000000 + 64 * 9, 70 } };
	expect_live(expected, 2);
}

/* The table as it is made now (leak_table.c). */
static struct mp_leak_table_stats table_now(void)
{
	struct mp_leak_table_stats stats;
	mp_leak_table_stats(&stats);
	return stats;
}

/* A heap freed at once: SWEEP_BLOCKS blocks 32 bytes apart (2048 to a 64 KiB region,
 * SWEEP_REGIONS regions) folded, then all but the first freed and folded. */
#define SWEEP_BLOCKS 100000u
#define SWEEP_REGIONS 49u

static uint64_t sweep_addr(uint64_t i)
{
	return 0x1000000 + 32 * i;
}

/* Returns the trace's path; *peak: the table's slots with the heap built, which the
 * teardown's releases (not prunable yet) still hold. */
static const char *sweep_fixture(uint64_t *peak)
{
	const char *path = fresh_live_trace();
	for (uint64_t i = 0; i < SWEEP_BLOCKS; i++)
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)sweep_addr(i), 24);
	/* The round holds the newest blocks over; the next applies them. */
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), SWEEP_BLOCKS);
	assert_int_equal(mp_leak_live_count(), SWEEP_BLOCKS);
	assert_true(mp_leak_table_count() < SWEEP_BLOCKS);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0);
	assert_int_equal(mp_leak_table_count(), SWEEP_BLOCKS);
	struct mp_leak_table_stats built = table_now();
	assert_int_equal(built.regions, SWEEP_REGIONS);
	assert_true(built.slots * 5 >= SWEEP_BLOCKS * 8); /* at most 5/8 full */
	for (uint64_t i = 1; i < SWEEP_BLOCKS; i++)
		mp_record_free((void *)(uintptr_t)sweep_addr(i));
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), SWEEP_BLOCKS - 1);
	struct mp_leak_table_stats freed = table_now();
	assert_int_equal(freed.regions, SWEEP_REGIONS);
	assert_int_equal(freed.slots, built.slots);
	*peak = built.slots;
	return path;
}

/* After sweep_fixture's last block, and one allocated again since: those two. */
static void expect_first_and_seventh(const char *path)
{
	mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)sweep_addr(7), 70);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), 1);
	const struct mp_leak_block expected[] = { { sweep_addr(0), 24 }, { sweep_addr(7), 70 } };
	expect_live(expected, 2);
}

/* Once the teardown's releases may be dropped, the next round's sweep gives back the
 * regions that hold nothing else and shrinks the one that still holds a block. */
static void test_leak_live_sweep_gives_back_a_freed_heap(void **state)
{
	(void)state;
	uint64_t peak;
	const char *path = sweep_fixture(&peak);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0);
	struct mp_leak_table_stats swept = table_now();
	assert_int_equal(swept.regions, 1);
	assert_int_equal(swept.released, SWEEP_REGIONS - 1);
	assert_true(swept.slots * 256 <= peak);
	assert_int_equal(swept.sweeps_cut, 0);
	expect_first_and_seventh(path);
}

/* A check's round (MP_LEAK_FOLD_KEEP) leaves the table as it is: the check wants the
 * blocks, not the memory. */
static void test_leak_live_check_round_does_not_sweep(void **state)
{
	(void)state;
	uint64_t peak;
	const char *path = sweep_fixture(&peak);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), 0);
	assert_int_equal(table_now().regions, SWEEP_REGIONS);
	assert_int_equal(table_now().slots, peak);
	expect_first_and_seventh(path);
}

/* An exit coming: the sweep stops before its first region, and the table stays whole and
 * right. */
static void test_leak_live_sweep_gives_way_to_an_exit(void **state)
{
	(void)state;
	uint64_t peak;
	const char *path = sweep_fixture(&peak);
	mp_leak_live_exit_coming();
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0);
	struct mp_leak_table_stats cut = table_now();
	assert_int_equal(cut.sweeps_cut, 1);
	assert_int_equal(cut.regions, SWEEP_REGIONS);
	assert_int_equal(cut.slots, peak);
	expect_first_and_seventh(path);
	mp_leak_live_reset(); /* the exit was this test's */
}

/* A sweep reads a bounded part of the table a round (2^20 slots): 300 regions of 4096
 * slots, each left holding 32 blocks, are shrunk over two rounds, not in one pass. */
static void test_leak_live_sweep_is_bounded_by_round(void **state)
{
	(void)state;
	enum { REGIONS = 300, PER_REGION = 2048, KEPT_EVERY = 64 };
	const char *path = fresh_live_trace();
	for (uint64_t i = 0; i < REGIONS * PER_REGION; i++)
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)(0x10000000 + 32 * i), 8);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), REGIONS * PER_REGION);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0); /* applies the held */
	assert_int_equal(table_now().slots, REGIONS * 4096);
	for (uint64_t i = 0; i < REGIONS * PER_REGION; i++)
		if (i % KEPT_EVERY)
			mp_record_free((void *)(uintptr_t)(0x10000000 + 32 * i));
	assert_true(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE) > 0);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0);
	uint64_t first = table_now().slots;
	/* 32 blocks kept: the smallest array at most half full with 33, 96 slots. */
	assert_true(first > REGIONS * 96);
	assert_true(first < REGIONS * 4096);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 0);
	assert_int_equal(table_now().slots, REGIONS * 96);
	assert_int_equal(mp_leak_live_count(), REGIONS * PER_REGION / KEPT_EVERY);
}

static int never_give_way(void)
{
	return 0;
}

/* A release applied in the round that just ended may still meet an older allocation of
 * its address in the next round (another thread's chunk, read before the allocation was
 * committed): a sweep after that round gives back a freed heap's regions, but not the
 * region that holds only that release, and the allocation loses to it. */
static void test_leak_table_young_release_outlives_a_sweep(void **state)
{
	(void)state;
	enum { BLOCKS = 200000 };
	const uint64_t heap = 0x1000000, alone = 0x90000000;
	mp_leak_live_reset();
	mp_leak_table_round_begin();
	for (uint64_t i = 0; i < BLOCKS; i++)
		assert_int_equal(mp_leak_table_apply(heap + 32 * i, 24, 100 + i, 0), 0);
	mp_leak_table_round_end(0);
	mp_leak_table_round_begin();
	for (uint64_t i = 0; i < BLOCKS; i++)
		assert_int_equal(mp_leak_table_apply(heap + 32 * i, 0, 1000000 + i, 1), 0);
	mp_leak_table_round_end(0);
	mp_leak_table_round_begin(); /* the heap's releases are prunable at its end */
	assert_int_equal(mp_leak_table_apply(alone, 0, 3000000, 1), 0);
	mp_leak_table_round_end(0);
	mp_leak_table_sweep(never_give_way);
	assert_int_equal(table_now().regions, 1);
	mp_leak_table_round_begin();
	assert_int_equal(mp_leak_table_apply(alone, 40, 2000000, 0), 0);
	mp_leak_table_round_end(0);
	assert_int_equal(mp_leak_table_count(), 0);
}

/* xorshift64: the model tests' operations, the same in every run. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* The blocks the model holds (model[i] set: block i at addr(i), size(i)), in address
 * order when addr grows with i, must be exactly the ones the fold lists. */
static void expect_model(const uint8_t *model, size_t addresses, uint64_t (*addr)(uint64_t),
			 uint64_t (*size)(uint64_t), struct mp_leak_block *expected)
{
	size_t count = 0;
	for (uint64_t i = 0; i < addresses; i++)
		if (model[i])
			expected[count++] = (struct mp_leak_block){ addr(i), size(i) };
	expect_live(expected, count);
}

static uint64_t compaction_addr(uint64_t i)
{
	return 0x4000000 + 48 * i;
}

static uint64_t compaction_size(uint64_t i)
{
	return i % 97 + 1;
}

/* Blocks allocated and freed at random over many rounds, against a model: the regions'
 * arrays fill with pruned releases and are rebuilt again and again, and the table lists
 * exactly the blocks the model holds. */
static void test_leak_live_matches_a_model_through_compactions(void **state)
{
	(void)state;
	enum { ADDRESSES = 60000, ROUNDS = 20000, OPS = 2000 };
	static uint8_t model[ADDRESSES];
	static struct mp_leak_block expected[ADDRESSES];
	memset(model, 0, sizeof(model));
	const char *path = fresh_live_trace();
	uint64_t rng = 88172645463325252ull;
	for (int round = 0; round < ROUNDS; round++) {
		for (int op = 0; op < OPS; op++) {
			uint64_t random = next_random(&rng);
			/* A few hundred blocks live at a time, over many addresses. */
			uint64_t i = random % ADDRESSES;
			void *block = (void *)(uintptr_t)compaction_addr(i);
			if (model[i])
				mp_record_free(block);
			else if (random >> 58 == 0)
				mp_record_alloc_done(MP_REC_MALLOC, block, compaction_size(i));
			else
				continue;
			model[i] = !model[i];
		}
		assert_true(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE) >= 0);
		if (round % 1000 == 999)
			expect_model(model, ADDRESSES, compaction_addr, compaction_size, expected);
	}
}

/* Heaps built up and torn down again and again, against a model: the table grows, is
 * swept after the teardown (7.5 MB of heap, 4 MiB of table at its peak), and lists
 * exactly the blocks the model holds all along. */
static void test_leak_live_matches_a_model_through_sweeps(void **state)
{
	(void)state;
	enum { ADDRESSES = 160000, CYCLES = 5, TEARDOWN_ROUND = 8000 };
	static uint8_t model[ADDRESSES];
	static struct mp_leak_block expected[ADDRESSES];
	memset(model, 0, sizeof(model));
	const char *path = fresh_live_trace();
	uint64_t rng = 88172645463325252ull;
	for (int cycle = 0; cycle < CYCLES; cycle++) {
		for (uint64_t i = 0; i < ADDRESSES; i++) {
			if (model[i] || next_random(&rng) % 8 == 0)
				continue;
			void *block = (void *)(uintptr_t)compaction_addr(i);
			mp_record_alloc_done(MP_REC_MALLOC, block, compaction_size(i));
			model[i] = 1;
		}
		assert_true(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE) >= 0);
		expect_model(model, ADDRESSES, compaction_addr, compaction_size, expected);
		uint64_t peak = table_now().slots;
		unsigned freed = 0;
		for (uint64_t i = 0; i < ADDRESSES; i++) {
			if (!model[i] || next_random(&rng) % 64 == 0)
				continue;
			mp_record_free((void *)(uintptr_t)compaction_addr(i));
			model[i] = 0;
			if (++freed % TEARDOWN_ROUND != 0)
				continue;
			int folded = mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE);
			assert_int_equal(folded, TEARDOWN_ROUND);
			expect_model(model, ADDRESSES, compaction_addr, compaction_size, expected);
		}
		for (int quiet = 0; quiet < 3; quiet++)
			assert_true(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE) >= 0);
		expect_model(model, ADDRESSES, compaction_addr, compaction_size, expected);
		/* Swept down to what a sweep leaves alone: four slots an entry, and 1 MiB. */
		assert_true(table_now().slots <= 4 * mp_leak_live_count() + 65536);
		assert_true(table_now().slots * 3 <= peak);
	}
	assert_true(table_now().rebuilt > 0);
}

/* The table grown while releases are pruned in it, to more than a hundred thousand live
 * blocks, one live block in sixteen met released; regions' arrays are rebuilt as they
 * fill (doubled, their prunable releases dropped), and the table must list exactly what
 * the model holds after each. */
#define GROWTH_ADDRESSES 400000u

/* Half the addresses dense (16 bytes apart: 4096 to a 64 KiB region), half 4 KiB apart
 * (16 to a region). */
static uint64_t growth_addr_mixed(uint64_t i)
{
	return i < GROWTH_ADDRESSES / 2 ? 0x10000000 + 16 * i
					: 0x40000000 + 4096 * (i - GROWTH_ADDRESSES / 2);
}

static uint64_t growth_size(uint64_t i)
{
	return i % 13 + 1;
}

/* One block in 97 of 8 MiB or more: its size is kept outside its slot. */
static uint64_t growth_size_big(uint64_t i)
{
	return i % 97 == 0 ? (8u << 20) - 1 + i : i % 13 + 1;
}

/* time_span: the table's (mp_leak_table_time_span), 0 for its default. */
static void grow_like_a_model(uint64_t (*growth_size)(uint64_t), uint64_t time_span)
{
	enum { ADDRESSES = GROWTH_ADDRESSES, ROUNDS = 120, OPS = 2500 };
	static uint8_t model[ADDRESSES];
	static struct mp_leak_block expected[ADDRESSES];
	memset(model, 0, sizeof(model));
	const char *path = fresh_live_trace();
	if (time_span)
		mp_leak_table_time_span(time_span);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < ROUNDS; round++) {
		for (int op = 0; op < OPS; op++) {
			uint64_t random = next_random(&rng);
			uint64_t i = random % ADDRESSES;
			void *block = (void *)(uintptr_t)growth_addr_mixed(i);
			if (model[i] && random >> 60 == 0)
				mp_record_free(block);
			else if (!model[i])
				mp_record_alloc_done(MP_REC_MALLOC, block, growth_size(i));
			else
				continue;
			model[i] = !model[i];
		}
		assert_true(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE) >= 0);
		if (round % 20 == 19)
			expect_model(model, ADDRESSES, growth_addr_mixed, growth_size, expected);
	}
	assert_true(mp_leak_live_count() > 100000);
	struct mp_leak_table_stats grown = table_now();
	/* 49 dense regions, grown from 4 slots to 4096 (10 rebuilds each at least), and a
	 * region for each 16 sparse blocks. */
	assert_true(grown.rebuilt >= 49 * 10);
	assert_true(grown.regions >= 49 + 12000);
	assert_true(grown.slots * 5 >= mp_leak_live_count() * 8); /* at most 5/8 full */
}

static void test_leak_live_matches_a_model_through_growth(void **state)
{
	(void)state;
	grow_like_a_model(growth_size, 0);
}

/* Big blocks (their sizes in the big map: put, replaced, dropped at their frees) and a
 * time base moved every 10 ms or so (slots' times shifted, the oldest clamped to 0): the
 * listing must still be exactly the model's. */
static void test_leak_live_big_sizes_and_moving_time_base(void **state)
{
	(void)state;
	grow_like_a_model(growth_size_big, 20000000);
	assert_true(table_now().rebases > 3);
}

/* Blocks packed closer than their count spreads them: more of them than homes in a part
 * of a region. A long probe doubles the array until each has a home of its own: 512
 * blocks 16 bytes apart take 4096 slots where 1024 would hold them; 8192 blocks 8 bytes
 * apart (a whole region, as an allocator with 8-byte classes makes) the largest array,
 * 16384. Each listed exactly. */
static void expect_packed(uint64_t spacing, uint64_t count, uint64_t slots)
{
	static struct mp_leak_block expected[8192];
	const char *path = fresh_live_trace();
	for (uint64_t i = 0; i < count; i++) {
		expected[i] = (struct mp_leak_block){ 0x7000000 + spacing * i, 8 };
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)expected[i].addr, 8);
	}
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), count);
	assert_int_equal(table_now().regions, 1);
	assert_int_equal(table_now().slots, slots);
	expect_live(expected, count);
}

static void test_leak_live_packed_blocks_grow_their_region(void **state)
{
	(void)state;
	expect_packed(16, 512, 4096);
	expect_packed(8, 1024, 8192);
	expect_packed(8, 8192, 16384);
}

/* Creates the test trace file `name` of this process (its header: 4096 bytes, pages of
 * 4096, started at 1000 ns); its path in path[64]. */
static FILE *test_trace_open(const char *name, char *path)
{
	snprintf(path, 64, "%s/%s.%d.trace", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name,
		 (int)getpid());
	struct mp_file_header file = { .version = MP_TRACE_VERSION, .header_size = 4096,
				       .page_size = 4096, .pid = (uint32_t)getpid(),
				       .start_monotonic_ns = 1000 };
	memcpy(file.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN);
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(&file, sizeof(file), 1, out), 1);
	return out;
}

/* Writes a chunk at `offset`: its header, then `length` bytes of records. */
static void test_trace_chunk(FILE *out, long offset, const struct mp_chunk_header *chunk,
			     const uint8_t *records, size_t length)
{
	assert_int_equal(fseek(out, offset, SEEK_SET), 0);
	assert_int_equal(fwrite(chunk, sizeof(*chunk), 1, out), 1);
	assert_int_equal(fwrite(records, 1, length, out), length);
}

/* Makes the file `size` bytes long and closes it. */
static void test_trace_close(FILE *out, long size)
{
	assert_int_equal(fseek(out, size - 1, SEEK_SET), 0);
	assert_int_equal(fputc(0, out), 0);
	fclose(out);
}

/* A trace file of this process with one chunk holding `records` (the chunk's capacity
 * rounded up to pages); returns its path. */
static const char *write_trace(const uint8_t *records, size_t length)
{
	static char path[64];
	FILE *out = test_trace_open("leak_live_test", path);
	uint32_t capacity = (uint32_t)((sizeof(struct mp_chunk_header) + length + 4095) & ~4095ul);
	struct mp_chunk_header chunk = { .magic = MP_CHUNK_MAGIC,
					 .header_size = sizeof(struct mp_chunk_header),
					 .capacity = capacity,
					 .used = (uint32_t)(sizeof(chunk) + length), .thread_serial = 1,
					 .flags = MP_CHUNK_LAST, .base_time_ns = 1000, .file_seq = 1 };
	test_trace_chunk(out, 4096, &chunk, records, length);
	test_trace_close(out, 4096 + (long)capacity);
	return path;
}

/* An unknown extended record of `total` bytes (at most 129) at `at`; returns the byte
 * after it. */
static uint8_t *put_extended(uint8_t *at, size_t total)
{
	*at++ = 100;
	at = mp_put_u(at, total - 2);
	memset(at, 0, total - 2);
	return at + total - 2;
}

/* The fold reads a chunk 256 KiB at a time: a record whose body goes on past a read is
 * stepped over, and the records after it decode from the addresses before it. (They did
 * not: that way out of the decoding loop lost the delta state, and the frees after it
 * released other addresses, so the blocks stayed live.) */
static void test_leak_live_record_across_reads_keeps_the_delta_state(void **state)
{
	(void)state;
	enum { BLOCKS = 50000, READ = 256 * 1024 };
	static uint8_t records[BLOCKS * 16 + READ];
	uint8_t *at = records;
	uint64_t prev = 0;
	for (int i = 0; i < BLOCKS; i++) {
		uint64_t addr = 0x10000000 + 64 * (uint64_t)i;
		if (at - records + 20 + 6 >= READ - 20 && at - records < READ - 20) {
			/* Pad to 20 bytes before the read's end, then a record across it. */
			at = put_extended(at, (size_t)(READ - 20 - (at - records)));
			at = put_extended(at, 200);
		}
		*at++ = MP_REC_MALLOC;
		at = mp_put_s(at, (int64_t)(addr - prev));
		at = mp_put_u(at, 48);
		at = mp_put_u(at, 0);
		at = mp_put_u(at, 1);
		prev = addr;
	}
	for (int i = 0; i < BLOCKS; i++) {
		uint64_t addr = 0x10000000 + 64 * (uint64_t)i;
		*at++ = MP_REC_FREE;
		at = mp_put_s(at, (int64_t)(addr - prev));
		at = mp_put_u(at, 1);
		prev = addr;
	}
	mp_leak_live_reset();
	const char *path = write_trace(records, (size_t)(at - records));
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), 2 * BLOCKS);
	assert_int_equal(mp_leak_live_count(), 0);
	unlink(path);
	mp_leak_live_reset();
}

/* Blocks freed DISTANCE allocations after their own, by one or two threads, over many
 * chunks and more operations than one batch holds. */
enum { PAIRS_BLOCKS = 60000, PAIRS_DISTANCE = 300, PAIRS_STEP = 2000 };

static uint64_t pairs_addr(int thread, uint64_t i)
{
	return 0x10000000 + (uint64_t)thread * 0x1000000 + 64 * i;
}

struct pairs_turns {
	pthread_barrier_t *barrier; /* NULL: one thread alone */
	int thread;
};

/* Allocates PAIRS_BLOCKS blocks, each freed PAIRS_DISTANCE allocations later; with a
 * barrier, meets the other thread every PAIRS_STEP blocks, so that the two threads'
 * chunks alternate in the file. */
static void *pairs_record(void *arg)
{
	const struct pairs_turns *turns = arg;
	for (uint64_t i = 0; i < PAIRS_BLOCKS; i++) {
		if (turns->barrier && i % PAIRS_STEP == 0)
			pthread_barrier_wait(turns->barrier);
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)pairs_addr(turns->thread, i), 40);
		if (i >= PAIRS_DISTANCE)
			mp_record_free((void *)(uintptr_t)pairs_addr(turns->thread, i - PAIRS_DISTANCE));
	}
	return NULL;
}

/* The blocks still live: the last PAIRS_DISTANCE of each thread, in address order. */
static void pairs_expect(int threads)
{
	static struct mp_leak_block expected[2 * PAIRS_DISTANCE];
	size_t count = 0;
	for (int thread = 0; thread < threads; thread++)
		for (uint64_t i = PAIRS_BLOCKS - PAIRS_DISTANCE; i < PAIRS_BLOCKS; i++)
			expected[count++] = (struct mp_leak_block){ pairs_addr(thread, i), 40 };
	expect_live(expected, count);
}

/* The number of chunks of the trace at path written by thread `serial`. */
static int pairs_chunks(const char *path, uint32_t serial)
{
	struct fixture_file file = fixture_read(path);
	const struct mp_file_header *header = (const void *)file.data;
	int chunks = 0;
	for (size_t offset = header->header_size;
	     offset + sizeof(struct mp_chunk_header) <= file.size;) {
		const struct mp_chunk_header *chunk = (const void *)(file.data + offset);
		if (chunk->magic != MP_CHUNK_MAGIC || !chunk->capacity)
			break;
		chunks += chunk->thread_serial == serial;
		offset += chunk->capacity;
	}
	free(file.data);
	return chunks;
}

/* One thread: folded in one round, every pair cancels in the batch, across the chunks'
 * boundaries and the batch filling up alike, and only the blocks still live reach the
 * table. (With a batch per chunk, the pairs across each boundary reached it twice.) */
static void test_leak_live_pairs_cancel_across_chunks_of_a_thread(void **state)
{
	(void)state;
	const char *path = fresh_live_trace();
	struct pairs_turns alone = { NULL, 0 };
	pairs_record(&alone);
	assert_true(pairs_chunks(path, mp_state_thread.serial) >= 3);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP),
			 2 * PAIRS_BLOCKS - PAIRS_DISTANCE);
	pairs_expect(1);
	assert_int_equal(mp_leak_live_table_ops(), PAIRS_DISTANCE);
}

static void *pairs_other_thread(void *arg)
{
	pairs_record(arg);
	return NULL; /* the exit destructor marks its last chunk */
}

/* Two threads whose chunks alternate in the file: each thread's chunks are folded in
 * order into a batch of their own, and again only the blocks still live reach the
 * table. */
static void test_leak_live_pairs_cancel_across_interleaved_threads(void **state)
{
	(void)state;
	const char *path = fresh_live_trace();
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, 2);
	struct pairs_turns main_turns = { &barrier, 0 }, other_turns = { &barrier, 1 };
	pthread_t other;
	assert_int_equal(pthread_create(&other, NULL, pairs_other_thread, &other_turns), 0);
	pairs_record(&main_turns);
	pthread_join(other, NULL);
	pthread_barrier_destroy(&barrier);
	assert_true(pairs_chunks(path, mp_state_thread.serial) >= 3);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP),
			 2 * (2 * PAIRS_BLOCKS - PAIRS_DISTANCE));
	pairs_expect(2);
	assert_int_equal(mp_leak_live_table_ops(), 2 * PAIRS_DISTANCE);
}

/* Holding. Blocks allocated near a round's end are held over to the next round, where
 * their frees cancel them: alloc_bench's blocks (freed 2048 records after their
 * allocation) sent every round's last thousand allocations and their frees to the
 * table. */
static void test_leak_live_blocks_freed_next_round_never_reach_the_table(void **state)
{
	(void)state;
	enum { BLOCKS = 1000 };
	const char *path = fresh_live_trace();
	for (uint64_t i = 0; i < BLOCKS; i++)
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)(0x3000000 + 48 * i), 40);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), BLOCKS);
	assert_int_equal(mp_leak_live_count(), BLOCKS);
	for (uint64_t i = 1; i < BLOCKS; i++)
		mp_record_free((void *)(uintptr_t)(0x3000000 + 48 * i));
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), BLOCKS - 1);
	assert_int_equal(mp_leak_live_count(), 1);
	/* Only the block never freed, held once and then applied. */
	assert_int_equal(mp_leak_live_table_ops(), 1);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), 0);
	const struct mp_leak_block expected[] = { { 0x3000000, 40 } };
	expect_live(expected, 1);
}

/* A thread whose held blocks outlive the next round too (a heap being built) holds fewer
 * over at each round, down to a few: holding them costs a copy and gains nothing. */
static void test_leak_live_holding_backs_off_where_blocks_stay(void **state)
{
	(void)state;
	enum { PER_ROUND = 10000, ROUNDS = 8 };
	const char *path = fresh_live_trace();
	uint64_t held[ROUNDS];
	for (uint64_t round = 0; round < ROUNDS; round++) {
		for (uint64_t i = 0; i < PER_ROUND; i++)
			mp_record_alloc_done(MP_REC_MALLOC,
					     (void *)(uintptr_t)(0x40000000 + 32 * (round * PER_ROUND + i)), 8);
		assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), PER_ROUND);
		assert_int_equal(mp_leak_live_count(), (round + 1) * PER_ROUND);
		held[round] = mp_leak_live_count() - mp_leak_table_count();
	}
	assert_true(held[ROUNDS - 1] > 0);
	assert_true(held[ROUNDS - 1] * 16 <= held[0]);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), 0);
	assert_int_equal(mp_leak_table_count(), ROUNDS * PER_ROUND);
}

/* A thread's records, written in full in its chunk, committed (`used`) up to `committed`
 * bytes. */
#define HOLD_CHUNK_BYTES 16384u
struct hold_thread {
	uint8_t records[HOLD_CHUNK_BYTES - 128];
	size_t length, committed;
};

/* A trace of `count` threads' chunks, serials 1, 2, ... in file order. */
static const char *write_threads(const struct hold_thread *threads, uint32_t count)
{
	static char path[64];
	FILE *out = test_trace_open("leak_hold_test", path);
	for (uint32_t i = 0; i < count; i++) {
		struct mp_chunk_header chunk = {
			.magic = MP_CHUNK_MAGIC, .header_size = sizeof(struct mp_chunk_header),
			.capacity = HOLD_CHUNK_BYTES,
			.used = (uint32_t)(sizeof(chunk) + threads[i].committed),
			.thread_serial = i + 1, .base_time_ns = 1000, .file_seq = i + 1,
		};
		test_trace_chunk(out, 4096 + (long)HOLD_CHUNK_BYTES * i, &chunk, threads[i].records,
				 threads[i].length);
	}
	test_trace_close(out, 4096 + (long)HOLD_CHUNK_BYTES * count);
	return path;
}

/* Appends an allocation or (size 0) a free of addr, `dt` ns after the thread's last
 * event. */
static void hold_record(struct hold_thread *thread, uint64_t *prev, uint64_t addr,
			uint64_t size, uint64_t dt)
{
	uint8_t *at = thread->records + thread->length;
	*at++ = size ? MP_REC_MALLOC : MP_REC_FREE;
	at = mp_put_s(at, (int64_t)(addr - *prev));
	if (size) {
		at = mp_put_u(at, size);
		at = mp_put_u(at, 0);
	}
	at = mp_put_u(at, dt);
	*prev = addr;
	thread->length = (size_t)(at - thread->records);
}

/* A held allocation reaches the table a round late, so a release another thread applied
 * must stay that much longer. Thread 2's chunk is read before it allocates X (at 1010);
 * thread 3 then gets X and frees it (1020), read in the same round. The next round reads
 * thread 2's allocation and holds it. In the one after, thread 1 fills X's region (its
 * array is rebuilt, prunable releases dropped) before thread 2's turn applies the
 * allocation: the release, two rounds old by then, must still be there to beat it. */
static void test_leak_live_release_outlives_a_held_allocation(void **state)
{
	(void)state;
	enum { FILL = 600 };
	const uint64_t x = 0x5000000;
	static struct hold_thread threads[3];
	uint64_t prev[3] = { 0, 0, 0 };
	memset(threads, 0, sizeof(threads));
	for (uint64_t i = 1; i <= FILL; i++)
		hold_record(&threads[0], &prev[0], x + 64 * i, 32, 1);
	hold_record(&threads[1], &prev[1], x, 64, 10);
	hold_record(&threads[2], &prev[2], x, 0, 20);
	mp_leak_live_reset();
	threads[2].committed = threads[2].length;
	const char *path = write_threads(threads, 3);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 1);
	threads[1].committed = threads[1].length;
	write_threads(threads, 3);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_PRUNE), 1);
	assert_int_equal(mp_leak_table_count(), 0); /* held */
	threads[0].committed = threads[0].length;
	write_threads(threads, 3);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), FILL);
	assert_int_equal(mp_leak_live_count(), FILL);
	struct mp_leak_block *blocks;
	size_t count, bytes;
	assert_int_equal(mp_leak_live_blocks(&blocks, &count, &bytes), 0);
	assert_int_equal(count, FILL);
	assert_int_equal(blocks[0].addr, x + 64);
	mp_sys_unmap(blocks, bytes);
	unlink(path);
	mp_leak_live_reset();
}

/* More blocks than the sort takes in 8-bit digits, in two regions as far apart as a brk
 * heap and an mmapped one and allocated in no address order: listed complete and sorted
 * (the sort's passes skip the bits the addresses share and take the others). */
static void test_leak_live_lists_many_blocks_sorted(void **state)
{
	(void)state;
	enum { BLOCKS = 150000 };
	static struct mp_leak_block expected[BLOCKS];
	const char *path = fresh_live_trace();
	for (uint64_t i = 0; i < BLOCKS; i++) {
		uint64_t k = i * 2654435761u % BLOCKS; /* a permutation: the factor is prime to it */
		uint64_t addr = (k % 2 ? 0x7f0000000000ull : 0x555500000000ull) + (k / 2) * 80;
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)addr, 40 + k % 24);
	}
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), BLOCKS);
	size_t count = 0;
	for (uint64_t region = 0; region < 2; region++)
		for (uint64_t k = region; k < BLOCKS; k += 2)
			expected[count++] = (struct mp_leak_block){
				(region ? 0x7f0000000000ull : 0x555500000000ull) + (k / 2) * 80,
				40 + k % 24 };
	expect_live(expected, count);
}

/* The listing goes region by region in address order, each region's array read nearly
 * in order and settled (leak_live.c): blocks in 300 regions allocated in a random order,
 * one region packed at both ends, one of six blocks whose last five share the last home
 * slot (their probes go on at the array's start), blocks sharing home slots, sizes from
 * 1 byte to 2 MiB. */
static int by_address(const void *a, const void *b)
{
	uint64_t x = ((const struct mp_leak_block *)a)->addr;
	uint64_t y = ((const struct mp_leak_block *)b)->addr;
	return x < y ? -1 : x > y;
}

static void test_leak_live_lists_regions_in_order(void **state)
{
	(void)state;
	enum { PACKED = 1500, SPREAD = 3000, EDGE = 6, BLOCKS = PACKED + SPREAD + EDGE };
	static struct mp_leak_block blocks[BLOCKS];
	const char *path = fresh_live_trace();
	size_t n = 0;
	for (uint64_t i = 0; i < PACKED; i++) { /* 750 at each end of one 64 KiB region */
		uint64_t offset = i % 2 ? 0x10000 - 16 * (i / 2 + 1) : 16 * (i / 2);
		blocks[n++] = (struct mp_leak_block){ 0x555500010000ull + offset, 1 + i % 16 };
	}
	uint64_t rng = 4242;
	for (uint64_t i = 0; i < SPREAD; i++) { /* ten blocks in each of 300 regions */
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t region = 0x7f0000000000ull + (i % 300) * 0x10000 * 7;
		blocks[n++] = (struct mp_leak_block){ region + (i / 300) * 0x1800 + (rng >> 60) * 8,
						      i % 97 ? 24 + (rng >> 58) : 2u << 20 };
	}
	/* A region of a few blocks (a small array): five in its last 64 bytes, whose probes
	 * go on at the array's start, and one at its first byte. */
	for (uint64_t i = 0; i < EDGE; i++)
		blocks[n++] = (struct mp_leak_block){
			0x555500030000ull + (i ? 0x10000 - 8 * i : 0), 8 };
	for (size_t i = BLOCKS - 1; i > 0; i--) { /* allocated in a random order */
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		size_t j = (size_t)(rng >> 33) % (i + 1);
		struct mp_leak_block swap = blocks[i];
		blocks[i] = blocks[j];
		blocks[j] = swap;
	}
	for (size_t i = 0; i < BLOCKS; i++)
		mp_record_alloc_done(MP_REC_MALLOC, (void *)(uintptr_t)blocks[i].addr, blocks[i].size);
	assert_int_equal(mp_leak_live_fold(path, MP_LEAK_FOLD_KEEP), BLOCKS);
	qsort(blocks, BLOCKS, sizeof(blocks[0]), by_address);
	expect_live(blocks, BLOCKS);
}

/* Two threads marking at once (the exit check with the exiting thread's help) reach the
 * same states as one: a random heap of blocks pointing at one another by start and
 * interior pointers, roots cut into small pieces that the two take in turn, then the
 * cliques; twenty heaps, each compared state by state with one thread's marking. */
enum { SHARED_BLOCKS = 4000, SHARED_WORDS = 8, SHARED_ROOTS = 2048 };
static uint64_t shared_heap[SHARED_BLOCKS][SHARED_WORDS];
static uint64_t shared_roots[SHARED_ROOTS];

struct shared_marker {
	struct mp_leak_classifier *c;
	const struct mp_leak_range *pieces;
	size_t count, *next;
};

static void *shared_mark(void *arg)
{
	struct shared_marker *marker = arg;
	mp_leak_classify_take(marker->c, marker->pieces, marker->count, marker->next);
	return NULL;
}

static uint64_t shared_pointer(uint64_t *rng)
{
	uint64_t r = next_random(rng);
	uint64_t block = r % SHARED_BLOCKS, kind = (r >> 20) % 8;
	uint64_t base = (uint64_t)(uintptr_t)shared_heap[block];
	if (kind < 2)
		return base;                          /* a start pointer */
	if (kind == 2)
		return base + 8 * ((r >> 30) % SHARED_WORDS); /* an interior one */
	return r >> 3;                                /* anything else */
}

static void test_leak_classify_two_threads_reach_the_same_states(void **state)
{
	(void)state;
	static struct mp_leak_block blocks[SHARED_BLOCKS];
	static uint8_t serial[SHARED_BLOCKS], shared[SHARED_BLOCKS];
	static uint32_t work_a[2 * SHARED_BLOCKS + 1], work_b[2 * SHARED_BLOCKS + 1];
	static struct mp_leak_range pieces[SHARED_ROOTS];
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	for (int heap_round = 0; heap_round < 20; heap_round++) {
		for (size_t i = 0; i < SHARED_BLOCKS; i++) {
			blocks[i] = (struct mp_leak_block){ (uint64_t)(uintptr_t)shared_heap[i],
							    sizeof(shared_heap[i]) };
			/* Sparse links, so that some groups stay unreached and form cliques. */
			for (int w = 0; w < SHARED_WORDS; w++)
				shared_heap[i][w] = next_random(&rng) % 4 == 0 ? shared_pointer(&rng) : 0;
		}
		for (size_t i = 0; i < SHARED_ROOTS; i++)
			shared_roots[i] = next_random(&rng) % 16 == 0 ? shared_pointer(&rng) : 7;
		struct mp_leak_range root = { (uint64_t)(uintptr_t)shared_roots,
					      (uint64_t)(uintptr_t)(shared_roots + SHARED_ROOTS), 0 };
		struct mp_leak_classifier one;
		memset(serial, 0, sizeof(serial));
		mp_leak_classify_init(&one, blocks, SHARED_BLOCKS, serial, work_a);
		mp_leak_classify_root(&one, root.start, root.end, root.flags);
		mp_leak_classify_finish(&one);

		struct mp_leak_classifier a, b;
		memset(shared, 0, sizeof(shared));
		mp_leak_classify_init(&a, blocks, SHARED_BLOCKS, shared, work_a);
		a.shared = 1;
		b = a;
		b.work = work_b;
		assert_true(mp_leak_classify_piece_count(&root, 1, 256) <= SHARED_ROOTS);
		size_t count = mp_leak_classify_pieces(&root, 1, 256, pieces), next = 0;
		assert_true(count > 32);
		struct shared_marker other = { &b, pieces, count, &next };
		pthread_t thread;
		assert_int_equal(pthread_create(&thread, NULL, shared_mark, &other), 0);
		mp_leak_classify_take(&a, pieces, count, &next);
		pthread_join(thread, NULL);
		a.shared = 0;
		mp_leak_classify_finish(&a);
		size_t reached = 0;
		for (size_t i = 0; i < SHARED_BLOCKS; i++) {
			assert_int_equal(shared[i], serial[i]);
			reached += (serial[i] & MP_LEAK_STATE_MASK) == MP_LEAK_REACHABLE;
		}
		assert_int_equal(a.root_bytes + b.root_bytes, one.root_bytes);
		assert_true(reached > 0 && reached < SHARED_BLOCKS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leak_classify_start_pointer_from_root_is_reachable),
		cmocka_unit_test(test_leak_classify_interior_pointer_only_is_possible),
		cmocka_unit_test(test_leak_classify_possible_block_upgraded_by_a_start_pointer),
		cmocka_unit_test(test_leak_classify_lost_parent_definite_child_indirect),
		cmocka_unit_test(test_leak_classify_cycle_has_one_definite_leader),
		cmocka_unit_test(test_leak_classify_unaligned_and_outside_words_ignored),
		cmocka_unit_test(test_leak_classify_words_in_a_row_stop_at_the_blocks_end),
		cmocka_unit_test(test_leak_classify_noscan_block_contents_not_followed),
		cmocka_unit_test(test_leak_classify_malloc_state_next_chunk_is_not_a_pointer),
		cmocka_unit_test(test_leak_classify_sparse_block_reads_only_touched_pages),
		cmocka_unit_test(test_leak_classify_sparse_block_without_pagemap_reads_all),
		cmocka_unit_test(test_leak_find_zero_size_block_holds_its_first_byte),
		cmocka_unit_test(test_leak_find_with_page_filter_finds_the_same),
		cmocka_unit_test(test_leak_find_with_page_index_finds_the_same),
		cmocka_unit_test(test_leak_find_across_the_widest_gap_is_exact),
		cmocka_unit_test(test_leak_classify_marks_on_both_sides_of_the_gap),
		cmocka_unit_test(test_leak_keep_is_exact_a_word_and_four_words_at_a_time),
		cmocka_unit_test(test_leak_live_blocks_last_event_wins),
		cmocka_unit_test(test_leak_live_fold_in_rounds),
		cmocka_unit_test(test_leak_live_old_blocks_freed_then_reused),
		cmocka_unit_test(test_leak_live_record_across_reads_keeps_the_delta_state),
		cmocka_unit_test(test_leak_live_sweep_gives_back_a_freed_heap),
		cmocka_unit_test(test_leak_live_check_round_does_not_sweep),
		cmocka_unit_test(test_leak_live_sweep_gives_way_to_an_exit),
		cmocka_unit_test(test_leak_live_sweep_is_bounded_by_round),
		cmocka_unit_test(test_leak_table_young_release_outlives_a_sweep),
		cmocka_unit_test(test_leak_live_matches_a_model_through_compactions),
		cmocka_unit_test(test_leak_live_matches_a_model_through_sweeps),
		cmocka_unit_test(test_leak_live_matches_a_model_through_growth),
		cmocka_unit_test(test_leak_live_big_sizes_and_moving_time_base),
		cmocka_unit_test(test_leak_live_packed_blocks_grow_their_region),
		cmocka_unit_test(test_leak_live_pairs_cancel_across_chunks_of_a_thread),
		cmocka_unit_test(test_leak_live_pairs_cancel_across_interleaved_threads),
		cmocka_unit_test(test_leak_live_blocks_freed_next_round_never_reach_the_table),
		cmocka_unit_test(test_leak_live_holding_backs_off_where_blocks_stay),
		cmocka_unit_test(test_leak_live_release_outlives_a_held_allocation),
		cmocka_unit_test(test_leak_live_lists_many_blocks_sorted),
		cmocka_unit_test(test_leak_live_lists_regions_in_order),
		cmocka_unit_test(test_leak_classify_two_threads_reach_the_same_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
