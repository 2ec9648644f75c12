/* block_ages.c: the allocation bucket of each live block, by address, 8 bytes a block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block_ages.h"

#define AGES_INITIAL 1024u
#define AGES_ADDR_MASK (MP_BLOCK_AGES_ADDR_LIMIT - 1)
#define AGES_TAG_SHIFT 56

/* Fibonacci hashing, as mp_block_ages_prefetch does. */
static size_t ages_home(const struct mp_block_ages *ages, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 24) & ages->mask;
}

int mp_block_ages_init(struct mp_block_ages *ages)
{
	ages->slots = calloc(AGES_INITIAL, sizeof(*ages->slots));
	ages->mask = ages->slots ? AGES_INITIAL - 1 : 0;
	ages->count = 0;
	return ages->slots ? 0 : -ENOMEM;
}

void mp_block_ages_destroy(struct mp_block_ages *ages)
{
	free(ages->slots);
	memset(ages, 0, sizeof(*ages));
}

/* The slot holding addr, or the empty slot where it would go. */
static size_t ages_find(const struct mp_block_ages *ages, uint64_t addr)
{
	size_t i = ages_home(ages, addr);
	while (ages->slots[i] && (ages->slots[i] & AGES_ADDR_MASK) != addr)
		i = (i + 1) & ages->mask;
	return i;
}

/* Doubles the capacity, rehashing every word. 0 or -ENOMEM. */
static int ages_grow(struct mp_block_ages *ages)
{
	struct mp_block_ages bigger = { 0 };
	size_t capacity = (ages->mask + 1) * 2;
	bigger.slots = calloc(capacity, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	bigger.mask = capacity - 1;
	for (size_t i = 0; i <= ages->mask; i++)
		if (ages->slots[i])
			bigger.slots[ages_find(&bigger, ages->slots[i] & AGES_ADDR_MASK)] = ages->slots[i];
	bigger.count = ages->count;
	free(ages->slots);
	*ages = bigger;
	return 0;
}

int mp_block_ages_put(struct mp_block_ages *ages, uint64_t addr, uint8_t tag)
{
	if (addr == 0 || addr >= MP_BLOCK_AGES_ADDR_LIMIT)
		return -ERANGE;
	/* Grow past half full: at 8 bytes a slot, short probe runs cost little memory. */
	if ((ages->count + 1) * 2 > ages->mask + 1 && ages_grow(ages))
		return -ENOMEM;
	size_t i = ages_find(ages, addr);
	if (!ages->slots[i])
		ages->count++;
	ages->slots[i] = addr | (uint64_t)tag << AGES_TAG_SHIFT;
	return 0;
}

int mp_block_ages_get(const struct mp_block_ages *ages, uint64_t addr, uint8_t *tag)
{
	if (addr == 0 || addr >= MP_BLOCK_AGES_ADDR_LIMIT)
		return 0;
	uint64_t word = ages->slots[ages_find(ages, addr)];
	if (!word)
		return 0;
	*tag = (uint8_t)(word >> AGES_TAG_SHIFT);
	return 1;
}

int mp_block_ages_take(struct mp_block_ages *ages, uint64_t addr, uint8_t *tag)
{
	if (addr == 0 || addr >= MP_BLOCK_AGES_ADDR_LIMIT)
		return 0;
	size_t hole = ages_find(ages, addr);
	if (!ages->slots[hole])
		return 0;
	*tag = (uint8_t)(ages->slots[hole] >> AGES_TAG_SHIFT);
	ages->count--;
	/* Backward-shift deletion: pull later words of the run into the hole when their home
	 * is not between the hole and them, so that no lookup needs tombstones. */
	for (size_t i = (hole + 1) & ages->mask; ages->slots[i]; i = (i + 1) & ages->mask) {
		size_t home = ages_home(ages, ages->slots[i] & AGES_ADDR_MASK);
		if (((i - home) & ages->mask) >= ((i - hole) & ages->mask)) {
			ages->slots[hole] = ages->slots[i];
			hole = i;
		}
	}
	ages->slots[hole] = 0;
	return 1;
}

void mp_block_ages_halve(struct mp_block_ages *ages)
{
	for (size_t i = 0; i <= ages->mask; i++) {
		uint64_t word = ages->slots[i];
		if (word)
			ages->slots[i] = (word & AGES_ADDR_MASK) |
					 (uint64_t)((uint8_t)(word >> AGES_TAG_SHIFT) >> 1) << AGES_TAG_SHIFT;
	}
}
