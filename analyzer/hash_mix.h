/* hash_mix.h: the one 64-bit mixer of the analyzer's open-addressing tables. */
#ifndef MEMPROF_HASH_MIX_H
#define MEMPROF_HASH_MIX_H

#include <stdint.h>

/* splitmix64's finalizer: every bit of the key reaches the low bits that index a table
 * (a plain multiply leaves a key's high half out of them). */
static inline uint64_t mp_hash_mix64(uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebull;
	key ^= key >> 31;
	return key;
}

#endif
