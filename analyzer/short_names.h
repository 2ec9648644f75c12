/* short_names.h: C++ function names with their template arguments elided, for text.
 *
 * "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(...)" prints as
 * "std::vector<>::_M_realloc_insert<>(...)", as heaptrack_print does with
 * --shorten-templates. Only the text reports shorten; JSON, folded stacks and
 * suppressions always see the whole name.
 */
#ifndef MEMPROF_SHORT_NAMES_H
#define MEMPROF_SHORT_NAMES_H

#include <stddef.h>

/* `name` with every template argument list emptied ("<...>" becomes "<>"), written into
 * buf; operator names (operator<, operator<<=, operator->, ...) are kept as they are.
 * Returns `name` itself when there is nothing to elide, when its angle brackets do not
 * balance (then it is not safe to guess), or when buf is too small. */
const char *mp_short_name(const char *name, char *buf, size_t len);

#endif
