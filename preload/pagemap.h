/* pagemap.h: the state of every page of a mapping, from /proc/self/pagemap, run-length
 * encoded into RESIDENCY records (pagemap.c), for the memory snapshots. Fixed buffers
 * given by the caller, raw system calls.
 */
#ifndef MEMPROF_PRELOAD_PAGEMAP_H
#define MEMPROF_PRELOAD_PAGEMAP_H

#include "encode.h"

struct mp_pagemap_writer {
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

/* How a mapping's pages are read: not at all (smaps says it has no resident or swapped
 * page: every page is written as absent), from pagemap, or from pagemap with the zero
 * page told apart (a private anonymous mapping that shares no page; see pagemap.c). */
enum mp_pagemap_read {
	MP_PAGEMAP_NONE,
	MP_PAGEMAP_READ,
	MP_PAGEMAP_READ_ZERO_ABSENT,
};

/* Writes the states of the pages of [start, end) (page aligned), read as `how` says.
 * Returns 0, or -1 if pagemap could not be read (what was read is written). */
int mp_pagemap_range(struct mp_pagemap_writer *writer, uint64_t start, uint64_t end,
		       enum mp_pagemap_read how);
/* A pagemap entry's state (enum mp_page_state), read as `how` says; exposed for tests. */
unsigned mp_pagemap_state(uint64_t entry, enum mp_pagemap_read how);
/* Pure encoding step, exposed for tests: appends `pages` pages in `state`. */
void mp_pagemap_add(struct mp_pagemap_writer *writer, uint64_t page_addr, uint64_t pages,
		      unsigned state);
/* Writes the open record, if any. */
void mp_pagemap_flush(struct mp_pagemap_writer *writer);

#endif
