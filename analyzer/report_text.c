/* report_text.c: the human-readable `memprof report`, and the pieces every text shares.
 *
 * Exact figures come first, with thousands separators, and a byte figure of 1 KiB or more
 * adds its rounded unit in parentheses (text_format.h). Call stacks print one frame per
 * line, innermost first, like a debugger.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "text_format.h"
#include "text_stack.h"
#include "trace_family.h"

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

/* ", replaced itself by execve: continued in 'NEXT'", naming the trace that goes on. */
static void text_exec_end(FILE *out, const struct mp_analysis *analysis)
{
	struct mp_trace_peek peek;
	char next[4096];

	mp_trace_peek_header(mp_trace_header(analysis->trace), mp_trace_exe(analysis->trace), &peek);
	if (mp_trace_exec_successor(analysis->path, &peek, next, sizeof(next)) == 0)
		fprintf(out, ", replaced itself by execve: continued in '%s'\n", next);
	else
		fprintf(out, ", replaced itself by execve (no trace continuing it was found "
			     "beside this one)\n");
}

static void text_process(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	const char *exe = mp_trace_exe(analysis->trace);
	char name[MP_FMT_LEN];

	fprintf(out, "Process:      %s (pid %" PRIu32 ", parent %" PRIu32 ")", exe && *exe ? exe : "?",
		header->pid, header->ppid);
	switch (header->end_state) {
	case MP_END_EXIT:
		fprintf(out, ", exited with status %" PRId32 "\n", header->end_status);
		break;
	case MP_END_EXIT_NOW:
		fprintf(out, ", exited (_exit) with status %" PRId32 "\n", header->end_status);
		break;
	case MP_END_EXEC:
		text_exec_end(out, analysis);
		break;
	case MP_END_SIGNAL:
		fprintf(out, ", killed by %s (signal %" PRId32 ", which it did not handle)\n",
			mp_fmt_signal(name, sizeof(name), header->end_status), header->end_status);
		break;
	default:
		fprintf(out, "\n              did not exit normally (killed, crashed or still "
			     "running): figures cover the trace up to its last event\n");
	}
}

void mp_report_text_warnings(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *totals = &analysis->model.totals;
	char count[MP_FMT_LEN];

	if (totals->sample_bytes)
		fprintf(out, "memprof: note: trace '%s' was sampled (MEMPROF_SAMPLE_BYTES=%" PRIu64
			     "): heap counts and bytes are estimates from %s, each weighed by "
			     "1/(1-exp(-size/%" PRIu64 "))\n", analysis->path, totals->sample_bytes,
			mp_fmt_counted(count, sizeof(count), totals->samples, "sampled allocation",
				       "sampled allocations"), totals->sample_bytes);
	mp_report_text_problems(out, analysis);
}

void mp_report_text_problems(FILE *out, const struct mp_analysis *analysis)
{
	char count[MP_FMT_LEN];

	if (mp_trace_header(analysis->trace)->flags & MP_TRACE_FOREIGN_MALLOC)
		fprintf(out, "memprof: warning: trace '%s': the program's malloc was not memprof's "
			     "(another allocator came first in symbol lookup): no allocation, free "
			     "or leak of the heap is in this trace\n", analysis->path);
	if (!analysis->complete)
		fprintf(out, "memprof: warning: trace '%s' is incomplete (%s); the figures cover what "
			     "could be read\n", analysis->path, analysis->stop_reason);
	if (analysis->stats.dropped_events)
		fprintf(out, "memprof: warning: trace '%s': %s dropped while recording; figures "
			     "are approximate\n", analysis->path,
			mp_fmt_counted(count, sizeof(count), analysis->stats.dropped_events,
				       "event was", "events were"));
	if (mp_trace_header(analysis->trace)->flags & MP_TRACE_THREAD_STOPPED)
		fprintf(out, "memprof: warning: trace '%s': a signal handler jumped out of memprof's "
			     "code where it could not be resumed, and that thread recorded nothing "
			     "after it; figures are approximate\n", analysis->path);
}

static void text_calls(FILE *out, const struct mp_heap_totals *t)
{
	char a[MP_FMT_LEN], b[MP_FMT_LEN], c[MP_FMT_LEN], d[MP_FMT_LEN];

	fprintf(out, "Calls:        %s, %s, %s, %s\n",
		mp_fmt_counted(a, sizeof(a), t->allocations, "allocation", "allocations"),
		mp_fmt_counted(b, sizeof(b), t->frees, "free", "frees"),
		mp_fmt_counted(c, sizeof(c), t->reallocs, "realloc", "reallocs"),
		mp_fmt_counted(d, sizeof(d), t->mmaps, "mmap", "mmaps"));
	fprintf(out, "              %s, %s, %s brk/sbrk, %s failed\n",
		mp_fmt_counted(a, sizeof(a), t->munmaps, "munmap", "munmaps"),
		mp_fmt_counted(b, sizeof(b), t->mremaps, "mremap", "mremaps"),
		mp_fmt_count(c, sizeof(c), t->brks), mp_fmt_count(d, sizeof(d), t->failed_calls));
}

