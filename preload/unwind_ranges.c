/* unwind_ranges.c: the rules of code ranges already learned, so that a return address in
 * one of them is not learned again.
 *
 * Learning a rule (unwind_rules.c) asks the loader for the object, searches its
 * eh_frame_hdr table, parses the FDE and runs its program up to the address: about 2000
 * cycles, and a compiler's start learns thousands (cc1: 6308, 5 ms of a 0.2 s compile).
 * The row it ends with holds over a range of the function, from the advance before it to
 * the next, and every return address in that range has the same rule: cc1's 6308 came
 * from 3285 rows. So each rule learned leaves its range here, and the next return address
 * in it takes the rule from here.
 *
 * The ranges live in a table of 16-byte slots, keyed by the cell of code, 1 KiB: a range
 * is cut at cell boundaries into one slot per cell (up to RANGE_CELLS_MAX cells; a
 * longer one keeps only the cell of the address learned), and a look-up probes the slots
 * of its cell, at most RANGE_PROBES (code that changes its frame every few bytes, as
 * prologues do, has more ranges in a cell than that: past them, learning goes on as
 * without the table). A slot's key packs the cell and the range's two offsets within it,
 * its value the rule. The table is memprof's own memory, 16 KiB at the first range, twice
 * as large each time it is three quarters full, up to RANGE_BITS_MAX (4 MiB): past that
 * no range is added. cc1 answered 2982 of its 6308 look-ups here, of the 3023 its rows
 * could answer (with cells of 4 KiB, 2911; a test that learns every 13th address of ten
 * functions, where prologues crowd the cells, 68-84% against about half). Learning's
 * instructions on cc1 went from 16.0M to 11.0M (callgrind), its perf samples down 12%: the
 * addresses it spares are those whose search and program were in the cache already, and
 * a look-up here misses the cache once where the table is cold.
 *
 * Ranges are of one module generation (modules.c): the first use in a newer one, after a
 * library was unloaded, empties the table, as the rule table (unwind.c) retires its rules
 * by their generation. Threads learn concurrently, rarely: every use takes the lock only
 * if it is free, and a thread that finds it taken learns as without the table (a signal
 * handler interrupting the holder on its own thread, a fork child of a holder, a handler
 * that jumped out of it, which leaves the table unused from then on).
 */
#include <string.h>

#include "unwind.h"

#define RANGE_BITS_FIRST 10u
#define RANGE_BITS_MAX 18u
#define RANGE_PROBES 32u
#define RANGE_CELLS_MAX 16u
#define CELL_BITS 10u
#define OFFSET_BITS (CELL_BITS + 1) /* an offset within a cell, 0 to its size */
#define CELL_LIMIT (1ull << (64 - 2 * OFFSET_BITS))

struct range_slot {
	uint64_t key;  /* cell << 22 | low offset << 11 | high offset; 0: empty */
	uint64_t rule; /* kind, cfa_on_rsp, rbp_saved in bits 0-3, rbp_offset 16-31,
			  cfa_offset 32-63 */
};

static struct {
	int lock;
	int off;
	uint32_t generation;
	uint32_t bits; /* the table has 2^bits slots */
	uint32_t used;
	uint64_t hits;
	struct range_slot *slots;
} ranges;

static int ranges_lock(void)
{
	return !ranges.off && !__atomic_exchange_n(&ranges.lock, 1, __ATOMIC_ACQUIRE);
}

static void ranges_unlock(void)
{
	__atomic_store_n(&ranges.lock, 0, __ATOMIC_RELEASE);
}

static uint64_t rule_pack(const struct mp_unwind_rule *rule)
{
	return (uint64_t)rule->kind | (uint64_t)(rule->cfa_on_rsp != 0) << 2 |
	       (uint64_t)(rule->rbp_saved != 0) << 3 |
	       (uint64_t)(uint16_t)(int16_t)rule->rbp_offset << 16 |
	       (uint64_t)(uint32_t)rule->cfa_offset << 32;
}

static void rule_unpack(uint64_t bits, struct mp_unwind_rule *rule)
{
	rule->kind = (enum mp_unwind_kind)(bits & 3);
	rule->cfa_on_rsp = (int)(bits >> 2 & 1);
	rule->rbp_saved = (int)(bits >> 3 & 1);
	rule->rbp_offset = (int16_t)(uint16_t)(bits >> 16);
	rule->cfa_offset = (int32_t)(uint32_t)(bits >> 32);
}

