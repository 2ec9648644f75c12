/* html_page.c: memprof html's document: style, data, plain sections and script in one file.
 *
 * The data the script draws from is one JSON object in <script id="memprof-data"
 * type="application/json">, written here directly (it may hold a few hundred thousand
 * numbers), with '<', '>' and '&' escaped in strings so that nothing in it can end the
 * script element:
 *
 *   version       1
 *   diff          true for a differential page (--base)
 *   default_metric the metric shown first
 *   metrics       [{id, label, unit ("B", "calls" or "blocks"), help, available, total,
 *                  base_total}], in the order of the nodes' value lists
 *   frames        [[label, file, line, module, inlined]]; 0 is the root, 1 "[other]"
 *   nodes         [[parent, frame, values, blocks, base values, base blocks, folded]],
 *                 parents first; lists as long as needed (missing entries are 0)
 *   time          null, or {bucket_ns, buckets, cells: [node, alloc bucket, end bucket,
 *                 bytes, blocks, ...] (time_buckets.h), heap_max, mmap_max (per point,
 *                 null where no event), rss: [[ns, bytes]], marks: [{t, label, color}]}
 *
 * Times are nanoseconds since the trace started.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "html_page.h"
#include "memory.h"
#include "text_format.h"

struct html_metric {
	const char *label, *unit, *help;
};

static const struct html_metric html_metrics[MP_HTML_METRICS] = {
	{ "Allocated", "B", "bytes allocated over the whole run" },
	{ "Calls", "calls", "allocation calls (malloc family, realloc, mmap)" },
	{ "Live at the heap peak", "B", "bytes live when the heap was at its highest" },
	{ "Leaked", "B", "lost blocks at exit: definitely, indirectly and possibly lost" },
	{ "Definitely lost", "B", "no pointer to the block anywhere at exit" },
	{ "Indirectly lost", "B", "pointed to only from lost blocks" },
	{ "Possibly lost", "B", "pointed to only inside, not at its start" },
	{ "Still reachable", "B", "unfreed but still pointed to at exit" },
	{ "Unfreed", "B", "every block not freed at the end" },
	{ "Temporary", "blocks", "allocations freed before their thread allocated again" },
	{ "Committed", "B", "bytes live at the snapshot (asked for)" },
	{ "Resident", "B", "bytes of them in RAM at the snapshot" },
};

/* A JSON string; '<', '>' and '&' as \u escapes so the script element cannot end early. */
static void html_json_string(FILE *out, const char *text)
{
	if (!text) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&')
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

/* A list of numbers without its trailing zeros. */
static void html_json_numbers(FILE *out, const uint64_t *values, int count)
{
	while (count > 0 && values[count - 1] == 0)
		count--;
	fputc('[', out);
	for (int i = 0; i < count; i++)
		fprintf(out, "%s%" PRIu64, i ? "," : "", values[i]);
	fputc(']', out);
}

static int html_metric_available(const struct mp_html_page *page, int metric)
{
	const struct mp_html_side *side = &page->sides[0];
	switch (metric) {
	case MP_HTML_DEFINITE: case MP_HTML_INDIRECT: case MP_HTML_POSSIBLE: case MP_HTML_REACHABLE:
		return side->leaks.kinds.state == MP_LEAK_SCAN_DONE;
	case MP_HTML_TEMPORARY:
		return !side->memory.analysis.model.totals.sample_bytes;
	case MP_HTML_COMMITTED: case MP_HTML_RESIDENT:
		return side->has_memory;
	default:
		return 1;
	}
}

static void html_json_metrics(FILE *out, const struct mp_html_page *page)
{
	uint64_t totals[2][MP_HTML_METRICS] = { { 0 } };
	for (size_t n = 0; n < page->data->node_count; n++)
		for (int s = 0; s < page->side_count; s++)
			for (int m = 0; m < MP_HTML_METRICS; m++)
				totals[s][m] += page->data->nodes[n].figures[s].value[m];
	fputs("\"metrics\":[", out);
	for (int m = 0; m < MP_HTML_METRICS; m++) {
		fprintf(out, "%s{\"id\":\"%s\",\"label\":", m ? "," : "",
			mp_html_metric_name((enum mp_html_metric)m));
		html_json_string(out, html_metrics[m].label);
		fprintf(out, ",\"unit\":\"%s\",\"help\":", html_metrics[m].unit);
		html_json_string(out, html_metrics[m].help);
		fprintf(out, ",\"available\":%s,\"total\":%" PRIu64 ",\"base_total\":%" PRIu64 "}",
			html_metric_available(page, m) ? "true" : "false", totals[0][m], totals[1][m]);
	}
	fputs("]", out);
}

static void html_json_tree(FILE *out, const struct mp_html_data *data, int sides)
{
	fputs(",\"frames\":[", out);
	for (size_t f = 0; f < data->frame_count; f++) {
		const struct mp_html_frame *frame = &data->frames[f];
		fputs(f ? ",[" : "[", out);
		html_json_string(out, frame->label);
		fputc(',', out);
		html_json_string(out, frame->file);
		fprintf(out, ",%" PRIu32 ",", frame->line);
		html_json_string(out, frame->module);
		fprintf(out, ",%d]", frame->inlined);
	}
	fputs("],\n\"nodes\":[", out);
	for (size_t n = 0; n < data->node_count; n++) {
		const struct mp_html_node *node = &data->nodes[n];
		fprintf(out, "%s[%" PRIu32 ",%" PRIu32, n ? ",\n" : "", node->parent, node->frame);
		for (int s = 0; s < 2; s++) {
			fputc(',', out);
			html_json_numbers(out, node->figures[s].value, s < sides ? MP_HTML_METRICS : 0);
			fputc(',', out);
			html_json_numbers(out, node->figures[s].blocks, s < sides ? MP_HTML_METRICS : 0);
		}
		fprintf(out, ",%" PRIu32 "]", node->folded);
	}
	fputs("]", out);
}

static uint64_t html_since(const struct mp_analysis *analysis, uint64_t time_ns)
{
	uint64_t start = mp_trace_header(analysis->trace)->start_monotonic_ns;
	return time_ns > start ? time_ns - start : 0;
}

/* The RSS points of the timeline: today the snapshots' VmRSS. A denser RSS series
 * recorded in the trace goes here too, as more [ns, bytes] points in time order. */
static void html_json_rss(FILE *out, const struct mp_html_side *side)
{
	fputs(",\"rss\":[", out);
	for (size_t i = 0; side->has_memory && i < side->memory.snapshots.count; i++) {
		const struct mp_memory_point *point = &side->memory.timeline[i];
		fprintf(out, "%s[%" PRIu64 ",%" PRIu64 "]", i ? "," : "", point->time_ns, point->rss);
	}
	fputs("]", out);
}

static void html_json_mark(FILE *out, int *first, uint64_t ns, const char *label, const char *color)
{
	fprintf(out, "%s{\"t\":%" PRIu64 ",\"label\":", *first ? "" : ",", ns);
	html_json_string(out, label);
	fprintf(out, ",\"color\":\"%s\"}", color);
	*first = 0;
}

/* The snapshots, the exit leak check and the heap peak, marked on the timeline. */
static void html_json_marks(FILE *out, const struct mp_html_side *side)
{
	const struct mp_analysis *analysis = &side->memory.analysis;
	int first = 1;
	char label[64];
	fputs(",\"marks\":[", out);
	for (size_t i = 0; side->has_memory && i < side->memory.snapshots.count; i++) {
		snprintf(label, sizeof(label), "snapshot %zu (%s)", i + 1,
			 mp_memory_reason_name(side->memory.timeline[i].reason));
		html_json_mark(out, &first, side->memory.timeline[i].time_ns, label, "#5f3dc4");
	}
	if (side->leaks.kinds.state == MP_LEAK_SCAN_DONE)
		html_json_mark(out, &first, html_since(analysis, side->leaks.kinds.time_ns),
			       "leak check", "#a61e4d");
	if (analysis->model.totals.peak_bytes)
		html_json_mark(out, &first, html_since(analysis, analysis->model.totals.peak_time_ns),
			       "heap peak", "#d9480f");
	fputs("]", out);
}

static void html_json_points(FILE *out, const char *name, const struct mp_time_buckets *time,
			     int mmap)
{
	fprintf(out, ",\"%s\":[", name);
	for (size_t p = 0; p < MP_TIME_POINTS; p++) {
		const struct mp_time_point *point = &time->points[p];
		if (point->seen)
			fprintf(out, "%s%" PRIu64, p ? "," : "", mmap ? point->mmap_max : point->heap_max);
		else
			fputs(p ? ",null" : "null", out);
	}
	fputs("]", out);
}

static void html_json_time(FILE *out, const struct mp_html_page *page)
{
	const struct mp_html_side *side = &page->sides[0];
	const struct mp_time_buckets *time = side->time;
	if (!time || !time->started) {
		fputs(",\n\"time\":null", out);
		return;
	}
	fprintf(out, ",\n\"time\":{\"bucket_ns\":%" PRIu64 ",\"buckets\":%d,\"cells\":[",
		time->bucket_ns, MP_TIME_BUCKETS);
	for (size_t c = 0; c < page->data->cell_count; c++) {
		const struct mp_html_cell *cell = &page->data->cells[c];
		fprintf(out, "%s%" PRIu32 ",%u,%u,%" PRIu64 ",%" PRIu64, c ? (c % 8 ? "," : ",\n") : "",
			cell->node, cell->alloc_bucket, cell->end_bucket, cell->bytes, cell->blocks);
	}
	fputs("]", out);
	html_json_points(out, "heap_max", time, 0);
	html_json_points(out, "mmap_max", time, 1);
	html_json_rss(out, side);
	html_json_marks(out, side);
	fputs("}", out);
}

static void html_data_json(FILE *out, const struct mp_html_page *page)
{
	fprintf(out, "<script type=\"application/json\" id=\"memprof-data\">{\"version\":1,"
		"\"diff\":%s,\"default_metric\":\"%s\",\n", page->side_count == 2 ? "true" : "false",
		page->side_count == 2 ? "leaked" : "allocated");
	html_json_metrics(out, page);
	html_json_tree(out, page->data, page->side_count);
	html_json_time(out, page);
	fputs("}</script>\n", out);
}

/* ---- the document ---- */

static void html_head(FILE *out, const struct mp_html_page *page)
{
	const struct mp_analysis *analysis = &page->sides[0].memory.analysis;
	const char *exe = mp_trace_exe(analysis->trace);
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	char name[MP_FMT_LEN];
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>memprof: ",
	      out);
	mp_html_escape(out, exe ? exe : analysis->path);
	fprintf(out, "%s</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>memprof%s: ",
		page->side_count == 2 ? " (compared)" : "", mp_html_page_css,
		page->side_count == 2 ? " diff" : "");
	mp_html_escape(out, exe ? exe : "(unknown program)");
	fprintf(out, " (pid %" PRIu32 ")</h1>\n<p class=\"sub\">Trace <code>", header->pid);
	mp_html_escape(out, analysis->path);
	fprintf(out, "</code>, run time %.6f s, ", (double)analysis->run_time_ns / 1e9);
	if (header->end_state == MP_END_EXIT || header->end_state == MP_END_EXIT_NOW)
		fprintf(out, "exited with status %" PRIu32, header->end_status);
	else if (header->end_state == MP_END_SIGNAL)
		fprintf(out, "killed by %s", mp_fmt_signal(name, sizeof(name), header->end_status));
	else
		fputs(header->end_state == MP_END_EXEC ? "replaced by exec" : "did not exit (killed?)", out);
	if (!analysis->complete)
		fputs("; INCOMPLETE: the trace was cut short", out);
	fputs(".</p>\n", out);
	if (page->side_count == 2) {
		const struct mp_analysis *base = &page->sides[1].memory.analysis;
		fputs("<p class=\"sub\">Compared with the base trace <code>", out);
		mp_html_escape(out, base->path);
		fputs("</code> (", out);
		mp_html_escape(out, mp_trace_exe(base->trace));
		fputs("): stacks matched by function, file and line; "
		      "<span class=\"grow\">red grew</span>, <span class=\"shrink\">blue shrank</span>.</p>\n",
		      out);
	}
	fputs("<p id=\"errors\"></p>\n<p class=\"note\"><a href=\"#s-figures\">Figures</a> · "
	      "<a href=\"#s-timeline\">Timeline</a> · <a href=\"#s-flame\">Flame graph</a> · "
	      "<a href=\"#s-top\">Top stacks</a> · <a href=\"#s-leaks\">Leaks</a> · "
	      "<a href=\"#s-memory\">Memory</a></p>\n", out);
}

