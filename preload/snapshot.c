/* snapshot.c: memory snapshots: when to take one, and writing it into the trace.
 *
 * A snapshot is the process context (/proc/self/status, oom_score, cgroup, overcommit,
 * THP), every mapping of /proc/self/smaps with its figures, and the state of each page
 * of the mappings that have resident or swapped pages (residency.c). Layouts are in
 * memprof/trace_format.h. The analyzer joins them with the live blocks at the snapshot's
 * time to say which stacks own resident pages.
 *
 * Triggers: exit (init.c, via mp_announce_end), every MEMPROF_SNAPSHOT_MS, and the signal
 * MEMPROF_SNAPSHOT_SIGNAL. The last two are served by one thread of ours, started from the
 * constructor only when asked for: it is busy for life (records nothing of its own),
 * blocks every signal, runs on a stack from mp_map_anon (so it counts as memprof's memory)
 * and leaves when it is the last thread, so it never keeps a process alive whose program
 * threads have all ended. The signal handler only posts a semaphore (sem_post is
 * async-signal-safe) and chains to nothing: the user gave that signal to us.
 *
 * Cost: everything runs with raw system calls in one scratch region mapped on first use;
 * reading smaps makes the kernel walk the page tables of every mapping, and pagemap is
 * read only for mappings that smaps says have resident or swapped pages. The exit
 * snapshot of a small program takes about a millisecond; see bench/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "memprof/varint.h"
#include "smaps.h"

#define SMAPS_BUF_BYTES (64u * 1024u)
#define PAGEMAP_ENTRIES 8192u
#define RUNS_BYTES 4000u
#define BODY_BYTES (8u * 1024u)
#define OWN_MAX 256u
#define OWN_PER_MAPPING 64u
#define SPS_MAX 1024u
#define FILE_BUF_BYTES (16u * 1024u)
#define THREAD_STACK_BYTES (128u * 1024u)
#define LIVENESS_CHECK_NS 1000000000ull

/* Everything a snapshot needs, mapped once (mp_map_anon) and reused under snapshot_lock. */
struct snapshot_scratch {
	char smaps_buf[SMAPS_BUF_BYTES];
	uint64_t pagemap[PAGEMAP_ENTRIES];
	uint8_t runs[RUNS_BYTES];
	uint8_t residency_body[RUNS_BYTES + 64];
	uint8_t body[BODY_BYTES];
	char file_buf[FILE_BUF_BYTES];
	struct mp_own_region own[OWN_MAX];
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
	struct mp_residency_writer residency;
};

static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot_scratch *scratch;
static uint64_t last_seq;
static pid_t owner_pid;   /* the process whose trace this is; a vfork child differs */
static sem_t wake;
static int wake_ready, thread_running, signal_pending;
static __thread int in_snapshot_thread __attribute__((tls_model("initial-exec")));

static uint64_t cpu_now_ns(void)
{
	struct timespec now;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0)
		return 0;
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* ---- the process context ---- */

/* Finds "Key: 1234 kB" (a line of /proc/self/status or /proc/meminfo) in text; the
 * value in bytes if it says kB. Returns 1 if found. */
static int context_field(const char *text, const char *key, uint64_t *value)
{
	size_t key_len = strlen(key);
	for (const char *line = text; *line;) {
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
			const char *at = line + key_len + 1;
			uint64_t number = 0;
			while (*at == ' ' || *at == '\t')
				at++;
			for (; *at >= '0' && *at <= '9'; at++)
				number = number * 10 + (uint64_t)(*at - '0');
			*value = strncmp(at, " kB", 3) == 0 ? number * 1024 : number;
			return 1;
		}
		const char *newline = strchr(line, '\n');
		if (!newline)
			break;
		line = newline + 1;
	}
	return 0;
}

