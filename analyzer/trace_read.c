/* trace_read.c: validating a trace, indexing its chunks and merging the threads' events.
 *
 * Opening walks the chunks once: each chunk header is checked, every record is decoded
 * (events have no length, so finding the STACK and MODULE records means decoding all of
 * them; large traces are scanned on two threads), and the point where a chunk's records
 * stop decoding is remembered, so the merge later never meets a bad record. The merge
 * keeps one cursor per thread in a binary heap and decodes straight from the mapping:
 * memory does not grow with the number of events.
 *
 * Damage is tolerated, not fatal: an invalid chunk header makes the walk resynchronize at
 * the next page, a record that does not decode ends its chunk, and both are counted in
 * mp_trace_stats so the report can say the trace is incomplete.
 */
#include "trace_read.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "freed_samples.h"
#include "memprof/varint.h"
#include "record_decode.h"
#include "trace_tables.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the reader copies little-endian headers as they are");

#define READ_MIN_PAGE 128u        /* the file header must fit in one page */
#define READ_MAX_PAGE (1u << 24)

/* One chunk that passed validation; records are [records, end). */
struct read_chunk {
	const uint8_t *records, *end;
	uint64_t base_time;
	uint32_t serial, tid, seq, file_order;
};

/* One thread's position in the merge: the next event is decoded ahead in `next`. */
struct read_stream {
	struct mp_raw_event next;
	uint64_t key_time;  /* the release time for realloc/mremap, else the event time */
	uint64_t key_rank;  /* releases first at equal times, then by thread serial */
	const uint8_t *at, *end;
	struct mp_decode_state state;
	const struct read_chunk *chunk, *first_chunk, *chunks_end;
};

struct mp_trace {
	const uint8_t *data;
	size_t size;
	int mapped;
	struct mp_file_header header;
	char *exe, *cmdline;
	size_t cmdline_len;
	struct read_chunk *chunks;
	size_t chunk_count;
	struct read_stream *streams;
	struct read_stream **heap;
	size_t stream_count, heap_len;
	struct mp_stack_table stacks;
	struct mp_module_table modules;
	struct mp_trace_stats stats;
	struct mp_ext_record *ext;  /* extended records of kinds other than STACK and MODULE */
	size_t ext_count, ext_cap;
	struct mp_freed_table freed; /* SAMPLES_FREED records, summed per stack */
	/* The sampled set with the highest generation (MP_CHUNK_SAMPLED_SET); NULL if none. */
	const struct mp_sampled_set_entry *sampled_set;
	uint64_t sampled_set_capacity, sampled_set_generation;
};

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
	if (h->version != MP_TRACE_VERSION)
		return read_fail(err, err_len, -ENOTSUP,
				 "unsupported trace version %u (this memprof reads version %u)",
				 h->version, MP_TRACE_VERSION);
	if (h->page_size < READ_MIN_PAGE || h->page_size > READ_MAX_PAGE ||
	    (h->page_size & (h->page_size - 1)))
		return read_fail(err, err_len, -EINVAL, "trace header is corrupt (page size %u)",
				 h->page_size);
	if (h->header_size < sizeof(*h) || h->header_size % h->page_size)
		return read_fail(err, err_len, -EINVAL, "trace header is corrupt (header size %u)",
				 h->header_size);
	if (h->header_size > trace->size)
		return read_fail(err, err_len, -EINVAL, "trace header truncated (%zu of %u bytes)",
				 trace->size, h->header_size);
	int rc = read_string_field(trace, h->exe_offset, h->exe_len, &trace->exe);
	if (rc == 0)
		rc = read_string_field(trace, h->cmdline_offset, h->cmdline_len, &trace->cmdline);
	if (rc == -ENOMEM)
		return read_fail(err, err_len, rc, "out of memory");
	if (rc < 0)
		return read_fail(err, err_len, rc, "trace header is corrupt (string outside header)");
	trace->cmdline_len = h->cmdline_len;
	return 0;
}

/* ---- chunk walk ---- */

