/* interpose.c: the libc entry points libmemprof.so replaces, and finding the real ones.
 *
 * Each function calls the next definition (dlsym(RTLD_NEXT), so a program linked with
 * another allocator keeps it) and reports to the recorder (record.c). dlsym itself may
 * allocate before the real functions are known; those few allocations come from a static
 * bootstrap arena that free() recognizes and ignores.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <pty.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "modules.h"
#include "record_hot.h"

#define EXPORT __attribute__((visibility("default")))
#define BOOT_ARENA_BYTES (256u * 1024u)
#define BOOT_ALIGN 16u

struct real_functions {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*brk)(void *);
	void *(*sbrk)(intptr_t);
	int (*dlclose)(void *);
	void (*quick_exit)(int) __attribute__((noreturn));
	void (*exit_now)(int) __attribute__((noreturn));
	void (*exit_now_c99)(int) __attribute__((noreturn));
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*daemon)(int, int);
	pid_t (*fork)(void);
	pid_t (*forkpty)(int *, char *, const struct termios *, const struct winsize *);
	void (*longjmp)(struct __jmp_buf_tag *, int) __attribute__((noreturn));
	void (*longjmp_bsd)(struct __jmp_buf_tag *, int) __attribute__((noreturn));
	void (*siglongjmp)(struct __jmp_buf_tag *, int) __attribute__((noreturn));
	void (*longjmp_chk)(struct __jmp_buf_tag *, int) __attribute__((noreturn));
};

static struct real_functions real;
/* The object of the real malloc when it is not libc's (jemalloc, tcmalloc): the mmaps,
 * munmaps, mremaps and brks it makes for its arenas are the allocator's, not the
 * program's, and are not recorded, as glibc's own (made without the PLT) never are. */
static uintptr_t allocator_start, allocator_size;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static __thread int resolving __attribute__((tls_model("initial-exec")));
static _Alignas(64) uint8_t boot_arena[BOOT_ARENA_BYTES];
static size_t boot_used;

/* Bootstrap blocks carry their size in front so realloc can move them out. */
static void *boot_alloc(size_t size)
{
	size_t need = (size + BOOT_ALIGN + BOOT_ALIGN - 1) & ~(size_t)(BOOT_ALIGN - 1);
	size_t at = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
	if (at + need > BOOT_ARENA_BYTES)
		return NULL;
	*(size_t *)(boot_arena + at) = size;
	return boot_arena + at + BOOT_ALIGN;
}

static int in_boot(const void *ptr)
{
	/* One unsigned comparison: below the arena wraps around to a large difference. */
	return (uintptr_t)ptr - (uintptr_t)boot_arena < BOOT_ARENA_BYTES;
}

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void resolve(void)
{
	resolving = 1;
	*(void **)&real.free = next("free");
	*(void **)&real.calloc = next("calloc");
	*(void **)&real.realloc = next("realloc");
	*(void **)&real.reallocarray = next("reallocarray");
	*(void **)&real.posix_memalign = next("posix_memalign");
	*(void **)&real.aligned_alloc = next("aligned_alloc");
	*(void **)&real.memalign = next("memalign");
	*(void **)&real.valloc = next("valloc");
	*(void **)&real.pvalloc = next("pvalloc");
	*(void **)&real.mmap = next("mmap");
	*(void **)&real.munmap = next("munmap");
	*(void **)&real.mremap = next("mremap");
	*(void **)&real.brk = next("brk");
	*(void **)&real.sbrk = next("sbrk");
	*(void **)&real.dlclose = next("dlclose");
	*(void **)&real.quick_exit = next("quick_exit");
	*(void **)&real.exit_now = next("_exit");
	*(void **)&real.exit_now_c99 = next("_Exit");
	*(void **)&real.execve = next("execve");
	*(void **)&real.execv = next("execv");
	*(void **)&real.execvp = next("execvp");
	*(void **)&real.execvpe = next("execvpe");
	*(void **)&real.fexecve = next("fexecve");
	*(void **)&real.execveat = next("execveat");
	*(void **)&real.daemon = next("daemon");
	*(void **)&real.fork = next("fork");
	*(void **)&real.forkpty = next("forkpty");
	*(void **)&real.longjmp = next("longjmp");
	*(void **)&real.longjmp_bsd = next("_longjmp");
	*(void **)&real.siglongjmp = next("siglongjmp");
	*(void **)&real.longjmp_chk = next("__longjmp_chk");
	mp_sys_siglongjmp_resolve();
	mp_single_thread_found(next("__libc_single_threaded"));
	size_t (*usable)(void *);
	*(void **)&usable = next("malloc_usable_size");
	void *found = next("malloc");
	uintptr_t start = 0, end = 0, libc_start = 0, libc_end = 0;
	int located = found && mp_modules_range_of((uintptr_t)found, &start, &end) == 0 &&
		      mp_modules_range_of((uintptr_t)&getpid, &libc_start, &libc_end) == 0;
	if (located && start != libc_start) {
		allocator_start = start;
		allocator_size = end - start;
	}
	mp_heap_peak_set_allocator(usable, located && start == libc_start);
	mp_leak_roots_set_allocator(located && start == libc_start);
	/* malloc last: it is the flag that everything above is ready. */
	__atomic_store_n((void **)&real.malloc, found, __ATOMIC_RELEASE);
	resolving = 0;
}

