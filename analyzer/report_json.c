/* report_json.c: the JSON documents of `report`, `leaks` and `flamegraph` (docs/json.md).
 *
 * Built with jansson; keys keep insertion order. Counts are JSON integers (jansson's are
 * 64-bit signed; counts beyond INT64_MAX, which no trace reaches, saturate). Addresses are
 * "0x..." strings because JSON numbers lose precision above 2^53 in most readers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "trace_family.h"

static json_t *json_u64(uint64_t value)
{
	return json_integer(value > INT64_MAX ? INT64_MAX : (json_int_t)value);
}

/* json_object_set_new that tolerates a NULL value by storing null (jansson would fail). */
static void json_put(json_t *object, const char *key, json_t *value)
{
	json_object_set_new(object, key, value ? value : json_null());
}

static json_t *json_str_or_null(const char *text)
{
	return text ? json_string(text) : json_null();
}

static json_t *json_frame(const struct mp_frame *frame)
{
	json_t *object = json_object();
	char address[24];

	if (!object)
		return NULL;
	snprintf(address, sizeof(address), "0x%" PRIx64, frame->address);
	json_put(object, "function", json_str_or_null(frame->function));
	json_put(object, "file", json_str_or_null(frame->file));
	json_put(object, "line", frame->line ? json_integer(frame->line) : json_null());
	json_put(object, "module", json_str_or_null(frame->module));
	json_put(object, "address", json_string(address));
	json_put(object, "inlined", json_boolean(frame->inlined));
	return object;
}