static uint32_t cell_slot(uint64_t cell, uint32_t bits)
{
	return (uint32_t)((cell * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static size_t table_bytes(uint32_t bits)
{
	return ((size_t)1 << bits) * sizeof(struct range_slot);
}

static void ranges_put(struct range_slot *slots, uint32_t bits, uint64_t key, uint64_t rule);

/* Under the lock: a table of 2^bits slots holding the current one's; 0, or -1 (the
 * current one stays) if it cannot be mapped. */
static int ranges_grow(uint32_t bits)
{
	struct range_slot *slots = mp_sys_map_anon(table_bytes(bits));
	if (!slots)
		return -1;
	ranges.used = 0; /* counted again as the slots move over */
	for (size_t i = 0; ranges.slots && i < (size_t)1 << ranges.bits; i++)
		if (ranges.slots[i].key)
			ranges_put(slots, bits, ranges.slots[i].key, ranges.slots[i].rule);
	if (ranges.slots)
		mp_sys_unmap(ranges.slots, table_bytes(ranges.bits));
	ranges.slots = slots;
	ranges.bits = bits;
	return 0;
}

/* Under the lock: the table of this generation, with room for `more` slots, mapped,
 * grown and emptied as needed; NULL if there is none or no room. */
static struct range_slot *ranges_room(uint32_t generation, uint32_t more)
{
	if (ranges.slots && ranges.generation != generation) {
		memset(ranges.slots, 0, table_bytes(ranges.bits));
		ranges.used = 0;
	}
	ranges.generation = generation;
	if (!ranges.slots && ranges_grow(RANGE_BITS_FIRST) < 0)
		return NULL;
	while (ranges.used + more > ((uint32_t)1 << ranges.bits) / 4 * 3) {
		if (ranges.bits == RANGE_BITS_MAX || ranges_grow(ranges.bits + 1) < 0)
			return NULL;
	}
	return ranges.slots;
}

int mp_unwind_ranges_find(uintptr_t pc, uint32_t generation, struct mp_unwind_rule *out)
{
	uint64_t cell = pc >> CELL_BITS, offset = pc & ((1u << CELL_BITS) - 1);
	if (cell >= CELL_LIMIT || !ranges_lock())
		return 0;
	int found = 0;
	const struct range_slot *slots = ranges.slots && ranges.generation == generation
						 ? ranges.slots
						 : NULL;
	uint32_t mask = ((uint32_t)1 << ranges.bits) - 1;
	for (uint32_t probe = 0, at = cell_slot(cell, ranges.bits); slots && probe < RANGE_PROBES;
	     probe++, at = (at + 1) & mask) {
		uint64_t key = slots[at].key;
		if (!key)
			break;
		uint64_t low = key >> OFFSET_BITS & ((1u << OFFSET_BITS) - 1);
		uint64_t high = key & ((1u << OFFSET_BITS) - 1);
		if (key >> (2 * OFFSET_BITS) == cell && low <= offset && offset < high) {
			rule_unpack(slots[at].rule, out);
			ranges.hits++;
			found = 1;
			break;
		}
	}
	ranges_unlock();
	return found;
}

/* Under the lock: a slot's key and rule in a table of 2^bits slots. */
static void ranges_put(struct range_slot *slots, uint32_t bits, uint64_t key, uint64_t rule)
{
	uint32_t mask = ((uint32_t)1 << bits) - 1;
	for (uint32_t probe = 0, at = cell_slot(key >> (2 * OFFSET_BITS), bits);
	     probe < RANGE_PROBES; probe++, at = (at + 1) & mask) {
		if (slots[at].key == key)
			return; /* put by a learn that did not find it (the lock was taken) */
		if (!slots[at].key) {
			slots[at].rule = rule;
			slots[at].key = key;
			ranges.used++;
			return;
		}
	}
}

/* The key of [low, high) cut to cell. */
static uint64_t cell_key(uint64_t cell, uint64_t low, uint64_t high)
{
	uint64_t base = cell << CELL_BITS;
	uint64_t from = low > base ? low - base : 0;
	uint64_t to = high < base + (1u << CELL_BITS) ? high - base : 1u << CELL_BITS;
	return cell << (2 * OFFSET_BITS) | from << OFFSET_BITS | to;
}

void mp_unwind_ranges_add(uintptr_t low, uintptr_t high, uintptr_t pc, uint32_t generation,
			  const struct mp_unwind_rule *rule)
{
	if (low > pc || pc >= high || (high - 1) >> CELL_BITS >= CELL_LIMIT || !ranges_lock())
		return;
	uint64_t first = low >> CELL_BITS, last = (high - 1) >> CELL_BITS;
	if (last - first >= RANGE_CELLS_MAX)
		first = last = pc >> CELL_BITS;
	struct range_slot *slots = ranges_room(generation, (uint32_t)(last - first + 1));
	for (uint64_t cell = first; slots && cell <= last; cell++)
		ranges_put(slots, ranges.bits, cell_key(cell, low, high), rule_pack(rule));
	ranges_unlock();
}

void mp_unwind_ranges_keep(int on)
{
	ranges.off = !on;
}

uint64_t mp_unwind_ranges_hits(void)
{
	return __atomic_load_n(&ranges.hits, __ATOMIC_RELAXED);
}

void mp_unwind_ranges_after_fork_child(void)
{
	ranges_unlock();
}
