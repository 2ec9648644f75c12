/* html_tables.c: the sections of memprof html's page that read without JavaScript.
 *
 * The headline figures of `memprof report`, its top stacks, the leak summary and list of
 * `memprof leaks` and the view of `memprof memory`, as tables; each rounded figure has
 * its exact value as a title. In a differential page, both traces' totals side by side.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "html_page.h"
#include "report.h"
#include "report_memory.h"

/* Rows listed per table. */
#define HTML_TOP 10
#define HTML_LEAKS 25

static double html_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static uint64_t html_since_start(const struct mp_analysis *analysis, uint64_t time_ns)
{
	uint64_t start = mp_trace_header(analysis->trace)->start_monotonic_ns;
	return time_ns > start ? time_ns - start : 0;
}

/* <tr><th>label</th><td class="n">bytes</td>...: one row per figure of both traces. */
static void html_row_bytes(FILE *out, const char *label, const uint64_t *values, int sides,
			   const char *note)
{
	fprintf(out, "<tr><th>%s</th>", label);
	for (int s = 0; s < sides; s++) {
		fputs("<td class=\"n\">", out);
		mp_html_bytes(out, values[s]);
		fputs("</td>", out);
	}
	if (sides == 2) {
		fputs("<td class=\"n\">", out);
		mp_html_bytes_change(out, values[1], values[0]);
		fputs("</td>", out);
	}
	fprintf(out, "<td>%s</td></tr>\n", note);
}

static void html_row_count(FILE *out, const char *label, const uint64_t *values, int sides,
			   const char *note)
{
	fprintf(out, "<tr><th>%s</th>", label);
	for (int s = 0; s < sides; s++) {
		fputs("<td class=\"n\">", out);
		mp_html_count(out, values[s]);
		fputs("</td>", out);
	}
	if (sides == 2)
		fprintf(out, "<td class=\"n %s\">%s%" PRId64 "</td>",
			values[0] > values[1] ? "grow" : values[0] < values[1] ? "shrink" : "",
			values[0] > values[1] ? "+" : "", (int64_t)(values[0] - values[1]));
	fprintf(out, "<td>%s</td></tr>\n", note);
}

static const struct mp_heap_totals *html_totals(const struct mp_html_page *page, int side)
{
	return &page->sides[side].memory.analysis.model.totals;
}

static uint64_t html_lost(const struct mp_leak_list *list, uint64_t *blocks)
{
	uint64_t bytes = 0;
	*blocks = 0;
	for (unsigned kind = 0; kind < MP_LEAK_KINDS; kind++)
		if (MP_LEAK_DEFAULT_SHOWN & (1u << kind)) {
			bytes += list->by_kind[kind].bytes;
			*blocks += list->by_kind[kind].blocks;
		}
	return bytes;
}

/* A figure of the heap model's totals, for the headline table. */
struct html_figure {
	const char *label;
	size_t offset;   /* in struct mp_heap_totals */
	int bytes;       /* 1: bytes, 0: a count */
	const char *note;
};

static const struct html_figure html_calls_figures[] = {
	{ "Allocations", offsetof(struct mp_heap_totals, allocations), 0,
	  "malloc-family calls, realloc(NULL, n) included" },
	{ "Frees", offsetof(struct mp_heap_totals, frees), 0, "" },
	{ "Reallocs", offsetof(struct mp_heap_totals, reallocs), 0, "" },
	{ "mmaps", offsetof(struct mp_heap_totals, mmaps), 0, "" },
	{ "Allocated", offsetof(struct mp_heap_totals, allocated_bytes), 1, "in total over the run" },
	{ "Peak heap", offsetof(struct mp_heap_totals, peak_bytes), 1,
	  "live at the heap's highest point" },
	{ "Not freed", offsetof(struct mp_heap_totals, live_bytes), 1,
	  "unfreed at the end: lost, or still reachable" },
};

