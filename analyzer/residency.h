/* residency.h: joining a memory snapshot with the blocks and mappings live at its time.
 *
 * Pure computation, no I/O: given a decoded snapshot (snapshot_read.h) and the program's live
 * heap blocks, mmap'd regions and brk growth at the snapshot's time, it says how much of
 * each allocation stack's memory is resident, swapped or never touched, sums the
 * mappings by kind, and splits the anonymous RSS into what recorded calls explain, what
 * malloc holds without a live block in it, what nothing recorded explains, and
 * libmemprof's own.
 *
 * Attribution of pages to blocks. A block [addr, addr + size) covers the pages
 * addr / page .. (addr + size - 1) / page. Its resident bytes are the bytes of the block
 * that lie in present pages, its swapped bytes those in swapped pages. A page shared by
 * several blocks is thereby split between them by the bytes each has in it; the bytes of
 * a present page that no live block holds (malloc's headers, free chunks, padding) are
 * nobody's and make up the heap's unexplained part, which is what allocator overhead and
 * fragmentation cost in RSS.
 *
 * Access (a snapshot taken with MEMPROF_SNAPSHOT_ACCESS=1, method MP_ACCESS_REFERENCED):
 * smaps's Referenced: of each mapping is the bytes of its resident pages accessed since
 * the referenced bits were last cleared; the rest of its RSS is cold in that interval.
 * That is per mapping, not per page, so a stack's accessed bytes are known exactly only
 * in a mapping that is its own: where the resident bytes that are not the stack's are at
 * most two pages (malloc's header before a block, the tail of its last page). In a
 * mapping shared with other stacks (or with free memory malloc keeps) they are only
 * bounded: with R referenced, s of its resident bytes there and o the mapping's other
 * resident bytes, at least R - o and at most min(R, s). A stack whose resident bytes all
 * lie in mappings of its own (or whose bounds elsewhere are two pages apart at most) has
 * them exactly, to two pages per mapping; the others have the bounds.
 */
#ifndef MEMPROF_RESIDENCY_H
#define MEMPROF_RESIDENCY_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot_read.h"

/* A live thing of the program: a heap block or a region it mapped or grew with brk. */
struct mp_residency_item {
	uint64_t start, end;  /* [start, end); a heap block's end is start + requested size */
	uint32_t stack_id;
};

enum mp_memory_source { MP_SOURCE_MALLOC, MP_SOURCE_MMAP, MP_SOURCE_BRK, MP_SOURCE_COUNT };

/* One allocation stack's memory from one source. */
struct mp_memory_stack {
	uint32_t stack_id;
	uint32_t source;      /* enum mp_memory_source */
	uint64_t committed;   /* bytes asked for (mappings: their page-rounded length) */
	uint64_t resident;    /* bytes of them in present pages */
	uint64_t swapped;     /* bytes of them in swapped pages */
	uint64_t blocks;      /* blocks, or mappings / brk extensions */
	/* With access measured: of `resident`, the bytes accessed in the snapshot's interval
	 * are within [accessed_min, accessed_max]; accessed_exact when all of them lie in
	 * mappings of the stack's own (then min = max, to two pages per mapping). */
	uint64_t accessed_min, accessed_max;
	int accessed_exact;
};

/* Kinds as reported (JSON "kind"): libmemprof's mappings are counted under the kind they
 * are (its trace chunks are file mappings, its own memory anonymous) and also apart. */
enum mp_memory_kind {
	MP_MEMK_HEAP, MP_MEMK_ANON, MP_MEMK_STACK, MP_MEMK_FILE, MP_MEMK_SHARED, MP_MEMK_OTHER,
	MP_MEMK_COUNT
};

struct mp_memory_kind_totals {
	uint64_t mappings;
	uint64_t size, rss, pss, swap, thp;     /* VIRT, RSS, PSS, swap, huge pages (smaps) */
	uint64_t private_dirty, shared;         /* Private_Dirty; Shared_Clean + Shared_Dirty */
	uint64_t memprof_size, memprof_rss;     /* of which libmemprof's own */
	uint64_t code_rss;                      /* file: objects the program loaded (code, data) */
	uint64_t mmap_rss;                      /* file: other mapped files (page cache) */
	/* With access measured, over the mappings that are not wholly libmemprof's: their
	 * RSS and the part of it accessed in the interval (smaps's Referenced). */
	uint64_t access_rss, accessed;
};

struct mp_memory_result {
	uint64_t virt, rss, pss, swap;          /* sums over every mapping */
	struct mp_memory_kind_totals kinds[MP_MEMK_COUNT];
	struct mp_memory_stack *stacks;         /* sorted by gap (committed - resident), largest first */
	size_t stack_count;
	uint64_t heap_live_bytes, heap_live_blocks; /* the live blocks: committed */
	uint64_t heap_live_resident, heap_live_swapped;
	uint64_t heap_rss;          /* present bytes of malloc's regions */
	uint64_t heap_unexplained;  /* heap_rss - heap_live_resident: allocator overhead, free memory */
	uint64_t mmap_resident, brk_resident; /* of the program's recorded mmap and brk */
	uint64_t anon_program_rss;  /* the part of those in anonymous memory (not files) */
	uint64_t anon_unexplained;  /* anonymous RSS no recorded call explains */
	uint64_t stack_rss;         /* thread and main stacks */
	uint64_t memprof_rss;       /* libmemprof's own resident memory */
	int has_residency;          /* the snapshot had page states */
	int has_access;             /* the snapshot measured access (kinds' and stacks' access) */
	uint64_t access_rss, accessed; /* the kinds' sums */
};

/* Tells whether a file path is an object the program loaded (its code and data). */
typedef int (*mp_memory_is_module_fn)(const char *path, void *context);

struct mp_memory_input {
	const struct mp_snapshot *snapshot;
	const struct mp_residency_item *blocks;  /* live heap blocks, sorted by start */
	size_t block_count;
	const struct mp_residency_item *mmaps;   /* the program's live mappings, sorted, disjoint */
	size_t mmap_count;
	const struct mp_residency_item *brks;    /* the program's brk growth, sorted, disjoint */
	size_t brk_count;
	mp_memory_is_module_fn is_module;        /* may be NULL: every file mapping is "mmap" */
	void *is_module_context;
	/* The trace's sampling mean (0: every block recorded). Sampled heap blocks then stand
	 * for 1/p blocks each (heap_model.h): their committed, resident and swapped bytes and
	 * their count are scaled alike, so the per-stack rows and the heap's live figures are
	 * estimates. mmap and brk regions are recorded in full. */
	uint64_t sample_bytes;
};

/* Computes *result. Returns 0 or -ENOMEM (then *result is empty). */
int mp_memory_compute(const struct mp_memory_input *input, struct mp_memory_result *result);
void mp_memory_result_free(struct mp_memory_result *result);

/* Bytes of [start, end) in present and in swapped pages of the snapshot. */
void mp_memory_range(const struct mp_snapshot *snapshot, uint64_t start, uint64_t end,
		     uint64_t *present, uint64_t *swapped);

/* The reported kind of a mapping. */
enum mp_memory_kind mp_memory_kind_of(const struct mp_snap_mapping *mapping);
const char *mp_memory_kind_name(enum mp_memory_kind kind);
const char *mp_memory_source_name(enum mp_memory_source source);

#endif
