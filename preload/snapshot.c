/* snapshot.c: memory snapshots: taking one, and writing it into the trace.
 *
 * A snapshot is the process context (snapshot_context.c), every mapping of
 * /proc/self/smaps with its figures (smaps.c), and the state of each page of the mappings
 * that have resident or swapped pages (pagemap.c). Layouts are in memprof/trace_format.h.
 * The analyzer joins them with the live blocks at the snapshot's time to say which stacks
 * own resident pages.
 *
 * Triggers: exit (recording.c), a new heap peak (heap_peak.c), and, served by the thread
 * of snapshot_thread.c, a new RSS high (rss_watch.c), every MEMPROF_SNAPSHOT_MS and the
 * signal MEMPROF_SNAPSHOT_SIGNAL.
 *
 * Access (MEMPROF_SNAPSHOT_ACCESS=1): which resident memory was used between two
 * snapshots. What the kernel offers without privileges and everywhere is the referenced
 * bit of each page: writing 1 to /proc/self/clear_refs clears them all, the MMU sets a
 * page's again when it is read or written, and smaps's Referenced: sums the set ones per
 * mapping. So the bits are cleared when recording starts (and in a fork child) and after
 * every snapshot but the exit one, and each snapshot's smaps then says, per mapping, how
 * much was accessed since the previous clear, whose time it carries
 * (MP_SNAPK_ACCESS_SINCE_NS). Not per page: a block that has a mapping of its own (a
 * large malloc the kernel did not merge with a neighbour, an mmap) is measured exactly,
 * blocks sharing a mapping only together (the analyzer says which). The per-page
 * alternatives need what this does not assume: soft-dirty bits (CONFIG_MEM_SOFT_DIRTY,
 * and writes only) or the idle page bitmap (root, CONFIG_IDLE_PAGE_TRACKING). Side
 * effects, documented in docs/usage.md: reclaim sees every page as not recently used
 * right after a clear, and the clear walks the page tables (cost per resident GiB in
 * bench/README.md).
 *
 * Cost: everything runs with raw system calls in one scratch region mapped on first use;
 * reading smaps makes the kernel walk the page tables of every mapping, and pagemap is
 * read only for mappings that smaps says have resident or swapped pages, and for file
 * mappings only once the program mapped a file itself. The exit
 * snapshot of a small program takes about a millisecond; see bench/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "pagemap.h"
#include "proc_text.h"
#include "sampling.h"
#include "smaps.h"
#include "snapshot.h"
#include "unwind.h"

#define SMAPS_BUF_BYTES (64u * 1024u)
#define PAGEMAP_ENTRIES 8192u
#define RUNS_BYTES 4000u
#define BODY_BYTES (8u * 1024u)
#define OWN_MAX MP_SYS_OWN_REGIONS_MAX
#define OWN_PER_MAPPING 64u
#define SPS_MAX 1024u
#define FILE_BUF_BYTES (16u * 1024u)

/* Everything a snapshot needs, mapped once (mp_sys_map_anon) and reused under snapshot_lock. */
struct snapshot_scratch {
	char smaps_buf[SMAPS_BUF_BYTES];
	uint64_t pagemap[PAGEMAP_ENTRIES];
	uint8_t runs[RUNS_BYTES];
	uint8_t residency_body[RUNS_BYTES + 64];
	uint8_t body[BODY_BYTES];
	char file_buf[FILE_BUF_BYTES];
	struct mp_sys_region own[OWN_MAX];
	uint64_t sps[SPS_MAX];  /* stack pointers of the threads */
	struct mp_smaps_parser parser;
};

/* The state of one snapshot being written. */
struct snapshot_run {
	struct mp_thread *thread;
	struct snapshot_scratch *scratch;
	uint64_t seq, page_size;
	size_t own_count, sp_count;
	uint64_t mappings;
	uint64_t rss;           /* smaps' Rss summed so far */
	uint64_t watch_rss;     /* rss-peak: the RSS that triggered it */
	struct mp_pagemap_writer residency;
};


