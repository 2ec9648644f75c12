/* diff.c: two traces' stacks matched by their frames, and the change of each. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static const char *const diff_metric_names[] = { "leaked", "allocated", "peak", "calls" };

int mp_diff_metric_parse(const char *name, enum mp_diff_metric *metric)
{
	for (size_t i = 0; i < sizeof(diff_metric_names) / sizeof(diff_metric_names[0]); i++)
		if (strcmp(name, diff_metric_names[i]) == 0) {
			*metric = (enum mp_diff_metric)i;
			return 0;
		}
	return -EINVAL;
}

const char *mp_diff_metric_name(enum mp_diff_metric metric)
{
	return diff_metric_names[metric];
}

size_t mp_diff_frame_key(const struct mp_frame *frame, char *buf, size_t len)
{
	char label[128];
	int written = snprintf(buf, len, "%s\x1f%s\x1f%u", mp_frame_label(frame, label, sizeof(label)),
			       frame->file ? frame->file : "", frame->line);
	if (written < 0)
		return 0;
	return (size_t)written < len ? (size_t)written : len ? len - 1 : 0;
}

/* One stack of one side, before matching. */
struct diff_entry {
	char *key;
	int side;         /* 0 base, 1 new */
	uint32_t stack_id;
	uint64_t bytes, blocks;
};

struct diff_entries {
	struct diff_entry *items;
	size_t count, cap;
};

/* The stack's frames joined into one key ('\x1e' between frames); NULL without memory. */
static char *diff_stack_key(struct mp_analysis *analysis, uint32_t stack_id)
{
	/* Static: 56 KiB is too much for the stack, and the analyzer is single-threaded here. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	size_t cap = 256, used = 0;
	char *key = malloc(cap);
	for (int i = 0; key && i < count; i++) {
		char frame_key[1024];
		size_t len = mp_diff_frame_key(&frames[i], frame_key, sizeof(frame_key));
		if (used + len + 2 > cap) {
			cap = (used + len + 2) * 2;
			char *grown = realloc(key, cap);
			if (!grown) {
				free(key);
				return NULL;
			}
			key = grown;
		}
		memcpy(key + used, frame_key, len);
		used += len;
		key[used++] = '\x1e';
	}
	if (key)
		key[used] = '\0';
	return key;
}

/* Per stack id of one side, the metric's bytes and blocks. 0 or -ENOMEM. */
static int diff_side_values(struct mp_diff_side *side, enum mp_diff_metric metric,
			    uint64_t **bytes, uint64_t **blocks, uint32_t *count)
{
	const struct mp_stack_stats *stats = &side->analysis.model.stacks;
	*count = mp_stack_stats_count(stats);
	*bytes = calloc(*count + 1, sizeof(**bytes));
	*blocks = calloc(*count + 1, sizeof(**blocks));
	if (!*bytes || !*blocks)
		return -ENOMEM;
	if (metric == MP_DIFF_LEAKED) {
		for (size_t i = 0; i < side->leaks.count; i++) {
			const struct mp_leak_entry *entry = &side->leaks.entries[i];
			if (entry->rule >= 0 || !(MP_LEAK_DEFAULT_SHOWN & (1u << entry->kind)) ||
			    entry->stack_id >= *count)
				continue;
			(*bytes)[entry->stack_id] += entry->bytes;
			(*blocks)[entry->stack_id] += entry->blocks;
		}
		return 0;
	}
	for (uint32_t id = 0; id < *count; id++) {
		const struct mp_stack_agg *agg = &stats->aggs[id];
		(*bytes)[id] = metric == MP_DIFF_PEAK ? agg->peak_bytes : agg->allocated_bytes;
		(*blocks)[id] = metric == MP_DIFF_PEAK	    ? agg->peak_blocks
				: metric == MP_DIFF_CALLS ? agg->calls
							  : agg->allocations;
	}
	return 0;
}

static int diff_push(struct diff_entries *list, struct diff_entry entry)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 256;
		void *grown = realloc(list->items, cap * sizeof(*list->items));
		if (!grown)
			return -ENOMEM;
		list->items = grown;
		list->cap = cap;
	}
	list->items[list->count++] = entry;
	return 0;
}

/* Every stack of one side with a nonzero value, keyed. 0 or -ENOMEM. */
static int diff_collect(struct mp_diff *diff, int which, struct diff_entries *list)
{
	struct mp_diff_side *side = which ? &diff->next : &diff->base;
	uint64_t *bytes = NULL, *blocks = NULL;
	uint32_t count = 0;
	int rc = diff_side_values(side, diff->metric, &bytes, &blocks, &count);
	for (uint32_t id = 0; rc == 0 && id < count; id++) {
		if (!bytes[id] && !blocks[id])
			continue;
		char *key = diff_stack_key(&side->analysis, id);
		rc = key ? diff_push(list, (struct diff_entry){ key, which, id, bytes[id], blocks[id] })
			 : -ENOMEM;
		if (rc)
			free(key);
	}
	free(bytes);
	free(blocks);
	return rc;
}