static void html_flame(FILE *out, const struct mp_html_page *page)
{
	const struct mp_html_data *data = page->data;
	fputs("<h2 id=\"s-flame\">Flame graph</h2>\n<div class=\"controls\"><label>Metric "
	      "<select id=\"metric\"></select></label>\n<input type=\"search\" id=\"search\" "
	      "placeholder=\"Search functions and files\">\n<button id=\"reset\">Reset zoom and "
	      "range</button></div>\n<p id=\"fg-status\" class=\"note\"></p>\n<div id=\"flame\">"
	      "<noscript><p>The flame graph and the timeline need JavaScript; the tables of this "
	      "page hold the figures and the top stacks.</p></noscript></div>\n<div id=\"details\">"
	      "</div>\n", out);
	fprintf(out, "<p class=\"note\">Callers above their callees; a box is as wide as its "
		"share of the metric%s. Click a box to zoom on it, hover to see its stack. %zu "
		"stacks in %zu boxes; subtrees below %.3g%% of every metric's total are folded "
		"into <i>[other]</i> boxes with their sum.</p>\n",
		page->side_count == 2 ? " (of the larger of the two traces), its colour the change"
				      : "", data->stacks, data->node_count, data->threshold * 100.0);
	fputs("<h3>Largest in this view (own value, callees left out)</h3>\n<table id=\"fg-top\">"
	      "</table>\n", out);
}

