/* pprof_intern.c: hash indexes and the string table of a pprof profile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash_mix.h"
#include "pprof_intern.h"

struct mp_pprof_slot {
	uint64_t hash;
	uint32_t item_plus_one; /* 0: empty */
};

uint64_t mp_pprof_hash_bytes(uint64_t hash, const void *data, size_t len)
{
	const unsigned char *bytes = data;
	for (size_t i = 0; i < len; i++) {
		hash ^= bytes[i];
		hash *= 0x100000001b3ull;
	}
	return hash;
}

/* The value folded into the running hash, then mixed. */
uint64_t mp_pprof_hash_u64(uint64_t hash, uint64_t value)
{
	return mp_hash_mix64(hash ^ (value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2)));
}

int64_t mp_pprof_index_find(const struct mp_pprof_index *index, uint64_t hash,
			    mp_pprof_same_fn same, const void *context)
{
	if (index->capacity == 0)
		return -1;
	size_t mask = index->capacity - 1;
	for (size_t at = hash & mask;; at = (at + 1) & mask) {
		const struct mp_pprof_slot *slot = &index->slots[at];
		if (slot->item_plus_one == 0)
			return -1;
		if (slot->hash == hash && same(context, slot->item_plus_one - 1))
			return slot->item_plus_one - 1;
	}
}

static void index_put(struct mp_pprof_slot *slots, size_t capacity, uint64_t hash,
		      uint32_t item_plus_one)
{
	size_t mask = capacity - 1, at = hash & mask;
	while (slots[at].item_plus_one)
		at = (at + 1) & mask;
	slots[at] = (struct mp_pprof_slot){ hash, item_plus_one };
}

/* Doubles the table when it would be more than half full. */
static int index_grow(struct mp_pprof_index *index)
{
	size_t capacity = index->capacity ? index->capacity * 2 : 64;
	struct mp_pprof_slot *slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < index->capacity; i++)
		if (index->slots[i].item_plus_one)
			index_put(slots, capacity, index->slots[i].hash,
				  index->slots[i].item_plus_one);
	free(index->slots);
	index->slots = slots;
	index->capacity = capacity;
	return 0;
}

int mp_pprof_index_add(struct mp_pprof_index *index, uint64_t hash, uint32_t item)
{
	if ((index->count + 1) * 2 > index->capacity && index_grow(index))
		return -ENOMEM;
	index_put(index->slots, index->capacity, hash, item + 1);
	index->count++;
	return 0;
}

void mp_pprof_index_free(struct mp_pprof_index *index)
{
	free(index->slots);
	memset(index, 0, sizeof(*index));
}

struct strings_probe {
	const struct mp_pprof_strings *strings;
	const char *text;
};

static int strings_same(const void *context, uint32_t item)
{
	const struct strings_probe *probe = context;
	return strcmp(probe->strings->items[item], probe->text) == 0;
}

static int64_t strings_append(struct mp_pprof_strings *strings, const char *text, uint64_t hash)
{
	if (strings->count == strings->cap) {
		size_t cap = strings->cap ? strings->cap * 2 : 64;
		char **items = realloc(strings->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		strings->items = items;
		strings->cap = cap;
	}
	char *copy = strdup(text);
	if (!copy || mp_pprof_index_add(&strings->index, hash, (uint32_t)strings->count)) {
		free(copy);
		return -ENOMEM;
	}
	strings->items[strings->count] = copy;
	return (int64_t)strings->count++;
}

int64_t mp_pprof_string(struct mp_pprof_strings *strings, const char *text)
{
	if (!text)
		text = "";
	/* Entry 0 must be "": made by the first call, whatever it asks for. */
	if (strings->count == 0 && strings_append(strings, "", mp_pprof_hash_bytes(
				   MP_PPROF_HASH_SEED, "", 0)) < 0)
		return -ENOMEM;
	uint64_t hash = mp_pprof_hash_bytes(MP_PPROF_HASH_SEED, text, strlen(text));
	struct strings_probe probe = { strings, text };
	int64_t found = mp_pprof_index_find(&strings->index, hash, strings_same, &probe);
	return found >= 0 ? found : strings_append(strings, text, hash);
}

void mp_pprof_strings_free(struct mp_pprof_strings *strings)
{
	for (size_t i = 0; i < strings->count; i++)
		free(strings->items[i]);
	free(strings->items);
	mp_pprof_index_free(&strings->index);
	memset(strings, 0, sizeof(*strings));
}
