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
#include <string.h>

#include "heap_peak.h"
#include "leak_scan.h"
#include "modules.h"
#include "record_hot.h"
#include "snapshot.h"

static int announced;
/* Set in a fork child until its trace exists: it must never replace its parent's file. */
static int forked;

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
		mp_sys_str_append(msg, sizeof(msg), "; not recording");
		mp_sys_say(msg);
		__atomic_store_n(&mp_state, MP_STATE_OFF, __ATOMIC_RELEASE);
		return 0;
	}
	__atomic_store_n(&mp_state, MP_STATE_READY, __ATOMIC_RELEASE);
	return 1;
}

int mp_recording_start(void)
{
	int expected = MP_STATE_UNINIT;
	if (!__atomic_compare_exchange_n(&mp_state, &expected, MP_STATE_INITIALIZING, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected == MP_STATE_READY;
	mp_config_load();
	mp_sampling_set_configure();
	mp_clock_init();
	uintptr_t self_start = 0, self_end = 0;
	mp_modules_range_of((uintptr_t)&self_marker, &self_start, &self_end);
	mp_stacks_init(self_start, self_end);
	mp_chunk_init();
	mp_heap_peak_init();
	int ready = start_trace(forked);
	if (ready && forked)
		mp_leak_thread_start(); /* the parent's leak thread did not survive fork */
	return ready;
}

void mp_recording_flush_samples(void)
{
	if (!mp_config.sample_bytes || !mp_config.sample_window_ms)
		return;
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_sampling_set_flush(thread, mp_clock_now_ns(), 1);
	mp_record_leave(thread, saved_errno);
}


void mp_recording_end(enum mp_end_state state, int status)
{
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_UNINIT)
		return;
	if (state == MP_END_EXIT_NOW || state == MP_END_EXEC)
		mp_recording_flush_samples(); /* the exec'd image starts a trace of its own */
	if (state == MP_END_EXIT_NOW)
		mp_snapshot_take(MP_SNAP_EXIT); /* before the end state: the trace ends after it */
	mp_trace_file_set_end(state, status);
	if (state == MP_END_RUNNING || mp_config.quiet || announced)
		return;
	announced = 1;
	char msg[4200] = "trace written to ";
	mp_sys_str_append(msg, sizeof(msg), mp_trace_file_path());
	mp_sys_say(msg);
}

void mp_recording_exit(int status)
{
	/* The snapshot first: the leak scan reads every live block, and reading a page never
	 * written maps the kernel's zero page there, which pagemap reports as present. */
	mp_recording_flush_samples(); /* the samples still pending, and the last counts */
	mp_snapshot_take(MP_SNAP_EXIT);
	mp_leak_scan_at_exit(); /* leak_scan.c: classify what is still allocated */
	mp_recording_end(MP_END_EXIT, status);
}

/* Fork: nothing may be half-written when the child is cloned, so the prepare handler
 * takes the locks of every slow path (sampling, threads, then file), and the child, the
 * only thread left, starts a trace of its own. */
void mp_recording_fork_prepare(void)
{
	mp_state_thread.busy = 1;
	/* The sampling lock first: a flush writes records (taking the others) while it
	 * holds it. */
	mp_sampling_set_lock();
	mp_chunk_lock();
	mp_trace_file_lock();
}

void mp_recording_fork_parent(void)
{
	mp_trace_file_unlock();
	mp_chunk_unlock();
	mp_sampling_set_unlock();
	mp_state_thread.busy = 0;
}

/* The child's trace file is created at its first event, like the parent's was: a child
 * that only calls exec (most of them) leaves no empty trace behind. */
void mp_recording_fork_child(void)
{
	struct mp_thread *self = &mp_state_thread;
	mp_chunk_after_fork_child(self);
	mp_trace_file_forget();
	mp_sampling_set_after_fork_child();
	mp_heap_peak_after_fork_child();
	mp_snapshot_after_fork_child();
	mp_snapshot_thread_after_fork_child();
	mp_leak_thread_after_fork_child();
	announced = 0;
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_READY) {
		mp_stacks_reset();
		mp_modules_reset();
		forked = 1;
		__atomic_store_n(&mp_state, MP_STATE_UNINIT, __ATOMIC_RELEASE);
	}
	self->busy = 0;
}
