/* proc_text.c: parsers of /proc text (proc_text.h); proc(5) documents every format. */
#include <string.h>

#include "memprof/trace_format.h"
#include "proc_text.h"

static int proc_hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Hex digits at *at (up to end); returns how many were read. */
static int proc_hex(const char **at, const char *end, uint64_t *value)
{
	int digits = 0;
	*value = 0;
	for (; *at < end && proc_hex_digit(**at) >= 0; (*at)++, digits++)
		*value = (*value << 4) | (uint64_t)proc_hex_digit(**at);
	return digits;
}

static const char *proc_skip_field(const char *at, const char *end)
{
	while (at < end && *at != ' ')
		at++;
	while (at < end && *at == ' ')
		at++;
	return at;
}

int mp_proc_map_line(const char *line, size_t len, struct mp_proc_map *out)
{
	const char *at = line, *end = line + len;
	if (!proc_hex(&at, end, &out->start) || at >= end || *at++ != '-' ||
	    !proc_hex(&at, end, &out->end) || at + 6 > end || *at++ != ' ')
		return 0;
	out->perms = (at[0] == 'r' ? MP_PERM_READ : 0) | (at[1] == 'w' ? MP_PERM_WRITE : 0) |
		     (at[2] == 'x' ? MP_PERM_EXEC : 0) | (at[3] == 's' ? MP_PERM_SHARED : 0);
	at = proc_skip_field(at, end);
	if (!proc_hex(&at, end, &out->offset))
		return 0;
	at = proc_skip_field(at, end); /* offset */
	at = proc_skip_field(at, end); /* device */
	out->inode = 0;
	for (; at < end && *at >= '0' && *at <= '9'; at++)
		out->inode = out->inode * 10 + (uint64_t)(*at - '0');
	while (at < end && *at == ' ')
		at++;
	out->path = at;
	out->path_len = (size_t)(end - at);
	return 1;
}

int mp_proc_field(const char *text, const char *key, uint64_t *value)
{
	size_t key_len = strlen(key);
	for (const char *line = text; *line;) {
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
			const char *at = line + key_len + 1;
			uint64_t number = 0;
			while (*at == ' ' || *at == '\t')
				at++;
			for (; *at >= '0' && *at <= '9'; at++)
				number = number * 10 + (uint64_t)(*at - '0');
			*value = strncmp(at, " kB", 3) == 0 ? number * 1024 : number;
			return 1;
		}
		const char *newline = strchr(line, '\n');
		if (!newline)
			break;
		line = newline + 1;
	}
	return 0;
}

int mp_proc_number(const char *text, int64_t *value)
{
	int negative = *text == '-';
	text += negative;
	if (*text < '0' || *text > '9')
		return 0;
	int64_t number = 0;
	for (; *text >= '0' && *text <= '9'; text++)
		number = number * 10 + (*text - '0');
	*value = negative ? -number : number;
	return 1;
}

int mp_proc_cgroup(const char *text, char *group, size_t cap)
{
	int found = 0;
	for (const char *line = text; *line;) {
		const char *newline = strchr(line, '\n');
		size_t len = newline ? (size_t)(newline - line) : strlen(line);
		const char *v1 = memmem(line, len, ":memory:", 8);
		const char *v2 = strncmp(line, "0::", 3) == 0 ? line + 3 : NULL;
		const char *start = v1 ? v1 + 8 : v2;
		/* v1's memory controller wins over v2's unified line in a hybrid setup. */
		if (start && (size_t)(line + len - start) < cap && (v1 || !found)) {
			memcpy(group, start, (size_t)(line + len - start));
			group[line + len - start] = '\0';
			found = v1 ? 1 : 2;
		}
		if (!newline)
			break;
		line = newline + 1;
	}
	return found;
}

int mp_proc_thp_mode(const char *text)
{
	if (strstr(text, "[always]"))
		return 0;
	if (strstr(text, "[madvise]"))
		return 1;
	return strstr(text, "[never]") ? 2 : -1;
}

int mp_proc_syscall_sp(const char *text, uint64_t *sp)
{
	const char *fields[16];
	int count = 0;
	for (const char *at = text; *at && count < 16;) {
		while (*at == ' ' || *at == '\n')
			at++;
		if (!*at)
			break;
		fields[count++] = at;
		while (*at && *at != ' ' && *at != '\n')
			at++;
	}
	/* The last two fields are the stack pointer and the program counter, both in hex. */
	if (count < 3 || strncmp(fields[count - 2], "0x", 2) != 0 ||
	    strncmp(fields[count - 1], "0x", 2) != 0)
		return 0;
	const char *at = fields[count - 2] + 2;
	uint64_t value;
	if (!proc_hex(&at, at + 16, &value) || value == 0)
		return 0;
	*sp = value;
	return 1;
}

int mp_proc_task_alive(const char *text)
{
	char state = mp_proc_task_state(text);
	return state && state != 'Z' && state != 'X';
}

char mp_proc_task_state(const char *text)
{
	const char *paren = strrchr(text, ')');
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

int mp_proc_hex_field(const char *text, const char *key, uint64_t *value)
{
	size_t key_len = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
			const char *at = line + key_len + 1;
			while (*at == ' ' || *at == '\t')
				at++;
			return proc_hex(&at, at + 16, value) > 0;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return 0;
}

int mp_proc_statm(const char *text, size_t len, uint64_t pages[3])
{
	const char *at = text, *end = text + len;
	for (int field = 0; field < 3; field++) {
		if (field && (at >= end || *at++ != ' '))
			return 0;
		if (at >= end || *at < '0' || *at > '9')
			return 0;
		pages[field] = 0;
		for (; at < end && *at >= '0' && *at <= '9'; at++)
			pages[field] = pages[field] * 10 + (uint64_t)(*at - '0');
	}
	return 1;
}
