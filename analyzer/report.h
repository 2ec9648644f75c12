/* report.h: the printers: text reports, JSON documents and folded stacks.
 *
 * Each takes a finished analysis (analyze.h), and the leak list (leaks.h) computed from
 * it, and only formats them; the numbers all come from the heap model and the leak
 * kinds. Text goes to a FILE; JSON is returned as a jansson value for the caller to
 * print, so that several traces can be gathered into one document.
 *
 * Words, everywhere: "not freed" is a heap block still allocated at the end; "leaked" is
 * one of those that is lost (leaks.h, MP_LEAK_LOST_KINDS). A "call stack" is where a
 * call was made from; a thread's stack memory is a "thread stack".
 */
#ifndef MEMPROF_REPORT_H
#define MEMPROF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "analyze.h"
#include "leaks.h"
#include "stack_stats.h"

/* Call stacks listed per list of `memprof report` unless --top says otherwise. */
#define MP_REPORT_TOP 10

/* What the command line chose for the printers. */
struct mp_report_options {
	size_t top;                  /* call stacks per list; 0: all of them */
	int long_names;              /* text: C++ names with their template arguments */
	unsigned shown;              /* leaks: kinds listed (a set of 1 << kind) */
	enum mp_stack_metric metric; /* flamegraph */
};

/* report_text.c. The full `memprof report` text for one trace. */
void mp_report_text(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list,
		    const struct mp_report_options *opts);
/* Lines on stderr-worthy facts that make the figures partial (sampled, incomplete,
 * dropped events), or nothing; for `run` and every report. */
void mp_report_text_warnings(FILE *out, const struct mp_analysis *analysis);
/* The same without the note that the trace is sampled: incomplete, dropped events. */
void mp_report_text_problems(FILE *out, const struct mp_analysis *analysis);
/* leaks_text.c. The `memprof leaks` text: what leaked, the summary per kind, then every
 * (call stack, kind) of `list` whose kind is in opts->shown and that no rule suppressed,
 * largest first, at most opts->top of them. */
void mp_leaks_text(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list,
		   const struct mp_report_options *opts);
/* What "leaked" covers in this trace, for a sentence: "definitely, indirectly or possibly
 * lost", or, without leak kinds, why every block not freed counts. */
const char *mp_leaks_meaning(const struct mp_leak_list *list, char *buf, size_t len);

/* report_json.c. New references, or NULL on out-of-memory. */
json_t *mp_report_json(struct mp_analysis *analysis, const struct mp_leak_list *list,
		       const struct mp_report_options *opts);
/* `memprof leaks --json`: the same selection as mp_leaks_text (docs/json.md). */
json_t *mp_leaks_json(struct mp_analysis *analysis, const struct mp_leak_list *list,
		      const struct mp_report_options *opts);
json_t *mp_folded_json(struct mp_analysis *analysis, const struct mp_report_options *opts);
/* A stack as the JSON frame array of docs/json.md, innermost first, names whole. */
json_t *mp_stack_json(struct mp_analysis *analysis, uint32_t stack_id);
/* null for an exact trace; else {"sample_bytes", "samples", "estimated": true}, what the
 * estimates rest on. Every command's JSON has it. */
json_t *mp_sampling_json(const struct mp_analysis *analysis);

/* folded.c. One folded line: frames[count - 1] (outermost) first, joined by ';', with
 * ';' in names turned into ':', then a space and value. Returns 0 or -EIO. */
int mp_folded_line(FILE *out, const struct mp_frame *frames, int count, uint64_t value);
/* Every stack with a nonzero opts->metric, largest first, at most opts->top of them (0:
 * all). Returns 0 or a negative errno. */
int mp_folded_write(FILE *out, struct mp_analysis *analysis, const struct mp_report_options *opts);

#endif
