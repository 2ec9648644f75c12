/* sampled_peak.c: taking the writer's sampled heap peak (see sampled_peak.h). */
#include "sampled_peak.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memprof/varint.h"

struct peak_capture {
	uint64_t seq, time_ns, blocks, bytes;
	uint64_t stacks_expected, stacks_seen;
};

static int peak_cmp_seq(const void *left, const void *right)
{
	const struct peak_capture *a = left, *b = right;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static struct peak_capture *peak_find(struct peak_capture *captures, size_t count, uint64_t seq)
{
	struct peak_capture key = { .seq = seq };
	return bsearch(&key, captures, count, sizeof(*captures), peak_cmp_seq);
}

/* The SAMPLED_PEAK records, sorted by seq; *count receives how many. NULL with *count 0
 * when there are none; NULL with *count 1 on -ENOMEM. */
static struct peak_capture *peak_headers(const struct mp_ext_record *records, size_t record_count,
					 size_t *count)
{
	struct peak_capture *captures = NULL;
	size_t cap = 0;
	*count = 0;
	for (size_t i = 0; i < record_count; i++) {
		const uint8_t *p = records[i].body, *end = p + records[i].len;
		struct peak_capture capture = { 0 };
		if (records[i].tag != MP_REC_SAMPLED_PEAK || mp_get_u(&p, end, &capture.seq) ||
		    mp_get_u(&p, end, &capture.time_ns) || mp_get_u(&p, end, &capture.blocks) ||
		    mp_get_u(&p, end, &capture.bytes) || mp_get_u(&p, end, &capture.stacks_expected))
			continue;
		if (*count == cap) {
			cap = cap ? cap * 2 : 16;
			struct peak_capture *grown = realloc(captures, cap * sizeof(*grown));
			if (!grown) {
				free(captures);
				*count = 1;
				return NULL;
			}
			captures = grown;
		}
		captures[(*count)++] = capture;
	}
	if (*count)
		qsort(captures, *count, sizeof(*captures), peak_cmp_seq);
	return captures;
}

/* Decodes a SAMPLED_PEAK_STACK body; 0 or -EINVAL. */
static int peak_stack_record(const struct mp_ext_record *record, uint64_t *seq, uint64_t *stack,
			     uint64_t *blocks, uint64_t *bytes)
{
	const uint8_t *p = record->body, *end = p + record->len;
	return mp_get_u(&p, end, seq) || mp_get_u(&p, end, stack) || mp_get_u(&p, end, blocks) ||
			       mp_get_u(&p, end, bytes)
		       ? -EINVAL
		       : 0;
}

/* The highest capture whose stack records all arrived (a seq written twice, by a damaged
 * or forked writer, counts as incomplete); NULL if none. */
static const struct peak_capture *peak_best(struct peak_capture *captures, size_t count,
					    const struct mp_ext_record *records, size_t record_count)
{
	for (size_t i = 0; i < record_count; i++) {
		uint64_t seq, stack, blocks, bytes;
		if (records[i].tag != MP_REC_SAMPLED_PEAK_STACK ||
		    peak_stack_record(&records[i], &seq, &stack, &blocks, &bytes))
			continue;
		struct peak_capture *capture = peak_find(captures, count, seq);
		if (capture)
			capture->stacks_seen++;
	}
	const struct peak_capture *best = NULL;
	for (size_t i = 0; i < count; i++) {
		int duplicate = (i > 0 && captures[i - 1].seq == captures[i].seq) ||
				(i + 1 < count && captures[i + 1].seq == captures[i].seq);
		if (!duplicate && captures[i].stacks_seen == captures[i].stacks_expected &&
		    (!best || captures[i].bytes > best->bytes))
			best = &captures[i];
	}
	return best;
}

/* Gives every stack its share of the chosen capture; 0 or -ENOMEM. */
static int peak_apply_stacks(struct mp_heap_model *model, const struct mp_trace *trace,
			     const struct mp_ext_record *records, size_t record_count, uint64_t seq)
{
	struct mp_stack_stats *stats = &model->stacks;
	for (uint32_t id = 0; id < stats->used; id++)
		stats->aggs[id].peak_bytes = stats->aggs[id].peak_blocks = 0;
	for (size_t i = 0; i < record_count; i++) {
		uint64_t record_seq, stack, blocks, bytes;
		if (records[i].tag != MP_REC_SAMPLED_PEAK_STACK ||
		    peak_stack_record(&records[i], &record_seq, &stack, &blocks, &bytes) ||
		    record_seq != seq)
			continue;
		struct mp_stack_agg *agg = mp_stack_stats_at(stats, mp_trace_stack_canonical(trace, stack));
		if (!agg)
			return -ENOMEM;
		agg->peak_bytes += bytes;
		agg->peak_blocks += blocks;
	}
	return 0;
}

int mp_sampled_peak_apply(struct mp_heap_model *model, const struct mp_trace *trace)
{
	size_t record_count, count;
	const struct mp_ext_record *records = mp_trace_ext_records(trace, &record_count);
	struct peak_capture *captures = peak_headers(records, record_count, &count);
	if (!captures)
		return count ? -ENOMEM : 0;
	const struct peak_capture *best = peak_best(captures, count, records, record_count);
	int rc = 0;
	if (best) {
		model->totals.peak_bytes = best->bytes;
		model->totals.peak_blocks = best->blocks;
		model->totals.peak_time_ns = best->time_ns;
		model->totals.peak_event = 0;
		rc = peak_apply_stacks(model, trace, records, record_count, best->seq);
		rc = rc < 0 ? rc : 1;
	}
	free(captures);
	return rc;
}