static void html_timeline(FILE *out, const struct mp_html_page *page)
{
	const struct mp_time_buckets *time = page->sides[0].time;
	fputs("<h2 id=\"s-timeline\">Timeline</h2>\n<p class=\"legend\"><span><i style=\"background:"
	      "#d9480f\"></i>live heap (highest per point)</span><span><i style=\"background:"
	      "#2b8a3e\"></i>mmap'd by the program</span><span><i style=\"background:#5f3dc4\">"
	      "</i>RSS at the snapshots (right axis)</span></p>\n<div id=\"timeline\"></div>\n"
	      "<p id=\"range-info\" class=\"note\"></p>\n", out);
	if (time && time->started)
		fprintf(out, "<p class=\"note\">Resolution: the run in %d buckets of %.3f ms (a "
			"range snaps to whole buckets), the lines in %d points.%s</p>\n",
			MP_TIME_BUCKETS, (double)time->bucket_ns / 1e6, MP_TIME_POINTS,
			page->sides[0].memory.analysis.model.totals.window_samples
				? " Sampled blocks freed within the sampling window have no time "
				  "and are in no range." : "");
}

/* Rows and innermost frames per table of changes. */
#define HTML_CHANGES 5
#define HTML_CHANGE_FRAMES 6

/* In a differential page: the nodes whose own value changed most, as plain HTML. */
static void html_changes(FILE *out, const struct mp_html_page *page, enum mp_html_metric metric)
{
	const struct mp_html_data *data = page->data;
	size_t best[HTML_CHANGES];
	size_t count = 0;
	for (size_t n = 1; n < data->node_count; n++) {
		const struct mp_html_node *node = &data->nodes[n];
		uint64_t a = node->figures[0].value[metric], b = node->figures[1].value[metric];
		uint64_t change = a > b ? a - b : b - a;
		if (!change)
			continue;
		size_t at = count < HTML_CHANGES ? count++ : HTML_CHANGES;
		while (at > 0) {
			const struct mp_html_node *other = &data->nodes[best[at - 1]];
			uint64_t x = other->figures[0].value[metric], y = other->figures[1].value[metric];
			if ((x > y ? x - y : y - x) >= change)
				break;
			if (at < HTML_CHANGES)
				best[at] = best[at - 1];
			at--;
		}
		if (at < HTML_CHANGES)
			best[at] = n;
	}
	fprintf(out, "<h3>Largest changes: %s</h3>\n<table id=\"changes-%s\"><tr><th class=\"n\">New"
		"</th><th class=\"n\">Base</th><th class=\"n\">Change</th><th>Stack</th></tr>\n",
		html_metrics[metric].label, mp_html_metric_name(metric));
	for (size_t i = 0; i < count; i++) {
		const struct mp_html_node *node = &data->nodes[best[i]];
		fputs("<tr><td class=\"n\">", out);
		mp_html_bytes(out, node->figures[0].value[metric]);
		fputs("</td><td class=\"n\">", out);
		mp_html_bytes(out, node->figures[1].value[metric]);
		fputs("</td><td class=\"n\">", out);
		mp_html_bytes_change(out, node->figures[1].value[metric], node->figures[0].value[metric]);
		fputs("</td><td><ol class=\"stack\">", out);
		size_t depth = 0;
		for (size_t n = best[i]; n; n = data->nodes[n].parent)
			depth++;
		size_t shown = 0;
		for (size_t n = best[i]; n && shown < HTML_CHANGE_FRAMES; n = data->nodes[n].parent, shown++) {
			const struct mp_html_frame *frame = &data->frames[data->nodes[n].frame];
			fputs("<li>", out);
			mp_html_escape(out, frame->label);
			if (frame->file) {
				fputs(" <span class=\"loc\">at ", out);
				mp_html_escape(out, frame->file);
				fprintf(out, ":%" PRIu32 "</span>", frame->line);
			}
			fputs("</li>", out);
		}
		if (depth > shown)
			fprintf(out, "<li class=\"loc\">... %zu callers more (the flame graph shows them)</li>",
				depth - shown);
		fputs("</ol></td></tr>\n", out);
	}
	if (count == 0)
		fputs("<tr><td colspan=\"4\">No change.</td></tr>\n", out);
	fputs("</table>\n", out);
}

