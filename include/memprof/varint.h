/* varint.h: LEB128 varints and zigzag signed encoding used by every trace record.
 *
 * Shared by the writer (inside the profiled process: no allocation, no libc beyond these
 * inline functions) and the reader (which must never trust its input).
 */
#ifndef MEMPROF_VARINT_H
#define MEMPROF_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* Longest encoding of a 64-bit value. */
#define MP_VARINT_MAX 10u

/* Maps signed to unsigned so that small magnitudes of either sign encode short. */
static inline uint64_t mp_zigzag(int64_t value)
{
	return ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
}

static inline int64_t mp_unzigzag(uint64_t value)
{
	return (int64_t)(value >> 1) ^ -(int64_t)(value & 1);
}

/* Writes `value` at `out`, which must have MP_VARINT_MAX bytes free; returns the byte after. */
static inline uint8_t *mp_put_u(uint8_t *out, uint64_t value)
{
	while (value >= 0x80) {
		*out++ = (uint8_t)(value | 0x80);
		value >>= 7;
	}
	*out++ = (uint8_t)value;
	return out;
}

static inline uint8_t *mp_put_s(uint8_t *out, int64_t value)
{
	return mp_put_u(out, mp_zigzag(value));
}

/* Reads a varint from [*cursor, end). On success stores it in *value, advances *cursor
 * and returns 0. Returns -1 and leaves *cursor unchanged if the input ends inside the
 * varint or the varint is longer than 64 bits allow. */
static inline int mp_get_u(const uint8_t **cursor, const uint8_t *end, uint64_t *value)
{
	const uint8_t *at = *cursor;
	uint64_t result = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (at >= end)
			return -1;
		uint8_t byte = *at++;
		if (shift == 63 && byte > 1)
			return -1;
		result |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*value = result;
			*cursor = at;
			return 0;
		}
	}
	return -1;
}

static inline int mp_get_s(const uint8_t **cursor, const uint8_t *end, int64_t *value)
{
	uint64_t raw;
	if (mp_get_u(cursor, end, &raw) < 0)
		return -1;
	*value = mp_unzigzag(raw);
	return 0;
}

#endif