static struct mp_mutex snapshot_lock;
static struct snapshot_scratch *scratch;
static uint64_t last_seq;
static pid_t owner_pid;   /* the process whose trace this is; a vfork child differs */
/* The exit snapshot is the trace's last: an interval or signal snapshot that the snapshot
 * thread starts after it would describe a process already running its exit handlers. */
static int exit_taken;
/* MEMPROF_SNAPSHOT_ACCESS: when the referenced bits were last cleared; 0: never. */
static uint64_t access_since_ns;
/* The last snapshot written, whatever took it: the RSS watch's rate limit counts from it
 * (mp_snapshot_last). Its time is set as it starts, its RSS and cost as it ends; each is
 * read alone: a reader may mix two snapshots' figures, which only moves the limit by one
 * snapshot. */
static uint64_t last_time_ns, last_rss, last_cost_ns;


static uint64_t cpu_now_ns(void)
{
	struct timespec now;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0)
		return 0;
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}


/* ---- the process context ---- */

static uint8_t *put_list(uint8_t *at, const struct mp_snapshot_context *list)
{
	at = mp_put_u(at, list->count);
	for (uint32_t i = 0; i < list->count; i++) {
		at = mp_put_u(at, list->keys[i]);
		at = mp_put_u(at, list->values[i]);
	}
	return at;
}

static void context_add(struct mp_snapshot_context *list, enum mp_snapshot_key key,
			uint64_t value)
{
	if (list->count < MP_SNAPSHOT_CONTEXT_MAX) {
		list->keys[list->count] = key;
		list->values[list->count++] = value;
	}
}

static void snapshot_begin(struct snapshot_run *run, enum mp_snapshot_reason reason,
			   uint64_t time_ns)
{
	struct mp_snapshot_context list;
	mp_snapshot_context_read(&list, run->scratch->file_buf, FILE_BUF_BYTES);
	if (access_since_ns) {
		context_add(&list, MP_SNAPK_ACCESS_METHOD, MP_ACCESS_REFERENCED);
		context_add(&list, MP_SNAPK_ACCESS_SINCE_NS, access_since_ns);
	}
	if (run->watch_rss)
		context_add(&list, MP_SNAPK_WATCH_RSS, run->watch_rss);
	uint8_t *body = run->scratch->body, *at = body;
	at = mp_put_u(at, run->seq);
	at = mp_put_u(at, (uint64_t)reason);
	at = mp_put_u(at, time_ns);
	at = mp_put_u(at, run->page_size);
	at = put_list(at, &list);
	mp_encode_extended(run->thread, MP_REC_SNAPSHOT, body, (size_t)(at - body));
}

/* ---- threads' stacks ---- */

static int snapshot_add_sp(const char *tid, void *context)
{
	struct snapshot_run *run = context;
	char path[64] = "/proc/self/task/";
	uint64_t sp;
	if (mp_sys_own_thread_named(tid))
		return 0; /* on a stack of ours, and maybe queued: reading it would wait */
	mp_sys_str_append(path, sizeof(path), tid);
	mp_sys_str_append(path, sizeof(path), "/syscall");
	if (run->sp_count < SPS_MAX &&
	    mp_sys_read_text(path, run->scratch->file_buf, FILE_BUF_BYTES) &&
	    mp_proc_syscall_sp(run->scratch->file_buf, &sp))
		run->scratch->sps[run->sp_count++] = sp;
	return 0;
}

/* Collects the stack pointers of this thread (where it is on its own stack, if it is on
 * one of memprof's: a peak's snapshot) and of every blocked thread. */
static void snapshot_collect_sps(struct snapshot_run *run)
{
	uint64_t here = __atomic_load_n(&mp_state_thread.program_sp, __ATOMIC_RELAXED);
	if (!here)
		here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	run->scratch->sps[run->sp_count++] = here;
	mp_sys_each_task(snapshot_add_sp, run);
}

