/* report_text.c: the human-readable `memprof report`, `leaks` and `run` summaries.
 *
 * Exact byte counts always come first; a rounded KiB/MiB figure follows in parentheses
 * for the eye. Stacks print one frame per line, innermost first, like a debugger.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* "1.5 MiB" for bytes >= 1024, else "" (the exact count is printed beside it). */
static const char *text_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double value = (double)bytes;
	size_t unit = 0;

	if (bytes < 1024) {
		buf[0] = '\0';
		return buf;
	}
	value /= 1024;
	while (value >= 1024 && unit + 1 < sizeof(units) / sizeof(units[0])) {
		value /= 1024;
		unit++;
	}
	snprintf(buf, len, " (%.1f %s)", value, units[unit]);
	return buf;
}

static double text_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* Seconds since the trace started, for an event time. */
static double text_since_start(const struct mp_analysis *analysis, uint64_t time_ns)
{
	uint64_t start = mp_trace_header(analysis->trace)->start_monotonic_ns;
	return text_seconds(time_ns > start ? time_ns - start : 0);
}

static void text_process(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	const char *exe = mp_trace_exe(analysis->trace);

	fprintf(out, "Process:      %s (pid %" PRIu32 ")", exe && *exe ? exe : "?", header->pid);
	switch (header->end_state) {
	case MP_END_EXIT:
		fprintf(out, ", exited with status %" PRId32 "\n", header->end_status);
		break;
	case MP_END_EXIT_NOW:
		fprintf(out, ", exited (_exit) with status %" PRId32 "\n", header->end_status);
		break;
	case MP_END_EXEC:
		fprintf(out, ", replaced itself by execve (the next trace continues it)\n");
		break;
	default:
		fprintf(out, "\n              did not exit normally (killed, crashed or still "
			     "running): figures cover the trace up to its last event\n");
	}
}

void mp_report_text_warnings(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *totals = &analysis->model.totals;
	if (totals->sample_bytes)
		fprintf(out, "memprof: note: trace '%s' was sampled (MEMPROF_SAMPLE_BYTES=%" PRIu64
			     "): heap counts and bytes are estimates from %" PRIu64 " sampled "
			     "allocations, each weighed by 1/(1-exp(-size/%" PRIu64 "))\n",
			analysis->path, totals->sample_bytes, totals->samples, totals->sample_bytes);
	if (!analysis->complete)
		fprintf(out, "memprof: warning: trace '%s' is incomplete (%s); the figures cover what "
			     "could be read\n", analysis->path,
			analysis->stop_reason[0] ? analysis->stop_reason : "chunks cut short");
	if (analysis->stats.dropped_events)
		fprintf(out, "memprof: warning: trace '%s': %" PRIu64 " events were dropped while "
			     "recording; figures are approximate\n", analysis->path,
			analysis->stats.dropped_events);
}

static void text_calls(FILE *out, const struct mp_heap_totals *t)
{
	fprintf(out, "Calls:        %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
		     " reallocs, %" PRIu64 " mmaps\n", t->allocations, t->frees, t->reallocs,
		t->mmaps);
	fprintf(out, "              %" PRIu64 " munmaps, %" PRIu64 " mremaps, %" PRIu64
		     " brk/sbrk, %" PRIu64 " failed\n", t->munmaps, t->mremaps, t->brks,
		t->failed_calls);
}

static void text_totals(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *t = &analysis->model.totals;
	char h[32];

	text_calls(out, t);
	fprintf(out, "Allocated:    %" PRIu64 " bytes%s in total\n", t->allocated_bytes,
		text_human(t->allocated_bytes, h, sizeof(h)));
	fprintf(out, "Peak heap:    %" PRIu64 " bytes%s in %" PRIu64 " blocks at %.6f s\n",
		t->peak_bytes, text_human(t->peak_bytes, h, sizeof(h)), t->peak_blocks,
		text_since_start(analysis, t->peak_time_ns));
	if (t->mmaps || t->mremaps)
		fprintf(out, "Peak mmap:    %" PRIu64 " bytes%s at %.6f s (%" PRIu64
			     " bytes still mapped at the end)\n", t->mmap_peak_bytes,
			text_human(t->mmap_peak_bytes, h, sizeof(h)),
			text_since_start(analysis, t->mmap_peak_time_ns), t->mmap_live_bytes);
	if (t->brks)
		fprintf(out, "Peak brk:     %" PRIu64 " bytes above the first break\n",
			t->brk_peak_bytes);
	fprintf(out, "Not freed:    %" PRIu64 " bytes%s in %" PRIu64 " blocks at the end (memprof "
		     "leaks: which are lost)\n", t->live_bytes,
		text_human(t->live_bytes, h, sizeof(h)), t->live_blocks);
	/* "No other allocation in between" cannot be seen when most allocations are not. */
	if (t->sample_bytes)
		fprintf(out, "Temporary:    not measured in a sampled trace\n");
	else
		fprintf(out, "Temporary:    %" PRIu64 " allocations (%.1f%% of allocations and "
			     "reallocs)\n", t->temporary_allocations,
			t->allocations + t->reallocs
				? 100.0 * (double)t->temporary_allocations /
					  (double)(t->allocations + t->reallocs)
				: 0.0);
}

