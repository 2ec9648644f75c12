/* lifecycle.c: the process's own events that start and end recording (the shim layer,
 * beside interpose.c's libc symbols): the constructor, fork and exit().
 *
 * Recording itself may have started before the constructor runs (the first allocation
 * starts it, recording.c); the constructor registers what needs a working libc: the fork
 * handlers, the exit hook, the leak thread with the signal handlers of the leak checks
 * and, when asked for, the snapshot thread.
 */
#include <pthread.h>
#include <stdlib.h>

#include "record_hot.h"
#include "snapshot.h"

static void on_exit_hook(int status, void *unused)
{
	(void)unused;
	mp_recording_exit(status);
}

__attribute__((constructor)) static void memprof_constructor(void)
{
	struct mp_thread *self = &mp_state_thread;
	if (self->busy)
		return;
	self->busy = 1;
	if (mp_recording_ready()) {
		pthread_atfork(mp_recording_fork_prepare, mp_recording_fork_parent,
			       mp_recording_fork_child);
		on_exit(on_exit_hook, NULL);
		mp_snapshot_start();
		mp_snapshot_thread_start();
		mp_recording_signals_start();
	}
	self->busy = 0;
}
