/* text_format.h: numbers and words in the text reports, written one way everywhere.
 *
 * Counts and exact byte figures get thousands separators ("20,002,000"), as valgrind
 * prints them; a byte figure of 1 KiB or more adds the rounded unit for the eye
 * ("20,002,000 bytes (19.1 MiB)"); a noun agrees with its count ("1 block", "2 blocks").
 * JSON never goes through here: it keeps plain integers.
 */
#ifndef MEMPROF_TEXT_FORMAT_H
#define MEMPROF_TEXT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Room for any of the texts below: a 64-bit count with separators, a noun and a unit. */
#define MP_FMT_LEN 96

/* "0", "999", "1,000", "18,446,744,073,709,551,615" into buf; returns buf. */
const char *mp_fmt_count(char *buf, size_t len, uint64_t value);
/* `one` when value is 1, else `many`. */
const char *mp_plural(uint64_t value, const char *one, const char *many);
/* "1 block", "0 blocks", "1,234 blocks": the count with separators and its noun. */
const char *mp_fmt_counted(char *buf, size_t len, uint64_t value, const char *one,
			   const char *many);
/* "1 byte", "500 bytes", "1,234 bytes (1.2 KiB)": exact, then rounded from 1 KiB up. */
const char *mp_fmt_bytes(char *buf, size_t len, uint64_t bytes);
/* The rounded unit alone: "100 B", "1.2 KiB", "19.1 MiB" (for tables and summaries). */
const char *mp_fmt_units(char *buf, size_t len, uint64_t bytes);
/* After a list cut at `shown` of `total` entries: "(12 more: --top 0 lists them all)";
 * "" when nothing was left out. */
const char *mp_fmt_more(char *buf, size_t len, size_t shown, size_t total);

/* "SIGTERM", "SIGSEGV", or "signal 77" for a number with no name: a signal as the
 * reports name it. */
const char *mp_fmt_signal(char *buf, size_t len, int64_t sig);

#endif
