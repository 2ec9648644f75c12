/* rss_watch.c: the RSS watch: the process's RSS every MEMPROF_RSS_WATCH_MS (default 10),
 * kept in the trace as a series (RSS records) and snapshotted at each new high.
 *
 * Heap-peak snapshots (heap_peak.c) are taken inside the malloc that makes a new heap
 * peak, before the program writes the block: a program that mallocs 1 GB and fills it
 * slowly reaches its highest RSS long after. Only watching RSS finds that moment, and
 * RSS grows by page faults, which no interposed call sees; so memprof's thread
 * (snapshot_thread.c) calls mp_rss_watch_tick periodically, as heaptrack reads statm every
 * 10 ms on a thread of its own.
 *
 * One tick is one read of /proc/thread-self/statm (open, read, close: a program that
 * closes every descriptor it did not open, as daemons do, cannot pull a kept one from
 * under us) and, now and then, a record. The series is written as a step line: a sample
 * when RSS, its shared part or VIRT moved by 1% and 64 KiB since the last one written,
 * preceded by the last unchanged sample, so a flat program writes nothing. An rss-peak
 * snapshot is taken when RSS exceeds the RSS of the last one by 5% and 1 MiB (the
 * first tick's RSS is the base: starting up is not a peak), at most once per 20 ms and
 * once per ten times the CPU time the last one took, so snapshots take at most a tenth
 * of one core while RSS climbs and none while it is flat. A new high found while
 * rate-limited is taken at the first tick after the gap if RSS is still that high.
 */
#include <string.h>
#include <time.h>

#include "encode.h"
#include "proc_text.h"
#include "snapshot.h"

#define MOVE_MIN_BYTES (64u * 1024u)
#define MOVE_PERCENT 1u
#define PEAK_MIN_GROWTH (1ull << 20)
#define PEAK_GROWTH_DIVISOR 20u /* 5% */
#define PEAK_MIN_GAP_NS 20000000ull
#define PEAK_COST_FACTOR 10u

struct watch_sample {
	uint64_t time_ns, rss, shared, virt;
};

/* Touched only by the watch thread, and by the fork child's handler before it has one. */
static struct watch_sample written, held;
static int have_written, have_held;
static uint64_t peak_rss, peak_ns, peak_gap_ns = PEAK_MIN_GAP_NS;
static int have_base;

static int watch_read(struct watch_sample *sample, uint64_t now_ns)
{
	char text[128];
	uint64_t pages[3];
	long got = mp_sys_read_file("/proc/thread-self/statm", text, sizeof(text));
	if (got <= 0 || !mp_proc_statm(text, (size_t)got, pages))
		return 0;
	uint64_t page = mp_trace_file_page_size();
	*sample = (struct watch_sample){ now_ns, pages[1] * page, pages[2] * page, pages[0] * page };
	return 1;
}

static int watch_moved(uint64_t now, uint64_t then)
{
	uint64_t delta = now > then ? now - then : then - now;
	uint64_t base = now > then ? now : then;
	return delta >= MOVE_MIN_BYTES && delta * 100 >= base * MOVE_PERCENT;
}

static void watch_write(struct mp_thread *thread, const struct watch_sample *sample)
{
	uint8_t body[5 * MP_VARINT_MAX], *at = body;
	at = mp_put_u(at, sample->time_ns);
	at = mp_put_u(at, sample->rss);
	at = mp_put_u(at, sample->shared);
	at = mp_put_u(at, sample->virt);
	at = mp_put_u(at, mp_config.rss_watch_ms);
	mp_encode_extended(thread, MP_REC_RSS, body, (size_t)(at - body));
}

static void watch_series(struct mp_thread *thread, const struct watch_sample *sample)
{
	if (have_written && !watch_moved(sample->rss, written.rss) &&
	    !watch_moved(sample->shared, written.shared) && !watch_moved(sample->virt, written.virt)) {
		held = *sample;
		have_held = 1;
		return;
	}
	if (have_held && held.time_ns > written.time_ns)
		watch_write(thread, &held); /* the end of the flat step */
	watch_write(thread, sample);
	written = *sample;
	have_written = 1;
	have_held = 0;
}

static uint64_t watch_cpu_ns(void)
{
	struct timespec now;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0)
		return 0;
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void watch_peak(struct mp_thread *thread, const struct watch_sample *sample)
{
	if (!have_base) {
		peak_rss = sample->rss;
		have_base = 1;
		return;
	}
	uint64_t growth = peak_rss / PEAK_GROWTH_DIVISOR;
	if (growth < PEAK_MIN_GROWTH)
		growth = PEAK_MIN_GROWTH;
	if (sample->rss < peak_rss + growth || sample->time_ns - peak_ns < peak_gap_ns)
		return;
	uint64_t cpu_start = watch_cpu_ns();
	mp_snapshot_rss_peak(thread, sample->rss);
	uint64_t cost = (watch_cpu_ns() - cpu_start) * PEAK_COST_FACTOR;
	peak_rss = sample->rss;
	peak_ns = sample->time_ns;
	peak_gap_ns = cost > PEAK_MIN_GAP_NS ? cost : PEAK_MIN_GAP_NS;
}

void mp_rss_watch_tick(struct mp_thread *thread, uint64_t now_ns)
{
	struct watch_sample sample;
	/* Nothing before the trace exists (a fork child before its first event), nothing
	 * after the exit snapshot: the exit-time leak scan's tables are memprof's, not a
	 * peak of the program's. */
	if (!mp_state_is_ready() || mp_snapshot_ended() || !watch_read(&sample, now_ns))
		return;
	watch_series(thread, &sample);
	watch_peak(thread, &sample);
}

void mp_rss_watch_after_fork_child(void)
{
	have_written = have_held = have_base = 0;
	peak_rss = peak_ns = 0;
	peak_gap_ns = PEAK_MIN_GAP_NS;
}
