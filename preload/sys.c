/* sys.c: raw system access for code that may run before libc is initialized.
 *
 * Everything here works from the first allocation ld.so makes on our behalf: no malloc,
 * no stdio, no getenv (which reads an environ that libc has not set up yet when an
 * executable's .preinit_array runs).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base.h"
#include "proc_text.h"

extern char **environ;

static int copy_value(const char *value, char *out, size_t out_len)
{
	size_t len = strlen(value);
	if (len >= out_len)
		len = out_len - 1;
	memcpy(out, value, len);
	out[len] = '\0';
	return 1;
}

static int env_from_environ(const char *name, size_t name_len, char *out, size_t out_len)
{
	for (char **entry = environ; *entry; entry++) {
		if (strncmp(*entry, name, name_len) == 0 && (*entry)[name_len] == '=')
			return copy_value(*entry + name_len + 1, out, out_len);
	}
	return 0;
}

/* read(2) that a signal does not cut short: bytes read, 0 at the end, or -1. */
static ssize_t sys_read(int fd, char *buf, size_t len)
{
	ssize_t got;
	do
		got = syscall(SYS_read, fd, buf, len);
	while (got < 0 && errno == EINTR);
	return got;
}

/* /proc, kept open (O_PATH, at 700 and up) from the first file read under it: files
 * under /proc are opened through it, so that a process that changed its root (a daemon's
 * chroot, where /proc is not mounted) or its mounts still reads its own maps, tasks and
 * pagemap, and its leak checks and snapshots still work. Checked to be /proc before each
 * use (the program may close the number or reuse it) and opened again where it is not;
 * "self" and "thread-self" under it name the caller, so a fork child uses it as it is. */
static struct {
	int fd; /* -1: none yet, or its number lent (see the loan below) */
	uint64_t dev, ino;
} proc_dir = { -1, 0, 0 };

/* The loan. With every descriptor taken (a program at its limit; at exit, the leak check
 * reads /proc), the descriptor of /proc lends its number to one file at a time: closed,
 * its number goes to the file, and when the file is closed (mp_sys_close) /proc takes it
 * back at once, before the program's next open() can (given back only at the next read
 * under /proc, it went to the program in one run of fd_exhaust.sh in ten, and every read
 * of /proc failed from then on). One thread holds the loan (tid, 0: none); another (the
 * RSS watch, a snapshot, the exit's check may read /proc at once) waits for it, up to
 * SYS_LOAN_WAIT_STEPS, and opens nothing meanwhile: the number is free for an instant
 * when the loan starts (/proc closed, the file not yet open) and when it ends, and an open
 * of another thread's then took it (in a third of fd_exhaust.sh's slow rounds a snapshot
 * lost its smaps or a figure of /proc; in one in 50, the exit snapshot). An open begun
 * just before the loan may still take it (the kernel picks the number before it looks at
 * the directory the path starts from): the holder tries again, up to SYS_LOAN_TRIES
 * times, as that thread's open fails or its read ends within microseconds. */
#define SYS_LOAN_WAIT_STEP_NS 200000
#define SYS_LOAN_WAIT_STEPS 500 /* 100 ms */
#define SYS_LOAN_TRIES 5

static struct {
	int tid;
	int fd; /* the file with the number, -1 before it is open */
} loan = { 0, -1 };

/* Whether another thread than the caller holds the loan. */
static int loan_held_elsewhere(void)
{
	int holder = __atomic_load_n(&loan.tid, __ATOMIC_ACQUIRE);
	return holder && holder != (int)syscall(SYS_gettid);
}

static void loan_wait_step(void)
{
	struct timespec step = { 0, SYS_LOAN_WAIT_STEP_NS };
	syscall(SYS_nanosleep, &step, NULL);
}

