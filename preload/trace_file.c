/* trace_file.c: the trace file of this process: its name, its header and its chunks.
 *
 * The file is grown one chunk at a time and every part of it is mapped MAP_SHARED, so what
 * the threads commit is in the page cache the moment it is written and survives SIGKILL.
 * No descriptor is kept open between chunks: a program that closes every descriptor it did
 * not open, or dup2()s over them, cannot break the trace or be broken by it. Each new
 * chunk reopens the file by its absolute path (a few microseconds per chunk of thousands
 * of events).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "writer.h"

#define MAX_CMDLINE (256u * 1024u)
#define MAX_NAME_TRIES 1000

static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace_path[4096];
static char exe_path[4096];
static struct mp_file_header *header;
static uint32_t header_size;
static uint64_t file_end;
static long page_size;

static int sys_open(const char *path, int flags, int mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
}

static void *sys_map_shared(int fd, size_t len, uint64_t offset)
{
	void *addr = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				     fd, offset);
	return addr == MAP_FAILED ? NULL : addr;
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

/* Whether an existing file of the same name must be kept: a trace written by this very
 * pid (the image we were exec'd from) or by a process still alive (with a fixed
 * MEMPROF_OUTPUT, a program and the children it starts would otherwise truncate each
 * other's traces). Anything else, a leftover of an earlier run, may be replaced. */
static int still_wanted(const char *path)
{
	struct mp_file_header old;
	if (mp_sys_read_file(path, (char *)&old, sizeof(old)) != (long)sizeof(old) ||
	    memcmp(old.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN) != 0)
		return 0;
	if (old.pid == (uint32_t)getpid())
		return 1;
	return syscall(SYS_kill, (pid_t)old.pid, 0) == 0 || errno == EPERM;
}

static int open_new_file(int fork_child)
{
	for (int attempt = 0; attempt < MAX_NAME_TRIES; attempt++) {
		int err = expand_path(trace_path, sizeof(trace_path), attempt);
		if (err < 0)
			return err;
		int fd = sys_open(trace_path, O_RDWR | O_CREAT | O_EXCL, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
		if (!fork_child && !still_wanted(trace_path)) {
			fd = sys_open(trace_path, O_RDWR | O_TRUNC, 0644);
			return fd >= 0 ? fd : -errno;
		}
	}
	return -EEXIST;
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

static void fill_header(const char *cmdline, size_t cmdline_len, int truncated)
{
	struct timespec now;
	memcpy(header->magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN);
	header->version = MP_TRACE_VERSION;
	header->header_size = header_size;
	header->page_size = (uint32_t)page_size;
	header->pid = (uint32_t)getpid();
	header->ppid = (uint32_t)getppid();
	header->max_frames = mp_config.max_frames;
	header->sample_bytes = mp_config.sample_bytes;
	header->sample_window_ms = mp_config.sample_bytes ? mp_config.sample_window_ms : 0;
	clock_gettime(CLOCK_REALTIME, &now);
	header->start_realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	header->start_monotonic_ns = mp_clock_now_ns();
	header->end_state = MP_END_RUNNING;
	header->exe_offset = sizeof(*header);
	header->exe_len = (uint32_t)strlen(exe_path);
	memcpy((char *)header + header->exe_offset, exe_path, header->exe_len);
	header->cmdline_offset = header->exe_offset + header->exe_len;
	header->cmdline_len = (uint32_t)cmdline_len;
	header->cmdline_truncated = (uint32_t)truncated;
	memcpy((char *)header + header->cmdline_offset, cmdline, cmdline_len);
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

	int fd = open_new_file(fork_child);
	if (fd < 0) {
		mp_sys_unmap(cmdline, MAX_CMDLINE);
		return fd;
	}
	size_t need = sizeof(struct mp_file_header) + strlen(exe_path) + cmdline_len;
	header_size = (uint32_t)((need + (size_t)page_size - 1) & ~((size_t)page_size - 1));
	int err = 0;
	if (syscall(SYS_ftruncate, fd, (off_t)header_size) < 0)
		err = -errno;
	else if (!(header = sys_map_shared(fd, header_size, 0)))
		err = -errno;
	else
		fill_header(cmdline, cmdline_len, truncated);
	file_end = header_size;
	syscall(SYS_close, fd);
	mp_sys_unmap(cmdline, MAX_CMDLINE);
	return err;
}

uint8_t *mp_trace_file_new_chunk(uint32_t capacity, const struct mp_chunk_header *fields)
{
	uint8_t *chunk = NULL;
	mp_lock(&file_lock, MP_LOCK_FILE);
	int fd = sys_open(trace_path, O_RDWR, 0);
	if (fd >= 0) {
		if (syscall(SYS_ftruncate, fd, (off_t)(file_end + capacity)) == 0)
			chunk = sys_map_shared(fd, capacity, file_end);
		syscall(SYS_close, fd);
	}
	if (chunk) {
		memcpy(chunk, fields, sizeof(*fields));
		struct mp_chunk_header *head = (struct mp_chunk_header *)chunk;
		head->magic = MP_CHUNK_MAGIC;
		head->header_size = sizeof(*head);
		head->capacity = capacity;
		head->used = sizeof(*head);
		file_end += capacity;
	}
	mp_unlock(&file_lock, MP_LOCK_FILE);
	return chunk;
}

void mp_trace_file_set_end(enum mp_end_state state, int status)
{
	if (!header)
		return;
	header->end_status = status;
	header->end_monotonic_ns = mp_clock_now_ns();
	__atomic_store_n(&header->end_state, (uint32_t)state, __ATOMIC_RELEASE);
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
	/* The header is mapped once and never moves: unmapping it is safe whatever the
	 * parent's other threads were doing when it forked. */
	if (header)
		mp_sys_unmap(header, header_size);
	header = NULL;
	pthread_mutex_init(&file_lock, NULL);
}
