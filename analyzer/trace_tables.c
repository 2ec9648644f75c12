/* trace_tables.c: interning of STACK records and per-generation module maps for the reader. */
#include "trace_tables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Grows *array (of `size`-byte elements) so that it holds at least `need` elements. */
static int tables_reserve(void **array, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t new_cap = *cap ? *cap : 16;
	while (new_cap < need)
		new_cap *= 2;
	void *grown = realloc(*array, new_cap * size);
	if (!grown)
		return -ENOMEM;
	*array = grown;
	*cap = new_cap;
	return 0;
}

static uint64_t tables_hash_stack(uint32_t generation, const uint64_t *frames, uint32_t count)
{
	uint64_t hash = 0xcbf29ce484222325ull ^ generation ^ ((uint64_t)count << 32);
	for (uint32_t i = 0; i < count; i++) {
		hash ^= frames[i];
		hash *= 0x100000001b3ull;
		hash ^= hash >> 29;
	}
	return hash;
}

static int tables_same_stack(const struct mp_stack_table *table, uint32_t canon_id,
			     uint64_t hash, uint32_t generation, const uint64_t *frames,
			     uint32_t count)
{
	const struct mp_canon_stack *stack = &table->canon[canon_id - 1];
	return stack->hash == hash && stack->generation == generation &&
	       stack->frame_count == count &&
	       (count == 0 ||
		memcmp(&table->frames[stack->frames_at], frames, count * sizeof(*frames)) == 0);
}

/* Doubles the content hash set when it is half full (rehashing the canonical ids). */
static int tables_grow_content(struct mp_stack_table *table)
{
	if (table->content_cap != 0 && table->canon_count < table->content_cap / 2)
		return 0;
	size_t cap = table->content_cap ? table->content_cap * 2 : 256;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t id = 1; id <= table->canon_count; id++) {
		size_t at = (size_t)table->canon[id - 1].hash & (cap - 1);
		while (slots[at])
			at = (at + 1) & (cap - 1);
		slots[at] = id;
	}
	free(table->content_slots);
	table->content_slots = slots;
	table->content_cap = cap;
	return 0;
}

/* Returns the canonical id for this content, creating it if new; 0 on ENOMEM. */
static uint32_t tables_intern(struct mp_stack_table *table, uint32_t generation,
			      const uint64_t *frames, uint32_t count)
{
	uint64_t hash = tables_hash_stack(generation, frames, count);
	if (tables_grow_content(table) < 0)
		return 0;
	size_t mask = table->content_cap - 1;
	size_t at = (size_t)hash & mask;
	for (; table->content_slots[at]; at = (at + 1) & mask)
		if (tables_same_stack(table, table->content_slots[at], hash, generation, frames,
				      count))
			return table->content_slots[at];
	size_t canon_cap = table->canon_cap;
	if (tables_reserve((void **)&table->canon, &canon_cap, (size_t)table->canon_count + 1,
			   sizeof(*table->canon)) < 0 ||
	    tables_reserve((void **)&table->frames, &table->frames_cap,
			   table->frames_len + count, sizeof(*table->frames)) < 0)
		return 0;
	table->canon_cap = (uint32_t)canon_cap;
	if (count)
		memcpy(&table->frames[table->frames_len], frames, count * sizeof(*frames));
	table->canon[table->canon_count] = (struct mp_canon_stack){
		.frames_at = table->frames_len,
		.frame_count = count,
		.generation = generation,
		.hash = hash,
	};
	table->frames_len += count;
	table->content_slots[at] = ++table->canon_count;
	return table->canon_count;
}

static int tables_grow_raw(struct mp_stack_table *table)
{
	if (table->raw_cap != 0 && table->raw_count < table->raw_cap / 2)
		return 0;
	size_t cap = table->raw_cap ? table->raw_cap * 2 : 256;
	struct mp_raw_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < table->raw_cap; i++) {
		const struct mp_raw_slot *old = &table->raw_slots[i];
		if (!old->raw_id)
			continue;
		size_t at = (size_t)(old->raw_id * 0x9e3779b97f4a7c15ull) & (cap - 1);
		while (slots[at].raw_id)
			at = (at + 1) & (cap - 1);
		slots[at] = *old;
	}
	free(table->raw_slots);
	table->raw_slots = slots;
	table->raw_cap = cap;
	return 0;
}

