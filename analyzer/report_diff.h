/* report_diff.h: the printers of `memprof diff`: text, JSON (docs/json.md), folded. */
#ifndef MEMPROF_REPORT_DIFF_H
#define MEMPROF_REPORT_DIFF_H

#include <stdio.h>

#include <jansson.h>

#include "diff.h"

/* The changed stacks, largest change first, then a count of the unchanged ones. */
void mp_diff_text(FILE *out, struct mp_diff *diff, const char *base_path, const char *new_path);
/* A new reference, or NULL on out-of-memory. */
json_t *mp_diff_json(struct mp_diff *diff);
/* flamegraph.pl's differential input, "frames base new" per stack (difffolded.pl's
 * output): bytes, or calls for the calls metric. Returns 0 or a negative errno. */
int mp_diff_folded(FILE *out, struct mp_diff *diff);

/* diff_main.c. `memprof diff ARGS` (argv after the command name); the exit code. */
int mp_diff_main(int argc, char **argv);

#endif
