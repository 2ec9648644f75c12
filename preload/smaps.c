/* smaps.c: parsing /proc/self/smaps into one mp_smaps_entry per mapping, without malloc.
 *
 * The file is read in blocks into a caller's buffer and cut into lines by
 * mp_sys_read_lines (sys.c); a header line starts a mapping and the "Key: value kB" lines
 * after it fill its figures. The entry is handed to the callback when the next header (or
 * the end of the file) shows it is complete. A line longer than the buffer (a path near
 * PATH_MAX in a small buffer) is dropped as a whole, as libbpf's /proc parsers do. See
 * proc(5), "/proc/pid/smaps".
 */
#include <string.h>

#include "proc_text.h"
#include "smaps.h"

/* A header line (proc_text.h parses it):
 *   55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                  [heap]
 *   7f1c2a400000-7f1c2a428000 r--p 00000000 fd:01 1312234            /usr/lib/x86_64-linux-gnu/libc.so.6
 * Returns 0 if it is one (entry filled, figures cleared), -1 if not. */
static int smaps_header(struct mp_smaps_entry *entry, const char *line, size_t len)
{
	struct mp_proc_map map;
	if (!mp_proc_map_line(line, len, &map))
		return -1;
	memset(entry->figures, 0, sizeof(entry->figures));
	entry->start = map.start;
	entry->end = map.end;
	entry->offset = map.offset;
	entry->perms = map.perms;
	size_t path_len = map.path_len;
	if (path_len >= sizeof(entry->path))
		path_len = sizeof(entry->path) - 1;
	memcpy(entry->path, map.path, path_len);
	entry->path[path_len] = '\0';
	return 0;
}

/* Keys with their length, so that a line is compared with the few keys as long as its
 * own: a snapshot parses some 25 lines per mapping, and trying each key in turn with
 * strlen and memcmp was two thirds of the instructions of reading smaps. */
#define SMAPS_KEY(text, key) { text, sizeof(text) - 1, key }
static const struct {
	const char *name;
	size_t len; /* up to and including the colon */
	enum mp_smaps_key key;
} smaps_keys[] = {
	SMAPS_KEY("Rss:", MP_SMAPS_RSS),
	SMAPS_KEY("Pss:", MP_SMAPS_PSS),
	SMAPS_KEY("Shared_Clean:", MP_SMAPS_SHARED_CLEAN),
	SMAPS_KEY("Shared_Dirty:", MP_SMAPS_SHARED_DIRTY),
	SMAPS_KEY("Private_Clean:", MP_SMAPS_PRIVATE_CLEAN),
	SMAPS_KEY("Private_Dirty:", MP_SMAPS_PRIVATE_DIRTY),
	SMAPS_KEY("Referenced:", MP_SMAPS_REFERENCED),
	SMAPS_KEY("Anonymous:", MP_SMAPS_ANONYMOUS),
	SMAPS_KEY("AnonHugePages:", MP_SMAPS_ANON_HUGE),
	SMAPS_KEY("ShmemPmdMapped:", MP_SMAPS_SHMEM_PMD),
	SMAPS_KEY("FilePmdMapped:", MP_SMAPS_FILE_PMD),
	SMAPS_KEY("Swap:", MP_SMAPS_SWAP),
	SMAPS_KEY("SwapPss:", MP_SMAPS_SWAP_PSS),
	SMAPS_KEY("Locked:", MP_SMAPS_LOCKED),
};

/* A figure line, "Private_Dirty:        12 kB"; unknown keys are ignored. */
static void smaps_figure(struct mp_smaps_entry *entry, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return;
	size_t key_len = (size_t)(colon - line) + 1;
	for (size_t i = 0; i < sizeof(smaps_keys) / sizeof(smaps_keys[0]); i++) {
		if (key_len != smaps_keys[i].len || memcmp(line, smaps_keys[i].name, key_len) != 0)
			continue;
		const char *at = line + key_len, *end = line + len;
		uint64_t value = 0;
		while (at < end && *at == ' ')
			at++;
		for (; at < end && *at >= '0' && *at <= '9'; at++)
			value = value * 10 + (uint64_t)(*at - '0');
		entry->figures[smaps_keys[i].key] = value * 1024; /* always kB */
		return;
	}
}

void mp_smaps_begin(struct mp_smaps_parser *parser, mp_smaps_fn fn, void *context)
{
	parser->fn = fn;
	parser->context = context;
	parser->open = 0;
	parser->count = 0;
}

void mp_smaps_line(struct mp_smaps_parser *parser, const char *line, size_t len)
{
	/* Header lines start with an address in hex, figure lines with a capital letter. */
	if (len && ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))) {
		if (parser->open)
			parser->fn(&parser->entry, parser->context);
		parser->open = smaps_header(&parser->entry, line, len) == 0;
		parser->count += parser->open;
	} else if (parser->open) {
		smaps_figure(&parser->entry, line, len);
	}
}

long mp_smaps_end(struct mp_smaps_parser *parser)
{
	if (parser->open)
		parser->fn(&parser->entry, parser->context);
	parser->open = 0;
	return (long)parser->count;
}

static int smaps_line(void *parser, const char *text, size_t len)
{
	mp_smaps_line(parser, text, len);
	return 0;
}

long mp_smaps_read(struct mp_smaps_parser *parser, char *buf, size_t buf_len)
{
	/* thread-self, not self: once the main thread has called pthread_exit, /proc/self is
	 * a zombie without an address space and its smaps is empty. */
	int err = mp_sys_read_lines("/proc/thread-self/smaps", buf, buf_len, smaps_line, parser);
	if (err < 0)
		err = mp_sys_read_lines("/proc/self/smaps", buf, buf_len, smaps_line, parser);
	if (err < 0)
		return err;
	return mp_smaps_end(parser);
}
