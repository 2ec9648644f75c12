/* test_skip_event.c: the word-at-a-time mp_skip_event accepts exactly what the byte-wise
 * reference accepts and ends at the same byte, on many random records: short and long
 * varints (up to and past 64 bits), records cut by the end of the chunk, every tag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "memprof/trace_decode.h"

static uint64_t state = 0x853c49e6748fea9bull;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

/* A varint-like run: `length` bytes, all but the last with the top bit set; the last
 * byte sometimes above 1 so that 10-byte runs are over 64 bits. */
static size_t put_run(uint8_t *out, unsigned length)
{
	for (unsigned i = 0; i + 1 < length; i++)
		out[i] = (uint8_t)(0x80 | (next() & 0x7f));
	out[length - 1] = (uint8_t)(next() & (next() % 3 ? 0x01 : 0x7f));
	return length;
}

static void test_same_answer_as_the_byte_wise_reference(void **state_unused)
{
	(void)state_unused;
	static const unsigned tags[] = { MP_REC_MALLOC, MP_REC_FREE, MP_REC_REALLOC,
					 MP_REC_MMAP, MP_REC_MUNMAP, MP_REC_BRK, 0, 99 };
	uint8_t buffer[256];
	long accepted = 0, rejected = 0;
	for (int trial = 0; trial < 2000000; trial++) {
		size_t len = 0;
		/* Lengths mostly short, sometimes 9 to 12 bytes, to reach the fallbacks. */
		while (len < 120) {
			unsigned roll = (unsigned)(next() % 100);
			unsigned length = roll < 85 ? 1 + (unsigned)(next() % 4)
				       : roll < 97 ? 5 + (unsigned)(next() % 4)
						   : 9 + (unsigned)(next() % 4);
			len += put_run(buffer + len, length);
		}
		size_t cut = (size_t)(next() % 40); /* the chunk ends here */
		unsigned tag = tags[next() % (sizeof(tags) / sizeof(tags[0]))];
		const uint8_t *fast = buffer, *slow = buffer;
		int fast_rc = mp_skip_event(&fast, buffer + cut, tag);
		int slow_rc = mp_skip_event_bytes(&slow, buffer + cut, tag);
		assert_int_equal(fast_rc, slow_rc);
		if (fast_rc == 0)
			assert_ptr_equal(fast, slow);
		if (fast_rc == 0)
			accepted++;
		else
			rejected++;
	}
	/* Both outcomes were exercised often. */
	assert_true(accepted > 100000);
	assert_true(rejected > 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_answer_as_the_byte_wise_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