/* Reads a small file as a NUL-terminated string into the scratch buffer; 1 if read. */
static int context_read(struct snapshot_run *run, const char *path)
{
	long got = mp_read_file(path, run->scratch->file_buf, FILE_BUF_BYTES - 1);
	if (got <= 0)
		return 0;
	run->scratch->file_buf[got] = '\0';
	return 1;
}

/* A file holding one number ("-1000\n", "max\n"); 1 if it is a number. */
static int context_number(struct snapshot_run *run, const char *path, int64_t *value)
{
	if (!context_read(run, path))
		return 0;
	const char *at = run->scratch->file_buf;
	int negative = *at == '-';
	at += negative;
	if (*at < '0' || *at > '9')
		return 0;
	int64_t number = 0;
	for (; *at >= '0' && *at <= '9'; at++)
		number = number * 10 + (*at - '0');
	*value = negative ? -number : number;
	return 1;
}

struct context_list {
	uint64_t keys[32], values[32];
	uint32_t count;
};

static void context_put(struct context_list *list, enum mp_snapshot_key key, uint64_t value)
{
	if (list->count < 32) {
		list->keys[list->count] = key;
		list->values[list->count++] = value;
	}
}

static void context_status(struct snapshot_run *run, struct context_list *list)
{
	static const struct { const char *name; enum mp_snapshot_key key; } fields[] = {
		{ "VmPeak", MP_SNAPK_VM_PEAK }, { "VmSize", MP_SNAPK_VM_SIZE },
		{ "VmHWM", MP_SNAPK_VM_HWM }, { "VmRSS", MP_SNAPK_VM_RSS },
		{ "RssAnon", MP_SNAPK_RSS_ANON }, { "RssFile", MP_SNAPK_RSS_FILE },
		{ "RssShmem", MP_SNAPK_RSS_SHMEM }, { "VmSwap", MP_SNAPK_VM_SWAP },
		{ "Threads", MP_SNAPK_THREADS },
	};
	uint64_t value;
	if (context_read(run, "/proc/thread-self/status") || context_read(run, "/proc/self/status"))
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (context_field(run->scratch->file_buf, fields[i].name, &value))
				context_put(list, fields[i].key, value);
	if (context_read(run, "/proc/meminfo")) {
		const char *text = run->scratch->file_buf;
		if (context_field(text, "CommitLimit", &value))
			context_put(list, MP_SNAPK_COMMIT_LIMIT, value);
		if (context_field(text, "Committed_AS", &value))
			context_put(list, MP_SNAPK_COMMITTED_AS, value);
		if (context_field(text, "MemTotal", &value))
			context_put(list, MP_SNAPK_MEM_TOTAL, value);
		if (context_field(text, "MemAvailable", &value))
			context_put(list, MP_SNAPK_MEM_AVAILABLE, value);
	}
}

/* The cgroup's limit and usage: cgroup v2 ("0::/path" in /proc/self/cgroup, files
 * memory.max and memory.current) or v1 ("4:memory:/path", memory.limit_in_bytes and
 * memory.usage_in_bytes). Inside a cgroup namespace the path is "/" and the group is the
 * mount's root, which the same lookup finds. "max" or a v1 limit near 2^63 is no limit. */
