/* smaps.h: /proc/self/smaps and /proc/self/pagemap readers of the memory snapshots.
 *
 * Both work in caller-provided fixed buffers with raw system calls: they run inside the
 * profiled process, from its exit path, a signal-woken thread or an allocation.
 */
#ifndef MEMPROF_PRELOAD_SMAPS_H
#define MEMPROF_PRELOAD_SMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

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

/* residency.c. Run-length encoder of page states into RESIDENCY records. */
struct mp_residency_writer {
	struct mp_thread *thread;
	uint64_t seq, page_size;
	uint64_t *pagemap;      /* scratch for pagemap entries */
	size_t pagemap_entries;
	uint8_t *runs;          /* scratch for encoded runs, runs_cap bytes */
	size_t runs_cap;
	uint8_t *body;          /* scratch for a record body, runs_cap + 32 bytes */
	int pagemap_fd;         /* -1: unreadable; only "no page" runs are written */
	uint64_t records;       /* RESIDENCY records written */
	/* The record being filled. */
	uint64_t record_start;  /* address of its first page */
	uint64_t record_pages;  /* pages of its closed runs */
	uint64_t run_count;
	size_t runs_len;
	uint64_t run_pages;     /* the open run */
	unsigned run_state;
};

/* Writes the states of the pages of [start, end) (page aligned). With read_pages 0 every
 * page is written as absent without reading pagemap (a mapping whose smaps says it has
 * no resident or swapped page). Returns 0, or -1 if pagemap could not be read (what was
 * read is written). */
int mp_residency_range(struct mp_residency_writer *writer, uint64_t start, uint64_t end,
		       int read_pages);
/* Pure encoding step, exposed for tests: appends `pages` pages in `state`. */
void mp_residency_add(struct mp_residency_writer *writer, uint64_t page_addr, uint64_t pages,
		      unsigned state);
/* Writes the open record, if any. */
void mp_residency_flush(struct mp_residency_writer *writer);

#endif
