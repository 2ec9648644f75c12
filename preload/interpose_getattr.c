/* interpose_getattr.c: pthread_getattr_np, so that memprof does not ask glibc about a
 * thread while glibc's own call holds that thread's lock.
 *
 * glibc's pthread_getattr_np holds the lock of the thread it describes while it reallocs
 * the CPU set it copies (and, for the main thread, while it reads /proc/self/maps with
 * fopen). A thread's first capture learns the thread's stack from the same function
 * (unwind.c), which takes the calling thread's lock: a thread whose first allocation was
 * that realloc, asking about itself, waited for its own lock for good
 * (tests/integration/getattr_first.sh), as a Rust thread would, which asks about itself
 * as it starts; and two threads asking about each other could wait for each other. So
 * the call is glibc's, with the thread marked meanwhile: its captures then walk with
 * libunwind and leave its stack to be learned later (unwind.c, mp_unwind_getattr).
 */
#include <pthread.h>

#include "unwind.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr)
{
	return mp_unwind_getattr(thread, attr);
}