static void context_cgroup(struct snapshot_run *run, struct context_list *list)
{
	char group[1024] = "", path[1200];
	const char *dir = NULL, *max_name = NULL, *current_name = NULL;
	if (!context_read(run, "/proc/self/cgroup"))
		return;
	for (const char *line = run->scratch->file_buf; *line;) {
		const char *newline = strchr(line, '\n');
		size_t len = newline ? (size_t)(newline - line) : strlen(line);
		const char *v1 = memmem(line, len, ":memory:", 8);
		const char *v2 = strncmp(line, "0::", 3) == 0 ? line + 3 : NULL;
		const char *start = v1 ? v1 + 8 : v2;
		if (start && (size_t)(line + len - start) < sizeof(group) && (v1 || !dir)) {
			memcpy(group, start, (size_t)(line + len - start));
			group[line + len - start] = '\0';
			dir = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
			max_name = v1 ? "/memory.limit_in_bytes" : "/memory.max";
			current_name = v1 ? "/memory.usage_in_bytes" : "/memory.current";
		}
		if (!newline)
			break;
		line = newline + 1;
	}
	if (!dir)
		return;
	int64_t value;
	path[0] = '\0';
	mp_str_append(path, sizeof(path), dir);
	mp_str_append(path, sizeof(path), strcmp(group, "/") == 0 ? "" : group);
	size_t base = strlen(path);
	mp_str_append(path, sizeof(path), current_name);
	if (!context_number(run, path, &value)) {
		path[0] = '\0'; /* not mounted where the path says: try the mount's root */
		mp_str_append(path, sizeof(path), dir);
		base = strlen(path);
		mp_str_append(path, sizeof(path), current_name);
		if (!context_number(run, path, &value))
			return;
	}
	context_put(list, MP_SNAPK_CGROUP_CURRENT, (uint64_t)value);
	path[base] = '\0';
	mp_str_append(path, sizeof(path), max_name);
	if (context_number(run, path, &value) && value > 0 && value < (1ll << 62))
		context_put(list, MP_SNAPK_CGROUP_MAX, (uint64_t)value);
}

static void context_system(struct snapshot_run *run, struct context_list *list)
{
	int64_t value;
	if (context_number(run, "/proc/self/oom_score", &value))
		context_put(list, MP_SNAPK_OOM_SCORE, (uint64_t)value);
	if (context_number(run, "/proc/self/oom_score_adj", &value))
		context_put(list, MP_SNAPK_OOM_SCORE_ADJ, mp_zigzag(value));
	if (context_number(run, "/proc/sys/vm/overcommit_memory", &value))
		context_put(list, MP_SNAPK_OVERCOMMIT, (uint64_t)value);
	/* "always [madvise] never": the bracketed word is the mode. */
	if (context_read(run, "/sys/kernel/mm/transparent_hugepage/enabled")) {
		const char *text = run->scratch->file_buf;
		if (strstr(text, "[always]"))
			context_put(list, MP_SNAPK_THP_MODE, 0);
		else if (strstr(text, "[madvise]"))
			context_put(list, MP_SNAPK_THP_MODE, 1);
		else if (strstr(text, "[never]"))
			context_put(list, MP_SNAPK_THP_MODE, 2);
	}
}

static uint8_t *put_list(uint8_t *at, const struct context_list *list)
{
	at = mp_put_u(at, list->count);
	for (uint32_t i = 0; i < list->count; i++) {
		at = mp_put_u(at, list->keys[i]);
		at = mp_put_u(at, list->values[i]);
	}
	return at;
}

static void snapshot_begin(struct snapshot_run *run, enum mp_snapshot_reason reason,
			   uint64_t time_ns)
{
	struct context_list list = { .count = 0 };
	context_status(run, &list);
	context_system(run, &list);
	context_cgroup(run, &list);
	uint8_t *body = run->scratch->body, *at = body;
	at = mp_put_u(at, run->seq);
	at = mp_put_u(at, (uint64_t)reason);
	at = mp_put_u(at, time_ns);
	at = mp_put_u(at, run->page_size);
	at = put_list(at, &list);
	mp_record_extended(run->thread, MP_REC_SNAPSHOT, body, (size_t)(at - body));
}

/* ---- threads' stacks ---- */

/* "/proc/self/task/TID/syscall" of a blocked thread ends with its stack pointer and
 * program counter: "202 0x7f... 0x80 0x0 0x0 0x0 0x0 0x7f3a8e5fed58 0x7f3a8f091d36"; a
 * running thread says "running". Returns 1 with *sp set if found. */
