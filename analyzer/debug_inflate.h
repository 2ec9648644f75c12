/* debug_inflate.h: a debug file's compressed DWARF, inflated once into memory.
 *
 * Debian's -dbg and -dbgsym packages ship their DWARF in zlib-compressed sections
 * (SHF_COMPRESSED). libdw inflates every such section with zlib as soon as a module's
 * DWARF is opened: for libc's debug file, 10 MB in about 35 ms here, most of what a
 * report spends on symbols. libdeflate does the same work in about 13 ms. This builds, in
 * an anonymous memory file, an ELF image of the debug file whose sections are already
 * inflated, which libdw then reads as it is.
 */
#ifndef MEMPROF_DEBUG_INFLATE_H
#define MEMPROF_DEBUG_INFLATE_H

#include <stddef.h>
#include <stdint.h>

/* A close-on-exec descriptor of a memory file holding `fd`'s ELF image with its
 * zlib-compressed sections inflated; the caller owns it. Location lists (.debug_loc,
 * .debug_loclists), which finding functions, files and lines never reads, are left out of
 * it. Returns -1, leaving nothing behind, when the file's GNU build-id note is not
 * `build_id`, when there is nothing to inflate, when a section is compressed otherwise
 * than with zlib (zstd), when `fd` is not a 64-bit little-endian ELF file whose section
 * table and sections lie within it, when a section does not inflate to its recorded
 * size, or when no memory file can be made: the caller then leaves the file to libdw.
 * `fd` is not closed. */
int mp_debug_inflate(int fd, const uint8_t *build_id, size_t build_id_len);

/* 0 if `fd` holds an image such as mp_debug_inflate makes (or any ELF file without
 * compressed sections) of build `build_id`, whose section table and sections lie within
 * it; -1 otherwise. For images kept on disk (debug_cache.h), which may have been cut
 * short or replaced. */
int mp_debug_image_check(int fd, const uint8_t *build_id, size_t build_id_len);

#endif
