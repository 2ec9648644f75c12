/* stack_tally.c: figures summed per stack id, for the sampling window's counts and the
 * sampled heap's peak (sampling_window.c, sampling_peak.c).
 *
 * Open addressing on the stack id in memory of our own (never the program's malloc),
 * grown at half load. Stack id 0 ("no stack") is kept under a reserved key. Callers
 * serialize (the sampling lock).
 */
#include <string.h>

#include "sampling.h"

#define FIRST_SLOTS 256u
#define KEY_NO_STACK UINT32_MAX

static uint32_t tally_key(uint32_t stack)
{
	return stack ? stack : KEY_NO_STACK;
}

static struct mp_stack_tally_slot *tally_find(struct mp_stack_tally_slot *slots, uint64_t capacity,
					uint32_t key)
{
	uint64_t index = mp_mix64(key) & (capacity - 1);
	while (slots[index].key != 0 && slots[index].key != key)
		index = (index + 1) & (capacity - 1);
	return &slots[index];
}

static int tally_grow(struct mp_stack_tally *tally)
{
	uint64_t capacity = tally->capacity ? tally->capacity * 2 : FIRST_SLOTS;
	struct mp_stack_tally_slot *slots = mp_sys_map_anon(capacity * sizeof(*slots));
	if (!slots)
		return -1;
	for (uint64_t i = 0; i < tally->capacity; i++)
		if (tally->slots[i].key)
			*tally_find(slots, capacity, tally->slots[i].key) = tally->slots[i];
	if (tally->slots)
		mp_sys_unmap(tally->slots, tally->capacity * sizeof(*tally->slots));
	tally->slots = slots;
	tally->capacity = capacity;
	return 0;
}

struct mp_stack_tally_slot *mp_stack_tally_at(struct mp_stack_tally *tally, uint32_t stack)
{
	/* Without memory to grow, a table still short of full takes one more entry. */
	if ((tally->used + 1) * 2 > tally->capacity && tally_grow(tally) < 0 &&
	    tally->used + 1 >= tally->capacity)
		return NULL;
	struct mp_stack_tally_slot *slot = tally_find(tally->slots, tally->capacity, tally_key(stack));
	if (slot->key == 0) {
		slot->key = tally_key(stack);
		tally->used++;
	}
	return slot;
}

uint32_t mp_stack_tally_stack(const struct mp_stack_tally_slot *slot)
{
	return slot->key == KEY_NO_STACK ? 0 : slot->key;
}

void mp_stack_tally_clear(struct mp_stack_tally *tally)
{
	if (tally->slots)
		memset(tally->slots, 0, tally->capacity * sizeof(*tally->slots));
	tally->used = 0;
}