static int read_chunk_valid(const struct mp_chunk_header *c, uint32_t page_size)
{
	return c->magic == MP_CHUNK_MAGIC && c->header_size == sizeof(*c) &&
	       c->capacity >= sizeof(*c) && c->capacity % page_size == 0 &&
	       c->used >= sizeof(*c) && c->used <= c->capacity;
}

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
	trace->chunks[trace->chunk_count] = (struct read_chunk){
		.records = trace->data + offset + sizeof(*c),
		.end = trace->data + offset + used,
		.base_time = c->base_time_ns,
		.serial = c->thread_serial,
		.tid = c->tid,
		.seq = c->chunk_seq,
		.file_order = (uint32_t)trace->chunk_count,
	};
	trace->chunk_count++;
	trace->stats.dropped_events += c->dropped_events;
	return 0;
}

/* Collects every valid chunk. An unwritten (zero) or invalid header is skipped a page at a
 * time, because a writer may reserve a chunk and be killed before filling its header. */
static int read_walk_chunks(struct mp_trace *trace)
{
	size_t page = trace->header.page_size, cap = 0, offset = trace->header.header_size;
	int in_bad_run = 0;
	while (offset < trace->size) {
		struct mp_chunk_header c;
		if (trace->size - offset < sizeof(c)) {
			trace->stats.truncated = 1;
			break;
		}
		memcpy(&c, trace->data + offset, sizeof(c));
		if (!read_chunk_valid(&c, (uint32_t)page)) {
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

/* ---- index pass: stacks, modules, where each chunk's records stop ---- */

static int read_stack_record(struct mp_trace *trace, const uint8_t *p, const uint8_t *end)
{
	uint64_t raw_id, generation, count, frames[MP_MAX_FRAMES_LIMIT], ip = 0;
	if (mp_get_u(&p, end, &raw_id) || mp_get_u(&p, end, &generation) ||
	    mp_get_u(&p, end, &count) || generation > UINT32_MAX || count > MP_MAX_FRAMES_LIMIT ||
	    count > (uint64_t)(end - p))
		return -EINVAL;
	for (uint64_t i = 0; i < count; i++) {
		int64_t delta;
		if (mp_get_s(&p, end, &delta))
			return -EINVAL;
		ip += (uint64_t)delta;
		frames[i] = ip;
	}
	return mp_stacks_add(&trace->stacks, raw_id, (uint32_t)generation, frames, (uint32_t)count);
}

/* Reads "u length, bytes" into *bytes / *len. */
static int read_string(const uint8_t **p, const uint8_t *end, const uint8_t **bytes,
		       uint64_t *len)
{
	if (mp_get_u(p, end, len) || *len > (uint64_t)(end - *p))
		return -1;
	*bytes = *p;
	*p += *len;
	return 0;
}

static int read_module_record(struct mp_trace *trace, const uint8_t *p, const uint8_t *end)
{
	uint64_t generation, length, bias, path_len, id_len;
	int64_t start;
	const uint8_t *path, *build_id;
	if (mp_get_u(&p, end, &generation) || mp_get_s(&p, end, &start) ||
	    mp_get_u(&p, end, &length) || mp_get_u(&p, end, &bias) ||
	    read_string(&p, end, &path, &path_len) || read_string(&p, end, &build_id, &id_len) ||
	    generation > UINT32_MAX || (uint64_t)start + length < (uint64_t)start)
		return -EINVAL;
	/* The path may hold a NUL; it then ends there, as a C string would. */
	const uint8_t *nul = memchr(path, '\0', path_len);
	if (nul)
		path_len = (uint64_t)(nul - path);
	return mp_modules_add(&trace->modules, (uint32_t)generation, (uint64_t)start,
			      (uint64_t)start + length, bias, path, path_len, build_id, id_len);
}

/* Keeps where a record of another kind is, for the modules that read it (leak classes,
 * snapshots); their bodies stay in the mapping. 0 or -ENOMEM. */
static int read_remember(struct mp_trace *trace, unsigned tag, const uint8_t *body,
			 const uint8_t *end, const struct read_chunk *chunk)
{
	if (trace->ext_count == trace->ext_cap) {
		size_t cap = trace->ext_cap ? trace->ext_cap * 2 : 16;
		void *grown = realloc(trace->ext, cap * sizeof(*trace->ext));
		if (!grown)
			return -ENOMEM;
		trace->ext = grown;
		trace->ext_cap = cap;
	}
	trace->ext[trace->ext_count++] = (struct mp_ext_record){
		.tag = tag, .thread_serial = chunk->serial, .body = body,
		.len = (size_t)(end - body) };
	return 0;
}

/* Decodes one extended record body. -EINVAL if it does not decode, -ENOMEM. */
static int read_extended(struct mp_trace *trace, unsigned tag, const uint8_t *body,
			 const uint8_t *end, const struct read_chunk *chunk)
{
	if (tag == MP_REC_STACK)
		return read_stack_record(trace, body, end);
	if (tag == MP_REC_MODULE)
		return read_module_record(trace, body, end);
	if (tag == MP_REC_SAMPLES_FREED)
		return mp_freed_add_record(&trace->freed, body, end);
	return read_remember(trace, tag, body, end, chunk);
}

/* The index pass has two halves. The scan steps over every record of a chunk (events
 * have no length, so finding the extended records means decoding all of them) and notes
 * where each extended record is; it touches nothing shared, so chunks are scanned on two
 * threads at once. Then, in file order, the extended records are applied to the tables
 * (stacks, modules, counts), which decides the canonical stack ids and so must not
 * depend on timing. */
struct read_ext_at {
	const uint8_t *record, *body;
	uint64_t len;
	uint64_t events_before; /* events of the chunk before this record */
	unsigned tag;
};

struct read_scan {
	struct read_ext_at *ext;
	size_t count, cap;
	uint64_t events;
	const uint8_t *cut;     /* where a record failed to decode; NULL if none did */
	int enomem;
};

static void read_scan_note(struct read_scan *scan, const struct read_ext_at *at)
{
	if (scan->count == scan->cap) {
		size_t cap = scan->cap ? scan->cap * 2 : 16;
		void *grown = realloc(scan->ext, cap * sizeof(*scan->ext));
		if (!grown) {
			scan->enomem = 1;
			return;
		}
		scan->ext = grown;
		scan->cap = cap;
	}
	scan->ext[scan->count++] = *at;
}

/* Steps over the records of `chunk` (mp_skip_event accepts what the merge's decoder will),
 * noting the extended ones, up to the first that does not decode. */
static void read_scan_chunk(const struct read_chunk *chunk, struct read_scan *scan)
{
	const uint8_t *p = chunk->records;
	while (p < chunk->end && !scan->enomem) {
		const uint8_t *record = p;
		unsigned tag = *p++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t len;
			if (mp_get_u(&p, chunk->end, &len) || len > (uint64_t)(chunk->end - p)) {
				scan->cut = record;
				return;
			}
			read_scan_note(scan, &(struct read_ext_at){ record, p, len, scan->events, tag });
			p += len;
		} else if (mp_skip_event(&p, chunk->end, tag) == 0) {
			scan->events++;
		} else {
			scan->cut = record;
			return;
		}
	}
}

/* Applies a scanned chunk's extended records; on one that does not decode the chunk ends
 * there, as if the scan had stopped. 0 or -ENOMEM. */
static int read_apply_chunk(struct mp_trace *trace, struct read_chunk *chunk,
			    const struct read_scan *scan)
{
	for (size_t i = 0; i < scan->count; i++) {
		const struct read_ext_at *at = &scan->ext[i];
		int rc = read_extended(trace, at->tag, at->body, at->body + at->len, chunk);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			chunk->end = at->record;
			trace->stats.events += at->events_before;
			trace->stats.corrupt_chunks++;
			return 0;
		}
	}
	trace->stats.events += scan->events;
	if (scan->cut) {
		chunk->end = scan->cut;
		trace->stats.corrupt_chunks++;
	}
	return 0;
}

struct read_scan_job {
	const struct read_chunk *chunks;
	struct read_scan *scans;
	size_t from, to;
};

static void *read_scan_range(void *arg)
{
	struct read_scan_job *job = arg;
	for (size_t i = job->from; i < job->to; i++)
		read_scan_chunk(&job->chunks[i], &job->scans[i]);
	return NULL;
}

/* Below this many bytes of records a second thread costs more than it saves. */
#define READ_PARALLEL_BYTES (1u << 20)

/* Scans every chunk, the later half (by bytes) on a second thread when there is enough
 * to share, then applies them in file order. 0 or -ENOMEM. */
static int read_index(struct mp_trace *trace)
{
	size_t count = trace->chunk_count, total = 0, half = count;
	struct read_scan *scans = calloc(count ? count : 1, sizeof(*scans));
	if (!scans)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		total += (size_t)(trace->chunks[i].end - trace->chunks[i].records);
	for (size_t i = 0, bytes = 0; i < count && half == count; i++) {
		bytes += (size_t)(trace->chunks[i].end - trace->chunks[i].records);
		if (bytes * 2 >= total)
			half = i + 1;
	}
	struct read_scan_job first = { trace->chunks, scans, 0, half };
	struct read_scan_job second = { trace->chunks, scans, half, count };
	pthread_t helper;
	int threaded = total >= READ_PARALLEL_BYTES && half < count &&
		       pthread_create(&helper, NULL, read_scan_range, &second) == 0;
	read_scan_range(&first);
	if (threaded)
		pthread_join(helper, NULL);
	else
		read_scan_range(&second);
	int rc = 0;
	for (size_t i = 0; i < count; i++) {
		if (rc == 0)
			rc = scans[i].enomem ? -ENOMEM : read_apply_chunk(trace, &trace->chunks[i],
									  &scans[i]);
		free(scans[i].ext);
	}
	free(scans);
	return rc;
}

/* ---- threads and the merge ---- */

static int read_cmp_chunk(const void *left, const void *right)
{
	const struct read_chunk *a = left, *b = right;
	if (a->serial != b->serial)
		return a->serial < b->serial ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->file_order < b->file_order ? -1 : a->file_order > b->file_order;
}

static void read_enter_chunk(struct read_stream *stream, const struct read_chunk *chunk)
{
	stream->chunk = chunk;
	stream->at = chunk->records;
	stream->end = chunk->end;
	stream->state = (struct mp_decode_state){ 0, chunk->base_time };
}

static int read_is_release(const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_FREE: case MP_REC_MUNMAP: case MP_REC_MREMAP:
		return 1;
	case MP_REC_REALLOC:
		return event->old_addr != 0;
	default:
		return 0;
	}
}

