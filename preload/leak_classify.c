/* leak_classify.c: memcheck's leak classes by marking from roots, over given memory.
 *
 * Valgrind's manual (4.2.8, "Memory leak detection") defines the classes by pointer
 * chains from a root set: a block is "still reachable" if a chain of start-pointers
 * leads to it, "possibly lost" if chains reach it but every one holds an interior
 * pointer (or passes through a possibly lost block), "indirectly lost" if only lost
 * blocks point to it, and "definitely lost" if nothing does. This file computes exactly
 * that, the way memcheck does:
 *
 *  1. Marking. Each root word that hits a block makes it REACHABLE if it is the block's
 *     start, else POSSIBLE; a block whose state rises is pushed and its own words scanned
 *     with the same rule, except that words inside a POSSIBLE block can only make blocks
 *     POSSIBLE (memcheck's "is_prior_definite"). A block rises at most twice, so the work
 *     stack never holds more than 2 * count entries and the whole pass is linear in the
 *     bytes scanned.
 *  2. Cliques. Blocks still UNREACHED are lost. In address order, each one still
 *     UNREACHED leads a clique: everything UNREACHED it reaches, by start or interior
 *     pointer, becomes INDIRECT. A leader reached later by another leader becomes
 *     INDIRECT too, so a list or a cycle lost as a whole yields one definite block (its
 *     entry point, or for a cycle the lowest address) and the rest indirect, as in
 *     memcheck's report.
 *
 * memcheck's --leak-check-heuristics, all of them as valgrind's default, make some
 * interior pointers count as start pointers (classify_starts). Only 8-byte aligned words
 * are candidates, like memcheck on 64-bit targets.
 */
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"

#define CLASSIFY_PROGRESS_BLOCKS 4096u
#define CLASSIFY_PAGE 4096u
#define CLASSIFY_PAGEMAP_BATCH 512u /* pagemap entries read at once: 2 MiB of a block */
/* Anonymous roots from this size on are read only where touched (classify_touched): as
 * for blocks (MP_LEAK_SPARSE), smaller ones cost more in pagemap reads than they save. */
#define CLASSIFY_SPARSE_ROOT (64u * 1024u)
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)

static uint64_t classify_no_progress;

/* The widest stretch of addresses between two consecutive blocks (see gap_start). */
static void classify_find_gap(struct mp_leak_classifier *c)
{
	c->gap_start = c->gap_span = 0;
	for (size_t i = 1; i < c->count; i++) {
		const struct mp_leak_block *before = &c->blocks[i - 1];
		uint64_t end = before->addr + (before->size ? before->size : 1);
		uint64_t next = c->blocks[i].addr;
		if (next > end && next - end > c->gap_span) {
			c->gap_start = end;
			c->gap_span = next - end;
		}
	}
}

void mp_leak_classify_init(struct mp_leak_classifier *c, const struct mp_leak_block *blocks,
			   size_t count, uint8_t *state, uint32_t *work)
{
	c->blocks = blocks;
	c->count = count;
	c->state = state;
	c->work = work;
	c->work_len = 0;
	c->pagemap_fd = -1;
	c->root_bytes = 0;
	c->block_bytes = 0;
	c->untouched_bytes = 0;
	c->progress = &classify_no_progress;
	c->shared = 0;
	c->pages = NULL;
	c->page_shift = 64;
	c->starts = NULL;
	c->starts_mask = 0;
	c->large = NULL;
	c->large_count = 0;
	c->readable = NULL;
	c->readable_count = 0;
	c->heuristics = 0;
	c->lowest = count ? blocks[0].addr : 0; /* [0, 0) when there is none */
	c->highest = 0;
	if (count) {
		const struct mp_leak_block *last = &blocks[count - 1];
		c->highest = last->addr + (last->size ? last->size : 1);
	}
	classify_find_gap(c);
	c->simd = mp_leak_classify_simd_available();
}

/* The filter's bit for the 4 KiB page of addr (a granularity of the filter's own, not
 * the system's page size). */
static inline uint64_t classify_page_bit(const struct mp_leak_classifier *c, uint64_t addr)
{
	return ((addr >> 12) * 0x9e3779b97f4a7c15ull) >> c->page_shift;
}

/* The first and the last of the filter's pages that block lies on (a zero-size block:
 * the page of its address). */