/* ---- mappings ---- */

static int path_starts(const char *path, const char *prefix)
{
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

static int snapshot_holds_sp(const struct snapshot_run *run, const struct mp_smaps_entry *entry)
{
	for (size_t i = 0; i < run->sp_count; i++)
		if (run->scratch->sps[i] >= entry->start && run->scratch->sps[i] < entry->end)
			return 1;
	return 0;
}

/* What the mapping is. own_bytes: how much of it is in our own regions. */
static enum mp_mapping_kind snapshot_kind(const struct snapshot_run *run,
					  const struct mp_smaps_entry *entry, uint64_t own_bytes)
{
	const char *path = entry->path;
	const char *trace = mp_trace_file_path();
	if (own_bytes == entry->end - entry->start || strcmp(path, "[anon:memprof]") == 0 ||
	    (trace[0] && path_starts(path, trace)))
		return MP_MAPK_MEMPROF;
	if (strcmp(path, "[heap]") == 0)
		return MP_MAPK_HEAP;
	if (strcmp(path, "[stack]") == 0)
		return MP_MAPK_STACK;
	if (path[0] == '[' && !path_starts(path, "[anon"))
		return MP_MAPK_OTHER; /* [vdso], [vvar], [vsyscall], [uprobes] */
	if (entry->perms & MP_PERM_SHARED) {
		if (!path[0] || path_starts(path, "/dev/zero") || path_starts(path, "/SYSV") ||
		    path_starts(path, "/dev/shm/") || path_starts(path, "/memfd:") ||
		    path_starts(path, "[anon_shmem"))
			return MP_MAPK_SHARED;
		return MP_MAPK_FILE;
	}
	if (path[0] && path[0] != '[')
		return MP_MAPK_FILE; /* private file mappings, memfd included: page cache */
	return snapshot_holds_sp(run, entry) ? MP_MAPK_STACK : MP_MAPK_ANON;
}

/* How the mapping's pages are read (pagemap.h): the zero page is told apart in private
 * anonymous memory that shares no page with another process, where the rule is exact. */
static enum mp_pagemap_read snapshot_pagemap_read(const struct mp_smaps_entry *entry,
						  enum mp_mapping_kind kind)
{
	if (!entry->figures[MP_SMAPS_RSS] && !entry->figures[MP_SMAPS_SWAP])
		return MP_PAGEMAP_NONE;
	int private_anon = !(entry->perms & MP_PERM_SHARED) &&
			   (kind == MP_MAPK_HEAP || kind == MP_MAPK_ANON || kind == MP_MAPK_STACK ||
			    kind == MP_MAPK_MEMPROF);
	if (private_anon && !entry->figures[MP_SMAPS_SHARED_CLEAN] &&
	    !entry->figures[MP_SMAPS_SHARED_DIRTY])
		return MP_PAGEMAP_READ_ZERO_ABSENT;
	return MP_PAGEMAP_READ;
}

/* Writes the parts of the mapping that are our own regions; returns their bytes. */
static uint64_t snapshot_own_parts(const struct snapshot_run *run,
				   const struct mp_smaps_entry *entry, uint8_t **at)
{
	uint64_t own_bytes = 0, count = 0;
	uint8_t *count_at = *at;
	*at += 2; /* room for the count, at most OWN_PER_MAPPING < 2^14 */
	/* The regions are sorted and apart: the first that may end inside the mapping, by
	 * halves (a process with a thousand threads has a thousand of them). */
	size_t first = 0, past = run->own_count;
	while (first < past) {
		size_t mid = first + (past - first) / 2;
		const struct mp_sys_region *own = &run->scratch->own[mid];
		if (own->start + own->length <= entry->start)
			first = mid + 1;
		else
			past = mid;
	}
	for (size_t i = first; i < run->own_count && count < OWN_PER_MAPPING &&
			       run->scratch->own[i].start < entry->end; i++) {
		uint64_t start = run->scratch->own[i].start;
		uint64_t end = start + run->scratch->own[i].length;
		start = start > entry->start ? start : entry->start;
		end = end < entry->end ? end : entry->end;
		if (start >= end)
			continue;
		*at = mp_put_u(*at, start - entry->start);
		*at = mp_put_u(*at, end - start);
		own_bytes += end - start;
		count++;
	}
	/* A two-byte varint of count: 0x80 | low 7 bits, then the rest. */
	count_at[0] = (uint8_t)(0x80 | (count & 0x7f));
	count_at[1] = (uint8_t)(count >> 7);
	return own_bytes;
}

/* 1 once the program mapped a file through mmap (record.c): then every file mapping's
 * pages are read, as one of them may be the program's. */
static int files_mapped;

void mp_snapshot_file_mapped(void)
{
	__atomic_store_n(&files_mapped, 1, __ATOMIC_RELAXED);
}

static void snapshot_mapping(const struct mp_smaps_entry *entry, void *context)
{
	struct snapshot_run *run = context;
	uint8_t *body = run->scratch->body, *at = body;
	at = mp_put_u(at, run->seq);
	at = mp_put_u(at, entry->start);
	at = mp_put_u(at, entry->end - entry->start);
	at = mp_put_u(at, entry->perms);
	at = mp_put_u(at, entry->offset);
	uint8_t *kind_at = at++; /* the kind (< 128) is known once own parts are counted */
	size_t path_len = strlen(entry->path);
	at = mp_put_u(at, path_len);
	memcpy(at, entry->path, path_len);
	at += path_len;
	uint64_t own_bytes = snapshot_own_parts(run, entry, &at);
	enum mp_mapping_kind kind = snapshot_kind(run, entry, own_bytes);
	*kind_at = (uint8_t)kind;
	uint8_t *count_at = at++;
	uint8_t count = 0;
	for (unsigned key = 1; key < MP_SMAPS_KEYS; key++) {
		if (!entry->figures[key])
			continue;
		at = mp_put_u(at, key);
		at = mp_put_u(at, entry->figures[key]);
		count++;
	}
	*count_at = count;
	mp_encode_extended(run->thread, MP_REC_MAPPING, body, (size_t)(at - body));
	run->mappings++;
	run->rss += entry->figures[MP_SMAPS_RSS];
	/* Pages of the trace's chunks are the kernel's page cache of our file: their state
	 * says nothing about the program. */
	if (kind == MP_MAPK_MEMPROF && own_bytes == 0)
		return;
	/* A file mapping holds none of the things residency is reported for (heap blocks, the
	 * program's mmaps and brk) unless the program mapped a file itself: the loader's
	 * mappings of code and data are most of a process's pages (cc1's 34 of 61 MiB), and
	 * walking them again for pagemap cost 8-15% of a snapshot. */
	if (kind == MP_MAPK_FILE && !__atomic_load_n(&files_mapped, __ATOMIC_RELAXED))
		return;
	mp_pagemap_range(&run->residency, entry->start, entry->end,
			 snapshot_pagemap_read(entry, kind));
	mp_pagemap_flush(&run->residency);
}

/* ---- one snapshot ---- */

static int snapshot_scratch_ready(void)
{
	if (!scratch)
		scratch = mp_sys_map_anon(sizeof(*scratch));
	return scratch != NULL;
}

/* Pages memprof faults in and zaps after each clear, to flush the TLB (below). More than
 * x86's tlb_single_page_flush_ceiling (33 by default): a zap of more pages than that
 * flushes every translation of the process, not the zapped pages one by one. Elsewhere
 * (arm64 with range invalidation) a zap may flush only its own pages, and the accessed
 * figures are then lower bounds (docs/usage.md). */
#define TLB_FLUSH_PAGES 64

/* Makes the MMU set the referenced bit again on the next access of every page. The
 * kernel clears the bits in the page tables without flushing the TLB (for clear_refs 1
 * it flushes nothing: the bit is only a hint to reclaim), and a CPU that still holds a
 * page's translation does not write the bit back when the page is used: measured on
 * Linux 6.18, a 64 MiB block rewritten whole every 10 ms showed 1.5% of its pages not
 * accessed. Zapping pages of memprof's own is the flush an unprivileged process can ask
 * for without touching the program's memory; the pages are freed again at once. */
static void snapshot_flush_tlb(void)
{
	static char *pages;
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE), len = TLB_FLUSH_PAGES * page_size;
	if (!pages)
		pages = mp_sys_map_anon(len);
	if (!pages)
		return;
	for (size_t offset = 0; offset < len; offset += page_size)
		__atomic_store_n(&pages[offset], 1, __ATOMIC_RELAXED);
	syscall(SYS_madvise, pages, len, MADV_DONTNEED);
}

