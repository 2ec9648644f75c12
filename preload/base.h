/* base.h: the preload's lowest layer (state, config, clock, sys), and the rules every file
 * of libmemprof.so obeys. Start reading here; docs/architecture.md has the whole map.
 *
 * Layers. The preload is five layers, and a file calls only into its own layer or the
 * ones below; no two files use each other's symbols (tests/layers/check_layers.sh, run by
 * `make check`, fails on any call upwards or circle, from `nm` of the objects):
 *   shim      interpose.c, lifecycle.c: the libc symbols, and the process's events
 *             (constructor, fork, exit) that start and end recording
 *   recorder  record.c, record_hot.h, recording.c: one function per kind of event;
 *             starting and ending the recording
 *   features  stacks, modules, sampling, heap peaks, snapshots, the leak check
 *   writer    encode.h, chunk.c, trace_file.c: records into per-thread chunks of the file
 *   base      state.c, config.c, clock.c, sys.c, loader_gate.c, proc_text.c
 * A helper that several layers need lives in the lowest of them. Each layer has its
 * header (this one, writer.h, recorder.h) or, for features, one per feature; a file
 * includes the headers of its layer and below only.
 *
 * Rules of the recording path (everything reachable from an interposed function):
 *  - No malloc, no stdio, no getenv: memory comes from raw mmap, text goes out through
 *    write(2) from fixed buffers, the environment is read by mp_sys_env_get.
 *  - No lock and no shared atomic on the common path of an allocation. Locks are taken only
 *    on slow paths: a new chunk, a new stack, a changed module map; never held while
 *    calling into the allocator or anything that can reach it (another thread of the
 *    allocator may hold its own lock and wait in our mmap), and through mp_lock so that
 *    a signal handler calling exit() knows which ones its thread holds.
 *  - Each thread has a recursion flag (struct mp_thread.busy). While it is set, interposed
 *    calls go straight to the real functions: that is how libunwind's and dlsym's own
 *    allocations, and a signal handler interrupting the recorder, stay out of the trace.
 *  - A free is recorded before the real free runs, so the address cannot be handed out
 *    again before its release is in the trace; an allocation is recorded after the real
 *    call returns. Cross-thread order in the trace follows from these two times.
 *  - Never abort the host: on an error the recorder stops recording, says so once on
 *    stderr and counts what it dropped.
 *  - fork: the child gets its own trace (lifecycle.c's atfork handlers, which take no
 *    lock: recording.c says why); chunks of the parent are unmapped in the child, never
 *    written, so what the child reads of the parent's state must be consistent at every
 *    instant: publish a new region before unmapping the old one.
 */
#ifndef MEMPROF_PRELOAD_BASE_H
#define MEMPROF_PRELOAD_BASE_H

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "memprof/trace_format.h"

/* The rules above, enforced where the compiler can: libmemprof.so's own sources (built
 * with MP_POISON; unit tests are not) cannot name these at all. */
#ifdef MP_POISON
#pragma GCC poison getenv secure_getenv printf fprintf sprintf snprintf vsnprintf puts fputs
#pragma GCC poison fopen fdopen strdup strndup asprintf
#endif

#define MP_HIDDEN __attribute__((visibility("hidden")))
/* On the path of every recorded event: the compiler puts these functions together
 * (.text.hot), so an allocation runs through 4 pages of memprof's code, not 10 spread
 * over 150 KiB, between calls where a big program's own code has taken the caches:
 * cc1's allocations missed the instruction cache 1.29M -> 1.06M times (callgrind), and
 * alloc_bench ran 2.7-3.9 ms of 86-96 faster (paired, bench/README.md, session 31). */
#define MP_HOT __attribute__((hot))
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

/* --- state.c: the process's recording state and each thread's --- */

/* Per-thread state. Lives in initial-exec TLS, so it exists before the thread's first
 * event and costs no allocation. Each layer owns its fields. */
