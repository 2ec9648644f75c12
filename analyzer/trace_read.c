/* trace_read.c: opening and validating a trace, walking its chunks, and the accessors.
 *
 * Opening walks the chunks once: each chunk header is checked (memprof/trace_decode.h);
 * then the index pass (trace_index.c) decodes every record, and the merge (trace_merge.c)
 * puts one cursor per thread at its first event. Memory does not grow with the number of
 * events.
 *
 * Damage is tolerated, not fatal: an invalid chunk header makes the walk resynchronize at
 * the next page, a record that does not decode ends its chunk, and both are counted in
 * mp_trace_stats so the report can say the trace is incomplete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memprof/varint.h"
#include "trace_private.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the reader copies little-endian headers as they are");

#define READ_MIN_PAGE 128u        /* the file header must fit in one page */
#define READ_MAX_PAGE (1u << 24)
/* Traces above this size are read through a window rather than kept resident. */
#define READ_WINDOW_BYTES (16ull << 20)

static int read_fail(char *err, size_t err_len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes the one-line message and returns `code`, so callers can `return read_fail(...)`. */
static int read_fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
	if (err && err_len) {
		va_list args;
		va_start(args, fmt);
		vsnprintf(err, err_len, fmt, args);
		va_end(args);
	}
	return code;
}

/* ---- header ---- */

static int read_string_field(const struct mp_trace *trace, uint32_t offset, uint32_t len,
			     char **out)
{
	if (len != 0 && (offset < sizeof(struct mp_file_header) ||
			 (uint64_t)offset + len > trace->header.header_size))
		return -EINVAL;
	/* A file cut inside its header keeps the part of the string that made it. */
	if ((uint64_t)offset + len > trace->size)
		len = offset < trace->size ? (uint32_t)(trace->size - offset) : 0;
	*out = malloc((size_t)len + 1);
	if (!*out)
		return -ENOMEM;
	if (len)
		memcpy(*out, trace->data + offset, len);
	(*out)[len] = '\0';
	return 0;
}

static int read_header(struct mp_trace *trace, char *err, size_t err_len)
{
	const struct mp_file_header *h = &trace->header;
	if (trace->size == 0)
		return read_fail(err, err_len, -EINVAL, "trace is empty");
	if (trace->size < MP_TRACE_MAGIC_LEN || memcmp(trace->data, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN))
		return read_fail(err, err_len, -EINVAL, "not a memprof trace (bad magic)");
	if (trace->size < sizeof(*h))
		return read_fail(err, err_len, -EINVAL, "trace header truncated (%zu of %zu bytes)",
				 trace->size, sizeof(*h));
	memcpy(&trace->header, trace->data, sizeof(*h));
	if (h->version < MP_TRACE_VERSION_OLDEST || h->version > MP_TRACE_VERSION)
		return read_fail(err, err_len, -ENOTSUP,
				 "unsupported trace version %u (this memprof reads versions %u to %u)",
				 h->version, MP_TRACE_VERSION_OLDEST, MP_TRACE_VERSION);
	if (h->page_size < READ_MIN_PAGE || h->page_size > READ_MAX_PAGE ||
	    (h->page_size & (h->page_size - 1)))
		return read_fail(err, err_len, -EINVAL, "trace header is corrupt (page size %u)",
				 h->page_size);
	if (h->header_size < sizeof(*h) || h->header_size % h->page_size)
		return read_fail(err, err_len, -EINVAL, "trace header is corrupt (header size %u)",
				 h->header_size);
	/* Cut inside its header, after the fixed part: readable, and incomplete (no chunk). */
	if (h->header_size > trace->size)
		trace->stats.header_truncated = 1;
	int rc = read_string_field(trace, h->exe_offset, h->exe_len, &trace->exe);
	if (rc == 0)
		rc = read_string_field(trace, h->cmdline_offset, h->cmdline_len, &trace->cmdline);
	if (rc == -ENOMEM)
		return read_fail(err, err_len, rc, "out of memory");
	if (rc < 0)
		return read_fail(err, err_len, rc, "trace header is corrupt (string outside header)");
	trace->cmdline_len = h->cmdline_len;
	if ((uint64_t)h->cmdline_offset + h->cmdline_len > trace->size)
		trace->cmdline_len = h->cmdline_offset < trace->size ? trace->size - h->cmdline_offset : 0;
	return 0;
}

