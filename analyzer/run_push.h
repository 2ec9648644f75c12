/* run_push.h: `memprof run --push URL`: the program's profiles pushed while it runs. */
#ifndef MEMPROF_RUN_PUSH_H
#define MEMPROF_RUN_PUSH_H

#include <stddef.h>
#include <sys/types.h>

#define MP_RUN_PUSH_MAX_LABELS 32

struct mp_run_push {
	const char *url;            /* NULL: no pushing */
	const char *app;            /* NULL: the program's file name */
	double interval_s;          /* 0: the default, 15 s */
	const char *labels[MP_RUN_PUSH_MAX_LABELS]; /* KEY=VALUE, added to pid=N */
	size_t label_count;
};

/* Parses the run option at argv[0] if it is one of --push URL, --push-interval SECONDS,
 * --app NAME, --label KEY=VALUE (or their --opt=value forms). Returns how many arguments
 * it used (1 or 2), 0 if argv[0] is none of them, or -1 after a usage message on stderr. */
int mp_run_push_option(struct mp_run_push *push, int argc, char **argv);

/* Whether a trace file is one of the run's own (the caller lists the files that existed
 * before the program started). */
typedef int (*mp_run_push_filter)(const void *context, const char *path);

/* While `child` runs, every interval: each trace matching `glob_pattern` that `is_new`
 * accepts is read again (the profiled process writes it; it does no network I/O itself)
 * and the allocations of the window since its last push, with what is live at the end of
 * the window, are pushed, labelled pid=N. A push the server does not take is retried
 * twice with back-off, then dropped with one line on stderr. Returns once the child has
 * exited, after a last push of every trace; the child is left for the caller to reap.
 * `program` names the application when push->app is NULL. SIGINT and SIGQUIT are ignored
 * meanwhile, as while waiting (they reach the program). */
void mp_run_push_watch(const struct mp_run_push *push, pid_t child, const char *program,
		       const char *glob_pattern, mp_run_push_filter is_new, const void *context);

#endif
