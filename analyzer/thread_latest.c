/* thread_latest.c: each thread's latest live allocation (thread_latest.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "thread_latest.h"

/* At least twice as many chains as threads, so that most chains hold one thread. */
#define LATEST_MIN_HEAD_BITS 6u
#define LATEST_MIN_SERIALS 64u

int mp_thread_latest_init(struct mp_thread_latest *latest)
{
	memset(latest, 0, sizeof(*latest));
	latest->heads = calloc(1u << LATEST_MIN_HEAD_BITS, sizeof(*latest->heads));
	latest->head_bits = LATEST_MIN_HEAD_BITS;
	return latest->heads ? 0 : -ENOMEM;
}

void mp_thread_latest_destroy(struct mp_thread_latest *latest)
{
	free(latest->addr_of);
	free(latest->next);
	free(latest->heads);
	memset(latest, 0, sizeof(*latest));
}

/* The chain of an address: the top bits of its Fibonacci hash. */
static inline uint32_t *latest_head(const struct mp_thread_latest *latest, uint64_t addr)
{
	return &latest->heads[(addr * 0x9e3779b97f4a7c15ull) >> (64 - latest->head_bits)];
}

/* Takes thread `serial` out of the chain that starts at *head. */
static inline void latest_unlink(struct mp_thread_latest *latest, uint32_t *head, uint32_t serial)
{
	uint32_t *link = head;
	while (*link && *link != serial + 1)
		link = &latest->next[*link - 1];
	if (*link)
		*link = latest->next[serial];
}

static inline void latest_push(struct mp_thread_latest *latest, uint32_t *head, uint32_t serial)
{
	latest->next[serial] = *head;
	*head = serial + 1;
}

/* The thread of the chain at *head whose latest allocation is at addr, + 1; 0 if none. */
static inline uint32_t latest_owner(const struct mp_thread_latest *latest, const uint32_t *head,
				    uint64_t addr)
{
	uint32_t at = *head;
	while (at && latest->addr_of[at - 1] != addr)
		at = latest->next[at - 1];
	return at;
}

/* Rebuilds the chains over `bits` bits of hash. 0 or -ENOMEM (then unchanged). */
static int latest_rehash(struct mp_thread_latest *latest, unsigned bits)
{
	uint32_t *heads = calloc((size_t)1 << bits, sizeof(*heads));
	if (!heads)
		return -ENOMEM;
	free(latest->heads);
	latest->heads = heads;
	latest->head_bits = bits;
	for (uint32_t serial = 0; latest->chained && serial < latest->serials; serial++)
		if (latest->addr_of[serial])
			latest_push(latest, latest_head(latest, latest->addr_of[serial]), serial);
	return 0;
}

/* Grows one array of per-thread entries from `old` to `count` entries, zeroing the new
 * ones. 0 or -ENOMEM (then unchanged). */
static int latest_grow_array(void **array, size_t size, uint32_t old, uint32_t count)
{
	char *grown = realloc(*array, (size_t)count * size);
	if (!grown)
		return -ENOMEM;
	memset(grown + (size_t)old * size, 0, (size_t)(count - old) * size);
	*array = grown;
	return 0;
}

/* Room for thread `serial`, and at least twice as many chains as threads. */
static int latest_add_serials(struct mp_thread_latest *latest, uint32_t serial)
{
	uint32_t serials = latest->serials ? latest->serials : LATEST_MIN_SERIALS;
	while (serials <= serial)
		serials *= 2;
	if (latest_grow_array((void **)&latest->addr_of, sizeof(*latest->addr_of), latest->serials,
			      serials) ||
	    latest_grow_array((void **)&latest->next, sizeof(*latest->next), latest->serials,
			      serials))
		return -ENOMEM;
	latest->serials = serials;
	unsigned bits = latest->head_bits;
	while (((size_t)1 << bits) < (size_t)serials * 2)
		bits++;
	return bits == latest->head_bits ? 0 : latest_rehash(latest, bits);
}

/* A second thread allocates: the first one's latest allocation goes in its chain. */
static void latest_start_chains(struct mp_thread_latest *latest)
{
	latest->chained = 1;
	uint32_t first = latest->solo - 1;
	if (latest->addr_of[first])
		latest_push(latest, latest_head(latest, latest->addr_of[first]), first);
}

int mp_thread_latest_allocated_rest(struct mp_thread_latest *latest, uint32_t serial,
				    uint64_t addr)
{
	if (serial >= latest->serials && latest_add_serials(latest, serial))
		return -ENOMEM;
	if (!latest->chained) {
		if (!latest->solo)
			latest->solo = serial + 1;
		if (latest->solo == serial + 1) {
			latest->addr_of[serial] = addr;
			return 0;
		}
		latest_start_chains(latest);
	}
	uint64_t previous = latest->addr_of[serial];
	if (previous)
		latest_unlink(latest, latest_head(latest, previous), serial);
	/* Address 0 is no block (a damaged trace's): the thread then has no latest, as
	 * addr_of says; chaining it would leave it in a chain addr_of does not name. */
	latest->addr_of[serial] = 0;
	if (!addr)
		return 0;
	uint32_t *head = latest_head(latest, addr);
	uint32_t other = latest_owner(latest, head, addr);
	if (other) { /* another thread's latest at this address was dropped unseen */
		latest_unlink(latest, head, other - 1);
		latest->addr_of[other - 1] = 0;
	}
	latest->addr_of[serial] = addr;
	latest_push(latest, head, serial);
	return 0;
}

uint64_t mp_thread_latest_released_chained(struct mp_thread_latest *latest, uint64_t addr)
{
	uint32_t *head = latest_head(latest, addr);
	uint32_t owner = latest_owner(latest, head, addr);
	if (!owner)
		return 0;
	latest_unlink(latest, head, owner - 1);
	latest->addr_of[owner - 1] = 0;
	return owner;
}
