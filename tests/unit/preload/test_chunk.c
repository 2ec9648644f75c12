/* test_chunk.c: per-thread chunks in the trace file: reservation, commit, growth, end. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "recorder_fixture.h"

static const char *trace_path;

static const struct mp_chunk_header *chunk_at(const struct fixture_file *file, size_t offset)
{
	assert_true(offset + sizeof(struct mp_chunk_header) <= file->size);
	return (const struct mp_chunk_header *)(file->data + offset);
}

static void test_header_names_the_process(void **state)
{
	(void)state;
	struct fixture_file file = fixture_read(trace_path);
	const struct mp_file_header *header = (const void *)file.data;
	assert_memory_equal(header->magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN);
	assert_int_equal(header->version, MP_TRACE_VERSION);
	assert_int_equal(header->pid, getpid());
	assert_int_equal(header->ppid, getppid());
	assert_int_equal(header->page_size, sysconf(_SC_PAGESIZE));
	assert_int_equal(header->header_size % header->page_size, 0);
	assert_int_equal(header->end_state, MP_END_RUNNING);
	const char *exe = (const char *)file.data + header->exe_offset;
	assert_true(header->exe_len > 10);
	assert_memory_equal(exe + header->exe_len - 10, "test_chunk", 10);
	/* argv[0] is the first NUL-separated field of the command line. */
	const char *cmdline = (const char *)file.data + header->cmdline_offset;
	assert_non_null(memmem(cmdline, header->cmdline_len, "test_chunk", 10));
	free(file.data);
}