int mp_stacks_add(struct mp_stack_table *table, uint64_t raw_id, uint32_t generation,
		  const uint64_t *frames, uint32_t frame_count)
{
	if (raw_id == 0 || mp_stacks_lookup(table, raw_id) != 0)
		return 0;
	if (tables_grow_raw(table) < 0)
		return -ENOMEM;
	uint32_t canon_id = tables_intern(table, generation, frames, frame_count);
	if (canon_id == 0)
		return -ENOMEM;
	size_t mask = table->raw_cap - 1;
	size_t at = (size_t)(raw_id * 0x9e3779b97f4a7c15ull) & mask;
	while (table->raw_slots[at].raw_id)
		at = (at + 1) & mask;
	table->raw_slots[at] = (struct mp_raw_slot){ .raw_id = raw_id, .canon_id = canon_id };
	table->raw_count++;
	return 0;
}

void mp_stacks_free(struct mp_stack_table *table)
{
	free(table->frames);
	free(table->canon);
	free(table->content_slots);
	free(table->raw_slots);
	memset(table, 0, sizeof(*table));
}

int mp_modules_add(struct mp_module_table *table, uint32_t generation, uint64_t start,
		   uint64_t end, uint64_t load_bias, const uint8_t *path, size_t path_len,
		   const uint8_t *build_id, size_t build_id_len)
{
	if (tables_reserve((void **)&table->modules, &table->cap, table->count + 1,
			   sizeof(*table->modules)) < 0 ||
	    tables_reserve((void **)&table->generations, &table->generations_cap,
			   table->count + 1, sizeof(*table->generations)) < 0)
		return -ENOMEM;
	char *path_copy = malloc(path_len + 1);
	uint8_t *id_copy = malloc(build_id_len ? build_id_len : 1);
	if (!path_copy || !id_copy) {
		free(path_copy);
		free(id_copy);
		return -ENOMEM;
	}
	if (path_len)
		memcpy(path_copy, path, path_len);
	path_copy[path_len] = '\0';
	if (build_id_len)
		memcpy(id_copy, build_id, build_id_len);
	table->modules[table->count] = (struct mp_module){
		.start = start, .end = end, .load_bias = load_bias,
		.path = path_copy, .build_id = id_copy, .build_id_len = build_id_len,
	};
	table->generations[table->count++] = generation;
	return 0;
}

struct tables_sort_entry {
	uint32_t generation;
	size_t order;
	struct mp_module module;
};

static int tables_cmp_module(const void *left, const void *right)
{
	const struct tables_sort_entry *a = left, *b = right;
	if (a->generation != b->generation)
		return a->generation < b->generation ? -1 : 1;
	if (a->module.start != b->module.start)
		return a->module.start < b->module.start ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void tables_free_module(struct mp_module *module)
{
	free((char *)module->path);
	free((uint8_t *)module->build_id);
}

int mp_modules_finish(struct mp_module_table *table)
{
	if (table->count == 0)
		return 0;
	struct tables_sort_entry *sorted = malloc(table->count * sizeof(*sorted));
	table->gens = malloc(table->count * sizeof(*table->gens));
	if (!sorted || !table->gens) {
		free(sorted);
		return -ENOMEM;
	}
	for (size_t i = 0; i < table->count; i++)
		sorted[i] = (struct tables_sort_entry){ table->generations[i], i, table->modules[i] };
	qsort(sorted, table->count, sizeof(*sorted), tables_cmp_module);
	size_t kept = 0;
	for (size_t i = 0; i < table->count; i++) {
		struct mp_module_gen *gen = table->gen_count ? &table->gens[table->gen_count - 1] : NULL;
		if (gen && gen->generation == sorted[i].generation && kept > 0 &&
		    table->modules[kept - 1].start == sorted[i].module.start) {
			tables_free_module(&sorted[i].module);
			continue;
		}
		if (!gen || gen->generation != sorted[i].generation)
			table->gens[table->gen_count++] = (struct mp_module_gen){
				.generation = sorted[i].generation, .first = kept, .count = 0 };
		table->modules[kept++] = sorted[i].module;
		table->gens[table->gen_count - 1].count++;
	}
	table->count = kept;
	free(sorted);
	return 0;
}

const struct mp_module_gen *mp_modules_map(const struct mp_module_table *table,
					   uint32_t generation)
{
	size_t low = 0, high = table->gen_count; /* find the last gen <= generation */
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (table->gens[mid].generation <= generation)
			low = mid + 1;
		else
			high = mid;
	}
	return low ? &table->gens[low - 1] : NULL;
}

void mp_modules_free(struct mp_module_table *table)
{
	for (size_t i = 0; i < table->count; i++)
		tables_free_module(&table->modules[i]);
	free(table->modules);
	free(table->generations);
	free(table->gens);
	memset(table, 0, sizeof(*table));
}
