/* smaps.h: the /proc/self/smaps reader of the memory snapshots (smaps.c).
 *
 * It works in caller-provided fixed buffers with raw system calls: it runs inside the
 * profiled process, from its exit path, a signal-woken thread or an allocation.
 */
#ifndef MEMPROF_PRELOAD_SMAPS_H
#define MEMPROF_PRELOAD_SMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"

#define MP_SMAPS_KEYS 16 /* above the largest enum mp_smaps_key */

/* One mapping of /proc/self/smaps. */
struct mp_smaps_entry {
	uint64_t start, end, offset;
	uint32_t perms;                   /* MP_PERM_* */
	uint64_t figures[MP_SMAPS_KEYS];  /* bytes, indexed by enum mp_smaps_key; 0 if absent */
	char path[4096];                  /* "" for anonymous memory */
};

typedef void (*mp_smaps_fn)(const struct mp_smaps_entry *entry, void *context);

struct mp_smaps_parser {
	mp_smaps_fn fn;
	void *context;
	int open;          /* entry holds a mapping not yet handed to fn */
	uint64_t count;
	struct mp_smaps_entry entry;
};

/* smaps.c. Line-level interface (tests feed it text): begin, one call per line without
 * its newline, end. fn is called once per complete mapping; end returns how many. */
void mp_smaps_begin(struct mp_smaps_parser *parser, mp_smaps_fn fn, void *context);
void mp_smaps_line(struct mp_smaps_parser *parser, const char *line, size_t len);
long mp_smaps_end(struct mp_smaps_parser *parser);
/* Reads /proc/self/smaps through parser (after mp_smaps_begin) with buf as the read
 * buffer; returns the number of mappings or -errno if the file cannot be opened. */
long mp_smaps_read(struct mp_smaps_parser *parser, char *buf, size_t buf_len);

#endif
