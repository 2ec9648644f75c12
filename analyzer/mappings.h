/* mappings.h: the program's live mmap regions as a sorted set of disjoint intervals.
 *
 * munmap may cut any sub-range out of one or several mappings (trimming or splitting them),
 * mremap moves or resizes, and a MAP_FIXED mmap replaces whatever it overlaps. Lengths are
 * rounded up to the page size, as the kernel does. Kept as a sorted array with binary
 * search: programs hold few explicit mappings, so memmove on insert is cheap.
 */
#ifndef MEMPROF_MAPPINGS_H
#define MEMPROF_MAPPINGS_H

#include <stddef.h>
#include <stdint.h>

struct mp_mapping {
	uint64_t start, end; /* [start, end), page aligned when page_size is set */
	uint32_t stack_id;   /* the mmap (or mremap) that created it */
	/* Mapped PROT_NONE: address space reserved, not memory the program can use until it
	 * changes the protection (mprotect, which traces do not record). */
	int reserved;
};

struct mp_mappings {
	struct mp_mapping *items;
	size_t count, capacity;
	uint64_t page_size;  /* 0 or 1: no rounding */
	uint64_t live_bytes; /* sum of end - start */
	uint64_t reserved_bytes; /* the part of live_bytes in reserved mappings */
};

/* Initializes an empty set that rounds lengths up to page_size (0: no rounding). */
void mp_mappings_init(struct mp_mappings *set, uint64_t page_size);
void mp_mappings_destroy(struct mp_mappings *set);

/* Records a new mapping [addr, addr + length), replacing any overlap; `reserved`: mapped
 * PROT_NONE. Returns 0 or -ENOMEM (then the overlap may already be removed, but the set
 * stays consistent). */
int mp_mappings_map(struct mp_mappings *set, uint64_t addr, uint64_t length, uint32_t stack_id,
		    int reserved);

/* Removes [addr, addr + length) from every mapping it overlaps; returns the bytes removed
 * (0 if none were known) or -ENOMEM (splitting a mapping needs one more slot). */
int64_t mp_mappings_unmap(struct mp_mappings *set, uint64_t addr, uint64_t length);

/* mremap: the old range goes away and [new_addr, new_addr + new_length) appears, owned by
 * the stack of the mapping that held old_addr (and reserved if it was), or by `stack_id`
 * if none did. Returns 0 or -ENOMEM. */
int mp_mappings_remap(struct mp_mappings *set, uint64_t old_addr, uint64_t old_length,
		      uint64_t new_addr, uint64_t new_length, uint32_t stack_id);

/* The mapping containing addr, or NULL. */
const struct mp_mapping *mp_mappings_find(const struct mp_mappings *set, uint64_t addr);

#endif
