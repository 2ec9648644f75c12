/* stack_hash.h: the 128-bit hash stacks are interned by (stack_hash.c holds its keys), a
 * feature.
 *
 * The frames are taken outermost first, two at a time, each plus its position's key,
 * multiplied into 128 bits and summed (NH, the universal hash of UMAC): two different
 * stacks of the same length collide in a lane with probability 2^-64 whatever their
 * frames, and a second lane with the keys shifted by two positions (Toeplitz) makes it
 * 2^-128. One multiply a frame, no chain between them. Positions count from the outermost
 * frame so that stacks sharing their outer frames share the sums of those pairs:
 * unwind.c keeps them with the thread's last walk, and a walk that joins it hashes only
 * its own frames (stacks.c).
 */
#ifndef MEMPROF_PRELOAD_STACK_HASH_H
#define MEMPROF_PRELOAD_STACK_HASH_H

#include <stdint.h>

#include "base.h"

/* A key per position, and three more: pairs read two keys past their own. */
#define MP_STACK_HASH_KEYS ((int)MP_MAX_FRAMES_LIMIT + 3)
extern uint64_t mp_stack_hash_keys[MP_STACK_HASH_KEYS];
/* Once, before the first hash: the keys, from a fixed seed (the stacks are the program's
 * own addresses; nobody chooses them against the keys). */
void mp_stack_hash_init(void);

/* The two lanes' sums over the pairs of frames so far. */
struct mp_stack_hash_sum {
	unsigned __int128 a, b;
};

/* Adds the frames at positions position (even) and position + 1. */
static inline void mp_stack_hash_pair(struct mp_stack_hash_sum *sum, int position, uint64_t outer,
				      uint64_t inner)
{
	const uint64_t *keys = mp_stack_hash_keys + position;
	sum->a += (unsigned __int128)(outer + keys[0]) * (inner + keys[1]);
	sum->b += (unsigned __int128)(outer + keys[2]) * (inner + keys[3]);
}

/* The hash of count frames whose pairs below count & ~1 are in sum; the last frame of an
 * odd count (at position count - 1) is added alone, with a zero. The count and the
 * module generation are mixed in at the end; hash_a is never 0 (an empty slot). */
static inline void mp_stack_hash_final(struct mp_stack_hash_sum sum, int count, uint64_t last,
				       uint32_t generation, uint64_t *hash_a, uint64_t *hash_b)
{
	if (count & 1) {
		const uint64_t *keys = mp_stack_hash_keys + count - 1;
		sum.a += (unsigned __int128)(last + keys[0]) * keys[1];
		sum.b += (unsigned __int128)(last + keys[2]) * keys[3];
	}
	uint64_t seed = ((uint64_t)generation << 32) ^ (uint64_t)count;
	*hash_a = mp_mix64((uint64_t)sum.a ^ mp_mix64((uint64_t)(sum.a >> 64) ^ seed)) | 1;
	*hash_b = mp_mix64((uint64_t)sum.b ^ mp_mix64((uint64_t)(sum.b >> 64) + seed));
}

#endif
