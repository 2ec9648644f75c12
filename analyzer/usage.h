/* usage.h: what `memprof --help`, `memprof COMMAND --help` and `--version` print. */
#ifndef MEMPROF_USAGE_H
#define MEMPROF_USAGE_H

#include <stdio.h>

/* memprof's own version, and the trace format version it reads (MP_TRACE_VERSION). */
#define MP_MEMPROF_VERSION "0.9.0"

/* Prints the usage of `command` ("run", "report", ...), or of every command for NULL.
 * Returns 0, or -1 for a command that does not exist (nothing printed). */
int mp_usage(FILE *out, const char *command);
/* "memprof 0.9.0 (trace format version 1)". */
void mp_version(FILE *out);

#endif
