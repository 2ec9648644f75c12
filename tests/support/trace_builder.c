/* trace_builder.c: an in-memory encoder of synthetic traces for the analyzer's tests. */
#include "trace_builder.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memprof/varint.h"

/* Largest record: a STACK of MP_MAX_FRAMES_LIMIT frames, or a MODULE with a long path. */
#define TB_RECORD_MAX (16u + 4u * MP_VARINT_MAX + MP_MAX_FRAMES_LIMIT * MP_VARINT_MAX + 8192u)

struct tb_chunk {
	uint8_t *bytes; /* capacity bytes, starting with the chunk header */
	uint32_t capacity;
};

struct tb_thread {
	uint32_t serial, tid, next_seq;
	int has_chunk;          /* current_chunk is open */
	size_t current_chunk;   /* index in mp_tb.chunks */
	uint64_t prev_addr, prev_time, next_base;
};

struct mp_tb {
	struct mp_file_header header;
	char *exe, *cmdline;
	size_t cmdline_len;
	uint32_t chunk_capacity;
	struct tb_chunk *chunks;
	size_t chunk_count;
	struct tb_thread *threads;
	size_t thread_count;
	int numbered; /* chunks get a file_seq, as the library's do since the END record */
};

/* One record being encoded against a copy of the thread's delta bases. */
struct tb_enc {
	uint8_t buf[TB_RECORD_MAX];
	uint8_t *at;
	uint64_t prev_addr, prev_time;
};

static void *tb_alloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

static char *tb_strndup(const char *s, size_t len)
{
	char *copy = tb_alloc(len + 1);
	memcpy(copy, s, len);
	return copy;
}

struct mp_tb *mp_tb_new(void)
{
	struct mp_tb *tb = tb_alloc(sizeof(*tb));
	memcpy(tb->header.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN);
	tb->header.version = MP_TRACE_VERSION;
	tb->header.page_size = 4096;
	tb->header.pid = 4242;
	tb->header.ppid = 1;
	tb->header.max_frames = 64;
	tb->header.start_realtime_ns = 1700000000000000000ull;
	tb->header.end_state = MP_END_EXIT;
	tb->chunk_capacity = 4096;
	mp_tb_set_exe(tb, "/usr/bin/testprog");
	mp_tb_set_cmdline(tb, "testprog\0arg", 12);
	return tb;
}

void mp_tb_destroy(struct mp_tb *tb)
{
	if (!tb)
		return;
	for (size_t i = 0; i < tb->chunk_count; i++)
		free(tb->chunks[i].bytes);
	free(tb->chunks);
	free(tb->threads);
	free(tb->exe);
	free(tb->cmdline);
	free(tb);
}

struct mp_file_header *mp_tb_header(struct mp_tb *tb)
{
	return &tb->header;
}

void mp_tb_set_exe(struct mp_tb *tb, const char *exe)
{
	free(tb->exe);
	tb->exe = tb_strndup(exe, strlen(exe));
}

void mp_tb_set_cmdline(struct mp_tb *tb, const char *cmdline, size_t len)
{
	free(tb->cmdline);
	tb->cmdline = tb_strndup(cmdline, len);
	tb->cmdline_len = len;
}

void mp_tb_set_page_size(struct mp_tb *tb, uint32_t page_size)
{
	assert(page_size >= 128 && (page_size & (page_size - 1)) == 0);
	tb->header.page_size = page_size;
	if (tb->chunk_capacity % page_size)
		tb->chunk_capacity = page_size;
}

void mp_tb_set_chunk_capacity(struct mp_tb *tb, uint32_t capacity)
{
	assert(capacity >= sizeof(struct mp_chunk_header) && capacity % tb->header.page_size == 0);
	tb->chunk_capacity = capacity;
}

static struct tb_thread *tb_find_thread(struct mp_tb *tb, uint32_t serial)
{
	for (size_t i = 0; i < tb->thread_count; i++)
		if (tb->threads[i].serial == serial)
			return &tb->threads[i];
	tb->threads = realloc(tb->threads, (tb->thread_count + 1) * sizeof(*tb->threads));
	if (!tb->threads)
		abort();
	struct tb_thread *thread = &tb->threads[tb->thread_count++];
	*thread = (struct tb_thread){ .serial = serial, .tid = 1000 + serial };
	return thread;
}

void mp_tb_thread(struct mp_tb *tb, uint32_t serial, uint32_t tid)
{
	tb_find_thread(tb, serial)->tid = tid;
}

