/* trace_file.c: the trace file of this process: its name, its header and its chunks.
 *
 * The file is grown one chunk at a time and every part of it is mapped MAP_SHARED, so what
 * the threads commit is in the page cache the moment it is written and survives SIGKILL.
 * One descriptor is kept for making chunks, moved to 700 and up (close-on-exec): a
 * program that has taken every descriptor it may have (EMFILE, a server under load)
 * stopped the recording at its next chunk when each chunk opened the file again. A
 * program may still close it, or put another file at its number: before each use it is
 * checked to be our file (fstat), and is otherwise forgotten (not closed: the number is
 * the program's now) and the file opened again by its absolute path. Each new chunk also
 * checks that the path still names our file (stat, which takes no descriptor).
 *
 * Space is reserved before a chunk is mapped (fallocate, or zeros written where the file
 * system has no fallocate): a store into a MAP_SHARED page that the file system cannot
 * back raises SIGBUS in the program, so on a full disk the file simply stops growing,
 * recording stops, the header says why, and the program runs on.
 *
 * Page faults. A file system that tracks dirty pages (ext4, xfs, btrfs) maps a shared
 * page writable only through a write fault and its page_mkwrite, and a fallocated range
 * has no page in the cache: every 4 KiB page of the trace cost the writing thread a
 * fault, 4.6 us each on our VMs (a sixth of the recorder's kernel time). MAP_POPULATE
 * and MADV_POPULATE_WRITE only move those faults (a shared mapping is populated read-only
 * or page by page). Writing the chunk's zeros first puts it in the page cache as large
 * dirty folios, and the kernel maps a whole folio at its first write fault if the folio
 * lies within one page table: so the chunk is mapped at an address congruent to its file
 * offset modulo 2 MiB. (Measured on ext4 here, 16 MiB of 1 MiB chunks written: 4096
 * faults and 19 ms of CPU; with 1 MiB zero writes and the alignment 272 faults and
 * 3.7 ms; without the alignment, half of the chunks straddle a page table and fault page
 * by page. alloc_bench: 2930 faults, now 1640.)
 *
 * Names: the file is made under a temporary name, its header filled, and only then given
 * its name with link(2), which never replaces a file. So a trace found at a trace's name
 * always has its whole header, and whether it is still wanted (its writer alive, or of
 * this run) can be read from it; a file that is not wanted is replaced only under its own
 * flock, so two processes never both take one name (see name_take).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "writer.h"

#define MAX_CMDLINE (256u * 1024u)
#define MAX_NAME_TRIES 1000

#define ZERO_BYTES (64u * 1024u)
#define PAGE_TABLE_SPAN (2u << 20) /* what one last-level page table maps */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1u
#endif

static struct mp_mutex file_lock;
static char trace_path[4096];
static char temp_path[4096 + 32];
static char exe_path[4096];
static struct mp_file_header *header;
static uint32_t header_size;
static uint64_t file_end; /* the end of the chunks handed out; written under file_lock */
/* The file's bytes from file_end up to here are reserved and written with zeros ahead of
 * the chunks that will take them (mp_trace_file_reserve_ahead), under file_lock. */
static uint64_t reserved_end;
static uint32_t chunks_made; /* the last chunk's file_seq; under file_lock */
static long page_size;
/* The file's identity, to notice a path that names another file now. */
static uint64_t file_dev, file_ino;
/* The descriptor kept for making chunks (see the top), -1 if none; changed under
 * file_lock, read without it by mp_trace_file_fd. */
static int kept_fd = -1;
static int file_fd(int *other, int check_path);
/* Zeros to write where fallocate is missing; bss, so free until used. */
static uint8_t zeros[ZERO_BYTES];

static void *sys_map_shared(int fd, size_t len, uint64_t offset)
{
	void *addr = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				     fd, offset);
	return addr == MAP_FAILED ? NULL : addr;
}

/* Maps a chunk like sys_map_shared, at an address congruent to `offset` modulo
 * PAGE_TABLE_SPAN, so that no folio of the page cache straddles two page tables (the
 * kernel then maps each folio whole at its first fault; see the top of the file). An
 * inaccessible reservation is taken first and the file mapped over its aligned part, so
 * nothing of the program's can be at that address.
 *
 * Not for a chunk of up to SMALL_CHUNK_BYTES (a thread's first ones): it straddles a page
 * table at one address in 32 or fewer, and the 2 MiB reservation cost a thread that
 * records little a third of what memprof added to it (1000 short threads, 21 rounds:
 * 80.6 ms with it, 70.7 without, 44.9 with no profiler). Such a chunk is mapped over the
 * end of a reservation one page longer, whose first page is then unmapped. (Mapped with
 * a plain mmap, as fast, the chunks made valgrind 3.19, which bench/cache_model.sh runs
 * memprof under, fail an assertion of its address space manager at the first chunk's
 * unmap; this way it runs.) */
