/* debug_cache.h: inflated debug files kept on disk by build-id.
 *
 * Inflating a debug package's DWARF (debug_inflate.h) is most of what a report spends on
 * symbols: 13 ms of CPU and 10 MB of fresh memory for libc alone, again at every report.
 * The image is therefore also written to a cache directory, named after the build-id
 * (which names the contents exactly, so an entry never goes stale), and later reports
 * read it from there as it is.
 *
 * The directory is $MEMPROF_DEBUG_CACHE when that is an absolute path, else
 * $XDG_CACHE_HOME/memprof/debug, else ~/.cache/memprof/debug; MEMPROF_DEBUG_CACHE=0
 * turns the cache off. Entries are written whole under a temporary name and renamed,
 * checked when read (an entry that fails is replaced), and the least recently used go
 * once the directory holds more than MP_DEBUG_CACHE_MAX_BYTES. Nothing here is ever an
 * error for the report: without a usable directory the image is made in memory only.
 */
#ifndef MEMPROF_DEBUG_CACHE_H
#define MEMPROF_DEBUG_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define MP_DEBUG_CACHE_MAX_BYTES (1ull << 30)

/* A descriptor (close-on-exec, the caller's) of the inflated image of the debug file
 * open on `debug_fd`, whose build-id is `build_id`: the cached one when there is a good
 * one, else one made now (and stored). -1 when there is nothing to inflate or the file is
 * not of that build: the caller then leaves the file to libdw. */
int mp_debug_cache_open(int debug_fd, const uint8_t *build_id, size_t build_id_len);

/* Removes the least recently used entries of `dir` (by modification time, which a read
 * of the entry renews) until they take at most `max_bytes` of disk, and temporary files
 * left more than an hour ago by a writer that did not finish. */
void mp_debug_cache_trim(const char *dir, uint64_t max_bytes);

#endif