/* ---- chunk walk ---- */

static int read_all_zero(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (bytes[i])
			return 0;
	return 1;
}

/* A sampled set chunk: kept if whole and newer than the one kept so far. */
static void read_sampled_set(struct mp_trace *trace, size_t offset, const struct mp_chunk_header *c)
{
	struct mp_sampled_set_header set;
	size_t avail = trace->size - offset;
	if (avail > c->capacity)
		avail = c->capacity;
	if (avail < sizeof(*c) + sizeof(set))
		return;
	memcpy(&set, trace->data + offset + sizeof(*c), sizeof(set));
	size_t room = (avail - sizeof(*c) - sizeof(set)) / sizeof(struct mp_sampled_set_entry);
	if (set.generation == 0 || set.capacity > room ||
	    set.generation <= trace->sampled_set_generation)
		return;
	trace->sampled_set = (const struct mp_sampled_set_entry *)(trace->data + offset +
								   sizeof(*c) + sizeof(set));
	trace->sampled_set_capacity = set.capacity;
	trace->sampled_set_generation = set.generation;
}

static int read_add_chunk(struct mp_trace *trace, size_t *cap, size_t offset,
			  const struct mp_chunk_header *c)
{
	if (c->file_seq) {
		trace->stats.numbered_chunks++;
		if (c->file_seq > trace->stats.last_file_seq)
			trace->stats.last_file_seq = c->file_seq;
	}
	if (c->flags & MP_CHUNK_SAMPLED_SET) {
		read_sampled_set(trace, offset, c);
		return 0;
	}
	if (trace->chunk_count == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 64;
		void *grown = realloc(trace->chunks, new_cap * sizeof(*trace->chunks));
		if (!grown)
			return -ENOMEM;
		trace->chunks = grown;
		*cap = new_cap;
	}
	/* A chunk cut by the end of the file keeps the records that made it to disk. */
	size_t used = c->used;
	if (used > trace->size - offset)
		used = trace->size - offset;
	trace->chunks[trace->chunk_count] = (struct mp_trace_chunk){
		.records = trace->data + offset + sizeof(*c),
		.end = trace->data + offset + used,
		.base_time = c->base_time_ns,
		.serial = c->thread_serial,
		.tid = c->tid,
		.seq = c->chunk_seq,
		.file_order = (uint32_t)trace->chunk_count,
		.flags = c->flags,
	};
	trace->chunk_count++;
	trace->stats.dropped_events += c->dropped_events;
	return 0;
}

/* Gives back, in a trace read through a window, the pages that reading the chunk header
 * at `offset` mapped, and what is left of the previous header's: the kernel maps up to 16
 * pages of the page cache around a fault, so a walk that kept them held a sixteenth of a
 * trace of 1 MiB chunks (400 MiB of a 6.5 GB one). */
static void read_release_walked(const struct mp_trace *trace, size_t *released, size_t offset)
{
	size_t end = offset + trace->header.page_size;
	mp_trace_release(trace, trace->data + *released,
			 trace->data + (end < trace->size ? end : trace->size));
	*released = offset;
}

/* Collects every valid chunk. An unwritten (zero) or invalid header is skipped a page at a
 * time, because a writer may reserve a chunk and be killed before filling its header. */
