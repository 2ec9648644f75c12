/* trace_tables.h: the reader's stack and module tables (internal to the reader's files).
 *
 * Stacks: every STACK record is interned by content (generation + frames) so that raw ids
 * recorded several times map to one canonical id; a raw-id hash answers the per-event
 * lookup. Modules: MODULE records collected, then sorted into one map per generation.
 * Everything is bounded by the trace's size: a record cannot add more than it occupies,
 * but for the frames a STACK_SHARED record takes from its parent, which the reader bounds
 * (trace_index.c).
 */
#ifndef MEMPROF_TRACE_TABLES_H
#define MEMPROF_TRACE_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "trace_read.h"

struct mp_canon_stack {
	size_t frames_at;     /* index of the first frame in mp_stack_table.frames */
	uint32_t frame_count;
	uint32_t generation;
	uint64_t hash;
};

struct mp_raw_slot {
	uint64_t raw_id;      /* 0: empty slot (raw id 0 is never defined) */
	uint32_t canon_id;
};

struct mp_stack_table {
	uint64_t *frames;
	size_t frames_len, frames_cap;
	struct mp_canon_stack *canon; /* canonical id N is canon[N - 1] */
	uint32_t canon_count, canon_cap;
	uint32_t *content_slots;      /* canonical ids by content hash; 0 = empty */
	size_t content_cap;           /* power of two */
	struct mp_raw_slot *raw_slots;
	size_t raw_cap, raw_count;    /* raw_cap is a power of two */
};

struct mp_module_gen {
	uint32_t generation;
	size_t first, count;  /* range in mp_module_table.modules, sorted by start */
};

struct mp_module_table {
	struct mp_module *modules;
	size_t count, cap;
	uint32_t *generations; /* parallel to modules until mp_modules_finish sorts them */
	size_t generations_cap;
	struct mp_module_gen *gens;
	size_t gen_count;
};

/* Interns a STACK record. Keeps the first definition of a raw id. Returns 0 or -ENOMEM. */
int mp_stacks_add(struct mp_stack_table *table, uint64_t raw_id, uint32_t generation,
		  const uint64_t *frames, uint32_t frame_count);
void mp_stacks_free(struct mp_stack_table *table);

/* The canonical id of raw stack id `raw_id`, or 0 if it was never defined. Inline because
 * the merge calls it for every event. */
static inline uint32_t mp_stacks_lookup(const struct mp_stack_table *table, uint64_t raw_id)
{
	if (raw_id == 0 || table->raw_cap == 0)
		return 0;
	size_t mask = table->raw_cap - 1;
	for (size_t at = (size_t)(raw_id * 0x9e3779b97f4a7c15ull) & mask;; at = (at + 1) & mask) {
		const struct mp_raw_slot *slot = &table->raw_slots[at];
		if (slot->raw_id == raw_id)
			return slot->canon_id;
		if (slot->raw_id == 0)
			return 0;
	}
}

/* Adds one MODULE record; copies path (made NUL-terminated) and build-id. 0 or -ENOMEM. */
int mp_modules_add(struct mp_module_table *table, uint32_t generation, uint64_t start,
		   uint64_t end, uint64_t load_bias, const uint8_t *path, size_t path_len,
		   const uint8_t *build_id, size_t build_id_len);
/* Sorts the records into per-generation maps, dropping repeated starts in a generation
 * (the first one recorded wins). Call once after the last add. 0 or -ENOMEM. */
int mp_modules_finish(struct mp_module_table *table);
/* The map used for `generation`: its own, else the nearest lower one; NULL if none. */
const struct mp_module_gen *mp_modules_map(const struct mp_module_table *table,
					   uint32_t generation);
void mp_modules_free(struct mp_module_table *table);

#endif
