/* memory.c: replaying a trace to each of its snapshots and joining the chosen one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"

const char *mp_memory_reason_name(uint32_t reason)
{
	switch (reason) {
	case MP_SNAP_EXIT:
		return "exit";
	case MP_SNAP_PEAK:
		return "peak";
	case MP_SNAP_INTERVAL:
		return "interval";
	case MP_SNAP_SIGNAL:
		return "signal";
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
		if ((pick == MP_PICK_EXIT || pick == MP_PICK_DEFAULT) &&
		    snapshot->reason == MP_SNAP_EXIT)
			found = i;
		else if (pick == MP_PICK_PEAK &&
			 (found == table->count ||
			  memory_rss_of(snapshot) > memory_rss_of(&table->items[found])))
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
		else
			snprintf(err, err_len, "no snapshot %zu (the trace has %zu)", index,
				 table->count);
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

/* The program's brk moved from old to new: growth is a region of the calling stack,
 * shrinking takes back from the top. */
static int memory_brk(struct memory_items *brks, const struct mp_event *event)
{
	uint64_t old_break = event->old_addr, new_break = event->addr;
	if (new_break > old_break)
		return memory_push(brks, old_break, new_break, event->stack_id);
	while (brks->count && brks->items[brks->count - 1].start >= new_break)
		brks->count--;
	if (brks->count && brks->items[brks->count - 1].end > new_break)
		brks->items[brks->count - 1].end = new_break;
	return 0;
}

static int memory_cmp_item(const void *left, const void *right)
{
	const struct mp_residency_item *a = left, *b = right;
	return a->start < b->start ? -1 : a->start > b->start;
}

struct memory_modules {
	const char **paths;
	size_t count;
};

static int memory_is_module(const char *path, void *context)
{
	const struct memory_modules *modules = context;
	for (size_t i = 0; i < modules->count; i++)
		if (strcmp(modules->paths[i], path) == 0)
			return 1;
	return 0;
}

/* Every path of every module map of the trace. */
static int memory_collect_modules(const struct mp_trace *trace, struct memory_modules *modules)
{
	uint32_t max_generation = 0, generation;
	for (uint32_t id = 1; id <= mp_trace_stack_count(trace); id++)
		if (mp_trace_stack(trace, id, NULL, &generation) && generation > max_generation)
			max_generation = generation;
	size_t cap = 0;
	for (uint32_t gen = 0; gen <= max_generation; gen++) {
		size_t count;
		const struct mp_module *map = mp_trace_modules(trace, gen, &count);
		for (size_t i = 0; map && i < count; i++) {
			if (memory_is_module(map[i].path, modules))
				continue;
			if (modules->count == cap) {
				cap = cap ? cap * 2 : 64;
				void *grown = realloc(modules->paths, cap * sizeof(*modules->paths));
				if (!grown)
					return -ENOMEM;
				modules->paths = grown;
			}
			modules->paths[modules->count++] = map[i].path;
		}
	}
	return 0;
}

/* The chosen snapshot against the model's state now. */
static int memory_join(struct mp_memory_report *report, const struct mp_heap_model *model,
		       const struct memory_items *brks)
{
	struct memory_items blocks = { 0 }, mmaps = { 0 };
	struct memory_modules modules = { 0 };
	const struct mp_live_blocks *live = &model->blocks;
	int rc = 0;
	for (size_t i = 0; rc == 0 && live->slots && i <= live->mask; i++)
		if (live->slots[i].addr)
			rc = memory_push(&blocks, live->slots[i].addr,
					 live->slots[i].addr + live->slots[i].size,
					 live->slots[i].stack_id);
	for (size_t i = 0; rc == 0 && i < model->mappings.count; i++)
		rc = memory_push(&mmaps, model->mappings.items[i].start,
				 model->mappings.items[i].end, model->mappings.items[i].stack_id);
	if (rc == 0)
		rc = memory_collect_modules(report->analysis.trace, &modules);
	if (rc == 0) {
		if (blocks.count)
			qsort(blocks.items, blocks.count, sizeof(*blocks.items), memory_cmp_item);
		struct mp_memory_input input = {
			.snapshot = mp_memory_snapshot(report),
			.blocks = blocks.items, .block_count = blocks.count,
			.mmaps = mmaps.items, .mmap_count = mmaps.count,
			.brks = brks->items, .brk_count = brks->count,
			.is_module = memory_is_module, .is_module_context = &modules,
			.sample_bytes = model->totals.sample_bytes,
		};
		rc = mp_memory_compute(&input, &report->result);
	}
	free(blocks.items);
	free(mmaps.items);
	free(modules.paths);
	return rc;
}

