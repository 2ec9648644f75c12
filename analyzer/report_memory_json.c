/* report_memory_json.c: the `memprof memory --json` document (docs/json.md). */
#include <stdint.h>

#include "report.h"
#include "report_memory.h"

static json_t *mem_u64(uint64_t value)
{
	return json_integer(value > INT64_MAX ? INT64_MAX : (json_int_t)value);
}

static void mem_put(json_t *object, const char *key, json_t *value)
{
	json_object_set_new(object, key, value ? value : json_null());
}

static json_t *mem_context_value(const struct mp_snapshot *snapshot, enum mp_snapshot_key key)
{
	uint64_t value;
	return mp_snapshot_context(snapshot, key, &value) ? mem_u64(value) : json_null();
}

static json_t *mem_context_name(const struct mp_snapshot *snapshot, enum mp_snapshot_key key,
				const char *const names[3])
{
	uint64_t value;
	return mp_snapshot_context(snapshot, key, &value) && value < 3 ? json_string(names[value])
								       : json_null();
}

static json_t *mem_process(const struct mp_snapshot *snapshot)
{
	static const char *const overcommit[] = { "heuristic", "always", "never" };
	static const char *const thp[] = { "always", "madvise", "never" };
	json_t *object = json_object();
	uint64_t adj;
	if (!object)
		return NULL;
	mem_put(object, "vm_peak_bytes", mem_context_value(snapshot, MP_SNAPK_VM_PEAK));
	mem_put(object, "vm_size_bytes", mem_context_value(snapshot, MP_SNAPK_VM_SIZE));
	mem_put(object, "vm_hwm_bytes", mem_context_value(snapshot, MP_SNAPK_VM_HWM));
	mem_put(object, "vm_rss_bytes", mem_context_value(snapshot, MP_SNAPK_VM_RSS));
	mem_put(object, "rss_anon_bytes", mem_context_value(snapshot, MP_SNAPK_RSS_ANON));
	mem_put(object, "rss_file_bytes", mem_context_value(snapshot, MP_SNAPK_RSS_FILE));
	mem_put(object, "rss_shmem_bytes", mem_context_value(snapshot, MP_SNAPK_RSS_SHMEM));
	mem_put(object, "vm_swap_bytes", mem_context_value(snapshot, MP_SNAPK_VM_SWAP));
	mem_put(object, "threads", mem_context_value(snapshot, MP_SNAPK_THREADS));
	mem_put(object, "oom_score", mem_context_value(snapshot, MP_SNAPK_OOM_SCORE));
	mem_put(object, "oom_score_adj",
		mp_snapshot_context(snapshot, MP_SNAPK_OOM_SCORE_ADJ, &adj)
			? json_integer((json_int_t)((int64_t)(adj >> 1) ^ -(int64_t)(adj & 1)))
			: json_null());
	mem_put(object, "cgroup_memory_max_bytes", mem_context_value(snapshot, MP_SNAPK_CGROUP_MAX));
	mem_put(object, "cgroup_memory_current_bytes",
		mem_context_value(snapshot, MP_SNAPK_CGROUP_CURRENT));
	mem_put(object, "overcommit_mode", mem_context_name(snapshot, MP_SNAPK_OVERCOMMIT, overcommit));
	mem_put(object, "commit_limit_bytes", mem_context_value(snapshot, MP_SNAPK_COMMIT_LIMIT));
	mem_put(object, "committed_as_bytes", mem_context_value(snapshot, MP_SNAPK_COMMITTED_AS));
	mem_put(object, "thp_mode", mem_context_name(snapshot, MP_SNAPK_THP_MODE, thp));
	mem_put(object, "mem_total_bytes", mem_context_value(snapshot, MP_SNAPK_MEM_TOTAL));
	mem_put(object, "mem_available_bytes", mem_context_value(snapshot, MP_SNAPK_MEM_AVAILABLE));
	return object;
}

/* Access figures are absent when not measured; accessed_bytes only when exact. */
static void mem_stack_access(json_t *entry, const struct mp_memory_stack *row)
{
	if (row->accessed_exact) {
		mem_put(entry, "accessed_bytes", mem_u64(row->accessed_max));
		mem_put(entry, "cold_bytes", mem_u64(row->resident - row->accessed_max));
	}
	mem_put(entry, "accessed_min_bytes", mem_u64(row->accessed_min));
	mem_put(entry, "accessed_max_bytes", mem_u64(row->accessed_max));
}

