/* thread_latest.c: each thread's latest live allocation (thread_latest.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "thread_latest.h"

#define LATEST_INITIAL 64u

int mp_thread_latest_init(struct mp_thread_latest *latest)
{
	memset(latest, 0, sizeof(*latest));
	latest->slots = calloc(LATEST_INITIAL, sizeof(*latest->slots));
	latest->mask = LATEST_INITIAL - 1;
	return latest->slots ? 0 : -ENOMEM;
}

void mp_thread_latest_destroy(struct mp_thread_latest *latest)
{
	free(latest->addr_of);
	free(latest->slots);
	memset(latest, 0, sizeof(*latest));
}

static size_t latest_home(const struct mp_thread_latest *latest, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 24) & latest->mask;
}

static struct mp_thread_latest_slot *latest_probe(const struct mp_thread_latest *latest,
						  uint64_t addr)
{
	size_t i = latest_home(latest, addr);
	while (latest->slots[i].addr && latest->slots[i].addr != addr)
		i = (i + 1) & latest->mask;
	return &latest->slots[i];
}

/* Backward-shift deletion, as in live_blocks.c. */
static void latest_erase(struct mp_thread_latest *latest, struct mp_thread_latest_slot *slot)
{
	size_t hole = (size_t)(slot - latest->slots), i = hole;
	for (;;) {
		i = (i + 1) & latest->mask;
		if (!latest->slots[i].addr)
			break;
		size_t home = latest_home(latest, latest->slots[i].addr);
		if (((i - home) & latest->mask) >= ((i - hole) & latest->mask)) {
			latest->slots[hole] = latest->slots[i];
			hole = i;
		}
	}
	latest->slots[hole] = (struct mp_thread_latest_slot){ 0, 0 };
	latest->count--;
}

static int latest_grow(struct mp_thread_latest *latest)
{
	size_t capacity = (latest->mask + 1) * 2;
	struct mp_thread_latest old = *latest;
	latest->slots = calloc(capacity, sizeof(*latest->slots));
	if (!latest->slots) {
		latest->slots = old.slots;
		return -ENOMEM;
	}
	latest->mask = capacity - 1;
	for (size_t i = 0; i <= old.mask; i++)
		if (old.slots[i].addr)
			*latest_probe(latest, old.slots[i].addr) = old.slots[i];
	free(old.slots);
	return 0;
}

static int latest_serial_room(struct mp_thread_latest *latest, uint32_t serial)
{
	if (serial < latest->serials)
		return 0;
	uint32_t serials = latest->serials ? latest->serials : 64;
	while (serials <= serial)
		serials *= 2;
	uint64_t *grown = realloc(latest->addr_of, serials * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	memset(grown + latest->serials, 0, (serials - latest->serials) * sizeof(*grown));
	latest->addr_of = grown;
	latest->serials = serials;
	return 0;
}

int mp_thread_latest_allocated(struct mp_thread_latest *latest, uint32_t serial, uint64_t addr)
{
	if (latest_serial_room(latest, serial) ||
	    ((latest->count + 1) * 2 > latest->mask + 1 && latest_grow(latest)))
		return -ENOMEM;
	uint64_t previous = latest->addr_of[serial];
	if (previous) {
		struct mp_thread_latest_slot *slot = latest_probe(latest, previous);
		if (slot->addr && slot->serial == serial)
			latest_erase(latest, slot);
	}
	struct mp_thread_latest_slot *slot = latest_probe(latest, addr);
	if (slot->addr) /* another thread's latest at this address was dropped unseen */
		latest->addr_of[slot->serial] = 0;
	else
		latest->count++;
	*slot = (struct mp_thread_latest_slot){ addr, serial };
	latest->addr_of[serial] = addr;
	return 0;
}

uint64_t mp_thread_latest_released(struct mp_thread_latest *latest, uint64_t addr)
{
	struct mp_thread_latest_slot *slot = latest_probe(latest, addr);
	if (!slot->addr)
		return 0;
	uint32_t serial = slot->serial;
	latest->addr_of[serial] = 0;
	latest_erase(latest, slot);
	return (uint64_t)serial + 1;
}