/* Clears the referenced bit of every page of the process (proc(5), clear_refs): from
 * now on smaps's Referenced: counts what is accessed. thread-self, as for smaps: the
 * clear of a main thread that called pthread_exit would find no address space. */
static void snapshot_clear_referenced(void)
{
	int fd = mp_sys_open("/proc/thread-self/clear_refs", O_WRONLY);
	if (fd < 0)
		fd = mp_sys_open("/proc/self/clear_refs", O_WRONLY);
	if (fd < 0) {
		access_since_ns = 0; /* not measured from here on */
		return;
	}
	int cleared = syscall(SYS_write, fd, "1", 1) == 1;
	mp_sys_close(fd);
	if (cleared)
		snapshot_flush_tlb();
	access_since_ns = cleared ? mp_clock_now_ns() : 0;
}

/* Writes a whole snapshot; called with snapshot_lock held and the thread busy. */
static void snapshot_write(struct mp_thread *thread, enum mp_snapshot_reason reason,
			   uint64_t watch_rss)
{
	/* The program's events after it must not take times before it (clock.c). */
	mp_clock_resync();
	uint64_t cpu_start = cpu_now_ns(), time_ns = mp_clock_now_ns();
	/* Its time from the start: the RSS watch must not take one of its own meanwhile. */
	__atomic_store_n(&last_time_ns, time_ns, __ATOMIC_RELEASE);
	struct snapshot_run run = {
		.thread = thread, .scratch = scratch, .seq = ++last_seq,
		.page_size = (uint64_t)sysconf(_SC_PAGESIZE), .watch_rss = watch_rss,
	};
	snapshot_begin(&run, reason, time_ns);
	run.own_count = mp_sys_own_regions(scratch->own, OWN_MAX);
	snapshot_collect_sps(&run);
	run.residency = (struct mp_pagemap_writer){
		.thread = thread, .seq = run.seq, .page_size = run.page_size,
		.pagemap = scratch->pagemap, .pagemap_entries = PAGEMAP_ENTRIES,
		.runs = scratch->runs, .runs_cap = RUNS_BYTES, .body = scratch->residency_body,
		/* Not on /proc's number (every descriptor taken), which smaps needs more:
		 * the split of RSS over the mappings matters more than the residency of
		 * blocks. */
		.pagemap_fd = mp_sys_open_unlent("/proc/thread-self/pagemap", O_RDONLY),
	};
	if (run.residency.pagemap_fd < 0 && run.residency.pagemap_fd != -EMFILE)
		run.residency.pagemap_fd = mp_sys_open_unlent("/proc/self/pagemap", O_RDONLY);
	mp_smaps_begin(&scratch->parser, snapshot_mapping, &run);
	long smaps_read = mp_smaps_read(&scratch->parser, scratch->smaps_buf, SMAPS_BUF_BYTES);
	if (run.residency.pagemap_fd >= 0)
		mp_sys_close(run.residency.pagemap_fd);
	/* The next snapshot's interval starts here; after exit there is none. */
	if (mp_config.snapshot_access && reason != MP_SNAP_EXIT)
		snapshot_clear_referenced();
	uint8_t *body = scratch->body, *at = body;
	uint64_t cost_ns = cpu_now_ns() - cpu_start;
	at = mp_put_u(at, run.seq);
	at = mp_put_u(at, mp_clock_now_ns());
	at = mp_put_u(at, run.mappings);
	at = mp_put_u(at, run.residency.records);
	at = mp_put_u(at, cost_ns);
	/* Why a snapshot holds no mapping (every descriptor taken, say), for the reports. */
	at = mp_put_u(at, smaps_read < 0 ? (uint64_t)-smaps_read : 0);
	mp_encode_extended(thread, MP_REC_SNAPSHOT_END, body, (size_t)(at - body));
	__atomic_store_n(&last_rss, run.rss, __ATOMIC_RELAXED);
	__atomic_store_n(&last_cost_ns, cost_ns, __ATOMIC_RELAXED);
}

