/* sampled_peak.h: the heap peak of a sampled trace with a sampling window.
 *
 * Such a trace counts the samples freed within the window instead of writing them, so
 * the replay cannot see the sampled heap's peak; the writer measured it instead and wrote
 * the live samples per stack at each new peak (MP_REC_SAMPLED_PEAK, trace_format.h). This
 * takes the highest complete capture and makes it the model's peak: bytes, blocks, time
 * and each stack's share.
 */
#ifndef MEMPROF_SAMPLED_PEAK_H
#define MEMPROF_SAMPLED_PEAK_H

#include "heap_model.h"
#include "trace_read.h"

/* Replaces the replayed peak by the trace's highest complete SAMPLED_PEAK capture, if it
 * has one (call after mp_heap_model_finish). Returns 1 if it did, 0 if the trace has
 * none, -ENOMEM. Damaged captures are ignored. */
int mp_sampled_peak_apply(struct mp_heap_model *model, const struct mp_trace *trace);

#endif