static struct mp_chunk_header *tb_chunk_header(struct mp_tb *tb, size_t index)
{
	return (struct mp_chunk_header *)tb->chunks[index].bytes;
}

/* Opens the thread's next chunk, at least `min_capacity` bytes long. */
static void tb_open_chunk(struct mp_tb *tb, struct tb_thread *thread, size_t min_capacity)
{
	uint32_t page = tb->header.page_size, capacity = tb->chunk_capacity;
	while (capacity < min_capacity)
		capacity += page;
	tb->chunks = realloc(tb->chunks, (tb->chunk_count + 1) * sizeof(*tb->chunks));
	if (!tb->chunks)
		abort();
	struct tb_chunk *chunk = &tb->chunks[tb->chunk_count];
	chunk->bytes = tb_alloc(capacity);
	chunk->capacity = capacity;
	struct mp_chunk_header head = {
		.magic = MP_CHUNK_MAGIC, .header_size = sizeof(head), .capacity = capacity,
		.used = sizeof(head), .thread_serial = thread->serial, .tid = thread->tid,
		.chunk_seq = thread->next_seq++, .base_time_ns = thread->next_base,
		.file_seq = tb->numbered ? (uint32_t)tb->chunk_count + 1 : 0,
	};
	memcpy(chunk->bytes, &head, sizeof(head));
	thread->has_chunk = 1;
	thread->current_chunk = tb->chunk_count++;
	thread->prev_addr = 0;
	thread->prev_time = thread->next_base;
}

static struct tb_thread *tb_thread_with_chunk(struct mp_tb *tb, uint32_t serial)
{
	struct tb_thread *thread = tb_find_thread(tb, serial);
	if (!thread->has_chunk)
		tb_open_chunk(tb, thread, 0);
	return thread;
}

void mp_tb_new_chunk(struct mp_tb *tb, uint32_t serial, uint64_t base_time)
{
	struct tb_thread *thread = tb_find_thread(tb, serial);
	thread->has_chunk = 0;
	thread->next_base = base_time;
}

void mp_tb_number_chunks(struct mp_tb *tb)
{
	tb->numbered = 1;
}

size_t mp_tb_chunks(const struct mp_tb *tb)
{
	return tb->chunk_count;
}

void mp_tb_set_dropped(struct mp_tb *tb, uint32_t serial, uint32_t dropped_events)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	tb_chunk_header(tb, thread->current_chunk)->dropped_events = dropped_events;
}

void mp_tb_set_chunk_flags(struct mp_tb *tb, uint32_t serial, uint32_t flags)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	tb_chunk_header(tb, thread->current_chunk)->flags = flags;
}

static void tb_enc_start(struct tb_enc *enc, const struct tb_thread *thread, unsigned tag)
{
	enc->at = enc->buf;
	enc->prev_addr = thread->prev_addr;
	enc->prev_time = thread->prev_time;
	*enc->at++ = (uint8_t)tag;
}

static void tb_u(struct tb_enc *enc, uint64_t value)
{
	enc->at = mp_put_u(enc->at, value);
}

static void tb_s(struct tb_enc *enc, int64_t value)
{
	enc->at = mp_put_s(enc->at, value);
}

/* The record's first address field: a delta from prev_addr, which it then replaces. */
static void tb_addr(struct tb_enc *enc, uint64_t addr)
{
	tb_s(enc, (int64_t)(addr - enc->prev_addr));
	enc->prev_addr = addr;
}

static void tb_time(struct tb_enc *enc, uint64_t time)
{
	assert(time >= enc->prev_time && "times within a thread must not go backwards");
	tb_u(enc, time - enc->prev_time);
	enc->prev_time = time;
}

/* Copies the encoded record into the thread's chunk. Returns 0 (and opens the next chunk)
 * if it did not fit, so the caller encodes again against the new chunk's bases. */
static int tb_commit(struct mp_tb *tb, struct tb_thread *thread, const struct tb_enc *enc)
{
	size_t len = (size_t)(enc->at - enc->buf);
	struct mp_chunk_header *head = tb_chunk_header(tb, thread->current_chunk);
	if (head->used + len > head->capacity) {
		thread->next_base = thread->prev_time;
		tb_open_chunk(tb, thread, sizeof(*head) + len);
		return 0;
	}
	memcpy(tb->chunks[thread->current_chunk].bytes + head->used, enc->buf, len);
	head->used += (uint32_t)len;
	thread->prev_addr = enc->prev_addr;
	thread->prev_time = enc->prev_time;
	return 1;
}