#define SMALL_CHUNK_BYTES (64u * 1024u)
static void *map_small_chunk(int fd, size_t len, uint64_t offset)
{
	size_t span = len + (size_t)page_size;
	uint8_t *area = (uint8_t *)syscall(SYS_mmap, NULL, span, PROT_NONE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if ((void *)area == MAP_FAILED)
		return NULL;
	void *chunk = (void *)syscall(SYS_mmap, area + page_size, len, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_FIXED, fd, offset);
	if (chunk == MAP_FAILED) {
		syscall(SYS_munmap, area, span);
		return NULL;
	}
	syscall(SYS_munmap, area, page_size);
	return chunk;
}

static void *map_chunk(int fd, size_t len, uint64_t offset)
{
	if (len <= SMALL_CHUNK_BYTES)
		return map_small_chunk(fd, len, offset);
	size_t span = len + PAGE_TABLE_SPAN;
	uintptr_t area = (uintptr_t)syscall(SYS_mmap, NULL, span, PROT_NONE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if ((void *)area == MAP_FAILED)
		return sys_map_shared(fd, len, offset);
	uintptr_t at = (area & ~(uintptr_t)(PAGE_TABLE_SPAN - 1)) +
		       (uintptr_t)(offset & (PAGE_TABLE_SPAN - 1));
	if (at < area)
		at += PAGE_TABLE_SPAN;
	void *chunk = (void *)syscall(SYS_mmap, at, len, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_FIXED, fd, offset);
	if (chunk == MAP_FAILED) {
		syscall(SYS_munmap, area, span);
		return NULL;
	}
	if (at > area)
		syscall(SYS_munmap, area, at - area);
	if (at + len < area + span)
		syscall(SYS_munmap, at + len, area + span - (at + len));
	return chunk;
}

static const char *exe_name(void)
{
	const char *slash = strrchr(exe_path, '/');
	return slash ? slash + 1 : exe_path;
}

/* Expands %p, %e and %% of MEMPROF_OUTPUT into an absolute path, with `.N` before a final
 * ".trace" (or at the end) when attempt > 0. */
static int expand_path(char *out, size_t cap, int attempt)
{
	char number[24];
	const char *pattern = mp_config.output_pattern;
	out[0] = '\0';
	if (pattern[0] != '/') {
		if (syscall(SYS_getcwd, out, cap - 1) < 0)
			return -errno;
		if (mp_sys_str_append(out, cap, "/") < 0)
			return -ENAMETOOLONG;
	}
	size_t len = strlen(out);
	for (const char *at = pattern; *at; at++) {
		const char *piece = NULL;
		char single[2] = { *at, '\0' };
		if (at[0] == '%' && at[1] == 'p') {
			mp_sys_fmt_u64(number, (uint64_t)getpid());
			piece = number;
			at++;
		} else if (at[0] == '%' && at[1] == 'e') {
			piece = exe_name();
			at++;
		} else if (at[0] == '%' && at[1] == '%') {
			piece = "%";
			at++;
		} else {
			piece = single;
		}
		if (mp_sys_str_append(out, cap, piece) < 0)
			return -ENAMETOOLONG;
	}
	if (attempt > 0) {
		len = strlen(out);
		int has_ext = len > 6 && strcmp(out + len - 6, ".trace") == 0;
		if (has_ext)
			out[len - 6] = '\0';
		number[0] = '.';
		mp_sys_fmt_u64(number + 1, (uint64_t)attempt);
		if (mp_sys_str_append(out, cap, number) < 0 ||
		    (has_ext && mp_sys_str_append(out, cap, ".trace") < 0))
			return -ENAMETOOLONG;
	}
	return 0;
}

/* Whether the trace in `fd` must be kept: one written by this very pid (the image we
 * were exec'd from), by a process still alive, or by a process of our process group (a
 * program and the children it starts, with a fixed MEMPROF_OUTPUT, must not replace each
 * other's traces, even once one has ended). Anything else, a leftover of an earlier run,
 * may be replaced, and so may a file that is not a whole trace: no trace is ever at its
 * name without its header (mp_trace_file_create). */
static int still_wanted(int fd)
{
	struct mp_file_header old;
	if (syscall(SYS_pread64, fd, &old, sizeof(old), (off_t)0) != (long)sizeof(old) ||
	    memcmp(old.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN) != 0)
		return 0;
	if (old.pid == (uint32_t)getpid())
		return 1;
	if (old.pgid != 0 && old.pgid == (uint32_t)syscall(SYS_getpgid, 0))
		return 1;
	if (old.pid == 0 || old.pid > (uint32_t)INT32_MAX)
		return 0;
	return syscall(SYS_kill, (pid_t)old.pid, 0) == 0 || errno == EPERM;
}

/* Gives the temporary file the name in trace_path if nothing has it: 0, -EEXIST, or
 * another -errno. A file system without hard links gets a rename that cannot replace. */
static int name_give(int *temp_gone)
{
	if (syscall(SYS_linkat, AT_FDCWD, temp_path, AT_FDCWD, trace_path, 0) == 0)
		return 0;
	if (errno == EEXIST)
		return -EEXIST;
	if (syscall(SYS_renameat2, AT_FDCWD, temp_path, AT_FDCWD, trace_path,
		    RENAME_NOREPLACE) == 0) {
		*temp_gone = 1;
		return 0;
	}
	return -errno;
}

enum name_verdict { NAME_PLACED, NAME_TAKEN, NAME_AGAIN };

/* A leftover replaced at the name (see name_take), kept open for the leak thread to close
 * (mp_trace_file_replaced_close): the last close of a removed file frees its blocks and
 * its pages in the page cache then and there, 200 ms for a trace of 1 GiB just written,
 * which the program's first allocation waited for. Without a leak thread (its check
 * off, or sampling) the constructor closes it: the file's space is not held until the
 * process ends. Its number is moved high, as memprof's other descriptors; the file's
 * identity tells whether the program closed that number and opened another there. */
static struct {
	int fd; /* -1: none */
	uint64_t dev, ino;
} replaced = { -1, 0, 0 };

static void replaced_keep(int fd, const struct stat *file)
{
	int old = __atomic_exchange_n(&replaced.fd, -1, __ATOMIC_ACQ_REL);
	if (old >= 0)
		syscall(SYS_close, old); /* a second leftover replaced: rare, paid now */
	int high = mp_sys_fd_move_high(fd);
	if (high == fd) { /* no high number free: a low one is the program's to take */
		syscall(SYS_close, fd);
		return;
	}
	replaced.dev = (uint64_t)file->st_dev;
	replaced.ino = (uint64_t)file->st_ino;
	__atomic_store_n(&replaced.fd, high, __ATOMIC_RELEASE);
}

void mp_trace_file_replaced_close(void)
{
	int fd = __atomic_exchange_n(&replaced.fd, -1, __ATOMIC_ACQ_REL);
	struct stat file;
	if (fd >= 0 && syscall(SYS_fstat, fd, &file) == 0 && (uint64_t)file.st_dev == replaced.dev &&
	    (uint64_t)file.st_ino == replaced.ino)
		syscall(SYS_close, fd);
}

/* One attempt at the name in trace_path. A file already there that is not wanted is
 * removed, under its flock, and only if the name still gives that very file: whoever
 * found it too either fails the flock or, after us, finds another file there; the name
 * is then tried again, and link() decides between whoever tries it at once. */
static int name_take(int fork_child, int *temp_gone)
{
	int err = name_give(temp_gone);
	if (err != -EEXIST)
		return err < 0 ? err : NAME_PLACED;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, trace_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? NAME_AGAIN : NAME_TAKEN;
	int verdict = NAME_TAKEN;
	struct stat found, now;
	if (syscall(SYS_fstat, fd, &found) != 0) {
		verdict = NAME_TAKEN;
	} else if (!S_ISREG(found.st_mode)) {
		verdict = S_ISDIR(found.st_mode) ? -EISDIR : -EEXIST;
	} else if (!fork_child && !still_wanted(fd) &&
		   syscall(SYS_flock, fd, LOCK_EX | LOCK_NB) == 0) {
		if (syscall(SYS_newfstatat, AT_FDCWD, trace_path, &now, 0) == 0 &&
		    now.st_dev == found.st_dev && now.st_ino == found.st_ino &&
		    syscall(SYS_unlinkat, AT_FDCWD, trace_path, 0) == 0) {
			replaced_keep(fd, &found);
			return NAME_AGAIN;
		}
		verdict = NAME_AGAIN;
	}
	syscall(SYS_close, fd);
	return verdict;
}

/* Names the temporary file: NAME, else NAME.1, NAME.2, ... Returns 0 with the name in
 * trace_path, or -errno. A fork child never replaces a file (it may be its parent's). */
static int name_place(int fork_child, int *temp_gone)
{
	for (int attempt = 0; attempt < MAX_NAME_TRIES; attempt++) {
		int err = expand_path(trace_path, sizeof(trace_path), attempt);
		if (err < 0)
			return err;
		int verdict = NAME_AGAIN;
		for (int again = 0; verdict == NAME_AGAIN && again < 16; again++)
			verdict = name_take(fork_child, temp_gone);
		if (verdict == NAME_PLACED)
			return 0;
		if (verdict < 0)
			return verdict;
	}
	return -EEXIST;
}

/* Writes `len` bytes of zeros at `offset`, ZERO_BYTES per call: a call's length is the
 * largest folio the page cache makes of it, and a folio is resident whole once mapped, so
 * a longer call would map up to a chunk's unused rest into the program's RSS at once
 * (measured on alloc_bench: 1 MiB calls saved another 500 of its 1640 faults, for +1 MiB
 * of peak RSS). 0 or -errno. */
static int write_zeros(int fd, uint64_t offset, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		uint64_t piece = len - done < ZERO_BYTES ? len - done : ZERO_BYTES;
		long wrote = syscall(SYS_pwrite64, fd, zeros, (size_t)piece, (off_t)(offset + done));
		if (wrote < 0 && errno == EINTR)
			continue;
		if (wrote <= 0)
			return wrote < 0 ? -errno : -ENOSPC;
		done += (uint64_t)wrote;
	}
	return 0;
}

/* Makes `len` bytes from `offset` real blocks of the file, extending it: after this no
 * store into them can fault. Then (or instead, where the file system has no fallocate:
 * some network and FUSE ones) writes them with zeros, which puts them in the page cache
 * ready to map (see the top of the file); that write may fail after fallocate worked
 * (the chunk's faults are then only slower). 0 or -errno (ENOSPC, EDQUOT: full). */
/* The program's file size limit (RLIMIT_FSIZE, `ulimit -f`) binds the trace too: a write
 * past it sends SIGXFSZ, whose default action kills the process, which it did to a
 * program that set a limit for its own files. Space past the limit is refused as a full
 * disk is, before any call could go past it; the limit is read each time, as the program
 * may change it. */
static int within_size_limit(uint64_t end)
{
	struct rlimit limit;
	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &limit) != 0 ||
	    limit.rlim_cur == RLIM_INFINITY)
		return 1;
	return end <= limit.rlim_cur;
}

