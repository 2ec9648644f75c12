/* suppressions.h: rules that hide known leaks from `memprof leaks`.
 *
 * A suppressions file holds one rule per line; '#' starts a comment, blank lines are
 * ignored. A rule is one or more conditions separated by blanks, all of which must hold,
 * each anywhere in the leak's allocation stack (every frame, inlined ones included):
 *
 *   function:GLOB   the frame's (demangled) function name       (also "fun:")
 *   file:GLOB       its source file                              (also "src:")
 *   module:GLOB     the object it is in, e.g. libfoo.so          (also "obj:")
 *   alloc-module:GLOB  the object of the innermost frame only: the code that called
 *                   malloc (or operator new, calloc, ...)
 *
 * GLOB is a shell pattern (fnmatch(3): *, ?, [...]). A file or module pattern without a
 * '/' is matched against the basename, one with a '/' against the whole path, where '*'
 * also matches '/'. Examples:
 *
 *   function:g_type_register_*
 *   module:libfontconfig.so*
 *   file:*third_party* function:cache_*
 */
#ifndef MEMPROF_SUPPRESSIONS_H
#define MEMPROF_SUPPRESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize.h"

enum mp_supp_field { MP_SUPP_FUNCTION, MP_SUPP_FILE, MP_SUPP_MODULE, MP_SUPP_ALLOC_MODULE };

struct mp_supp_condition {
	enum mp_supp_field field;
	char *pattern;
};

struct mp_supp_rule {
	char *text;          /* the rule as written, for the report */
	char *file;          /* the file it came from */
	uint32_t line;
	struct mp_supp_condition *conditions;
	size_t condition_count;
};

struct mp_suppressions {
	struct mp_supp_rule *rules;
	size_t count;
};

/* Adds the rules of file `path` to *supp (zeroed before the first call). Returns 0, or a
 * negative errno with one line in err: "'PATH': reason" or "'PATH' line N: reason" (an
 * unknown field or an empty pattern). On error *supp keeps the rules of earlier files. */
int mp_suppressions_load(struct mp_suppressions *supp, const char *path, char *err,
			 size_t err_len);
/* Same, from text in memory (`name` stands for the file name in messages and rules). */
int mp_suppressions_parse(struct mp_suppressions *supp, const char *name, const char *text,
			  char *err, size_t err_len);
void mp_suppressions_free(struct mp_suppressions *supp);

/* The index of the first rule matching the stack frames[0..count), or -1. */
int mp_suppressions_match(const struct mp_suppressions *supp, const struct mp_frame *frames,
			  int count);

#endif
