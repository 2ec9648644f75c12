/* internal.h: what the preload's files share, and the rules every one of them obeys.
 *
 * Rules of the recording path (everything reachable from an interposed function):
 *  - No malloc, no stdio, no getenv: memory comes from raw mmap, text goes out through
 *    write(2) from fixed buffers, the environment is read by mp_env_get.
 *  - No lock and no shared atomic on the common path of an allocation. Locks are taken only
 *    on slow paths: a new chunk, a new stack, a changed module map.
 *  - Each thread has a recursion flag (struct mp_thread.busy). While it is set, interposed
 *    calls go straight to the real functions: that is how libunwind's and dlsym's own
 *    allocations, and a signal handler interrupting the recorder, stay out of the trace.
 *  - A free is recorded before the real free runs, so the address cannot be handed out
 *    again before its release is in the trace; an allocation is recorded after the real
 *    call returns. Cross-thread order in the trace follows from these two times.
 *  - Never abort the host: on an error the recorder stops recording, says so once on
 *    stderr and counts what it dropped.
 *  - fork: the child gets its own trace (init.c's atfork handlers); chunks of the parent
 *    are unmapped in the child, never written.
 */
#ifndef MEMPROF_PRELOAD_INTERNAL_H
#define MEMPROF_PRELOAD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "memprof/sample_weight.h"
#include "memprof/trace_format.h"

/* The rules above, enforced where the compiler can: libmemprof.so's own sources (built
 * with MP_POISON; unit tests are not) cannot name these at all. */
#ifdef MP_POISON
#pragma GCC poison getenv secure_getenv printf fprintf sprintf snprintf vsnprintf puts fputs
#pragma GCC poison fopen fdopen strdup strndup asprintf
#endif

#define MP_HIDDEN __attribute__((visibility("hidden")))
#define MP_LIKELY(x) __builtin_expect(!!(x), 1)
#define MP_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* A 64-bit finalizer (MurmurHash3's fmix64): every input bit affects every output bit. */
static inline uint64_t mp_mix64(uint64_t value)
{
	value ^= value >> 33;
	value *= 0xff51afd7ed558ccdull;
	value ^= value >> 33;
	value *= 0xc4ceb9fe1a85ec53ull;
	value ^= value >> 33;
	return value;
}

/* Per-thread writer state. Lives in initial-exec TLS, so it exists before the thread's
 * first event and costs no allocation. */
struct mp_thread {
	uint8_t *pos;        /* next byte to write in the current chunk */
	uint8_t *limit;      /* end of the current chunk */
	uint8_t *chunk;      /* start of the current chunk (its header), NULL if none */
	uint64_t prev_addr;  /* delta bases, see trace_format.h */
	uint64_t prev_time;
	uint32_t serial;     /* 0 until the thread's first chunk */
	uint32_t chunk_seq;
	uint32_t entry;      /* index + 1 of the thread's chunk in chunk.c's registry */
	int busy;            /* recursion flag */
	int64_t heap_since_check; /* heap_peak.c: bytes of change since the last check */
	uint64_t sample_countdown; /* bytes to the next sample point (sampling.c); 0: the
				     next allocation decides (always so without sampling) */
	uint64_t rng;        /* the thread's sampling generator; 0 until first drawn */
};

/* --- clock.c: event times --- */
/* Nanoseconds of CLOCK_MONOTONIC (or the TSC calibrated against it); one clock for every
 * thread, never going backwards. */
uint64_t mp_now_ns(void);
/* Chooses and calibrates the clock; called once when recording starts. */
void mp_clock_init(void);

/* --- sys.c: raw system access usable before libc is initialized --- */
/* Copies the value of environment variable `name` into out (NUL-terminated, truncated to
 * out_len - 1); returns 1 if set, 0 if not. Reads environ when libc has set it up and
 * /proc/self/environ before that. */
int mp_env_get(const char *name, char *out, size_t out_len);
/* Reads up to len bytes of a small file into buf; returns bytes read or -errno. */
long mp_read_file(const char *path, char *buf, size_t len);
/* Writes all of buf to fd, retrying on EINTR; errors are ignored. */
void mp_write_all(int fd, const char *buf, size_t len);
/* Formats value in decimal at out (20 bytes suffice); returns the byte after it. */
char *mp_fmt_u64(char *out, uint64_t value);
/* Appends src to the string in dst of capacity cap; returns 0 or -ENAMETOOLONG. */
int mp_str_append(char *dst, size_t cap, const char *src);
/* Anonymous private memory straight from the kernel; NULL on failure. */
void *mp_map_anon(size_t len);
void mp_unmap(void *addr, size_t len);
/* The regions of mp_map_anon still mapped, for memory snapshots: copies up to max of
 * them into out and returns how many. */