static int proc_dir_fd(void)
{
	struct stat st;
	int fd = __atomic_load_n(&proc_dir.fd, __ATOMIC_ACQUIRE);
	if (fd >= 0 && syscall(SYS_fstat, fd, &st) == 0 && st.st_dev == proc_dir.dev &&
	    st.st_ino == proc_dir.ino)
		return fd;
	if (loan_held_elsewhere())
		return -1; /* the number is lent: /proc takes it back at the loan's end */
	int opened = (int)syscall(SYS_openat, AT_FDCWD, "/proc",
				  O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (opened < 0 || syscall(SYS_fstat, opened, &st) != 0) {
		if (opened >= 0)
			syscall(SYS_close, opened);
		return -1;
	}
	opened = mp_sys_fd_move_high(opened);
	/* Two threads may get here at once: one keeps its descriptor, the other closes its. */
	if (!__atomic_compare_exchange_n(&proc_dir.fd, &fd, opened, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		syscall(SYS_close, opened);
		return fd;
	}
	proc_dir.dev = st.st_dev;
	proc_dir.ino = st.st_ino;
	return opened;
}

/* Takes the loan, waiting for another thread's to end; 0, or -1 if this thread holds it
 * already (its second file finds no number) or the wait ran out. */
static int loan_take(void)
{
	int self = (int)syscall(SYS_gettid);
	if (__atomic_load_n(&loan.tid, __ATOMIC_ACQUIRE) == self)
		return -1;
	for (int waits = 0;; waits++) {
		int none = 0;
		if (__atomic_compare_exchange_n(&loan.tid, &none, self, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
		if (waits == SYS_LOAN_WAIT_STEPS)
			return -1;
		loan_wait_step();
	}
}

/* Waits for another thread's loan to end; 0, or -1 if the wait ran out. */
static int loan_wait_others(void)
{
	for (int waits = 0; loan_held_elsewhere(); waits++) {
		if (waits == SYS_LOAN_WAIT_STEPS)
			return -1;
		loan_wait_step();
	}
	return 0;
}

/* /proc takes its number back (unless the program took it first) and the loan ends. */
static void loan_end(void)
{
	proc_dir_fd();
	__atomic_store_n(&loan.fd, -1, __ATOMIC_RELEASE);
	__atomic_store_n(&loan.tid, 0, __ATOMIC_RELEASE);
}

/* Whether /proc's descriptor dir may not be /proc's: its number lent now, or lent and
 * given back to another descriptor since it was looked at. */
static int loan_moved(int dir)
{
	return __atomic_load_n(&loan.tid, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&proc_dir.fd, __ATOMIC_ACQUIRE) != dir;
}

/* path by its name, with the number of /proc's descriptor; -errno on failure. */
static int sys_open_on_loan(const char *path, int flags)
{
	if (loan_take() < 0)
		return -EMFILE;
	int err = EMFILE;
	for (int tries = 0; tries < SYS_LOAN_TRIES; tries++) {
		if (tries)
			loan_wait_step();
		int dir = proc_dir_fd();
		if (dir < 0 || !__atomic_compare_exchange_n(&proc_dir.fd, &dir, -1, 0,
							     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			continue;
		syscall(SYS_close, dir);
		int fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC);
		if (fd >= 0) {
			__atomic_store_n(&loan.fd, fd, __ATOMIC_RELEASE);
			return fd;
		}
		err = errno;
		proc_dir_fd(); /* the number back to /proc, if it is still free */
		if (err != EMFILE && err != ENFILE)
			break;
	}
	loan_end();
	return -err;
}

int mp_sys_fd_is_borrowed(int fd)
{
	return fd >= 0 && __atomic_load_n(&loan.fd, __ATOMIC_ACQUIRE) == fd;
}

int mp_sys_open_unlent(const char *path, int flags)
{
	int fd = mp_sys_open(path, flags);
	if (!mp_sys_fd_is_borrowed(fd))
		return fd;
	mp_sys_close(fd);
	return -EMFILE;
}

void mp_sys_close(int fd)
{
	/* While the loan lasts no other descriptor can have its number. */
	int borrowed = mp_sys_fd_is_borrowed(fd);
	syscall(SYS_close, fd);
	if (borrowed)
		loan_end();
}

#define SYS_OPEN_TRIES 3

int mp_sys_open(const char *path, int flags)
{
	int is_proc = strncmp(path, "/proc/", 6) == 0;
	int fd = -1, err = 0, dir = -1;
	/* /proc's number may be lent between the look at its descriptor and the open through
	 * it: the open then found another thread's file there (ENOTDIR), or a directory of
	 * /proc (ENOENT), or nothing (EBADF), the loan perhaps over already: looked at again. */
	for (int tries = 0; tries < SYS_OPEN_TRIES; tries++) {
		if (loan_wait_others() < 0)
			return -EMFILE;
		dir = is_proc ? proc_dir_fd() : -1;
		if (dir < 0)
			break;
		fd = (int)syscall(SYS_openat, dir, path + 6, flags | O_CLOEXEC);
		err = fd < 0 ? errno : 0;
		if (fd >= 0 || !(err == EBADF || err == ENOTDIR || (err == ENOENT && loan_moved(dir))))
			break;
	}
	/* By its name where /proc's descriptor could not be used, unless every descriptor is
	 * taken or /proc's number is lent: that open could take the number in the instant it
	 * is free, as a loan starts or ends, and it waits for the loan instead. A failure of
	 * the open through /proc's descriptor while a loan is under way is the loan's doing:
	 * opened by name, after an ENOTDIR, the file took the number another thread's loan
	 * had just freed, and that thread's snapshot lost its smaps (fd_exhaust.sh, once in
	 * CI's runs). */
	int lent = is_proc && (dir < 0 || fd < 0) && __atomic_load_n(&loan.tid, __ATOMIC_ACQUIRE);
	if (fd < 0 && !lent && err != EMFILE && err != ENFILE) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC);
		err = fd < 0 ? errno : 0;
	}
	if (fd >= 0)
		return fd;
	if (lent || err == EMFILE || err == ENFILE)
		return sys_open_on_loan(path, flags);
	return -err;
}

void mp_sys_after_fork_child(void)
{
	/* The loan of a thread the child does not have: its file is memprof's, closed. */
	int fd = __atomic_load_n(&loan.fd, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&loan.tid, __ATOMIC_ACQUIRE) && fd >= 0)
		syscall(SYS_close, fd);
	loan.fd = -1;
	loan.tid = 0;
}

/* mp_sys_read_lines with records ending in `end` ('\n' for lines, '\0' for environ). */
static int sys_read_records(const char *path, char end, char *buf, size_t buf_len,
			    int (*record)(void *context, const char *text, size_t len),
			    void *context)
{
	int fd = mp_sys_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	size_t have = 0;
	int dropping = 0; /* inside a record longer than the buffer */
	int stop = 0;
	ssize_t got;
	while (!stop && (got = sys_read(fd, buf + have, buf_len - have)) > 0) {
		have += (size_t)got;
		size_t start = 0;
		const char *found;
		while (!stop && (found = memchr(buf + start, end, have - start))) {
			size_t stop_at = (size_t)(found - buf);
			if (!dropping)
				stop = record(context, buf + start, stop_at - start);
			dropping = 0;
			start = stop_at + 1;
		}
		if (start == 0 && have == buf_len) {
			dropping = 1;
			have = 0;
			continue;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
	}
	mp_sys_close(fd);
	return 0;
}

struct env_search {
	const char *name;
	size_t name_len;
	char *out;
	size_t out_len;
	int found;
};

static int env_entry(void *context, const char *entry, size_t len)
{
	struct env_search *search = context;
	if (len <= search->name_len || strncmp(entry, search->name, search->name_len) != 0 ||
	    entry[search->name_len] != '=')
		return 0;
	search->found = copy_value(entry + search->name_len + 1, search->out, search->out_len);
	return 1;
}

/* /proc/self/environ holds the environment the process was exec'd with:
 *   "HOME=/root\0MEMPROF_OUTPUT=/tmp/x.trace\0..."
 * Entries are read through a fixed buffer; an entry longer than it is skipped whole. */
static int env_from_proc(const char *name, size_t name_len, char *out, size_t out_len)
{
	char buf[8192];
	struct env_search search = { name, name_len, out, out_len, 0 };
	sys_read_records("/proc/self/environ", '\0', buf, sizeof(buf), env_entry, &search);
	return search.found;
}

int mp_sys_env_get(const char *name, char *out, size_t out_len)
{
	size_t name_len = strlen(name);
	if (environ)
		return env_from_environ(name, name_len, out, out_len);
	return env_from_proc(name, name_len, out, out_len);
}

long mp_sys_read_file(const char *path, char *buf, size_t len)
{
	int fd = mp_sys_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	size_t have = 0;
	ssize_t got;
	while (have < len && (got = sys_read(fd, buf + have, len - have)) > 0)
		have += (size_t)got;
	mp_sys_close(fd);
	return (long)have;
}

int mp_sys_read_text(const char *path, char *buf, size_t cap)
{
	long got = mp_sys_read_file(path, buf, cap - 1);
	if (got <= 0)
		return 0;
	buf[got] = '\0';
	return 1;
}

int mp_sys_read_lines(const char *path, char *buf, size_t buf_len,
		      int (*line)(void *context, const char *text, size_t len), void *context)
{
	return sys_read_records(path, '\n', buf, buf_len, line, context);
}

/* struct linux_dirent64, as getdents64(2) fills it. */
struct sys_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Calls fn for each thread among got bytes of entries; *pos: the offset after the last
 * one. fn's non-zero result, or 0. */
static int sys_task_entries(const char *buf, long got, int64_t *pos,
			    int (*fn)(const char *tid, void *context), void *context)
{
	for (long at = 0; at < got;) {
		const struct sys_dirent *entry = (const struct sys_dirent *)(buf + at);
		at += entry->reclen;
		*pos = entry->off;
		if (entry->name[0] >= '0' && entry->name[0] <= '9') {
			int result = fn(entry->name, context);
			if (result)
				return result;
		}
	}
	return 0;
}

int mp_sys_each_task(int (*fn)(const char *tid, void *context), void *context)
{
	char buf[4096];
	int64_t pos = 0;
	int fd = -1;
	for (;;) {
		if (fd < 0) {
			fd = mp_sys_open("/proc/self/task", O_RDONLY | O_DIRECTORY);
			if (fd < 0)
				return -1;
			if (pos && syscall(SYS_lseek, fd, (long)pos, SEEK_SET) < 0) {
				mp_sys_close(fd);
				return -1;
			}
		}
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		/* With /proc's number (every descriptor taken), fn's own reads under /proc would
		 * find none left: the directory is closed after each buffer, reopened where it
		 * stopped. */
		if (got <= 0 || mp_sys_fd_is_borrowed(fd)) {
			mp_sys_close(fd);
			fd = -1;
		}
		if (got <= 0)
			return got < 0 ? -1 : 0;
		int result = sys_task_entries(buf, got, &pos, fn, context);
		if (result) {
			if (fd >= 0)
				mp_sys_close(fd);
			return result;
		}
	}
}

void mp_sys_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t put = syscall(SYS_write, fd, buf, len);
		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			return;
		buf += put;
		len -= (size_t)put;
	}
}

char *mp_sys_fmt_u64(char *out, uint64_t value)
{
	char digits[20];
	int count = 0;
	do {
		digits[count++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	while (count)
		*out++ = digits[--count];
	*out = '\0';
	return out;
}

int mp_sys_str_append(char *dst, size_t cap, const char *src)
{
	size_t have = strlen(dst);
	size_t add = strlen(src);
	if (have + add >= cap)
		return -ENAMETOOLONG;
	memcpy(dst + have, src, add + 1);
	return 0;
}

/* Our own anonymous regions, so that memory snapshots can tell the program's memory from
 * the profiler's, and leak checks do not read it as roots. A fixed table claimed by
 * compare-and-swap: mp_sys_map_anon is called on slow paths only (a new stack level, a
 * bigger chunk registry, snapshot buffers, a thread's memo). A few dozen regions live at
 * once, and one more for each thread that made its memo: 256 slots left the memos of 800
 * threads, 31 MB, to be reported as the program's memory no call explained, and read as
 * roots by its leak checks. Scans stop at the highest slot ever claimed. A region that
 * finds the table full is simply not listed. */
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
static struct mp_sys_region own_regions[MP_SYS_OWN_REGIONS_MAX];
static uint32_t own_high; /* slots [0, own_high) were ever claimed */

static void own_add(void *addr, size_t len)
{
	for (uint32_t i = 0; i < MP_SYS_OWN_REGIONS_MAX; i++) {
		uint64_t expected = 0;
		if (__atomic_compare_exchange_n(&own_regions[i].start, &expected,
						(uint64_t)(uintptr_t)addr, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_store_n(&own_regions[i].length, (uint64_t)len, __ATOMIC_RELEASE);
			uint32_t high = __atomic_load_n(&own_high, __ATOMIC_RELAXED);
			while (high <= i && !__atomic_compare_exchange_n(&own_high, &high, i + 1, 1,
									 __ATOMIC_RELEASE,
									 __ATOMIC_RELAXED))
				;
			return;
		}
	}
}

static void own_remove(void *addr)
{
	uint32_t high = __atomic_load_n(&own_high, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < high; i++) {
		if (__atomic_load_n(&own_regions[i].start, __ATOMIC_ACQUIRE) == (uint64_t)(uintptr_t)addr) {
			__atomic_store_n(&own_regions[i].length, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&own_regions[i].start, 0, __ATOMIC_RELEASE);
			return;
		}
	}
}

/* Sorts regions[0..count) by start: Shell's sort with Ciura's gaps, in place and without
 * a call that may allocate (a snapshot may be taken in a fatal signal's handler). */
static void own_sort(struct mp_sys_region *regions, size_t count)
{
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < count; i++) {
			struct mp_sys_region region = regions[i];
			size_t j = i;
			for (; j >= gap && regions[j - gap].start > region.start; j -= gap)
				regions[j] = regions[j - gap];
			regions[j] = region;
		}
	}
}

size_t mp_sys_own_regions(struct mp_sys_region *out, size_t max)
{
	size_t count = 0;
	uint32_t high = __atomic_load_n(&own_high, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < high && count < max; i++) {
		uint64_t start = __atomic_load_n(&own_regions[i].start, __ATOMIC_ACQUIRE);
		uint64_t length = __atomic_load_n(&own_regions[i].length, __ATOMIC_ACQUIRE);
		if (start && length)
			out[count++] = (struct mp_sys_region){ start, length };
	}
	own_sort(out, count);
	size_t merged = 0;
	for (size_t i = 0; i < count; i++) {
		if (merged && out[merged - 1].start + out[merged - 1].length == out[i].start)
			out[merged - 1].length += out[i].length;
		else
			out[merged++] = out[i];
	}
	return merged;
}

/* Raw syscalls, not mmap(3): our own mmap is interposed and must not see our memory. The
 * region is also named "[anon:memprof]" in /proc/PID/maps where the kernel supports it
 * (Linux 5.17+ with CONFIG_ANON_VMA_NAME), for whoever looks at the process with other
 * tools; the name also keeps the kernel from merging it with the program's mappings. */
static void *map_anon(size_t len, int populate)
{
	/* Set once the kernel said it cannot name (EINVAL: our address is page-aligned, so
	 * only an unknown option gets it): each process asked again for every region. */
	static int names_unsupported;
	if (mp_state_sandboxed())
		return NULL; /* a recorder still under way when the filter came: it drops */
	void *addr = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
					     (populate ? MAP_POPULATE : 0),
				     -1, 0);
	if (addr == MAP_FAILED)
		return NULL;
	if (!__atomic_load_n(&names_unsupported, __ATOMIC_RELAXED) &&
	    syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, "memprof") != 0 &&
	    errno == EINVAL)
		__atomic_store_n(&names_unsupported, 1, __ATOMIC_RELAXED);
	own_add(addr, len);
	return addr;
}

