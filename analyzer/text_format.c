/* text_format.c: counts with thousands separators, byte figures with units, plurals. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "text_format.h"

const char *mp_fmt_count(char *buf, size_t len, uint64_t value)
{
	char digits[24];
	int count = snprintf(digits, sizeof(digits), "%" PRIu64, value);
	size_t out = 0;

	if (len == 0)
		return buf;
	for (int i = 0; i < count && out + 1 < len; i++) {
		/* A comma before every group of three digits counted from the right. */
		if (i > 0 && (count - i) % 3 == 0 && out + 2 < len)
			buf[out++] = ',';
		buf[out++] = digits[i];
	}
	buf[out] = '\0';
	return buf;
}

const char *mp_plural(uint64_t value, const char *one, const char *many)
{
	return value == 1 ? one : many;
}

const char *mp_fmt_counted(char *buf, size_t len, uint64_t value, const char *one,
			   const char *many)
{
	char count[32];
	snprintf(buf, len, "%s %s", mp_fmt_count(count, sizeof(count), value),
		 mp_plural(value, one, many));
	return buf;
}

const char *mp_fmt_units(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double value = (double)bytes / 1024.0;
	size_t unit = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (value >= 1024.0 && unit + 1 < sizeof(units) / sizeof(units[0])) {
		value /= 1024.0;
		unit++;
	}
	snprintf(buf, len, "%.1f %s", value, units[unit]);
	return buf;
}

const char *mp_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	char counted[48], units[32];

	mp_fmt_counted(counted, sizeof(counted), bytes, "byte", "bytes");
	if (bytes < 1024)
		snprintf(buf, len, "%s", counted);
	else
		snprintf(buf, len, "%s (%s)", counted, mp_fmt_units(units, sizeof(units), bytes));
	return buf;
}

const char *mp_fmt_signal(char *buf, size_t len, int64_t sig)
{
	const char *name = sig > 0 && sig < 65 ? sigabbrev_np((int)sig) : NULL;
	if (name)
		snprintf(buf, len, "SIG%s", name);
	else
		snprintf(buf, len, "signal %" PRId64, sig);
	return buf;
}

const char *mp_fmt_more(char *buf, size_t len, size_t shown, size_t total)
{
	char count[MP_FMT_LEN];

	if (shown >= total)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "(%s more: --top 0 lists them all)",
			 mp_fmt_count(count, sizeof(count), total - shown));
	return buf;
}