struct mp_own_region {
	uint64_t start, length;
};
size_t mp_own_regions(struct mp_own_region *out, size_t max);
/* Prints "memprof: <msg>\n" on stderr (errors are said even under MEMPROF_QUIET). */
void mp_say(const char *msg);

/* --- config.c: options read once at initialization --- */
struct mp_config {
	int quiet;
	uint32_t max_frames;
	uint64_t sample_bytes;   /* MEMPROF_SAMPLE_BYTES; 0: record every call */
	uint32_t sample_window_ms; /* MEMPROF_SAMPLE_WINDOW_MS (default 1000) */
	uint32_t snapshot_ms;    /* MEMPROF_SNAPSHOT_MS; 0: no interval snapshots */
	int snapshot_signal;     /* MEMPROF_SNAPSHOT_SIGNAL; 0: none */
	int snapshot_exit;       /* MEMPROF_SNAPSHOT_EXIT (default 1) */
	int snapshot_peak;       /* MEMPROF_SNAPSHOT_PEAK (default 1) */
	char output_pattern[4096];
};
extern struct mp_config mp_config;
void mp_config_load(void);

/* --- trace_file.c: the trace file and its chunks --- */
/* Creates this process's trace file and maps its header. A fork child never replaces an
 * existing file of the same name (its parent's). 0 or -errno. */
int mp_trace_file_create(int fork_child);
/* Maps a fresh chunk of `capacity` bytes at the end of the file and fills its header. */
uint8_t *mp_trace_file_new_chunk(uint32_t capacity, const struct mp_chunk_header *header);
/* The page size chunks are aligned to. */
uint32_t mp_trace_file_page_size(void);
/* Records how the process ended in the file header. */
void mp_trace_file_set_end(enum mp_end_state state, int status);
const char *mp_trace_file_path(void);
/* The real path of the executable, read once at creation. */
const char *mp_trace_file_exe(void);
/* In a fork child: forget the parent's file (never written again) and its lock. */
void mp_trace_file_forget(void);
void mp_trace_file_lock(void);
void mp_trace_file_unlock(void);

/* --- chunk.c: per-thread chunks, reservation and commit --- */
extern __thread struct mp_thread mp_self_thread __attribute__((tls_model("initial-exec")));
/* Returns a pointer with at least `need` writable bytes in the thread's chunk, starting a
 * new chunk if needed, or NULL if recording is impossible (recording has then stopped,
 * said so once, and the event is lost). */
uint8_t *mp_chunk_reserve_slow(struct mp_thread *thread, size_t need);
static inline uint8_t *mp_chunk_reserve(struct mp_thread *thread, size_t need)
{
	if (MP_LIKELY((size_t)(thread->limit - thread->pos) >= need))
		return thread->pos;
	return mp_chunk_reserve_slow(thread, need);
}
/* Publishes the bytes up to `end`: after this store they survive the process dying. */
static inline void mp_chunk_commit(struct mp_thread *thread, uint8_t *end)
{
	struct mp_chunk_header *header = (struct mp_chunk_header *)thread->chunk;
	thread->pos = end;
	__atomic_store_n(&header->used, (uint32_t)(end - thread->chunk), __ATOMIC_RELEASE);
}
/* Counts an event the thread could not record in its chunk's header. */
static inline void mp_chunk_count_dropped(struct mp_thread *thread)
{
	if (thread->chunk)
		((struct mp_chunk_header *)thread->chunk)->dropped_events++;
}
/* The thread is ending: mark its chunk last and unmap it. */
void mp_chunk_thread_exit(struct mp_thread *thread);
/* In a fork child: unmap every chunk inherited from the parent and reset this thread. */
void mp_chunk_after_fork_child(struct mp_thread *self);
/* Creates the key whose destructor ends a thread's chunk. */
void mp_chunk_init(void);
/* The highest thread serial handed out so far. */
uint32_t mp_chunk_last_serial(void);
void mp_chunk_lock(void);
void mp_chunk_unlock(void);