struct mp_thread {
	uint8_t *pos;        /* writer: next byte to write in the current chunk */
	uint8_t *limit;      /* writer: end of the current chunk */
	uint8_t *chunk;      /* writer: start of the current chunk (its header), NULL if none */
	uint64_t prev_addr;  /* writer: delta bases, see trace_format.h */
	uint64_t prev_time;
	uint32_t serial;     /* writer: 0 until the thread's first chunk */
	uint32_t chunk_seq;
	uint32_t entry;      /* writer: index + 1 of the thread's chunk in chunk.c's registry */
	/* Recursion flag: 0 when this thread is not inside memprof; the stack pointer at
	 * the recorder's entry (mp_record_enter), so that a signal handler's jump out of
	 * the recorder can be told from one within the handler (recording_jumps.c); 1
	 * where anything else set it. */
	uintptr_t busy;
	/* memprof's code under way on this thread that, abandoned halfway by such a jump,
	 * would leave state other threads use half-changed: a call into the loader
	 * (loader_gate.c), the modules' map, the growth of the stacks' or the rules' table.
	 * (Locks of held_locks count too; a new chunk is made with signals held.) */
	uint32_t fragile;
	int64_t heap_since_check; /* heap_peak.c: bytes of change since the last check */
	int64_t *heap_bytes; /* heap_peak.c: the thread's slot, once its slow path found it */
	uint64_t sample_countdown; /* sampling.c: bytes to the next sample point; 0: the next
				     allocation decides (always so without sampling) */
	uint64_t rng;        /* sampling.c: the thread's generator; 0 until first drawn */
	unsigned held_locks; /* MP_LOCK_* this thread holds or waits for (mp_lock below) */
	/* While a handler of memprof's waits on this thread for a leak check (asked by
	 * signal, or before a fatal signal ends the process): the context the signal
	 * interrupted (a ucontext_t), which the check reads instead of the handler's own
	 * (leak_stop.c). NULL otherwise. */
	const void *interrupted;
	/* clock.c's event times: events left before this thread reads the clock again, and
	 * mp_clock_ticks when it last did. */
	uint32_t clock_left;
	uint32_t clock_ticks;
	/* While this thread runs on a stack of memprof's (unwind.c: libunwind's walks): its
	 * stack pointer on the stack it came from, which a leak check scans in place of
	 * memprof's (leak_stop.c). 0 otherwise. */
	uint64_t program_sp;
	/* 1 on memprof's own threads (the leak and snapshot threads), for life, and on the
	 * main thread during unwind.c's warm-up: what libc callocs and reallocs for them
	 * comes from interpose.c's boot arena. */
	int own;
	/* The thread's errno, found at its first recorded event (record_hot.h). */
	int *errno_at;
};
extern __thread struct mp_thread mp_state_thread __attribute__((tls_model("initial-exec")));

enum mp_state { MP_STATE_UNINIT, MP_STATE_INITIALIZING, MP_STATE_READY, MP_STATE_OFF };
/* Where recording stands; the recorder moves it (recording.c), every layer reads it. */
extern int mp_state;
static inline int mp_state_is_ready(void)
{
	return __atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_READY;
}
/* Stops recording for good after an error inside the host; says why once. */
void mp_state_disable(const char *why);
/* Set for good once the program put a seccomp filter (or strict mode) on itself
 * (recording_sandbox.c): memprof then makes no system call of its own in this process,
 * which the filter might answer by killing it. Inherited by a fork child. */
extern int mp_sandboxed;
static inline int mp_state_sandboxed(void)
{
	return __atomic_load_n(&mp_sandboxed, __ATOMIC_ACQUIRE);
}
/* Set when recording started in a process already under a seccomp filter (systemd's
 * SystemCallFilter=, a container's profile, an exec from a filtered process;
 * recording_sandbox.c says why): memprof then leaves out the system calls it can do
 * without that such filters commonly forbid. Set by mp_sys_note_filter (sys.c). */
extern int mp_filtered_at_start;
void mp_sys_note_filter(void);
static inline int mp_state_filtered_at_start(void)
{
	return __atomic_load_n(&mp_filtered_at_start, __ATOMIC_RELAXED);
}

/* memprof's own lock: a futex word, 0 free, 1 held, 2 held with a thread waiting (or
 * about to). Not glibc's pthread_mutex, which in glibc 2.36 takes a free lock with a
 * plain store while its one-thread flag is set, and that flag may be set while memprof's
 * threads run (single_thread.c): these locks are shared between the program's threads
 * and memprof's. Zero is unlocked; a fork child resets each to zero. */