/* Not freed, then leaked: the second is the part of the first that is lost. */
static void text_unfreed(FILE *out, const struct mp_heap_totals *t, const struct mp_leak_list *list)
{
	char bytes[MP_FMT_LEN], blocks[MP_FMT_LEN], meaning[256];

	fprintf(out, "Not freed:    %s in %s at the end\n", mp_fmt_bytes(bytes, sizeof(bytes), t->live_bytes),
		mp_fmt_counted(blocks, sizeof(blocks), t->live_blocks, "block", "blocks"));
	fprintf(out, "Leaked:       %s in %s: %s", mp_fmt_bytes(bytes, sizeof(bytes), list->leaked.bytes),
		mp_fmt_counted(blocks, sizeof(blocks), list->leaked.blocks, "block", "blocks"),
		mp_leaks_meaning(list, meaning, sizeof(meaning)));
	if (list->suppressed.blocks)
		fprintf(out, "; %s more suppressed", mp_fmt_bytes(bytes, sizeof(bytes), list->suppressed.bytes));
	fprintf(out, " (memprof leaks lists them)\n");
}

static void text_peaks(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *t = &analysis->model.totals;
	char a[MP_FMT_LEN], b[MP_FMT_LEN];

	fprintf(out, "Peak heap:    %s in %s at %.6f s\n", mp_fmt_bytes(a, sizeof(a), t->peak_bytes),
		mp_fmt_counted(b, sizeof(b), t->peak_blocks, "block", "blocks"),
		text_since_start(analysis, t->peak_time_ns));
	if (t->mmaps || t->mremaps) {
		fprintf(out, "Peak mmap:    %s at %.6f s; %s still mapped at the end\n",
			mp_fmt_bytes(a, sizeof(a), t->mmap_peak_bytes),
			text_since_start(analysis, t->mmap_peak_time_ns),
			mp_fmt_bytes(b, sizeof(b), t->mmap_live_bytes));
		/* A runtime's reservations (a JavaScript engine's, a JVM's) can be nearly all
		 * of it: address space, which it opens part by part with mprotect. */
		if (t->mmap_peak_reserved_bytes || t->mmap_live_reserved_bytes)
			fprintf(out, "              mapped PROT_NONE (reserved address space, which "
				"mprotect may open later: not traced):\n"
				"              %s of the peak, %s at the end\n",
				mp_fmt_bytes(a, sizeof(a), t->mmap_peak_reserved_bytes),
				mp_fmt_bytes(b, sizeof(b), t->mmap_live_reserved_bytes));
	}
	if (t->brks)
		fprintf(out, "Peak brk:     %s above the first break\n",
			mp_fmt_bytes(a, sizeof(a), t->brk_peak_bytes));
}

static void text_totals(FILE *out, const struct mp_analysis *analysis, const struct mp_leak_list *list)
{
	const struct mp_heap_totals *t = &analysis->model.totals;
	char a[MP_FMT_LEN];

	text_calls(out, t);
	fprintf(out, "Allocated:    %s in total\n", mp_fmt_bytes(a, sizeof(a), t->allocated_bytes));
	text_peaks(out, analysis);
	text_unfreed(out, t, list);
	/* "No other allocation in between" cannot be seen when most allocations are not. */
	if (t->sample_bytes)
		fprintf(out, "Temporary:    not measured in a sampled trace\n");
	else
		fprintf(out, "Temporary:    %s (%.1f%% of allocations and reallocs)\n",
			mp_fmt_counted(a, sizeof(a), t->temporary_allocations, "allocation", "allocations"),
			t->allocations + t->reallocs
				? 100.0 * (double)t->temporary_allocations /
					  (double)(t->allocations + t->reallocs)
				: 0.0);
}

static void text_notes(FILE *out, const struct mp_heap_totals *t, uint32_t trace_flags)
{
	char a[MP_FMT_LEN];

	/* A fork child frees what its parent allocated before the fork: said as such. */
	if (t->unknown_frees)
		fprintf(out, "Note: %s not allocated while tracing (ignored)%s\n",
			mp_fmt_counted(a, sizeof(a), t->unknown_frees, "free/realloc of an address",
				       "frees/reallocs of addresses"),
			trace_flags & MP_TRACE_FORKED
				? ": this process is a fork child, and blocks allocated before the "
				  "fork are in its parent's trace"
				: "");
	if (t->replaced_blocks)
		fprintf(out, "Note: %s an address still live in the trace (its free was not "
			     "recorded)\n", mp_fmt_counted(a, sizeof(a), t->replaced_blocks,
							   "allocation returned", "allocations returned"));
	if (t->unknown_unmaps)
		fprintf(out, "Note: %s on memory the program did not map itself\n",
			mp_fmt_counted(a, sizeof(a), t->unknown_unmaps, "munmap/mremap call",
				       "munmap/mremap calls"));
}

