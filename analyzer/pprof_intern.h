/* pprof_intern.h: the lookups a pprof profile is built with: strings to their index in the
 * string table, and any other key (a function, a location, a mapping) to its entry.
 *
 * profile.proto refers to everything by index or id: every string once in string_table,
 * every function, location and mapping once with its id. The builder (pprof.c) keeps the
 * entries in its own arrays; an index here maps a 64-bit hash of a key to the entries
 * with that hash, and the builder's equality callback decides, so that two keys whose
 * hashes collide stay two entries.
 */
#ifndef MEMPROF_PPROF_INTERN_H
#define MEMPROF_PPROF_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Hash -> entry number (0-based), open addressing. */
struct mp_pprof_index {
	struct mp_pprof_slot *slots;
	size_t capacity, count;
};

/* Whether entry `item` is the key the caller looks for. */
typedef int (*mp_pprof_same_fn)(const void *context, uint32_t item);

/* The entry with this hash that `same` accepts, or -1 if none. */
int64_t mp_pprof_index_find(const struct mp_pprof_index *index, uint64_t hash,
			    mp_pprof_same_fn same, const void *context);
/* Adds entry `item` under `hash` (the caller has checked it is not there). 0 or -ENOMEM. */
int mp_pprof_index_add(struct mp_pprof_index *index, uint64_t hash, uint32_t item);
void mp_pprof_index_free(struct mp_pprof_index *index);

/* The string table: items[0] is "", as profile.proto requires. */
struct mp_pprof_strings {
	char **items;
	size_t count, cap;
	struct mp_pprof_index index;
};

/* The index of `text` in the table, adding a copy of it if new (NULL is ""). Returns the
 * index (>= 0) or -ENOMEM. */
int64_t mp_pprof_string(struct mp_pprof_strings *strings, const char *text);
void mp_pprof_strings_free(struct mp_pprof_strings *strings);

/* 64-bit hashes (FNV-1a and a mixer) for keys made of bytes and numbers. */
uint64_t mp_pprof_hash_bytes(uint64_t hash, const void *data, size_t len);
uint64_t mp_pprof_hash_u64(uint64_t hash, uint64_t value);
#define MP_PPROF_HASH_SEED 0xcbf29ce484222325ull

#endif
