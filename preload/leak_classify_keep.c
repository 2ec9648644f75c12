/* leak_classify_keep.c: the first look at every word the leak check reads.
 *
 * Of the words of the roots and of the blocks, the few that may point into a block are
 * those between the lowest and the highest block and outside the widest gap between two
 * blocks (leak_scan.h); the marking looks at those one by one (leak_classify.c). This
 * first look is the check's inner loop, over every word read: cc1's exit check reads
 * 1.46M words and keeps 95k. Done a word at a time without a branch it took 15
 * instructions a word, and the marking read at 4.5 GB/s a thread where a loop that only
 * loads reaches 11 here; four words at a time with AVX2, where the CPU has it, it takes 4.
 */
#if defined(__x86_64__)
#include <immintrin.h> /* before the poisoning of getenv (base.h): it includes stdlib.h */
#include <sys/platform/x86.h>
#endif

#include "leak_scan.h"

/* What the loader found when the process started (glibc's CPU features, 2.33 and up).
 * libgcc's __builtin_cpu_supports brings a constructor of its own that runs a dozen
 * CPUID instructions in every process, each an exit to the hypervisor on a virtual
 * machine: 70 us of every process's start on ours, for a check that may never run. */
int mp_leak_classify_simd_available(void)
{
#if defined(__x86_64__)
	return CPU_FEATURE_ACTIVE(AVX2);
#else
	return 0;
#endif
}

static size_t keep_words(const struct mp_leak_classifier *c, const uint64_t *words, size_t n,
			 uint64_t *kept)
{
	uint64_t lowest = c->lowest, span = c->highest - c->lowest;
	uint64_t gap_start = c->gap_start, gap_span = c->gap_span;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t word = words[i];
		kept[count] = word;
		count += (word - lowest < span) & (word - gap_start >= gap_span);
	}
	return count;
}

#if defined(__x86_64__)
/* For each 4-bit mask of lanes kept, the vpermd indices that bring those 64-bit lanes to
 * the front, in order. */
static const int32_t front_lanes[16][8] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7 }, { 0, 1, 2, 3, 4, 5, 6, 7 }, { 2, 3, 0, 1, 4, 5, 6, 7 },
	{ 0, 1, 2, 3, 4, 5, 6, 7 }, { 4, 5, 0, 1, 2, 3, 6, 7 }, { 0, 1, 4, 5, 2, 3, 6, 7 },
	{ 2, 3, 4, 5, 0, 1, 6, 7 }, { 0, 1, 2, 3, 4, 5, 6, 7 }, { 6, 7, 0, 1, 2, 3, 4, 5 },
	{ 0, 1, 6, 7, 2, 3, 4, 5 }, { 2, 3, 6, 7, 0, 1, 4, 5 }, { 0, 1, 2, 3, 6, 7, 4, 5 },
	{ 4, 5, 6, 7, 0, 1, 2, 3 }, { 0, 1, 4, 5, 6, 7, 2, 3 }, { 2, 3, 4, 5, 6, 7, 0, 1 },
	{ 0, 1, 2, 3, 4, 5, 6, 7 },
};

/* Unsigned a < b for each lane, as AVX2 compares only signed: both with the sign flipped. */
__attribute__((target("avx2"))) static inline __m256i below(__m256i a, __m256i b_flipped)
{
	const __m256i sign = _mm256_set1_epi64x(INT64_MIN);
	return _mm256_cmpgt_epi64(b_flipped, _mm256_xor_si256(a, sign));
}

__attribute__((target("avx2"))) static size_t keep_words_avx2(
	const struct mp_leak_classifier *c, const uint64_t *words, size_t n, uint64_t *kept)
{
	const __m256i lowest = _mm256_set1_epi64x((int64_t)c->lowest);
	const __m256i span = _mm256_set1_epi64x((int64_t)((c->highest - c->lowest) ^ (1ull << 63)));
	const __m256i gap_start = _mm256_set1_epi64x((int64_t)c->gap_start);
	const __m256i gap_span = _mm256_set1_epi64x((int64_t)(c->gap_span ^ (1ull << 63)));
	size_t count = 0, i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256i word = _mm256_loadu_si256((const __m256i *)(const void *)(words + i));
		__m256i in_range = below(_mm256_sub_epi64(word, lowest), span);
		__m256i in_gap = below(_mm256_sub_epi64(word, gap_start), gap_span);
		unsigned mask = (unsigned)_mm256_movemask_pd(
			_mm256_castsi256_pd(_mm256_andnot_si256(in_gap, in_range)));
		__m256i lanes = _mm256_loadu_si256((const __m256i *)(const void *)front_lanes[mask]);
		_mm256_storeu_si256((__m256i *)(void *)(kept + count),
				    _mm256_permutevar8x32_epi32(word, lanes));
		count += (size_t)__builtin_popcount(mask);
	}
	return count + keep_words(c, words + i, n - i, kept + count);
}
#endif

size_t mp_leak_classify_keep(const struct mp_leak_classifier *c, const uint64_t *words,
			     size_t n, uint64_t *kept)
{
#if defined(__x86_64__)
	if (c->simd)
		return keep_words_avx2(c, words, n, kept);
#endif
	return keep_words(c, words, n, kept);
}