void mp_snapshot_last(struct mp_snapshot_last *out)
{
	out->time_ns = __atomic_load_n(&last_time_ns, __ATOMIC_ACQUIRE);
	out->rss = __atomic_load_n(&last_rss, __ATOMIC_RELAXED);
	out->cost_ns = __atomic_load_n(&last_cost_ns, __ATOMIC_RELAXED);
}

/* Takes the snapshot if recording is on in this very process; `wait` for a snapshot in
 * progress (exit) or skip (the others). With `unless_since`, skips it if another snapshot
 * was taken since then. Returns whether it was taken. */
static int snapshot_take_locked(struct mp_thread *thread, enum mp_snapshot_reason reason,
				int wait, uint64_t watch_rss, uint64_t unless_since)
{
	if (wait)
		mp_lock(&snapshot_lock, MP_LOCK_SNAPSHOT);
	else if (mp_trylock(&snapshot_lock, MP_LOCK_SNAPSHOT))
		return 0;
	if (exit_taken ||
	    (unless_since && __atomic_load_n(&last_time_ns, __ATOMIC_ACQUIRE) >= unless_since)) {
		mp_unlock(&snapshot_lock, MP_LOCK_SNAPSHOT);
		return 0;
	}
	/* The memory report joins the live blocks with the pages: samples still pending in
	 * the sampling window must be in the trace before the snapshot. */
	if (mp_config.sample_bytes && mp_config.sample_window_ms)
		mp_sampling_set_flush(thread, mp_clock_now_ns(), 1);
	if (snapshot_scratch_ready())
		snapshot_write(thread, reason, watch_rss);
	__atomic_store_n(&exit_taken, reason == MP_SNAP_EXIT || reason == MP_SNAP_FATAL,
			 __ATOMIC_RELEASE);
	mp_unlock(&snapshot_lock, MP_LOCK_SNAPSHOT);
	return 1;
}