int mp_html_write(FILE *out, const struct mp_html_page *page)
{
	html_head(out, page);
	fputs("<h2 id=\"s-figures\">Figures</h2>\n", out);
	mp_html_summary(out, page);
	if (page->side_count == 2) {
		/* A comparison is about what changed: the coloured flame graph and the
		 * largest changes first, the new trace's timeline after them. */
		html_flame(out, page);
		html_changes(out, page, MP_HTML_LEAKED);
		html_changes(out, page, MP_HTML_ALLOCATED);
		html_timeline(out, page);
	} else {
		/* The timeline first: it is the overview, and a range selected on it changes
		 * the flame graph below (heaptrack and memray put their charts above too). */
		html_timeline(out, page);
		html_flame(out, page);
	}
	fputs("<h2 id=\"s-top\">Top stacks</h2>\n", out);
	mp_html_top_stacks(out, page);
	fputs("<h2 id=\"s-leaks\">Leaks</h2>\n", out);
	mp_html_leaks(out, page);
	fputs("<h2 id=\"s-memory\">Memory</h2>\n", out);
	mp_html_memory(out, page);
	html_data_json(out, page);
	fprintf(out, "<script>\n%s</script>\n</body></html>\n", mp_html_page_js);
	return ferror(out) ? -EIO : 0;
}
