/* rss_series.h: the RSS watch's series of a trace (MP_REC_RSS records, trace_format.h),
 * decoded: the line of a timeline.
 *
 * The writer samples RSS every period_ms and writes a sample only when a figure moved
 * (by 1% and 64 KiB), preceded by the last unchanged one: between two samples the figures
 * were those of the first. Input is never trusted: a record that does not decode is
 * skipped and counted.
 */
#ifndef MEMPROF_RSS_SERIES_H
#define MEMPROF_RSS_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "trace_read.h"

struct mp_rss_sample {
	uint64_t time_ns;  /* CLOCK_MONOTONIC, absolute */
	uint64_t rss;      /* statm resident, bytes */
	uint64_t shared;   /* statm shared: file-backed and shared memory (RssFile + RssShmem) */
	uint64_t virt;     /* statm size: VIRT */
};

struct mp_rss_series {
	struct mp_rss_sample *samples; /* sorted by time */
	size_t count;
	uint32_t period_ms;            /* the watch's period (the last record's); 0: no record */
	size_t max_index;              /* the sample with the highest RSS, the first of equals */
};

/* Reads the trace's RSS records into *series (zeroed first); records that do not decode
 * are counted in *bad_records. 0 or -ENOMEM (series then empty). */
int mp_rss_series_load(struct mp_rss_series *series, const struct mp_trace *trace,
		       uint64_t *bad_records);
/* Decodes one MP_REC_RSS body into *sample and *period_ms; 0 or -EINVAL. */
int mp_rss_series_decode(const uint8_t *body, const uint8_t *end, struct mp_rss_sample *sample,
			 uint32_t *period_ms);
void mp_rss_series_free(struct mp_rss_series *series);

#endif
