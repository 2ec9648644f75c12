/* run_summary.c: what `memprof run` prints about the traces a run wrote, on stderr.
 *
 * One trace: where it is, then calls, bytes, what was not freed and what leaked, in a
 * few lines. Several (a shell script's run writes one per process image): one table per
 * process tree, a row per trace (trace_family.h), children indented under the image that
 * started them, then the tree's totals; `--quiet-children` keeps the started process's
 * own images, `--follow EXE` the processes running EXE, and one trace left is summarized
 * as above. Leaked means what `memprof leaks` says with its default rules.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "run.h"
#include "text_format.h"
#include "trace_family.h"

/* A trace's figures for its row. */
struct summary_row {
	int readable, complete;
	uint64_t sample_bytes;
	uint64_t calls, unfreed_bytes, leaked_bytes;
};

struct summary {
	FILE *out;
	const struct mp_run_options *opts;
	struct mp_suppressions supp;     /* the default rules of `memprof leaks` */
	struct mp_family_member *members;
	struct summary_row *rows;
	int *order;
	size_t count;
};

static const char *summary_base(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The built-in rules and MEMPROF_SUPPRESSIONS, so that "leaked" agrees with `leaks`. */
static void summary_rules(struct summary *s)
{
	const char *env = getenv("MEMPROF_SUPPRESSIONS");
	char err[512];

	if (mp_leaks_default_suppressions(&s->supp, err, sizeof(err)) < 0)
		fprintf(s->out, "memprof: built-in suppressions: %s\n", err);
	if (env && *env && mp_suppressions_load(&s->supp, env, err, sizeof(err)) < 0)
		fprintf(s->out, "memprof: cannot use suppressions %s\n", err);
}

/* The few lines about one trace. */
static void summary_single(struct summary *s, const char *path)
{
	struct mp_analysis analysis;
	struct mp_leak_list list = { 0 };
	char err[256], a[MP_FMT_LEN], b[MP_FMT_LEN], c[MP_FMT_LEN], d[MP_FMT_LEN], meaning[256];

	fprintf(s->out, "memprof: trace written to %s\n", path);
	if (mp_analysis_run(path, &analysis, 0, err, sizeof(err)) < 0) {
		fprintf(s->out, "memprof: cannot read '%s': %s\n", path, err);
		return;
	}
	const struct mp_heap_totals *t = &analysis.model.totals;
	mp_report_text_problems(s->out, &analysis);
	if (t->sample_bytes)
		fprintf(s->out, "memprof: sampled every %s on average: heap figures are estimates "
				"from %s\n", mp_fmt_bytes(a, sizeof(a), t->sample_bytes),
			mp_fmt_counted(b, sizeof(b), t->samples, "sample", "samples"));
	fprintf(s->out, "memprof: calls: %s, %s, %s, %s\n",
		mp_fmt_counted(a, sizeof(a), t->allocations, "allocation", "allocations"),
		mp_fmt_counted(b, sizeof(b), t->frees, "free", "frees"),
		mp_fmt_counted(c, sizeof(c), t->reallocs, "realloc", "reallocs"),
		mp_fmt_counted(d, sizeof(d), t->mmaps, "mmap", "mmaps"));
	fprintf(s->out, "memprof: bytes: %s allocated, peak heap %s\n",
		mp_fmt_count(a, sizeof(a), t->allocated_bytes), mp_fmt_bytes(b, sizeof(b), t->peak_bytes));
	fprintf(s->out, "memprof: not freed at the end: %s in %s\n",
		mp_fmt_bytes(a, sizeof(a), t->live_bytes),
		mp_fmt_counted(b, sizeof(b), t->live_blocks, "block", "blocks"));
	if (mp_leaks_compute(&analysis, &s->supp, 0, &list) == 0)
		fprintf(s->out, "memprof: leaked: %s in %s: %s (memprof leaks lists them)\n",
			mp_fmt_bytes(a, sizeof(a), list.leaked.bytes),
			mp_fmt_counted(b, sizeof(b), list.leaked.blocks, "block", "blocks"),
			mp_leaks_meaning(&list, meaning, sizeof(meaning)));
	mp_leaks_free(&list);
	mp_analysis_destroy(&analysis);
}

/* Analyzes member i for its row; a trace that cannot be read gets an empty one. */
static void summary_row_load(struct summary *s, size_t i)
{
	struct summary_row *row = &s->rows[i];
	struct mp_analysis analysis;
	struct mp_leak_list list = { 0 };
	char err[256];

	if (mp_analysis_run(s->members[i].path, &analysis, 0, err, sizeof(err)) < 0) {
		fprintf(s->out, "memprof: cannot read '%s': %s\n", s->members[i].path, err);
		return;
	}
	const struct mp_heap_totals *t = &analysis.model.totals;
	row->readable = 1;
	row->complete = analysis.complete;
	row->sample_bytes = t->sample_bytes;
	row->calls = t->allocations + t->frees + t->reallocs + t->failed_calls + t->mmaps +
		     t->munmaps + t->mremaps + t->brks;
	row->unfreed_bytes = t->live_bytes;
	if (mp_leaks_compute(&analysis, &s->supp, 0, &list) == 0)
		row->leaked_bytes = list.leaked.bytes;
	mp_leaks_free(&list);
	mp_analysis_destroy(&analysis);
}

/* "exit 0", "_exit 3", "exec", "SIGTERM", "no end": how the image's trace says it ended. */
static const char *summary_ended(const struct mp_trace_peek *peek, char *buf, size_t len)
{
	switch (peek->end_state) {
	case MP_END_EXIT:
		snprintf(buf, len, "exit %" PRId32, peek->end_status);
		break;
	case MP_END_EXIT_NOW:
		snprintf(buf, len, "_exit %" PRId32, peek->end_status);
		break;
	case MP_END_EXEC:
		snprintf(buf, len, "exec");
		break;
	case MP_END_SIGNAL:
		mp_fmt_signal(buf, len, peek->end_status);
		break;
	default:
		snprintf(buf, len, "no end");
	}
	return buf;
}

/* Width of the executable column: the longest indented name, within bounds. */
static int summary_exe_width(const struct summary *s, const int *rows, size_t count, int flat)
{
	int width = (int)strlen("executable");
	for (size_t k = 0; k < count; k++) {
		const struct mp_family_member *m = &s->members[rows[k]];
		int need = (flat ? 0 : 2 * m->depth) + (int)strlen(summary_base(m->peek.exe));
		width = need > width ? need : width;
	}
	return width > 40 ? 40 : width;
}

static void summary_table_row(const struct summary *s, int i, int width, int flat)
{
	const struct mp_family_member *m = &s->members[i];
	const struct summary_row *row = &s->rows[i];
	char calls[MP_FMT_LEN], unfreed[MP_FMT_LEN], leaked[MP_FMT_LEN], ended[32];
	int indent = flat ? 0 : 2 * m->depth;

	if (indent > width - 4)
		indent = width - 4;
	fprintf(s->out, "memprof: %7" PRIu32 " %7" PRIu32 "  %*s%-*.*s %11s %11s %11s  %-8s %s%s\n",
		m->peek.pid, m->peek.ppid, indent, "", width - indent, width - indent,
		summary_base(m->peek.exe), row->readable ? mp_fmt_count(calls, sizeof(calls), row->calls) : "?",
		row->readable ? mp_fmt_units(unfreed, sizeof(unfreed), row->unfreed_bytes) : "?",
		row->readable ? mp_fmt_units(leaked, sizeof(leaked), row->leaked_bytes) : "?",
		summary_ended(&m->peek, ended, sizeof(ended)), summary_base(m->path),
		row->readable && !row->complete ? " (INCOMPLETE)" : "");
}

/* The rows `rows[0..count)` as one table, with their totals. */
static void summary_table(struct summary *s, const int *rows, size_t count, int flat)
{
	int width = summary_exe_width(s, rows, count, flat);
	uint64_t calls = 0, unfreed = 0, leaked = 0, incomplete = 0, sampled = 0;
	char a[MP_FMT_LEN], b[MP_FMT_LEN], c[MP_FMT_LEN];

	fprintf(s->out, "memprof: %7s %7s  %-*s %11s %11s %11s  %-8s %s\n", "pid", "parent", width,
		"executable", "calls", "not freed", "leaked", "ended", "trace");
	for (size_t k = 0; k < count; k++) {
		const struct summary_row *row = &s->rows[rows[k]];
		summary_table_row(s, rows[k], width, flat);
		calls += row->calls;
		unfreed += row->unfreed_bytes;
		leaked += row->leaked_bytes;
		incomplete += row->readable && !row->complete;
		sampled += row->sample_bytes != 0;
	}
	fprintf(s->out, "memprof: total: %s, %s not freed, %s leaked%s%s\n",
		mp_fmt_counted(a, sizeof(a), calls, "call", "calls"), mp_fmt_units(b, sizeof(b), unfreed),
		mp_fmt_units(c, sizeof(c), leaked), sampled ? " (sampled traces: estimates)" : "",
		incomplete ? "; memprof report TRACE says why a trace is INCOMPLETE" : "");
}

/* Whether member i is shown under --quiet-children / --follow. */
static int summary_selected(const struct summary *s, size_t i, pid_t root_pid)
{
	const struct mp_trace_peek *peek = &s->members[i].peek;
	const char *follow = s->opts->follow;

	if (s->opts->quiet_children)
		return (pid_t)peek->pid == root_pid;
	if (follow)
		return strchr(follow, '/') ? strcmp(peek->exe, follow) == 0
					   : strcmp(summary_base(peek->exe), follow) == 0;
	return 1;
}

/* The directory every trace is in, for the heading; "" if they differ. */
static void summary_dir(const struct summary *s, char *buf, size_t len)
{
	const char *first = s->members[0].path;
	size_t dir_len = (size_t)(summary_base(first) - first);

	for (size_t i = 1; i < s->count; i++)
		if (strncmp(s->members[i].path, first, dir_len) != 0 ||
		    strchr(s->members[i].path + dir_len, '/'))
			dir_len = 0;
	snprintf(buf, len, "%.*s", (int)dir_len, first);
}

/* Every tree, one table each (no filter). */
static void summary_trees(struct summary *s, int roots)
{
	char dir[4096], count[MP_FMT_LEN];
	size_t from = 0;

	summary_dir(s, dir, sizeof(dir));
	fprintf(s->out, "memprof: %s written%s%s, %d process %s:\n",
		mp_fmt_counted(count, sizeof(count), s->count, "trace", "traces"), dir[0] ? " in " : "",
		dir, roots, roots == 1 ? "tree" : "trees");
	for (size_t k = 1; k <= s->count; k++) {
		if (k < s->count && s->members[s->order[k]].depth > 0)
			continue;
		if (k < s->count && s->members[s->order[k]].exec_of >= 0)
			continue;
		/* order[from..k) is one tree: a root, its exec chain and their descendants. */
		const struct mp_family_member *root = &s->members[s->order[from]];
		fprintf(s->out, "memprof: process tree of pid %" PRIu32 " (%s):\n", root->peek.pid,
			summary_base(root->peek.exe));
		summary_table(s, s->order + from, k - from, 0);
		from = k;
	}
}

/* The traces kept by --quiet-children or --follow: one summarized in full, more as one
 * flat table; and how many were left out. */
static void summary_filtered(struct summary *s, pid_t root_pid)
{
	int *kept = calloc(s->count, sizeof(*kept));
	size_t count = 0;
	char more[MP_FMT_LEN];

	for (size_t k = 0; kept && k < s->count; k++)
		if (summary_selected(s, (size_t)s->order[k], root_pid))
			kept[count++] = s->order[k];
	if (count == 1)
		summary_single(s, s->members[kept[0]].path);
	for (size_t k = 0; count > 1 && k < count; k++)
		summary_row_load(s, (size_t)kept[k]);
	if (count > 1 && s->opts->quiet_children)
		fprintf(s->out, "memprof: %s of pid %d, the process memprof started:\n",
			mp_fmt_counted(more, sizeof(more), count, "trace", "traces"), (int)root_pid);
	else if (count > 1)
		fprintf(s->out, "memprof: %s of processes running '%s':\n",
			mp_fmt_counted(more, sizeof(more), count, "trace", "traces"), s->opts->follow);
	if (count > 1)
		summary_table(s, kept, count, 1);
	if (count < s->count)
		fprintf(s->out, "memprof: %s of %s not shown (%s)\n",
			mp_fmt_counted(more, sizeof(more), s->count - count, "trace", "traces"),
			s->opts->quiet_children ? "child processes" : "other executables",
			s->opts->quiet_children ? "--quiet-children" : "--follow");
	free(kept);
}

void mp_run_summary(FILE *out, char **paths, size_t count, pid_t root_pid,
		    const struct mp_run_options *opts)
{
	struct summary s = { .out = out, .opts = opts };
	size_t readable = 0;

	s.members = calloc(count, sizeof(*s.members));
	s.rows = calloc(count, sizeof(*s.rows));
	s.order = calloc(count, sizeof(*s.order));
	for (size_t i = 0; s.members && i < count; i++) {
		if (mp_trace_peek(paths[i], &s.members[readable].peek) == 0)
			s.members[readable++].path = paths[i];
		else
			fprintf(out, "memprof: cannot read '%s': not a memprof trace\n", paths[i]);
	}
	s.count = readable;
	if (s.members && s.rows && s.order && readable) {
		summary_rules(&s);
		mp_family_link(s.members, readable);
		int roots = mp_family_order(s.members, readable, s.order);
		if (roots < 0)
			fprintf(out, "memprof: cannot summarize the traces: out of memory\n");
		else if (opts->quiet_children || opts->follow)
			summary_filtered(&s, root_pid);
		else if (readable == 1)
			summary_single(&s, s.members[0].path);
		else {
			for (size_t i = 0; i < readable; i++)
				summary_row_load(&s, i);
			summary_trees(&s, roots);
		}
	}
	mp_suppressions_free(&s.supp);
	free(s.members);
	free(s.rows);
	free(s.order);
}