static int snapshot_thread_sp(struct snapshot_run *run, const char *tid, uint64_t *sp)
{
	char path[64] = "/proc/self/task/";
	mp_str_append(path, sizeof(path), tid);
	mp_str_append(path, sizeof(path), "/syscall");
	if (!context_read(run, path))
		return 0;
	const char *fields[16];
	int count = 0;
	for (const char *at = run->scratch->file_buf; *at && count < 16;) {
		while (*at == ' ' || *at == '\n')
			at++;
		if (!*at)
			break;
		fields[count++] = at;
		while (*at && *at != ' ' && *at != '\n')
			at++;
	}
	if (count < 3 || strncmp(fields[count - 2], "0x", 2) != 0)
		return 0;
	uint64_t value = 0;
	for (const char *at = fields[count - 2] + 2; *at && *at != ' '; at++) {
		int digit = *at >= '0' && *at <= '9' ? *at - '0'
			  : *at >= 'a' && *at <= 'f' ? *at - 'a' + 10 : -1;
		if (digit < 0)
			break;
		value = (value << 4) | (uint64_t)digit;
	}
	*sp = value;
	return value != 0;
}

struct snapshot_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Collects the stack pointers of this thread and of every blocked thread. */
static void snapshot_collect_sps(struct snapshot_run *run)
{
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	run->scratch->sps[run->sp_count++] = here;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[4096];
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got;) {
			struct snapshot_dirent *entry = (struct snapshot_dirent *)(buf + at);
			uint64_t sp;
			at += entry->reclen;
			if (entry->name[0] < '0' || entry->name[0] > '9' || run->sp_count >= SPS_MAX)
				continue;
			if (snapshot_thread_sp(run, entry->name, &sp))
				run->scratch->sps[run->sp_count++] = sp;
		}
	}
	syscall(SYS_close, fd);
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

/* Writes the parts of the mapping that are our own regions; returns their bytes. */
static uint64_t snapshot_own_parts(const struct snapshot_run *run,
				   const struct mp_smaps_entry *entry, uint8_t **at)
{
	uint64_t own_bytes = 0, count = 0;
	uint8_t *count_at = *at;
	*at += 2; /* room for the count, at most OWN_PER_MAPPING < 2^14 */
	for (size_t i = 0; i < run->own_count && count < OWN_PER_MAPPING; i++) {
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
	mp_record_extended(run->thread, MP_REC_MAPPING, body, (size_t)(at - body));
	run->mappings++;
	/* Pages of the trace's chunks are the kernel's page cache of our file: their state
	 * says nothing about the program. */
	if (kind == MP_MAPK_MEMPROF && own_bytes == 0)
		return;
	int touched = entry->figures[MP_SMAPS_RSS] || entry->figures[MP_SMAPS_SWAP];
	mp_residency_range(&run->residency, entry->start, entry->end, touched);
	mp_residency_flush(&run->residency);
}

/* ---- one snapshot ---- */

static int snapshot_scratch_ready(void)
{
	if (!scratch)
		scratch = mp_map_anon(sizeof(*scratch));
	return scratch != NULL;
}

/* Writes a whole snapshot; called with snapshot_lock held and the thread busy. */
static void snapshot_write(struct mp_thread *thread, enum mp_snapshot_reason reason)
{
	uint64_t cpu_start = cpu_now_ns(), time_ns = mp_now_ns();
	struct snapshot_run run = {
		.thread = thread, .scratch = scratch, .seq = ++last_seq,
		.page_size = (uint64_t)sysconf(_SC_PAGESIZE),
	};
	snapshot_begin(&run, reason, time_ns);
	run.own_count = mp_own_regions(scratch->own, OWN_MAX);
	snapshot_collect_sps(&run);
	run.residency = (struct mp_residency_writer){
		.thread = thread, .seq = run.seq, .page_size = run.page_size,
		.pagemap = scratch->pagemap, .pagemap_entries = PAGEMAP_ENTRIES,
		.runs = scratch->runs, .runs_cap = RUNS_BYTES, .body = scratch->residency_body,
		.pagemap_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/pagemap",
					   O_RDONLY | O_CLOEXEC),
	};
	if (run.residency.pagemap_fd < 0)
		run.residency.pagemap_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap",
							O_RDONLY | O_CLOEXEC);
	mp_smaps_begin(&scratch->parser, snapshot_mapping, &run);
	mp_smaps_read(&scratch->parser, scratch->smaps_buf, SMAPS_BUF_BYTES);
	if (run.residency.pagemap_fd >= 0)
		syscall(SYS_close, run.residency.pagemap_fd);
	uint8_t *body = scratch->body, *at = body;
	at = mp_put_u(at, run.seq);
	at = mp_put_u(at, mp_now_ns());
	at = mp_put_u(at, run.mappings);
	at = mp_put_u(at, run.residency.records);
	at = mp_put_u(at, cpu_now_ns() - cpu_start);
	mp_record_extended(thread, MP_REC_SNAPSHOT_END, body, (size_t)(at - body));
}

