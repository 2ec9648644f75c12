/* clock.c: event timestamps, in nanoseconds of CLOCK_MONOTONIC.
 *
 * Every event carries a time, and the analyzer orders the threads' events by it, so it must
 * be one clock for all CPUs. clock_gettime(CLOCK_MONOTONIC) is that clock but costs about
 * 23 ns through the vDSO on the machines we measured, a tenth of the recording cost. When
 * the kernel itself keeps time with the TSC (its clocksource is "tsc", which it only
 * allows for an invariant TSC synchronized across CPUs), we read the TSC directly and
 * convert with a rate measured once against CLOCK_MONOTONIC, over recording's start (at
 * least CALIBRATION_NS). The conversion is anchored at the calibration's end, where it
 * takes over from clock_gettime, so times stay within about 10^-3 of CLOCK_MONOTONIC;
 * they are monotonic and common to all threads either way.
 *
 * Sparse reads. Even the TSC costs about 10 ns a read on this project's machines (AMD EPYC
 * VMs), and every allocation and free carries a time: reading it every 16th event made
 * python3 building a dict 4.5% faster (bench/README.md, session 9). Exact times are needed
 * where threads meet: a block freed by one thread and the same address returned to another
 * must come in that order, which only a clock common to both gives. A thread alone in
 * recording events meets no other, so its times need only grow and stay close to the clock:
 * it reads the clock at every EVENTS_PER_READ-th event and at its first event after each
 * tick of the RSS watch (every MEMPROF_RSS_WATCH_MS, 10 by default) or snapshot; the events
 * in between take 1 ns after the one before. Each event takes far longer than 1 ns, so such
 * a time is never later than the true one, and never earlier than the thread's last read:
 * within a few microseconds while the thread allocates steadily, within a tick after it
 * paused (after the whole process was stopped, until the watch's next tick). The first time
 * a second thread records an event, every thread reads the clock at every event from then
 * on (until a fork: the child has one thread), and so does every thread when nothing ticks
 * (the RSS watch off or stopped at exit, or a sampled trace). mp_clock_ticks holds the tick
 * count: 0 while nothing ticks, MP_CLOCK_TICKS_EXACT once a second thread recorded.
 */
#include <string.h>
#include <time.h>

#include "base.h"

/* At least 50 us between the calibration's two readings: against clock_gettime's ~20 ns
 * the rate comes out within about 1e-3, so times drift from CLOCK_MONOTONIC by at most a
 * second per quarter hour, while staying one consistent clock for all threads. The
 * interval spans the rest of recording's start (the trace file's creation takes longer
 * than that), so a process seldom waits for it: it was 50 us of busy waiting in every
 * traced process, a twentieth of what memprof adds to one that does nothing. */
#define CALIBRATION_NS 50000u

#define EVENTS_PER_READ 16u

uint32_t mp_clock_ticks;
static struct mp_thread *alone; /* the one thread recording events, while there is one */

uint64_t mp_clock_anchor_ticks, mp_clock_anchor_ns;
uint64_t mp_clock_ns_per_tick_q32; /* 0: read clock_gettime */
static uint64_t calibration_ns, calibration_ticks; /* the first reading; 0: none under way */

static uint64_t monotonic_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

#if defined(__x86_64__)

static int kernel_uses_tsc(void)
{
	char source[32] = { 0 };
	long got = mp_sys_read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource",
				source, sizeof(source) - 1);
	return got >= 3 && strncmp(source, "tsc\n", 4) == 0;
}

void mp_clock_init(void)
{
	if (mp_clock_ns_per_tick_q32 || calibration_ns || !kernel_uses_tsc())
		return;
	calibration_ns = monotonic_ns();
	calibration_ticks = mp_clock_tsc();
}