/* The record encoders below loop: encode, and if the chunk was full, encode again. */

void mp_tb_alloc(struct mp_tb *tb, uint32_t serial, enum mp_record_tag tag, uint64_t time,
		 uint64_t addr, uint64_t size, uint64_t stack_id)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, tag);
		tb_addr(&enc, addr);
		tb_u(&enc, size);
		tb_u(&enc, stack_id);
		tb_time(&enc, time);
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_malloc(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr,
		  uint64_t size, uint64_t stack_id)
{
	mp_tb_alloc(tb, serial, MP_REC_MALLOC, time, addr, size, stack_id);
}

void mp_tb_free(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_FREE);
		tb_addr(&enc, addr);
		tb_time(&enc, time);
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_realloc(struct mp_tb *tb, uint32_t serial, uint64_t time_before,
		   uint64_t time_after, uint64_t old_addr, uint64_t new_addr, uint64_t size,
		   uint64_t stack_id)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_REALLOC);
		tb_addr(&enc, old_addr);
		tb_s(&enc, (int64_t)(new_addr - old_addr));
		tb_u(&enc, size);
		tb_u(&enc, stack_id);
		tb_time(&enc, time_before);
		tb_time(&enc, time_after);
		enc.prev_addr = new_addr;
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_alloc_failed(struct mp_tb *tb, uint32_t serial, uint64_t time,
			enum mp_record_tag function, uint64_t size, uint64_t stack_id)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_ALLOC_FAILED);
		tb_u(&enc, function);
		tb_u(&enc, size);
		tb_u(&enc, stack_id);
		tb_time(&enc, time);
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_mmap(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr,
		uint64_t length, uint32_t prot, uint32_t flags, int32_t fd, uint64_t offset,
		uint64_t stack_id)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_MMAP);
		tb_addr(&enc, addr);
		tb_u(&enc, length);
		tb_u(&enc, prot);
		tb_u(&enc, flags);
		tb_s(&enc, fd);
		tb_u(&enc, offset);
		tb_u(&enc, stack_id);
		tb_time(&enc, time);
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_munmap(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t addr,
		  uint64_t length)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_MUNMAP);
		tb_addr(&enc, addr);
		tb_u(&enc, length);
		tb_time(&enc, time);
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_mremap(struct mp_tb *tb, uint32_t serial, uint64_t time_before,
		  uint64_t time_after, uint64_t old_addr, uint64_t old_length, uint64_t new_addr,
		  uint64_t new_length, uint32_t flags, uint64_t stack_id)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_MREMAP);
		tb_addr(&enc, old_addr);
		tb_u(&enc, old_length);
		tb_s(&enc, (int64_t)(new_addr - old_addr));
		tb_u(&enc, new_length);
		tb_u(&enc, flags);
		tb_u(&enc, stack_id);
		tb_time(&enc, time_before);
		tb_time(&enc, time_after);
		enc.prev_addr = new_addr;
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_brk(struct mp_tb *tb, uint32_t serial, uint64_t time, uint64_t old_break,
	       uint64_t new_break, uint64_t stack_id)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, MP_REC_BRK);
		tb_addr(&enc, old_break);
		tb_s(&enc, (int64_t)(new_break - old_break));
		tb_u(&enc, stack_id);
		tb_time(&enc, time);
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_extended(struct mp_tb *tb, uint32_t serial, unsigned tag, const void *body,
		    size_t body_len)
{
	assert(tag >= MP_REC_EXTENDED && tag <= 0xff);
	assert(body_len <= TB_RECORD_MAX - 1 - MP_VARINT_MAX);
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct tb_enc enc;
	do {
		tb_enc_start(&enc, thread, tag);
		tb_u(&enc, body_len);
		if (body_len)
			memcpy(enc.at, body, body_len);
		enc.at += body_len;
	} while (!tb_commit(tb, thread, &enc));
}

void mp_tb_stack(struct mp_tb *tb, uint32_t serial, uint64_t stack_id, uint32_t generation,
		 const uint64_t *frames, uint32_t frame_count)
{
	assert(frame_count <= MP_MAX_FRAMES_LIMIT);
	uint8_t body[3 * MP_VARINT_MAX + MP_MAX_FRAMES_LIMIT * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, stack_id);
	at = mp_put_u(at, generation);
	at = mp_put_u(at, frame_count);
	uint64_t prev_ip = 0;
	for (uint32_t i = 0; i < frame_count; i++) {
		at = mp_put_s(at, (int64_t)(frames[i] - prev_ip));
		prev_ip = frames[i];
	}
	mp_tb_extended(tb, serial, MP_REC_STACK, body, (size_t)(at - body));
}

