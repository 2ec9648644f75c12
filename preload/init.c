/* init.c: the recorder's life cycle: start, fork, and the end of the process.
 *
 * Recording starts at the first event, which may come before any constructor (ld.so and
 * an executable's .preinit_array allocate first), so initialization uses only sys.c. The
 * constructor then registers what needs a working libc: fork handlers and the exit hook.
 *
 * Ends: exit() and return from main reach the on_exit hook with the status; _exit and
 * exec are interposed (interpose.c). abort, fatal signals and SIGKILL need nothing: every
 * committed record is already in the page cache, and the header's end state stays
 * "running", which the analyzer reports as an abnormal end. No signal handler is
 * installed, so the program's own handling of signals is unchanged.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int mp_state = MP_STATE_UNINIT;
static int announced;
/* Set in a fork child until its trace exists: it must never replace its parent's file. */
static int forked;

/* Any address inside this library, to find its own code range. */
static void self_marker(void)
{
}

static int start_recording(int fork_child)
{
	int err = mp_trace_file_create(fork_child);
	if (err < 0) {
		char msg[4300] = "cannot create trace '";
		mp_str_append(msg, sizeof(msg), mp_trace_file_path());
		mp_str_append(msg, sizeof(msg), "': ");
		mp_str_append(msg, sizeof(msg), strerror(-err));
		mp_str_append(msg, sizeof(msg), "; not recording");
		mp_say(msg);
		__atomic_store_n(&mp_state, MP_STATE_OFF, __ATOMIC_RELEASE);
		return 0;
	}
	__atomic_store_n(&mp_state, MP_STATE_READY, __ATOMIC_RELEASE);
	return 1;
}

int mp_init_slow(void)
{
	int expected = MP_STATE_UNINIT;
	if (!__atomic_compare_exchange_n(&mp_state, &expected, MP_STATE_INITIALIZING, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return expected == MP_STATE_READY;
	mp_config_load();
	mp_clock_init();
	uintptr_t self_start = 0, self_end = 0;
	mp_modules_range_of((uintptr_t)&self_marker, &self_start, &self_end);
	mp_stacks_init(self_start, self_end);
	mp_chunk_init();
	mp_heap_peak_init();
	return start_recording(forked);
}

void mp_disable(const char *why)
{
	if (__atomic_exchange_n(&mp_state, MP_STATE_OFF, __ATOMIC_ACQ_REL) != MP_STATE_OFF)
		mp_say(why);
}

void mp_announce_end(enum mp_end_state state, int status)
{
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_UNINIT)
		return;
	if (state == MP_END_EXIT_NOW || state == MP_END_EXEC)
		mp_record_sampled_flush_all(); /* the exec'd image starts a trace of its own */
	if (state == MP_END_EXIT_NOW)
		mp_snapshot_take(MP_SNAP_EXIT); /* before the end state: the trace ends after it */
	mp_trace_file_set_end(state, status);
	if (state == MP_END_RUNNING || mp_config.quiet || announced)
		return;
	announced = 1;
	char msg[4200] = "trace written to ";
	mp_str_append(msg, sizeof(msg), mp_trace_file_path());
	mp_say(msg);
}

static void on_exit_hook(int status, void *unused)
{
	(void)unused;
	/* The snapshot first: the leak scan reads every live block, and reading a page never
	 * written maps the kernel's zero page there, which pagemap reports as present. */
	mp_record_sampled_flush_all(); /* the samples still pending, and the last counts */
	mp_snapshot_take(MP_SNAP_EXIT);
	mp_leak_scan_at_exit(); /* leak_scan.c: classify what is still allocated */
	mp_announce_end(MP_END_EXIT, status);
}

/* Fork: nothing may be half-written when the child is cloned, so the prepare handler
 * takes the locks of every slow path (sampling, threads, then file), and the child, the only
 * thread left, starts a trace of its own. */
static void fork_prepare(void)
{
	mp_self_thread.busy = 1;
	/* The sampling lock first: a flush writes records (taking the others) while it
	 * holds it. */
	mp_sampling_lock();
	mp_chunk_lock();
	mp_trace_file_lock();
}

static void fork_parent(void)
{
	mp_trace_file_unlock();
	mp_chunk_unlock();
	mp_sampling_unlock();
	mp_self_thread.busy = 0;
}

/* The child's trace file is created at its first event, like the parent's was: a child
 * that only calls exec (most of them) leaves no empty trace behind. */
static void fork_child(void)
{
	struct mp_thread *self = &mp_self_thread;
	mp_chunk_after_fork_child(self);
	mp_trace_file_forget();
	mp_sampling_after_fork_child();
	mp_heap_peak_after_fork_child();
	mp_snapshot_after_fork_child();
	announced = 0;
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) == MP_STATE_READY) {
		mp_stacks_reset();
		mp_modules_reset();
		forked = 1;
		__atomic_store_n(&mp_state, MP_STATE_UNINIT, __ATOMIC_RELEASE);
	}
	self->busy = 0;
}

__attribute__((constructor)) static void memprof_constructor(void)
{
	struct mp_thread *self = &mp_self_thread;
	if (self->busy)
		return;
	self->busy = 1;
	if (mp_ready()) {
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		on_exit(on_exit_hook, NULL);
		mp_snapshot_start();
	}
	self->busy = 0;
}