struct mp_mutex {
	uint32_t word;
};
/* The wait and the wake, apart (sys.c): only when the lock is contended. */
void mp_mutex_wait(struct mp_mutex *mutex);
void mp_mutex_wake(struct mp_mutex *mutex);
/* 0 if taken, EBUSY if held, as pthread_mutex_trylock answers. */
static inline int mp_mutex_trylock(struct mp_mutex *mutex)
{
	uint32_t free_word = 0;
	return __atomic_compare_exchange_n(&mutex->word, &free_word, 1, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED) ? 0 : EBUSY;
}
static inline void mp_mutex_lock(struct mp_mutex *mutex)
{
	if (mp_mutex_trylock(mutex) != 0)
		mp_mutex_wait(mutex);
}
static inline void mp_mutex_unlock(struct mp_mutex *mutex)
{
	if (__atomic_exchange_n(&mutex->word, 0, __ATOMIC_RELEASE) == 2)
		mp_mutex_wake(mutex);
}
static inline void mp_mutex_reset(struct mp_mutex *mutex)
{
	__atomic_store_n(&mutex->word, 0, __ATOMIC_RELAXED);
}

/* Locks of the slow paths that exit() may need (recording.c). Each thread sets a lock's
 * bit before it waits for it and clears it after releasing it, so a signal handler that
 * interrupts the thread knows, conservatively, which of them it must not wait for. */
enum mp_lock_bit {
	MP_LOCK_FILE = 1u,     /* trace_file.c: the end of the trace file */
	MP_LOCK_CHUNKS = 2u,   /* chunk.c: the registry of mapped chunks */
	MP_LOCK_SNAPSHOT = 4u, /* snapshot.c: one snapshot at a time */
	MP_LOCK_SAMPLING = 8u, /* sampling_set.c: the set of sampled blocks */
};
static inline void mp_lock(struct mp_mutex *mutex, unsigned bit)
{
	mp_state_thread.held_locks |= bit;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_mutex_lock(mutex);
}
/* 0 if taken, like mp_mutex_trylock. */
static inline int mp_trylock(struct mp_mutex *mutex, unsigned bit)
{
	mp_state_thread.held_locks |= bit;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	int err = mp_mutex_trylock(mutex);
	if (err) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		mp_state_thread.held_locks &= ~bit;
	}
	return err;
}
static inline void mp_unlock(struct mp_mutex *mutex, unsigned bit)
{
	mp_mutex_unlock(mutex);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_state_thread.held_locks &= ~bit;
}

/* --- clock.c: event times --- */
/* Nanoseconds of CLOCK_MONOTONIC (or the TSC calibrated against it); one clock for every
 * thread, never going backwards. */
uint64_t mp_clock_now_ns(void);
/* Chooses the clock and takes the calibration's first reading, when recording starts;
 * mp_clock_init_done takes the second once the rest of the start is done (waiting if it
 * took less than the calibration needs). Until then times are clock_gettime's. */
void mp_clock_init(void);
void mp_clock_init_done(void);
/* An event's time (allocations, frees, reallocs), later than `after` (the thread's last
 * time, or a realloc's time before the call). While this thread is the only one recording
 * events and the RSS watch ticks, the clock is read only every few events and after every
 * tick: the events in between take `after` + 1 ns (clock.c says why that is exact enough
 * and keeps the order). Otherwise the clock itself. */
extern uint32_t mp_clock_ticks;
#define MP_CLOCK_TICKS_EXACT UINT32_MAX /* mp_clock_ticks once a second thread recorded */
/* The TSC's conversion to nanoseconds (clock.c): ns = anchor_ns + (tsc - anchor_ticks) *
 * ns_per_tick_q32 / 2^32; ns_per_tick_q32 0 while clock_gettime is the clock. */
extern uint64_t mp_clock_anchor_ticks, mp_clock_anchor_ns, mp_clock_ns_per_tick_q32;
#if defined(__x86_64__)
static inline uint64_t mp_clock_tsc(void)
{
	uint32_t low, high;
	__asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
	return ((uint64_t)high << 32) | low;
}

/* A TSC reading in nanoseconds, at `rate` (mp_clock_ns_per_tick_q32, not 0). */
static inline uint64_t mp_clock_tsc_ns(uint64_t tsc, uint64_t rate)
{
	if (MP_UNLIKELY(tsc < mp_clock_anchor_ticks))
		return mp_clock_anchor_ns;
	return mp_clock_anchor_ns +
	       (uint64_t)(((unsigned __int128)(tsc - mp_clock_anchor_ticks) * rate) >> 32);
}
#endif
uint64_t mp_clock_event_read(struct mp_thread *thread, uint64_t after);
/* The exact clock's read is inline too: as a call out of the recorder, at every event of
 * a program with two threads, it cost alloc_bench 3.4-4.0 ms of 86 (bench/README,
 * session 30). */
