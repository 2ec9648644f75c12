/* test_decode_event.c: mp_decode_event_into, through its fast path for allocations and
 * frees (room for a whole record) and its general one (a record near the chunk's end),
 * against the field lists of trace_format.h decoded here one varint at a time: the same
 * answer, the same end, the same fields and delta state, on many random records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "memprof/trace_decode.h"

static uint64_t seed = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* A varint-like run of `length` bytes; the last byte sometimes above 1, so that a run of
 * 10 bytes may be over 64 bits (rejected). */
static size_t put_run(uint8_t *out, unsigned length)
{
	for (unsigned i = 0; i + 1 < length; i++)
		out[i] = (uint8_t)(0x80 | (next() & 0x7f));
	out[length - 1] = (uint8_t)(next() & (next() % 3 ? 0x01 : 0x7f));
	return length;
}

/* The reference: an allocation (addr, size, stack, dt) or a free (addr, dt), each field
 * read by mp_get_u. Returns 0 and fills *want, or -1 with nothing changed. */
static int reference(const uint8_t **at, const uint8_t *end, unsigned tag,
		     struct mp_decode_state *state, struct mp_event *want, uint64_t *stack)
{
	const uint8_t *p = *at;
	uint64_t zigzag, size = 0, dt;
	*stack = 0;
	if (mp_get_u(&p, end, &zigzag) ||
	    (tag != MP_REC_FREE && (mp_get_u(&p, end, &size) || mp_get_u(&p, end, stack))) ||
	    mp_get_u(&p, end, &dt))
		return -1;
	memset(want, 0, sizeof(*want));
	want->tag = (enum mp_record_tag)tag;
	want->addr = state->prev_addr + (uint64_t)mp_unzigzag(zigzag);
	want->size = size;
	want->time_ns = want->time_before_ns = state->prev_time + dt;
	state->prev_addr = want->addr;
	state->prev_time = want->time_ns;
	*at = p;
	return 0;
}

static void assert_same_event(const struct mp_event *got, const struct mp_event *want)
{
	assert_int_equal(got->tag, want->tag);
	assert_int_equal(got->time_ns, want->time_ns);
	assert_int_equal(got->time_before_ns, want->time_before_ns);
	assert_int_equal(got->addr, want->addr);
	assert_int_equal(got->old_addr, 0);
	assert_int_equal(got->size, want->size);
	assert_int_equal(got->old_size, 0);
	assert_int_equal(got->stack_id, 0);
	assert_int_equal(got->failed_function, 0);
	assert_int_equal(got->prot, 0);
	assert_int_equal(got->flags, 0);
	assert_int_equal(got->fd, 0);
	assert_int_equal(got->offset, 0);
}

static void test_allocations_and_frees_decode_as_their_field_lists(void **state_unused)
{
	(void)state_unused;
	uint8_t buffer[128];
	long fast = 0, general = 0, rejected = 0;
	for (int trial = 0; trial < 1000000; trial++) {
		size_t len = 0;
		while (len < 64) {
			unsigned roll = (unsigned)(next() % 100);
			unsigned length = roll < 85 ? 1 + (unsigned)(next() % 3)
				       : roll < 97 ? 4 + (unsigned)(next() % 5)
						   : 9 + (unsigned)(next() % 3);
			len += put_run(buffer + len, length);
		}
		/* Half the records with room to spare (the fast path), half cut short. */
		size_t room = next() % 2 ? len : (size_t)(next() % MP_DECODE_SIMPLE_ROOM);
		unsigned tag = MP_REC_MALLOC + (unsigned)(next() % (MP_REC_FREE - MP_REC_MALLOC + 1));
		struct mp_decode_state start = { next(), next() % (1ull << 40) };
		struct mp_decode_state got_state = start, want_state = start;
		const uint8_t *got_at = buffer, *want_at = buffer;
		struct mp_event got, want;
		uint64_t got_stack = 0, want_stack;
		memset(&got, 0xa5, sizeof(got));
		int got_rc = mp_decode_event_into(&got_at, buffer + room, tag, &got_state, &got,
						  &got_stack);
		int want_rc = reference(&want_at, buffer + room, tag, &want_state, &want,
					&want_stack);
		assert_int_equal(got_rc, want_rc);
		assert_ptr_equal(got_at, want_at);
		assert_int_equal(got_state.prev_addr, want_state.prev_addr);
		assert_int_equal(got_state.prev_time, want_state.prev_time);
		if (got_rc) {
			rejected++;
			continue;
		}
		assert_same_event(&got, &want);
		assert_int_equal(got_stack, want_stack);
		if (room >= MP_DECODE_SIMPLE_ROOM)
			fast++;
		else
			general++;
	}
	/* Every path was taken, many times. */
	assert_true(fast > 100000);
	assert_true(general > 10000);
	assert_true(rejected > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocations_and_frees_decode_as_their_field_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
