/* rss_watch.c: the RSS watch: the process's RSS every MEMPROF_RSS_WATCH_MS (default 10),
 * kept in the trace as a series (RSS records) and snapshotted at each new high.
 *
 * Heap-peak snapshots (heap_peak.c) are taken inside the malloc that makes a new heap
 * peak, before the program writes the block: a program that mallocs 1 GB and fills it
 * slowly reaches its highest RSS long after. Only watching RSS finds that moment, and
 * RSS grows by page faults, which no interposed call sees; so one of memprof's threads
 * calls mp_rss_watch_tick periodically, as heaptrack reads statm every 10 ms on a thread of
 * its own. Which one: the leak thread when it runs (the default, full trace), which wakes
 * every few milliseconds anyway; memprof's snapshot thread otherwise (sampled, or without
 * the leak check). A thread of memprof's costs a short program its start and, on a loaded
 * machine, a wait for a CPU to end on (bench/README.md): one thread the fewer is what such
 * a program would notice. The first to claim the watch keeps it.
 *
 * One tick is one pread of /proc/thread-self/statm, kept open (this thread's own task,
 * which lives as long as the watch: /proc/self would name the main thread, a zombie
 * without an address space once it called pthread_exit) on a descriptor moved up to
 * STATM_FD_FLOOR, where a program opening its own files does not reach; a program that
 * closes every descriptor it did not open, as daemons do, makes the read fail, and the
 * file is opened again (the old number, maybe the program's by now, is never closed).
 * Keeping it open halves a tick's cost: on this 2-core VM a wake-up costs 30-50 us of
 * CPU, opening statm 20-25 more (bench/README.md).
 *
 * The series is written as a step line: a sample when RSS, its shared part or VIRT
 * moved by 1% and 64 KiB since the last one written, preceded by the last unchanged
 * sample, so a flat program writes nothing. An rss-peak
 * snapshot is taken when RSS exceeds the RSS of the last one by 5% and 1 MiB (the
 * first tick's RSS is the base: starting up is not a peak), at most once per 20 ms and
 * once per ten times the CPU time the last one took, so snapshots take at most a tenth
 * of one core while RSS climbs and none while it is flat. A new high found while
 * rate-limited is taken at the first tick after the gap if RSS is still that high. A
 * snapshot taken meanwhile for another reason (heap-peak, mostly) counts as the last
 * one, and one at work when the watch would take its own makes it wait for the next
 * tick: python3 building a dict took rss-peak snapshots a few ms after heap-peak ones,
 * 42 snapshots in 2 s, many a copy of the one before.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

/* The thread that watches claimed it here; the exit stops the ticks. */
static int claimed, stopped;

/* Touched only by the watch thread, and by the fork child's handler before it has one. */
static struct watch_sample written, held;
static int have_written, have_held;
static uint64_t peak_rss, peak_ns, peak_gap_ns = PEAK_MIN_GAP_NS;
static int have_base;

/* The watch thread's statm, and what it is, to know it again in a fork child. */
static int statm_fd = -1;
static uint64_t statm_dev, statm_ino;
/* The statm descriptor is read once and closed: opened with every descriptor taken (on
 * /proc's lent number, or on a number just freed, which could not be moved up), kept it
 * took /proc's number for good and every later read of /proc failed (fd_exhaust.sh). */
static int statm_once;

static int watch_open(void)
{
	struct stat info;
	int fd = mp_sys_open("/proc/thread-self/statm", O_RDONLY);
	if (fd < 0)
		return -1;
	statm_once = mp_sys_fd_is_borrowed(fd); /* before a move, which would close it */
	if (!statm_once) {
		int moved = mp_sys_fd_move_high(fd);
		statm_once = moved == fd; /* no number left to move it to */
		fd = moved;
	}
	if (statm_once)
		return fd;
	if (syscall(SYS_fstat, fd, &info) == 0) {
		statm_dev = (uint64_t)info.st_dev;
		statm_ino = (uint64_t)info.st_ino;
	}
	return fd;
}

