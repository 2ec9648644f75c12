/* report.h: the printers: text reports, JSON documents and folded stacks.
 *
 * Each takes a finished analysis (analyze.h) and only formats it; the numbers all come
 * from the heap model. Text goes to a FILE; JSON is returned as a jansson value for the
 * caller to print, so that several traces can be gathered into one document.
 */
#ifndef MEMPROF_REPORT_H
#define MEMPROF_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "analyze.h"
#include "leaks.h"
#include "stack_stats.h"

/* Stacks listed per top-N table. */
#define MP_REPORT_TOP 10

/* report_text.c. The full `memprof report` text for one trace. */
void mp_report_text(FILE *out, struct mp_analysis *analysis);
/* Three lines for `memprof run`: calls, bytes and peak, leaked. */
void mp_report_text_summary(FILE *out, const struct mp_analysis *analysis);
/* The `memprof leaks` text: the summary per kind, then every (stack, kind) of `list`
 * whose kind is in `shown` (a set of 1 << kind) and that no rule suppressed, largest
 * first. */
void mp_leaks_text(FILE *out, struct mp_analysis *analysis, const struct mp_leak_list *list,
		   unsigned shown);
/* One line on stderr-worthy facts that make the figures partial, or nothing; for `run`
 * and the text reports. */
void mp_report_text_warnings(FILE *out, const struct mp_analysis *analysis);

/* report_json.c. New references, or NULL on out-of-memory. */
json_t *mp_report_json(struct mp_analysis *analysis);
/* `memprof leaks --json`: the same selection as mp_leaks_text (docs/json.md). */
json_t *mp_leaks_json(struct mp_analysis *analysis, const struct mp_leak_list *list,
		      unsigned shown);
json_t *mp_folded_json(struct mp_analysis *analysis, enum mp_stack_metric metric);
/* A stack as the JSON frame array of docs/json.md, innermost first. */
json_t *mp_stack_json(struct mp_analysis *analysis, uint32_t stack_id);
/* null for an exact trace; else {"sample_bytes", "samples", "estimated": true}, what the
 * estimates rest on. Every command's JSON has it. */
json_t *mp_sampling_json(const struct mp_analysis *analysis);

/* folded.c. One folded line: frames[count - 1] (outermost) first, joined by ';', with
 * ';' in names turned into ':', then a space and value. Returns 0 or -EIO. */
int mp_folded_line(FILE *out, const struct mp_frame *frames, int count, uint64_t value);
/* Every stack with a nonzero `metric`, largest first. Returns 0 or a negative errno. */
int mp_folded_write(FILE *out, struct mp_analysis *analysis, enum mp_stack_metric metric);

#endif