static void text_top_entry(FILE *out, const struct mp_stack_agg *agg, enum mp_stack_metric metric)
{
	char a[MP_FMT_LEN], b[MP_FMT_LEN], c[MP_FMT_LEN];

	switch (metric) {
	case MP_METRIC_ALLOCATED:
	case MP_METRIC_CALLS:
		fprintf(out, "%s in %s, %s\n", mp_fmt_bytes(a, sizeof(a), agg->allocated_bytes),
			mp_fmt_counted(b, sizeof(b), agg->allocations, "allocation", "allocations"),
			mp_fmt_counted(c, sizeof(c), agg->calls, "call", "calls"));
		break;
	case MP_METRIC_PEAK:
		fprintf(out, "%s in %s live at the peak\n", mp_fmt_bytes(a, sizeof(a), agg->peak_bytes),
			mp_fmt_counted(b, sizeof(b), agg->peak_blocks, "block", "blocks"));
		break;
	case MP_METRIC_UNFREED:
		fprintf(out, "%s in %s not freed\n", mp_fmt_bytes(a, sizeof(a), agg->live_bytes),
			mp_fmt_counted(b, sizeof(b), agg->live_blocks, "block", "blocks"));
		break;
	case MP_METRIC_LEAKED:
		fprintf(out, "%s in %s leaked\n", mp_fmt_bytes(a, sizeof(a), agg->leaked_bytes),
			mp_fmt_counted(b, sizeof(b), agg->leaked_blocks, "block", "blocks"));
		break;
	}
}

static void text_top(FILE *out, struct mp_analysis *analysis, const struct mp_report_options *opts,
		     enum mp_stack_metric metric, const char *title)
{
	struct mp_stack_stats *stacks = &analysis->model.stacks;
	uint32_t count = mp_stack_stats_count(stacks);
	uint32_t *ids = malloc((count ? count : 1) * sizeof(*ids));
	size_t ranked = ids ? mp_stack_stats_top(stacks, metric, ids, count) : 0;
	size_t shown = opts->top && opts->top < ranked ? opts->top : ranked;
	char more[MP_FMT_LEN], top[MP_FMT_LEN];

	if (opts->top)
		fprintf(out, "\n%s (top %s):\n", title, mp_fmt_count(top, sizeof(top), opts->top));
	else
		fprintf(out, "\n%s (all):\n", title);
	if (ranked == 0)
		fprintf(out, "  (none)\n");
	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "%3zu. ", i + 1);
		text_top_entry(out, &stacks->aggs[ids[i]], metric);
		mp_text_stack_print(out, analysis, ids[i], "       ", opts->long_names);
	}
	if (shown < ranked)
		fprintf(out, "  %s\n", mp_fmt_more(more, sizeof(more), shown, ranked));
	free(ids);
}

static void text_sampling(FILE *out, const struct mp_analysis *analysis)
{
	const struct mp_heap_totals *t = &analysis->model.totals;
	uint32_t window_ms = mp_trace_header(analysis->trace)->sample_window_ms;
	char a[MP_FMT_LEN], b[MP_FMT_LEN];

	if (!t->sample_bytes)
		return;
	fprintf(out, "Sampling:     every %s on average; heap figures below are estimates from %s\n",
		mp_fmt_bytes(a, sizeof(a), t->sample_bytes),
		mp_fmt_counted(b, sizeof(b), t->samples, "sample", "samples"));
	if (window_ms)
		fprintf(out, "              %s of them freed within %" PRIu32 " ms, counted per "
			     "call stack; the peak is the writer's live estimate\n",
			mp_fmt_count(a, sizeof(a), t->window_samples), window_ms);
	if (t->pending_samples)
		fprintf(out, "              %s still pending when the process ended, read from "
			     "its sampled set\n", mp_fmt_count(a, sizeof(a), t->pending_samples));
}

void mp_report_text(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list,
		    const struct mp_report_options *opts)
{
	if (analysis->complete)
		fprintf(out, "memprof report for '%s'\n", analysis->path);
	else
		fprintf(out, "memprof report for '%s' (INCOMPLETE: %s)\n", analysis->path,
			analysis->stop_reason);
	text_process(out, analysis);
	fprintf(out, "Run time:     %.6f s\n", text_seconds(analysis->run_time_ns));
	text_sampling(out, analysis);
	text_totals(out, analysis, list);
	text_notes(out, &analysis->model.totals, mp_trace_header(analysis->trace)->flags);
	text_top(out, analysis, opts, MP_METRIC_PEAK, "Call stacks live at the peak");
	text_top(out, analysis, opts, MP_METRIC_ALLOCATED, "Call stacks by bytes allocated");
	text_top(out, analysis, opts, MP_METRIC_CALLS, "Call stacks by calls");
	text_top(out, analysis, opts, MP_METRIC_UNFREED, "Call stacks by bytes not freed");
	text_top(out, analysis, opts, MP_METRIC_LEAKED, "Call stacks by bytes leaked");
}
