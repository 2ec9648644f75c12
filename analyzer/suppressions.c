/* suppressions.c: parsing suppression files and matching them against stacks. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suppressions.h"

static int supp_fail(char *err, size_t err_len, const char *name, uint32_t line,
		     const char *why)
{
	if (line)
		snprintf(err, err_len, "'%s' line %u: %s", name, line, why);
	else
		snprintf(err, err_len, "'%s': %s", name, why);
	return -EINVAL;
}

static int supp_field(const char *word, size_t len, enum mp_supp_field *field)
{
	static const struct {
		const char *name;
		enum mp_supp_field field;
	} names[] = {
		{ "function", MP_SUPP_FUNCTION }, { "fun", MP_SUPP_FUNCTION },
		{ "file", MP_SUPP_FILE },         { "src", MP_SUPP_FILE },
		{ "module", MP_SUPP_MODULE },     { "obj", MP_SUPP_MODULE },
		{ "alloc-module", MP_SUPP_ALLOC_MODULE },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len && memcmp(word, names[i].name, len) == 0) {
			*field = names[i].field;
			return 0;
		}
	}
	return -1;
}

static void supp_rule_free(struct mp_supp_rule *rule)
{
	for (size_t i = 0; i < rule->condition_count; i++)
		free(rule->conditions[i].pattern);
	free(rule->conditions);
	free(rule->text);
	free(rule->file);
}

/* Parses one rule line (trimmed, not empty) into *rule. 0, -EINVAL (message) or -ENOMEM. */
static int supp_parse_rule(struct mp_supp_rule *rule, const char *name, uint32_t number,
			   const char *line, size_t len, char *err, size_t err_len)
{
	memset(rule, 0, sizeof(*rule));
	rule->text = strndup(line, len);
	rule->file = strdup(name);
	rule->line = number;
	rule->conditions = calloc(len / 2 + 1, sizeof(*rule->conditions));
	if (!rule->text || !rule->file || !rule->conditions)
		return -ENOMEM;
	for (size_t at = 0; at < len;) {
		size_t word = at;
		while (at < len && line[at] != ' ' && line[at] != '\t')
			at++;
		const char *colon = memchr(line + word, ':', at - word);
		struct mp_supp_condition *condition = &rule->conditions[rule->condition_count];
		if (!colon || supp_field(line + word, (size_t)(colon - line - word), &condition->field))
			return supp_fail(err, err_len, name, number,
					 "expected function:GLOB, file:GLOB, module:GLOB or "
					 "alloc-module:GLOB");
		if (colon + 1 == line + at)
			return supp_fail(err, err_len, name, number, "empty pattern");
		condition->pattern = strndup(colon + 1, (size_t)(line + at - colon - 1));
		if (!condition->pattern)
			return -ENOMEM;
		rule->condition_count++;
		while (at < len && (line[at] == ' ' || line[at] == '\t'))
			at++;
	}
	return 0;
}

int mp_suppressions_parse(struct mp_suppressions *supp, const char *name, const char *text,
			  char *err, size_t err_len)
{
	uint32_t number = 0;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *next = end ? end + 1 : line + len;
		number++;
		const char *hash = memchr(line, '#', len);
		if (hash)
			len = (size_t)(hash - line);
		while (len && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
			len--;
		if (len) {
			void *grown = realloc(supp->rules, (supp->count + 1) * sizeof(*supp->rules));
			if (!grown)
				return supp_fail(err, err_len, name, 0, "out of memory");
			supp->rules = grown;
			struct mp_supp_rule *rule = &supp->rules[supp->count];
			int rc = supp_parse_rule(rule, name, number, line, len, err, err_len);
			if (rc < 0) {
				supp_rule_free(rule);
				return rc == -ENOMEM ? supp_fail(err, err_len, name, 0, "out of memory")
						     : rc;
			}
			supp->count++;
		}
		line = next;
	}
	return 0;
}

int mp_suppressions_load(struct mp_suppressions *supp, const char *path, char *err,
			 size_t err_len)
{
	FILE *file = fopen(path, "re");
	if (!file) {
		int code = -errno;
		supp_fail(err, err_len, path, 0, strerror(-code));
		return code;
	}
	size_t len = 0, cap = 4096;
	char *text = malloc(cap);
	while (text) {
		len += fread(text + len, 1, cap - 1 - len, file);
		if (len + 1 < cap)
			break;
		char *grown = realloc(text, cap * 2);
		if (!grown) {
			free(text);
			text = NULL;
			break;
		}
		text = grown;
		cap *= 2;
	}
	int failed = ferror(file);
	fclose(file);
	if (!text) {
		supp_fail(err, err_len, path, 0, "out of memory");
		return -ENOMEM;
	}
	text[len] = '\0';
	int rc = failed ? supp_fail(err, err_len, path, 0, "read error")
			: mp_suppressions_parse(supp, path, text, err, err_len);
	free(text);
	return rc;
}

void mp_suppressions_free(struct mp_suppressions *supp)
{
	for (size_t i = 0; i < supp->count; i++)
		supp_rule_free(&supp->rules[i]);
	free(supp->rules);
	memset(supp, 0, sizeof(*supp));
}

static const char *supp_basename(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static int supp_frame_matches(const struct mp_supp_condition *condition,
			      const struct mp_frame *frame)
{
	const char *value = NULL;
	switch (condition->field) {
	case MP_SUPP_FUNCTION:
		value = frame->function;
		break;
	case MP_SUPP_FILE:
		value = frame->file;
		break;
	case MP_SUPP_MODULE:
	case MP_SUPP_ALLOC_MODULE:
		value = frame->module;
		break;
	}
	if (!value)
		return 0;
	if (condition->field != MP_SUPP_FUNCTION && !strchr(condition->pattern, '/'))
		value = supp_basename(value);
	return fnmatch(condition->pattern, value, 0) == 0;
}

static int supp_rule_matches(const struct mp_supp_rule *rule, const struct mp_frame *frames,
			     int count)
{
	for (size_t c = 0; c < rule->condition_count; c++) {
		/* alloc-module: the innermost frame alone, the code that allocated. */
		int frames_seen = rule->conditions[c].field == MP_SUPP_ALLOC_MODULE && count > 0 ? 1
												: count;
		int found = 0;
		for (int f = 0; f < frames_seen && !found; f++)
			found = supp_frame_matches(&rule->conditions[c], &frames[f]);
		if (!found)
			return 0;
	}
	return rule->condition_count > 0;
}

int mp_suppressions_match(const struct mp_suppressions *supp, const struct mp_frame *frames,
			  int count)
{
	for (size_t i = 0; supp && i < supp->count; i++)
		if (supp_rule_matches(&supp->rules[i], frames, count))
			return (int)i;
	return -1;
}
