/* sample_weight.h: what one sampled allocation stands for, computed alike on both sides.
 *
 * With Poisson sampling by bytes (mean N, trace header sample_bytes), an allocation of s
 * bytes is recorded with probability p = 1 - exp(-s/N). Each sample then stands for 1/p
 * blocks and s/p bytes, each rounded to an integer. The analyzer weighs the samples it
 * reads one by one; the preload weighs the samples it only counts (blocks freed within
 * the sampling window, MP_REC_SAMPLES_FREED). Both use these functions, so a trace says
 * the same whichever way a sample reached it.
 */
#ifndef MEMPROF_SAMPLE_WEIGHT_H
#define MEMPROF_SAMPLE_WEIGHT_H

#include <math.h>
#include <stdint.h>

/* The probability that an allocation of size bytes was sampled; 1 when not sampling. A
 * size too small ever to be sampled (0 bytes) counts as certain rather than infinite. */
static inline double mp_sample_probability(uint64_t sample_bytes, uint64_t size)
{
	if (!sample_bytes || !size)
		return 1.0;
	return -expm1(-(double)size / (double)sample_bytes);
}

/* Blocks that one sampled allocation of size bytes stands for; 1 when not sampling. */
static inline uint64_t mp_sample_weight_count(uint64_t sample_bytes, uint64_t size)
{
	return (uint64_t)llround(1.0 / mp_sample_probability(sample_bytes, size));
}

/* Bytes that one sampled allocation of size bytes stands for; size when not sampling. */
static inline uint64_t mp_sample_weight_bytes(uint64_t sample_bytes, uint64_t size)
{
	if (!sample_bytes)
		return size;
	return (uint64_t)llround((double)size / mp_sample_probability(sample_bytes, size));
}

/* Both weights of one sample at the cost of one exponential; the same values as
 * mp_sample_weight_count and mp_sample_weight_bytes. */
struct mp_sample_weight {
	uint64_t blocks, bytes;
};
static inline struct mp_sample_weight mp_sample_weigh(uint64_t sample_bytes, uint64_t size)
{
	if (!sample_bytes)
		return (struct mp_sample_weight){ 1, size };
	double p = mp_sample_probability(sample_bytes, size);
	return (struct mp_sample_weight){ (uint64_t)llround(1.0 / p),
					  (uint64_t)llround((double)size / p) };
}

#endif