/* Takes the snapshot if recording is on in this very process; `wait` for a snapshot in
 * progress (exit) or skip (the others). The thread must be marked busy. */
static void snapshot_locked(struct mp_thread *thread, enum mp_snapshot_reason reason, int wait)
{
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) != MP_STATE_READY ||
	    (pid_t)syscall(SYS_getpid) != owner_pid)
		return;
	if (wait ? pthread_mutex_lock(&snapshot_lock) : pthread_mutex_trylock(&snapshot_lock))
		return;
	/* The memory report joins the live blocks with the pages: samples still pending in
	 * the sampling window must be in the trace before the snapshot. */
	if (mp_config.sample_bytes && mp_config.sample_window_ms)
		mp_sampled_flush(thread, mp_now_ns(), 1);
	if (snapshot_scratch_ready())
		snapshot_write(thread, reason);
	pthread_mutex_unlock(&snapshot_lock);
}

void mp_snapshot_take(enum mp_snapshot_reason reason)
{
	struct mp_thread *thread = &mp_self_thread;
	if (reason == MP_SNAP_EXIT && !mp_config.snapshot_exit)
		return;
	int saved_errno = errno;
	if (in_snapshot_thread) {
		snapshot_locked(thread, reason, reason == MP_SNAP_EXIT);
	} else if (!thread->busy) {
		/* Busy means the recorder was interrupted on this thread (a handler calling
		 * _exit): its chunk is mid-record, so no snapshot. */
		thread->busy = 1;
		snapshot_locked(thread, reason, reason == MP_SNAP_EXIT);
		thread->busy = 0;
	}
	errno = saved_errno;
}

void mp_snapshot_peak(struct mp_thread *thread, uint64_t heap_bytes)
{
	(void)heap_bytes; /* the analyzer replays the exact heap; this was only the trigger */
	snapshot_locked(thread, MP_SNAP_PEAK, 0);
}

/* ---- the snapshot thread ---- */

static void snapshot_on_signal(int signal_number)
{
	(void)signal_number;
	int saved_errno = errno;
	__atomic_store_n(&signal_pending, 1, __ATOMIC_RELEASE);
	sem_post(&wake);
	errno = saved_errno;
}

/* 1 if no thread of the program is left, only this one. A main thread that called
 * pthread_exit stays as a zombie ('Z' in /proc/self/task/TID/stat, after the last ')'),
 * so threads are counted by state, not by the Threads: line. */