static int reserve_space(int fd, uint64_t offset, uint64_t len)
{
	if (!within_size_limit(offset + len))
		return -EFBIG;
	long rc;
	do
		rc = syscall(SYS_fallocate, fd, 0, (off_t)offset, (off_t)len);
	while (rc < 0 && errno == EINTR);
	if (rc < 0 && errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	int err = write_zeros(fd, offset, len);
	return rc == 0 ? 0 : err;
}

static size_t read_cmdline(char *buf, size_t cap, int *truncated)
{
	long got = mp_sys_read_file("/proc/self/cmdline", buf, cap);
	if (got < 0)
		return 0;
	*truncated = (size_t)got == cap;
	/* The kernel ends every argument with NUL; keep them as separators only. */
	if (got > 0 && buf[got - 1] == '\0')
		got--;
	return (size_t)got;
}

/* A fork child's birth (mp_trace_file_forget): its trace starts there, not when it is
 * created at the child's first event, which may come long after or only at its exit (a
 * child that never allocates reported a run time of 0.1 ms for 100 ms). 0: none. */
static uint64_t born_monotonic_ns, born_realtime_ns;

static void fill_header(const char *cmdline, size_t cmdline_len, int truncated)
{
	struct timespec now;
	memcpy(header->magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN);
	header->version = MP_TRACE_VERSION;
	header->header_size = header_size;
	header->page_size = (uint32_t)page_size;
	header->pid = (uint32_t)getpid();
	header->ppid = (uint32_t)getppid();
	header->pgid = (uint32_t)syscall(SYS_getpgid, 0);
	header->max_frames = mp_config.max_frames;
	header->sample_bytes = mp_config.sample_bytes;
	header->sample_window_ms = mp_config.sample_bytes ? mp_config.sample_window_ms : 0;
	header->flags = mp_config.leak_check ? 0 : MP_TRACE_LEAK_CHECK_OFF;
	clock_gettime(CLOCK_REALTIME, &now);
	header->start_realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	header->start_monotonic_ns = mp_clock_now_ns();
	if (born_monotonic_ns) {
		header->start_realtime_ns = born_realtime_ns;
		header->start_monotonic_ns = born_monotonic_ns;
	}
	header->end_state = MP_END_RUNNING;
	header->exe_offset = sizeof(*header);
	header->exe_len = (uint32_t)strlen(exe_path);
	memcpy((char *)header + header->exe_offset, exe_path, header->exe_len);
	header->cmdline_offset = header->exe_offset + header->exe_len;
	header->cmdline_len = (uint32_t)cmdline_len;
	header->cmdline_truncated = (uint32_t)truncated;
	memcpy((char *)header + header->cmdline_offset, cmdline, cmdline_len);
}

/* The temporary name: the first name with ".PID.tmp" added, in the same directory. */
static int temp_open(void)
{
	char suffix[32] = ".";
	int err = expand_path(trace_path, sizeof(trace_path), 0);
	if (err < 0)
		return err;
	mp_sys_fmt_u64(suffix + 1, (uint64_t)getpid());
	memcpy(temp_path, trace_path, strlen(trace_path) + 1);
	if (mp_sys_str_append(temp_path, sizeof(temp_path), suffix) < 0 ||
	    mp_sys_str_append(temp_path, sizeof(temp_path), ".tmp") < 0)
		return -ENAMETOOLONG;
	for (int tries = 0; tries < 2; tries++) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, temp_path,
				      O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
		/* Left by a process of our pid that was killed while it made its trace. */
		syscall(SYS_unlinkat, AT_FDCWD, temp_path, 0);
	}
	return -EEXIST;
}

