/* lifecycle.c: the process's own events that start and end recording (the shim layer,
 * beside interpose.c's libc symbols): the constructor, fork and exit().
 *
 * Recording itself may have started before the constructor runs (the first allocation
 * starts it, recording.c); the constructor registers what needs a working libc: the fork
 * handlers, the exit hook, the leak thread with the signal handlers of the leak checks
 * and, when asked for, the snapshot thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "leak_scan.h"
#include "record_hot.h"
#include "snapshot.h"

#define EXIT_WIPE_BYTES (16u * 1024u)
#define EXIT_WIPE_SPARE (16u * 1024u) /* left below the wipe, at least */

/* Zeroes the stack below the exit hook's frame. memprof's exit path (the exit snapshot,
 * the leak check's request and its wait) builds its frames there, over the stack the
 * recorder used for the program's allocations, and leaves slots of them unwritten: the
 * leak check scans this thread's stack from where it waits, and a block address left in
 * such a slot made a lost 20 MiB block "still reachable" in 2 runs of 8 (memcheck: lost).
 * Only within the stack's known bounds, with room to spare: a thread near the end of a
 * small stack is left as it is. */
static __attribute__((noinline)) void exit_wipe_stack(void)
{
	uint64_t area[EXIT_WIPE_BYTES / 8];
	memset(area, 0, sizeof(area));
	__asm__ volatile("" : : "r"(area) : "memory"); /* the stores are the point */
}

/* Checked here, not in exit_wipe_stack: its frame is the 16 KiB, and a signal taken right
 * after that frame was made would be delivered below it. */
static __attribute__((always_inline)) inline void exit_wipe_if_room(void)
{
	size_t room = mp_unwind_stack_room((uintptr_t)__builtin_frame_address(0));
	if (room >= EXIT_WIPE_BYTES + EXIT_WIPE_SPARE)
		exit_wipe_stack();
}

/* vfork. A child that calls exit() rather than _exit() (after a failed exec, say) runs
 * its parent's exit handlers in its parent's memory and takes them off the list: glibc
 * lets it, the program's own handlers go the same way. memprof's hook ran the exit's
 * work in the child for the parent's trace: its snapshot and check (which waited a
 * second for the parent's thread, suspended in vfork, to stop), and an end with the
 * child's status; the parent's own exit later found no hook. Now the hook does nothing
 * in such a child but say, in the memory it shares, that it was taken, and the parent's
 * exit() does the work (see exit below). */
static int vfork_took_exit_hook;

static void on_exit_hook(int status, void *unused)
{
	(void)unused;
	if (mp_recording_in_vfork_child()) {
		__atomic_store_n(&vfork_took_exit_hook, 1, __ATOMIC_RELEASE);
		return;
	}
	mp_recording_exit_starts();
	exit_wipe_if_room();
	mp_recording_exit(status);
}

/* Behind memprof's exit handler in the list, so that another exiting thread waits there
 * rather than end the process in the middle of it (recording.c, Concurrent exits): as
 * many as threads are likely to exit at once; one more than that finds the list empty
 * and ends the process as it would without memprof. */
#define EXIT_BARRIERS 8

static void exit_barrier(int status, void *unused)
{
	(void)status;
	(void)unused;
	mp_recording_exit_barrier();
}

/* quick_exit skips the on_exit handlers but runs these: registered first, it runs last,
 * after the program's own. */
static void on_quick_exit_hook(void)
{
	if (mp_recording_in_vfork_child())
		return; /* its parent's, as on_exit_hook's */
	mp_recording_exit_starts();
	exit_wipe_if_room();
	mp_recording_quick_exit();
}

static void (*real_exit)(int) __attribute__((noreturn));

/* Forwards to glibc's, but for the parent of a vfork child that ran its exit handlers:
 * memprof's hook is gone from its list, and no handler can be registered again (the
 * child's exit marked the list done), so its exit's work is done here. A return from
 * main calls glibc's exit directly: that parent's trace has no end (README). */
__attribute__((visibility("default"))) void exit(int status)
{
	if (__atomic_load_n(&vfork_took_exit_hook, __ATOMIC_ACQUIRE) &&
	    !mp_recording_in_vfork_child() &&
	    __atomic_exchange_n(&vfork_took_exit_hook, 0, __ATOMIC_ACQ_REL))
		on_exit_hook(status, NULL);
	if (!real_exit) /* called before the constructor ran (another library's) */
		*(void **)&real_exit = dlsym(RTLD_NEXT, "exit");
	real_exit(status);
}

static void memprof_constructor(void);

/* Whether the malloc the program calls is ours: an allocator preloaded before us, or a
 * program defining malloc itself, comes first in symbol lookup, and then nothing would be
 * recorded without a word. Only a symbol defined at that very address counts: an
 * executable that takes malloc's address in code built without -fPIC (Debian's python3)
 * has a canonical PLT entry for it, which dlsym returns but which only jumps on to the
 * malloc that symbol lookup chose (ours), and no symbol is defined there. */
static void check_malloc(void)
{
	Dl_info theirs, ours;
	struct link_map *object = NULL;
	const ElfW(Sym) *symbol = NULL;
	void *found = dlsym(RTLD_DEFAULT, "malloc");
	if (!found || !dladdr1(found, &theirs, (void **)&object, RTLD_DL_LINKMAP) ||
	    !dladdr((void *)&memprof_constructor, &ours) || theirs.dli_fbase == ours.dli_fbase ||
	    !dladdr1(found, &theirs, (void **)&symbol, RTLD_DL_SYMENT) || !symbol ||
	    symbol->st_shndx == SHN_UNDEF || theirs.dli_saddr != found)
		return;
	/* The executable's link map has an empty name. */
	int own = !object || !object->l_name || !object->l_name[0];
	mp_recording_foreign_malloc(own ? NULL : theirs.dli_fname);
}

__attribute__((constructor)) static void memprof_constructor(void)
{
	struct mp_thread *self = &mp_state_thread;
	if (self->busy)
		return;
	self->busy = 1;
	/* Now, not at the first exit(): a signal handler may call it, and dlsym could wait
	 * there for the loader's lock held by the code the signal interrupted. */
	*(void **)&real_exit = dlsym(RTLD_NEXT, "exit");
	mp_unwind_warm();
	mp_recording_sandbox_watch();
	mp_recording_alone_watch();
	mp_interpose_ids_resolve();
	if (mp_recording_ready()) {
		pthread_atfork(mp_recording_fork_prepare, mp_recording_fork_parent,
			       mp_recording_fork_child);
		/* Handlers run last registered first: the barriers after the hook. */
		for (int i = 0; i < EXIT_BARRIERS; i++)
			on_exit(exit_barrier, NULL);
		on_exit(on_exit_hook, NULL);
		at_quick_exit(on_quick_exit_hook);
		check_malloc();
		mp_snapshot_start();
		/* The leak thread first: it keeps the RSS watch if it runs, and then the
		 * snapshot thread is started only for snapshots asked for. */
		mp_recording_signals_start();
		mp_snapshot_thread_start();
		if (!mp_leak_thread_running())
			mp_trace_file_replaced_close(); /* no thread to leave it to */
	}
	self->busy = 0;
}
