/* options.h: the pieces of the command line every subcommand shares.
 *
 * Every option that takes a value takes it either as the next argument ("--top 5") or
 * after '=' ("--top=5"). Values are checked here, once, so that a bad one is refused with
 * one line instead of silently meaning something else.
 */
#ifndef MEMPROF_OPTIONS_H
#define MEMPROF_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

/* Exit code for usage errors and unreadable traces (docs/usage.md, "Exit codes"). */
#define MP_EXIT_USAGE 2

/* Whether argv[*i] is option `name` ("--name"): returns 0 if it is not; 1 if it is, with
 * *value pointing at its value ("--name=VALUE", or the next argument, which *i then
 * moves onto); -1 if it is but no value follows. */
int mp_option_value(int argc, char **argv, int *i, const char *name, const char **value);

/* mp_option_value for option chains ("else if ((value = mp_option_arg(...)))"): the value
 * of option `name` at argv[*i], or NULL if argv[*i] is not that option; *missing is set to
 * 1 if it is, with no value after it. */
const char *mp_option_arg(int argc, char **argv, int *i, const char *name, int *missing);

/* Whether argv[*i] is "--help" or "-h". */
int mp_option_is_help(const char *arg);

/* A size in bytes as libmemprof reads MEMPROF_SAMPLE_BYTES: decimal digits, then
 * optionally k, m or g (either case, powers of 1024), nothing else ("0" is 0). Returns 0
 * with *bytes, -EINVAL for anything else, -ERANGE if it overflows. */
int mp_option_size(const char *text, uint64_t *bytes);

/* A decimal count from 0 to max (no sign, no suffix). Returns 0 or -EINVAL/-ERANGE. */
int mp_option_count(const char *text, uint64_t max, uint64_t *value);

/* Prints "memprof: <prefix>: <message>" and the hint "(see 'memprof <command> --help')"
 * on stderr; returns MP_EXIT_USAGE. */
int mp_option_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
