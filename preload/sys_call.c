/* sys_call.c: syscall() and prctl(), the program's and memprof's own, seeing a seccomp
 * filter (or strict mode) coming before it is installed (recording_sandbox.c says why);
 * unshare() and setns(), seeing a call coming that needs the process single-threaded
 * (recording_alone.c); mincore(), kept from libunwind.
 *
 * A filter goes in through prctl(PR_SET_SECCOMP, ...) or the seccomp system call, which
 * glibc has no function for: programs and libseccomp make it through syscall(). So both
 * are defined here, exported, and forward every call as glibc's do (six argument
 * registers; -1 and errno for a result in -4095..-1). memprof's own calls of syscall(),
 * all through raw system access, bind to this definition too: this is where they are
 * made. A call that installs something tells the hook the recorder set first
 * (mp_sys_call_watch_seccomp); a probe that cannot install anything (no filter given,
 * flags strict mode refuses) is let through: libseccomp makes such probes to learn what
 * the kernel supports.
 */
#include <errno.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base.h"

#define EXPORT __attribute__((visibility("default")))

#if defined(__x86_64__)
static long raw_syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long result;
	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return result;
}
#else
#error "sys_call.c forwards system calls for x86-64 only"
#endif

/* The seccomp system call's operation `op` with these flags and argument: whether it may
 * install a filter (1), strict mode (2), or nothing (0). */
static int seccomp_installs(unsigned long op, unsigned long flags, const void *arg)
{
	if (op == SECCOMP_SET_MODE_STRICT)
		return flags == 0 && !arg ? 2 : 0;
	if (op == SECCOMP_SET_MODE_FILTER)
		return arg ? 1 : 0;
	return 0;
}

/* prctl(PR_SET_SECCOMP, mode, filter): the same question. */
static int prctl_installs(long option, unsigned long mode, const void *filter)
{
	if (option != PR_SET_SECCOMP)
		return 0;
	if (mode == SECCOMP_MODE_STRICT)
		return 2;
	return mode == SECCOMP_MODE_FILTER && filter ? 1 : 0;
}

static void (*seccomp_coming)(int installs);

void mp_sys_call_watch_seccomp(void (*coming)(int installs))
{
	__atomic_store_n(&seccomp_coming, coming, __ATOMIC_RELEASE);
}

static void before_install(int installs)
{
	void (*coming)(int) = __atomic_load_n(&seccomp_coming, __ATOMIC_ACQUIRE);
	if (installs && coming)
		coming(installs);
}

/* unshare(2): CLONE_NEWUSER implies CLONE_THREAD, CLONE_VM implies CLONE_SIGHAND, which
 * implies CLONE_THREAD; and CLONE_THREAD fails (EINVAL) in a process of more than one
 * thread. */
static int unshare_needs_alone(unsigned long flags)
{
	return (flags & (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) != 0;
}

/* setns(2) fails (EINVAL) into a user namespace in a process of more than one thread,
 * and into a mount namespace while another thread shares the filesystem attributes (all
 * pthreads do). nstype 0 allows any type: the descriptor says which (NS_GET_NSTYPE); a
 * pidfd with flags names them. */
static int setns_needs_alone(long fd, unsigned long nstype)
{
	if (nstype)
		return (nstype & (CLONE_NEWUSER | CLONE_NEWNS)) != 0;
	long type = raw_syscall(SYS_ioctl, fd, NS_GET_NSTYPE, 0, 0, 0, 0);
	return type < 0 || type == CLONE_NEWUSER || type == CLONE_NEWNS;
}

static void (*alone_coming)(void);

void mp_sys_call_watch_alone(void (*coming)(void))
{
	__atomic_store_n(&alone_coming, coming, __ATOMIC_RELEASE);
}

static void before_alone(int needed)
{
	void (*coming)(void) = __atomic_load_n(&alone_coming, __ATOMIC_ACQUIRE);
	if (needed && coming)
		coming();
}

static long with_errno(long result)
{
	if ((unsigned long)result > -4096ul) {
		errno = (int)-result;
		return -1;
	}
	return result;
}

EXPORT long syscall(long number, ...)
{
	va_list args;
	va_start(args, number);
	long a1 = va_arg(args, long), a2 = va_arg(args, long), a3 = va_arg(args, long);
	long a4 = va_arg(args, long), a5 = va_arg(args, long), a6 = va_arg(args, long);
	va_end(args);
	if (__builtin_expect(number == SYS_seccomp, 0))
		before_install(seccomp_installs((unsigned long)a1, (unsigned long)a2,
						(const void *)a3));
	else if (__builtin_expect(number == SYS_prctl, 0))
		before_install(prctl_installs(a1, (unsigned long)a2, (const void *)a3));
	else if (__builtin_expect(number == SYS_unshare, 0))
		before_alone(unshare_needs_alone((unsigned long)a1));
	else if (__builtin_expect(number == SYS_setns, 0))
		before_alone(setns_needs_alone(a1, (unsigned long)a2));
	return with_errno(raw_syscall(number, a1, a2, a3, a4, a5, a6));
}

EXPORT int prctl(int option, ...)
{
	va_list args;
	va_start(args, option);
	unsigned long a2 = va_arg(args, unsigned long), a3 = va_arg(args, unsigned long);
	unsigned long a4 = va_arg(args, unsigned long), a5 = va_arg(args, unsigned long);
	va_end(args);
	before_install(prctl_installs(option, a2, (const void *)a3));
	return (int)with_errno(raw_syscall(SYS_prctl, option, (long)a2, (long)a3, (long)a4,
					   (long)a5, 0));
}

EXPORT int unshare(int flags)
{
	before_alone(unshare_needs_alone((unsigned int)flags));
	return (int)with_errno(raw_syscall(SYS_unshare, flags, 0, 0, 0, 0, 0));
}

EXPORT int setns(int fd, int nstype)
{
	before_alone(setns_needs_alone(fd, (unsigned int)nstype));
	return (int)with_errno(raw_syscall(SYS_setns, fd, nstype, 0, 0, 0, 0));
}

/* libunwind tells readable memory from unmapped with mincore(2), or with msync(2) where
 * mincore fails, and asks mincore once when it starts (at memprof's start). mincore is not
 * in systemd's @system-service set of system calls, and a service hardened with
 * SystemCallFilter=@system-service is killed at any call outside it: every such service
 * died of SIGSYS under memprof before its main(). So mincore, exported here, fails with
 * ENOSYS when libunwind's code calls it (libunwind then validates with msync, which the
 * set has); anyone else's call is forwarded. */
static uintptr_t unwinder_start, unwinder_end;

void mp_sys_call_unwinder_range(uintptr_t start, uintptr_t end)
{
	__atomic_store_n(&unwinder_start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&unwinder_end, end, __ATOMIC_RELEASE);
}

EXPORT int mincore(void *addr, size_t length, unsigned char *vec)
{
	uintptr_t caller = (uintptr_t)__builtin_return_address(0);
	uintptr_t end = __atomic_load_n(&unwinder_end, __ATOMIC_ACQUIRE);
	if (caller < end && caller >= __atomic_load_n(&unwinder_start, __ATOMIC_RELAXED)) {
		errno = ENOSYS;
		return -1;
	}
	return (int)with_errno(raw_syscall(SYS_mincore, (long)addr, (long)length, (long)vec, 0, 0, 0));
}