void *mp_sys_map_anon(size_t len)
{
	return map_anon(len, 0);
}

/* MAP_POPULATE on a private writable mapping faults every page in for writing, in one
 * system call. The regions that get it are probed before they are written (hash tables,
 * a stamped index): a first read of a fresh page maps the shared zero page, and the write
 * after it must then unmap that page from every CPU that runs the program (a TLB
 * shootdown: an IPI, which a VM pays dearly for). On alloc_bench 2 x 1000 such faults
 * took 9% of the samples, half of them in the leak thread's pairing index. */
void *mp_sys_map_anon_populated(size_t len)
{
	return map_anon(len, 1);
}

void mp_sys_prefault(void *addr, size_t len)
{
	uintptr_t at = (uintptr_t)addr, end = at + len;
	for (; at < end; at = (at & ~(uintptr_t)4095) + 4096)
		*(volatile uint8_t *)at = 0;
}

void *mp_sys_grow_anon(void *addr, size_t len, size_t new_len)
{
	/* Out of the list first: for an instant the region is in it under neither address,
	 * as for a region being mapped, never under an address that is no longer ours. */
	own_remove(addr);
	void *moved = (void *)syscall(SYS_mremap, addr, len, new_len, MREMAP_MAYMOVE);
	if (moved == MAP_FAILED) {
		own_add(addr, len);
		return NULL;
	}
	syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, moved, new_len, "memprof");
	own_add(moved, new_len);
	return moved;
}

