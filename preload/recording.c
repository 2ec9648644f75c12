/* recording.c: the start and the end of recording in this process (the recorder layer).
 *
 * Recording starts at the first event, which may come before any constructor (ld.so and
 * an executable's .preinit_array allocate first), so starting uses only the layers below
 * and sys.c. lifecycle.c (the shim) registers what needs a working libc, fork handlers
 * and the exit hook, and calls in here.
 *
 * Ends: exit() and return from main reach mp_recording_exit with the status; _exit and
 * exec are interposed (interpose.c) and reach mp_recording_end. abort, fatal signals and
 * SIGKILL need nothing for the trace itself: every committed record is already in the
 * page cache, and the header's end state stays "running", which the analyzer reports as
 * an abnormal end. A fatal signal the program does not handle gets a leak check first
 * (recording_signals.c), then ends the process as it would have.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "heap_peak.h"
#include "leak_scan.h"
#include "modules.h"
#include "record_hot.h"
#include "snapshot.h"

static int announced;
/* Set in a fork child until its trace exists: it must never replace its parent's file. */
static int forked;
/* The program's malloc is not ours: no block is known, so no leak check at exit (it
 * would only scan the other allocator's arenas, at the cost of the program's exit). */
static int foreign_malloc;
/* Recording starts in exit(): a fork child that recorded nothing before. */
static int starting_at_exit;
/* The fork under way, as its prepare handler saw it: the parent's pid, and the time before
 * which every event of the parent is the child's past too (leak_live.c). */
static uint32_t fork_parent_pid;
/* The process whose trace this is: a vfork child shares its parent's memory, this
 * library's state included, and runs no fork handler. Its exit() (after a failed exec,
 * a common misuse) must not leave its parent's exit waiting at a barrier for good. */
static uint32_t owner_pid;

static int is_trace_owner(void)
{
	return (uint32_t)syscall(SYS_getpid) == __atomic_load_n(&owner_pid, __ATOMIC_ACQUIRE);
}
static uint64_t fork_prepare_ns, fork_file_end;
/* In a fork child: the leak check took its parent's live set along (leak_live.c). */
static int live_inherited;

/* Any address inside this library, to find its own code range. */
static void self_marker(void)
{
}

static int start_trace(int fork_child)
{
	int err = mp_trace_file_create(fork_child);
	if (err < 0) {
		char msg[4300] = "cannot create trace '";
		mp_sys_str_append(msg, sizeof(msg), mp_trace_file_path());
		mp_sys_str_append(msg, sizeof(msg), "': ");
		mp_sys_str_append(msg, sizeof(msg), strerror(-err));
		if (err == -EFBIG)
			mp_sys_str_append(msg, sizeof(msg), ", past the file size limit (ulimit -f)");
		else if (mp_state_filtered_at_start())
			mp_sys_str_append(msg, sizeof(msg), ", the process being under a seccomp filter");
		mp_sys_str_append(msg, sizeof(msg), "; not recording");
		mp_sys_say(msg);
		__atomic_store_n(&mp_state, MP_STATE_OFF, __ATOMIC_RELEASE);
		return 0;
	}
	if (fork_child)
		mp_trace_file_add_flags(live_inherited ? MP_TRACE_FORKED
						       : MP_TRACE_FORKED | MP_TRACE_FORK_CHILD);
	__atomic_store_n(&mp_state, MP_STATE_READY, __ATOMIC_RELEASE);
	return 1;
}

