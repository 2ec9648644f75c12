/* short_names.c: eliding template arguments from demangled C++ names (heaptrack's way),
 * and generic arguments from Rust's. A Rust name that begins with angle brackets
 * (`<demo::Holder>::new`, `<Vec<u8> as Drop>::drop`) begins with a path, the type a
 * method belongs to: those brackets and what they hold stay, the arguments within them
 * go (`<Vec<> as Drop>::drop`). */
#include <ctype.h>
#include <string.h>

#include "short_names.h"

/* The operator spelled at `at` right after the word "operator", longest first, so that
 * its angle brackets are not taken for a template's. */
static size_t short_operator_len(const char *at)
{
	static const char *const tokens[] = { "<<=", ">>=", "<=>", "->*", "<<", ">>", "<=",
					      ">=", "->", "<", ">" };
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strncmp(at, tokens[i], strlen(tokens[i])) == 0)
			return strlen(tokens[i]);
	return 0;
}

/* Length of "operator" plus the operator token at name + i, or 0 if none starts there. */
static size_t short_operator_at(const char *name, size_t i)
{
	if (strncmp(name + i, "operator", 8) != 0)
		return 0;
	if (i > 0 && (isalnum((unsigned char)name[i - 1]) || name[i - 1] == '_'))
		return 0;
	size_t token = short_operator_len(name + i + 8);
	return token ? 8 + token : 0;
}

const char *mp_short_name(const char *name, char *buf, size_t len)
{
	size_t out = 0;
	int depth = 0, elided = 0;

	if (!name || !strchr(name, '<') || len == 0)
		return name;
	int qualified = name[0] == '<'; /* a Rust type's path, open */
	for (size_t i = qualified; name[i]; i++) {
		if (i == 1 && qualified)
			buf[out++] = '<';
		size_t op = short_operator_at(name, i);
		if (op) {
			if (depth == 0 && out + op >= len)
				return name;
			for (size_t k = 0; k < op && depth == 0; k++)
				buf[out++] = name[i + k];
			i += op - 1;
			continue;
		}
		char c = name[i];
		if (c == '<' && depth++ > 0) {
			elided = 1;
			continue;
		}
		if (c == '>' && depth == 0 && qualified) {
			qualified = 0;
			if (out + 1 >= len)
				return name;
			buf[out++] = c;
			continue;
		}
		if (c == '>' && --depth < 0)
			return name;
		if (depth > 0 && c != '<') {
			elided = 1;
			continue;
		}
		if (out + 1 >= len)
			return name;
		buf[out++] = c;
	}
	if (depth != 0 || qualified || !elided)
		return name;
	buf[out] = '\0';
	return buf;
}