/* A frame of its own, whose frame pointer holds the caller's stack pointer: the call
 * information says the caller's frame is found from rbp, so unwinding from fn (libunwind,
 * a debugger, a crash handler's backtrace) steps back onto the caller's stack. */
#if defined(__x86_64__)
__asm__(".text\n"
	".globl mp_sys_call_on_stack\n"
	".hidden mp_sys_call_on_stack\n"
	".type mp_sys_call_on_stack, @function\n"
	"mp_sys_call_on_stack:\n"
	".cfi_startproc\n"
	"	push %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"	mov %rsp, %rbp\n"
	".cfi_def_cfa_register %rbp\n"
	"	mov %rdx, %rsp\n" /* arg stays in rdi */
	"	call *%rsi\n"
	"	mov %rbp, %rsp\n"
	"	pop %rbp\n"
	".cfi_def_cfa %rsp, 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".size mp_sys_call_on_stack, .-mp_sys_call_on_stack\n");
#else
void mp_sys_call_on_stack(void *arg, void (*fn)(void *), void *top)
{
	(void)top;
	fn(arg);
}
#endif

void mp_sys_unmap(void *addr, size_t len)
{
	own_remove(addr);
	if (!mp_state_sandboxed()) /* kept mapped rather than risk the filter */
		syscall(SYS_munmap, addr, len);
}

/* glibc's own name for sigaction: libmemprof exports sigaction for the program
 * (interpose_signals.c), and its own calls must not go through that. */
extern int __sigaction(int sig, const struct sigaction *action, struct sigaction *old);

int mp_sys_sigaction(int sig, const struct sigaction *action, struct sigaction *old)
{
	return __sigaction(sig, action, old);
}

/* glibc's siglongjmp: libmemprof exports siglongjmp for the program (interpose.c), and
 * its own jumps out of its fault handlers (leak_scan.c) must not go through that. Looked
 * up early (interpose.c's resolve, the leak thread's start) rather than in the handler:
 * dlsym takes the loader's lock, which a thread the scan stopped may hold. */
static void (*glibc_siglongjmp)(struct __jmp_buf_tag *, int) __attribute__((noreturn));

void mp_sys_siglongjmp_resolve(void)
{
	if (!__atomic_load_n((void **)&glibc_siglongjmp, __ATOMIC_ACQUIRE))
		__atomic_store_n((void **)&glibc_siglongjmp, dlsym(RTLD_NEXT, "siglongjmp"),
				 __ATOMIC_RELEASE);
}

void mp_sys_siglongjmp(struct __jmp_buf_tag env[1], int value)
{
	mp_sys_siglongjmp_resolve();
	glibc_siglongjmp(env, value);
}

void mp_sys_handle_signal(int sig, void (*handler)(int), const char *option)
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	if (mp_sys_sigaction(sig, &action, NULL) != 0) {
		char message[128] = "cannot install the handler of ";
		mp_sys_str_append(message, sizeof(message), option);
		mp_sys_say(message);
	}
}