/* Whether a call of mmap and the like comes from the allocator itself (see above). */
static inline int by_allocator(const void *caller)
{
	return (uintptr_t)caller - allocator_start < allocator_size;
}

/* Returns 1 when the real functions are known, 0 while this thread is inside dlsym. */
static inline int have_real(void)
{
	if (MP_LIKELY(__atomic_load_n((void **)&real.malloc, __ATOMIC_ACQUIRE) != NULL))
		return 1;
	if (resolving)
		return 0;
	pthread_once(&resolve_once, resolve);
	return real.malloc != NULL;
}

/* malloc() and calloc() are split like free(): the common unsampled call is checks and a
 * jump to the real function, with no stack frame; everything else is apart. */
static __attribute__((noinline)) MP_HOT void *malloc_slow(size_t size)
{
	if (!have_real())
		return boot_alloc(size);
	return mp_record_alloc_passed_done(MP_REC_MALLOC, real.malloc(size), size);
}

/* The countdown absorbs an allocation only once this thread has been through
 * malloc_slow with the real functions known (it starts at 0), so the jump needs no test
 * that they are. */
EXPORT MP_HOT void *malloc(size_t size)
{
	if (MP_LIKELY(mp_sampling_not_due(size)))
		return real.malloc(size);
	return malloc_slow(size);
}

/* The part of free() that may record: apart, so that free() itself only ever jumps on
 * (to the real free or here) and needs no stack frame on its common path. */
static __attribute__((noinline)) MP_HOT void free_recording(void *ptr, const void *caller)
{
	void (*real_free)(void *) = __atomic_load_n(&real.free, __ATOMIC_ACQUIRE);
	if (!real_free)
		return; /* freeing garbage (or NULL) before the first allocation */
	if (ptr && mp_record_free_wanted(ptr, caller))
		mp_record_free(ptr);
	/* A thread of memprof's (its TLS vector as it ends) while glibc's malloc takes no
	 * lock for it (single_thread.c): a few hundred bytes left, not a heap corrupted. */
	if (MP_UNLIKELY(mp_state_thread.own) && mp_single_thread_kept())
		return;
	real_free(ptr);
}

EXPORT MP_HOT void free(void *ptr)
{
	/* free(NULL) goes on like any pointer: glibc's free ignores it, and so does
	 * free_recording. */
	if (MP_UNLIKELY(in_boot(ptr)))
		return;
	/* Until the options are read the filter says "maybe" to everything, so the real
	 * free is known whenever this jumps to it (sampling_set.c). */
	if (mp_record_free_maybe_wanted(ptr))
		return free_recording(ptr, __builtin_return_address(0));
	real.free(ptr);
}

static __attribute__((noinline)) MP_HOT void *calloc_slow(size_t count, size_t size,
							 size_t total)
{
	if (!have_real() || MP_UNLIKELY(mp_state_thread.own)) /* see realloc */
		return boot_alloc(total); /* the arena is static, hence zeroed, and never reused */
	return mp_record_alloc_passed_done(MP_REC_CALLOC, real.calloc(count, size), total);
}

EXPORT MP_HOT void *calloc(size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (MP_LIKELY(mp_sampling_not_due(total)))
		return real.calloc(count, size); /* known: see malloc() */
	return calloc_slow(count, size, total);
}

static void *realloc_from_boot(void *ptr, size_t size)
{
	size_t old_size = *(size_t *)((uint8_t *)ptr - BOOT_ALIGN);
	/* memprof's threads stay out of glibc's malloc (see realloc). */
	void *moved = mp_state_thread.own ? boot_alloc(size) : malloc(size);
	if (moved)
		memcpy(moved, ptr, old_size < size ? old_size : size);
	return moved;
}