/* With signals held: a snapshot takes milliseconds, on the program's own thread for a
 * peak, long enough for a handler that jumps out (siglongjmp, recording_jumps.c) to
 * land in it and leave the lock held for good. Signals wait for it instead. */
static int snapshot_take(struct mp_thread *thread, enum mp_snapshot_reason reason, int wait,
			 uint64_t watch_rss, uint64_t unless_since)
{
	if (!mp_state_is_ready() || (pid_t)syscall(SYS_getpid) != owner_pid)
		return 0;
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	int taken = snapshot_take_locked(thread, reason, wait, watch_rss, unless_since);
	mp_sys_signals_release(&signals);
	return taken;
}

void mp_snapshot_take_busy(struct mp_thread *thread, enum mp_snapshot_reason reason, int wait)
{
	snapshot_take(thread, reason, wait, 0, 0);
}

int mp_snapshot_rss_peak(struct mp_thread *thread, uint64_t rss, uint64_t seen_ns)
{
	return snapshot_take(thread, MP_SNAP_RSS_PEAK, 0, rss, seen_ns);
}

int mp_snapshot_ended(void)
{
	return __atomic_load_n(&exit_taken, __ATOMIC_ACQUIRE);
}

void mp_snapshot_take(enum mp_snapshot_reason reason)
{
	struct mp_thread *thread = &mp_state_thread;
	if (reason == MP_SNAP_EXIT && !mp_config.snapshot_exit) {
		__atomic_store_n(&exit_taken, 1, __ATOMIC_RELEASE); /* none after exit either */
		return;
	}
	/* Busy means the recorder was interrupted on this thread (a handler calling _exit):
	 * its chunk is mid-record, so no snapshot. */
	if (thread->busy)
		return;
	int saved_errno = errno;
	thread->busy = 1;
	mp_snapshot_take_busy(thread, reason, reason == MP_SNAP_EXIT);
	thread->busy = 0;
	errno = saved_errno;
}