/* Decodes the stream's next event into stream->next; returns 0 when the thread ends. The
 * index pass already cut every chunk before its first bad record, so the checks here are
 * only a second line of defence. */
static int read_stream_fill(struct read_stream *stream)
{
	for (;;) {
		if (stream->at >= stream->end) {
			if (stream->chunk + 1 >= stream->chunks_end)
				return 0;
			read_enter_chunk(stream, stream->chunk + 1);
			continue;
		}
		unsigned tag = *stream->at++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t len;
			if (mp_decode_u(&stream->at, stream->end, &len) ||
			    len > (uint64_t)(stream->end - stream->at))
				stream->at = stream->end;
			else
				stream->at += len;
			continue;
		}
		if (mp_decode_event(&stream->at, stream->end, tag, &stream->state, &stream->next)) {
			stream->at = stream->end;
			continue;
		}
		struct mp_event *event = &stream->next.event;
		event->thread_serial = stream->chunk->serial;
		event->tid = stream->chunk->tid;
		int release = read_is_release(event);
		stream->key_time = release ? event->time_before_ns : event->time_ns;
		stream->key_rank = ((uint64_t)!release << 32) | event->thread_serial;
		return 1;
	}
}

static inline int read_before(const struct read_stream *a, const struct read_stream *b)
{
	return a->key_time < b->key_time || (a->key_time == b->key_time && a->key_rank < b->key_rank);
}

