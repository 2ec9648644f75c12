/* run.h: `memprof run`: a program run with libmemprof.so preloaded, then summarized. */
#ifndef MEMPROF_RUN_H
#define MEMPROF_RUN_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct mp_run_push;

struct mp_run_options {
	const char *output;     /* MEMPROF_OUTPUT pattern (%p, %e); NULL: ./memprof.%e.%p.trace */
	const char *sample;     /* --sample's text, already checked (mp_option_size); NULL: none */
	int quiet_children;     /* summarize only the started process's own images */
	const char *follow;     /* summarize only the processes running this executable */
	const struct mp_run_push *push; /* --push: traces pushed while the program runs
					   (run_push.h); NULL: none */
};

/* Runs argv[0] (resolved through PATH like execvp) with the arguments argv[1..] and
 * libmemprof.so preloaded, as opts says. Prints the summary of every new trace on stderr
 * (run_summary.c). Returns the exit code memprof should end with: the program's status,
 * 128 + signal if a signal killed it, 127/126 if it could not be started, 2 if memprof
 * refused (statically linked program, no library found, bad output pattern). */
int mp_run(char *const argv[], const struct mp_run_options *opts);

/* run_summary.c. Summarizes the traces paths[0..count) that one run wrote, on `out`:
 * one trace in a few lines; several as one table per process tree. root_pid is the
 * process the run started; opts selects what is shown. */
void mp_run_summary(FILE *out, char **paths, size_t count, pid_t root_pid,
		    const struct mp_run_options *opts);

#endif