static int diff_entry_compare(const void *left, const void *right)
{
	const struct diff_entry *a = left, *b = right;
	int order = strcmp(a->key, b->key);
	if (order)
		return order;
	if (a->side != b->side)
		return a->side - b->side;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

/* The figure a stack is ranked by: blocks for calls, else bytes. */
static void diff_main_figures(enum mp_diff_metric metric, const struct mp_diff_stack *stack,
			      uint64_t *base, uint64_t *next)
{
	*base = metric == MP_DIFF_CALLS ? stack->base_blocks : stack->base_bytes;
	*next = metric == MP_DIFF_CALLS ? stack->new_blocks : stack->new_bytes;
}

static enum mp_diff_metric diff_sort_metric;

static int diff_stack_compare(const void *left, const void *right)
{
	uint64_t a_base, a_new, b_base, b_new;
	diff_main_figures(diff_sort_metric, left, &a_base, &a_new);
	diff_main_figures(diff_sort_metric, right, &b_base, &b_new);
	uint64_t a_change = a_new > a_base ? a_new - a_base : a_base - a_new;
	uint64_t b_change = b_new > b_base ? b_new - b_base : b_base - b_new;
	if (a_change != b_change)
		return a_change > b_change ? -1 : 1;
	int a_grew = a_new > a_base, b_grew = b_new > b_base;
	if (a_grew != b_grew)
		return a_grew ? -1 : 1;
	/* Then the bigger stack, then a fixed order (the first stack ids). */
	if (a_new + a_base != b_new + b_base)
		return a_new + a_base > b_new + b_base ? -1 : 1;
	const struct mp_diff_stack *a = left, *b = right;
	if (a->new_stack != b->new_stack)
		return a->new_stack < b->new_stack ? -1 : 1;
	return a->base_stack < b->base_stack ? -1 : a->base_stack > b->base_stack;
}

/* Runs of equal keys become one stack each. 0 or -ENOMEM. */
static int diff_merge(struct mp_diff *diff, const struct diff_entries *list)
{
	diff->stacks = calloc(list->count ? list->count : 1, sizeof(*diff->stacks));
	if (!diff->stacks)
		return -ENOMEM;
	for (size_t i = 0; i < list->count; i++) {
		const struct diff_entry *entry = &list->items[i];
		if (i == 0 || strcmp(entry->key, list->items[i - 1].key) != 0)
			diff->count++;
		struct mp_diff_stack *stack = &diff->stacks[diff->count - 1];
		if (entry->side) {
			stack->new_bytes += entry->bytes;
			stack->new_blocks += entry->blocks;
			diff->new_bytes += entry->bytes;
			diff->new_blocks += entry->blocks;
			if (!stack->new_stack)
				stack->new_stack = entry->stack_id;
		} else {
			stack->base_bytes += entry->bytes;
			stack->base_blocks += entry->blocks;
			diff->base_bytes += entry->bytes;
			diff->base_blocks += entry->blocks;
			if (!stack->base_stack)
				stack->base_stack = entry->stack_id;
		}
	}
	diff_sort_metric = diff->metric;
	if (diff->count)
		qsort(diff->stacks, diff->count, sizeof(*diff->stacks), diff_stack_compare);
	return 0;
}

int mp_diff_compute(struct mp_diff *diff)
{
	struct diff_entries list = { 0 };
	int rc = diff_collect(diff, 0, &list);
	if (rc == 0)
		rc = diff_collect(diff, 1, &list);
	if (rc == 0 && list.count)
		qsort(list.items, list.count, sizeof(*list.items), diff_entry_compare);
	if (rc == 0)
		rc = diff_merge(diff, &list);
	for (size_t i = 0; i < list.count; i++)
		free(list.items[i].key);
	free(list.items);
	return rc;
}

static int diff_side_run(const char *path, unsigned flags, const struct mp_suppressions *supp,
			 struct mp_diff_side *side, char *err, size_t err_len)
{
	char why[256];
	int rc = mp_analysis_run(path, &side->analysis, flags, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, err_len, "cannot read '%s': %s", path, why);
		return rc;
	}
	side->ready = 1;
	rc = mp_leaks_compute(&side->analysis, supp, 0, &side->leaks);
	if (rc < 0)
		snprintf(err, err_len, "cannot read '%s': out of memory", path);
	return rc;
}

int mp_diff_run(const char *base_path, const char *new_path, enum mp_diff_metric metric,
		unsigned flags, const struct mp_suppressions *supp, struct mp_diff *diff,
		char *err, size_t err_len)
{
	memset(diff, 0, sizeof(*diff));
	diff->metric = metric;
	int rc = diff_side_run(base_path, flags, supp, &diff->base, err, err_len);
	if (rc == 0)
		rc = diff_side_run(new_path, flags, supp, &diff->next, err, err_len);
	if (rc == 0 && (rc = mp_diff_compute(diff)) < 0)
		snprintf(err, err_len, "out of memory");
	return rc;
}

void mp_diff_destroy(struct mp_diff *diff)
{
	struct mp_diff_side *sides[] = { &diff->base, &diff->next };
	for (int i = 0; i < 2; i++) {
		mp_leaks_free(&sides[i]->leaks);
		if (sides[i]->ready)
			mp_analysis_destroy(&sides[i]->analysis);
	}
	free(diff->stacks);
	memset(diff, 0, sizeof(*diff));
}