EXPORT MP_HOT void *realloc(void *ptr, size_t size)
{
	if (MP_UNLIKELY(!have_real())) {
		void *moved = boot_alloc(size);
		if (moved && ptr)
			memcpy(moved, ptr, *(size_t *)((uint8_t *)ptr - BOOT_ALIGN));
		return moved;
	}
	if (ptr && MP_UNLIKELY(in_boot(ptr)))
		return realloc_from_boot(ptr, size);
	/* The profiler's own reallocs (thread busy) are never recorded: no clock for them. */
	struct mp_thread *self = &mp_state_thread;
	/* memprof's own threads allocate only inside libc (pthread_getattr_np reallocs a CPU
	 * set and callocs the attributes' extension), and glibc gave such a thread an arena
	 * of its own for them, 64 MiB of address space (VIRT), which counts against `ulimit
	 * -v` and mlockall's limit. From the boot arena instead (calloc_slow too), as
	 * unwind.c's warm-up's: free() already leaves those blocks alone. Not in malloc's
	 * path, which every allocation takes: libc makes none of those calls with malloc. */
	if (MP_UNLIKELY(self->own) && !ptr)
		return boot_alloc(size);
	uint64_t before = self->busy ? 0 : mp_clock_event_ns(self, self->prev_time);
	size_t old_usable = mp_heap_peak_usable(ptr); /* the old block is gone after the call */
	void *moved = real.realloc(ptr, size);
	if (moved || (ptr && size == 0))
		return mp_record_realloc(ptr, moved, moved ? size : 0, before, old_usable);
	mp_record_failed(MP_REC_REALLOC, size);
	return moved;
}

EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, total);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
	if (MP_UNLIKELY(!have_real()))
		return ENOMEM;
	int err = real.posix_memalign(out, alignment, size);
	mp_record_alloc_done(MP_REC_POSIX_MEMALIGN, err == 0 ? *out : NULL, size);
	return err;
}

static void *aligned_result(enum mp_record_tag tag, void *ptr, size_t size)
{
	return mp_record_alloc_done(tag, ptr, size);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	if (MP_UNLIKELY(!have_real()))
		return NULL;
	return aligned_result(MP_REC_ALIGNED_ALLOC, real.aligned_alloc(alignment, size), size);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
	if (MP_UNLIKELY(!have_real()))
		return NULL;
	return aligned_result(MP_REC_MEMALIGN, real.memalign(alignment, size), size);
}

EXPORT void *valloc(size_t size)
{
	if (MP_UNLIKELY(!have_real()))
		return NULL;
	return aligned_result(MP_REC_VALLOC, real.valloc(size), size);
}

EXPORT void *pvalloc(size_t size)
{
	if (MP_UNLIKELY(!have_real()))
		return NULL;
	/* pvalloc rounds the request up to whole pages; record what the caller asked for. */
	return aligned_result(MP_REC_PVALLOC, real.pvalloc(size), size);
}

EXPORT void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	if (MP_UNLIKELY(!have_real())) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *mapped = real.mmap(addr, length, prot, flags, fd, offset);
	if (by_allocator(__builtin_return_address(0)))
		return mapped;
	if (mapped != MAP_FAILED)
		mp_record_mmap(mapped, length, prot, flags, fd, (uint64_t)offset);
	else
		mp_record_failed(MP_REC_MMAP, length);
	return mapped;
}

EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
	__attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t length)
{
	if (MP_UNLIKELY(!have_real())) {
		errno = EINVAL;
		return -1;
	}
	/* Recorded before the call (the range may be mapped again at once by another
	 * thread), so only calls the kernel cannot refuse: aligned address, nonzero length. */
	const void *caller = __builtin_return_address(0);
	if (length > 0 && ((uintptr_t)addr & ((uintptr_t)getpagesize() - 1)) == 0 &&
	    !mp_stacks_called_by_unwinder(caller) && !by_allocator(caller))
		mp_record_munmap(addr, length);
	return real.munmap(addr, length);
}

EXPORT void *mremap(void *old_addr, size_t old_length, size_t new_length, int flags, ...)
{
	void *wanted = NULL;
	if (flags & MREMAP_FIXED) {
		va_list args;
		va_start(args, flags);
		wanted = va_arg(args, void *);
		va_end(args);
	}
	if (MP_UNLIKELY(!have_real())) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	uint64_t before = mp_clock_now_ns();
	void *moved = real.mremap(old_addr, old_length, new_length, flags, wanted);
	if (moved != MAP_FAILED && !by_allocator(__builtin_return_address(0)))
		mp_record_mremap(old_addr, old_length, moved, new_length, flags, before);
	return moved;
}