static const struct html_figure html_later_figures[] = {
	{ "Temporary", offsetof(struct mp_heap_totals, temporary_allocations), 0,
	  "allocations freed before their thread allocated again" },
	{ "Peak mmap", offsetof(struct mp_heap_totals, mmap_peak_bytes), 1,
	  "bytes the program mapped itself, at their peak" },
	{ "Reserved then", offsetof(struct mp_heap_totals, mmap_peak_reserved_bytes), 1,
	  "of those, mapped PROT_NONE: address space reserved, which mprotect may open later "
	  "(not traced)" },
};

static void html_figure_rows(FILE *out, const struct mp_html_page *page,
			     const struct html_figure *figures, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t values[2] = { 0, 0 };
		for (int s = 0; s < page->side_count; s++)
			memcpy(&values[s], (const char *)html_totals(page, s) + figures[i].offset,
			       sizeof(values[s]));
		if (figures[i].bytes)
			html_row_bytes(out, figures[i].label, values, page->side_count, figures[i].note);
		else
			html_row_count(out, figures[i].label, values, page->side_count, figures[i].note);
	}
}

void mp_html_summary(FILE *out, const struct mp_html_page *page)
{
	uint64_t lost[2] = { 0, 0 };
	fputs("<table id=\"figures\"><tr><th>Figure</th>", out);
	fputs(page->side_count == 2 ? "<th class=\"n\">New</th><th class=\"n\">Base</th>"
				      "<th class=\"n\">Change</th>" : "<th class=\"n\">Value</th>", out);
	fputs("<th>Notes</th></tr>\n", out);
	html_figure_rows(out, page, html_calls_figures,
			 sizeof(html_calls_figures) / sizeof(html_calls_figures[0]));
	for (int s = 0; s < page->side_count; s++) {
		uint64_t blocks;
		lost[s] = html_lost(&page->sides[s].leaks, &blocks);
	}
	html_row_bytes(out, "Leaked", lost, page->side_count,
		       "lost blocks (definitely, indirectly, possibly), suppressions applied");
	html_figure_rows(out, page, html_later_figures,
			 sizeof(html_later_figures) / sizeof(html_later_figures[0]));
	fputs("</table>\n", out);
	const struct mp_analysis *analysis = &page->sides[0].memory.analysis;
	fprintf(out, "<p class=\"note\">Heap peak at %.6f s; run time %.6f s.%s</p>\n",
		html_seconds(html_since_start(analysis, html_totals(page, 0)->peak_time_ns)),
		html_seconds(analysis->run_time_ns),
		html_totals(page, 0)->sample_bytes ? " Sampled trace: heap figures are estimates; "
						     "temporaries are not measured." : "");
}

static void html_top(FILE *out, struct mp_analysis *analysis, enum mp_stack_metric metric,
		     const char *title, const char *id)
{
	const struct mp_stack_stats *stats = &analysis->model.stacks;
	uint32_t ids[HTML_TOP];
	size_t count = mp_stack_stats_top(stats, metric, ids, HTML_TOP);
	fprintf(out, "<h3>%s</h3>\n<table id=\"%s\"><tr><th class=\"n\">#</th><th class=\"n\">Bytes"
		"</th><th class=\"n\">Blocks</th><th class=\"n\">Calls</th><th>Stack</th></tr>\n",
		title, id);
	for (size_t i = 0; i < count; i++) {
		const struct mp_stack_agg *agg = &stats->aggs[ids[i]];
		uint64_t bytes = metric == MP_METRIC_PEAK ? agg->peak_bytes : agg->allocated_bytes;
		uint64_t blocks = metric == MP_METRIC_PEAK ? agg->peak_blocks : agg->allocations;
		fprintf(out, "<tr><td class=\"n\">%zu</td><td class=\"n\">", i + 1);
		mp_html_bytes(out, bytes);
		fputs("</td><td class=\"n\">", out);
		mp_html_count(out, blocks);
		fputs("</td><td class=\"n\">", out);
		mp_html_count(out, agg->calls);
		fputs("</td><td>", out);
		mp_html_stack(out, analysis, ids[i]);
		fputs("</td></tr>\n", out);
	}
	if (count == 0)
		fputs("<tr><td colspan=\"5\">(none)</td></tr>\n", out);
	fputs("</table>\n", out);
}

