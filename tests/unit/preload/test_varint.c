/* test_varint.c: the LEB128 and zigzag encodings every record field uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "memprof/trace_decode.h"
#include "memprof/varint.h"

static void round_trip_u(uint64_t value, size_t expected_len)
{
	uint8_t buf[MP_VARINT_MAX];
	uint8_t *end = mp_put_u(buf, value);
	assert_int_equal((size_t)(end - buf), expected_len);
	const uint8_t *at = buf;
	uint64_t back = 0;
	assert_int_equal(mp_get_u(&at, end, &back), 0);
	assert_ptr_equal(at, end);
	assert_int_equal(back, value);
}

static void test_unsigned_lengths_at_every_boundary(void **state)
{
	(void)state;
	round_trip_u(0, 1);
	round_trip_u(127, 1);
	round_trip_u(128, 2);
	round_trip_u(16383, 2);
	round_trip_u(16384, 3);
	round_trip_u((1ull << 35) - 1, 5);
	round_trip_u(1ull << 63, 10);
	round_trip_u(UINT64_MAX, 10);
}

static void test_zigzag_keeps_small_magnitudes_short(void **state)
{
	(void)state;
	const int64_t values[] = { 0, -1, 1, -64, 63, -65, INT64_MIN, INT64_MAX };
	const size_t lengths[] = { 1, 1, 1, 1, 1, 2, 10, 10 };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint8_t buf[MP_VARINT_MAX];
		uint8_t *end = mp_put_s(buf, values[i]);
		assert_int_equal((size_t)(end - buf), lengths[i]);
		const uint8_t *at = buf;
		int64_t back = 0;
		assert_int_equal(mp_get_s(&at, end, &back), 0);
		assert_int_equal(back, values[i]);
	}
}

static void test_truncated_varint_is_rejected_without_moving(void **state)
{
	(void)state;
	uint8_t buf[MP_VARINT_MAX];
	uint8_t *end = mp_put_u(buf, 1ull << 40);
	const uint8_t *at = buf;
	uint64_t value = 7;
	assert_int_equal(mp_get_u(&at, end - 1, &value), -1);
	assert_ptr_equal(at, buf);
	assert_int_equal(value, 7);
}

static void test_overlong_varint_is_rejected(void **state)
{
	(void)state;
	/* Eleven continuation bytes, and a tenth byte carrying bits past 64. */
	const uint8_t endless[11] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				      0x80 };
	const uint8_t too_big[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	const uint8_t *at = endless;
	uint64_t value;
	assert_int_equal(mp_get_u(&at, endless + sizeof(endless), &value), -1);
	at = too_big;
	assert_int_equal(mp_get_u(&at, too_big + sizeof(too_big), &value), -1);
}

/* mp_decode_u, which decodes one- and two-byte varints ahead of its loop when
 * MP_VARINT_MAX bytes are left, agrees with mp_get_u at every length, whatever follows. */
static void test_decoder_agrees_with_the_reference_at_every_length(void **state)
{
	(void)state;
	for (unsigned shift = 0; shift < 64; shift++) {
		const uint64_t values[] = { (1ull << shift) - 1, 1ull << shift, (1ull << shift) + 1,
					    UINT64_MAX >> (63 - shift) };
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			uint8_t buf[3 * MP_VARINT_MAX];
			for (size_t j = 0; j < sizeof(buf); j++)
				buf[j] = 0xff; /* continuation bytes after it must not be read into it */
			uint8_t *end = mp_put_u(buf, values[i]);
			const uint8_t *fast = buf, *slow = buf;
			uint64_t fast_value = 0, slow_value = 0;
			assert_int_equal(mp_decode_u(&fast, buf + sizeof(buf), &fast_value), 0);
			assert_int_equal(mp_get_u(&slow, end, &slow_value), 0);
			assert_ptr_equal(fast, end);
			assert_int_equal(fast_value, values[i]);
			assert_int_equal(slow_value, values[i]);
		}
	}
	uint8_t too_big[3 * MP_VARINT_MAX] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0x02 };
	const uint8_t *at = too_big;
	uint64_t value;
	assert_int_equal(mp_decode_u(&at, too_big + sizeof(too_big), &value), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsigned_lengths_at_every_boundary),
		cmocka_unit_test(test_zigzag_keeps_small_magnitudes_short),
		cmocka_unit_test(test_truncated_varint_is_rejected_without_moving),
		cmocka_unit_test(test_overlong_varint_is_rejected),
		cmocka_unit_test(test_decoder_agrees_with_the_reference_at_every_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