static void test_commit_publishes_exactly_the_written_bytes(void **state)
{
	(void)state;
	struct mp_thread *thread = &mp_state_thread;
	uint8_t *at = mp_chunk_reserve(thread, 16);
	assert_non_null(at);
	uint8_t *chunk = thread->chunk;
	size_t before = (size_t)(at - chunk);
	memcpy(at, "0123456789", 10);
	/* Written but not committed: a reader must not see it yet. */
	assert_int_equal(((struct mp_chunk_header *)chunk)->used, before);
	mp_chunk_commit(thread, at + 10);
	assert_int_equal(((struct mp_chunk_header *)chunk)->used, before + 10);
	assert_ptr_equal(thread->pos, at + 10);

	/* The same bytes are in the file, through the shared mapping. */
	struct fixture_file file = fixture_read(trace_path);
	const struct mp_file_header *header = (const void *)file.data;
	const struct mp_chunk_header *first = chunk_at(&file, header->header_size);
	assert_int_equal(first->magic, MP_CHUNK_MAGIC);
	assert_int_equal(first->header_size, sizeof(struct mp_chunk_header));
	/* A thread starts with one page: a short-lived thread costs the trace little. */
	assert_int_equal(first->capacity, (uint32_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(first->used, before + 10);
	assert_int_equal(first->thread_serial, 1);
	assert_int_equal(first->chunk_seq, 0);
	assert_memory_equal(file.data + header->header_size + before, "0123456789", 10);
	free(file.data);
}

static void test_full_chunk_continues_in_a_larger_one(void **state)
{
	(void)state;
	struct mp_thread *thread = &mp_state_thread;
	uint8_t *first = thread->chunk;
	uint32_t first_capacity = ((struct mp_chunk_header *)first)->capacity;
	/* Fill the first chunk to within a few bytes of its end. */
	size_t left = (size_t)(thread->limit - thread->pos);
	uint8_t *at = mp_chunk_reserve(thread, left);
	memset(at, 0xab, left - 8);
	mp_chunk_commit(thread, at + left - 8);
	/* 16 bytes no longer fit: a new chunk, twice as large, next in sequence. */
	at = mp_chunk_reserve(thread, 16);
	assert_non_null(at);
	assert_ptr_not_equal(thread->chunk, first);
	const struct mp_chunk_header *second = (const void *)thread->chunk;
	assert_int_equal(second->capacity, 2 * first_capacity);
	assert_int_equal(second->chunk_seq, 1);
	assert_int_equal(second->thread_serial, 1);
	assert_int_equal(second->used, sizeof(struct mp_chunk_header));
	mp_chunk_commit(thread, at + 16);

	struct fixture_file file = fixture_read(trace_path);
	const struct mp_file_header *header = (const void *)file.data;
	const struct mp_chunk_header *old = chunk_at(&file, header->header_size);
	assert_int_equal(old->used, first_capacity - 8);
	const struct mp_chunk_header *next = chunk_at(&file, header->header_size + first_capacity);
	assert_int_equal(next->chunk_seq, 1);
	assert_int_equal(next->used, sizeof(struct mp_chunk_header) + 16);
	assert_int_equal(file.size, header->header_size + 3 * first_capacity);
	free(file.data);
}

static void *other_thread(void *arg)
{
	(void)arg;
	struct mp_thread *thread = &mp_state_thread;
	uint8_t *at = mp_chunk_reserve(thread, 4);
	memcpy(at, "thrd", 4);
	mp_chunk_commit(thread, at + 4);
	return NULL; /* the exit destructor marks the chunk last and unmaps it */
}

static void test_each_thread_writes_its_own_chunk_marked_last_at_exit(void **state)
{
	(void)state;
	pthread_t thread;
	pthread_create(&thread, NULL, other_thread, NULL);
	pthread_join(thread, NULL);
	struct fixture_file file = fixture_read(trace_path);
	const struct mp_file_header *header = (const void *)file.data;
	size_t offset = header->header_size;
	int found = 0;
	while (offset + sizeof(struct mp_chunk_header) <= file.size) {
		const struct mp_chunk_header *chunk = chunk_at(&file, offset);
		if (chunk->thread_serial == 2) {
			found = 1;
			assert_int_equal(chunk->flags & MP_CHUNK_LAST, MP_CHUNK_LAST);
			assert_int_equal(chunk->used, sizeof(*chunk) + 4);
			assert_memory_equal((const uint8_t *)chunk + sizeof(*chunk), "thrd", 4);
			assert_int_not_equal(chunk->tid, getpid());
		}
		offset += chunk->capacity;
	}
	assert_true(found);
	free(file.data);
}

/* A thread that records one record and gives its chunk's address. */
static void *short_thread(void *arg)
{
	struct mp_thread *thread = &mp_state_thread;
	uint8_t *at = mp_chunk_reserve(thread, 4);
	memcpy(at, "shrt", 4);
	mp_chunk_commit(thread, at + 4);
	*(uint8_t **)arg = thread->chunk;
	return NULL;
}

static int page_mapped(const void *addr)
{
	unsigned char resident;
	return mincore((void *)addr, 1, &resident) == 0;
}

static uint8_t *run_short_thread(void)
{
	pthread_t thread;
	uint8_t *chunk = NULL;
	assert_int_equal(pthread_create(&thread, NULL, short_thread, &chunk), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_non_null(chunk);
	return chunk;
}

/* The last chunks of ended threads are unmapped in batches of 32, not one by one: once a
 * batch went, the next 31 threads' chunks stay mapped after they end, and the 32nd
 * thread's end unmaps all 32; the file keeps what each wrote, marked last. */
static void test_ended_threads_chunks_are_unmapped_in_batches(void **state)
{
	(void)state;
	enum { BATCH = 32 };
	int threads = 0;
	/* The list may hold some already: run threads until one's end unmaps a batch. */
	while (page_mapped(run_short_thread()))
		assert_true(++threads < BATCH);
	uint8_t *chunks[BATCH];
	for (int i = 0; i < BATCH; i++) {
		chunks[i] = run_short_thread();
		if (i + 1 < BATCH)
			assert_true(page_mapped(chunks[i]));
	}
	for (int i = 0; i < BATCH; i++)
		assert_false(page_mapped(chunks[i]));
	struct fixture_file file = fixture_read(trace_path);
	const struct mp_file_header *header = (const void *)file.data;
	int found = 0;
	for (size_t offset = header->header_size; offset + sizeof(struct mp_chunk_header) <= file.size;) {
		const struct mp_chunk_header *chunk = chunk_at(&file, offset);
		if (chunk->used == sizeof(*chunk) + 4 &&
		    memcmp((const uint8_t *)chunk + sizeof(*chunk), "shrt", 4) == 0) {
			assert_int_equal(chunk->flags & MP_CHUNK_LAST, MP_CHUNK_LAST);
			found++;
		}
		offset += chunk->capacity;
	}
	assert_int_equal(found, threads + 1 + BATCH);
	free(file.data);
}

static off_t file_size(void)
{
	struct stat st;
	assert_int_equal(stat(trace_path, &st), 0);
	return st.st_size;
}

/* Fills the thread's chunk to its end and starts the next one. */
static void fill_to_next_chunk(struct mp_thread *self)
{
	size_t left = (size_t)(self->limit - self->pos);
	uint8_t *at = mp_chunk_reserve(self, left);
	memset(at, 0xcd, left);
	mp_chunk_commit(self, at + left);
	at = mp_chunk_reserve(self, 16);
	assert_non_null(at);
	mp_chunk_commit(self, at);
}

/* No space is reserved ahead of a trace under 64 KiB: a short program is spared zeros it
 * would never use. From 64 KiB, as much ahead as the trace holds; a chunk that reaches
 * past that space makes the file end where the chunk does. */
static void test_space_ahead_from_64_kib_of_trace(void **state)
{
	(void)state;
	struct mp_thread *self = &mp_state_thread;
	uint64_t end = mp_trace_file_end();
	assert_true(end < (64u << 10));
	assert_int_equal(file_size(), (off_t)end);
	mp_trace_file_reserve_ahead();
	assert_int_equal(file_size(), (off_t)end);
	while (mp_trace_file_end() < (64u << 10))
		fill_to_next_chunk(self);
	end = mp_trace_file_end();
	assert_true(end < (1u << 20));
	mp_trace_file_reserve_ahead();
	assert_int_equal(file_size(), (off_t)(2 * end));
	while (mp_trace_file_end() <= 2 * end)
		fill_to_next_chunk(self);
	assert_int_equal(file_size(), (off_t)mp_trace_file_end());
}

/* The leak thread reserves space past the chunks between its rounds: the file grows, its
 * chunks' end does not; a chunk started then takes that space without growing the file. */
static void test_space_reserved_ahead_is_taken_by_the_next_chunk(void **state)
{
	(void)state;
	uint64_t end = mp_trace_file_end();
	assert_int_equal(file_size(), (off_t)end);
	assert_true(end < (4u << 20));
	struct mp_thread *self = &mp_state_thread;
	while (mp_trace_file_end() < (4u << 20)) /* fill chunks until it holds 4 MiB */
		fill_to_next_chunk(self);
	end = mp_trace_file_end();
	assert_int_equal(file_size(), (off_t)end);
	mp_trace_file_reserve_ahead();
	off_t reserved = file_size();
	assert_true(reserved >= (off_t)end + (1 << 20));
	assert_int_equal(mp_trace_file_end(), end);
	pthread_t thread;
	pthread_create(&thread, NULL, other_thread, NULL);
	pthread_join(thread, NULL);
	assert_true(mp_trace_file_end() > end);
	assert_int_equal(file_size(), reserved);
	struct fixture_file file = fixture_read(trace_path);
	const struct mp_chunk_header *chunk = chunk_at(&file, end);
	assert_int_equal(chunk->magic, MP_CHUNK_MAGIC);
	assert_int_equal(end + chunk->capacity, mp_trace_file_end());
	free(file.data);
}

/* Ending (the space reserved ahead above is cut off: the file ends with its last chunk). */
static void test_end_state_records_how_the_process_ended(void **state)
{
	(void)state;
	assert_true(file_size() > (off_t)mp_trace_file_end());
	mp_recording_end(MP_END_EXIT, 42);
	assert_int_equal(file_size(), (off_t)mp_trace_file_end());
	struct fixture_file file = fixture_read(trace_path);
	const struct mp_file_header *header = (const void *)file.data;
	assert_int_equal(header->end_state, MP_END_EXIT);
	assert_int_equal(header->end_status, 42);
	assert_true(header->end_monotonic_ns >= header->start_monotonic_ns);
	free(file.data);
	assert_true(mp_state_is_ready()); /* nothing disabled recording */
}

/* Once the process is ending, a thread's next chunk is as large as what it needs, from
 * 64 KiB, not the megabyte a busy thread's chunks have grown to: its zeros are written
 * then, by the exiting thread, with nothing reserved ahead any more. */
static void test_chunks_made_while_ending_are_small(void **state)
{
	(void)state;
	struct mp_thread *self = &mp_state_thread;
	assert_int_equal(((struct mp_chunk_header *)self->chunk)->capacity, 1u << 20);
	assert_true(mp_trace_file_ending()); /* the end was written above */
	size_t left = (size_t)(self->limit - self->pos);
	uint8_t *at = mp_chunk_reserve(self, left);
	mp_chunk_commit(self, at + left);
	uint64_t end = mp_trace_file_end();
	at = mp_chunk_reserve(self, 16);
	assert_non_null(at);
	mp_chunk_commit(self, at + 16);
	assert_int_equal(((struct mp_chunk_header *)self->chunk)->capacity, 64u << 10);
	assert_int_equal(mp_trace_file_end(), end + (64u << 10));
	assert_int_equal(file_size(), (off_t)mp_trace_file_end());
	/* More than that: the next power of two that holds it. */
	left = (size_t)(self->limit - self->pos);
	at = mp_chunk_reserve(self, left);
	mp_chunk_commit(self, at + left);
	at = mp_chunk_reserve(self, 100u << 10);
	assert_non_null(at);
	mp_chunk_commit(self, at + (100u << 10));
	assert_int_equal(((struct mp_chunk_header *)self->chunk)->capacity, 128u << 10);
}

int main(void)
{
	trace_path = fixture_start();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_names_the_process),
		cmocka_unit_test(test_commit_publishes_exactly_the_written_bytes),
		cmocka_unit_test(test_full_chunk_continues_in_a_larger_one),
		cmocka_unit_test(test_space_ahead_from_64_kib_of_trace),
		cmocka_unit_test(test_each_thread_writes_its_own_chunk_marked_last_at_exit),
		cmocka_unit_test(test_ended_threads_chunks_are_unmapped_in_batches),
		cmocka_unit_test(test_space_reserved_ahead_is_taken_by_the_next_chunk),
		cmocka_unit_test(test_end_state_records_how_the_process_ended),
		cmocka_unit_test(test_chunks_made_while_ending_are_small),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(trace_path);
	rmdir(fixture_dir);
	return failed;
}