int mp_recording_start(void)
{
	int expected = MP_STATE_UNINIT;
	if (!__atomic_compare_exchange_n(&mp_state, &expected, MP_STATE_INITIALIZING, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected == MP_STATE_READY;
	__atomic_store_n(&owner_pid, (uint32_t)syscall(SYS_getpid), __ATOMIC_RELEASE);
	mp_sys_stderr_note();
	mp_config_load();
	mp_sampling_set_configure();
	mp_clock_init();
	mp_sys_note_filter();
	uintptr_t self_start = 0, self_end = 0;
	mp_modules_range_of((uintptr_t)&self_marker, &self_start, &self_end);
	/* Before libunwind's first call, which asks mincore (sys_call.c). */
	uintptr_t unwinder_start = 0, unwinder_end = 0;
	if (mp_modules_range_of((uintptr_t)&unw_backtrace, &unwinder_start, &unwinder_end) == 0)
		mp_sys_call_unwinder_range(unwinder_start, unwinder_end);
	mp_stacks_init(self_start, self_end);
	/* libunwind's cache of register states has one global lock (Debian's libunwind has
	 * no per-thread cache: UNW_CACHE_PER_THREAD becomes GLOBAL), which a thread of the
	 * parent may have held at the fork, taken by no one in the child: a fork child
	 * unwinds without that cache and never takes it. Its cost is small, as frames
	 * mostly come from libunwind's per-thread trace cache. */
	if (forked)
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
	mp_chunk_init();
	mp_heap_peak_init();
	int ready = start_trace(forked);
	mp_clock_init_done();
	/* The parent's leak thread did not survive fork: the child's starts at its first
	 * allocation (see mp_leak_thread_deferred); until then, or at exit, the check runs
	 * on the exiting thread. */
	if (ready && forked && !starting_at_exit)
		__atomic_store_n(&mp_leak_thread_deferred, 1, __ATOMIC_RELEASE);
	return ready;
}

void mp_recording_flush_samples(void)
{
	/* Not from a handler that interrupted this thread holding (or waiting for) the
	 * samples' lock, which is not recursive: the last window's counts are lost then, as
	 * a SIGKILL loses them. */
	if (!mp_config.sample_bytes || !mp_config.sample_window_ms ||
	    (mp_state_thread.held_locks & MP_LOCK_SAMPLING))
		return;
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_sampling_set_flush(thread, mp_clock_now_ns(), 1);
	mp_record_leave(thread, saved_errno);
}


/* The trace's last record (MP_REC_END, trace_format.h): how many chunks the file has, so
 * that a reader can tell a file cut after this thread's records from a whole one by the
 * chunks missing, and an end cut off by the END missing. */
static void encode_end(struct mp_thread *thread, enum mp_end_state state)
{
	uint8_t body[2 * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, state);
	at = mp_put_u(at, mp_trace_file_chunks());
	mp_encode_extended(thread, MP_REC_END, body, (size_t)(at - body));
}

/* Nothing if this thread is busy (a handler interrupted the recorder): the trace then
 * reads as cut, which it may be. */
static void write_end(enum mp_end_state state)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	encode_end(thread, state);
	mp_record_leave(thread, saved_errno);
}

/* The header's end state, after the END; then says where the trace is, once. */
static void end_state_set(enum mp_end_state state, int status)
{
	mp_trace_file_set_end(state, status);
	/* Off: recording stopped, or never started, and said so already in its one line. */
	if (state == MP_END_RUNNING || mp_config.quiet || announced ||
	    __atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_OFF)
		return;
	announced = 1;
	char msg[4200] = "trace written to ";
	mp_sys_str_append(msg, sizeof(msg), mp_trace_file_path());
	mp_sys_say(msg);
}

void mp_recording_end(enum mp_end_state state, int status)
{
	if (mp_state_sandboxed())
		return; /* no system call of memprof's (recording_sandbox.c) */
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_UNINIT)
		return;
	int writes_end = state == MP_END_EXIT_NOW || state == MP_END_EXEC || state == MP_END_SIGNAL;
	if (writes_end)
		mp_recording_flush_samples(); /* the exec'd image starts a trace of its own */
	if (state == MP_END_EXIT_NOW) {
		mp_snapshot_thread_stop();
		mp_snapshot_take(MP_SNAP_EXIT); /* before the end state: the trace ends after it */
	}
	if (writes_end)
		write_end(state); /* exit() wrote its own, after the leak check */
	end_state_set(state, status);
}

void mp_recording_foreign_malloc(const char *object)
{
	char msg[4400];
	foreign_malloc = 1;
	mp_trace_file_add_flags(MP_TRACE_FOREIGN_MALLOC);
	if (object) {
		memcpy(msg, "the program calls the malloc of '", 34);
		mp_sys_str_append(msg, sizeof(msg), object);
		mp_sys_str_append(msg, sizeof(msg), "', loaded before libmemprof.so: allocations "
				  "are not recorded (put libmemprof.so first in LD_PRELOAD)");
	} else {
		memcpy(msg, "the program defines its own malloc: allocations are not recorded", 65);
	}
	mp_sys_say(msg);
}

