/* sampling_peak.c: the estimated live heap of a sampled trace, and its stacks at the peak.
 *
 * With a sampling window the trace no longer holds every sampled block (those freed
 * within the window are only counted), so the analyzer cannot replay the heap's peak.
 * The set of sampled blocks (sampling_set.c) still knows every live one, so the estimate is
 * kept here: the weighted bytes and blocks of the set, changed as blocks come and go.
 * When it first exceeds the last captured peak by 5%, the set is summed per stack and
 * written (MP_REC_SAMPLED_PEAK and its MP_REC_SAMPLED_PEAK_STACK records). Captures are
 * few (one per 5% of growth of the highest heap, so about 20 per doubling) and each costs
 * one pass over the live samples. Everything here runs under the sampling lock.
 */
#include "encode.h"
#include "sampling.h"
#include "memprof/varint.h"

/* A new capture once the estimate is 1/20 above the last one. */
#define PEAK_STEP_DIVISOR 20u

static uint64_t live_bytes, live_blocks;
static uint64_t captured_bytes;
static uint64_t capture_seq;
static struct mp_stack_tally by_stack;

void mp_sampling_peak_live_change(struct mp_sample_weight weight, int sign)
{
	live_bytes += sign > 0 ? weight.bytes : -weight.bytes;
	live_blocks += sign > 0 ? weight.blocks : -weight.blocks;
}

static void peak_write(struct mp_thread *writer, uint64_t now_ns)
{
	uint8_t body[5 * MP_VARINT_MAX], *at = body;
	at = mp_put_u(at, capture_seq);
	at = mp_put_u(at, now_ns);
	at = mp_put_u(at, live_blocks);
	at = mp_put_u(at, live_bytes);
	at = mp_put_u(at, by_stack.used);
	mp_encode_extended(writer, MP_REC_SAMPLED_PEAK, body, (size_t)(at - body));
	for (uint64_t i = 0; i < by_stack.capacity; i++) {
		const struct mp_stack_tally_slot *slot = &by_stack.slots[i];
		if (!slot->key)
			continue;
		at = body;
		at = mp_put_u(at, capture_seq);
		at = mp_put_u(at, mp_stack_tally_stack(slot));
		at = mp_put_u(at, slot->blocks);
		at = mp_put_u(at, slot->bytes);
		mp_encode_extended(writer, MP_REC_SAMPLED_PEAK_STACK, body, (size_t)(at - body));
	}
}

void mp_sampling_peak_check(struct mp_thread *writer, const struct mp_sampled_set_entry *set,
			   uint64_t capacity, uint64_t now_ns)
{
	if (!writer || live_bytes <= captured_bytes + captured_bytes / PEAK_STEP_DIVISOR)
		return;
	for (uint64_t i = 0; i < capacity; i++) {
		if (!set[i].addr)
			continue;
		struct mp_stack_tally_slot *slot = mp_stack_tally_at(&by_stack, set[i].stack);
		if (!slot)
			return; /* no memory: no capture this time */
		struct mp_sample_weight weight = mp_sample_weigh(mp_config.sample_bytes, set[i].size);
		slot->blocks += weight.blocks;
		slot->bytes += weight.bytes;
	}
	capture_seq++;
	peak_write(writer, now_ns);
	mp_stack_tally_clear(&by_stack);
	captured_bytes = live_bytes;
}

void mp_sampling_peak_after_fork_child(void)
{
	live_bytes = live_blocks = captured_bytes = capture_seq = 0;
	mp_stack_tally_clear(&by_stack);
}