/* --- stacks.c: capture and interning --- */
/* Returns the id of the stack captured in ips[0..captured) (innermost first, our own
 * frames on top are dropped), writing a STACK record first if the stack is new; 0 if no
 * frame is left. The capture itself is mp_stack_current in record_hot.h. */
uint32_t mp_stacks_intern(struct mp_thread *thread, void **ips, int captured);
/* Frames of libmemprof itself at the top of a capture (libunwind's entry, at most a
 * frame or two of ours). Captured beyond max_frames so the program's are not cut. */
#define MP_OWN_FRAMES_MAX 8
/* Sets the address range of libmemprof's own code, whose frames are never recorded. */
void mp_stacks_init(uintptr_t self_start, uintptr_t self_end);
/* In a fork child: the parent's ids mean nothing in the child's trace. */
void mp_stacks_reset(void);
/* libunwind's code range. libunwind allocates while the recorder is busy (so nothing is
 * recorded) but releases some of it later from its own TLS destructor: a free or munmap
 * called from there is the profiler's, not the program's. */
extern uintptr_t mp_unwinder_start, mp_unwinder_end;
static inline int mp_called_by_unwinder(const void *return_address)
{
	return (uintptr_t)return_address - mp_unwinder_start <
	       mp_unwinder_end - mp_unwinder_start;
}

/* --- modules.c: the module map --- */
/* The generation stacks are interned under; changes when a library is unloaded. */
uint32_t mp_modules_generation(void);
/* Writes MODULE records if the set of loaded objects changed since they were last
 * written. Called on slow paths only. */
void mp_modules_sync(struct mp_thread *thread);
/* A library was unloaded: addresses may be reused, so stacks start a new generation. */
void mp_modules_unloaded(void);
/* The range of the object containing `addr` (used to find libmemprof itself). */
int mp_modules_range_of(uintptr_t addr, uintptr_t *start, uintptr_t *end);
void mp_modules_reset(void);

/* --- record.c: the recorder API the libc shim calls (allocations: record_hot.h) --- */
void mp_record_free(void *addr);
/* old_usable: mp_heap_usable(old_addr) taken before the real call. */
void mp_record_realloc(void *old_addr, void *new_addr, size_t size, uint64_t time_before,
		       size_t old_usable);
void mp_record_failed(enum mp_record_tag function, size_t size);
void mp_record_mmap(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset);
void mp_record_munmap(void *addr, size_t length);
void mp_record_mremap(void *old_addr, size_t old_length, void *new_addr, size_t new_length,
		      int flags, uint64_t time_before);
void mp_record_brk(void *old_break, void *new_break);
/* The set of loaded objects may have changed (after dlclose): sync the module map. */
void mp_record_module_change(void);
/* Encodes an extended record (tag >= MP_REC_EXTENDED) with the given body. */
void mp_record_extended(struct mp_thread *thread, enum mp_record_tag tag, const uint8_t *body,
			size_t body_len);
/* Writes the allocation record of a sampled block that was pending (sampling.c). */
void mp_record_alloc_late(struct mp_thread *thread, const struct mp_sampled_set_entry *block,
			  uint64_t now_ns);
/* Writes what the sampling window still holds: at exit, _exit and exec. */
void mp_record_sampled_flush_all(void);

/* --- sampling.c: MEMPROF_SAMPLE_BYTES --- */
/* Counts `size` bytes down to the thread's next sample point and returns 1 if none falls
 * in them; 0 (countdown untouched) if one does: then mp_sample_slow decides. */
static inline int mp_countdown_absorbs(struct mp_thread *thread, size_t size)
{
	if (MP_LIKELY(size < thread->sample_countdown)) {
		thread->sample_countdown -= size;
		return 1;
	}
	return 0;
}

/* Slow part of the sampling decision (record_hot.h): the countdown ran out, or the thread
 * has none yet. Returns 1 if the allocation is sampled, 0 if not. */
int mp_sample_slow(struct mp_thread *thread, size_t size);
/* A sampled block the recorder remembers until its free is struct mp_sampled_set_entry
 * (trace_format.h): with a sampling window the set lives in the trace file, so that the
 * blocks still `pending` (allocation not written yet) survive a kill. */
/* Remembers a sampled block, so that its free is recorded; 0 or -1 (set full). With a
 * sampling window, `writer` (busy) writes the sampled heap's new peaks. */