void mp_html_top_stacks(FILE *out, const struct mp_html_page *page)
{
	struct mp_analysis *analysis = &page->sides[0].memory.analysis;
	html_top(out, analysis, MP_METRIC_PEAK, "Stacks live at the heap peak", "top-peak");
	html_top(out, analysis, MP_METRIC_ALLOCATED, "Stacks by bytes allocated", "top-allocated");
	html_top(out, analysis, MP_METRIC_CALLS, "Stacks by calls", "top-calls");
}

static void html_tally(FILE *out, const char *label, const struct mp_leak_tally *tally,
		       const char *note)
{
	fprintf(out, "<tr><th>%s</th><td class=\"n\">", label);
	mp_html_bytes(out, tally->bytes);
	fputs("</td><td class=\"n\">", out);
	mp_html_count(out, tally->blocks);
	fprintf(out, "</td><td class=\"n\">%" PRIu64 "</td><td>%s</td></tr>\n", tally->entries, note);
}

static void html_leak_kinds(FILE *out, const struct mp_leak_list *list)
{
	const struct mp_leak_kinds *kinds = &list->kinds;
	char meaning[256];
	if (kinds->state != MP_LEAK_SCAN_DONE) {
		fputs("<p class=\"warn\">No leak kinds in this trace: ", out);
		mp_html_escape(out, mp_leaks_meaning(list, meaning, sizeof(meaning)));
		fputs(".</p>\n", out);
	}
	fputs("<table id=\"leak-kinds\"><tr><th>Kind</th><th class=\"n\">Bytes</th><th class=\"n\">"
	      "Blocks</th><th class=\"n\">Stacks</th><th>Notes</th></tr>\n", out);
	html_tally(out, "definitely lost", &list->by_kind[MP_LEAK_KIND_DEFINITE],
		   "no pointer to the block anywhere");
	html_tally(out, "indirectly lost", &list->by_kind[MP_LEAK_KIND_INDIRECT],
		   "pointed to only from lost blocks");
	html_tally(out, "possibly lost", &list->by_kind[MP_LEAK_KIND_POSSIBLE],
		   "pointed to only inside, not at its start");
	html_tally(out, "still reachable", &list->by_kind[MP_LEAK_KIND_REACHABLE],
		   "still pointed to at exit (not listed below)");
	if (list->by_kind[MP_LEAK_KIND_UNKNOWN].blocks)
		html_tally(out, "unknown", &list->by_kind[MP_LEAK_KIND_UNKNOWN],
			   kinds->state == MP_LEAK_SCAN_DONE ? "allocated after the exit scan" : "no scan");
	html_tally(out, "suppressed", &list->suppressed, "hidden by suppression rules");
	fputs("</table>\n", out);
	if (kinds->state == MP_LEAK_SCAN_DONE)
		fprintf(out, "<p class=\"note\">Reachability scanned at exit in %.3f ms.</p>\n",
			(double)kinds->scan_ns / 1e6);
	if (kinds->state == MP_LEAK_SCAN_DONE && kinds->heuristic_blocks) {
		fputs("<p class=\"note\" id=\"leak-heuristics\">Of what is still reachable, ", out);
		mp_html_bytes(out, kinds->heuristic_bytes);
		fprintf(out, " in %" PRIu64 " %s only by memcheck's heuristics (C++ "
			     "<code>new[]</code> arrays, base class pointers, ...; "
			     "<code>MEMPROF_LEAK_HEURISTICS=none</code> to do without).</p>\n",
			kinds->heuristic_blocks, kinds->heuristic_blocks == 1 ? "block" : "blocks");
	}
}