static int read_walk_chunks(struct mp_trace *trace)
{
	size_t page = trace->header.page_size, cap = 0, offset = trace->header.header_size;
	size_t released = offset;
	int in_bad_run = 0;
	while (offset < trace->size) {
		struct mp_chunk_header c;
		if (trace->size - offset < sizeof(c)) {
			trace->stats.truncated = 1;
			break;
		}
		memcpy(&c, trace->data + offset, sizeof(c));
		read_release_walked(trace, &released, offset);
		if (!mp_chunk_header_valid(&c, (uint32_t)page)) {
			if (read_all_zero(trace->data + offset, sizeof(c))) {
				trace->stats.unwritten_pages++;
			} else if (!in_bad_run) {
				trace->stats.corrupt_chunks++;
				in_bad_run = 1;
			}
			offset += page;
			continue;
		}
		in_bad_run = 0;
		if (read_add_chunk(trace, &cap, offset, &c) < 0)
			return -ENOMEM;
		if (c.capacity > trace->size - offset) {
			/* Records cut by the end of file are counted by the index pass. */
			trace->stats.truncated = 1;
			break;
		}
		offset += c.capacity;
	}
	return 0;
}

/* ---- public ---- */

static int read_load(struct mp_trace *trace, char *err, size_t err_len)
{
	int rc = read_header(trace, err, err_len);
	if (rc < 0)
		return rc;
	rc = read_walk_chunks(trace);
	/* What the walk's last headers mapped (read_release_walked). */
	mp_trace_release(trace, trace->data, trace->data + trace->size);
	if (rc == 0)
		rc = mp_trace_index(trace);
	if (rc == 0)
		rc = mp_modules_finish(&trace->modules);
	mp_freed_resolve(&trace->freed, &trace->stacks);
	if (rc == 0)
		rc = mp_trace_merge_build(trace);
	if (rc < 0)
		return read_fail(err, err_len, rc, "out of memory");
	return 0;
}

static int read_open(const void *data, size_t size, int window, struct mp_trace **out,
		     char *err, size_t err_len)
{
	struct mp_trace *trace = calloc(1, sizeof(*trace));
	if (!trace)
		return read_fail(err, err_len, -ENOMEM, "out of memory");
	trace->data = data;
	trace->size = size;
	trace->window = window;
	int rc = read_load(trace, err, err_len);
	if (rc < 0) {
		mp_trace_close(trace);
		return rc;
	}
	*out = trace;
	return 0;
}

/* A trace with holes (blocks short of its size) is read into memory rather than mapped:
 * a page that was never written has no block, and on tmpfs even reading it through a
 * mapping must allocate one, which a full file system answers with SIGBUS (an older
 * memprof's trace of a program that died of a full disk is such a file). read(2) gives
 * zeros for a hole instead. Returns the memory, or MAP_FAILED with errno set. */
static void *read_into_memory(int fd, size_t size)
{
	void *copy = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED)
		return copy;
	for (size_t have = 0; have < size;) {
		ssize_t got = pread(fd, (char *)copy + have, size - have, (off_t)have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break; /* shorter now than it was: the rest stays zeros, read as cut short */
		have += (size_t)got;
	}
	mprotect(copy, size, PROT_READ);
	return copy;
}

int mp_trace_open_memory(const void *data, size_t size, struct mp_trace **out, char *err,
			 size_t err_len)
{
	return read_open(data, size, 0, out, err, err_len);
}