void mp_tb_stack_shared(struct mp_tb *tb, uint32_t serial, uint64_t stack_id,
			uint32_t generation, uint64_t parent_id, uint32_t shared,
			const uint64_t *frames, uint32_t frame_count)
{
	assert(frame_count <= MP_MAX_FRAMES_LIMIT && shared <= frame_count);
	uint8_t body[5 * MP_VARINT_MAX + MP_MAX_FRAMES_LIMIT * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, stack_id);
	at = mp_put_u(at, generation);
	at = mp_put_u(at, frame_count);
	at = mp_put_u(at, parent_id);
	at = mp_put_u(at, shared);
	uint64_t prev_ip = 0;
	for (uint32_t i = 0; i < frame_count - shared; i++) {
		at = mp_put_s(at, (int64_t)(frames[i] - prev_ip));
		prev_ip = frames[i];
	}
	mp_tb_extended(tb, serial, MP_REC_STACK_SHARED, body, (size_t)(at - body));
}

void mp_tb_module(struct mp_tb *tb, uint32_t serial, uint32_t generation, uint64_t start,
		  uint64_t end, uint64_t load_bias, const char *path, const uint8_t *build_id,
		  size_t build_id_len)
{
	size_t path_len = strlen(path);
	assert(path_len + build_id_len <= 6000);
	uint8_t body[6 * MP_VARINT_MAX + 6000];
	uint8_t *at = mp_put_u(body, generation);
	at = mp_put_s(at, (int64_t)start);
	at = mp_put_u(at, end - start);
	at = mp_put_u(at, load_bias);
	at = mp_put_u(at, path_len);
	memcpy(at, path, path_len);
	at += path_len;
	at = mp_put_u(at, build_id_len);
	if (build_id_len)
		memcpy(at, build_id, build_id_len);
	at += build_id_len;
	mp_tb_extended(tb, serial, MP_REC_MODULE, body, (size_t)(at - body));
}

void mp_tb_leak_class(struct mp_tb *tb, uint32_t serial, const uint64_t *addrs,
		      const unsigned *kinds, size_t count)
{
	assert(count <= 256);
	uint8_t body[MP_VARINT_MAX + 256 * 2 * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, count);
	uint64_t prev = 0;
	for (size_t i = 0; i < count; i++) {
		assert(addrs[i] >= prev);
		at = mp_put_u(at, addrs[i] - prev);
		at = mp_put_u(at, kinds[i]);
		prev = addrs[i];
	}
	mp_tb_extended(tb, serial, MP_REC_LEAK_CLASS, body, (size_t)(at - body));
}

void mp_tb_leak_summary(struct mp_tb *tb, uint32_t serial, uint32_t status, uint32_t flags)
{
	uint8_t body[8 * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, status);
	for (int i = 0; i < 6; i++)
		at = mp_put_u(at, 0);
	at = mp_put_u(at, flags);
	mp_tb_extended(tb, serial, MP_REC_LEAK_SUMMARY, body, (size_t)(at - body));
}

void mp_tb_snapshot(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint32_t reason,
		    uint64_t time_ns, uint64_t threads, int ended)
{
	uint8_t body[7 * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, seq);
	at = mp_put_u(at, reason);
	at = mp_put_u(at, time_ns);
	at = mp_put_u(at, 4096);
	at = mp_put_u(at, threads ? 1 : 0);
	if (threads) {
		at = mp_put_u(at, MP_SNAPK_THREADS);
		at = mp_put_u(at, threads);
	}
	mp_tb_extended(tb, serial, MP_REC_SNAPSHOT, body, (size_t)(at - body));
	if (!ended)
		return;
	at = mp_put_u(body, seq);
	at = mp_put_u(at, time_ns);
	at = mp_put_u(at, 0);
	at = mp_put_u(at, 0);
	at = mp_put_u(at, 0);
	mp_tb_extended(tb, serial, MP_REC_SNAPSHOT_END, body, (size_t)(at - body));
}

