/* memory.c: replaying a trace to each of its snapshots and joining the chosen one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "module_paths.h"

const char *mp_memory_reason_name(uint32_t reason)
{
	switch (reason) {
	case MP_SNAP_EXIT:
		return "exit";
	case MP_SNAP_PEAK:
		return "heap-peak";
	case MP_SNAP_RSS_PEAK:
		return "rss-peak";
	case MP_SNAP_INTERVAL:
		return "interval";
	case MP_SNAP_SIGNAL:
		return "signal";
	case MP_SNAP_FATAL:
		return "fatal-signal";
	default:
		return "unknown";
	}
}

const struct mp_snapshot *mp_memory_snapshot(const struct mp_memory_report *report)
{
	return &report->snapshots.items[report->selected];
}

static uint64_t memory_rss_of(const struct mp_snapshot *snapshot)
{
	uint64_t value = 0;
	if (mp_snapshot_context(snapshot, MP_SNAPK_VM_RSS, &value))
		return value;
	for (size_t i = 0; i < snapshot->mapping_count; i++)
		value += snapshot->mappings[i].figures[MP_SMAPS_RSS];
	return value;
}

/* The RSS the snapshot's mappings hold (smaps' sum): what the report of it describes.
 * Status is read before smaps, and a process that frees much while the snapshot is taken
 * has a VmRSS its mappings no longer show: the peak is chosen on what was joined. */
static uint64_t memory_mapped_rss_of(const struct mp_snapshot *snapshot)
{
	uint64_t value = 0;
	for (size_t i = 0; i < snapshot->mapping_count; i++)
		value += snapshot->mappings[i].figures[MP_SMAPS_RSS];
	return value;
}

static uint64_t memory_virt_of(const struct mp_snapshot *snapshot)
{
	uint64_t value = 0;
	if (mp_snapshot_context(snapshot, MP_SNAPK_VM_SIZE, &value))
		return value;
	for (size_t i = 0; i < snapshot->mapping_count; i++)
		value += snapshot->mappings[i].end - snapshot->mappings[i].start;
	return value;
}

static int memory_pick(struct mp_memory_report *report, enum mp_memory_pick pick, size_t index,
		       char *err, size_t err_len)
{
	const struct mp_snapshot_table *table = &report->snapshots;
	size_t found = table->count;
	for (size_t i = 0; i < table->count; i++) {
		const struct mp_snapshot *snapshot = &table->items[i];
		/* The process's last moment: its exit, or the signal that ended it. */
		if ((pick == MP_PICK_EXIT || pick == MP_PICK_DEFAULT) &&
		    (snapshot->reason == MP_SNAP_EXIT || snapshot->reason == MP_SNAP_FATAL))
			found = i;
		else if (pick == MP_PICK_HEAP_PEAK && snapshot->reason == MP_SNAP_PEAK)
			found = i;
		else if (pick == MP_PICK_PEAK && !snapshot->smaps_errno &&
			 (found == table->count ||
			  memory_mapped_rss_of(snapshot) > memory_mapped_rss_of(&table->items[found])))
			found = i;
	}
	if (pick == MP_PICK_DEFAULT && found == table->count)
		found = table->count - 1;
	if (pick == MP_PICK_INDEX)
		found = index >= 1 && index <= table->count ? index - 1 : table->count;
	if (found == table->count) {
		if (pick == MP_PICK_EXIT)
			snprintf(err, err_len, "no snapshot was taken at exit (%zu snapshots)",
				 table->count);
		else if (pick == MP_PICK_HEAP_PEAK)
			snprintf(err, err_len, "no snapshot was taken at a heap peak (%zu snapshots; "
				 "none with sampling or MEMPROF_SNAPSHOT_PEAK=0)", table->count);
		else
			snprintf(err, err_len, "no snapshot %zu (the trace has %zu)", index,
				 table->count);
		return -ENOENT;
	}
	const struct mp_snapshot *chosen = &table->items[found];
	if (chosen->smaps_errno) {
		/* Its figures would all be 0 B: say why there are none instead. */
		snprintf(err, err_len, "the %s snapshot (%zu of %zu) could not read "
			 "/proc/self/smaps (%s), so it holds no mappings; --snapshot N picks another",
			 mp_memory_reason_name(chosen->reason), found + 1, table->count,
			 strerror(chosen->smaps_errno));
		return -ENOENT;
	}
	report->selected = found;
	return 0;
}

