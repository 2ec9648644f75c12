/* run.h: `memprof run`: a program run with libmemprof.so preloaded, then summarized. */
#ifndef MEMPROF_RUN_H
#define MEMPROF_RUN_H

struct mp_run_push;

/* Runs argv[0] (resolved through PATH like execvp) with the arguments argv[1..] and
 * libmemprof.so preloaded, writing traces to `output` (a MEMPROF_OUTPUT pattern with %p
 * and %e; NULL: memprof.%e.%p.trace in the current directory). Prints each new trace's
 * path and a summary on stderr. Returns the exit code memprof should end with: the
 * program's status, 128 + signal if a signal killed it, 127/126 if it could not be
 * started, 2 if memprof refused (statically linked program, no library found). With
 * `push` (NULL: none), the traces are pushed while the program runs (run_push.h). */
int mp_run(char *const argv[], const char *output, const struct mp_run_push *push);

#endif
