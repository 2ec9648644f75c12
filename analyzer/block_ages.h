/* block_ages.h: a small tag (the time bucket it was allocated in) per live heap block.
 *
 * memprof html needs, for each block freed, when it was allocated; the heap model keeps
 * size and stack but no time (its 16-byte slots have no room, and no other command pays
 * for one). So the command that needs it keeps this second map beside the model: one
 * 8-byte word per block, the address in the low 56 bits (user-space addresses of x86-64
 * and arm64 fit in 48) and the tag in the high 8. Open addressing with linear probing and
 * backward-shift deletion, like live_blocks.h; the word 0 marks an empty slot.
 */
#ifndef MEMPROF_BLOCK_AGES_H
#define MEMPROF_BLOCK_AGES_H

#include <stddef.h>
#include <stdint.h>

#define MP_BLOCK_AGES_ADDR_LIMIT (1ull << 56)

struct mp_block_ages {
	uint64_t *slots;
	size_t mask;   /* capacity - 1, a power of two */
	size_t count;
};

/* Initializes an empty map. Returns 0 or -ENOMEM. */
int mp_block_ages_init(struct mp_block_ages *ages);
void mp_block_ages_destroy(struct mp_block_ages *ages);

/* Sets the tag of `addr` (0 < addr < MP_BLOCK_AGES_ADDR_LIMIT), replacing any. Returns
 * 0, or -ENOMEM (the map is unchanged), or -ERANGE for an address that does not fit. */
int mp_block_ages_put(struct mp_block_ages *ages, uint64_t addr, uint8_t tag);

/* Removes `addr`: returns 1 with its tag in *tag, or 0 if it is not there. */
int mp_block_ages_take(struct mp_block_ages *ages, uint64_t addr, uint8_t *tag);

/* The tag of `addr` into *tag: 1, or 0 if it is not there. */
int mp_block_ages_get(const struct mp_block_ages *ages, uint64_t addr, uint8_t *tag);

/* Halves every tag (the buckets just became twice as wide). */
void mp_block_ages_halve(struct mp_block_ages *ages);

/* A hint: brings the slot of `addr` into the cache. */
static inline __attribute__((always_inline)) void mp_block_ages_prefetch(
	const struct mp_block_ages *ages, uint64_t addr)
{
	__builtin_prefetch(&ages->slots[((addr * 0x9e3779b97f4a7c15ull) >> 24) & ages->mask], 0, 3);
}

#endif
