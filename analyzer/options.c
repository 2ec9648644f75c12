/* options.c: option values ("--name VALUE" or "--name=VALUE"), sizes and counts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

int mp_option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);

	if (strncmp(arg, name, len) != 0)
		return 0;
	if (arg[len] == '=') {
		*value = arg + len + 1;
		return 1;
	}
	if (arg[len] != '\0')
		return 0;
	/* "--output --sample" would take the next option for a file name: refuse it. */
	if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
		return -1;
	*value = argv[++*i];
	return 1;
}

const char *mp_option_arg(int argc, char **argv, int *i, const char *name, int *missing)
{
	const char *value = NULL;
	if (mp_option_value(argc, argv, i, name, &value) < 0)
		*missing = 1;
	return value;
}

int mp_option_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* The same grammar as preload/config.c's parse_bytes, with its overflow bound, so that a
 * size accepted here is the size the library will use. */
int mp_option_size(const char *text, uint64_t *bytes)
{
	uint64_t value = 0;
	int digits = 0;

	for (; *text >= '0' && *text <= '9'; text++, digits++) {
		if (value > UINT64_MAX / 10 / 1024 / 1024 / 1024)
			return -ERANGE;
		value = value * 10 + (uint64_t)(*text - '0');
	}
	if (!digits)
		return -EINVAL;
	switch (*text) {
	case 'k': case 'K': value <<= 10; text++; break;
	case 'm': case 'M': value <<= 20; text++; break;
	case 'g': case 'G': value <<= 30; text++; break;
	default: break;
	}
	if (*text)
		return -EINVAL;
	*bytes = value;
	return 0;
}

int mp_option_count(const char *text, uint64_t max, uint64_t *value)
{
	uint64_t result = 0;

	if (!*text)
		return -EINVAL;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -EINVAL;
		if (result > (max - (uint64_t)(*text - '0')) / 10)
			return -ERANGE;
		result = result * 10 + (uint64_t)(*text - '0');
	}
	*value = result;
	return 0;
}

int mp_option_error(const char *command, const char *fmt, ...)
{
	va_list args;

	fprintf(stderr, "memprof: %s%s", command ? command : "", command ? ": " : "");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, " (see 'memprof%s%s --help')\n", command ? " " : "", command ? command : "");
	return MP_EXIT_USAGE;
}