static inline void classify_block_pages(const struct mp_leak_block *block, uint64_t *first,
					uint64_t *last)
{
	*first = block->addr >> 12;
	*last = (block->addr + (block->size ? block->size - 1 : 0)) >> 12;
}

size_t mp_leak_classify_filter_bytes(const struct mp_leak_classifier *c)
{
	uint64_t pages = 0, last_page = UINT64_MAX;
	for (size_t i = 0; i < c->count && pages < MP_LEAK_FILTER_BITS; i++) {
		uint64_t first, last;
		classify_block_pages(&c->blocks[i], &first, &last);
		if (first == last_page)
			first++; /* blocks are sorted: the page the last one ended on is counted */
		if (last >= first)
			pages += last - first + 1;
		last_page = last;
	}
	uint64_t bits = MP_LEAK_FILTER_MIN_BITS;
	while (bits < MP_LEAK_FILTER_BITS && bits < MP_LEAK_FILTER_BITS_PER_PAGE * pages)
		bits *= 2;
	return (size_t)(bits / 8);
}

void mp_leak_classify_filter(struct mp_leak_classifier *c, uint64_t *bits, size_t bytes)
{
	uint64_t count = (uint64_t)bytes * 8;
	c->page_shift = 64 - (unsigned)__builtin_ctzll(count);
	for (size_t i = 0; i < c->count; i++) {
		uint64_t first, last;
		classify_block_pages(&c->blocks[i], &first, &last);
		if (last - first >= count) {
			memset(bits, 0xff, bytes); /* a block over every bit */
			break;
		}
		for (uint64_t page = first; page <= last; page++) {
			uint64_t bit = classify_page_bit(c, page << 12);
			bits[bit / 64] |= 1ull << (bit % 64);
		}
	}
	c->pages = bits;
}

/* Slots for the index: twice the pages blocks are on (as far as indexed), rounded up to
 * a power of two; and how many blocks are too large for it. */
static uint64_t classify_index_slots(const struct mp_leak_classifier *c, size_t *large)
{
	uint64_t pages = 0, last_page = UINT64_MAX, slots = 16;
	*large = 0;
	for (size_t i = 0; i < c->count; i++) {
		uint64_t first, last;
		classify_block_pages(&c->blocks[i], &first, &last);
		pages += first != last_page;
		last_page = first;
		if (MP_UNLIKELY(last != first)) {
			if (last - first > MP_LEAK_INDEX_BLOCK_PAGES)
				(*large)++;
			else
				pages += last - first;
		}
	}
	while (slots < 2 * pages)
		slots *= 2;
	return slots;
}

size_t mp_leak_classify_index_bytes(const struct mp_leak_classifier *c)
{
	size_t large;
	uint64_t slots = classify_index_slots(c, &large);
	return slots * sizeof(struct mp_leak_page_starts) + large * sizeof(uint32_t);
}

static inline uint64_t classify_index_home(const struct mp_leak_classifier *c, uint64_t page)
{
	return (page * 0x9e3779b97f4a7c15ull >> 20) & c->starts_mask;
}

/* Notes that block i covers page, on which no block starts. */
static void classify_index_inside(struct mp_leak_classifier *c, struct mp_leak_page_starts *slots,
				  uint64_t page, size_t i)
{
	uint64_t at = classify_index_home(c, page);
	while (slots[at].count)
		at = (at + 1) & c->starts_mask;
	slots[at] = (struct mp_leak_page_starts){ page, (uint32_t)i, MP_LEAK_PAGE_INSIDE };
}