void mp_sys_resend_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	mp_sys_sigaction(sig, &dfl, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
}

#define FD_FLOOR 700

/* Under a descriptor limit of 700 or less (`ulimit -n 256`), the top quarter of the
 * range: the lowest numbers are still the program's. */
int mp_sys_fd_move_high(int fd)
{
	int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, FD_FLOOR);
	struct rlimit limit;
	if (high < 0 && errno == EINVAL && getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
	    limit.rlim_cur > 16 && limit.rlim_cur <= FD_FLOOR)
		high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC,
				    (int)(limit.rlim_cur - limit.rlim_cur / 4));
	if (high < 0)
		return fd;
	syscall(SYS_close, fd);
	return high;
}

static struct {
	int fd[2];
	uint64_t dev[2], ino[2];
	int made;
} unwinder_pipe;

void mp_sys_unwinder_pipe_made(const int fds[2])
{
	struct stat info;
	for (int i = 0; i < 2; i++) {
		unwinder_pipe.fd[i] = fds[i];
		unwinder_pipe.dev[i] = unwinder_pipe.ino[i] = 0;
		if (syscall(SYS_fstat, fds[i], &info) == 0) {
			unwinder_pipe.dev[i] = (uint64_t)info.st_dev;
			unwinder_pipe.ino[i] = (uint64_t)info.st_ino;
		}
	}
	__atomic_store_n(&unwinder_pipe.made, 1, __ATOMIC_RELEASE);
}

