/* clock.c: event timestamps, in nanoseconds of CLOCK_MONOTONIC.
 *
 * Every event carries a time, and the analyzer orders the threads' events by it, so it must
 * be one clock for all CPUs. clock_gettime(CLOCK_MONOTONIC) is that clock but costs about
 * 23 ns through the vDSO on the machines we measured, a tenth of the recording cost. When
 * the kernel itself keeps time with the TSC (its clocksource is "tsc", which it only
 * allows for an invariant TSC synchronized across CPUs), we read the TSC directly and
 * convert with a rate measured once at start over CALIBRATION_NS against CLOCK_MONOTONIC.
 * The conversion is anchored at the calibration's end, so times stay within about 10^-3
 * of CLOCK_MONOTONIC; they are monotonic and common to all threads either way.
 */
#include <string.h>
#include <time.h>

#include "base.h"

/* 50 us: every traced process pays it at start; against clock_gettime's ~20 ns the rate
 * comes out within about 1e-3, so times drift from CLOCK_MONOTONIC by at most a second
 * per quarter hour, while staying one consistent clock for all threads. */
#define CALIBRATION_NS 50000u

static uint64_t anchor_ticks, anchor_ns;
static uint64_t ns_per_tick_q32; /* 0: read clock_gettime */

static uint64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

#if defined(__x86_64__)
static inline uint64_t read_ticks(void)
{
	uint32_t low, high;
	__asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
	return ((uint64_t)high << 32) | low;
}

static int kernel_uses_tsc(void)
{
	char source[32] = { 0 };
	long got = mp_sys_read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource",
				source, sizeof(source) - 1);
	return got >= 3 && strncmp(source, "tsc\n", 4) == 0;
}

void mp_clock_init(void)
{
	if (ns_per_tick_q32 || !kernel_uses_tsc())
		return;
	uint64_t start_ns = monotonic_ns(), start_ticks = read_ticks();
	uint64_t end_ns, end_ticks;
	do {
		end_ns = monotonic_ns();
		end_ticks = read_ticks();
	} while (end_ns - start_ns < CALIBRATION_NS);
	if (end_ticks <= start_ticks)
		return;
	anchor_ticks = end_ticks;
	anchor_ns = end_ns;
	__atomic_store_n(&ns_per_tick_q32,
			 ((end_ns - start_ns) << 32) / (end_ticks - start_ticks), __ATOMIC_RELEASE);
}

uint64_t mp_clock_now_ns(void)
{
	uint64_t rate = __atomic_load_n(&ns_per_tick_q32, __ATOMIC_ACQUIRE);
	if (MP_UNLIKELY(!rate))
		return monotonic_ns();
	uint64_t ticks = read_ticks();
	if (MP_UNLIKELY(ticks < anchor_ticks))
		return anchor_ns;
	return anchor_ns + (uint64_t)(((unsigned __int128)(ticks - anchor_ticks) * rate) >> 32);
}
#else
void mp_clock_init(void)
{
}

uint64_t mp_clock_now_ns(void)
{
	return monotonic_ns();
}
#endif
