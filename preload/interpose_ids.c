/* interpose_ids.c: glibc's functions that change the process's user and group ids, so
 * that memprof's threads are out of the way (recording_alone.c says why).
 *
 * glibc changes the ids of every thread of the process (the kernel's calls change the
 * calling thread's only) and aborts the process if the call succeeds on some threads and
 * fails on others. Each function here has memprof's threads end first, then calls the
 * next definition (glibc's, found once with dlsym(RTLD_NEXT)). Raw system calls change
 * one thread's ids and are left alone.
 */
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "recorder.h"

#define EXPORT __attribute__((visibility("default")))

/* The next definition of name, looked up once into *slot; NULL if there is none. Looked
 * up by mp_interpose_ids_resolve from the constructor, while memprof is busy there: dlsym
 * allocates and frees, and here those would be the program's. */
static void *next(void **slot, const char *name)
{
	void *found = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!found) {
		found = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, found, __ATOMIC_RELEASE);
	}
	return found;
}

static int missing(void)
{
	errno = ENOSYS;
	return -1;
}

static void *real_setuid, *real_setgid, *real_seteuid, *real_setegid, *real_setreuid,
	*real_setregid, *real_setresuid, *real_setresgid, *real_setgroups;

EXPORT int setuid(uid_t uid)
{
	int (*real)(uid_t);
	*(void **)&real = next(&real_setuid, "setuid");
	mp_recording_alone_needed();
	return real ? real(uid) : missing();
}

EXPORT int setgid(gid_t gid)
{
	int (*real)(gid_t);
	*(void **)&real = next(&real_setgid, "setgid");
	mp_recording_alone_needed();
	return real ? real(gid) : missing();
}

EXPORT int seteuid(uid_t uid)
{
	int (*real)(uid_t);
	*(void **)&real = next(&real_seteuid, "seteuid");
	mp_recording_alone_needed();
	return real ? real(uid) : missing();
}

EXPORT int setegid(gid_t gid)
{
	int (*real)(gid_t);
	*(void **)&real = next(&real_setegid, "setegid");
	mp_recording_alone_needed();
	return real ? real(gid) : missing();
}

EXPORT int setreuid(uid_t ruid, uid_t euid)
{
	int (*real)(uid_t, uid_t);
	*(void **)&real = next(&real_setreuid, "setreuid");
	mp_recording_alone_needed();
	return real ? real(ruid, euid) : missing();
}

EXPORT int setregid(gid_t rgid, gid_t egid)
{
	int (*real)(gid_t, gid_t);
	*(void **)&real = next(&real_setregid, "setregid");
	mp_recording_alone_needed();
	return real ? real(rgid, egid) : missing();
}

EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	int (*real)(uid_t, uid_t, uid_t);
	*(void **)&real = next(&real_setresuid, "setresuid");
	mp_recording_alone_needed();
	return real ? real(ruid, euid, suid) : missing();
}

EXPORT int setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	int (*real)(gid_t, gid_t, gid_t);
	*(void **)&real = next(&real_setresgid, "setresgid");
	mp_recording_alone_needed();
	return real ? real(rgid, egid, sgid) : missing();
}

EXPORT int setgroups(size_t size, const gid_t *list)
{
	int (*real)(size_t, const gid_t *);
	*(void **)&real = next(&real_setgroups, "setgroups");
	mp_recording_alone_needed();
	return real ? real(size, list) : missing();
}

void mp_interpose_ids_resolve(void)
{
	next(&real_setuid, "setuid");
	next(&real_setgid, "setgid");
	next(&real_seteuid, "seteuid");
	next(&real_setegid, "setegid");
	next(&real_setreuid, "setreuid");
	next(&real_setregid, "setregid");
	next(&real_setresuid, "setresuid");
	next(&real_setresgid, "setresgid");
	next(&real_setgroups, "setgroups");
}