/* Stack a fatal snapshot may use below the handler's frame: a snapshot takes a few KiB
 * (snapshot_begin's frame is 2.8 KiB), many times less. */
#define FATAL_STACK_ROOM (64u * 1024u)

void mp_snapshot_fatal(void)
{
	struct mp_thread *thread = &mp_state_thread;
	stack_t current;
	if (!mp_config.snapshot_exit || thread->busy || thread->held_locks ||
	    syscall(SYS_sigaltstack, NULL, &current) != 0 || (current.ss_flags & SS_ONSTACK) ||
	    mp_unwind_stack_room((uintptr_t)__builtin_frame_address(0)) < FATAL_STACK_ROOM)
		return;
	int saved_errno = errno;
	thread->busy = 1;
	mp_snapshot_take_busy(thread, MP_SNAP_FATAL, 0);
	thread->busy = 0;
	errno = saved_errno;
}

static void snapshot_peak_call(void *thread)
{
	mp_snapshot_take_busy(thread, MP_SNAP_PEAK, 0);
}

/* On memprof's own stack: the program's thread is inside its malloc, perhaps deep in a
 * small stack (PTHREAD_STACK_MIN is 16 KiB, a coroutine's may be less), and a snapshot
 * takes several KiB (snapshot_begin's frame alone 2.8): a thread of 16 KiB with 6 KiB
 * left crashed there (tests/integration/small_stacks.sh, `peak`). Without a stack of ours,
 * only where the thread's own is known to have room; else no snapshot (the next check
 * may take it). */
void mp_snapshot_peak(struct mp_thread *thread, uint64_t heap_bytes)
{
	(void)heap_bytes; /* the analyzer replays the exact heap; this was only the trigger */
	if (mp_unwind_call_apart(snapshot_peak_call, thread))
		return;
	if (mp_unwind_stack_room((uintptr_t)__builtin_frame_address(0)) >= FATAL_STACK_ROOM)
		snapshot_peak_call(thread);
}

void mp_snapshot_start(void)
{
	owner_pid = (pid_t)syscall(SYS_getpid);
	if (mp_config.snapshot_access)
		snapshot_clear_referenced();
}

void mp_snapshot_after_fork_child(void)
{
	/* The lock may have been held by a thread that is gone. */
	mp_mutex_reset(&snapshot_lock);
	owner_pid = (pid_t)syscall(SYS_getpid);
	last_seq = 0;
	last_time_ns = last_rss = last_cost_ns = 0;
	exit_taken = 0;
	/* The child's interval starts at its birth, not at its parent's last snapshot. */
	access_since_ns = 0;
	if (mp_config.snapshot_access)
		snapshot_clear_referenced();
}