EXPORT int brk(void *addr)
{
	if (MP_UNLIKELY(!have_real())) {
		errno = ENOMEM;
		return -1;
	}
	void *old_break = real.sbrk(0);
	int result = real.brk(addr);
	if (result == 0 && addr != old_break && !by_allocator(__builtin_return_address(0)))
		mp_record_brk(old_break, addr);
	return result;
}

EXPORT void *sbrk(intptr_t increment)
{
	if (MP_UNLIKELY(!have_real())) {
		errno = ENOMEM;
		return (void *)-1;
	}
	void *old_break = real.sbrk(increment);
	if (old_break != (void *)-1 && increment != 0 &&
	    !by_allocator(__builtin_return_address(0)))
		mp_record_brk(old_break, (uint8_t *)old_break + increment);
	return old_break;
}

/* libunwind checks that an address is readable by writing a byte of it into a pipe of its
 * own, which it makes at memprof's start and makes again whenever a read from it fails.
 * Made at the lowest free numbers (3 and 4), it was closed by a program that closes what
 * it inherited, whose next files then got those numbers: libunwind, unwinding through
 * code without unwind information (a JIT's), read bytes of the program's input and wrote
 * bytes into its output. A pipe libunwind makes goes above the numbers programs use. */
static int pipe_made(int fds[2], long result, const void *caller)
{
	if (result == 0 && mp_stacks_called_by_unwinder(caller)) {
		int saved_errno = errno;
		fds[0] = mp_sys_fd_move_high(fds[0]);
		fds[1] = mp_sys_fd_move_high(fds[1]);
		mp_sys_unwinder_pipe_made(fds);
		errno = saved_errno;
	}
	return (int)result;
}

EXPORT int pipe2(int fds[2], int flags)
{
	return pipe_made(fds, syscall(SYS_pipe2, fds, flags), __builtin_return_address(0));
}

EXPORT int pipe(int fds[2])
{
	/* pipe's own system call, as glibc's makes: a seccomp filter may allow it alone. */
	return pipe_made(fds, syscall(SYS_pipe, fds), __builtin_return_address(0));
}

EXPORT int dlclose(void *handle)
{
	if (MP_UNLIKELY(!have_real()))
		return -1;
	int result = real.dlclose(handle);
	/* Whatever was unloaded may have its addresses reused: start a new generation now,
	 * before a stack through a library loaded there could match an old one. */
	if (result == 0)
		mp_record_module_change();
	return result;
}

/* quick_exit runs the at_quick_exit handlers, memprof's last (lifecycle.c), which does
 * what an exit does with this status. */
EXPORT void quick_exit(int status)
{
	mp_recording_quick_exit_called(status);
	have_real();
	real.quick_exit(status);
}

EXPORT void _exit(int status)
{
	mp_recording_end(MP_END_EXIT_NOW, status);
	have_real();
	real.exit_now(status);
}

EXPORT void _Exit(int status)
{
	mp_recording_end(MP_END_EXIT_NOW, status);
	have_real();
	real.exit_now_c99(status);
}

/* A jump out of a signal handler may leave the recorder's frames, which never resume
 * (recording_jumps.c); glibc's _FORTIFY_SOURCE builds call __longjmp_chk. */
EXPORT void longjmp(struct __jmp_buf_tag env[1], int value)
{
	mp_recording_jump(env);
	have_real();
	real.longjmp(env, value);
}

EXPORT void _longjmp(struct __jmp_buf_tag env[1], int value)
{
	mp_recording_jump(env);
	have_real();
	real.longjmp_bsd(env, value);
}

EXPORT void siglongjmp(struct __jmp_buf_tag env[1], int value)
{
	mp_recording_jump(env);
	have_real();
	real.siglongjmp(env, value);
}

EXPORT void __longjmp_chk(struct __jmp_buf_tag env[1], int value)
{
	mp_recording_jump(env);
	have_real();
	real.longjmp_chk(env, value);
}

/* exec replaces the image: the trace ends here, and the new image starts its own. If the
 * call fails the process goes on, and so does its trace. */
EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	have_real();
	mp_recording_end(MP_END_EXEC, 0);
	int result = real.execve(path, argv, envp);
	mp_recording_end(MP_END_RUNNING, 0);
	return result;
}

