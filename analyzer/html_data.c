/* html_data.c: a trace loaded for memprof html, and the figures of each of its stacks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_data.h"

static const char *const html_metric_names[MP_HTML_METRICS] = {
	"allocated", "calls", "peak", "leaked", "definite", "indirect", "possible", "reachable",
	"unfreed", "temporary", "committed", "resident",
};

const char *mp_html_metric_name(enum mp_html_metric metric)
{
	return html_metric_names[metric];
}

/* ---- loading a trace ---- */

int mp_html_side_load(struct mp_html_side *side, enum mp_memory_pick pick, size_t index,
		      unsigned flags, const struct mp_suppressions *supp, char *err,
		      size_t err_len)
{
	const struct mp_analysis_observer *observer = side->time ? &side->time->observer : NULL;
	struct mp_analysis *analysis = &side->memory.analysis;
	int rc = mp_memory_report_run_observed(side->path, pick, index, observer, &side->memory,
					       err, err_len);
	if (rc == 0) {
		side->has_memory = 1;
		if (flags & MP_ANALYSIS_FULL_STACKS)
			mp_analysis_show_full_stacks(analysis);
	} else if (rc == -ENOENT && pick == MP_PICK_DEFAULT) {
		/* No snapshot: everything but the memory view (the replay had not started). */
		snprintf(side->no_memory, sizeof(side->no_memory), "%s", err);
		rc = mp_analysis_open(side->path, analysis, flags, err, err_len);
		if (rc == 0) {
			analysis->observer = observer;
			rc = mp_analysis_replay(analysis, NULL, err, err_len);
		}
	}
	if (rc == 0 && side->time && (rc = mp_time_buckets_finish(side->time, analysis)) < 0)
		snprintf(err, err_len, "out of memory");
	if (rc == 0 && (rc = mp_leaks_compute(analysis, supp, 0, &side->leaks)) < 0)
		snprintf(err, err_len, "out of memory");
	return rc;
}

void mp_html_side_free(struct mp_html_side *side)
{
	mp_leaks_free(&side->leaks);
	mp_memory_report_destroy(&side->memory);
	side->has_memory = 0;
}

/* ---- each stack's figures ---- */

static void html_add(struct mp_html_figures *figures, enum mp_html_metric metric, uint64_t value,
		     uint64_t blocks)
{
	figures->value[metric] += value;
	figures->blocks[metric] += blocks;
}

static int html_kind_metric(unsigned kind)
{
	switch (kind) {
	case MP_LEAK_KIND_DEFINITE:
		return MP_HTML_DEFINITE;
	case MP_LEAK_KIND_INDIRECT:
		return MP_HTML_INDIRECT;
	case MP_LEAK_KIND_POSSIBLE:
		return MP_HTML_POSSIBLE;
	case MP_LEAK_KIND_REACHABLE:
		return MP_HTML_REACHABLE;
	default:
		return -1;
	}
}

struct mp_html_figures *mp_html_stack_figures(struct mp_html_side *side, uint32_t *count)
{
	const struct mp_analysis *analysis = &side->memory.analysis;
	const struct mp_stack_stats *stats = &analysis->model.stacks;
	*count = mp_stack_stats_count(stats);
	struct mp_html_figures *all = calloc(*count ? *count : 1, sizeof(*all));
	if (!all)
		return NULL;
	for (uint32_t id = 0; id < *count; id++) {
		const struct mp_stack_agg *agg = &stats->aggs[id];
		html_add(&all[id], MP_HTML_ALLOCATED, agg->allocated_bytes, agg->allocations);
		html_add(&all[id], MP_HTML_CALLS, agg->calls, agg->calls);
		html_add(&all[id], MP_HTML_PEAK, agg->peak_bytes, agg->peak_blocks);
		html_add(&all[id], MP_HTML_UNFREED, agg->live_bytes, agg->live_blocks);
		html_add(&all[id], MP_HTML_TEMPORARY, agg->temporary, agg->temporary);
	}
	/* Leaks as `memprof leaks` counts them: suppressed ones left out, "leaked" is what it
	 * lists by default (lost blocks; every unfreed one when no scan gave kinds). */
	for (size_t i = 0; i < side->leaks.count; i++) {
		const struct mp_leak_entry *entry = &side->leaks.entries[i];
		if (entry->rule >= 0 || entry->stack_id >= *count)
			continue;
		int metric = html_kind_metric(entry->kind);
		if (metric >= 0)
			html_add(&all[entry->stack_id], metric, entry->bytes, entry->blocks);
		if (MP_LEAK_DEFAULT_SHOWN & (1u << entry->kind))
			html_add(&all[entry->stack_id], MP_HTML_LEAKED, entry->bytes, entry->blocks);
	}
	for (size_t i = 0; side->has_memory && i < side->memory.result.stack_count; i++) {
		const struct mp_memory_stack *stack = &side->memory.result.stacks[i];
		if (stack->stack_id >= *count)
			continue;
		html_add(&all[stack->stack_id], MP_HTML_COMMITTED, stack->committed, stack->blocks);
		html_add(&all[stack->stack_id], MP_HTML_RESIDENT, stack->resident, stack->blocks);
	}
	return all;
}