static inline uint64_t mp_clock_event_ns(struct mp_thread *thread, uint64_t after)
{
	uint32_t ticks = __atomic_load_n(&mp_clock_ticks, __ATOMIC_ACQUIRE);
	if (MP_LIKELY(thread->clock_left) && ticks == thread->clock_ticks) {
		thread->clock_left--;
		return after + 1;
	}
#if defined(__x86_64__)
	uint64_t rate = __atomic_load_n(&mp_clock_ns_per_tick_q32, __ATOMIC_ACQUIRE);
	if (MP_LIKELY(ticks == MP_CLOCK_TICKS_EXACT && rate))
		return mp_clock_tsc_ns(mp_clock_tsc(), rate);
#endif
	return mp_clock_event_read(thread, after);
}
/* The RSS watch's tick (every MEMPROF_RSS_WATCH_MS): the first one allows the sparse
 * reads, each one makes every thread read the clock at its next event. */
void mp_clock_tick(void);
/* A snapshot's: every thread reads the clock at its next event (no effect before the
 * first tick). */
void mp_clock_resync(void);
/* The watch stopped: every event reads the clock from now on. */
void mp_clock_ticks_stop(void);
/* In a fork child: `self` is the one thread; no tick until its watch starts. */
void mp_clock_after_fork_child(struct mp_thread *self);

/* --- loader_gate.c: memprof's calls that hold the loader's lock, kept out of a fork --- */
struct dl_phdr_info;
/* Around any call of memprof's that may take the loader's lock (dl_iterate_phdr, and
 * libunwind, which calls it): waits while a fork is being prepared, and makes the fork
 * wait for the calls already inside. Both waits are bounded. Holds signals meanwhile once
 * mp_loader_hold_signals was called. Nests. */
void mp_loader_enter(void);
void mp_loader_leave(void);
/* The program has a handler for a signal that may interrupt any instruction, which may
 * jump out of what it interrupted (recording_signals.c tells): from now on. */
void mp_loader_hold_signals(void);
/* dl_iterate_phdr between mp_loader_enter and mp_loader_leave. */
int mp_loader_iterate(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data);
/* The fork handlers' part (recording.c). */
void mp_loader_fork_prepare(void);
void mp_loader_fork_parent(void);
void mp_loader_fork_child(void);

/* --- sys.c: raw system access usable before libc is initialized --- */
/* Copies the value of environment variable `name` into out (NUL-terminated, truncated to
 * out_len - 1); returns 1 if set, 0 if not. Reads environ when libc has set it up and
 * /proc/self/environ before that. */
int mp_sys_env_get(const char *name, char *out, size_t out_len);
/* Reads up to len bytes of a small file into buf; returns bytes read or -errno. */
long mp_sys_read_file(const char *path, char *buf, size_t len);
/* Reads a small file into buf as a NUL-terminated string (at most cap - 1 bytes); returns
 * 1 if it read something, 0 if the file is missing, unreadable or empty. */
int mp_sys_read_text(const char *path, char *buf, size_t cap);
/* Reads the file at path a block at a time into buf (buf_len bytes) and calls
 * line(context, text, len) for each whole line, without its newline; a line longer than
 * buf is skipped whole. line returns nonzero to stop the reading. For /proc files of any
 * length (maps, smaps), read by code that may not allocate. Returns 0, or -errno if the
 * file cannot be opened. */
int mp_sys_read_lines(const char *path, char *buf, size_t buf_len,
		      int (*line)(void *context, const char *text, size_t len), void *context);
/* Writes all of buf to fd, retrying on EINTR; errors are ignored. */
void mp_sys_write_all(int fd, const char *buf, size_t len);
/* Formats value in decimal at out (20 bytes suffice); returns the byte after it. */
char *mp_sys_fmt_u64(char *out, uint64_t value);
/* Appends src to the string in dst of capacity cap; returns 0 or -ENAMETOOLONG. */
int mp_sys_str_append(char *dst, size_t cap, const char *src);
/* open(2) of path (close-on-exec), a file under /proc through the descriptor of /proc
 * kept open (sys.c), so that a process that changed its root still reads it. The
 * descriptor or -errno. With every descriptor taken, a file under /proc gets the number
 * of /proc's: close it with mp_sys_close, soon, and never keep it. */