/* exit() called by a signal handler that interrupted this thread inside the recorder
 * (busy): the interrupted code never resumes, so its half-written record is abandoned
 * and the exit work goes to a fresh chunk (chunk.c), unless it holds a lock that work
 * needs: waiting for it would hang the exit. Returns the MP_TRACE_* flags of what must
 * be skipped, or -1 if nothing can be written. The header says which. */
static int exit_rescue(struct mp_thread *self)
{
	unsigned held = self->held_locks;
	uint32_t flags = MP_TRACE_EXIT_IN_HANDLER;
	if (held & (MP_LOCK_SNAPSHOT | MP_LOCK_SAMPLING))
		flags |= MP_TRACE_EXIT_SNAPSHOT_SKIPPED; /* a snapshot flushes the samples */
	if (mp_chunk_rescue(self) < 0) {
		mp_trace_file_add_flags(flags | MP_TRACE_EXIT_SNAPSHOT_SKIPPED |
					MP_TRACE_LEAK_CHECK_SKIPPED);
		return -1;
	}
	mp_trace_file_add_flags(flags);
	self->busy = 0;
	return (int)flags;
}

/* Concurrent exits. glibc's exit() runs the exit handlers from whichever threads call
 * it (or return from main), each taking the next handler from one list, and the first to
 * find it empty ends the process: a second thread's exit ended it in the middle of
 * memprof's handler (its leak check, its snapshot), and the trace had no end (39 runs of
 * 40 of two workers calling exit as main did). So memprof's exit handler has barriers
 * behind it in the list (lifecycle.c): a thread that takes one while the handler runs or
 * has run on another thread waits there for the process to end, which that other thread
 * brings about with the status its trace gives (letting the waiting thread go on once
 * the handler was done ended the process with the other status in half the runs). Only
 * the process whose trace it is takes part: a vfork child that calls exit() runs the
 * handlers in its parent's memory. */
enum { EXIT_NONE, EXIT_HOOK_RUNNING };
static struct {
	int tid;       /* the thread running memprof's exit handler, 0 before */
	uint32_t hook; /* EXIT_NONE, or EXIT_HOOK_RUNNING once it started */
} exiting;

/* A barrier that finds the handler not started waits this long for it: its entry comes
 * first in the list, so another thread has taken it and is about to mark it started. */
#define EXIT_HOOK_START_NS 50000000ull

int mp_recording_in_vfork_child(void)
{
	if (mp_state_sandboxed())
		return 0; /* no getpid: the exit hooks then find nothing to do */
	uint32_t owner = __atomic_load_n(&owner_pid, __ATOMIC_ACQUIRE);
	return owner && owner != (uint32_t)syscall(SYS_getpid);
}

