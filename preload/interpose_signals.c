/* interpose_signals.c: the libc functions that set a signal's disposition, so that the
 * program sees and sets its signals as it would without memprof (recording_signals.c
 * decides; the shim only forwards).
 *
 * sigaction and signal (BSD semantics, as glibc's: the handler stays installed, the
 * signal is blocked while it runs, system calls are restarted; siginterrupt's setting
 * is not known here). glibc's other spellings (sysv_signal, sigset) and raw system
 * calls are not interposed: a handler set through them replaces memprof's as well, the
 * only difference being what the program is told of the previous disposition.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "recorder.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int sigaction(int sig, const struct sigaction *action, struct sigaction *old)
{
	return mp_recording_sigaction(sig, action, old);
}

EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction action, old;
	if (sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, sig);
	action.sa_flags = SA_RESTART;
	if (mp_recording_sigaction(sig, &action, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}