int mp_sys_unwinder_pipe_intact(void)
{
	if (!__atomic_load_n(&unwinder_pipe.made, __ATOMIC_ACQUIRE))
		return 1;
	int same = 0, closed = 0;
	for (int i = 0; i < 2; i++) {
		struct stat info;
		if (syscall(SYS_fstat, unwinder_pipe.fd[i], &info) != 0)
			closed += errno == EBADF;
		else
			same += (uint64_t)info.st_dev == unwinder_pipe.dev[i] &&
				(uint64_t)info.st_ino == unwinder_pipe.ino[i];
	}
	return same == 2 || closed == 2;
}

/* See base.h: set by recording_sandbox.c, read by every raw call here that may be refused. */
int mp_sandboxed;
/* See base.h. */
int mp_filtered_at_start;

/* The buffer is static (a small stack could not spare it), read by one thread at a time:
 * another finds it taken and gets nothing. */
int mp_sys_status_field(const char *key, uint64_t *value)
{
	static char status[8192];
	static int reading;
	if (__atomic_exchange_n(&reading, 1, __ATOMIC_ACQUIRE))
		return 0;
	int found = mp_sys_read_text("/proc/self/status", status, sizeof(status)) &&
		    mp_proc_field(status, key, value);
	__atomic_store_n(&reading, 0, __ATOMIC_RELEASE);
	return found;
}

