/* sampling.c: Poisson sampling by bytes (MEMPROF_SAMPLE_BYTES): which allocations are
 * sampled. The set of sampled blocks, whose frees must be recorded, is sampling_set.c.
 *
 * Sample points fall on the stream of allocated bytes as a Poisson process of mean
 * spacing N: each thread counts down bytes to its next point, drawn from an exponential
 * distribution of mean N. An allocation of s bytes is sampled when a point falls inside
 * it, which happens with probability 1 - exp(-s/N) independently of everything before
 * (the exponential is memoryless, so after an unsampled allocation the rest of the
 * countdown is again exponential, and after a sampled one we draw afresh). This is the
 * scheme of tcmalloc and jemalloc; the analyzer weighs each sample by the inverse of that
 * probability.
 */
#include <math.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sampling.h"

/* xorshift64*: a fast generator of our own, so sampling never touches the program's
 * random state (rand(), random()). */
static uint64_t next_random(struct mp_thread *thread)
{
	uint64_t x = thread->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	thread->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t draw_countdown(struct mp_thread *thread)
{
	/* A uniform in (0, 1]: 53 random bits, never 0, so the log is finite. */
	double uniform = (double)((next_random(thread) >> 11) + 1) * (1.0 / 9007199254740992.0);
	double bytes = -log(uniform) * (double)mp_config.sample_bytes;
	return bytes >= 9.0e18 ? UINT64_MAX : (uint64_t)bytes + 1;
}

static void seed_thread(struct mp_thread *thread)
{
	uint64_t seed = mp_config.sample_seed;
	if (!seed)
		seed = mp_clock_now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32) ^
		       (uint64_t)(uintptr_t)thread;
	thread->rng = mp_mix64(seed) | 1;
}

int mp_sampling_decide(struct mp_thread *thread, size_t size)
{
	if (MP_UNLIKELY(!thread->rng)) {
		/* First allocation of this thread: its countdown starts now, not at 0. */
		seed_thread(thread);
		thread->sample_countdown = draw_countdown(thread);
		if (mp_sampling_countdown_absorbs(thread, size))
			return 0;
	}
	thread->sample_countdown = draw_countdown(thread);
	return 1;
}