static int snapshot_alone(void)
{
	char buf[4096], path[64], stat[512];
	int live = 0;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	long got;
	while (live < 2 && (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got && live < 2;) {
			struct snapshot_dirent *entry = (struct snapshot_dirent *)(buf + at);
			at += entry->reclen;
			if (entry->name[0] < '0' || entry->name[0] > '9')
				continue;
			strcpy(path, "/proc/self/task/");
			mp_str_append(path, sizeof(path), entry->name);
			mp_str_append(path, sizeof(path), "/stat");
			long len = mp_read_file(path, stat, sizeof(stat) - 1);
			if (len <= 0)
				continue;
			stat[len] = '\0';
			const char *paren = strrchr(stat, ')');
			if (paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X')
				live++;
		}
	}
	syscall(SYS_close, fd);
	return live == 1;
}

static void *snapshot_thread_main(void *unused)
{
	(void)unused;
	struct mp_thread *thread = &mp_self_thread;
	thread->busy = 1; /* for life: nothing this thread does is the program's */
	in_snapshot_thread = 1;
	uint64_t interval_ns = (uint64_t)mp_config.snapshot_ms * 1000000u;
	uint64_t next_interval = mp_now_ns() + interval_ns, next_check = 0;
	for (;;) {
		uint64_t now = mp_now_ns();
		uint64_t until = interval_ns && next_interval < now + LIVENESS_CHECK_NS
					 ? next_interval : now + LIVENESS_CHECK_NS;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		uint64_t wait_ns = until > now ? until - now : 0;
		deadline.tv_sec += (time_t)(wait_ns / 1000000000u);
		deadline.tv_nsec += (long)(wait_ns % 1000000000u);
		if (deadline.tv_nsec >= 1000000000l) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000l;
		}
		sem_clockwait(&wake, CLOCK_MONOTONIC, &deadline);
		if (__atomic_exchange_n(&signal_pending, 0, __ATOMIC_ACQ_REL))
			snapshot_locked(thread, MP_SNAP_SIGNAL, 1);
		now = mp_now_ns();
		if (interval_ns && now >= next_interval) {
			snapshot_locked(thread, MP_SNAP_INTERVAL, 1);
			while (next_interval <= now)
				next_interval += interval_ns; /* missed ticks are not made up */
		}
		if (now >= next_check) {
			next_check = now + LIVENESS_CHECK_NS;
			if (snapshot_alone())
				break;
		}
	}
	/* The last thread: glibc now calls exit(0), whose hook takes the exit snapshot. */
	thread_running = 0;
	return NULL;
}

static void snapshot_start_thread(void)
{
	pthread_attr_t attr;
	pthread_t id;
	sigset_t all, saved;
	void *stack = mp_map_anon(THREAD_STACK_BYTES);
	if (!stack || pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setstack(&attr, stack, THREAD_STACK_BYTES);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Created with every signal blocked, so the program's signals never land on it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	thread_running = pthread_create(&id, &attr, snapshot_thread_main, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
	if (!thread_running)
		mp_unmap(stack, THREAD_STACK_BYTES);
}

void mp_snapshot_start(void)
{
	owner_pid = (pid_t)syscall(SYS_getpid);
	if (!mp_config.snapshot_ms && !mp_config.snapshot_signal)
		return;
	if (!wake_ready && sem_init(&wake, 0, 0) == 0)
		wake_ready = 1;
	if (!wake_ready)
		return;
	if (mp_config.snapshot_signal) {
		struct sigaction action;
		memset(&action, 0, sizeof(action));
		action.sa_handler = snapshot_on_signal;
		action.sa_flags = SA_RESTART;
		sigemptyset(&action.sa_mask);
		if (sigaction(mp_config.snapshot_signal, &action, NULL) != 0)
			mp_say("cannot install the handler of MEMPROF_SNAPSHOT_SIGNAL");
	}
	snapshot_start_thread();
}

void mp_snapshot_after_fork_child(void)
{
	/* Only the forking thread survives: no snapshot thread, and the lock may have been
	 * held by a thread that is gone. The child takes its exit snapshot; its signal
	 * handler (inherited) posts to a semaphore no one waits on. */
	pthread_mutex_init(&snapshot_lock, NULL);
	owner_pid = (pid_t)syscall(SYS_getpid);
	last_seq = 0;
	thread_running = 0;
	if (wake_ready)
		sem_init(&wake, 0, 0);
}