static void text_notes(FILE *out, const struct mp_heap_totals *t)
{
	if (t->unknown_frees)
		fprintf(out, "Note: %" PRIu64 " frees/reallocs of addresses not allocated while "
			     "tracing (ignored)\n", t->unknown_frees);
	if (t->replaced_blocks)
		fprintf(out, "Note: %" PRIu64 " allocations returned an address still live in the "
			     "trace (its free was not recorded)\n", t->replaced_blocks);
	if (t->unknown_unmaps)
		fprintf(out, "Note: %" PRIu64 " munmap/mremap calls on memory the program did not "
			     "map itself\n", t->unknown_unmaps);
}

/* Prints a stack, innermost frame first, each line indented by `indent`. */
static void text_stack(FILE *out, struct mp_analysis *analysis, uint32_t stack_id, const char *indent)
{
	/* Static: 56 KiB is too much for the stack, and printing is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	char buf[128];

	if (count == 0)
		fprintf(out, "%s[no stack recorded]\n", indent);
	for (int i = 0; i < count; i++) {
		const struct mp_frame *f = &frames[i];
		fprintf(out, "%s%s", indent, mp_frame_label(f, buf, sizeof(buf)));
		if (f->file)
			fprintf(out, " at %s:%" PRIu32, f->file, f->line);
		if (f->module && f->function)
			fprintf(out, " in %s", f->module);
		fprintf(out, "%s\n", f->inlined ? " (inlined)" : "");
	}
}

static void text_top_entry(FILE *out, const struct mp_stack_agg *agg, enum mp_stack_metric metric)
{
	switch (metric) {
	case MP_METRIC_ALLOCATED:
	case MP_METRIC_CALLS:
		fprintf(out, "%" PRIu64 " bytes in %" PRIu64 " allocations, %" PRIu64 " calls\n",
			agg->allocated_bytes, agg->allocations, agg->calls);
		break;
	case MP_METRIC_PEAK:
		fprintf(out, "%" PRIu64 " bytes in %" PRIu64 " blocks live at the peak\n",
			agg->peak_bytes, agg->peak_blocks);
		break;
	case MP_METRIC_LEAKED:
		fprintf(out, "%" PRIu64 " bytes in %" PRIu64 " blocks leaked\n", agg->live_bytes,
			agg->live_blocks);
		break;
	}
}

static void text_top(FILE *out, struct mp_analysis *analysis, enum mp_stack_metric metric,
		     const char *title)
{
	struct mp_stack_stats *stacks = &analysis->model.stacks;
	uint32_t ids[MP_REPORT_TOP];
	size_t count = mp_stack_stats_top(stacks, metric, ids, MP_REPORT_TOP);

	fprintf(out, "\n%s:\n", title);
	if (count == 0)
		fprintf(out, "  (none)\n");
	for (size_t i = 0; i < count; i++) {
		fprintf(out, "%3zu. ", i + 1);
		text_top_entry(out, &stacks->aggs[ids[i]], metric);
		text_stack(out, analysis, ids[i], "       ");
	}
}

static void text_sampling(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *t = &analysis->model.totals;
	uint32_t window_ms = mp_trace_header(analysis->trace)->sample_window_ms;
	if (!t->sample_bytes)
		return;
	fprintf(out, "Sampling:     every %" PRIu64 " bytes on average; heap figures below are "
		     "estimates from %" PRIu64 " samples\n", t->sample_bytes, t->samples);
	if (window_ms)
		fprintf(out, "              %" PRIu64 " of them freed within %" PRIu32 " ms, counted "
			     "per stack; the peak is the writer's live estimate\n",
			t->window_samples, window_ms);
	if (t->pending_samples)
		fprintf(out, "              %" PRIu64 " still pending when the process ended, read "
			     "from its sampled set\n", t->pending_samples);
}

void mp_report_text(FILE *out, struct mp_analysis *analysis)
{
	fprintf(out, "memprof report for '%s'%s\n", analysis->path,
		analysis->complete ? "" : " (INCOMPLETE: the trace was cut or corrupt)");
	text_process(out, analysis);
	fprintf(out, "Run time:     %.6f s\n", text_seconds(analysis->run_time_ns));
	text_sampling(out, analysis);
	text_totals(out, analysis);
	text_notes(out, &analysis->model.totals);
	text_top(out, analysis, MP_METRIC_PEAK, "Stacks live at the peak (top 10)");
	text_top(out, analysis, MP_METRIC_ALLOCATED, "Top 10 stacks by bytes allocated");
	text_top(out, analysis, MP_METRIC_CALLS, "Top 10 stacks by calls");
	text_top(out, analysis, MP_METRIC_LEAKED, "Top 10 stacks by bytes leaked");
}

void mp_report_text_summary(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *t = &analysis->model.totals;
	char h[32];

	fprintf(out, "memprof: calls: %" PRIu64 " allocations, %" PRIu64 " frees, %" PRIu64
		     " reallocs, %" PRIu64 " mmaps\n", t->allocations, t->frees, t->reallocs,
		t->mmaps);
	fprintf(out, "memprof: bytes: %" PRIu64 " allocated, peak heap %" PRIu64 "%s\n",
		t->allocated_bytes, t->peak_bytes, text_human(t->peak_bytes, h, sizeof(h)));
	fprintf(out, "memprof: not freed at exit: %" PRIu64 " bytes in %" PRIu64 " blocks (memprof "
		     "leaks: which are lost)\n", t->live_bytes,
		t->live_blocks);
}

static void text_tally(FILE *out, const char *label, const struct mp_leak_tally *tally,
		       const char *note)
{
	char h[32];
	fprintf(out, "  %-16s %" PRIu64 " bytes%s in %" PRIu64 " blocks%s\n", label, tally->bytes,
		text_human(tally->bytes, h, sizeof(h)), tally->blocks, note);
}

/* When the check ran: "at exit", "on signal USR1 at 1.234 s", "as the process died of
 * signal TERM". */
static const char *text_check_when(const struct mp_analysis *analysis,
				   const struct mp_leak_kinds *kinds, char *buf, size_t len)
{
	const char *name = kinds->signal ? sigabbrev_np((int)kinds->signal) : NULL;
	char sig[32];
	snprintf(sig, sizeof(sig), "%s%u", name ? "" : "#", kinds->signal);
	if (name)
		snprintf(sig, sizeof(sig), "%s", name);
	uint64_t start = mp_trace_header(analysis->trace)->start_monotonic_ns;
	switch (kinds->reason) {
	case MP_LEAK_CHECK_SIGNAL:
		snprintf(buf, len, "on signal %s at %.3f s", sig,
			 (double)(kinds->time_ns > start ? kinds->time_ns - start : 0) / 1e9);
		break;
	case MP_LEAK_CHECK_FATAL_SIGNAL:
		snprintf(buf, len, "as the process died of signal %s", sig);
		break;
	default:
		snprintf(buf, len, "at exit");
	}
	return buf;
}

/* The per-kind summary, what the scan did, and what the suppressions hid. */
static void text_leak_summary(FILE *out, const struct mp_analysis *analysis,
			      const struct mp_leak_list *list, int show_reachable)
{
	const struct mp_leak_kinds *kinds = &list->kinds;
	char h[32], h2[32], when[96], which[96] = "", threads[96] = "";

	if (kinds->state == MP_LEAK_SCAN_DONE) {
		text_tally(out, "definitely lost:", &list->by_kind[MP_LEAK_KIND_DEFINITE], "");
		text_tally(out, "indirectly lost:", &list->by_kind[MP_LEAK_KIND_INDIRECT], "");
		text_tally(out, "possibly lost:", &list->by_kind[MP_LEAK_KIND_POSSIBLE], "");
		text_tally(out, "still reachable:", &list->by_kind[MP_LEAK_KIND_REACHABLE],
			   show_reachable ? "" : " (listed with --show-reachable)");
		if (list->by_kind[MP_LEAK_KIND_UNKNOWN].blocks)
			text_tally(out, "unknown:", &list->by_kind[MP_LEAK_KIND_UNKNOWN],
				   " (allocated after the check)");
		if (kinds->checks > 1)
			snprintf(which, sizeof(which), " (check %zu of %zu; --check N for another)",
				 kinds->index, kinds->checks);
		if (kinds->not_stopped)
			snprintf(threads, sizeof(threads),
				 "; %u other threads kept running during the scan", kinds->not_stopped);
		fprintf(out, "  Reachability scanned %s in %.3f ms: %" PRIu64 " bytes%s of roots, %"
			     PRIu64 " bytes%s of blocks%s%s\n",
			text_check_when(analysis, kinds, when, sizeof(when)),
			(double)kinds->scan_ns / 1e6, kinds->root_bytes,
			text_human(kinds->root_bytes, h, sizeof(h)), kinds->block_bytes,
			text_human(kinds->block_bytes, h2, sizeof(h2)), threads, which);
	} else if (kinds->state == MP_LEAK_SCAN_FAILED && kinds->status == E2BIG) {
		fprintf(out, "  No leak kinds: the exit scan was skipped, the heap needing more "
			     "memory to scan than MEMPROF_LEAK_CHECK_MAX_MB allowed; every unfreed "
			     "block is listed\n");
	} else if (kinds->state == MP_LEAK_SCAN_FAILED) {
		fprintf(out, "  No leak kinds: the exit scan failed (%s); every unfreed block is "
			     "listed\n", strerror((int)kinds->status));
	} else {
		fprintf(out, "  No leak kinds in this trace (MEMPROF_LEAK_CHECK=0, or the process ended "
			     "by _exit, exec or SIGKILL); every unfreed block is listed\n");
	}
	if (!list->supp || !list->supp->count)
		return;
	text_tally(out, "suppressed:", &list->suppressed, "");
	for (size_t i = 0; i < list->supp->count; i++) {
		const struct mp_supp_rule *rule = &list->supp->rules[i];
		const struct mp_leak_tally *tally = &list->by_rule[i];
		if (tally->entries)
			fprintf(out, "    %" PRIu64 " leaks, %" PRIu64 " bytes in %" PRIu64
				     " blocks by '%s' (%s:%" PRIu32 ")\n", tally->entries,
				tally->bytes, tally->blocks, rule->text, rule->file, rule->line);
	}
}

static const char *text_kind_words(unsigned kind)
{
	switch (kind) {
	case MP_LEAK_KIND_DEFINITE:
		return " definitely lost";
	case MP_LEAK_KIND_INDIRECT:
		return " indirectly lost";
	case MP_LEAK_KIND_POSSIBLE:
		return " possibly lost";
	case MP_LEAK_KIND_REACHABLE:
		return " still reachable";
	default:
		return "";
	}
}

void mp_leaks_text(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list,
		   unsigned shown)
{
	uint64_t bytes = 0, blocks = 0;
	size_t listed = 0;
	char h[32];

	for (size_t i = 0; i < list->count; i++) {
		const struct mp_leak_entry *entry = &list->entries[i];
		if (entry->rule >= 0 || !(shown & (1u << entry->kind)))
			continue;
		bytes += entry->bytes;
		blocks += entry->blocks;
		listed++;
	}
	fprintf(out, "memprof leaks for '%s'%s: %" PRIu64 " bytes%s in %" PRIu64 " blocks from %zu stacks\n",
		analysis->path, analysis->complete ? "" : " (INCOMPLETE)", bytes,
		text_human(bytes, h, sizeof(h)), blocks, listed);
	text_leak_summary(out, analysis, list, (shown >> MP_LEAK_KIND_REACHABLE) & 1);
	for (size_t i = 0; i < list->count; i++) {
		const struct mp_leak_entry *entry = &list->entries[i];
		if (entry->rule >= 0 || !(shown & (1u << entry->kind)))
			continue;
		fprintf(out, "\n%" PRIu64 " bytes in %" PRIu64 " blocks%s\n", entry->bytes,
			entry->blocks, text_kind_words(entry->kind));
		text_stack(out, analysis, entry->stack_id, "    ");
	}
}