void mp_leak_classify_index(struct mp_leak_classifier *c, struct mp_leak_page_starts *slots,
			    size_t bytes)
{
	/* The slots are the largest power of two that bytes holds: the large blocks' list
	 * after them is smaller than they are (each large block has a page of its own). */
	uint64_t slot_count = 16;
	while (slot_count * 2 * sizeof(*slots) <= bytes)
		slot_count *= 2;
	size_t large_room = (bytes - slot_count * sizeof(*slots)) / sizeof(uint32_t);
	c->starts_mask = slot_count - 1;
	uint32_t *large_blocks = (uint32_t *)(slots + slot_count);
	c->large_count = 0;
	struct mp_leak_page_starts *current = NULL;
	for (size_t i = 0; i < c->count; i++) {
		uint64_t first, last;
		classify_block_pages(&c->blocks[i], &first, &last);
		if (!current || current->page != first) {
			uint64_t at = classify_index_home(c, first);
			while (slots[at].count)
				at = (at + 1) & c->starts_mask;
			current = &slots[at];
			*current = (struct mp_leak_page_starts){ first, (uint32_t)i, 0 };
		}
		current->count++;
		if (MP_LIKELY(last == first))
			continue;
		if (last - first > MP_LEAK_INDEX_BLOCK_PAGES) {
			if (c->large_count == large_room)
				return; /* bytes not as mp_leak_classify_index_bytes said: no index */
			large_blocks[c->large_count++] = (uint32_t)i;
			continue;
		}
		/* The pages after its first: no block starts on them but on the last, where the
		 * next block may (it then holds that page, and this block is found from it). */
		if (i + 1 < c->count && c->blocks[i + 1].addr >> 12 == last)
			last--;
		for (uint64_t page = first + 1; page <= last; page++)
			classify_index_inside(c, slots, page, i);
	}
	c->large = large_blocks;
	c->starts = slots;
}

/* [*low, *high): where the last block starting at or below addr is, from the index.
 * 0 if the index does not hold addr's page: no block is on it but perhaps a large one. */
static inline int classify_index_narrow(const struct mp_leak_classifier *c, uint64_t addr,
					size_t *low, size_t *high)
{
	uint64_t page = addr >> 12;
	for (uint64_t at = classify_index_home(c, page);; at = (at + 1) & c->starts_mask) {
		const struct mp_leak_page_starts *slot = &c->starts[at];
		if (!slot->count)
			return 0;
		if (slot->page != page)
			continue;
		if (slot->count == MP_LEAK_PAGE_INSIDE) {
			*low = slot->first;
			*high = *low + 1;
		} else if (addr < c->blocks[slot->first].addr) {
			/* Below the page's first block: the last one before it, if any. */
			*low = slot->first ? slot->first - 1 : 0;
			*high = *low + 1;
		} else {
			*low = slot->first;
			*high = (size_t)slot->first + slot->count;
		}
		return 1;
	}
}