void mp_tb_snapshot_end(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint64_t time_ns,
			uint64_t mappings, int smaps_errno)
{
	uint8_t body[6 * MP_VARINT_MAX];
	uint8_t *at = mp_put_u(body, seq);
	at = mp_put_u(at, time_ns);
	at = mp_put_u(at, mappings);
	at = mp_put_u(at, 0);
	at = mp_put_u(at, 0);
	at = mp_put_u(at, (uint64_t)smaps_errno);
	mp_tb_extended(tb, serial, MP_REC_SNAPSHOT_END, body, (size_t)(at - body));
}

void mp_tb_mapping(struct mp_tb *tb, uint32_t serial, uint64_t seq, uint64_t start,
		   uint64_t length, uint32_t perms, uint64_t file_offset, uint32_t kind,
		   const char *path)
{
	size_t path_len = strlen(path);
	assert(path_len <= 1000);
	uint8_t body[9 * MP_VARINT_MAX + 1000];
	uint8_t *at = mp_put_u(body, seq);
	at = mp_put_u(at, start);
	at = mp_put_u(at, length);
	at = mp_put_u(at, perms);
	at = mp_put_u(at, file_offset);
	at = mp_put_u(at, kind);
	at = mp_put_u(at, path_len);
	memcpy(at, path, path_len);
	at += path_len;
	at = mp_put_u(at, 0); /* own parts */
	at = mp_put_u(at, 0); /* figures */
	mp_tb_extended(tb, serial, MP_REC_MAPPING, body, (size_t)(at - body));
}

void mp_tb_raw(struct mp_tb *tb, uint32_t serial, const void *bytes, size_t len)
{
	struct tb_thread *thread = tb_thread_with_chunk(tb, serial);
	struct mp_chunk_header *head = tb_chunk_header(tb, thread->current_chunk);
	assert(head->used + len <= head->capacity);
	memcpy(tb->chunks[thread->current_chunk].bytes + head->used, bytes, len);
	head->used += (uint32_t)len;
}

static size_t tb_header_size(const struct mp_tb *tb)
{
	size_t need = sizeof(struct mp_file_header) + strlen(tb->exe) + tb->cmdline_len;
	size_t page = tb->header.page_size;
	return (need + page - 1) / page * page;
}

size_t mp_tb_chunk_offset(struct mp_tb *tb, uint32_t serial, uint32_t seq)
{
	size_t offset = tb_header_size(tb);
	for (size_t i = 0; i < tb->chunk_count; i++) {
		const struct mp_chunk_header *head = tb_chunk_header(tb, i);
		if (head->thread_serial == serial && head->chunk_seq == seq)
			return offset;
		offset += tb->chunks[i].capacity;
	}
	return 0;
}

int mp_tb_bytes(struct mp_tb *tb, uint8_t **out, size_t *len)
{
	size_t header_size = tb_header_size(tb), total = header_size;
	for (size_t i = 0; i < tb->chunk_count; i++)
		total += tb->chunks[i].capacity;
	uint8_t *file = tb_alloc(total);
	size_t exe_len = strlen(tb->exe), fixed = sizeof(struct mp_file_header);
	tb->header.header_size = (uint32_t)header_size;
	tb->header.exe_len = (uint32_t)exe_len;
	tb->header.exe_offset = (uint32_t)fixed;
	tb->header.cmdline_len = (uint32_t)tb->cmdline_len;
	tb->header.cmdline_offset = (uint32_t)(fixed + exe_len);
	memcpy(file, &tb->header, fixed);
	memcpy(file + fixed, tb->exe, exe_len);
	memcpy(file + fixed + exe_len, tb->cmdline, tb->cmdline_len);
	size_t offset = header_size;
	for (size_t i = 0; i < tb->chunk_count; i++) {
		memcpy(file + offset, tb->chunks[i].bytes, tb->chunks[i].capacity);
		offset += tb->chunks[i].capacity;
	}
	*out = file;
	*len = total;
	return 0;
}

int mp_tb_write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const uint8_t *at = data;
	while (len > 0) {
		ssize_t wrote = write(fd, at, len);
		if (wrote < 0) {
			int code = -errno;
			close(fd);
			return code;
		}
		at += wrote;
		len -= (size_t)wrote;
	}
	return close(fd) < 0 ? -errno : 0;
}

int mp_tb_write(struct mp_tb *tb, const char *path)
{
	uint8_t *file;
	size_t len;
	mp_tb_bytes(tb, &file, &len);
	int rc = mp_tb_write_bytes(path, file, len);
	free(file);
	return rc;
}
