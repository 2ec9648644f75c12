/* interpose_stat.c: the stat family, so that a program counting its threads finds only
 * its own (recording_alone.c).
 *
 * A program about to do what needs one thread (a sandbox's zygote before it forks its
 * children, before it enters namespaces) checks that it has one: the link count of its
 * /proc/self/task directory is 2 + its threads. Chromium asks fstatat(proc, "self/task/")
 * and Firefox stat("/proc/self/task"); both want 3, and with memprof's leak thread beside
 * them found 4: Chromium's zygote stopped on its check (SIGTRAP) and the browser with it,
 * "GPU process isn't usable". So a stat of the process's own task directory has memprof's
 * threads end first, as unshare() does; they start again a second after, at an allocation.
 *
 * Every other call goes straight to the kernel as glibc's does (x86-64: newfstatat for
 * the stat, lstat and fstatat forms, statx for statx), through syscall() (sys_call.c),
 * so no lookup of the next definition is needed, however early the call comes. The
 * __xstat names are those of programs built against glibc before 2.33.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "recorder.h"

#define EXPORT __attribute__((visibility("default")))
#define PROC_ROOT_INODE 1 /* the inode of procfs's root directory */
#define STAT_VER_KERNEL 0 /* __xstat's versions on x86-64: both mean struct stat */
#define STAT_VER_LINUX 1

/* dirfd is the root of a procfs (or, with AT_FDCWD, the working directory is). */
static int dir_is_proc(int dirfd)
{
	struct statfs fs;
	struct stat st;
	long got = dirfd == AT_FDCWD ? syscall(SYS_statfs, ".", &fs) : syscall(SYS_fstatfs, dirfd, &fs);
	if (got != 0 || fs.f_type != PROC_SUPER_MAGIC)
		return 0;
	got = syscall(SYS_newfstatat, dirfd, dirfd == AT_FDCWD ? "." : "", &st,
		      dirfd == AT_FDCWD ? 0 : AT_EMPTY_PATH);
	return got == 0 && st.st_ino == PROC_ROOT_INODE;
}

/* at names this process under /proc ("self" or its pid) followed by "/task" and nothing
 * but slashes. */
static int names_own_tasks(const char *at)
{
	long pid = -1;
	if (strncmp(at, "self", 4) == 0) {
		at += 4;
	} else {
		const char *digits = at;
		for (pid = 0; *at >= '0' && *at <= '9' && at - digits < 10; at++)
			pid = pid * 10 + (*at - '0');
		if (at == digits)
			return 0;
	}
	if (strncmp(at, "/task", 5) != 0)
		return 0;
	for (at += 5; *at == '/'; at++)
		;
	/* The pid last: `ps` stats every /proc/PID, and needs no getpid for each. */
	return *at == '\0' && (pid < 0 || pid == (long)syscall(SYS_getpid));
}

/* path (from dirfd) is this process's task directory: cheap for every other path, which
 * the first bytes turn away. Under a seccomp filter memprof makes no call of its own
 * (recording_sandbox.c), and its threads are gone anyway. */
static int asks_thread_count(int dirfd, const char *path)
{
	if (!path || mp_state_sandboxed())
		return 0;
	if (path[0] == '/')
		return strncmp(path, "/proc/", 6) == 0 && names_own_tasks(path + 6);
	if (path[0] != 's' && (path[0] < '0' || path[0] > '9'))
		return 0;
	return names_own_tasks(path) && dir_is_proc(dirfd);
}

/* Before a stat of path: memprof's threads leave if it counts them. */
static inline void stat_coming(int dirfd, const char *path)
{
	if (MP_UNLIKELY(asks_thread_count(dirfd, path)))
		mp_recording_alone_needed();
}

static int stat_at(int dirfd, const char *path, struct stat *buf, int flags)
{
	stat_coming(dirfd, path);
	return (int)syscall(SYS_newfstatat, dirfd, path, buf, flags);
}

static int stat_version_bad(int version)
{
	if (version == STAT_VER_KERNEL || version == STAT_VER_LINUX)
		return 0;
	errno = EINVAL;
	return 1;
}

EXPORT int stat(const char *restrict path, struct stat *restrict buf)
{
	return stat_at(AT_FDCWD, path, buf, 0);
}

EXPORT int lstat(const char *restrict path, struct stat *restrict buf)
{
	return stat_at(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW);
}

EXPORT int fstatat(int dirfd, const char *restrict path, struct stat *restrict buf, int flags)
{
	return stat_at(dirfd, path, buf, flags);
}

/* On x86-64 struct stat64 is struct stat. */
EXPORT int stat64(const char *restrict path, struct stat64 *restrict buf)
{
	return stat_at(AT_FDCWD, path, (struct stat *)buf, 0);
}

EXPORT int lstat64(const char *restrict path, struct stat64 *restrict buf)
{
	return stat_at(AT_FDCWD, path, (struct stat *)buf, AT_SYMLINK_NOFOLLOW);
}

EXPORT int fstatat64(int dirfd, const char *restrict path, struct stat64 *restrict buf,
		     int flags)
{
	return stat_at(dirfd, path, (struct stat *)buf, flags);
}

EXPORT int statx(int dirfd, const char *restrict path, int flags, unsigned int mask,
		 struct statx *restrict buf)
{
	stat_coming(dirfd, path);
	return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}

/* glibc before 2.33 had programs call these. */
int __xstat(int version, const char *path, struct stat *buf);
int __xstat64(int version, const char *path, struct stat64 *buf);
int __lxstat(int version, const char *path, struct stat *buf);
int __lxstat64(int version, const char *path, struct stat64 *buf);
int __fxstatat(int version, int dirfd, const char *path, struct stat *buf, int flags);
int __fxstatat64(int version, int dirfd, const char *path, struct stat64 *buf, int flags);

EXPORT int __xstat(int version, const char *path, struct stat *buf)
{
	return stat_version_bad(version) ? -1 : stat_at(AT_FDCWD, path, buf, 0);
}

EXPORT int __xstat64(int version, const char *path, struct stat64 *buf)
{
	return stat_version_bad(version) ? -1 : stat_at(AT_FDCWD, path, (struct stat *)buf, 0);
}

EXPORT int __lxstat(int version, const char *path, struct stat *buf)
{
	return stat_version_bad(version) ? -1
					 : stat_at(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW);
}

EXPORT int __lxstat64(int version, const char *path, struct stat64 *buf)
{
	return stat_version_bad(version)
		       ? -1
		       : stat_at(AT_FDCWD, path, (struct stat *)buf, AT_SYMLINK_NOFOLLOW);
}

EXPORT int __fxstatat(int version, int dirfd, const char *path, struct stat *buf, int flags)
{
	return stat_version_bad(version) ? -1 : stat_at(dirfd, path, buf, flags);
}

EXPORT int __fxstatat64(int version, int dirfd, const char *path, struct stat64 *buf,
			int flags)
{
	return stat_version_bad(version) ? -1 : stat_at(dirfd, path, (struct stat *)buf, flags);
}