void mp_recording_exit_starts(void)
{
	if (mp_state_sandboxed())
		return;
	if (!is_trace_owner())
		return;
	int none = 0;
	/* A nested exit's handler, or quick_exit's after exit's: the first thread keeps it. */
	if (!__atomic_compare_exchange_n(&exiting.tid, &none, (int)syscall(SYS_gettid), 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&exiting.hook, EXIT_HOOK_RUNNING, __ATOMIC_RELEASE);
	syscall(SYS_futex, &exiting.hook, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void mp_recording_exit_barrier(void)
{
	if (mp_state_sandboxed())
		return;
	if (!is_trace_owner())
		return;
	uint64_t since = mp_clock_now_ns();
	while (__atomic_load_n(&exiting.hook, __ATOMIC_ACQUIRE) != EXIT_HOOK_RUNNING) {
		if (mp_clock_now_ns() - since > EXIT_HOOK_START_NS)
			return;
		struct timespec pause = { 0, 1000000 };
		syscall(SYS_futex, &exiting.hook, FUTEX_WAIT_PRIVATE, EXIT_NONE, &pause, NULL, 0);
	}
	if (__atomic_load_n(&exiting.tid, __ATOMIC_ACQUIRE) == (int)syscall(SYS_gettid))
		return;
	/* Nothing wakes this wait: the other thread's exit ends the process. Signals are
	 * handled meanwhile, as they would be on the way out. */
	for (;;)
		syscall(SYS_futex, &exiting.hook, FUTEX_WAIT_PRIVATE, EXIT_HOOK_RUNNING, NULL, NULL,
			0);
}

static int quick_exit_status;

void mp_recording_quick_exit_called(int status)
{
	__atomic_store_n(&quick_exit_status, status, __ATOMIC_RELEASE);
}

void mp_recording_quick_exit(void)
{
	mp_recording_exit(__atomic_load_n(&quick_exit_status, __ATOMIC_ACQUIRE));
}

/* Its callers (lifecycle.c's exit hooks) called mp_recording_exit_starts first. */
void mp_recording_exit(int status)
{
	if (mp_state_sandboxed())
		return;
	mp_snapshot_thread_stop(); /* gone by the time the process ends, not killed then */
	struct mp_thread *self = &mp_state_thread;
	/* A fork child that recorded nothing yet (its trace is made at its first event) still
	 * gets its exit snapshot and check, as its parent would: the trace is made now. */
	if (forked && !self->busy &&
	    __atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_UNINIT) {
		int saved_errno = errno;
		starting_at_exit = 1;
		self->busy = 1;
		mp_recording_start();
		self->busy = 0;
		errno = saved_errno;
	}
	int skip = 0;
	if (self->busy && mp_state_is_ready())
		skip = exit_rescue(self);
	if (skip >= 0) {
		/* The snapshot first: the leak scan reads every live block, and reading a page
		 * never written maps the kernel's zero page there, which pagemap reports as
		 * present. */
		if (!(self->held_locks & MP_LOCK_SAMPLING))
			mp_recording_flush_samples(); /* the samples still pending, the last counts */
		if (!foreign_malloc)
			mp_leak_scan_exit_coming();
		if (!(skip & MP_TRACE_EXIT_SNAPSHOT_SKIPPED))
			mp_snapshot_take(MP_SNAP_EXIT);
		if (!foreign_malloc)
			mp_leak_scan_at_exit(); /* leak_scan.c: classify what is still allocated */
		write_end(MP_END_EXIT);
	}
	/* After a rescue nothing more is recorded on this thread: what the interrupted code
	 * held (a stack being interned, say) is not safe to use. */
	if (skip & MP_TRACE_EXIT_IN_HANDLER)
		self->busy = 1;
	mp_recording_end(MP_END_EXIT, status);
}

/* A signal the program does not handle is about to end the process (recording_signals.c):
 * the trace ends as an exit's would, so that a reader knows it whole and why the process
 * died. After the signal's check the other threads stay stopped, and one may hold the
 * file's lock, which a new chunk would wait for; the dying thread may hold it itself,
 * interrupted in the recorder. So the END goes where room was made beforehand: the leak
 * thread's chunk, after the check's records (mp_leak_fatal_writer), or where no check
 * ran, the dying thread's own, reserved before the check was asked for. Where neither
 * has room the trace keeps no end, as a SIGKILL's. */
#define FATAL_END_ROOM 64

int mp_recording_fatal_begin(void)
{
	struct mp_thread *self = &mp_state_thread;
	/* The interrupted code never resumes (the signal kills the process as the handler
	 * returns): its half-written record is abandoned, as exit_rescue does, unless it
	 * holds the file's or the chunks' lock (mp_chunk_rescue). One that holds (or waits
	 * for) the snapshots' or the samples' lock is rescued too: the fatal snapshot and
	 * the samples' flush see that lock held and are skipped. */
	if (self->busy && mp_state_is_ready() && mp_chunk_rescue(self) == 0)
		self->busy = 0;
	mp_snapshot_fatal(); /* before the check, which leaves the other threads stopped */
	if (!mp_state_is_ready())
		return 0; /* not here, in a signal handler, that a trace starts */
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno); /* NULL: still busy */
	if (!thread)
		return 0;
	int room = mp_chunk_reserve(thread, FATAL_END_ROOM) != NULL;
	mp_record_leave(thread, saved_errno);
	return room;
}

void mp_recording_fatal_end(int sig, int checked, int own_room)
{
	struct mp_thread *writer = checked ? mp_leak_fatal_writer() : NULL;
	if (writer) {
		if ((size_t)(writer->limit - writer->pos) >= FATAL_END_ROOM) {
			encode_end(writer, MP_END_SIGNAL);
			end_state_set(MP_END_SIGNAL, sig);
		}
	} else if (own_room) {
		mp_recording_end(MP_END_SIGNAL, sig);
	}
	mp_state_thread.busy = 1; /* nothing more from this thread: see mp_recording_exit */
}

/* Fork. The prepare handler takes no lock: handlers run in the reverse order of
 * registration, so an allocator that registered before us (jemalloc, at its first malloc)
 * takes its locks after ours, and one of its threads holding them may be waiting in our
 * mmap for a lock of ours: a lock held here could deadlock the fork. Instead the child,
 * the only thread left, resets every lock and starts a trace of its own, reading the
 * parent's state only where it is kept consistent at every instant (chunk.c,
 * sampling_set.c, stacks.c publish before they unmap). This thread is marked busy until
 * the child or parent handler: nothing is recorded in between, on either side.
 *
 * The one wait: for memprof's calls that hold the loader's lock (loader_gate.c), which
 * the child would otherwise inherit held; bounded, and those calls take no lock the fork
 * needs. */
void mp_recording_fork_prepare(void)
{
	if (mp_state_sandboxed())
		return;
	mp_state_thread.busy = 1;
	mp_loader_fork_prepare();
	fork_parent_pid = (uint32_t)syscall(SYS_getpid);
	mp_leak_live_fork_prepare();
	/* After the wait (other threads record meanwhile): the time and the chunks up to the
	 * fork. */
	fork_prepare_ns = mp_clock_now_ns();
	fork_file_end = mp_trace_file_end();
}

/* daemon(): glibc's forks, and its parent then ends with _exit(0) from inside libc,
 * where the interposed _exit never sees it: the parent's trace had no end. So the fork's
 * parent handler, on the thread inside daemon(), ends it as _exit(0) would; a daemon()
 * that failed in the parent (no fork) opens it again, as a failed exec does. */
static int daemon_tid;
static uint32_t daemon_pid;
static int daemon_ended;

void mp_recording_daemon_begin(void)
{
	if (mp_state_sandboxed())
		return;
	daemon_pid = (uint32_t)syscall(SYS_getpid);
	__atomic_store_n(&daemon_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
}

void mp_recording_daemon_end(void)
{
	if (mp_state_sandboxed())
		return;
	__atomic_store_n(&daemon_tid, 0, __ATOMIC_RELEASE);
	if (__atomic_exchange_n(&daemon_ended, 0, __ATOMIC_ACQ_REL) &&
	    (uint32_t)syscall(SYS_getpid) == daemon_pid)
		mp_recording_end(MP_END_RUNNING, 0);
}

void mp_recording_fork_parent(void)
{
	if (mp_state_sandboxed())
		return;
	mp_leak_live_fork_parent();
	mp_loader_fork_parent();
	/* The next event reads the clock: a time 1 ns after the last one could fall before
	 * fork_prepare_ns, and the child would take that event for its own past. */
	mp_state_thread.clock_left = 0;
	mp_state_thread.busy = 0;
	if (__atomic_load_n(&daemon_tid, __ATOMIC_ACQUIRE) == (int)syscall(SYS_gettid)) {
		__atomic_store_n(&daemon_ended, 1, __ATOMIC_RELEASE);
		mp_recording_end(MP_END_EXIT_NOW, 0);
	}
}

/* The child's trace file is created at its first event, like the parent's was: a child
 * that only calls exec (most of them) leaves no empty trace behind. */
void mp_recording_fork_child(void)
{
	if (mp_state_sandboxed())
		return;
	struct mp_thread *self = &mp_state_thread;
	self->held_locks = 0;
	__atomic_store_n(&owner_pid, (uint32_t)syscall(SYS_getpid), __ATOMIC_RELEASE);
	exiting.tid = 0; /* a fork from an exit handler: the child's exit is its own */
	exiting.hook = EXIT_NONE;
	mp_loader_fork_child();
	mp_unwind_rules_after_fork_child();
	mp_sys_after_fork_child();
	mp_chunk_after_fork_child(self);
	mp_clock_after_fork_child(self);
	mp_trace_file_forget();
	mp_sampling_set_after_fork_child();
	mp_heap_peak_after_fork_child();
	mp_snapshot_after_fork_child();
	mp_snapshot_thread_after_fork_child();
	/* mp_trace_file_forget keeps the path: it names the parent's file until the child
	 * makes its own, and the leak check folds the parent's rest from it. */
	live_inherited = mp_leak_thread_after_fork_child(fork_parent_pid, fork_prepare_ns,
							 fork_file_end);
	announced = 0;
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_READY) {
		mp_stacks_reset();
		mp_modules_reset();
		forked = 1;
		__atomic_store_n(&mp_state, MP_STATE_UNINIT, __ATOMIC_RELEASE);
	}
	self->busy = 0;
}