void mp_clock_init_done(void)
{
	if (!calibration_ns)
		return;
	uint64_t start_ns = calibration_ns, start_ticks = calibration_ticks;
	uint64_t end_ns, end_ticks;
	calibration_ns = 0;
	do {
		end_ns = monotonic_ns();
		end_ticks = mp_clock_tsc();
	} while (end_ns - start_ns < CALIBRATION_NS);
	if (end_ticks <= start_ticks)
		return;
	mp_clock_anchor_ticks = end_ticks;
	mp_clock_anchor_ns = end_ns;
	__atomic_store_n(&mp_clock_ns_per_tick_q32,
			 ((end_ns - start_ns) << 32) / (end_ticks - start_ticks), __ATOMIC_RELEASE);
}

static inline uint64_t clock_read(void)
{
	uint64_t rate = __atomic_load_n(&mp_clock_ns_per_tick_q32, __ATOMIC_ACQUIRE);
	if (MP_UNLIKELY(!rate))
		return monotonic_ns();
	return mp_clock_tsc_ns(mp_clock_tsc(), rate);
}
#else
void mp_clock_init(void)
{
}

void mp_clock_init_done(void)
{
}

static inline uint64_t clock_read(void)
{
	return monotonic_ns();
}
#endif

uint64_t mp_clock_now_ns(void)
{
	return clock_read();
}

MP_HOT uint64_t mp_clock_event_read(struct mp_thread *thread, uint64_t after)
{
	uint32_t ticks = __atomic_load_n(&mp_clock_ticks, __ATOMIC_ACQUIRE);
	if (ticks == MP_CLOCK_TICKS_EXACT)
		return clock_read();
	struct mp_thread *expected = NULL;
	if (thread != __atomic_load_n(&alone, __ATOMIC_ACQUIRE) &&
	    !__atomic_compare_exchange_n(&alone, &expected, thread, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Before this thread's first event is written: any thread that frees one of its
		 * blocks, or gets an address it freed, has synchronized with it since. */
		__atomic_store_n(&mp_clock_ticks, MP_CLOCK_TICKS_EXACT, __ATOMIC_SEQ_CST);
		ticks = MP_CLOCK_TICKS_EXACT;
	}
	uint64_t now = clock_read();
	if (ticks == 0 || ticks == MP_CLOCK_TICKS_EXACT) {
		thread->clock_left = 0;
		return now;
	}
	thread->clock_ticks = ticks;
	thread->clock_left = EVENTS_PER_READ - 1;
	return now > after ? now : after + 1;
}

/* Moves the ticks on unless they say exact; `from_zero`: also from 0 (the watch's). */
static void ticks_advance(int from_zero)
{
	uint32_t ticks = __atomic_load_n(&mp_clock_ticks, __ATOMIC_ACQUIRE);
	while (ticks != MP_CLOCK_TICKS_EXACT && (ticks || from_zero)) {
		uint32_t next = ticks + 1 == MP_CLOCK_TICKS_EXACT ? 1 : ticks + 1;
		if (__atomic_compare_exchange_n(&mp_clock_ticks, &ticks, next, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return;
	}
}

/* Never in a sampled trace: a block's allocation may be written late, by whichever thread
 * flushes the sampling window, with the flush's time (sampling_set.c); its free must read
 * the clock to come after it. Sampled events are few anyway. */
void mp_clock_tick(void)
{
	if (!mp_config.sample_bytes)
		ticks_advance(1);
}

void mp_clock_resync(void)
{
	ticks_advance(0);
}

void mp_clock_ticks_stop(void)
{
	uint32_t ticks = __atomic_load_n(&mp_clock_ticks, __ATOMIC_ACQUIRE);
	while (ticks != MP_CLOCK_TICKS_EXACT && ticks &&
	       !__atomic_compare_exchange_n(&mp_clock_ticks, &ticks, 0, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
}

void mp_clock_after_fork_child(struct mp_thread *self)
{
	__atomic_store_n(&mp_clock_ticks, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&alone, self, __ATOMIC_RELEASE);
	self->clock_left = 0;
}