/* "Seccomp:" 0 none, 1 strict, 2 filter. */
void mp_sys_note_filter(void)
{
	uint64_t mode = 0;
	if (mp_sys_status_field("Seccomp", &mode) && mode != 0)
		__atomic_store_n(&mp_filtered_at_start, 1, __ATOMIC_RELAXED);
}

static int hold_exempt;

void mp_sys_signals_hold_exempt(int sig)
{
	__atomic_store_n(&hold_exempt, sig, __ATOMIC_RELEASE);
}

void mp_sys_signals_hold(uint64_t *saved)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	uint64_t all = ~0ull;
	int exempt = __atomic_load_n(&hold_exempt, __ATOMIC_ACQUIRE);
	if (exempt)
		all &= ~(1ull << (exempt - 1));
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		all &= ~(1ull << (faults[i] - 1));
	*saved = 0;
	if (!mp_state_sandboxed())
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, saved, sizeof(all));
}

void mp_sys_signals_release(const uint64_t *saved)
{
	if (!mp_state_sandboxed())
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, saved, NULL, sizeof(*saved));
}

/* The threads memprof started (the snapshot thread, the leak thread): a few slots claimed
 * by compare-and-swap, so that what counts or stops the program's threads leaves them
 * out. */
static int own_threads[MP_SYS_OWN_THREADS_MAX];

