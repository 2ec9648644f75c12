/* rss_series.c: decoding the RSS watch's records (MP_REC_RSS) of a trace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/varint.h"
#include "rss_series.h"

int mp_rss_series_decode(const uint8_t *body, const uint8_t *end, struct mp_rss_sample *sample,
			 uint32_t *period_ms)
{
	uint64_t period;
	if (mp_get_u(&body, end, &sample->time_ns) || mp_get_u(&body, end, &sample->rss) ||
	    mp_get_u(&body, end, &sample->shared) || mp_get_u(&body, end, &sample->virt) ||
	    mp_get_u(&body, end, &period) || period > UINT32_MAX)
		return -EINVAL;
	*period_ms = (uint32_t)period;
	return 0;
}

static int rss_cmp_time(const void *left, const void *right)
{
	const struct mp_rss_sample *a = left, *b = right;
	return a->time_ns < b->time_ns ? -1 : a->time_ns > b->time_ns;
}

int mp_rss_series_load(struct mp_rss_series *series, const struct mp_trace *trace,
		       uint64_t *bad_records)
{
	size_t count, cap = 0;
	const struct mp_ext_record *records = mp_trace_ext_records(trace, &count);
	memset(series, 0, sizeof(*series));
	*bad_records = 0;
	for (size_t i = 0; i < count; i++) {
		struct mp_rss_sample sample;
		uint32_t period;
		if (records[i].tag != MP_REC_RSS)
			continue;
		if (mp_rss_series_decode(records[i].body, records[i].body + records[i].len, &sample,
					 &period) < 0) {
			(*bad_records)++;
			continue;
		}
		if (series->count == cap) {
			size_t grown_cap = cap ? cap * 2 : 256;
			void *grown = realloc(series->samples, grown_cap * sizeof(*series->samples));
			if (!grown) {
				mp_rss_series_free(series);
				return -ENOMEM;
			}
			series->samples = grown;
			cap = grown_cap;
		}
		series->samples[series->count++] = sample;
		series->period_ms = period;
	}
	/* One thread writes them in time order; sorted all the same, input is not trusted. */
	if (series->count)
		qsort(series->samples, series->count, sizeof(*series->samples), rss_cmp_time);
	for (size_t i = 1; i < series->count; i++)
		if (series->samples[i].rss > series->samples[series->max_index].rss)
			series->max_index = i;
	return 0;
}

void mp_rss_series_free(struct mp_rss_series *series)
{
	free(series->samples);
	memset(series, 0, sizeof(*series));
}