int mp_sampled_insert(const struct mp_sampled_set_entry *block, struct mp_thread *writer);
/* What mp_sampled_take found. */
enum mp_sampled_found {
	MP_SAMPLED_NONE = 0,    /* not a sampled block */
	MP_SAMPLED_WRITTEN = 1, /* a sampled block whose allocation is in the trace */
	MP_SAMPLED_COUNTED = 2, /* a pending one: counted as freed within the window */
};
/* Forgets addr if it is a sampled block; lock-free for blocks that were never sampled.
 * With `writer` (a busy thread), a pending block's allocation is written first, so the
 * caller can record a release of it (realloc); without, a pending block is counted. */
enum mp_sampled_found mp_sampled_take(uint64_t addr, struct mp_thread *writer);
/* Writes the allocations of pending blocks older than the window (all of them if `all`)
 * and the counts of blocks freed within it, into writer's chunk (writer busy). */
void mp_sampled_flush(struct mp_thread *writer, uint64_t now_ns, int all);
/* When the next flush is due (CLOCK_MONOTONIC ns); read without the lock. */
extern uint64_t mp_sampled_next_flush_ns;
/* The counting filter in front of the set: two one-byte counters per address, indexed by
 * the address itself (malloc's 16-byte granules) rather than a hash, so that a free reads
 * a counter near one a recent free brought into cache. It grows with the sampled blocks
 * (16 counters per block at least): small while few are live, so it stays in the L1
 * cache, and sparse enough that a free is rarely a "maybe". A grown filter replaces the
 * old one by one store; the old one is never freed, so a reader may still use it (it only
 * errs towards "maybe": see sampling.c).
 *
 * The filter is published as one word: the address of its counters, which are page
 * aligned, plus log2 of their number in the low 6 bits. A free then finds a counter with
 * two dependent loads (the word, the counter) rather than three (pointer, size, counter). */
extern uint8_t *mp_sampled_filter_word;
#define MP_FILTER_LOG2_BITS 63u
struct mp_sampled_filter {
	uint8_t *counters;
	uint64_t mask;          /* counters - 1, a power of two minus one */
};
static inline struct mp_sampled_filter mp_sampled_filter_unpack(uint8_t *word)
{
	uintptr_t bits = (uintptr_t)word;
	return (struct mp_sampled_filter){
		.counters = (uint8_t *)(bits & ~(uintptr_t)MP_FILTER_LOG2_BITS),
		.mask = ((uint64_t)1 << (bits & MP_FILTER_LOG2_BITS)) - 1,
	};
}
static inline uint64_t mp_sampled_filter_index(const struct mp_sampled_filter *filter,
					       uint64_t addr, int which)
{
	uint64_t key = which ? (addr >> 18) ^ (addr >> 4) : addr >> 4;
	return key & filter->mask;
}
/* 0: addr is certainly not a sampled block; 1: it may be (ask mp_sampled_take). */
static inline int mp_sampled_maybe(uint64_t addr)
{
	struct mp_sampled_filter filter = mp_sampled_filter_unpack(
		__atomic_load_n(&mp_sampled_filter_word, __ATOMIC_ACQUIRE));
	return __atomic_load_n(&filter.counters[mp_sampled_filter_index(&filter, addr, 0)],
			       __ATOMIC_RELAXED) != 0 &&
	       __atomic_load_n(&filter.counters[mp_sampled_filter_index(&filter, addr, 1)],
			       __ATOMIC_RELAXED) != 0;
}
/* --- stack_tally.c: figures summed per stack id (callers serialize) --- */
struct mp_tally_slot {
	uint32_t key;            /* 0: empty; else the stack id (UINT32_MAX for stack 0) */
	uint64_t samples;
	uint64_t blocks, bytes;  /* weighted by sample_weight.h */
	uint64_t sampled_bytes;  /* requested sizes, unweighted */
};
struct mp_stack_tally {
	struct mp_tally_slot *slots;
	uint64_t capacity, used;
};
/* The stack's entry, created at zero if new; NULL only when no memory is left. */
struct mp_tally_slot *mp_tally_at(struct mp_stack_tally *tally, uint32_t stack);
/* The stack id an entry (key != 0) is for. */
uint32_t mp_tally_stack(const struct mp_tally_slot *slot);
void mp_tally_clear(struct mp_stack_tally *tally);

