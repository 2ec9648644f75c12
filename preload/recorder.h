/* recorder.h: the recorder layer: one function per kind of event (record.c, whose hot
 * half is record_hot.h) and the start and end of recording (recording.c). The shim
 * (interpose.c, lifecycle.c) calls these; they call the features, the writer and the
 * base.
 */
#ifndef MEMPROF_PRELOAD_RECORDER_H
#define MEMPROF_PRELOAD_RECORDER_H

#include "base.h"

/* --- record.c: the recorder API the libc shim calls (allocations: record_hot.h) --- */
void mp_record_free(void *addr);
/* old_usable: mp_heap_peak_usable(old_addr) taken before the real call. Returns new_addr,
 * so that the shim's realloc reaches it by a tail call. */
void *mp_record_realloc(void *old_addr, void *new_addr, size_t size, uint64_t time_before,
			size_t old_usable);
void mp_record_failed(enum mp_record_tag function, size_t size);
void mp_record_mmap(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset);
void mp_record_munmap(void *addr, size_t length);
void mp_record_mremap(void *old_addr, size_t old_length, void *new_addr, size_t new_length,
		      int flags, uint64_t time_before);
void mp_record_brk(void *old_break, void *new_break);
/* The set of loaded objects may have changed (after dlclose): sync the module map. */
void mp_record_module_change(void);

/* --- recording.c: the start and the end of recording in this process --- */
/* Makes the recorder ready if it is not (the first event of the process, or of a fork
 * child): reads the options, starts the clock, the stacks and the trace file. Returns 1
 * if events may be recorded. */
int mp_recording_start(void);
static inline int mp_recording_ready(void)
{
	if (MP_LIKELY(mp_state_is_ready()))
		return 1;
	return mp_recording_start();
}
/* Writes what the sampling window still holds: at exit, _exit and exec. */
void mp_recording_flush_samples(void);
/* The trace ends, or goes on (MP_END_RUNNING after a failed exec): flushes the samples
 * and takes the exit snapshot where the process ends now (_exit), records the end state,
 * and says where the trace is, once. */
void mp_recording_end(enum mp_end_state state, int status);
/* At exit() or return from main (lifecycle.c's hook): the samples, the exit snapshot,
 * the leak check, then the end. */
void mp_recording_exit(int status);
/* memprof's exit handler starts on this thread (lifecycle.c, before anything else). */
void mp_recording_exit_starts(void);
/* One of the barriers behind memprof's exit handler (lifecycle.c): waits for the
 * process to end if that handler runs or ran on another thread. */
void mp_recording_exit_barrier(void);
/* quick_exit(status) was called (interpose.c): the status memprof's at_quick_exit
 * handler (lifecycle.c) ends the trace with. */
void mp_recording_quick_exit_called(int status);
/* Whether this process shares the memory of the one whose trace memprof writes without
 * being it: a vfork child (or a child of raw clone or _Fork, which runs no fork
 * handler). Its exit runs its parent's exit handlers, in its parent's memory. */
int mp_recording_in_vfork_child(void);
/* Before the program's longjmp(env) (recording_jumps.c): where the jump leaves the
 * recorder's frames, this thread's recording is put back in order, or said to stop. */
void mp_recording_jump(const void *env);
/* memprof's at_quick_exit handler: the exit snapshot, the leak check and the trace's
 * end, as at exit, with the status quick_exit was given. */
void mp_recording_quick_exit(void);
/* Around the real daemon() (interpose.c): its parent's trace ends at the fork, as its
 * _exit(0) would end it (recording.c). */
void mp_recording_daemon_begin(void);
void mp_recording_daemon_end(void);
/* A fatal signal (recording_signals.c): before its leak check, the fatal snapshot and
 * room for the end in the dying thread's chunk (returns whether there is); after it
 * (`checked`: the check was written), the end, MP_END_SIGNAL. */
int mp_recording_fatal_begin(void);
void mp_recording_fatal_end(int sig, int checked, int own_room);
/* The malloc the program calls is another's (`object`; NULL: the program's own): says so
 * once on stderr and in the trace header, since no allocation will be recorded. */
void mp_recording_foreign_malloc(const char *object);
/* The fork handlers' halves; they take no lock (recording.c says why). */
void mp_recording_fork_prepare(void);
void mp_recording_fork_parent(void);
/* In the child: forget the parent's trace; the child's starts at its first event. */
void mp_recording_fork_child(void);

/* --- recording_signals.c: leak checks on signals, and the dispositions the program sees --- */
/* From the constructor: starts the leak thread, installs the handler of
 * MEMPROF_LEAK_CHECK_SIGNAL and, for each signal that would end the process and has its
 * default disposition, the handler that checks for leaks before the process dies of it.
 * Nothing unless leak checks are on (and the trace is not sampled). */
void mp_recording_signals_start(void);
/* sigaction(2) as the program sees it (interpose_signals.c): memprof's fatal handlers
 * appear as the default disposition, setting the default keeps them, and memprof's own
 * signals (the check signal, the leak thread's stop signal) keep their handlers while
 * what the program sets is kept aside. Returns 0 or -1 with errno, as sigaction does. */
struct sigaction;
int mp_recording_sigaction(int sig, const struct sigaction *action, struct sigaction *old);
/* Before the process forbids itself system calls: memprof's handlers are removed, each
 * signal getting what the program set for it, or the default. */
void mp_recording_signals_give_back(void);
/* --- recording_sandbox.c: a process that puts a seccomp filter on itself --- */
/* From the constructor: before any call that installs a seccomp filter, or strict mode,
 * recording stops for good, memprof's threads end, its handlers go, and memprof makes no
 * system call in this process afterwards. */
void mp_recording_sandbox_watch(void);
/* --- recording_alone.c: a call that needs the process to have one thread --- */
/* From the constructor: before unshare() or setns() makes such a call, memprof's threads
 * end, to start again a while after. */
void mp_recording_alone_watch(void);
/* Before a call that needs the process to have only the program's threads (the set*id
 * functions, interpose_ids.c; unshare and setns through the watch): memprof's threads
 * end, to start again a while after. */
void mp_recording_alone_needed(void);
/* interpose_ids.c: looks up glibc's set*id functions (from the constructor, busy). */
void mp_interpose_ids_resolve(void);
/* At an allocation that finds mp_leak_thread_deferred set: starts the threads that wait
 * (a fork child's leak thread, those paused for such a call) once it is time. */
void mp_recording_threads_deferred(void);

#endif