static int memory_visit(struct mp_memory_report *report, size_t index,
			const struct mp_heap_model *model, const struct memory_items *brks)
{
	const struct mp_snapshot *snapshot = &report->snapshots.items[index];
	uint64_t start = mp_trace_header(report->analysis.trace)->start_monotonic_ns;
	report->timeline[index] = (struct mp_memory_point){
		.reason = snapshot->reason,
		.complete = snapshot->complete,
		.time_ns = snapshot->time_ns > start ? snapshot->time_ns - start : 0,
		.rss = memory_rss_of(snapshot),
		.virt = memory_virt_of(snapshot),
		.heap_live_bytes = model->totals.live_bytes,
		.heap_live_blocks = model->totals.live_blocks,
		.cost_ns = snapshot->cost_ns,
	};
	return index == report->selected ? memory_join(report, model, brks) : 0;
}

/* Releases (free, munmap, a moving realloc) happen at their time before. */
static uint64_t memory_event_time(const struct mp_event *event)
{
	return event->time_before_ns ? event->time_before_ns : event->time_ns;
}

static int memory_replay(struct mp_memory_report *report)
{
	struct mp_trace *trace = report->analysis.trace;
	struct mp_heap_model model;
	struct memory_items brks = { 0 };
	struct mp_event event;
	char err[256];
	size_t next = 0, count = report->snapshots.count;
	int rc = mp_heap_model_init(&model, mp_trace_stack_count(trace),
				    mp_trace_header(trace)->page_size);
	if (rc)
		return rc;
	mp_heap_model_set_sampling(&model, mp_trace_header(trace)->sample_bytes);
	mp_trace_rewind(trace);
	while (rc == 0 && mp_trace_next(trace, &event, err, sizeof(err)) == 1) {
		uint64_t time = memory_event_time(&event);
		while (rc == 0 && next < count && report->snapshots.items[next].time_ns < time)
			rc = memory_visit(report, next++, &model, &brks);
		if (rc == 0)
			rc = mp_heap_model_feed(&model, &event);
		if (rc == 0 && event.tag == MP_REC_BRK)
			rc = memory_brk(&brks, &event);
	}
	while (rc == 0 && next < count)
		rc = memory_visit(report, next++, &model, &brks);
	mp_heap_model_destroy(&model);
	free(brks.items);
	return rc;
}

int mp_memory_report_run(const char *path, enum mp_memory_pick pick, size_t index,
			 struct mp_memory_report *report, char *err, size_t err_len)
{
	memset(report, 0, sizeof(*report));
	int rc = mp_analysis_run(path, &report->analysis, MP_ANALYSIS_SYMBOLS, err, err_len);
	if (rc < 0)
		return rc;
	rc = mp_snapshots_load(&report->snapshots, report->analysis.trace, &report->bad_records);
	if (rc == 0 && report->snapshots.count == 0) {
		snprintf(err, err_len, "the trace holds no memory snapshot (taken at exit, but "
			 "not here: %s)",
			 mp_trace_no_exit_snapshot_text(mp_trace_header(report->analysis.trace)));
		rc = -ENOENT;
	} else if (rc == 0) {
		rc = memory_pick(report, pick, index, err, err_len);
	}
	if (rc == 0) {
		report->timeline = calloc(report->snapshots.count, sizeof(*report->timeline));
		rc = report->timeline ? memory_replay(report) : -ENOMEM;
		if (rc == -ENOMEM)
			snprintf(err, err_len, "out of memory");
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
	if (report->analysis.trace)
		mp_analysis_destroy(&report->analysis);
	memset(report, 0, sizeof(*report));
}