json_t *mp_stack_json(struct mp_analysis *analysis, uint32_t stack_id)
{
	/* Static: 56 KiB is too much for the stack, and printing is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	json_t *array = json_array();

	for (int i = 0; array && i < count; i++)
		json_array_append_new(array, json_frame(&frames[i]));
	return array;
}

static json_t *json_stack_entry(struct mp_analysis *analysis, uint32_t stack_id)
{
	const struct mp_stack_agg *agg = &analysis->model.stacks.aggs[stack_id];
	json_t *object = json_object();

	if (!object)
		return NULL;
	json_put(object, "allocated_bytes", json_u64(agg->allocated_bytes));
	json_put(object, "allocations", json_u64(agg->allocations));
	json_put(object, "calls", json_u64(agg->calls));
	json_put(object, "temporary_allocations", json_u64(agg->temporary));
	json_put(object, "peak_bytes", json_u64(agg->peak_bytes));
	json_put(object, "peak_blocks", json_u64(agg->peak_blocks));
	json_put(object, "leaked_bytes", json_u64(agg->leaked_bytes));
	json_put(object, "leaked_blocks", json_u64(agg->leaked_blocks));
	json_put(object, "unfreed_bytes", json_u64(agg->live_bytes));
	json_put(object, "unfreed_blocks", json_u64(agg->live_blocks));
	json_put(object, "stack", mp_stack_json(analysis, stack_id));
	return object;
}

/* The call stacks with a nonzero `metric`, largest first, at most `top` (0: all). */
static json_t *json_top(struct mp_analysis *analysis, enum mp_stack_metric metric, size_t top)
{
	uint32_t stack_count = mp_stack_stats_count(&analysis->model.stacks);
	size_t max = top && top < stack_count ? top : stack_count;
	uint32_t *ids = malloc((max ? max : 1) * sizeof(*ids));
	size_t count = ids ? mp_stack_stats_top(&analysis->model.stacks, metric, ids, max) : 0;
	json_t *array = ids ? json_array() : NULL;

	for (size_t i = 0; array && i < count; i++)
		json_array_append_new(array, json_stack_entry(analysis, ids[i]));
	free(ids);
	return array;
}

static const char *json_end_state(uint32_t end_state)
{
	switch (end_state) {
	case MP_END_EXIT:
		return "exit";
	case MP_END_EXIT_NOW:
		return "_exit";
	case MP_END_EXEC:
		return "exec";
	case MP_END_SIGNAL:
		return "signal";
	default:
		return "running";
	}
}

/* For an exec'd image, the trace that continues it (trace_family.h), else null. */
static json_t *json_continued_in(const struct mp_analysis *analysis)
{
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	struct mp_trace_peek peek;
	char next[4096];

	if (header->end_state != MP_END_EXEC)
		return json_null();
	mp_trace_peek_header(header, mp_trace_exe(analysis->trace), &peek);
	if (mp_trace_exec_successor(analysis->path, &peek, next, sizeof(next)))
		return json_null();
	return json_string(next);
}

static void json_process(json_t *object, const struct mp_analysis *analysis)
{
	const struct mp_file_header *header = mp_trace_header(analysis->trace);

	json_put(object, "trace", json_string(analysis->path));
	json_put(object, "pid", json_integer(header->pid));
	json_put(object, "ppid", json_integer(header->ppid));
	json_put(object, "exe", json_str_or_null(mp_trace_exe(analysis->trace)));
	json_put(object, "complete", json_boolean(analysis->complete));
	if (!analysis->complete)
		json_put(object, "incomplete_reason", json_string(analysis->stop_reason));
	json_put(object, "end_state", json_string(json_end_state(header->end_state)));
	json_put(object, "exited_normally", json_boolean(header->end_state == MP_END_EXIT ||
							  header->end_state == MP_END_EXIT_NOW));
	json_put(object, "exit_status", header->end_state == MP_END_EXIT ||
					header->end_state == MP_END_EXIT_NOW
				? json_integer(header->end_status) : json_null());
	json_put(object, "signal", header->end_state == MP_END_SIGNAL
				   ? json_integer(header->end_status) : json_null());
	json_put(object, "continued_in", json_continued_in(analysis));
	json_put(object, "run_time_ns", json_u64(analysis->run_time_ns));
	json_put(object, "dropped_events", json_u64(analysis->stats.dropped_events));
	json_put(object, "thread_stopped",
		 json_boolean(mp_trace_header(analysis->trace)->flags & MP_TRACE_THREAD_STOPPED));
	json_put(object, "threads", json_u64(analysis->stats.threads));
}

static void json_counts(json_t *object, const struct mp_heap_totals *t, uint64_t start_ns)
{
	json_put(object, "allocations", json_u64(t->allocations));
	json_put(object, "frees", json_u64(t->frees));
	json_put(object, "reallocs", json_u64(t->reallocs));
	json_put(object, "mmaps", json_u64(t->mmaps));
	json_put(object, "munmaps", json_u64(t->munmaps));
	json_put(object, "mremaps", json_u64(t->mremaps));
	json_put(object, "brks", json_u64(t->brks));
	json_put(object, "failed_calls", json_u64(t->failed_calls));
	json_put(object, "allocated_bytes", json_u64(t->allocated_bytes));
	json_put(object, "peak_heap_bytes", json_u64(t->peak_bytes));
	json_put(object, "peak_heap_blocks", json_u64(t->peak_blocks));
	json_put(object, "peak_time_ns", json_u64(t->peak_time_ns > start_ns ? t->peak_time_ns - start_ns : 0));
	json_put(object, "unfreed_bytes", json_u64(t->live_bytes));
	json_put(object, "unfreed_blocks", json_u64(t->live_blocks));
	/* null when sampled: temporaries need every allocation of the thread in the trace */
	json_put(object, "temporary_allocations",
		 t->sample_bytes ? json_null() : json_u64(t->temporary_allocations));
	json_put(object, "mmap_bytes", json_u64(t->mmap_bytes));
	json_put(object, "peak_mmap_bytes", json_u64(t->mmap_peak_bytes));
	json_put(object, "peak_mmap_time_ns", json_u64(t->mmap_peak_time_ns > start_ns ? t->mmap_peak_time_ns - start_ns : 0));
	json_put(object, "mmap_live_bytes", json_u64(t->mmap_live_bytes));
	json_put(object, "peak_mmap_reserved_bytes", json_u64(t->mmap_peak_reserved_bytes));
	json_put(object, "mmap_live_reserved_bytes", json_u64(t->mmap_live_reserved_bytes));
	json_put(object, "peak_brk_bytes", json_u64(t->brk_peak_bytes));
	json_put(object, "unknown_frees", json_u64(t->unknown_frees));
	json_put(object, "replaced_blocks", json_u64(t->replaced_blocks));
	json_put(object, "unknown_unmaps", json_u64(t->unknown_unmaps));
}

json_t *mp_sampling_json(const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *totals = &analysis->model.totals;
	json_t *object;

	if (!totals->sample_bytes || !(object = json_object()))
		return json_null();
	json_put(object, "sample_bytes", json_u64(totals->sample_bytes));
	json_put(object, "samples", json_u64(totals->samples));
	json_put(object, "window_ms",
		 json_u64(mp_trace_header(analysis->trace)->sample_window_ms));
	json_put(object, "window_samples", json_u64(totals->window_samples));
	json_put(object, "pending_samples", json_u64(totals->pending_samples));
	json_put(object, "estimated", json_true());
	return object;
}

/* "scanned", "failed", or "none": no scan ran, which a sampled trace's summary says with
 * the status ENOTSUP (its unsampled blocks cannot be scanned): that is not a failure. */
static const char *json_scan_state(const struct mp_leak_kinds *kinds)
{
	static const char *const states[] = { "none", "failed", "scanned" };
	if (kinds->state == MP_LEAK_SCAN_FAILED && (kinds->flags & MP_LEAK_SCAN_SAMPLED))
		return "none";
	return states[kinds->state];
}

/* "leaked_*": the lost blocks, as `memprof leaks` counts them; "leak_check": what they
 * rest on (without a scan every block not freed counts). */
static void json_leaked(json_t *object, const struct mp_leak_list *list)
{
	json_put(object, "leaked_bytes", json_u64(list->leaked.bytes));
	json_put(object, "leaked_blocks", json_u64(list->leaked.blocks));
	json_put(object, "suppressed_bytes", json_u64(list->suppressed.bytes));
	json_put(object, "suppressed_blocks", json_u64(list->suppressed.blocks));
	json_put(object, "leak_check", json_string(json_scan_state(&list->kinds)));
}

json_t *mp_report_json(struct mp_analysis *analysis, const struct mp_leak_list *list,
		       const struct mp_report_options *opts)
{
	uint64_t start_ns = mp_trace_header(analysis->trace)->start_monotonic_ns;
	json_t *object = json_object();

	if (!object)
		return NULL;
	json_process(object, analysis);
	json_put(object, "sampling", mp_sampling_json(analysis));
	json_counts(object, &analysis->model.totals, start_ns);
	json_leaked(object, list);
	json_put(object, "top_peak", json_top(analysis, MP_METRIC_PEAK, opts->top));
	json_put(object, "top_allocated", json_top(analysis, MP_METRIC_ALLOCATED, opts->top));
	json_put(object, "top_calls", json_top(analysis, MP_METRIC_CALLS, opts->top));
	json_put(object, "top_leaked", json_top(analysis, MP_METRIC_LEAKED, opts->top));
	json_put(object, "top_unfreed", json_top(analysis, MP_METRIC_UNFREED, opts->top));
	return object;
}

static json_t *json_tally(const struct mp_leak_tally *tally)
{
	json_t *object = json_object();
	json_put(object, "bytes", json_u64(tally->bytes));
	json_put(object, "blocks", json_u64(tally->blocks));
	return object;
}

/* "reachability": what the exit scan did; "summary": bytes and blocks per kind. */
static void json_leak_summary(json_t *object, struct mp_analysis *analysis,
			      const struct mp_leak_list *list)
{
	const struct mp_leak_kinds *kinds = &list->kinds;
	json_t *scan = json_object(), *summary = json_object();

	json_put(scan, "state", json_string(json_scan_state(kinds)));
	if (kinds->state == MP_LEAK_SCAN_FAILED && (kinds->flags & MP_LEAK_SCAN_SAMPLED))
		json_put(scan, "reason", json_string("sampled traces are not scanned"));
	else if (kinds->state == MP_LEAK_SCAN_FAILED)
		json_put(scan, "error", json_string(strerror((int)kinds->status)));
	/* A fork child's check cannot see (nor reach through) the blocks it inherited. */
	if (mp_trace_header(analysis->trace)->flags & MP_TRACE_FORK_CHILD)
		json_put(scan, "fork_child", json_true());
	if (kinds->state == MP_LEAK_SCAN_DONE) {
		json_put(scan, "scan_ns", json_u64(kinds->scan_ns));
		json_put(scan, "root_bytes", json_u64(kinds->root_bytes));
		json_put(scan, "block_bytes", json_u64(kinds->block_bytes));
		json_put(scan, "blocks", json_u64(kinds->blocks));
		json_put(scan, "other_threads", json_u64(kinds->threads));
		json_put(scan, "threads_not_stopped", json_u64(kinds->not_stopped));
		json_put(scan, "heuristic_blocks", json_u64(kinds->heuristic_blocks));
		json_put(scan, "heuristic_bytes", json_u64(kinds->heuristic_bytes));
	}
	if (kinds->index) {
		uint64_t start = mp_trace_header(analysis->trace)->start_monotonic_ns;
		json_t *check = json_object();
		json_put(check, "index", json_u64(kinds->index));
		json_put(check, "reason", json_string(mp_leak_check_reason_name(kinds->reason)));
		json_put(check, "time_ns",
			 json_u64(kinds->time_ns > start ? kinds->time_ns - start : 0));
		if (kinds->signal)
			json_put(check, "signal", json_u64(kinds->signal));
		json_put(scan, "check", check);
	}
	json_put(scan, "checks", json_u64(kinds->checks));
	json_put(object, "reachability", scan);
	for (unsigned kind = 0; kind < MP_LEAK_KINDS; kind++)
		json_put(summary, mp_leak_kind_name(kind), json_tally(&list->by_kind[kind]));
	json_put(object, "summary", summary);
}

static json_t *json_suppressed(const struct mp_leak_list *list)
{
	json_t *object = json_tally(&list->suppressed), *rules = json_array();
	for (size_t i = 0; list->supp && i < list->supp->count; i++) {
		const struct mp_supp_rule *rule = &list->supp->rules[i];
		json_t *entry = json_tally(&list->by_rule[i]);
		json_put(entry, "leaks", json_u64(list->by_rule[i].entries));
		json_put(entry, "rule", json_string(rule->text));
		json_put(entry, "file", json_string(rule->file));
		json_put(entry, "line", json_integer(rule->line));
		json_array_append_new(rules, entry);
	}
	json_put(object, "rules", rules);
	return object;
}

json_t *mp_leaks_json(struct mp_analysis *analysis, const struct mp_leak_list *list,
		      const struct mp_report_options *opts)
{
	json_t *object = json_object(), *leaks = json_array();
	size_t listed = 0;

	if (!object || !leaks) {
		json_decref(object);
		json_decref(leaks);
		return NULL;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct mp_leak_entry *entry = &list->entries[i];
		json_t *leak;
		if (entry->rule >= 0 || !(opts->shown & (1u << entry->kind)))
			continue;
		if ((opts->top && listed >= opts->top) || !(leak = json_object()))
			continue;
		listed++;
		json_put(leak, "kind", json_string(mp_leak_kind_name(entry->kind)));
		json_put(leak, "bytes", json_u64(entry->bytes));
		json_put(leak, "blocks", json_u64(entry->blocks));
		json_put(leak, "stack", mp_stack_json(analysis, entry->stack_id));
		json_array_append_new(leaks, leak);
	}
	json_put(object, "trace", json_string(analysis->path));
	json_put(object, "complete", json_boolean(analysis->complete));
	if (!analysis->complete)
		json_put(object, "incomplete_reason", json_string(analysis->stop_reason));
	json_put(object, "sampling", mp_sampling_json(analysis));
	json_put(object, "leaked_bytes", json_u64(list->leaked.bytes));
	json_put(object, "leaked_blocks", json_u64(list->leaked.blocks));
	json_put(object, "unfreed_bytes", json_u64(analysis->model.totals.live_bytes));
	json_put(object, "unfreed_blocks", json_u64(analysis->model.totals.live_blocks));
	json_leak_summary(object, analysis, list);
	json_put(object, "suppressed", json_suppressed(list));
	json_put(object, "leaks", leaks);
	return object;
}

json_t *mp_folded_json(struct mp_analysis *analysis, const struct mp_report_options *opts)
{
	enum mp_stack_metric metric = opts->metric;
	struct mp_stack_stats *stacks = &analysis->model.stacks;
	uint32_t count = mp_stack_stats_count(stacks);
	uint32_t *ids = malloc((count ? count : 1) * sizeof(*ids));
	json_t *object = json_object(), *list = json_array();
	size_t ranked = ids ? mp_stack_stats_top(stacks, metric, ids, count) : 0;
	size_t shown = opts->top && opts->top < ranked ? opts->top : ranked;
	uint64_t total = 0;

	if (!ids || !object || !list) {
		free(ids);
		json_decref(object);
		json_decref(list);
		return NULL;
	}
	for (size_t i = 0; i < ranked; i++) {
		uint64_t value = mp_stack_stats_value(&stacks->aggs[ids[i]], metric);
		total += value;
		json_t *entry = i < shown ? json_object() : NULL;
		if (!entry)
			continue;
		json_put(entry, "value", json_u64(value));
		json_put(entry, "stack", mp_stack_json(analysis, ids[i]));
		json_array_append_new(list, entry);
	}
	json_put(object, "trace", json_string(analysis->path));
	json_put(object, "metric", json_string(mp_stack_metric_name(metric)));
	json_put(object, "sampling", mp_sampling_json(analysis));
	json_put(object, "total", json_u64(total));
	json_put(object, "stacks", list);
	free(ids);
	return object;
}