static void read_sift_down(struct read_stream **heap, size_t len, size_t at)
{
	struct read_stream *moving = heap[at];
	for (;;) {
		size_t child = 2 * at + 1;
		if (child >= len)
			break;
		if (child + 1 < len && read_before(heap[child + 1], heap[child]))
			child++;
		if (!read_before(heap[child], moving))
			break;
		heap[at] = heap[child];
		at = child;
	}
	heap[at] = moving;
}

/* Puts every stream at its first event and builds the heap. */
static void read_start_merge(struct mp_trace *trace)
{
	trace->heap_len = 0;
	trace->stats.undefined_stacks = 0;
	for (size_t i = 0; i < trace->stream_count; i++) {
		struct read_stream *stream = &trace->streams[i];
		read_enter_chunk(stream, stream->first_chunk);
		if (read_stream_fill(stream))
			trace->heap[trace->heap_len++] = stream;
	}
	for (size_t i = trace->heap_len / 2; i-- > 0;)
		read_sift_down(trace->heap, trace->heap_len, i);
}

static int read_build_streams(struct mp_trace *trace)
{
	if (trace->chunk_count)
		qsort(trace->chunks, trace->chunk_count, sizeof(*trace->chunks), read_cmp_chunk);
	size_t threads = 0;
	for (size_t i = 0; i < trace->chunk_count; i++)
		threads += i == 0 || trace->chunks[i].serial != trace->chunks[i - 1].serial;
	trace->streams = calloc(threads ? threads : 1, sizeof(*trace->streams));
	trace->heap = calloc(threads ? threads : 1, sizeof(*trace->heap));
	if (!trace->streams || !trace->heap)
		return -ENOMEM;
	for (size_t i = 0; i < trace->chunk_count; i++) {
		if (i == 0 || trace->chunks[i].serial != trace->chunks[i - 1].serial)
			trace->streams[trace->stream_count++].first_chunk = &trace->chunks[i];
		trace->streams[trace->stream_count - 1].chunks_end = &trace->chunks[i + 1];
	}
	trace->stats.threads = (uint32_t)threads;
	trace->stats.chunks = (uint32_t)trace->chunk_count;
	read_start_merge(trace);
	return 0;
}

