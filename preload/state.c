/* state.c: where recording stands in this process, and each thread's own state (base.h).
 *
 * mp_state moves UNINIT -> INITIALIZING -> READY at the first event (recording.c), to OFF
 * when recording cannot go on, and back to UNINIT in a fork child, which starts a trace
 * of its own at its first event.
 */
#include "base.h"

int mp_state = MP_STATE_UNINIT;
__thread struct mp_thread mp_state_thread __attribute__((tls_model("initial-exec")));

void mp_state_disable(const char *why)
{
	if (__atomic_exchange_n(&mp_state, MP_STATE_OFF, __ATOMIC_ACQ_REL) != MP_STATE_OFF)
		mp_sys_say(why);
}