/* The header, whole and on disk, in the open temporary file. */
static int header_write(int fd, const char *cmdline, size_t cmdline_len, int truncated)
{
	size_t need = sizeof(struct mp_file_header) + strlen(exe_path) + cmdline_len;
	header_size = (uint32_t)((need + (size_t)page_size - 1) & ~((size_t)page_size - 1));
	struct stat st;
	int err = reserve_space(fd, 0, header_size);
	if (err < 0)
		return err;
	if (syscall(SYS_fstat, fd, &st) != 0)
		return -errno;
	header = sys_map_shared(fd, header_size, 0);
	if (!header)
		return -errno;
	fill_header(cmdline, cmdline_len, truncated);
	file_dev = st.st_dev;
	file_ino = st.st_ino;
	file_end = reserved_end = header_size;
	return 0;
}

/* Only one thread initializes, so this runs without the lock. */
int mp_trace_file_create(int fork_child)
{
	page_size = sysconf(_SC_PAGESIZE);
	long len = syscall(SYS_readlink, "/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[len > 0 ? len : 0] = '\0';

	char *cmdline = mp_sys_map_anon(MAX_CMDLINE);
	if (!cmdline)
		return -ENOMEM;
	int truncated = 0;
	size_t cmdline_len = read_cmdline(cmdline, MAX_CMDLINE, &truncated);
	int temp_gone = 0;
	int fd = temp_open();
	int err = fd < 0 ? fd : header_write(fd, cmdline, cmdline_len, truncated);
	if (err == 0)
		err = name_place(fork_child, &temp_gone);
	if (fd >= 0 && !temp_gone)
		syscall(SYS_unlinkat, AT_FDCWD, temp_path, 0);
	if (fd >= 0)
		syscall(SYS_close, fd);
	/* Kept opened by its name, not the temporary one it was made under, so that
	 * /proc/PID/fd shows the trace, not a deleted file. */
	int other;
	if (err == 0)
		file_fd(&other, 0);
	if (err < 0 && header) {
		mp_sys_unmap(header, header_size);
		header = NULL;
	}
	if (err < 0)
		expand_path(trace_path, sizeof(trace_path), 0); /* the name the message gives */
	mp_sys_unmap(cmdline, MAX_CMDLINE);
	return err;
}

/* Recording cannot go on: the header says why (the first reason only), stderr says it
 * once, and the state goes off. */
static void stop_recording(enum mp_stop_reason reason, int err)
{
	char msg[4400] = "";
	uint32_t none = MP_STOP_NONE;
	if (header && __atomic_compare_exchange_n(&header->stop_reason, &none, (uint32_t)reason, 0,
						  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		header->stop_errno = err;
		header->stop_monotonic_ns = mp_clock_now_ns();
	}
	if (reason == MP_STOP_SANDBOXED) {
		mp_sys_str_append(msg, sizeof(msg), "the program put a seccomp filter on itself, "
						    "which may forbid memprof's system calls: "
						    "recording stopped, the trace '");
		mp_sys_str_append(msg, sizeof(msg), trace_path);
		mp_sys_str_append(msg, sizeof(msg), "' ends here");
		mp_state_disable(msg);
		return;
	} else if (reason == MP_STOP_FILE_REPLACED) {
		mp_sys_str_append(msg, sizeof(msg), "trace '");
		mp_sys_str_append(msg, sizeof(msg), trace_path);
		mp_sys_str_append(msg, sizeof(msg), "' was removed or replaced");
	} else {
		mp_sys_str_append(msg, sizeof(msg), "cannot extend trace '");
		mp_sys_str_append(msg, sizeof(msg), trace_path);
		mp_sys_str_append(msg, sizeof(msg), "': ");
		mp_sys_str_append(msg, sizeof(msg), strerror(err));
		if (err == EFBIG)
			mp_sys_str_append(msg, sizeof(msg), ", past the file size limit (ulimit -f)");
	}
	mp_sys_str_append(msg, sizeof(msg), "; recording stopped, the trace ends here");
	mp_state_disable(msg);
}

static int is_ours(const struct stat *st)
{
	return st->st_dev == file_dev && st->st_ino == file_ino;
}

/* The trace file's descriptor, under file_lock: the one kept, or the file opened again
 * by its path and kept from now on. -errno if it cannot be had; *other is set if the path
 * names another file now. `check_path`: also when the kept one is fine (a new chunk's). */
static int file_fd(int *other, int check_path)
{
	struct stat st;
	*other = 0;
	int path_err = 0;
	if (check_path && syscall(SYS_newfstatat, AT_FDCWD, trace_path, &st, 0) != 0)
		path_err = -errno;
	else if (check_path && !is_ours(&st)) {
		*other = 1;
		return -ESTALE;
	}
	/* A path that no longer leads anywhere from here, while the file still has a name:
	 * the process changed its root (a daemon's chroot) or its mounts, and the descriptor
	 * is the way to the trace. A file with no name left was removed. */
	if (kept_fd >= 0 && syscall(SYS_fstat, kept_fd, &st) == 0 && is_ours(&st) &&
	    (!path_err || st.st_nlink > 0))
		return kept_fd;
	if (path_err)
		return path_err;
	__atomic_store_n(&kept_fd, -1, __ATOMIC_RELEASE);
	int fd = (int)syscall(SYS_openat, AT_FDCWD, trace_path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_fstat, fd, &st) != 0 || !is_ours(&st)) {
		syscall(SYS_close, fd);
		*other = 1;
		return -ESTALE;
	}
	__atomic_store_n(&kept_fd, mp_sys_fd_move_high(fd), __ATOMIC_RELEASE);
	return kept_fd;
}

int mp_trace_file_fd(void)
{
	struct stat st;
	int fd = __atomic_load_n(&kept_fd, __ATOMIC_ACQUIRE);
	return fd >= 0 && syscall(SYS_fstat, fd, &st) == 0 && is_ours(&st) ? fd : -1;
}

/* Why recording stops when file_fd gave err. */
static enum mp_stop_reason fd_stop_reason(int other, int err)
{
	return other || err == -ENOENT ? MP_STOP_FILE_REPLACED : MP_STOP_FILE_ERROR;
}

/* Fills a new chunk's header, `used` last and released: a reader of the file (the leak
 * thread) that sees it set sees the rest of the header too. The chunk is counted after
 * that: the END record (recording.c) counts the chunks made, without the lock, and a
 * thread killed by the process's end between counting its chunk and writing its header
 * left the END counting a chunk the file did not hold, which read as a file cut short. */
static void chunk_header_fill(uint8_t *chunk, uint32_t capacity,
			      const struct mp_chunk_header *fields)
{
	memcpy(chunk, fields, sizeof(*fields));
	struct mp_chunk_header *head = (struct mp_chunk_header *)chunk;
	head->magic = MP_CHUNK_MAGIC;
	head->header_size = sizeof(*head);
	head->capacity = capacity;
	uint32_t file_seq = chunks_made + 1;
	head->file_seq = file_seq;
	__atomic_store_n(&head->used, (uint32_t)sizeof(*head), __ATOMIC_RELEASE);
	__atomic_store_n(&chunks_made, file_seq, __ATOMIC_RELEASE);
}

/* The space is reserved first, so that the file has no hole (a reader of a hole on a
 * full tmpfs gets SIGBUS). The header is written before the lock is released: chunks then
 * get their headers in file order, so a reader of the growing file (leak_live.c) that
 * finds a header unwritten before a written one knows its writer failed, rather than
 * being slower than the next chunk's. */
uint8_t *mp_trace_file_new_chunk(uint32_t capacity, const struct mp_chunk_header *fields)
{
	if (!mp_state_is_ready())
		return NULL;
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	mp_lock(&file_lock, MP_LOCK_FILE);
	int other, fd = file_fd(&other, 1);
	if (fd < 0) {
		mp_unlock(&file_lock, MP_LOCK_FILE);
		mp_sys_signals_release(&signals);
		stop_recording(fd_stop_reason(other, fd), -fd);
		return NULL;
	}
	uint64_t offset = file_end;
	/* Only what the leak thread has not reserved ahead yet: a chunk longer than what is
	 * left of it wrote its whole length of zeros again (cc1's 512 KiB chunk, a few
	 * kilobytes past the space ahead). */
	uint64_t from = reserved_end > offset ? reserved_end : offset;
	int err = offset + capacity <= from ? 0 : reserve_space(fd, from, offset + capacity - from);
	if (err == 0) {
		__atomic_store_n(&file_end, offset + capacity, __ATOMIC_RELEASE);
		if (reserved_end < file_end)
			reserved_end = file_end;
	} else { /* whatever it reserved before failing is of no use */
		syscall(SYS_ftruncate, fd, (off_t)offset);
		reserved_end = offset;
	}
	uint8_t *chunk = err ? NULL : map_chunk(fd, capacity, offset);
	if (!err && !chunk)
		err = -errno;
	if (chunk)
		chunk_header_fill(chunk, capacity, fields);
	mp_unlock(&file_lock, MP_LOCK_FILE);
	mp_sys_signals_release(&signals);
	if (!chunk) {
		stop_recording(err == -ENOSPC || err == -EDQUOT ? MP_STOP_DISK_FULL
							      : MP_STOP_FILE_ERROR, -err);
		return NULL;
	}
	return chunk;
}

/* Reserving a chunk's space is a fallocate and a write of its zeros (see the top): 0.2-0.3
 * ms a MiB here, 4 ms of sqlite3's bench run, paid by the thread that starts the chunk,
 * inside the program's malloc. Once the trace holds AHEAD_FROM_BYTES (a program that
 * records that much records more; a small one is spared writing zeros it never uses;
 * from 512 KiB, cc1's main thread still wrote 1 MiB of zeros of its own: its chunks
 * up to 512 KiB),
 * the leak thread keeps space reserved past the chunks handed out, between its rounds,
 * so that starting a chunk is only mapping it; the zeros left when the process ends are
 * cut off then. As much as the trace holds, up to AHEAD_BYTES: a program's next chunks
 * are as large as its last ones (they double up to 1 MiB a thread), and the zeros that
 * may go unused stay in proportion to what was written. cc1 (a 3 MiB trace, one thread)
 * reserved every chunk itself while the threshold was 4 MiB: 1% of its main thread's time
 * in pwrite and fallocate (perf). */
#define AHEAD_BYTES (2u << 20)
#define AHEAD_FROM_BYTES (64u << 10)

/* 1 once the trace's end is being written (mp_trace_file_set_end): nothing is reserved
 * ahead from then on. */
static int ending;
static void trim_reserved(void);

static uint64_t ahead_bytes(uint64_t end)
{
	return end < AHEAD_BYTES ? end : AHEAD_BYTES;
}

void mp_trace_file_reserve_ahead(void)
{
	if (!header || !mp_state_is_ready())
		return;
	mp_lock(&file_lock, MP_LOCK_FILE);
	int needed = file_end >= AHEAD_FROM_BYTES &&
		     reserved_end < file_end + ahead_bytes(file_end) / 2;
	mp_unlock(&file_lock, MP_LOCK_FILE);
	if (!needed)
		return;
	mp_lock(&file_lock, MP_LOCK_FILE);
	/* Nothing is said if the file cannot be had: the next chunk will say it. */
	int other, fd = file_fd(&other, 0);
	uint64_t from = reserved_end, to = file_end + ahead_bytes(file_end);
	if (fd >= 0 && to > from && !__atomic_load_n(&ending, __ATOMIC_RELAXED)) {
		if (reserve_space(fd, from, to - from) == 0)
			reserved_end = to;
		else /* a full disk: the chunks will find out for themselves */
			syscall(SYS_ftruncate, fd, (off_t)from);
	}
	mp_unlock(&file_lock, MP_LOCK_FILE);
	/* The end's trim takes the lock without waiting: if it came while this held it, it
	 * cut nothing, and the 2 MiB just reserved stayed in the trace (a third of
	 * alloc_bench's traces were 10.5 MB instead of 8.4). So the trim is done again here.
	 * The fences pair with the end's: of ending's store there and the lock's release
	 * here, each thread sees the other's. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ending, __ATOMIC_RELAXED))
		trim_reserved();
}

uint64_t mp_trace_file_end(void)
{
	return __atomic_load_n(&file_end, __ATOMIC_ACQUIRE);
}

/* The space reserved ahead that no chunk took, cut off at the end. Never waits for the
 * lock (this may run in a signal handler that interrupted its holder) and says nothing
 * if the file cannot be opened: it is only space. */
static void trim_reserved(void)
{
	if (mp_trylock(&file_lock, MP_LOCK_FILE) != 0)
		return;
	int other, fd = reserved_end > file_end ? file_fd(&other, 0) : -1;
	if (fd >= 0 && syscall(SYS_ftruncate, fd, (off_t)file_end) == 0)
		reserved_end = file_end;
	mp_unlock(&file_lock, MP_LOCK_FILE);
}

int mp_trace_file_ending(void)
{
	return __atomic_load_n(&ending, __ATOMIC_RELAXED);
}

void mp_trace_file_ahead_done(void)
{
	if (!header)
		return;
	__atomic_store_n(&ending, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	trim_reserved();
}

void mp_trace_file_set_end(enum mp_end_state state, int status)
{
	if (!header)
		return;
	/* Usually cut off already (mp_trace_file_ahead_done); then there is nothing to cut. */
	if (state != MP_END_RUNNING)
		mp_trace_file_ahead_done();
	header->end_status = status;
	header->end_monotonic_ns = mp_clock_now_ns();
	__atomic_store_n(&header->end_state, (uint32_t)state, __ATOMIC_RELEASE);
}

void mp_trace_file_add_flags(uint32_t flags)
{
	if (header)
		__atomic_or_fetch(&header->flags, flags, __ATOMIC_RELEASE);
}

uint32_t mp_trace_file_chunks(void)
{
	return __atomic_load_n(&chunks_made, __ATOMIC_RELAXED);
}

uint32_t mp_trace_file_page_size(void)
{
	return (uint32_t)page_size;
}

const char *mp_trace_file_path(void)
{
	return trace_path;
}

const char *mp_trace_file_exe(void)
{
	return exe_path;
}

void mp_trace_file_forget(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	born_realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	born_monotonic_ns = mp_clock_now_ns();
	/* The header is mapped once and never moves: unmapping it is safe whatever the
	 * parent's other threads were doing when it forked. */
	if (header)
		mp_sys_unmap(header, header_size);
	header = NULL;
	/* The parent's descriptor, this process's copy of it: closed, if it is still that. */
	struct stat st;
	if (kept_fd >= 0 && syscall(SYS_fstat, kept_fd, &st) == 0 && is_ours(&st))
		syscall(SYS_close, kept_fd);
	kept_fd = -1;
	/* Nor does the child keep the leftover its parent replaced (whose close frees
	 * nothing while the parent holds it). */
	mp_trace_file_replaced_close();
	chunks_made = 0;
	file_end = reserved_end = 0;
	ending = 0;
	mp_mutex_reset(&file_lock);
}

void mp_trace_file_stop(enum mp_stop_reason reason, int err)
{
	stop_recording(reason, err);
}