static json_t *mem_stacks(struct mp_memory_report *report, size_t top)
{
	const struct mp_memory_result *r = &report->result;
	size_t shown = top && top < r->stack_count ? top : r->stack_count;
	json_t *array = json_array();
	for (size_t i = 0; array && i < shown; i++) {
		const struct mp_memory_stack *row = &r->stacks[i];
		json_t *entry = json_object();
		if (!entry)
			break;
		mem_put(entry, "committed_bytes", mem_u64(row->committed));
		mem_put(entry, "resident_bytes", mem_u64(row->resident));
		mem_put(entry, "swapped_bytes", mem_u64(row->swapped));
		mem_put(entry, "gap_bytes", mem_u64(row->committed - row->resident));
		mem_put(entry, "blocks", mem_u64(row->blocks));
		mem_put(entry, "source", json_string(mp_memory_source_name(row->source)));
		if (r->has_access)
			mem_stack_access(entry, row);
		mem_put(entry, "stack", mp_stack_json(&report->analysis, row->stack_id));
		json_array_append_new(array, entry);
	}
	return array;
}

static json_t *mem_kinds(const struct mp_memory_result *r)
{
	json_t *array = json_array();
	for (int k = 0; array && k < MP_MEMK_COUNT; k++) {
		const struct mp_memory_kind_totals *kind = &r->kinds[k];
		json_t *entry = json_object();
		if (!entry)
			break;
		mem_put(entry, "kind", json_string(mp_memory_kind_name((enum mp_memory_kind)k)));
		mem_put(entry, "mappings", mem_u64(kind->mappings));
		mem_put(entry, "size_bytes", mem_u64(kind->size));
		mem_put(entry, "rss_bytes", mem_u64(kind->rss));
		mem_put(entry, "pss_bytes", mem_u64(kind->pss));
		mem_put(entry, "swap_bytes", mem_u64(kind->swap));
		mem_put(entry, "thp_bytes", mem_u64(kind->thp));
		mem_put(entry, "private_dirty_bytes", mem_u64(kind->private_dirty));
		mem_put(entry, "shared_bytes", mem_u64(kind->shared));
		mem_put(entry, "memprof_rss_bytes", mem_u64(kind->memprof_rss));
		if (k == MP_MEMK_FILE) {
			mem_put(entry, "code_rss_bytes", mem_u64(kind->code_rss));
			mem_put(entry, "mmap_rss_bytes", mem_u64(kind->mmap_rss));
		}
		if (r->has_access) {
			mem_put(entry, "accessed_bytes", mem_u64(kind->accessed));
			mem_put(entry, "cold_bytes", mem_u64(kind->access_rss - kind->accessed));
		}
		json_array_append_new(array, entry);
	}
	return array;
}

static json_t *mem_timeline(const struct mp_memory_report *report)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < report->snapshots.count; i++) {
		const struct mp_memory_point *point = &report->timeline[i];
		json_t *entry = json_object();
		if (!entry)
			break;
		mem_put(entry, "index", mem_u64(i + 1));
		mem_put(entry, "reason", json_string(mp_memory_reason_name(point->reason)));
		mem_put(entry, "time_ns", mem_u64(point->time_ns));
		mem_put(entry, "rss_bytes", mem_u64(point->rss));
		mem_put(entry, "virt_bytes", mem_u64(point->virt));
		mem_put(entry, "heap_live_bytes", mem_u64(point->heap_live_bytes));
		mem_put(entry, "heap_live_blocks", mem_u64(point->heap_live_blocks));
		mem_put(entry, "cost_ns", mem_u64(point->cost_ns));
		if (point->has_access)
			mem_put(entry, "access_since_ns", mem_u64(point->access_since_ns));
		json_array_append_new(array, entry);
	}
	return array;
}

/* The process's RSS peak and how far the reported snapshot is from it. */
static json_t *mem_rss_peak(const struct mp_memory_report *report)
{
	const struct mp_memory_peak *peak = &report->peak;
	json_t *object = json_object();
	if (!object)
		return NULL;
	mem_put(object, "vm_hwm_bytes", peak->hwm ? mem_u64(peak->hwm) : json_null());
	mem_put(object, "vm_hwm_snapshot", peak->hwm ? mem_u64(peak->hwm_snapshot + 1) : json_null());
	mem_put(object, "snapshot_rss_bytes", mem_u64(peak->snapshot_rss));
	mem_put(object, "below_peak_bytes",
		peak->hwm ? mem_u64(peak->hwm > peak->snapshot_rss ? peak->hwm - peak->snapshot_rss : 0)
			  : json_null());
	mem_put(object, "nearest_snapshot", mem_u64(peak->nearest + 1));
	mem_put(object, "watched_max_rss_bytes", peak->watched ? mem_u64(peak->watched_rss) : json_null());
	mem_put(object, "watched_max_time_ns",
		peak->watched ? mem_u64(peak->watched_time_ns) : json_null());
	return object;
}

