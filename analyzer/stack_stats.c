/* stack_stats.c: per-stack aggregates indexed by canonical stack id, and top-N ranking. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack_stats.h"

int mp_stack_stats_init(struct mp_stack_stats *stats, uint32_t expected_count)
{
	memset(stats, 0, sizeof(*stats));
	stats->capacity = expected_count + 1;
	stats->aggs = calloc(stats->capacity, sizeof(*stats->aggs));
	if (!stats->aggs) {
		stats->capacity = 0;
		return -ENOMEM;
	}
	return 0;
}

void mp_stack_stats_destroy(struct mp_stack_stats *stats)
{
	free(stats->aggs);
	memset(stats, 0, sizeof(*stats));
}

static int stack_stats_grow(struct mp_stack_stats *stats, uint32_t id)
{
	uint64_t capacity = stats->capacity ? stats->capacity : 16;
	struct mp_stack_agg *aggs;

	while (capacity <= id)
		capacity *= 2;
	if (capacity > UINT32_MAX)
		capacity = (uint64_t)id + 1;
	aggs = realloc(stats->aggs, capacity * sizeof(*aggs));
	if (!aggs)
		return -ENOMEM;
	memset(aggs + stats->capacity, 0, (capacity - stats->capacity) * sizeof(*aggs));
	stats->aggs = aggs;
	stats->capacity = (uint32_t)capacity;
	return 0;
}

struct mp_stack_agg *mp_stack_stats_grow_to(struct mp_stack_stats *stats, uint32_t id)
{
	if (id >= stats->capacity && stack_stats_grow(stats, id))
		return NULL;
	if (id >= stats->used)
		stats->used = id + 1;
	return &stats->aggs[id];
}

void mp_stack_stats_finish(struct mp_stack_stats *stats)
{
	if (stats->finished)
		return;
	for (uint32_t id = 0; id < stats->used; id++)
		mp_stack_stats_touch(stats, &stats->aggs[id]);
	stats->finished = 1;
}

uint64_t mp_stack_stats_value(const struct mp_stack_agg *agg, enum mp_stack_metric metric)
{
	switch (metric) {
	case MP_METRIC_ALLOCATED:
		return agg->allocated_bytes;
	case MP_METRIC_CALLS:
		return agg->calls;
	case MP_METRIC_PEAK:
		return agg->peak_bytes;
	case MP_METRIC_LEAKED:
		return agg->leaked_bytes;
	case MP_METRIC_UNFREED:
		return agg->live_bytes;
	}
	return 0;
}

struct stack_rank {
	uint64_t value;
	uint32_t id;
};

static int stack_rank_cmp(const void *a, const void *b)
{
	const struct stack_rank *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

size_t mp_stack_stats_top(const struct mp_stack_stats *stats, enum mp_stack_metric metric,
			  uint32_t *ids, size_t max)
{
	struct stack_rank *ranks;
	size_t count = 0;

	if (max == 0 || stats->used == 0)
		return 0;
	ranks = malloc(stats->used * sizeof(*ranks));
	if (!ranks)
		return 0;
	for (uint32_t id = 0; id < stats->used; id++) {
		uint64_t value = mp_stack_stats_value(&stats->aggs[id], metric);
		if (value)
			ranks[count++] = (struct stack_rank){ value, id };
	}
	qsort(ranks, count, sizeof(*ranks), stack_rank_cmp);
	if (count > max)
		count = max;
	for (size_t i = 0; i < count; i++)
		ids[i] = ranks[i].id;
	free(ranks);
	return count;
}

static const char *const stack_metric_names[] = { "allocated", "calls", "peak", "leaked",
						   "unfreed" };

const char *mp_stack_metric_name(enum mp_stack_metric metric)
{
	return (size_t)metric < sizeof(stack_metric_names) / sizeof(stack_metric_names[0])
		       ? stack_metric_names[metric] : "?";
}

int mp_stack_metric_parse(const char *name, enum mp_stack_metric *metric)
{
	const char *const *names = stack_metric_names;

	for (size_t i = 0; i < sizeof(stack_metric_names) / sizeof(stack_metric_names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*metric = (enum mp_stack_metric)i;
			return 0;
		}
	}
	return -EINVAL;
}
