/* trace_builder.h: building synthetic memprof traces for tests, record by record.
 *
 * A builder holds a file header and chunks per thread, encoded exactly as the preload
 * writes them (trace_format.h): delta bases restart per chunk, and a record that does not
 * fit opens the thread's next chunk. Chunks land in the file in the order they were
 * opened, interleaving threads as a real trace does. Times within a thread must not go
 * backwards (times are unsigned deltas). Out of memory or misuse aborts: test code only.
 *
 *     struct mp_tb *tb = mp_tb_new();
 *     uint64_t frames[] = { 0x401234, 0x401100 };
 *     mp_tb_stack(tb, 1, 7, 0, frames, 2);
 *     mp_tb_malloc(tb, 1, 100, 0x5000, 32, 7);
 *     mp_tb_free(tb, 1, 200, 0x5000);
 *     mp_tb_write(tb, "t.memprof");
 *     mp_tb_destroy(tb);
 */
#ifndef MEMPROF_TRACE_BUILDER_H
#define MEMPROF_TRACE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "memprof/trace_format.h"

struct mp_tb;

/* A builder with a valid header: page size 4096, chunk capacity 4096, pid 4242, exe
 * "/usr/bin/testprog", cmdline "testprog\0arg", end state MP_END_EXIT with status 0. */
struct mp_tb *mp_tb_new(void);
void mp_tb_destroy(struct mp_tb *tb);

/* The header to edit before writing; header_size and the string fields are filled in
 * when the file is assembled. */
struct mp_file_header *mp_tb_header(struct mp_tb *tb);
void mp_tb_set_exe(struct mp_tb *tb, const char *exe);
void mp_tb_set_cmdline(struct mp_tb *tb, const char *cmdline, size_t len);
/* Page size (a power of two >= 128) and the capacity of chunks opened from now on (a
 * multiple of the page size). Set the page size before any record. */
void mp_tb_set_page_size(struct mp_tb *tb, uint32_t page_size);
void mp_tb_set_chunk_capacity(struct mp_tb *tb, uint32_t capacity);

/* Declares thread `serial` with kernel id `tid`; optional (the default tid is
 * 1000 + serial). */
void mp_tb_thread(struct mp_tb *tb, uint32_t serial, uint32_t tid);
/* Ends the thread's current chunk; its next record opens a new chunk whose base time is
 * `base_time` (must not exceed the next record's time). */
void mp_tb_new_chunk(struct mp_tb *tb, uint32_t serial, uint64_t base_time);
/* From now on chunks carry a file_seq (1, 2, ... in file order), as a writer that ends its
 * trace with MP_REC_END numbers them; and how many chunks there are so far. */
void mp_tb_number_chunks(struct mp_tb *tb);
size_t mp_tb_chunks(const struct mp_tb *tb);
/* Sets dropped_events / flags of the thread's current chunk (opening one if needed). */
void mp_tb_set_dropped(struct mp_tb *tb, uint32_t serial, uint32_t dropped_events);
void mp_tb_set_chunk_flags(struct mp_tb *tb, uint32_t serial, uint32_t flags);

/* Events. `tag` of mp_tb_alloc is MP_REC_MALLOC .. MP_REC_PVALLOC. */
void mp_tb_malloc(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr,
		  uint64_t size, uint64_t stack_id);
void mp_tb_alloc(struct mp_tb *tb, uint32_t serial, enum mp_record_tag tag, uint64_t time,
		 uint64_t addr, uint64_t size, uint64_t stack_id);
void mp_tb_free(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr);
void mp_tb_realloc(struct mp_tb *tb, uint32_t serial, uint64_t time_before,
		   uint64_t time_after, uint64_t old_addr, uint64_t new_addr, uint64_t size,
		   uint64_t stack_id);
void mp_tb_alloc_failed(struct mp_tb *tb, uint32_t serial, uint64_t time,
			enum mp_record_tag function, uint64_t size, uint64_t stack_id);