int mp_sys_open(const char *path, int flags);
/* close(2) of a descriptor from mp_sys_open, which gives back a borrowed number. */
void mp_sys_close(int fd);
/* fd has the number of /proc's descriptor (see mp_sys_open). */
int mp_sys_fd_is_borrowed(int fd);
/* mp_sys_open for a file a reader can do without, kept open while it reads others under
 * /proc: never on /proc's number (-EMFILE instead), which those others then need. */
int mp_sys_open_unlent(const char *path, int flags);
/* In a fork child: a file another thread of the parent had opened with /proc's number
 * is closed. */
void mp_sys_after_fork_child(void);
/* Anonymous private memory straight from the kernel; NULL on failure. */
void *mp_sys_map_anon(size_t len);
/* The same with every page already there, for memory that is read before it is written
 * (hash tables): see sys.c. */
void *mp_sys_map_anon_populated(size_t len);
/* Writes a zero byte into every page of [addr, addr + len), which must be fresh memory of
 * mp_sys_map_anon (still zero), so that later reads find real pages (see sys.c). */
void mp_sys_prefault(void *addr, size_t len);
void mp_sys_unmap(void *addr, size_t len);
/* Calls fn(arg) with the stack pointer at top (16-byte aligned, the end of memory of
 * mp_sys_map_anon), and returns to the caller's stack. Unwinding through the call finds
 * the caller's frames (sys.c). */
void mp_sys_call_on_stack(void *arg, void (*fn)(void *), void *top);
/* The stack pointer where this is inlined. */
static inline uintptr_t mp_sys_stack_pointer(void)
{
	uintptr_t sp;
#if defined(__x86_64__)
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#else
	sp = (uintptr_t)__builtin_frame_address(0);
#endif
	return sp;
}
/* Grows a region of mp_sys_map_anon to new_len, moving it if it must (mremap): the pages
 * it has are kept, not copied, and only the new part is fresh. Returns its address, or
 * NULL (the region is then as it was). */
void *mp_sys_grow_anon(void *addr, size_t len, size_t new_len);
/* The regions of mp_sys_map_anon still mapped, for memory snapshots and leak checks:
 * copies up to max of them into out, sorted by address with neighbours merged into one,
 * and returns how many. At most MP_SYS_OWN_REGIONS_MAX are known. */
#define MP_SYS_OWN_REGIONS_MAX 4096u
struct mp_sys_region {
	uint64_t start, length;
};
size_t mp_sys_own_regions(struct mp_sys_region *out, size_t max);
/* Calls fn(tid, context) for each thread of this process (the names in /proc/self/task),
 * until fn returns nonzero; returns that value, 0, or -1 if the directory cannot be read.
 * Allocation-free. */
int mp_sys_each_task(int (*fn)(const char *tid, void *context), void *context);
/* sigaction(2) itself, bypassing libmemprof's own interposed sigaction (which hides
 * memprof's handlers from the program): what memprof installs or queries goes here. */
struct sigaction;
int mp_sys_sigaction(int sig, const struct sigaction *action, struct sigaction *old);
/* glibc's siglongjmp, for memprof's own fault handlers (the name is the program's: see
 * recording_jumps.c); resolved by mp_sys_siglongjmp_resolve, once, outside any handler. */
struct __jmp_buf_tag;
void mp_sys_siglongjmp_resolve(void);
void mp_sys_siglongjmp(struct __jmp_buf_tag env[1], int value) __attribute__((noreturn));
/* Installs handler for the signal an option of memprof's names (SA_RESTART, so that the
 * program's system calls go on); says so, naming the option, if it cannot. */
void mp_sys_handle_signal(int sig, void (*handler)(int), const char *option);
/* Sets the signal's default action and sends it to the calling thread: from a handler,
 * where it stays blocked until the handler returns, the default action (ending the
 * process) follows then. */