/* ---- the replay ---- */

struct memory_items {
	struct mp_residency_item *items;
	size_t count, cap;
};

static int memory_push(struct memory_items *list, uint64_t start, uint64_t end, uint32_t stack)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		void *grown = realloc(list->items, cap * sizeof(*list->items));
		if (!grown)
			return -ENOMEM;
		list->items = grown;
		list->cap = cap;
	}
	list->items[list->count++] = (struct mp_residency_item){ start, end, stack };
	return 0;
}

static int memory_cmp_item(const void *left, const void *right)
{
	const struct mp_residency_item *a = left, *b = right;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int memory_is_module(const char *path, void *context)
{
	return mp_module_paths_has(context, path);
}

/* The chosen snapshot against the model's state now. */
static int memory_join(struct mp_memory_report *report, const struct mp_heap_model *model)
{
	struct memory_items blocks = { 0 }, mmaps = { 0 }, brks = { 0 };
	struct mp_module_paths *modules = NULL;
	const struct mp_live_blocks *live = &model->blocks;
	int rc = 0;
	size_t span = mp_live_blocks_span(live);
	for (size_t i = 0; rc == 0 && i < span; i++) {
		struct mp_live_block block;
		if (mp_live_blocks_at(live, i, &block))
			rc = memory_push(&blocks, block.addr, block.addr + block.size, block.stack_id);
	}
	for (size_t i = 0; rc == 0 && i < model->mappings.count; i++)
		rc = memory_push(&mmaps, model->mappings.items[i].start,
				 model->mappings.items[i].end, model->mappings.items[i].stack_id);
	for (size_t i = 0; rc == 0 && i < model->brk_count; i++)
		rc = memory_push(&brks, model->brks[i].start, model->brks[i].end,
				 model->brks[i].stack_id);
	if (rc == 0 && !(modules = mp_module_paths_new(report->analysis.trace)))
		rc = -ENOMEM;
	if (rc == 0) {
		if (blocks.count)
			qsort(blocks.items, blocks.count, sizeof(*blocks.items), memory_cmp_item);
		struct mp_memory_input input = {
			.snapshot = mp_memory_snapshot(report),
			.blocks = blocks.items, .block_count = blocks.count,
			.mmaps = mmaps.items, .mmap_count = mmaps.count,
			.brks = brks.items, .brk_count = brks.count,
			.is_module = memory_is_module, .is_module_context = modules,
			.sample_bytes = model->totals.sample_bytes,
		};
		rc = mp_memory_compute(&input, &report->result);
	}
	free(blocks.items);
	free(mmaps.items);
	free(brks.items);
	mp_module_paths_free(modules);
	return rc;
}

/* A checkpoint of the replay (analyze.h): the snapshot `index` against the model as it
 * stood at the snapshot's time. */
static int memory_visit(void *context, size_t index, const struct mp_heap_model *model)
{
	struct mp_memory_report *report = context;
	const struct mp_snapshot *snapshot = &report->snapshots.items[index];
	uint64_t start = mp_trace_header(report->analysis.trace)->start_monotonic_ns;
	uint64_t method = 0, since = 0;
	int has_access = mp_snapshot_context(snapshot, MP_SNAPK_ACCESS_METHOD, &method) &&
			 method == MP_ACCESS_REFERENCED &&
			 mp_snapshot_context(snapshot, MP_SNAPK_ACCESS_SINCE_NS, &since);
	report->timeline[index] = (struct mp_memory_point){
		.reason = snapshot->reason,
		.complete = snapshot->complete,
		.time_ns = snapshot->time_ns > start ? snapshot->time_ns - start : 0,
		.rss = memory_rss_of(snapshot),
		.virt = memory_virt_of(snapshot),
		.heap_live_bytes = model->totals.live_bytes,
		.heap_live_blocks = model->totals.live_blocks,
		.cost_ns = snapshot->cost_ns,
		.has_access = has_access,
		.access_since_ns = has_access && since > start ? since - start : 0,
	};
	return index == report->selected ? memory_join(report, model) : 0;
}

/* One replay of the trace, in which each snapshot is visited at its time: the report's
 * figures and the join come from the same pass (the replay is most of the cost). */
static int memory_replay(struct mp_memory_report *report, char *err, size_t err_len)
{
	size_t count = report->snapshots.count;
	uint64_t *times = calloc(count, sizeof(*times));
	report->timeline = calloc(count, sizeof(*report->timeline));
	if (!times || !report->timeline) {
		free(times);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		times[i] = report->snapshots.items[i].time_ns;
	struct mp_analysis_checkpoints checkpoints = {
		.times = times, .count = count, .visit = memory_visit, .context = report,
	};
	int rc = mp_analysis_replay(&report->analysis, &checkpoints, err, err_len);
	free(times);
	return rc;
}

/* Where the process's RSS peak was: the highest VmHWM any snapshot read (the exit one
 * holds the process's, up to its exit), and the RSS watch's highest sample, which also
 * covers a process killed after its last snapshot. */
static void memory_peak(struct mp_memory_report *report)
{
	struct mp_memory_peak *peak = &report->peak;
	uint64_t start = mp_trace_header(report->analysis.trace)->start_monotonic_ns, value;
	for (size_t i = 0; i < report->snapshots.count; i++)
		if (mp_snapshot_context(&report->snapshots.items[i], MP_SNAPK_VM_HWM, &value) &&
		    value > peak->hwm) {
			peak->hwm = value;
			peak->hwm_snapshot = i;
		}
	if (report->rss.count) {
		const struct mp_rss_sample *max = &report->rss.samples[report->rss.max_index];
		peak->watched = 1;
		peak->watched_rss = max->rss;
		peak->watched_time_ns = max->time_ns > start ? max->time_ns - start : 0;
	}
	peak->snapshot_rss = memory_mapped_rss_of(mp_memory_snapshot(report));
	for (size_t i = 1; i < report->snapshots.count; i++)
		if (memory_mapped_rss_of(&report->snapshots.items[i]) >
		    memory_mapped_rss_of(&report->snapshots.items[peak->nearest]))
			peak->nearest = i;
}

/* The snapshots and the RSS series; 0, -ENOENT (no snapshot) or -ENOMEM, err filled. */
static int memory_load(struct mp_memory_report *report, char *err, size_t err_len)
{
	uint64_t bad_rss = 0;
	int rc = mp_snapshots_load(&report->snapshots, report->analysis.trace, &report->bad_records);
	if (rc == 0)
		rc = mp_rss_series_load(&report->rss, report->analysis.trace, &bad_rss);
	report->bad_records += bad_rss;
	if (rc == -ENOMEM) {
		snprintf(err, err_len, "out of memory");
	} else if (rc == 0 && report->snapshots.count == 0) {
		snprintf(err, err_len, "the trace holds no memory snapshot (taken at exit, but "
			 "not here: %s)",
			 mp_trace_no_exit_snapshot_text(mp_trace_header(report->analysis.trace)));
		rc = -ENOENT;
	}
	return rc;
}

int mp_memory_report_run(const char *path, enum mp_memory_pick pick, size_t index,
			 struct mp_memory_report *report, char *err, size_t err_len)
{
	return mp_memory_report_run_observed(path, pick, index, NULL, report, err, err_len);
}

int mp_memory_report_run_observed(const char *path, enum mp_memory_pick pick, size_t index,
				  const struct mp_analysis_observer *observer,
				  struct mp_memory_report *report, char *err, size_t err_len)
{
	memset(report, 0, sizeof(*report));
	int rc = mp_analysis_open(path, &report->analysis, MP_ANALYSIS_SYMBOLS, err, err_len);
	if (rc < 0)
		return rc;
	report->analysis.observer = observer;
	rc = memory_load(report, err, err_len);
	if (rc == 0)
		rc = memory_pick(report, pick, index, err, err_len);
	if (rc == 0) {
		memory_peak(report);
		rc = memory_replay(report, err, err_len);
	}
	if (rc < 0)
		mp_memory_report_destroy(report);
	return rc;
}

void mp_memory_report_destroy(struct mp_memory_report *report)
{
	mp_memory_result_free(&report->result);
	free(report->timeline);
	mp_snapshots_free(&report->snapshots);
	mp_rss_series_free(&report->rss);
	if (report->analysis.trace)
		mp_analysis_destroy(&report->analysis);
	memset(report, 0, sizeof(*report));
}