void mp_sys_own_thread_add(int tid)
{
	for (int i = 0; i < MP_SYS_OWN_THREADS_MAX; i++) {
		int expected = 0;
		if (__atomic_compare_exchange_n(&own_threads[i], &expected, tid, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
	}
}

void mp_sys_own_thread_remove(int tid)
{
	for (int i = 0; i < MP_SYS_OWN_THREADS_MAX; i++) {
		int expected = tid;
		if (__atomic_compare_exchange_n(&own_threads[i], &expected, 0, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
	}
}

int mp_sys_own_thread(int tid)
{
	for (int i = 0; i < MP_SYS_OWN_THREADS_MAX; i++)
		if (tid && __atomic_load_n(&own_threads[i], __ATOMIC_ACQUIRE) == tid)
			return 1;
	return 0;
}

int mp_sys_threads_fall_to(uint64_t threads, uint64_t limit_ns)
{
	struct timespec step = { 0, 20000 };
	for (uint64_t waited = 0;; waited += (uint64_t)step.tv_nsec) {
		uint64_t now = 0;
		if (!mp_sys_status_field("Threads", &now) || !now)
			return 0;
		if (now <= threads)
			return 1;
		if (waited >= limit_ns)
			return 0;
		syscall(SYS_nanosleep, &step, NULL);
	}
}

int mp_sys_own_thread_named(const char *tid)
{
	int value = 0;
	for (; *tid >= '0' && *tid <= '9' && value < (1 << 27); tid++)
		value = value * 10 + (*tid - '0');
	return !*tid && mp_sys_own_thread(value);
}

/* Looks in a row that could not tell whether a thread of the program is left: after this
 * many the program is taken to be gone, as when none is found. A look that fails says
 * nothing (the leak thread ending on one served the exit's check without running it,
 * with every descriptor taken: fd_exhaust.sh), but a process whose last thread ended
 * with its descriptors all taken must still end. */
#define SYS_UNKNOWN_LOOKS 3
static int unknown_looks;

struct sys_live_count {
	int live;    /* the program's threads found alive */
	int unknown; /* threads whose state could not be read */
};

/* Counts the program's live threads (not memprof's) until it has seen one. */
static int sys_count_live(const char *tid, void *context)
{
	struct sys_live_count *count = context;
	char path[64] = "/proc/self/task/", stat[512];
	if (mp_sys_own_thread_named(tid))
		return 0;
	mp_sys_str_append(path, sizeof(path), tid);
	mp_sys_str_append(path, sizeof(path), "/stat");
	if (!mp_sys_read_text(path, stat, sizeof(stat)))
		count->unknown++; /* no descriptor left, or the thread just ended */
	else if (mp_proc_task_alive(stat))
		count->live++;
	return count->live >= 1;
}

int mp_sys_only_own_threads(void)
{
	struct sys_live_count count = { 0, 0 };
	int listed = mp_sys_each_task(sys_count_live, &count) >= 0;
	if (count.live || (listed && !count.unknown)) {
		__atomic_store_n(&unknown_looks, 0, __ATOMIC_RELAXED);
		return !count.live;
	}
	return __atomic_add_fetch(&unknown_looks, 1, __ATOMIC_RELAXED) >= SYS_UNKNOWN_LOOKS;
}

void mp_sys_own_threads_forget(void)
{
	for (int i = 0; i < MP_SYS_OWN_THREADS_MAX; i++)
		__atomic_store_n(&own_threads[i], 0, __ATOMIC_RELEASE);
}

void mp_mutex_wait(struct mp_mutex *mutex)
{
	/* Marked contended on every try, so the holder's unlock always wakes a waiter. */
	while (__atomic_exchange_n(&mutex->word, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, &mutex->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void mp_mutex_wake(struct mp_mutex *mutex)
{
	syscall(SYS_futex, &mutex->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int mp_sys_thread_count(uint64_t *count)
{
	struct stat st;
	int dir = proc_dir_fd();
	long done = dir >= 0 ? syscall(SYS_newfstatat, dir, "self/task", &st, 0)
			     : syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/task", &st, 0);
	if (done != 0 || st.st_nlink < 3)
		return 0;
	*count = (uint64_t)st.st_nlink - 2; /* "." and ".." */
	return 1;
}

int mp_sys_thread_start(void *(*fn)(void *), size_t stack_bytes)
{
	pthread_attr_t attr;
	pthread_t id;
	sigset_t all, saved;
	void *stack = mp_sys_map_anon(stack_bytes);
	if (!stack)
		return -1;
	if (pthread_attr_init(&attr) != 0) {
		mp_sys_unmap(stack, stack_bytes);
		return -1;
	}
	pthread_attr_setstack(&attr, stack, stack_bytes);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Created with every signal blocked, so the program's signals never land on it. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int created = pthread_create(&id, &attr, fn, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
	if (!created)
		mp_sys_unmap(stack, stack_bytes);
	return created ? 0 : -1;
}

/* What stderr was when recording started. memprof writes its lines there only while
 * descriptor 2 is still that file: a program that closes its stderr and opens a file of
 * its own, which gets number 2 (the lowest free), as daemons do, had memprof's "trace
 * written to" line appended to that file. */
static struct {
	int noted, open;
	uint64_t dev, ino;
} stderr_id;

void mp_sys_stderr_note(void)
{
	struct stat st;
	stderr_id.open = syscall(SYS_fstat, 2, &st) == 0;
	stderr_id.dev = stderr_id.open ? st.st_dev : 0;
	stderr_id.ino = stderr_id.open ? st.st_ino : 0;
	__atomic_store_n(&stderr_id.noted, 1, __ATOMIC_RELEASE);
}

static int stderr_unchanged(void)
{
	struct stat st;
	if (!__atomic_load_n(&stderr_id.noted, __ATOMIC_ACQUIRE))
		return 1;
	return stderr_id.open && syscall(SYS_fstat, 2, &st) == 0 && st.st_dev == stderr_id.dev &&
	       st.st_ino == stderr_id.ino;
}

void mp_sys_say(const char *msg)
{
	if (mp_state_sandboxed() || !stderr_unchanged())
		return;
	char line[4200] = "memprof: ";
	mp_sys_str_append(line, sizeof(line) - 1, msg);
	size_t len = strlen(line);
	line[len] = '\n';
	mp_sys_write_all(2, line, len + 1);
}