/* ---- public ---- */

static int read_load(struct mp_trace *trace, char *err, size_t err_len)
{
	int rc = read_header(trace, err, err_len);
	if (rc < 0)
		return rc;
	rc = read_walk_chunks(trace);
	if (rc == 0)
		rc = read_index(trace);
	if (rc == 0)
		rc = mp_modules_finish(&trace->modules);
	mp_freed_resolve(&trace->freed, &trace->stacks);
	if (rc == 0)
		rc = read_build_streams(trace);
	if (rc < 0)
		return read_fail(err, err_len, rc, "out of memory");
	return 0;
}

int mp_trace_open_memory(const void *data, size_t size, struct mp_trace **out, char *err,
			 size_t err_len)
{
	struct mp_trace *trace = calloc(1, sizeof(*trace));
	if (!trace)
		return read_fail(err, err_len, -ENOMEM, "out of memory");
	trace->data = data;
	trace->size = size;
	int rc = read_load(trace, err, err_len);
	if (rc < 0) {
		mp_trace_close(trace);
		return rc;
	}
	*out = trace;
	return 0;
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
	/* The index pass reads every byte at once anyway: mapping all pages in one call
	 * costs less than taking the page faults one by one (5.5 -> 3 ms for 8 MB). */
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	int map_errno = errno;
	close(fd);
	if (map == MAP_FAILED)
		return read_fail(err, err_len, -map_errno, "cannot map: %s", strerror(map_errno));
	int rc = mp_trace_open_memory(map, (size_t)st.st_size, out, err, err_len);
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

int mp_trace_next(struct mp_trace *trace, struct mp_event *event, char *err, size_t err_len)
{
	(void)err;
	(void)err_len;
	if (trace->heap_len == 0)
		return 0;
	struct read_stream *stream = trace->heap[0];
	*event = stream->next.event;
	uint64_t raw_stack = stream->next.raw_stack;
	event->stack_id = mp_stacks_lookup(&trace->stacks, raw_stack);
	if (event->stack_id == 0 && raw_stack != 0)
		trace->stats.undefined_stacks++;
	if (trace->heap_len == 1) {
		if (!read_stream_fill(stream))
			trace->heap_len = 0;
		return 1;
	}
	if (!read_stream_fill(stream))
		trace->heap[0] = trace->heap[--trace->heap_len];
	read_sift_down(trace->heap, trace->heap_len, 0);
	return 1;
}

void mp_trace_rewind(struct mp_trace *trace)
{
	read_start_merge(trace);
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

void mp_trace_stats(const struct mp_trace *trace, struct mp_trace_stats *stats)
{
	*stats = trace->stats;
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
