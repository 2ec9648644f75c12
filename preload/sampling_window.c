/* sampling_window.c: sampled blocks freed within the window, counted per stack.
 *
 * A service that allocates a gigabyte a second yields thousands of samples a second even
 * at N = 512 KiB, and most of those blocks are gone again within milliseconds. Writing
 * each one's allocation and free would make the trace grow with the allocation rate.
 * Instead a sampled block stays pending in the sampled set (sampling_set.c) for up to
 * MEMPROF_SAMPLE_WINDOW_MS: if it is freed by then, it only adds to its stack's counts
 * here; the counts are written as one MP_REC_SAMPLES_FREED record per stack at each flush.
 * The weights are summed here with the analyzer's own functions (sample_weight.h), so a
 * counted sample adds exactly what its two records would have added.
 *
 * The counts are a stack tally (stack_tally.c) guarded by the sampling lock like the set
 * it serves, emptied at each flush: it holds the stacks of one window.
 */
#include "encode.h"
#include "sampling.h"
#include "memprof/varint.h"

static struct mp_stack_tally freed;

void mp_sampling_window_count(const struct mp_sampled_set_entry *block,
			      struct mp_sample_weight weight)
{
	struct mp_stack_tally_slot *slot = mp_stack_tally_at(&freed, block->stack);
	if (!slot)
		return; /* no memory left for one more stack: this sample is lost */
	slot->samples++;
	slot->blocks += weight.blocks;
	slot->bytes += weight.bytes;
	slot->sampled_bytes += block->size;
}

void mp_sampling_window_emit(struct mp_thread *writer)
{
	for (uint64_t i = 0; i < freed.capacity && freed.used; i++) {
		const struct mp_stack_tally_slot *slot = &freed.slots[i];
		if (!slot->key)
			continue;
		uint8_t body[5 * MP_VARINT_MAX], *at = body;
		at = mp_put_u(at, mp_stack_tally_stack(slot));
		at = mp_put_u(at, slot->samples);
		at = mp_put_u(at, slot->blocks);
		at = mp_put_u(at, slot->bytes);
		at = mp_put_u(at, slot->sampled_bytes);
		mp_encode_extended(writer, MP_REC_SAMPLES_FREED, body, (size_t)(at - body));
	}
	mp_stack_tally_clear(&freed);
}

void mp_sampling_window_after_fork_child(void)
{
	/* The child's trace starts empty: the parent's counts are the parent's. */
	mp_stack_tally_clear(&freed);
}
