/* report_memory.h: the printers of `memprof memory` (text and JSON, docs/json.md). */
#ifndef MEMPROF_REPORT_MEMORY_H
#define MEMPROF_REPORT_MEMORY_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "memory.h"
#include "report.h"

/* Call stacks listed in the text report unless --top says otherwise. */
#define MP_MEMORY_TEXT_STACKS 10
#define MP_MEMORY_VERDICT_LINES 11

/* report_memory_text.c. The verdict: up to MP_MEMORY_VERDICT_LINES plain-language
 * sentences, each written into lines[i] (len bytes each); returns how many. */
int mp_memory_verdict(struct mp_memory_report *report, char lines[][512], int max);
/* "512 MiB", "1.5 GiB", "12 KiB", "100 B" into buf; returns buf. */
const char *mp_memory_bytes(char *buf, size_t len, uint64_t value);
/* opts: top (call stacks listed; 0: all) and long_names (report.h). */
void mp_memory_text(FILE *out, struct mp_memory_report *report,
		    const struct mp_report_options *opts);

/* memory_main.c. `memprof memory ARGS` (argv after the command name); the exit code. */
int mp_memory_main(int argc, char **argv);

/* report_memory_json.c. A new reference, or NULL on out-of-memory; at most `top` call
 * stacks (0: all). */
json_t *mp_memory_json(struct mp_memory_report *report, size_t top);

#endif