void mp_sys_resend_default(int sig);
/* Holds back every signal but the faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS,
 * which the kernel delivers even when blocked) and the leak check's stop signal until
 * mp_sys_signals_release, which puts `saved` back. Around the locks that memprof's leak
 * thread also takes (MP_LOCK_FILE, MP_LOCK_CHUNKS): a fatal signal's handler that
 * interrupted their holder would wait for the leak thread's check while the leak thread
 * waited for the lock. A signal that comes meanwhile is delivered at the release, as if a
 * moment later. The stop signal stays open: its handler only waits for the check to end,
 * and a thread that blocks it is left running through the check (leak_stop.c). The mask
 * is the kernel's (64 signals), not libc's sigset_t. */
void mp_sys_signals_hold(uint64_t *saved);
void mp_sys_signals_release(const uint64_t *saved);
/* A descriptor memprof keeps open, moved to the lowest free number from 700 up (closing
 * `fd`), where a program's own descriptors do not land: the kernel gives the lowest free
 * number, so a program that closes what it inherited and opens files would otherwise get
 * ours' numbers back, and ours would read or write its files. Under a lower descriptor
 * limit, the top quarter of the range. Close-on-exec. Returns the new number, or `fd`
 * where none is free up there. */
int mp_sys_fd_move_high(int fd);
/* libunwind's pipe (interpose.c moves it up when libunwind makes it): remembered here by
 * what its two descriptors are, and whether libunwind may still use them, which it does
 * with no check but a failed read: 1 if both are still that pipe, or both closed (then
 * libunwind's close of them fails harmlessly before it makes a new one), or none was made
 * yet; 0 if a number now names a file of the program's, which libunwind would read,
 * write or close. */
void mp_sys_unwinder_pipe_made(const int fds[2]);
int mp_sys_unwinder_pipe_intact(void);
/* The stop signal, once leak_stop.c has chosen it. */
void mp_sys_signals_hold_exempt(int sig);
/* The threads of memprof's own (by kernel thread id), which nothing that counts, stops or
 * scans the program's threads may count as the program's. Allocation-free and
 * async-signal-safe; at most MP_SYS_OWN_THREADS_MAX. In a fork child none survives:
 * forget them all. */
#define MP_SYS_OWN_THREADS_MAX 8
void mp_sys_own_thread_add(int tid);
void mp_sys_own_thread_remove(int tid);
int mp_sys_own_thread(int tid);
/* sys_call.c: before the program (or anyone) installs a seccomp filter (installs 1) or
 * strict mode (2) through syscall() or prctl(), `coming` is called. */
void mp_sys_call_watch_seccomp(void (*coming)(int installs));
/* sys_call.c: before unshare() or setns() (or either through syscall()) makes a call that
 * fails in a process of more than one thread, `coming` is called. */
void mp_sys_call_watch_alone(void (*coming)(void));
/* sys_call.c: mincore() called from code in [start, end) (libunwind's) fails with ENOSYS
 * instead of being made. */
void mp_sys_call_unwinder_range(uintptr_t start, uintptr_t end);
/* Waits, limit_ns at most, until /proc/self/status counts at most `threads` threads (a
 * thread that left its function still runs its exit for a while; one made but not run
 * yet has not said who it is): 1 if so; 0 also when the count cannot be read. */
int mp_sys_threads_fall_to(uint64_t threads, uint64_t limit_ns);
/* A numeric field of /proc/self/status ("Threads", "Seccomp"): 1 with its value. 0 also
 * while another thread reads it. */
int mp_sys_status_field(const char *key, uint64_t *value);
/* The same for a thread named as in /proc/self/task ("1234"). The snapshots and the leak
 * scan leave memprof's threads out of the program's: they hold nothing of the program's,
 * and reading another thread's /proc/.../syscall makes the reader wait until that thread
 * is off its CPU, a whole scheduler tick if it is queued. */
int mp_sys_own_thread_named(const char *tid);
/* 1 if no thread of the program is left, only memprof's: its own threads wait on the
 * program's, and must not keep a program whose threads all ended alive. A main thread
 * that called pthread_exit stays as a zombie ('Z' in /proc/self/task/TID/stat), so
 * threads are counted by state, not by the Threads: line. A look that cannot read them
 * answers 0, unless the looks before it could not either (sys.c). */
int mp_sys_only_own_threads(void);
void mp_sys_own_threads_forget(void);
/* Starts a detached thread of memprof's running fn(NULL), on a stack of stack_bytes from
 * mp_sys_map_anon (memprof's memory, never a root), created with every signal blocked so
 * that the program's signals never land on it. 0, or -1 if it could not be started. */