int mp_trace_open(const char *path, struct mp_trace **out, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return read_fail(err, err_len, -errno, "cannot open: %s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int code = -errno;
		close(fd);
		return read_fail(err, err_len, code, "cannot stat: %s", strerror(-code));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return read_fail(err, err_len, -EINVAL, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return read_fail(err, err_len, -EINVAL, "trace is empty");
	}
	/* A small trace is mapped whole, populated: the index pass reads every byte at once
	 * anyway, and one call costs less than the page faults one by one (5.5 -> 3 ms for
	 * 8 MB). A big one is read through a window (mp_trace_release). A trace with holes is
	 * read into memory (read_into_memory), never through a window: dropping pages of
	 * anonymous memory would lose them. */
	int holes = (uint64_t)st.st_blocks * 512u < (uint64_t)st.st_size;
	int window = !holes && (uint64_t)st.st_size > READ_WINDOW_BYTES;
	void *map = holes ? read_into_memory(fd, (size_t)st.st_size)
			  : mmap(NULL, (size_t)st.st_size, PROT_READ,
				 MAP_PRIVATE | (window ? 0 : MAP_POPULATE), fd, 0);
	int map_errno = errno;
	close(fd);
	if (map == MAP_FAILED)
		return read_fail(err, err_len, -map_errno, "cannot map: %s", strerror(map_errno));
	int rc = read_open(map, (size_t)st.st_size, window, out, err, err_len);
	if (rc < 0) {
		munmap(map, (size_t)st.st_size);
		return rc;
	}
	(*out)->mapped = 1;
	return 0;
}

void mp_trace_close(struct mp_trace *trace)
{
	if (!trace)
		return;
	if (trace->mapped)
		munmap((void *)trace->data, trace->size);
	free(trace->exe);
	free(trace->cmdline);
	free(trace->chunks);
	free(trace->streams);
	free(trace->heap);
	mp_stacks_free(&trace->stacks);
	mp_modules_free(&trace->modules);
	free(trace->ext);
	mp_freed_free(&trace->freed);
	free(trace);
}

const struct mp_file_header *mp_trace_header(const struct mp_trace *trace)
{
	return &trace->header;
}

size_t mp_trace_size(const struct mp_trace *trace)
{
	return trace->size;
}

int mp_trace_thread_ended(const struct mp_trace *trace, uint32_t serial)
{
	for (size_t i = 0; i < trace->stream_count; i++) {
		const struct mp_trace_stream *stream = &trace->streams[i];
		if (stream->first_chunk->serial == serial)
			return (stream->chunks_end[-1].flags & MP_CHUNK_LAST) != 0;
	}
	return -1;
}

const char *mp_trace_exe(const struct mp_trace *trace)
{
	return trace->exe;
}

const char *mp_trace_cmdline(const struct mp_trace *trace, size_t *len)
{
	if (len)
		*len = trace->cmdline_len;
	return trace->cmdline;
}

uint32_t mp_trace_stack_count(const struct mp_trace *trace)
{
	return trace->stacks.canon_count;
}

const uint64_t *mp_trace_stack(const struct mp_trace *trace, uint32_t id, uint32_t *frame_count,
			       uint32_t *generation)
{
	if (id == 0 || id > trace->stacks.canon_count) {
		if (frame_count)
			*frame_count = 0;
		if (generation)
			*generation = 0;
		return NULL;
	}
	const struct mp_canon_stack *stack = &trace->stacks.canon[id - 1];
	if (frame_count)
		*frame_count = stack->frame_count;
	if (generation)
		*generation = stack->generation;
	/* An empty stack still gets a valid pointer, so NULL always means "no such id". */
	static const uint64_t no_frames[1];
	return trace->stacks.frames ? &trace->stacks.frames[stack->frames_at] : no_frames;
}

const struct mp_module *mp_trace_modules(const struct mp_trace *trace, uint32_t generation,
					 size_t *count)
{
	const struct mp_module_gen *map = mp_modules_map(&trace->modules, generation);
	*count = map ? map->count : 0;
	return map ? &trace->modules.modules[map->first] : NULL;
}

const struct mp_module *mp_trace_module_at(const struct mp_trace *trace, uint32_t generation,
					   uint64_t ip)
{
	size_t count;
	const struct mp_module *map = mp_trace_modules(trace, generation, &count);
	size_t low = 0, high = count; /* the last module whose start <= ip */
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		if (map[mid].start <= ip)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0 || ip >= map[low - 1].end)
		return NULL;
	return &map[low - 1];
}

uint64_t mp_trace_live_hint(const struct mp_trace *trace)
{
	return trace->live_hint;
}

void mp_trace_stats(const struct mp_trace *trace, struct mp_trace_stats *stats)
{
	*stats = trace->stats;
}

