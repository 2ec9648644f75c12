/* pprof_main.h: the command lines of `memprof pprof` and `memprof push`. */
#ifndef MEMPROF_PPROF_MAIN_H
#define MEMPROF_PPROF_MAIN_H

/* Exit code of `push` when the server could not take the profile. */
#define MP_PUSH_EXIT_FAILED 1

/* `memprof pprof ARGS` and `memprof push ARGS` (argv after the command name): the exit
 * code, 0 on success, MP_PUSH_EXIT_FAILED for a push the server did not take, 2 for a
 * usage error or a trace that cannot be read. */
int mp_pprof_main(int argc, char **argv);
int mp_push_main(int argc, char **argv);

#endif
