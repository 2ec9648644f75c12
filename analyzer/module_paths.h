/* module_paths.h: whether a file mapped in a snapshot is one of the objects the program
 * loaded (its code and data) or some other file (page cache), by canonical path.
 *
 * The trace's MODULE records name an object as the loader found it
 * (/lib/x86_64-linux-gnu/libc.so.6, libstdc++.so.6), smaps by the path of the file the
 * kernel mapped (/usr/lib/x86_64-linux-gnu/libc.so.6 under Debian's merged /usr,
 * libstdc++.so.6.0.30). Both are compared after resolving symbolic links on this machine
 * (realpath); a path that does not resolve here (the trace is read on another machine,
 * the file was deleted) is compared as it is written.
 */
#ifndef MEMPROF_MODULE_PATHS_H
#define MEMPROF_MODULE_PATHS_H

#include "trace_read.h"

struct mp_module_paths;

/* The canonical paths of every object in every module map of `trace`; NULL on ENOMEM. */
struct mp_module_paths *mp_module_paths_new(const struct mp_trace *trace);
void mp_module_paths_free(struct mp_module_paths *paths);

/* 1 if `path` (as smaps gives it) is, once canonical, the path of a loaded object. The
 * answer for the last path asked is kept: a loaded object's mappings come in a row. */
int mp_module_paths_has(struct mp_module_paths *paths, const char *path);

#endif