/* The RSS watch's samples, the timeline's line. */
static json_t *mem_rss_series(const struct mp_memory_report *report)
{
	uint64_t start = mp_trace_header(report->analysis.trace)->start_monotonic_ns;
	json_t *object = json_object(), *samples = json_array();
	if (!object || !samples) {
		json_decref(object);
		json_decref(samples);
		return NULL;
	}
	for (size_t i = 0; i < report->rss.count; i++) {
		const struct mp_rss_sample *sample = &report->rss.samples[i];
		json_t *entry = json_object();
		if (!entry)
			break;
		mem_put(entry, "time_ns", mem_u64(sample->time_ns > start ? sample->time_ns - start : 0));
		mem_put(entry, "rss_bytes", mem_u64(sample->rss));
		mem_put(entry, "shared_bytes", mem_u64(sample->shared));
		mem_put(entry, "virt_bytes", mem_u64(sample->virt));
		json_array_append_new(samples, entry);
	}
	mem_put(object, "period_ms", report->rss.count ? mem_u64(report->rss.period_ms) : json_null());
	mem_put(object, "samples", samples);
	return object;
}

static json_t *mem_snapshot(const struct mp_memory_report *report)
{
	const struct mp_memory_point *point = &report->timeline[report->selected];
	json_t *object = json_object();
	if (!object)
		return NULL;
	mem_put(object, "index", mem_u64(report->selected + 1));
	mem_put(object, "reason", json_string(mp_memory_reason_name(point->reason)));
	mem_put(object, "time_ns", mem_u64(point->time_ns));
	mem_put(object, "complete", json_boolean(point->complete));
	mem_put(object, "cost_ns", mem_u64(point->cost_ns));
	mem_put(object, "access_method", point->has_access ? json_string("referenced") : json_null());
	mem_put(object, "access_since_ns",
		point->has_access ? mem_u64(point->access_since_ns) : json_null());
	return object;
}

json_t *mp_memory_json(struct mp_memory_report *report, size_t top)
{
	const struct mp_memory_result *r = &report->result;
	char lines[MP_MEMORY_VERDICT_LINES][512];
	json_t *object = json_object(), *verdict = json_array();
	if (!object || !verdict) {
		json_decref(object);
		json_decref(verdict);
		return NULL;
	}
	int count = mp_memory_verdict(report, lines, MP_MEMORY_VERDICT_LINES);
	for (int i = 0; i < count; i++)
		json_array_append_new(verdict, json_string(lines[i]));
	mem_put(object, "trace", json_string(report->analysis.path));
	mem_put(object, "complete", json_boolean(report->analysis.complete));
	mem_put(object, "sampling", mp_sampling_json(&report->analysis));
	mem_put(object, "snapshot", mem_snapshot(report));
	mem_put(object, "snapshots", mem_u64(report->snapshots.count));
	mem_put(object, "verdict", verdict);
	mem_put(object, "rss_bytes", mem_u64(r->rss));
	mem_put(object, "virt_bytes", mem_u64(r->virt));
	mem_put(object, "pss_bytes", mem_u64(r->pss));
	mem_put(object, "swap_bytes", mem_u64(r->swap));
	mem_put(object, "process", mem_process(mp_memory_snapshot(report)));
	mem_put(object, "heap_live_bytes", mem_u64(r->heap_live_bytes));
	mem_put(object, "heap_live_blocks", mem_u64(r->heap_live_blocks));
	mem_put(object, "heap_live_resident_bytes", mem_u64(r->heap_live_resident));
	mem_put(object, "heap_live_swapped_bytes", mem_u64(r->heap_live_swapped));
	mem_put(object, "heap_rss_bytes", mem_u64(r->heap_rss));
	mem_put(object, "heap_unexplained_bytes", mem_u64(r->heap_unexplained));
	mem_put(object, "mmap_resident_bytes", mem_u64(r->mmap_resident));
	mem_put(object, "brk_resident_bytes", mem_u64(r->brk_resident));
	mem_put(object, "anon_program_rss_bytes", mem_u64(r->anon_program_rss));
	mem_put(object, "anon_unexplained_bytes", mem_u64(r->anon_unexplained));
	mem_put(object, "stack_rss_bytes", mem_u64(r->stack_rss));
	mem_put(object, "memprof_rss_bytes", mem_u64(r->memprof_rss));
	mem_put(object, "has_residency", json_boolean(r->has_residency));
	if (r->has_access) {
		mem_put(object, "accessed_bytes", mem_u64(r->accessed));
		mem_put(object, "cold_bytes", mem_u64(r->access_rss - r->accessed));
	}
	mem_put(object, "rss_peak", mem_rss_peak(report));
	mem_put(object, "stacks", mem_stacks(report, top));
	mem_put(object, "mappings", mem_kinds(r));
	mem_put(object, "timeline", mem_timeline(report));
	mem_put(object, "rss_series", mem_rss_series(report));
	return object;
}