int mp_sys_thread_start(void *(*fn)(void *), size_t stack_bytes);
/* The process's threads, memprof's included, from /proc/self/task's link count: one
 * stat and no descriptor (mp_sys_status_field's "Threads" reads a file, on /proc's lent
 * number when none is left), cheap enough for every fork. 0 if it could not be read. */
int mp_sys_thread_count(uint64_t *count);

/* --- single_thread.c: glibc's "one thread" flag, which memprof's threads leave set --- */
/* glibc's own flag, as dlsym(RTLD_NEXT) finds it (NULL: none, nothing is kept). */
void mp_single_thread_found(void *glibc_flag);
/* mp_sys_thread_start, with the flag set again after it if it was set before: how every
 * thread of memprof's starts. */
int mp_single_thread_start_own(void *(*fn)(void *), size_t stack_bytes);
/* Its two halves: whether the flag is to be set again; setting it. */
int mp_single_thread_before_start(void);
void mp_single_thread_after_start(int keep);
/* 1 while the flag is set for memprof's threads: frees on those go no further. */
int mp_single_thread_kept(void);
/* Before a thread of memprof's is asked to end: the flag is glibc's again, for good. */
void mp_single_thread_give_up(void);
/* Around the real fork (and forkpty, daemon), whose child's reset of glibc's thread
 * bookkeeping depends on the flag: begin's answer goes to end with where end runs. */
int mp_single_thread_fork_begin(void);
void mp_single_thread_fork_end(int before, int in_child);
/* Prints "memprof: <msg>\n" on stderr (errors are said even under MEMPROF_QUIET), unless
 * descriptor 2 is no longer the file it was at mp_sys_stderr_note (recording's start):
 * the program closed it and may have put a file of its own there. */
void mp_sys_say(const char *msg);
void mp_sys_stderr_note(void);

/* --- config.c: every MEMPROF_* option, read once when recording starts --- */
/* MEMPROF_MAX_FRAMES's default; the capture's buffer on the program's stack holds that
 * many (stacks.h). */
#define MP_DEFAULT_MAX_FRAMES 64u

struct mp_config {
	int quiet;
	uint32_t max_frames; /* MEMPROF_MAX_FRAMES, MP_DEFAULT_MAX_FRAMES unless set */
	uint64_t sample_bytes;   /* MEMPROF_SAMPLE_BYTES; 0: record every call */
	uint32_t sample_window_ms; /* MEMPROF_SAMPLE_WINDOW_MS (default 1000) */
	uint64_t sample_seed;    /* MEMPROF_SAMPLE_SEED; 0: seed from the clock */
	uint32_t snapshot_ms;    /* MEMPROF_SNAPSHOT_MS; 0: no interval snapshots */
	int snapshot_signal;     /* MEMPROF_SNAPSHOT_SIGNAL; 0: none */
	int snapshot_exit;       /* MEMPROF_SNAPSHOT_EXIT (default 1) */
	int snapshot_peak;       /* MEMPROF_SNAPSHOT_PEAK (default 1) */
	int snapshot_access;     /* MEMPROF_SNAPSHOT_ACCESS (default 0) */
	uint32_t rss_watch_ms;   /* MEMPROF_RSS_WATCH_MS (default 10); 0: MEMPROF_RSS_WATCH=0 */
	int leak_check;          /* MEMPROF_LEAK_CHECK (default 1) */
	uint64_t leak_check_max_bytes; /* MEMPROF_LEAK_CHECK_MAX_MB, in bytes (default 1 GiB) */
	int leak_check_signal;   /* MEMPROF_LEAK_CHECK_SIGNAL; 0: none */
	int leak_check_fatal;    /* MEMPROF_LEAK_CHECK_FATAL (default 1) */
	uint32_t leak_heuristics; /* MEMPROF_LEAK_HEURISTICS: MP_HEURISTIC_* (default all) */
	char output_pattern[4096];
};
/* memcheck's leak heuristics (leak_classify.c), as MEMPROF_LEAK_HEURISTICS names them. */
enum {
	MP_HEURISTIC_STDSTRING = 1u,
	MP_HEURISTIC_LENGTH64 = 2u,
	MP_HEURISTIC_NEWARRAY = 4u,
	MP_HEURISTIC_MULTIPLEINHERITANCE = 8u,
	MP_HEURISTIC_ALL = 15u,
};
extern struct mp_config mp_config;
void mp_config_load(void);

#endif