const char *mp_trace_stop_text(const struct mp_file_header *header, char *buf, size_t len)
{
	int err = header->stop_errno;
	switch (header->stop_reason) {
	case MP_STOP_NONE:
		snprintf(buf, len, "%s", "");
		break;
	case MP_STOP_DISK_FULL:
		snprintf(buf, len, "recording stopped: the disk was full (%s)", strerror(err));
		break;
	case MP_STOP_FILE_REPLACED:
		snprintf(buf, len, "recording stopped: the trace file was removed or replaced");
		break;
	case MP_STOP_SANDBOXED:
		snprintf(buf, len, "recording stopped: the process put a seccomp filter on itself, "
				   "after which memprof makes no system call");
		break;
	default:
		if (err == EFBIG)
			snprintf(buf, len, "recording stopped: the trace file reached the process's "
					   "file size limit (RLIMIT_FSIZE, ulimit -f)");
		else
			snprintf(buf, len, "recording stopped: the trace file could not grow (%s)",
				 err ? strerror(err) : "unknown error");
	}
	return buf;
}

/* The causes an exit without exit work can have, the surest first. */
static const char *read_no_exit_work(const struct mp_file_header *header, uint32_t skipped)
{
	if (header->stop_reason == MP_STOP_DISK_FULL)
		return "recording stopped early, the disk being full";
	if (header->stop_reason == MP_STOP_SANDBOXED)
		return "recording stopped early, the process putting a seccomp filter on itself";
	if (header->stop_reason != MP_STOP_NONE)
		return "recording stopped early, the trace file not growing";
	if ((header->flags & MP_TRACE_EXIT_IN_HANDLER) && (header->flags & skipped))
		return "exit() was called by a signal handler that interrupted memprof while it "
		       "held a lock this needs";
	switch (header->end_state) {
	case MP_END_RUNNING:
		return "the process did not exit: it was killed or crashed, or is still running";
	case MP_END_EXEC:
		return "the process replaced itself by execve()";
	case MP_END_SIGNAL:
		return "the process was killed by a signal where memprof could not take it "
		       "(on a small alternate signal stack, or inside memprof)";
	default:
		return NULL;
	}
}

const char *mp_trace_no_kinds_text(const struct mp_file_header *header)
{
	if (header->flags & MP_TRACE_FOREIGN_MALLOC)
		return "the program's malloc was not memprof's, so no allocation was recorded";
	const char *why = read_no_exit_work(header, MP_TRACE_LEAK_CHECK_SKIPPED);
	if (why)
		return why;
	if (header->end_state == MP_END_EXIT_NOW)
		return "the process ended by _exit(), which runs no leak check";
	if (header->flags & MP_TRACE_LEAK_CHECK_OFF)
		return "MEMPROF_LEAK_CHECK=0";
	return "MEMPROF_LEAK_CHECK=0, or an older memprof wrote the trace";
}

const char *mp_trace_no_exit_snapshot_text(const struct mp_file_header *header)
{
	const char *why = read_no_exit_work(header, MP_TRACE_EXIT_SNAPSHOT_SKIPPED);
	return why ? why : "MEMPROF_SNAPSHOT_EXIT=0, or an older memprof wrote the trace";
}

const struct mp_ext_record *mp_trace_ext_records(const struct mp_trace *trace, size_t *count)
{
	*count = trace->ext_count;
	return trace->ext;
}

const struct mp_freed_table *mp_trace_freed_samples(const struct mp_trace *trace)
{
	return &trace->freed;
}

uint32_t mp_trace_stack_canonical(const struct mp_trace *trace, uint64_t raw_id)
{
	return mp_stacks_lookup(&trace->stacks, raw_id);
}

const struct mp_sampled_set_entry *mp_trace_sampled_set(const struct mp_trace *trace,
							 size_t *count)
{
	*count = trace->sampled_set ? (size_t)trace->sampled_set_capacity : 0;
	return trace->sampled_set;
}
