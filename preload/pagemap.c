/* pagemap.c: the state of every page of a mapping, from /proc/self/pagemap, run-length
 * encoded into RESIDENCY records (trace_format.h).
 *
 * pagemap holds 8 bytes per virtual page: bit 63 "present in RAM", bit 62 "swapped"; the
 * frame numbers are zeroed for unprivileged readers since Linux 4.0 but these flags remain
 * (Documentation/admin-guide/mm/pagemap.rst).
 *
 * A page the program only read, never wrote, maps the kernel's shared zero page: present
 * for pagemap, but in nobody's RSS (smaps counts no page that is not a normal one). In a
 * private anonymous mapping, a normal page the process alone maps has bit 56 ("exclusively
 * mapped") set, and the zero page never does (it has no mapcount; the huge zero page of a
 * THP region even reads as a file page, bit 61). So where smaps says the mapping shares no
 * page with anyone (no fork's copy-on-write pages, no KSM merge), a present page without
 * bit 56, or with bit 61, is the zero page and is written as absent. Measured on Linux
 * 6.18: 8 MiB read whole then half written gave 2048 present pages, 1024 of them
 * exclusive, and smaps Rss 4096 kB. (The program runs on meanwhile: a fork between the
 * mapping's smaps line and its pagemap read would have that one snapshot call the pages
 * it now shares absent.) mincore(2) would answer "present" only,
 * not "swapped", and only per page of a mapped file or anonymous range alike; pagemap
 * answers both in one read. Runs are what make this cheap to store: a block written from
 * its start is one or two runs whatever its size.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memprof/varint.h"
#include "pagemap.h"

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)
#define PAGEMAP_FILE (1ull << 61)
#define PAGEMAP_EXCLUSIVE (1ull << 56)

static void pagemap_emit(struct mp_pagemap_writer *writer)
{
	uint8_t *at = writer->body;
	at = mp_put_u(at, writer->seq);
	at = mp_put_u(at, writer->record_start);
	at = mp_put_u(at, writer->run_count);
	for (size_t i = 0; i < writer->runs_len; i++)
		*at++ = writer->runs[i];
	mp_encode_extended(writer->thread, MP_REC_RESIDENCY, writer->body,
			   (size_t)(at - writer->body));
	writer->records++;
	writer->record_start += writer->record_pages * writer->page_size;
	writer->record_pages = 0;
	writer->run_count = 0;
	writer->runs_len = 0;
}

static void pagemap_close_run(struct mp_pagemap_writer *writer)
{
	if (writer->runs_len + MP_VARINT_MAX > writer->runs_cap)
		pagemap_emit(writer);
	uint8_t *at = mp_put_u(writer->runs + writer->runs_len,
			       (writer->run_pages << 2) | writer->run_state);
	writer->runs_len = (size_t)(at - writer->runs);
	writer->run_count++;
	writer->record_pages += writer->run_pages;
	writer->run_pages = 0;
}

void mp_pagemap_flush(struct mp_pagemap_writer *writer)
{
	if (writer->run_pages)
		pagemap_close_run(writer);
	if (writer->run_count)
		pagemap_emit(writer);
}

void mp_pagemap_add(struct mp_pagemap_writer *writer, uint64_t page_addr, uint64_t pages,
		      unsigned state)
{
	if (!pages)
		return;
	if (writer->run_count == 0 && writer->run_pages == 0) {
		writer->record_start = page_addr;
		writer->record_pages = 0;
	} else {
		uint64_t covered = writer->record_pages + writer->run_pages;
		if (page_addr != writer->record_start + covered * writer->page_size) {
			mp_pagemap_flush(writer); /* not contiguous: a record of its own */
			writer->record_start = page_addr;
			writer->record_pages = 0;
		}
	}
	if (writer->run_pages && state != writer->run_state)
		pagemap_close_run(writer);
	writer->run_state = state;
	writer->run_pages += pages;
}

unsigned mp_pagemap_state(uint64_t entry, enum mp_pagemap_read how)
{
	if (entry & PAGEMAP_PRESENT) {
		if (how == MP_PAGEMAP_READ_ZERO_ABSENT &&
		    (entry & (PAGEMAP_EXCLUSIVE | PAGEMAP_FILE)) != PAGEMAP_EXCLUSIVE)
			return MP_PAGE_ABSENT; /* the zero page (see the top) */
		return MP_PAGE_PRESENT;
	}
	return entry & PAGEMAP_SWAPPED ? MP_PAGE_SWAPPED : MP_PAGE_ABSENT;
}

int mp_pagemap_range(struct mp_pagemap_writer *writer, uint64_t start, uint64_t end,
		       enum mp_pagemap_read how)
{
	uint64_t page = writer->page_size;
	if (how == MP_PAGEMAP_NONE) {
		mp_pagemap_add(writer, start, (end - start) / page, MP_PAGE_ABSENT);
		return 0;
	}
	if (writer->pagemap_fd < 0)
		return -1;
	for (uint64_t addr = start; addr < end;) {
		uint64_t want = (end - addr) / page;
		if (want > writer->pagemap_entries)
			want = writer->pagemap_entries;
		long got = syscall(SYS_pread64, writer->pagemap_fd, writer->pagemap, want * 8,
				   (addr / page) * 8);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 8)
			return -1;
		uint64_t entries = (uint64_t)got / 8, run_from = 0;
		for (uint64_t i = 1; i <= entries; i++) {
			if (i < entries && mp_pagemap_state(writer->pagemap[i], how) ==
					   mp_pagemap_state(writer->pagemap[run_from], how))
				continue;
			mp_pagemap_add(writer, addr + run_from * page, i - run_from,
					 mp_pagemap_state(writer->pagemap[run_from], how));
			run_from = i;
		}
		addr += entries * page;
	}
	return 0;
}
