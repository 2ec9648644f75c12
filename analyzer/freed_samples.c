/* freed_samples.c: summing MP_REC_SAMPLES_FREED records per stack (see freed_samples.h). */
#include "freed_samples.h"

#include <errno.h>
#include <stdlib.h>

#include "memprof/varint.h"

struct mp_freed_slot {
	uint64_t key;            /* the writer's stack id + 1; 0: empty */
	struct mp_freed_samples figures;
};

static size_t freed_home(uint64_t key, size_t capacity)
{
	return (size_t)(key * 0x9e3779b97f4a7c15ull) & (capacity - 1);
}

static int freed_grow(struct mp_freed_table *table)
{
	if (table->capacity && table->count < table->capacity / 2)
		return 0;
	size_t capacity = table->capacity ? table->capacity * 2 : 64;
	struct mp_freed_slot *slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < table->capacity; i++) {
		if (!table->slots[i].key)
			continue;
		size_t at = freed_home(table->slots[i].key, capacity);
		while (slots[at].key)
			at = (at + 1) & (capacity - 1);
		slots[at] = table->slots[i];
	}
	free(table->slots);
	table->slots = slots;
	table->capacity = capacity;
	return 0;
}

/* sum += value, refusing a sum that overflows (a damaged record). */
static int freed_add(uint64_t *sum, uint64_t value)
{
	return __builtin_add_overflow(*sum, value, sum) ? -EINVAL : 0;
}

static int freed_add_figures(struct mp_freed_samples *sum, const struct mp_freed_samples *add)
{
	struct mp_freed_samples next = *sum;
	if (freed_add(&next.samples, add->samples) || freed_add(&next.blocks, add->blocks) ||
	    freed_add(&next.bytes, add->bytes) ||
	    freed_add(&next.sampled_bytes, add->sampled_bytes))
		return -EINVAL;
	*sum = next;
	return 0;
}

int mp_freed_add_record(struct mp_freed_table *table, const uint8_t *body, const uint8_t *end)
{
	uint64_t raw_id;
	struct mp_freed_samples add = { 0 };
	if (mp_get_u(&body, end, &raw_id) || mp_get_u(&body, end, &add.samples) ||
	    mp_get_u(&body, end, &add.blocks) || mp_get_u(&body, end, &add.bytes) ||
	    mp_get_u(&body, end, &add.sampled_bytes) || raw_id == UINT64_MAX)
		return -EINVAL;
	/* Each sample stands for at least one block and its own bytes. */
	if (add.blocks < add.samples || add.bytes < add.sampled_bytes)
		return -EINVAL;
	struct mp_freed_samples total = table->total;
	if (freed_add_figures(&total, &add))
		return -EINVAL;
	if (freed_grow(table) < 0)
		return -ENOMEM;
	uint64_t key = raw_id + 1;
	size_t at = freed_home(key, table->capacity);
	while (table->slots[at].key && table->slots[at].key != key)
		at = (at + 1) & (table->capacity - 1);
	struct mp_freed_slot *slot = &table->slots[at];
	if (!slot->key) {
		slot->key = key;
		table->count++;
	}
	if (freed_add_figures(&slot->figures, &add))
		return -EINVAL; /* cannot happen when the total did not overflow */
	table->total = total;
	return 0;
}

void mp_freed_resolve(struct mp_freed_table *table, const struct mp_stack_table *stacks)
{
	for (size_t i = 0; i < table->capacity; i++)
		if (table->slots[i].key)
			table->slots[i].figures.stack_id =
				mp_stacks_lookup(stacks, table->slots[i].key - 1);
}

const struct mp_freed_samples *mp_freed_at(const struct mp_freed_table *table, size_t index)
{
	return table->slots[index].key ? &table->slots[index].figures : NULL;
}

void mp_freed_free(struct mp_freed_table *table)
{
	free(table->slots);
	table->slots = NULL;
	table->capacity = table->count = 0;
}