/* --- sample_window.c: counts of sampled blocks freed within the window, per stack.
 * Called under the sampling lock only. --- */
/* Counts a pending block that is being freed; `weight` is what it stands for. */
void mp_window_count(const struct mp_sampled_set_entry *block, struct mp_sample_weight weight);
/* Writes the counts as MP_REC_SAMPLES_FREED records and starts again from zero. */
void mp_window_emit(struct mp_thread *writer);
void mp_window_after_fork_child(void);

/* --- sampled_peak.c: the sampled heap's estimate and its peak (sampling lock held) --- */
/* A sampled block of that weight joins (sign 1) or leaves (-1) the live estimate. */
void mp_sampled_live_change(struct mp_sample_weight weight, int sign);
/* Writes the live samples per stack if the estimate reached a new peak (5% above the
 * last one written). */
void mp_sampled_peak_check(struct mp_thread *writer, const struct mp_sampled_set_entry *set,
			   uint64_t capacity, uint64_t now_ns);
void mp_sampled_peak_after_fork_child(void);

/* Makes every thread's generator start from `seed` (0: from the clock); MEMPROF_SAMPLE_SEED
 * and tests. */
void mp_sampling_seed(uint64_t seed);
/* Sets the filter for the options read (config.c): without sampling, one that lets every
 * free through to be recorded. */
void mp_sampling_configure(void);
void mp_sampling_lock(void);
void mp_sampling_unlock(void);
void mp_sampling_after_fork_child(void);

/* --- snapshot.c: memory snapshots (smaps.c and residency.c do the reading) --- */
/* Writes a snapshot of the process's memory into the calling thread's chunk. The exit
 * snapshot waits for one in progress; the others are skipped if one is. Never fails
 * loudly: what cannot be read is left out. Call with the thread's busy flag clear. */
void mp_snapshot_take(enum mp_snapshot_reason reason);
/* Starts the snapshot thread if MEMPROF_SNAPSHOT_MS or MEMPROF_SNAPSHOT_SIGNAL ask for it
 * (from the constructor, once libc works). */
void mp_snapshot_start(void);
/* In a fork child: the snapshot thread did not survive; forget it and the lock. */
void mp_snapshot_after_fork_child(void);
/* A peak snapshot from inside the recorder (thread busy), heap_bytes being the live-heap
 * estimate that triggered it; skipped if another snapshot is under way. */
void mp_snapshot_peak(struct mp_thread *thread, uint64_t heap_bytes);

/* --- leak_scan.c: leak kinds by reachability, once at exit --- */
/* Unless MEMPROF_LEAK_CHECK=0: classifies every block still allocated (memcheck's
 * definite, indirect, possible, reachable) by a conservative scan for pointers and writes
 * LEAK_CLASS and LEAK_SUMMARY records. Never fails loudly. Call with busy clear. */
void mp_leak_scan_at_exit(void);

/* --- heap_peak.c: the live-heap estimate behind peak snapshots --- */
/* malloc_usable_size of the allocator in use (interpose.c sets it); NULL until known. */
extern size_t (*mp_usable_size)(void *block);
/* Prepares the per-thread counters unless sampling or MEMPROF_SNAPSHOT_PEAK=0 rule out
 * peak snapshots. */
void mp_heap_peak_init(void);
/* The usable size of a live block, or 0 when the heap is not being followed. */
size_t mp_heap_usable(void *block);
/* Adds `bytes` (negative for a release) to the thread's share of the live heap; may take
 * a peak snapshot. Called from the recorder, thread busy. */
void mp_heap_note(struct mp_thread *thread, int64_t bytes);
void mp_heap_peak_after_fork_child(void);

/* --- init.c: life cycle --- */
enum mp_state { MP_STATE_UNINIT, MP_STATE_INITIALIZING, MP_STATE_READY, MP_STATE_OFF };
extern int mp_state;
/* Makes the recorder ready if it is not; returns 1 if events may be recorded. */
int mp_init_slow(void);
static inline int mp_ready(void)
{
	if (MP_LIKELY(__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_READY))
		return 1;
	return mp_init_slow();
}
/* Stops recording for good after an error inside the host; says why once. */
void mp_disable(const char *why);
/* The process is about to end by _exit()/exec(); print the trace's path now. */
void mp_announce_end(enum mp_end_state state, int status);

#endif
