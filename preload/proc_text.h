/* proc_text.h: parsers of the text files of /proc and /sys that the preload reads (base
 * layer). Text in, values out: no I/O, no allocation, so the unit tests feed them the
 * lines quoted above each function (tests/unit/preload/test_proc_text.c), and the callers
 * read the files with sys.c.
 */
#ifndef MEMPROF_PRELOAD_PROC_TEXT_H
#define MEMPROF_PRELOAD_PROC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* One line of /proc/PID/maps, or a header line of smaps (same layout):
 *   55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                  [heap]
 *   7f3a20e15000-7f3a20e17000 rw-p 001d3000 fd:01 1312 /usr/lib/x86_64-linux-gnu/libc.so.6
 */
struct mp_proc_map {
	uint64_t start, end, offset, inode;
	uint32_t perms;        /* MP_PERM_* of trace_format.h */
	const char *path;      /* inside the line, path_len bytes, not NUL-terminated; may be
				  empty (anonymous memory) */
	size_t path_len;
};
/* Parses line[0..len); returns 1 if it is a mapping line (out filled), 0 if not. */
int mp_proc_map_line(const char *line, size_t len, struct mp_proc_map *out);

/* A "Key:   1234 kB" line in the text of /proc/PID/status or /proc/meminfo:
 *   VmHWM:	    2596 kB
 *   Threads:	1
 * Finds the line of `key` and returns 1 with its value, in bytes when it says kB. */
int mp_proc_field(const char *text, const char *key, uint64_t *value);

/* A file holding one integer, "-1000\n" (oom_score_adj), "12345\n"; "max\n" is none.
 * Returns 1 with the value, 0 if the text does not start with a number. */
int mp_proc_number(const char *text, int64_t *value);

/* /proc/self/cgroup: the memory cgroup's path, cgroup v1's "4:memory:/user.slice" over
 * v2's "0::/user.slice/session-2.scope". Returns 1 (v1) or 2 (v2) with the path copied
 * into group (cap bytes), 0 if neither line is there. */
int mp_proc_cgroup(const char *text, char *group, size_t cap);

/* /sys/kernel/mm/transparent_hugepage/enabled, "always [madvise] never": the bracketed
 * mode as 0 (always), 1 (madvise), 2 (never), or -1. */
int mp_proc_thp_mode(const char *text);

/* /proc/PID/task/TID/syscall of a thread blocked in the kernel:
 *   "202 0x55d0c0a012a0 0x80 0x0 0x0 0x0 0x0 0x7f3a1fffe9f0 0x7f3a20e3c7d2"
 * (number, six arguments, stack pointer, program counter), or "-1 0x7ffd... 0x7f3a..."
 * when blocked outside a system call, or "running". Returns 1 with the stack pointer,
 * 0 when the text has none (the thread runs). */
int mp_proc_syscall_sp(const char *text, uint64_t *sp);

/* /proc/PID/statm, seven counts of pages (proc(5)):
 *   "4483 823 675 6 0 186 0\n"
 * size (VIRT), resident (RSS), shared (its file-backed and shared memory part: RssFile +
 * RssShmem), text, lib, data, dt. Reads text[0..len), which need not end in a NUL.
 * Returns 1 with the first three in pages[0..2], 0 if the text does not start with
 * three numbers. */
int mp_proc_statm(const char *text, size_t len, uint64_t pages[3]);

/* /proc/PID/task/TID/stat, "1234 (a name) S 1 ...": 1 if the thread is alive, 0 if it
 * is a zombie or dead (a main thread that called pthread_exit stays 'Z'). The state is
 * read after the last ')', so a name with spaces or parentheses does not fool it. */
int mp_proc_task_alive(const char *text);
/* The same line's state letter ('R', 'S', 'D', 'T' stopped, 't' traced, 'Z', 'X'), or 0
 * if the text is not such a line. */
char mp_proc_task_state(const char *text);

/* A hexadecimal field of /proc/PID/task/TID/status:
 *   SigBlk:	0000000000010000
 * Returns 1 with the value of the line of `key`, 0 if there is none. */
int mp_proc_hex_field(const char *text, const char *key, uint64_t *value);

#endif