EXPORT int execv(const char *path, char *const argv[])
{
	have_real();
	mp_recording_end(MP_END_EXEC, 0);
	int result = real.execv(path, argv);
	mp_recording_end(MP_END_RUNNING, 0);
	return result;
}

EXPORT int execvp(const char *file, char *const argv[])
{
	have_real();
	mp_recording_end(MP_END_EXEC, 0);
	int result = real.execvp(file, argv);
	mp_recording_end(MP_END_RUNNING, 0);
	return result;
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	have_real();
	mp_recording_end(MP_END_EXEC, 0);
	int result = real.execvpe(file, argv, envp);
	mp_recording_end(MP_END_RUNNING, 0);
	return result;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	have_real();
	mp_recording_end(MP_END_EXEC, 0);
	int result = real.fexecve(fd, argv, envp);
	mp_recording_end(MP_END_RUNNING, 0);
	return result;
}

/* fork, and the two libc functions that fork inside (past any interposer), clear glibc's
 * one-thread flag for the call when memprof keeps it set (single_thread.c): glibc's fork
 * resets its count of threads in the child only when the flag says threads ran. */
static void fork_end(int single, int in_child)
{
	int saved_errno = errno;
	mp_single_thread_fork_end(single, in_child);
	errno = saved_errno;
}

EXPORT pid_t fork(void)
{
	have_real();
	int single = mp_single_thread_fork_begin();
	pid_t pid = real.fork();
	fork_end(single, pid == 0);
	return pid;
}

EXPORT pid_t forkpty(int *master, char *name, const struct termios *termios,
		     const struct winsize *window)
{
	have_real();
	if (!real.forkpty) {
		errno = ENOSYS;
		return -1;
	}
	int single = mp_single_thread_fork_begin();
	pid_t pid = real.forkpty(master, name, termios, window);
	fork_end(single, pid == 0);
	return pid;
}

/* The parent's _exit(0) comes from inside libc: its trace ends at the fork instead. */
EXPORT int daemon(int nochdir, int noclose)
{
	have_real();
	pid_t parent = (pid_t)syscall(SYS_getpid);
	mp_recording_daemon_begin();
	int single = mp_single_thread_fork_begin();
	int result = real.daemon(nochdir, noclose);
	fork_end(single, (pid_t)syscall(SYS_getpid) != parent); /* no pid to tell them apart */
	mp_recording_daemon_end();
	return result;
}

/* glibc 2.34's execveat: fexecve's system call, callable itself. */
EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags)
{
	have_real();
	if (!real.execveat) {
		errno = ENOSYS;
		return -1;
	}
	mp_recording_end(MP_END_EXEC, 0);
	int result = real.execveat(dirfd, path, argv, envp, flags);
	mp_recording_end(MP_END_RUNNING, 0);
	return result;
}

/* The l forms call the kernel from inside glibc, never through the v forms: a program
 * that used them (execl in a fork child, say) ended its trace with no end, which read as
 * killed, and `memprof leaks --fail-on-leak` failed on it. They are unfolded here into
 * the v forms above, as glibc does, the arguments in an array on the stack: each counts
 * them (exec_count_args), makes the array and fills it (exec_fill_args). */
static size_t exec_count_args(va_list args)
{
	size_t count = 1; /* arg0, then each one up to the NULL */
	while (va_arg(args, const char *))
		count++;
	return count;
}

/* argv[0..count]: arg, then what args holds up to its NULL, which is argv[count]. */
static void exec_fill_args(char **argv, size_t count, const char *arg, va_list args)
{
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= count; i++)
		argv[i] = va_arg(args, char *);
}

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list args;
	va_start(args, arg);
	size_t count = exec_count_args(args);
	va_end(args);
	char *argv[count + 1];
	va_start(args, arg);
	exec_fill_args(argv, count, arg, args);
	va_end(args);
	return execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list args;
	va_start(args, arg);
	size_t count = exec_count_args(args);
	va_end(args);
	char *argv[count + 1];
	va_start(args, arg);
	exec_fill_args(argv, count, arg, args);
	va_end(args);
	return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list args;
	va_start(args, arg);
	size_t count = exec_count_args(args);
	va_end(args);
	char *argv[count + 1];
	va_start(args, arg);
	exec_fill_args(argv, count, arg, args);
	char **envp = va_arg(args, char **); /* after the NULL */
	va_end(args);
	return execve(path, argv, envp);
}