static int watch_read(struct watch_sample *sample, uint64_t now_ns)
{
	char text[128];
	uint64_t pages[3];
	for (int attempt = 0; attempt < 2; attempt++) {
		if (statm_fd < 0 && (statm_fd = watch_open()) < 0)
			return 0;
		long got = syscall(SYS_pread64, statm_fd, text, sizeof(text), 0);
		if (statm_once) {
			mp_sys_close(statm_fd);
			statm_fd = -1;
		}
		if (got > 0 && mp_proc_statm(text, (size_t)got, pages)) {
			uint64_t page = mp_trace_file_page_size();
			*sample = (struct watch_sample){ now_ns, pages[1] * page, pages[2] * page,
							 pages[0] * page };
			return 1;
		}
		statm_fd = -1; /* closed by the program: forgotten, never closed by us */
	}
	return 0;
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

/* The gap after a snapshot that took cpu_ns: PEAK_COST_FACTOR times it, at least
 * PEAK_MIN_GAP_NS. */
static uint64_t watch_gap(uint64_t cpu_ns)
{
	uint64_t cost = cpu_ns * PEAK_COST_FACTOR;
	return cost > PEAK_MIN_GAP_NS ? cost : PEAK_MIN_GAP_NS;
}

/* A snapshot taken since the watch's last one (a heap-peak snapshot, most often) counts
 * as if it were the watch's: its RSS if higher, its time and cost. */
static void watch_note_others(void)
{
	struct mp_snapshot_last last;
	mp_snapshot_last(&last);
	if (!last.time_ns || last.time_ns <= peak_ns)
		return;
	if (last.rss > peak_rss)
		peak_rss = last.rss;
	peak_ns = last.time_ns;
	peak_gap_ns = watch_gap(last.cost_ns);
}

static void watch_peak(struct mp_thread *thread, const struct watch_sample *sample)
{
	if (!have_base) {
		peak_rss = sample->rss;
		have_base = 1;
		return;
	}
	watch_note_others();
	uint64_t growth = peak_rss / PEAK_GROWTH_DIVISOR;
	if (growth < PEAK_MIN_GROWTH)
		growth = PEAK_MIN_GROWTH;
	if (sample->rss < peak_rss + growth || sample->time_ns - peak_ns < peak_gap_ns)
		return;
	uint64_t cpu_start = watch_cpu_ns();
	/* Not taken: another snapshot was at work; the next tick looks again, counting it. */
	if (!mp_snapshot_rss_peak(thread, sample->rss, sample->time_ns))
		return;
	peak_gap_ns = watch_gap(watch_cpu_ns() - cpu_start);
	peak_rss = sample->rss;
	peak_ns = sample->time_ns;
}

void mp_rss_watch_tick(struct mp_thread *thread, uint64_t now_ns)
{
	struct watch_sample sample;
	/* Nothing before the trace exists (a fork child before its first event), nothing
	 * after the exit snapshot: the exit-time leak scan's tables are memprof's, not a
	 * peak of the program's. */
	if (!mp_state_is_ready() || mp_snapshot_ended() ||
	    __atomic_load_n(&stopped, __ATOMIC_ACQUIRE))
		return;
	mp_clock_tick();
	if (!watch_read(&sample, now_ns))
		return;
	watch_series(thread, &sample);
	watch_peak(thread, &sample);
}

void mp_rss_watch_after_fork_child(void)
{
	/* The inherited descriptor names the parent's thread: closed if it is still ours. */
	struct stat info;
	if (statm_fd >= 0 && syscall(SYS_fstat, statm_fd, &info) == 0 &&
	    (uint64_t)info.st_dev == statm_dev && (uint64_t)info.st_ino == statm_ino)
		syscall(SYS_close, statm_fd);
	statm_fd = -1;
	claimed = stopped = 0;
	have_written = have_held = have_base = 0;
	peak_rss = peak_ns = 0;
	peak_gap_ns = PEAK_MIN_GAP_NS;
}

int mp_rss_watch_claim(void)
{
	int expected = 0;
	return __atomic_compare_exchange_n(&claimed, &expected, 1, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

void mp_rss_watch_stop(void)
{
	__atomic_store_n(&stopped, 1, __ATOMIC_RELEASE);
	mp_clock_ticks_stop();
}