/* The large block (classify_index) addr is in, or SIZE_MAX. */
static size_t classify_search_large(const struct mp_leak_classifier *c, uint64_t addr)
{
	size_t low = 0, high = c->large_count; /* the last one whose addr <= addr is below high */
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (c->blocks[c->large[mid]].addr <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return SIZE_MAX;
	const struct mp_leak_block *block = &c->blocks[c->large[low - 1]];
	return addr - block->addr < block->size ? c->large[low - 1] : SIZE_MAX;
}

/* Whether addr may be in a block: between the lowest and the highest, on a page of the
 * filter. Inline where words are read, so that the words that can be in no block (most
 * of them) cost a load and a compare, not a call: cc1's exit check read 11 MB of roots
 * and blocks, 1.4M words, 4.5 ms with a call to mp_leak_classify_find for each. */
static inline int classify_on_filter(const struct mp_leak_classifier *c, uint64_t addr)
{
	if (!c->pages)
		return 1;
	uint64_t bit = classify_page_bit(c, addr);
	return (int)(c->pages[bit / 64] >> (bit % 64) & 1);
}

static inline int classify_may_hit(const struct mp_leak_classifier *c, uint64_t addr)
{
	return addr - c->lowest < c->highest - c->lowest && addr - c->gap_start >= c->gap_span &&
	       classify_on_filter(c, addr);
}

/* The block that holds addr, which may hit one (classify_may_hit), or SIZE_MAX. */
static size_t classify_search(const struct mp_leak_classifier *c, uint64_t addr)
{
	size_t low = 0, high = c->count; /* the last block whose addr <= addr */
	if (c->starts && !classify_index_narrow(c, addr, &low, &high))
		return classify_search_large(c, addr);
	while (high - low > 1) {
		size_t mid = low + (high - low) / 2;
		if (c->blocks[mid].addr <= addr)
			low = mid;
		else
			high = mid;
	}
	const struct mp_leak_block *block = &c->blocks[low];
	/* memcheck counts the first byte of a zero-size block as inside it. */
	uint64_t size = block->size ? block->size : 1;
	return addr - block->addr < size ? low : SIZE_MAX;
}

size_t mp_leak_classify_find(const struct mp_leak_classifier *c, uint64_t addr)
{
	return classify_may_hit(c, addr) ? classify_search(c, addr) : SIZE_MAX;
}

static void classify_push(struct mp_leak_classifier *c, size_t index)
{
	c->work[c->work_len++] = (uint32_t)index;
}

/* The block's state byte, which another marking thread may be raising (shared). */
static inline uint8_t classify_state(const struct mp_leak_classifier *c, size_t index)
{
	return __atomic_load_n(&c->state[index], __ATOMIC_RELAXED);
}

/* memcheck's heuristics, which valgrind applies by default (--leak-check-heuristics=all):
 * a pointer into a block with one of these shapes reaches it as a pointer to its start
 * would (memcheck's "still reachable ... via heuristic"). Without them C++ programs had
 * blocks "possibly lost" that memcheck calls reachable, enough to fail --fail-on-leak:
 *  - newarray: 8 bytes in, after a count of elements that divides the rest of the
 *    block, the cookie new[] puts before an array of objects with a destructor;
 *  - length64: 8 bytes in, after the length of the rest (sqlite's allocator), which the
 *    rule above also takes;
 *  - stdstring: 24 bytes in, after a length, a capacity and a reference count, the block
 *    being those, the capacity's bytes and a terminating zero (libstdc++'s string of the
 *    old ABI).
 * The fourth, multipleinheritance, is classify_subobject's. Reads the block's first two
 * words, on the page its malloc header is on. */
static int classify_array_or_string(uint32_t heuristics, const struct mp_leak_block *block,
				    uint64_t word)
{
	const uint64_t *words = (const uint64_t *)(uintptr_t)block->addr;
	uint64_t offset = word - block->addr;
	if (offset == 8 && block->size > 8 && words[0]) {
		if ((heuristics & MP_HEURISTIC_LENGTH64) && words[0] == block->size - 8)
			return 1;
		return (heuristics & MP_HEURISTIC_NEWARRAY) && (block->size - 8) % words[0] == 0;
	}
	return (heuristics & MP_HEURISTIC_STDSTRING) && offset == 24 && block->size > 24 &&
	       words[1] == block->size - 25 && words[0] <= words[1];
}

/* The readable mapping [addr, addr + len) lies in (c->readable, by address), or NULL. */
static const struct mp_leak_range *classify_readable(const struct mp_leak_classifier *c,
						     uint64_t addr, uint64_t len)
{
	size_t low = 0, high = c->readable_count; /* the first range ending past addr */
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (c->readable[mid].end <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == c->readable_count || c->readable[low].start > addr ||
	    len > c->readable[low].end - addr)
		return NULL;
	return &c->readable[low];
}

/* Whether v looks like a C++ vtable pointer, by the Itanium ABI's layout (section 2.5):
 * v[-2] is the offset of the subobject from the object's start, negated (0 for a complete
 * object), v[-1] the class's typeinfo, an object whose own first word is a vtable pointer
 * (of a type_info class: offset 0) and whose second is its name; or 0 in code built
 * without RTTI (node, V8), where v[0], the first virtual function, must then point into
 * code. memcheck asks its symbol tables instead (a _ZTV symbol); the process has none at
 * hand. Every word is read only inside a readable mapping (a stray value read elsewhere
 * would fault). */
static int classify_vptr(const struct mp_leak_classifier *c, uint64_t v)
{
	if ((v & 7) || v < 4096 + 16 || !classify_readable(c, v - 16, 24))
		return 0;
	const int64_t *vtable = (const int64_t *)(uintptr_t)v;
	uint64_t typeinfo = (uint64_t)vtable[-1];
	if (vtable[-2] > 0 || vtable[-2] < -(1ll << 30) || (vtable[-2] & 7) || (typeinfo & 7))
		return 0;
	if (!typeinfo) {
		const struct mp_leak_range *code = classify_readable(c, (uint64_t)vtable[0], 1);
		return code && (code->flags & MP_LEAK_READABLE_EXEC);
	}
	if (!classify_readable(c, typeinfo, 16))
		return 0;
	const uint64_t *info = (const uint64_t *)(uintptr_t)typeinfo;
	uint64_t info_vptr = info[0], name = info[1];
	return !(info_vptr & 7) && info_vptr >= 4096 + 16 &&
	       classify_readable(c, info_vptr - 16, 16) &&
	       ((const int64_t *)(uintptr_t)info_vptr)[-2] == 0 && classify_readable(c, name, 1);
}

/* memcheck's multipleinheritance heuristic: a pointer into the block at a word that is a
 * vtable pointer, the block's first word being one too: a base class subobject of an
 * object whose class has more than one base with virtual functions, or an object made
 * by std::make_shared behind its control block. */
static int classify_subobject(const struct mp_leak_classifier *c,
			      const struct mp_leak_block *block, uint64_t word)
{
	uint64_t offset = word - block->addr;
	if (!(c->heuristics & MP_HEURISTIC_MULTIPLEINHERITANCE) || !c->readable || (word & 7) ||
	    (block->addr & 7) || offset + 8 > block->size)
		return 0;
	return classify_vptr(c, *(const uint64_t *)(uintptr_t)word) &&
	       classify_vptr(c, *(const uint64_t *)(uintptr_t)block->addr);
}

/* Whether `word`, pointing into block index, reaches it as its start would: it is the
 * start, or a heuristic holds. The heuristics read the block: not one outside readable
 * memory (NOSCAN: a program may have made its pages PROT_NONE), where a fault would end
 * the whole scan. */
static inline int classify_starts(const struct mp_leak_classifier *c, size_t index,
				  uint64_t word)
{
	const struct mp_leak_block *block = &c->blocks[index];
	if (word == block->addr)
		return 1;
	if (!c->heuristics || (classify_state(c, index) & MP_LEAK_NOSCAN))
		return 0;
	return classify_array_or_string(c->heuristics, block, word) ||
	       classify_subobject(c, block, word);
}

/* classify_mark where another thread marks too: the state rises by compare-and-swap, and
 * the thread whose swap raised it scans the block. */
static __attribute__((noinline)) void classify_mark_shared(struct mp_leak_classifier *c,
							   size_t index, uint64_t word,
							   int definite)
{
	uint8_t *state = &c->state[index];
	uint8_t now = __atomic_load_n(state, __ATOMIC_RELAXED), to;
	int at_start = definite && word == c->blocks[index].addr;
	int starts = (now & MP_LEAK_STATE_MASK) != MP_LEAK_REACHABLE &&
		     (at_start || (definite && classify_starts(c, index, word)));
	uint8_t via = at_start ? 0 : MP_LEAK_VIA_HEURISTIC;
	do {
		unsigned kind = now & MP_LEAK_STATE_MASK;
		if (kind == MP_LEAK_REACHABLE) {
			/* memcheck counts it "via heuristic" until a start pointer reaches it. */
			if (at_start && (now & MP_LEAK_VIA_HEURISTIC))
				__atomic_fetch_and(state, (uint8_t)~MP_LEAK_VIA_HEURISTIC,
						   __ATOMIC_RELAXED);
			return;
		}
		if (starts)
			to = (uint8_t)((now & ~MP_LEAK_STATE_MASK) | MP_LEAK_REACHABLE | via);
		else if (kind == MP_LEAK_UNREACHED)
			to = (uint8_t)((now & ~MP_LEAK_STATE_MASK) | MP_LEAK_POSSIBLE);
		else
			return;
	} while (!__atomic_compare_exchange_n(state, &now, to, 1, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	classify_push(c, index);
}

/* Block index, found for a candidate word while marking, from memory whose chain so far
 * is all start-pointers (definite) or not. */
static inline void classify_mark(struct mp_leak_classifier *c, size_t index, uint64_t word,
				 int definite)
{
	if (c->shared) {
		classify_mark_shared(c, index, word, definite);
		return;
	}
	uint8_t *state = &c->state[index];
	unsigned now = *state & MP_LEAK_STATE_MASK;
	if (now == MP_LEAK_REACHABLE) {
		/* memcheck counts a block reachable "via heuristic" until a start pointer
		 * reaches it too. */
		if ((*state & MP_LEAK_VIA_HEURISTIC) && definite && word == c->blocks[index].addr)
			*state &= (uint8_t)~MP_LEAK_VIA_HEURISTIC;
		return;
	}
	if (definite && classify_starts(c, index, word)) {
		uint8_t via = word == c->blocks[index].addr ? 0 : MP_LEAK_VIA_HEURISTIC;
		*state = (uint8_t)((*state & ~MP_LEAK_STATE_MASK) | MP_LEAK_REACHABLE | via);
		classify_push(c, index);
	} else if (now == MP_LEAK_UNREACHED) {
		*state = (uint8_t)((*state & ~MP_LEAK_STATE_MASK) | MP_LEAK_POSSIBLE);
		classify_push(c, index);
	}
}

/* The 8-byte aligned words of [start, end). Words are read a batch at a time and those
 * between the lowest and the highest block but outside the gap kept without a branch
 * (leak_classify_keep.c; in no order a predictor could follow; the gap cut cc1's kept
 * words from a third of its roots to 6%); then the block the last hit was in is tried
 * first: half of the words that point into a block point into the same block as the one
 * before (arrays of pointers into one table), and those skip the search. */
#define CLASSIFY_BATCH 64u
/* Each batch asks for the lines 8 KiB ahead: roots and blocks are read once, cold, and the
 * hardware's prefetch stops at every 4 KiB page, where the read waited for memory (43% of
 * classify_words' samples on the load). cc1's exit scan, 9 runs each: 1.95 ms against 2.2-2.3
 * (4 KiB ahead 1.95-2.2, 16 KiB 1.86-2.0). */
#define CLASSIFY_AHEAD 8192u

static void classify_words(struct mp_leak_classifier *c, uint64_t start, uint64_t end,
			   int definite)
{
	uint64_t at = (start + 7) & ~(uint64_t)7;
	uint64_t last_addr = 0, last_span = 0; /* the block of the last hit; span 0: none */
	size_t last = 0;
	uint64_t batch[CLASSIFY_BATCH];
	while (at + 8 <= end && at >= start) {
		uint64_t words = (end - at) / 8;
		if (words > CLASSIFY_BATCH)
			words = CLASSIFY_BATCH;
		for (uint64_t line = 0; line < CLASSIFY_BATCH * 8; line += 64)
			__builtin_prefetch((const void *)(uintptr_t)(at + CLASSIFY_AHEAD + line));
		size_t kept = mp_leak_classify_keep(c, (const uint64_t *)(uintptr_t)at, words, batch);
		at += words * 8;
		for (size_t i = 0; i < kept; i++) {
			uint64_t word = batch[i];
			if (word - last_addr < last_span) {
				classify_mark(c, last, word, definite);
				continue;
			}
			if (!classify_on_filter(c, word)) /* in range: kept above */
				continue;
			size_t index = classify_search(c, word);
			if (index == SIZE_MAX)
				continue;
			last = index;
			last_addr = c->blocks[index].addr;
			last_span = c->blocks[index].size ? c->blocks[index].size : 1;
			classify_mark(c, index, word, definite);
		}
	}
}

/* What the words of one range do: marking (classify_words) or a clique's walk. */
struct classify_visit {
	void (*range)(struct mp_leak_classifier *c, uint64_t start, uint64_t end, void *arg);
	void *arg;
};

static void classify_mark_range(struct mp_leak_classifier *c, uint64_t start, uint64_t end,
				void *arg)
{
	classify_words(c, start, end, *(const int *)arg);
}

/* Visits the parts of [start, end) on pages that were ever touched. A block malloc left
 * untouched (a big buffer reserved, a calloc the kernel zeroes lazily) has pages never
 * faulted in: reading them faulted in the zero page, page by page (24 ms for 9 MiB, seconds
 * for a few GiB), to find zeros. /proc/self/pagemap says which pages are neither present
 * nor swapped; in private anonymous memory those read as zeros (a file's page would read
 * the file, which is why only SPARSE blocks are so treated). On any error the rest is
 * read whole. */
static void classify_touched(struct mp_leak_classifier *c, uint64_t start, uint64_t end,
			     const struct classify_visit *visit)
{
	uint64_t entries[CLASSIFY_PAGEMAP_BATCH];
	uint64_t page = start / CLASSIFY_PAGE, last = (end - 1) / CLASSIFY_PAGE;
	while (page <= last) {
		uint64_t want = last - page + 1;
		if (want > CLASSIFY_PAGEMAP_BATCH)
			want = CLASSIFY_PAGEMAP_BATCH;
		long got = syscall(SYS_pread64, c->pagemap_fd, entries, want * 8, (off_t)(page * 8));
		if (got < 8) {
			visit->range(c, page * CLASSIFY_PAGE > start ? page * CLASSIFY_PAGE : start, end,
				     visit->arg);
			return;
		}
		for (uint64_t i = 0; i < (uint64_t)got / 8; i++, page++) {
			uint64_t from = page * CLASSIFY_PAGE, to = from + CLASSIFY_PAGE;
			from = from > start ? from : start;
			to = to < end ? to : end;
			if (entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED))
				visit->range(c, from, to, visit->arg);
			else
				c->untouched_bytes += to - from;
		}
	}
}

/* Visits the words of block `index`: all of them, or those of its touched pages. */
static void classify_visit_block(struct mp_leak_classifier *c, size_t index,
				 const struct classify_visit *visit)
{
	const struct mp_leak_block *block = &c->blocks[index];
	if (!block->size)
		return;
	if ((classify_state(c, index) & MP_LEAK_SPARSE) && c->pagemap_fd >= 0)
		classify_touched(c, block->addr, block->addr + block->size, visit);
	else
		visit->range(c, block->addr, block->addr + block->size, visit->arg);
}

static void classify_drain(struct mp_leak_classifier *c)
{
	for (uint32_t drained = 0; c->work_len; drained++) {
		size_t index = c->work[--c->work_len];
		if (drained % CLASSIFY_PROGRESS_BLOCKS == 0)
			__atomic_add_fetch(c->progress, 1, __ATOMIC_RELAXED);
		const struct mp_leak_block *block = &c->blocks[index];
		uint8_t state = classify_state(c, index);
		if (state & MP_LEAK_NOSCAN)
			continue;
		/* Shared: read as POSSIBLE while the other thread makes it REACHABLE, it is
		 * scanned again by that thread, which pushed it. */
		int definite = (state & MP_LEAK_STATE_MASK) == MP_LEAK_REACHABLE;
		struct classify_visit visit = { classify_mark_range, &definite };
		uint64_t untouched = c->untouched_bytes;
		classify_visit_block(c, index, &visit);
		c->block_bytes += block->size - (c->untouched_bytes - untouched);
	}
}

/* Whether word, which points inside block `index` but not at its start, is the address
 * of the glibc chunk that follows the block's: the block's chunk starts 16 bytes before
 * it, its size word (not an mmapped chunk's) is the 8 bytes before the block. */
static int classify_next_chunk(const struct mp_leak_classifier *c, size_t index, uint64_t word)
{
	const struct mp_leak_block *block = &c->blocks[index];
	if ((classify_state(c, index) & MP_LEAK_NOSCAN) || block->addr < 16)
		return 0;
	uint64_t size_word = *(const uint64_t *)(uintptr_t)(block->addr - 8);
	return !(size_word & 2) && word == block->addr - 16 + (size_word & ~(uint64_t)7);
}

/* classify_words for glibc's malloc state: chunk addresses are not pointers into blocks. */
static void classify_malloc_state(struct mp_leak_classifier *c, uint64_t start, uint64_t end)
{
	uint64_t at = (start + 7) & ~(uint64_t)7;
	for (; at + 8 <= end && at >= start; at += 8) {
		uint64_t word = *(const uint64_t *)(uintptr_t)at;
		size_t index = mp_leak_classify_find(c, word);
		if (index == SIZE_MAX ||
		    (word != c->blocks[index].addr && classify_next_chunk(c, index, word)))
			continue;
		classify_mark(c, index, word, 1);
	}
}

void mp_leak_classify_root(struct mp_leak_classifier *c, uint64_t start, uint64_t end,
			   uint64_t flags)
{
	if (end <= start || ((flags & MP_LEAK_ROOT_SHARED) && c->pagemap_fd < 0))
		return;
	uint64_t untouched = c->untouched_bytes;
	int definite = 1;
	struct classify_visit visit = { classify_mark_range, &definite };
	if (flags & MP_LEAK_ROOT_MALLOC_STATE)
		classify_malloc_state(c, start, end);
	else if ((flags & MP_LEAK_ROOT_ANON) && c->pagemap_fd >= 0 &&
		 (end - start >= CLASSIFY_SPARSE_ROOT || (flags & MP_LEAK_ROOT_LARGE)))
		classify_touched(c, start, end, &visit);
	else
		classify_words(c, start, end, 1);
	c->root_bytes += end - start - (c->untouched_bytes - untouched);
	classify_drain(c);
}

size_t mp_leak_classify_piece_count(const struct mp_leak_range *roots, size_t count,
				    uint64_t piece_bytes)
{
	size_t pieces = 0;
	for (size_t i = 0; i < count; i++)
		pieces += roots[i].end > roots[i].start
				  ? (size_t)((roots[i].end - roots[i].start) / piece_bytes) + 1
				  : 0;
	return pieces;
}

size_t mp_leak_classify_pieces(const struct mp_leak_range *roots, size_t count,
			       uint64_t piece_bytes, struct mp_leak_range *out)
{
	size_t at = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t start = roots[i].start, end = roots[i].end, flags = roots[i].flags;
		if (end <= start)
			continue;
		if ((flags & MP_LEAK_ROOT_ANON) && end - start >= CLASSIFY_SPARSE_ROOT)
			flags |= MP_LEAK_ROOT_LARGE;
		/* The glibc state is read with its own rule, whole. */
		uint64_t piece = flags & MP_LEAK_ROOT_MALLOC_STATE ? end - start : piece_bytes;
		while (start < end) {
			/* A last piece under half a piece joins the one before. */
			uint64_t to = end - start < piece + piece / 2 ? end : start + piece;
			out[at++] = (struct mp_leak_range){ start, to, flags };
			start = to;
		}
	}
	return at;
}

void mp_leak_classify_take(struct mp_leak_classifier *c, const struct mp_leak_range *pieces,
			   size_t count, size_t *next)
{
	for (;;) {
		size_t i = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
		if (i >= count)
			return;
		mp_leak_classify_root(c, pieces[i].start, pieces[i].end, pieces[i].flags);
		__atomic_add_fetch(c->progress, 1, __ATOMIC_RELAXED);
	}
}

/* A clique's walk over [start, end): every UNREACHED block hit but the leader becomes
 * INDIRECT and is walked in turn. */
static void classify_clique_range(struct mp_leak_classifier *c, uint64_t start, uint64_t end,
				  void *arg)
{
	size_t leader = *(const size_t *)arg;
	uint64_t at = (start + 7) & ~(uint64_t)7;
	for (; at + 8 <= end && at >= start; at += 8) {
		size_t hit = mp_leak_classify_find(c, *(const uint64_t *)(uintptr_t)at);
		if (hit == SIZE_MAX || hit == leader ||
		    (c->state[hit] & MP_LEAK_STATE_MASK) != MP_LEAK_UNREACHED)
			continue;
		c->state[hit] = (uint8_t)((c->state[hit] & ~MP_LEAK_STATE_MASK) | MP_LEAK_INDIRECT);
		classify_push(c, hit);
	}
}

/* Marks INDIRECT every UNREACHED block that `leader`'s group reaches. */
static void classify_clique(struct mp_leak_classifier *c, size_t leader)
{
	struct classify_visit visit = { classify_clique_range, &leader };
	classify_push(c, leader);
	while (c->work_len) {
		size_t index = c->work[--c->work_len];
		if (c->state[index] & MP_LEAK_NOSCAN)
			continue;
		classify_visit_block(c, index, &visit);
	}
}

void mp_leak_classify_finish(struct mp_leak_classifier *c)
{
	for (size_t i = 0; i < c->count; i++) {
		if (i % CLASSIFY_PROGRESS_BLOCKS == 0)
			__atomic_add_fetch(c->progress, 1, __ATOMIC_RELAXED);
		if ((c->state[i] & MP_LEAK_STATE_MASK) == MP_LEAK_UNREACHED)
			classify_clique(c, i);
	}
}

unsigned mp_leak_classify_kind_of(uint8_t state)
{
	switch (state & MP_LEAK_STATE_MASK) {
	case MP_LEAK_REACHABLE:
		return MP_LEAK_KIND_REACHABLE;
	case MP_LEAK_POSSIBLE:
		return MP_LEAK_KIND_POSSIBLE;
	case MP_LEAK_INDIRECT:
		return MP_LEAK_KIND_INDIRECT;
	default:
		return MP_LEAK_KIND_DEFINITE;
	}
}
