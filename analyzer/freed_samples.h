/* freed_samples.h: the MP_REC_SAMPLES_FREED counts of a sampled trace, summed per stack.
 *
 * A sampled trace with a sampling window counts the sampled blocks freed within the
 * window per stack instead of writing them (trace_format.h). The reader sums those
 * records here as it indexes the chunks, by the writer's stack id (a record may come
 * before the STACK record that defines its id, in an earlier chunk of another thread),
 * and resolves the ids once every STACK record is known. Memory grows with the stacks,
 * never with the number of records.
 */
#ifndef MEMPROF_FREED_SAMPLES_H
#define MEMPROF_FREED_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "trace_tables.h"

/* What the sampled blocks of one stack freed within the window stand for. */
struct mp_freed_samples {
	uint32_t stack_id;       /* canonical id; 0 when the writer's id is not defined */
	uint64_t samples;        /* sampled blocks */
	uint64_t blocks, bytes;  /* the blocks and bytes they stand for (weighted) */
	uint64_t sampled_bytes;  /* their requested sizes, unweighted */
};

struct mp_freed_table {
	struct mp_freed_slot *slots; /* open addressing on the writer's id */
	size_t capacity, count;
	struct mp_freed_samples total;
};

/* Adds one record's body. 0, -EINVAL if it does not decode or its figures cannot be
 * (fewer blocks than samples, or a sum that overflows), -ENOMEM. */
int mp_freed_add_record(struct mp_freed_table *table, const uint8_t *body, const uint8_t *end);

/* Gives every entry its canonical stack id; call when all STACK records are read. */
void mp_freed_resolve(struct mp_freed_table *table, const struct mp_stack_table *stacks);

/* The entry at slot `index` (0 <= index < table->capacity), or NULL if that slot is empty. */
const struct mp_freed_samples *mp_freed_at(const struct mp_freed_table *table, size_t index);

void mp_freed_free(struct mp_freed_table *table);

#endif
