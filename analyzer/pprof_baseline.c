/* pprof_baseline.c: each stack's allocations at the last push, keyed by the stack's content. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_baseline.h"
#include "pprof_intern.h"

struct baseline_entry {
	uint32_t generation, count;
	uint64_t *frames;
	struct mp_pprof_allocated allocated;
};

struct mp_pprof_baseline {
	struct baseline_entry *entries;
	size_t count, cap;
	struct mp_pprof_index index;
};

struct baseline_probe {
	const struct mp_pprof_baseline *baseline;
	uint32_t generation, count;
	const uint64_t *frames;
};

struct mp_pprof_baseline *mp_pprof_baseline_new(void)
{
	return calloc(1, sizeof(struct mp_pprof_baseline));
}

void mp_pprof_baseline_free(struct mp_pprof_baseline *baseline)
{
	if (!baseline)
		return;
	for (size_t i = 0; i < baseline->count; i++)
		free(baseline->entries[i].frames);
	free(baseline->entries);
	mp_pprof_index_free(&baseline->index);
	free(baseline);
}

static uint64_t baseline_hash(uint32_t generation, const uint64_t *frames, uint32_t count)
{
	uint64_t hash = mp_pprof_hash_u64(MP_PPROF_HASH_SEED, ((uint64_t)generation << 32) | count);
	for (uint32_t i = 0; i < count; i++)
		hash = mp_pprof_hash_u64(hash, frames[i]);
	return hash;
}

static int baseline_same(const void *context, uint32_t item)
{
	const struct baseline_probe *probe = context;
	const struct baseline_entry *entry = &probe->baseline->entries[item];
	return entry->generation == probe->generation && entry->count == probe->count &&
	       (probe->count == 0 ||
		memcmp(entry->frames, probe->frames, probe->count * sizeof(*probe->frames)) == 0);
}

static int64_t baseline_find(const struct mp_pprof_baseline *baseline, uint64_t hash,
			     uint32_t generation, const uint64_t *frames, uint32_t count)
{
	struct baseline_probe probe = { baseline, generation, count, frames };
	return mp_pprof_index_find(&baseline->index, hash, baseline_same, &probe);
}

struct mp_pprof_allocated mp_pprof_baseline_get(const struct mp_pprof_baseline *baseline,
						uint32_t generation, const uint64_t *frames,
						uint32_t count)
{
	uint64_t hash = baseline_hash(generation, frames, count);
	int64_t found = baseline_find(baseline, hash, generation, frames, count);
	return found >= 0 ? baseline->entries[found].allocated : (struct mp_pprof_allocated){ 0, 0 };
}

int mp_pprof_baseline_set(struct mp_pprof_baseline *baseline, uint32_t generation,
			  const uint64_t *frames, uint32_t count,
			  struct mp_pprof_allocated allocated)
{
	uint64_t hash = baseline_hash(generation, frames, count);
	int64_t found = baseline_find(baseline, hash, generation, frames, count);
	if (found >= 0) {
		baseline->entries[found].allocated = allocated;
		return 0;
	}
	if (baseline->count == baseline->cap) {
		size_t cap = baseline->cap ? baseline->cap * 2 : 64;
		struct baseline_entry *entries = realloc(baseline->entries, cap * sizeof(*entries));
		if (!entries)
			return -ENOMEM;
		baseline->entries = entries;
		baseline->cap = cap;
	}
	uint64_t *copy = malloc((count ? count : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	if (count)
		memcpy(copy, frames, count * sizeof(*copy));
	if (mp_pprof_index_add(&baseline->index, hash, (uint32_t)baseline->count)) {
		free(copy);
		return -ENOMEM;
	}
	baseline->entries[baseline->count++] = (struct baseline_entry){
		generation, count, copy, allocated };
	return 0;
}
