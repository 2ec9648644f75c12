/* single_thread.c: glibc's "one thread" flag, kept saying what is true of the program.
 *
 * glibc's malloc and free take no arena lock and make no atomic operation while
 * __libc_single_threaded (<sys/single_threaded.h>) is set; pthread_create clears it. The
 * leak thread and the snapshot thread made every traced program multithreaded in glibc's
 * eyes, and a single-threaded program's every malloc and free then paid for the locks:
 * about 4 ns a call, python3's dict benchmark +46 ms of 620 (bench/README.md, "Session
 * 26"). So a thread of memprof's started while the flag is set sets it again after its
 * pthread_create (mp_single_thread_start_own).
 *
 * That is sound while no thread of memprof's enters glibc's allocator, and while the
 * whole trace is taken every call a thread makes to it passes memprof's interposers:
 * memprof's threads get their memory from interpose.c's boot arena, and their frees go no
 * further while the flag is kept (mp_single_thread_kept). With sampling free() jumps
 * straight to glibc's, so the flag is left as pthread_create left it.
 *
 * What else reads the flag, or needs it cleared:
 *  - A thread of memprof's that ends frees its TLS vector through free(). One asked to
 *    end (exit, a sandbox, a call that needs one thread) is asked by a thread of the
 *    program, which clears the flag first and for good in this process
 *    (mp_single_thread_give_up): from then on glibc locks, and those frees are real.
 *  - fork: glibc's fork resets its thread bookkeeping in the child (the count of threads
 *    that makes a main thread's pthread_exit run exit(0); the stack cache's lock) only
 *    when the flag said threads ran. fork, forkpty and daemon clear it around the call
 *    (interpose.c): the child, whose one thread is the forking one, gets it back, and so
 *    does the parent unless a fork handler started a thread meanwhile.
 *  - glibc's pthread_mutex_lock takes a free lock with a plain store while it is set:
 *    memprof's locks are its own (base.h's mp_mutex), and its threads take none of
 *    glibc's (none of their work asks the loader, whose locks are pthread mutexes).
 *  - glibc's set*id() then change the calling thread's ids only: interpose_ids.c has
 *    memprof's threads end first, which gives the flag up.
 *  - The program's own pthread_create clears it, and nothing here sets it again then: a
 *    thread of memprof's started later finds it cleared.
 * Those are glibc 2.36's readers (every function of libc.so.6 that reads the flag, from
 * its disassembly); the rest are system call wrappers deciding whether to allow
 * cancellation. Another glibc may read it elsewhere: there it is left alone.
 *
 * Two copies. glibc reads its own (a hidden alias), and pthread_create writes that one
 * and the exported one; a program whose executable reads the flag (a C++ program's
 * inlined shared_ptr code does) has the exported one copied into it by a copy
 * relocation, and that copy is what its code reads. Both are written here, glibc's found
 * with dlsym(RTLD_NEXT) (interpose.c), which gives libc's definition, not the copy.
 */
#include <gnu/libc-version.h>
#include <string.h>
#include <sys/single_threaded.h>

#include "base.h"

#define CHECKED_GLIBC "2.36"

/* glibc's own flag; NULL until found (or if this libc has none): nothing is kept. */
static char *libc_flag;

void mp_single_thread_found(void *glibc_flag)
{
	/* The readers above are this glibc's. */
	if (strcmp(gnu_get_libc_version(), CHECKED_GLIBC) != 0)
		return;
	__atomic_store_n(&libc_flag, (char *)glibc_flag, __ATOMIC_RELEASE);
}

static int flag_get(void)
{
	char *flag = __atomic_load_n(&libc_flag, __ATOMIC_ACQUIRE);
	return flag && __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* Both copies. Their order does not matter: only the program's one thread changes them
 * (or memprof's last thread, the program's gone), so nothing reads them in between. */
static void flag_set(char value)
{
	char *flag = __atomic_load_n(&libc_flag, __ATOMIC_ACQUIRE);
	if (!flag)
		return;
	__atomic_store_n(flag, value, __ATOMIC_SEQ_CST);
	if (&__libc_single_threaded != flag)
		__atomic_store_n(&__libc_single_threaded, value, __ATOMIC_SEQ_CST);
}

/* The flag was set again after a thread of memprof's started (this process). */
static int kept;
/* A thread of memprof's was asked to end: the flag is glibc's again, for good. */
static int given_up;

int mp_single_thread_before_start(void)
{
	/* A thread of memprof's that starts another cannot know the program's threads
	 * stay as they are meanwhile; only the program's thread can. */
	return flag_get() &&
	       !mp_config.sample_bytes && !mp_state_thread.own &&
	       !__atomic_load_n(&given_up, __ATOMIC_ACQUIRE);
}

void mp_single_thread_after_start(int keep)
{
	if (!keep)
		return;
	/* kept first: a thread of memprof's that sees the flag set knows its frees stop. */
	__atomic_store_n(&kept, 1, __ATOMIC_SEQ_CST);
	flag_set(1);
}

int mp_single_thread_start_own(void *(*fn)(void *), size_t stack_bytes)
{
	int keep = mp_single_thread_before_start();
	int started = mp_sys_thread_start(fn, stack_bytes);
	mp_single_thread_after_start(keep);
	return started;
}

int mp_single_thread_kept(void)
{
	return __atomic_load_n(&kept, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&given_up, __ATOMIC_ACQUIRE);
}

void mp_single_thread_give_up(void)
{
	if (!__atomic_load_n(&kept, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&given_up, __ATOMIC_ACQUIRE))
		return;
	/* Cleared before given_up is seen: a thread of memprof's that reads given_up and
	 * then frees finds glibc locking. */
	flag_set(0);
	__atomic_store_n(&given_up, 1, __ATOMIC_SEQ_CST);
}

int mp_single_thread_fork_begin(void)
{
	if (!mp_single_thread_kept() || !flag_get())
		return 0;
	uint64_t threads = 0;
	int counted = mp_sys_thread_count(&threads);
	flag_set(0);
	/* The count, to compare after the fork; -1: not counted, the parent keeps it clear. */
	return counted && threads < (1u << 30) ? (int)threads : -1;
}

void mp_single_thread_fork_end(int before, int in_child)
{
	if (!before)
		return;
	if (in_child) {
		/* One thread, the forking one; memprof's threads start again later. */
		__atomic_store_n(&kept, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&given_up, 0, __ATOMIC_RELAXED);
		flag_set(1);
		return;
	}
	uint64_t threads = 0;
	if (before < 0 || !mp_sys_thread_count(&threads) || threads > (uint64_t)before)
		return; /* a fork handler may have started a thread: glibc's clear flag stays */
	if (!__atomic_load_n(&given_up, __ATOMIC_ACQUIRE))
		flag_set(1);
}