void mp_tb_mmap(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr,
		uint64_t length, uint32_t prot, uint32_t flags, int32_t fd, uint64_t offset,
		uint64_t stack_id);
void mp_tb_munmap(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr,
		  uint64_t length);
void mp_tb_mremap(struct mp_tb *tb, uint32_t serial, uint64_t time_before,
		  uint64_t time_after, uint64_t old_addr, uint64_t old_length, uint64_t new_addr,
		  uint64_t new_length, uint32_t flags, uint64_t stack_id);
void mp_tb_brk(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t old_break,
	       uint64_t new_break, uint64_t stack_id);

/* Extended records. Frames are return addresses, innermost first (at most
 * MP_MAX_FRAMES_LIMIT); build_id may be NULL when build_id_len is 0. */
void mp_tb_stack(struct mp_tb *tb, uint32_t serial, uint64_t stack_id, uint32_t generation,
		 const uint64_t *frames, uint32_t frame_count);
/* A STACK_SHARED record: frames[0..frame_count - shared) written, the outermost `shared`
 * frames those of parent_id (trace_format.h). */
void mp_tb_stack_shared(struct mp_tb *tb, uint32_t serial, uint64_t stack_id,
			uint32_t generation, uint64_t parent_id, uint32_t shared,
			const uint64_t *frames, uint32_t frame_count);
void mp_tb_module(struct mp_tb *tb, uint32_t serial, uint32_t generation, uint64_t start,
		  uint64_t end, uint64_t load_bias, const char *path, const uint8_t *build_id,
		  size_t build_id_len);
/* Any extended record: tag (>= MP_REC_EXTENDED), then u body_length and the body. */
void mp_tb_extended(struct mp_tb *tb, uint32_t serial, unsigned tag, const void *body,
		    size_t body_len);
/* What the process writes as it calls exit(): LEAK_CLASS (count blocks at addrs[],
 * ascending, with kinds[], MP_LEAK_KIND_*) and LEAK_SUMMARY (status 0: the scan ran; else
 * its errno; flags MP_LEAK_SCAN_*), the other fields zero. */
void mp_tb_leak_class(struct mp_tb *tb, uint32_t serial, const uint64_t *addrs,
		      const unsigned *kinds, size_t count);
void mp_tb_leak_summary(struct mp_tb *tb, uint32_t serial, uint32_t status, uint32_t flags);
/* A snapshot without mappings: SNAPSHOT (seq, reason, time_ns, page 4096, as its only
 * figure the thread count `threads` unless 0), then, if `ended`, its SNAPSHOT_END. */
void mp_tb_snapshot(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint32_t reason,
		    uint64_t time_ns, uint64_t threads, int ended);
/* The SNAPSHOT_END of a snapshot begun with `ended` 0: its count of mappings, and why
 * smaps could not be read (smaps_errno, 0 if it was). */
void mp_tb_snapshot_end(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint64_t time_ns,
			uint64_t mappings, int smaps_errno);
/* A MAPPING record of snapshot `seq` (no smaps figures, none of it memprof's own). */
void mp_tb_mapping(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint64_t start,
		   uint64_t length, uint32_t perms, uint64_t file_offset, uint32_t kind,
		   const char *path);
/* Raw bytes appended to the thread's current chunk, for corruption tests. */
void mp_tb_raw(struct mp_tb *tb, uint32_t serial, const void *bytes, size_t len);

/* Assembles the file into a malloc'd buffer (*out, *len; caller frees). Returns 0. */
int mp_tb_bytes(struct mp_tb *tb, uint8_t **out, size_t *len);
/* File offset of chunk `seq` of thread `serial` in the assembled file, or 0 if none. */
size_t mp_tb_chunk_offset(struct mp_tb *tb, uint32_t serial, uint32_t seq);
/* Writes the assembled file to `path`. Returns 0 or a negative errno. */
int mp_tb_write(struct mp_tb *tb, const char *path);
/* Writes any bytes to `path` (for hand-damaged traces). Returns 0 or a negative errno. */
int mp_tb_write_bytes(const char *path, const void *data, size_t len);

#endif