static void html_suppressions(FILE *out, const struct mp_leak_list *list)
{
	if (!list->supp || !list->supp->count)
		return;
	fputs("<table id=\"suppressions\"><tr><th>Rule</th><th>From</th><th class=\"n\">Bytes</th>"
	      "<th class=\"n\">Blocks</th></tr>\n", out);
	for (size_t i = 0; i < list->supp->count; i++) {
		const struct mp_supp_rule *rule = &list->supp->rules[i];
		fputs("<tr><td>", out);
		mp_html_escape(out, rule->text);
		fputs("</td><td>", out);
		mp_html_escape(out, rule->file);
		fprintf(out, ":%" PRIu32 "</td><td class=\"n\">", rule->line);
		mp_html_bytes(out, list->by_rule[i].bytes);
		fputs("</td><td class=\"n\">", out);
		mp_html_count(out, list->by_rule[i].blocks);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

void mp_html_leaks(FILE *out, const struct mp_html_page *page)
{
	struct mp_html_side *side = &page->sides[0];
	const struct mp_leak_list *list = &side->leaks;
	html_leak_kinds(out, list);
	html_suppressions(out, list);
	fputs("<table id=\"leaks\"><tr><th class=\"n\">Bytes</th><th class=\"n\">Blocks</th>"
	      "<th>Kind</th><th>Stack</th></tr>\n", out);
	size_t listed = 0, shown = 0;
	for (size_t i = 0; i < list->count; i++) {
		const struct mp_leak_entry *entry = &list->entries[i];
		if (entry->rule >= 0 || !(MP_LEAK_DEFAULT_SHOWN & (1u << entry->kind)))
			continue;
		if (listed++ >= HTML_LEAKS)
			continue;
		shown++;
		fputs("<tr><td class=\"n\">", out);
		mp_html_bytes(out, entry->bytes);
		fputs("</td><td class=\"n\">", out);
		mp_html_count(out, entry->blocks);
		fprintf(out, "</td><td>%s</td><td>", mp_leak_kind_name(entry->kind));
		mp_html_stack(out, &side->memory.analysis, entry->stack_id);
		fputs("</td></tr>\n", out);
	}
	if (listed == 0)
		fputs("<tr><td colspan=\"4\">No leaks.</td></tr>\n", out);
	fputs("</table>\n", out);
	if (listed > shown)
		fprintf(out, "<p class=\"note\">%zu of %zu leaking stacks listed, the largest; "
			"<code>memprof leaks</code> lists them all.</p>\n", shown, listed);
}

static void html_memory_kinds(FILE *out, const struct mp_memory_result *r)
{
	fputs("<table id=\"memory-kinds\"><tr><th>Mappings by kind</th><th class=\"n\">VIRT</th>"
	      "<th class=\"n\">RSS</th><th class=\"n\">PSS</th><th class=\"n\">swap</th>"
	      "<th class=\"n\">THP</th><th class=\"n\">mappings</th></tr>\n", out);
	for (int k = 0; k < MP_MEMK_COUNT; k++) {
		const struct mp_memory_kind_totals *kind = &r->kinds[k];
		uint64_t figures[] = { kind->size, kind->rss, kind->pss, kind->swap, kind->thp };
		fprintf(out, "<tr><th>%s</th>", mp_memory_kind_name((enum mp_memory_kind)k));
		for (size_t f = 0; f < sizeof(figures) / sizeof(figures[0]); f++) {
			fputs("<td class=\"n\">", out);
			mp_html_bytes(out, figures[f]);
			fputs("</td>", out);
		}
		fprintf(out, "<td class=\"n\">%" PRIu64 "</td></tr>\n", kind->mappings);
	}
	fputs("</table>\n", out);
}

/* The figures the verdict's sentences round, exact in titles. */
static void html_memory_split(FILE *out, const struct mp_memory_result *r)
{
	const struct { const char *label; uint64_t value; } rows[] = {
		{ "RSS (sum of smaps)", r->rss },
		{ "VIRT", r->virt },
		{ "malloc's regions, resident", r->heap_rss },
		{ "of which in live blocks", r->heap_live_resident },
		{ "of which in no live block (allocator overhead, free memory)", r->heap_unexplained },
		{ "the program's own mmap and brk, resident", r->mmap_resident + r->brk_resident },
		{ "anonymous RSS no recorded call explains", r->anon_unexplained },
		{ "stacks", r->stack_rss },
		{ "memprof's own", r->memprof_rss },
	};
	fputs("<table id=\"memory-split\"><tr><th>Where the RSS goes</th><th class=\"n\">Bytes</th>"
	      "</tr>\n", out);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fprintf(out, "<tr><th>%s</th><td class=\"n\">", rows[i].label);
		mp_html_bytes(out, rows[i].value);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void html_memory_stacks(FILE *out, struct mp_memory_report *report)
{
	const struct mp_memory_result *r = &report->result;
	size_t shown = r->stack_count < HTML_TOP ? r->stack_count : HTML_TOP;
	fprintf(out, "<h3>Committed against resident, per stack (%zu of %zu, largest gap first)</h3>\n"
		"<table id=\"memory-stacks\"><tr><th class=\"n\">Committed</th><th class=\"n\">"
		"Resident</th><th class=\"n\">Swapped</th><th class=\"n\">Never touched</th>"
		"<th class=\"n\">Blocks</th><th>By</th><th>Stack</th></tr>\n", shown, r->stack_count);
	for (size_t i = 0; i < shown; i++) {
		const struct mp_memory_stack *row = &r->stacks[i];
		uint64_t figures[] = { row->committed, row->resident, row->swapped,
				       row->committed - row->resident - row->swapped };
		fputs("<tr>", out);
		for (size_t f = 0; f < 4; f++) {
			fputs("<td class=\"n\">", out);
			mp_html_bytes(out, row->committed >= row->resident + row->swapped || f < 3
					       ? figures[f] : 0);
			fputs("</td>", out);
		}
		fprintf(out, "<td class=\"n\">%" PRIu64 "</td><td>%s</td><td>", row->blocks,
			mp_memory_source_name(row->source));
		mp_html_stack(out, &report->analysis, row->stack_id);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void html_memory_timeline(FILE *out, const struct mp_memory_report *report)
{
	fputs("<table id=\"snapshots\"><tr><th class=\"n\">#</th><th class=\"n\">Time</th><th>Taken"
	      "</th><th class=\"n\">RSS</th><th class=\"n\">VIRT</th><th class=\"n\">Heap live</th>"
	      "</tr>\n", out);
	for (size_t i = 0; i < report->snapshots.count; i++) {
		const struct mp_memory_point *point = &report->timeline[i];
		fprintf(out, "<tr><td class=\"n\">%s%zu</td><td class=\"n\">%.6f s</td><td>%s</td>"
			"<td class=\"n\">", i == report->selected ? "* " : "", i + 1,
			html_seconds(point->time_ns), mp_memory_reason_name(point->reason));
		mp_html_bytes(out, point->rss);
		fputs("</td><td class=\"n\">", out);
		mp_html_bytes(out, point->virt);
		fputs("</td><td class=\"n\">", out);
		mp_html_bytes(out, point->heap_live_bytes);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

void mp_html_memory(FILE *out, const struct mp_html_page *page)
{
	struct mp_html_side *side = &page->sides[0];
	if (!side->has_memory) {
		/* memprof memory's reason: no snapshot at all, or none that could read smaps. */
		fputs("<p>No memory view: ", out);
		mp_html_escape(out, side->no_memory[0] ? side->no_memory
						       : "this trace holds no memory snapshot");
		fputs(".</p>\n", out);
		return;
	}
	struct mp_memory_report *report = &side->memory;
	const struct mp_memory_point *point = &report->timeline[report->selected];
	char lines[MP_MEMORY_VERDICT_LINES][512];
	fprintf(out, "<p class=\"sub\">Snapshot %zu of %zu (%s) at %.6f s (the * row below; "
		"<code>--snapshot exit|peak|N</code> picks another).</p>\n<ul class=\"verdict\">\n",
		report->selected + 1, report->snapshots.count, mp_memory_reason_name(point->reason),
		html_seconds(point->time_ns));
	int count = mp_memory_verdict(report, lines, MP_MEMORY_VERDICT_LINES);
	for (int i = 0; i < count; i++) {
		fputs("<li title=\"rounded; the tables below give the exact bytes\">", out);
		mp_html_escape(out, lines[i]);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
	html_memory_split(out, &report->result);
	html_memory_kinds(out, &report->result);
	html_memory_stacks(out, report);
	html_memory_timeline(out, report);
}
