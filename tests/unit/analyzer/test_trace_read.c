/* test_trace_read.c: the trace reader against traces built record by record. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "same_event.h"
#include "trace_builder.h"
#include "trace_read.h"

/* A trace opened from the builder's bytes, which must outlive the trace. */
struct opened {
	uint8_t *bytes;
	size_t len;
	struct mp_trace *trace;
	char err[256];
};

static int open_bytes(struct opened *o)
{
	o->err[0] = '\0';
	o->trace = NULL;
	return mp_trace_open_memory(o->bytes, o->len, &o->trace, o->err, sizeof(o->err));
}

static void open_built(struct mp_tb *tb, struct opened *o)
{
	mp_tb_bytes(tb, &o->bytes, &o->len);
	mp_tb_destroy(tb);
	assert_int_equal(open_bytes(o), 0);
}

static void close_opened(struct opened *o)
{
	mp_trace_close(o->trace);
	free(o->bytes);
}

static struct mp_event next_event(struct mp_trace *trace)
{
	struct mp_event event;
	char err[128];
	assert_int_equal(mp_trace_next(trace, &event, err, sizeof(err)), 1);
	return event;
}

static void assert_end(struct mp_trace *trace)
{
	struct mp_event event;
	char err[128];
	assert_int_equal(mp_trace_next(trace, &event, err, sizeof(err)), 0);
}

static void expect_alloc(struct mp_trace *trace, enum mp_record_tag tag, uint32_t serial,
			 uint64_t time, uint64_t addr, uint64_t size)
{
	struct mp_event e = next_event(trace);
	assert_int_equal(e.tag, tag);
	assert_int_equal(e.thread_serial, serial);
	assert_int_equal(e.time_ns, time);
	assert_int_equal(e.time_before_ns, time);
	assert_int_equal(e.addr, addr);
	assert_int_equal(e.size, size);
}

static void expect_free(struct mp_trace *trace, uint32_t serial, uint64_t time, uint64_t addr)
{
	struct mp_event e = next_event(trace);
	assert_int_equal(e.tag, MP_REC_FREE);
	assert_int_equal(e.thread_serial, serial);
	assert_int_equal(e.time_ns, time);
	assert_int_equal(e.addr, addr);
}

static void test_every_record_kind_round_trips(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	uint64_t frames[] = { 0x401234, 0x401100, 0x7f0000001000 };
	mp_tb_thread(tb, 1, 777);
	mp_tb_stack(tb, 1, 5, 0, frames, 3);
	mp_tb_malloc(tb, 1, 10, 0x10000, 32, 5);
	for (int tag = MP_REC_CALLOC; tag <= MP_REC_PVALLOC; tag++)
		mp_tb_alloc(tb, 1, (enum mp_record_tag)tag, 10 + (uint64_t)tag, 0x20000 + (uint64_t)tag * 64, (uint64_t)tag, 5);
	mp_tb_free(tb, 1, 20, 0x10000);
	mp_tb_realloc(tb, 1, 30, 35, 0x20080, 0x30000, 4096, 5);
	mp_tb_alloc_failed(tb, 1, 40, MP_REC_MMAP, 1ull << 40, 5);
	mp_tb_mmap(tb, 1, 50, 0x7f1234560000, 8192, 3, 0x22, -1, 0, 5);
	mp_tb_munmap(tb, 1, 60, 0x7f1234561000, 4096);
	mp_tb_mremap(tb, 1, 70, 72, 0x7f1234560000, 4096, 0x7f2000000000, 65536, 1, 5);
	mp_tb_brk(tb, 1, 80, 0x555555600000, 0x555555621000, 5);
	mp_tb_malloc(tb, 1, 90, 0x10000, 1, 0);
	struct opened o;
	open_built(tb, &o);

	uint32_t count, generation;
	assert_int_equal(mp_trace_stack_count(o.trace), 1);
	const uint64_t *got = mp_trace_stack(o.trace, 1, &count, &generation);
	assert_int_equal(count, 3);
	assert_int_equal(generation, 0);
	assert_memory_equal(got, frames, sizeof(frames));

	struct mp_event e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_MALLOC);
	assert_int_equal(e.tid, 777);
	assert_int_equal(e.stack_id, 1);
	assert_int_equal(e.addr, 0x10000);
	for (int tag = MP_REC_CALLOC; tag <= MP_REC_PVALLOC; tag++)
		expect_alloc(o.trace, (enum mp_record_tag)tag, 1, 10 + (uint64_t)tag,
			     0x20000 + (uint64_t)tag * 64, (uint64_t)tag);
	expect_free(o.trace, 1, 20, 0x10000);

	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_REALLOC);
	assert_int_equal(e.time_before_ns, 30);
	assert_int_equal(e.time_ns, 35);
	assert_int_equal(e.old_addr, 0x20080);
	assert_int_equal(e.addr, 0x30000);
	assert_int_equal(e.size, 4096);
	assert_int_equal(e.stack_id, 1);

	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_ALLOC_FAILED);
	assert_int_equal(e.failed_function, MP_REC_MMAP);
	assert_int_equal(e.size, 1ull << 40);
	assert_int_equal(e.time_ns, 40);

	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_MMAP);
	assert_int_equal(e.addr, 0x7f1234560000);
	assert_int_equal(e.size, 8192);
	assert_int_equal(e.prot, 3);
	assert_int_equal(e.flags, 0x22);
	assert_int_equal(e.fd, -1);
	assert_int_equal(e.offset, 0);
	assert_int_equal(e.time_ns, 50);

	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_MUNMAP);
	assert_int_equal(e.addr, 0x7f1234561000);
	assert_int_equal(e.size, 4096);

	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_MREMAP);
	assert_int_equal(e.old_addr, 0x7f1234560000);
	assert_int_equal(e.old_size, 4096);
	assert_int_equal(e.addr, 0x7f2000000000);
	assert_int_equal(e.size, 65536);
	assert_int_equal(e.flags, 1);
	assert_int_equal(e.time_before_ns, 70);
	assert_int_equal(e.time_ns, 72);

	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_BRK);
	assert_int_equal(e.old_addr, 0x555555600000);
	assert_int_equal(e.addr, 0x555555621000);
	assert_int_equal(e.time_ns, 80);

	/* After BRK, prev_addr is the old break (its first address field). */
	e = next_event(o.trace);
	assert_int_equal(e.addr, 0x10000);
	assert_int_equal(e.stack_id, 0);
	assert_end(o.trace);

	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.threads, 1);
	assert_int_equal(stats.chunks, 1);
	assert_int_equal(stats.events, 15);
	assert_int_equal(stats.corrupt_chunks, 0);
	assert_int_equal(stats.undefined_stacks, 0);
	assert_int_equal(stats.truncated, 0);
	close_opened(&o);
}

static void test_header_fields_and_strings(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_header(tb)->pid = 99;
	mp_tb_header(tb)->end_state = MP_END_EXIT_NOW;
	mp_tb_header(tb)->end_status = 3;
	mp_tb_set_exe(tb, "/opt/app/bin/server");
	mp_tb_set_cmdline(tb, "server\0--port\0080", 17);
	struct opened o;
	open_built(tb, &o);
	assert_int_equal(mp_trace_header(o.trace)->pid, 99);
	assert_int_equal(mp_trace_header(o.trace)->end_state, MP_END_EXIT_NOW);
	assert_int_equal(mp_trace_header(o.trace)->end_status, 3);
	assert_string_equal(mp_trace_exe(o.trace), "/opt/app/bin/server");
	size_t len;
	const char *cmdline = mp_trace_cmdline(o.trace, &len);
	assert_int_equal(len, 17);
	assert_memory_equal(cmdline, "server\0--port\0080", 17);
	assert_end(o.trace);
	close_opened(&o);
}

static void test_merge_orders_threads_by_time_with_releases_first(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 2, 100, 0xa000, 16, 0); /* same time as thread 1's malloc: serial 1 first */
	mp_tb_malloc(tb, 1, 100, 0xb000, 16, 0);
	mp_tb_malloc(tb, 1, 150, 0xc000, 16, 0);
	mp_tb_free(tb, 2, 150, 0xb000);          /* a free at 150 goes before thread 1's malloc */
	mp_tb_malloc(tb, 3, 120, 0xd000, 16, 0);
	mp_tb_realloc(tb, 3, 200, 260, 0xd000, 0xe000, 32, 0); /* placed at its release, 200 */
	mp_tb_malloc(tb, 1, 200, 0xf000, 16, 0);
	mp_tb_realloc(tb, 2, 210, 220, 0, 0x11000, 8, 0);      /* realloc(NULL): an allocation */
	mp_tb_malloc(tb, 1, 210, 0x12000, 16, 0);
	struct opened o;
	open_built(tb, &o);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 100, 0xb000, 16);
	expect_alloc(o.trace, MP_REC_MALLOC, 2, 100, 0xa000, 16);
	expect_alloc(o.trace, MP_REC_MALLOC, 3, 120, 0xd000, 16);
	expect_free(o.trace, 2, 150, 0xb000);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 150, 0xc000, 16);
	struct mp_event e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_REALLOC);
	assert_int_equal(e.thread_serial, 3);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 200, 0xf000, 16);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 210, 0x12000, 16);
	e = next_event(o.trace);
	assert_int_equal(e.tag, MP_REC_REALLOC);
	assert_int_equal(e.thread_serial, 2);
	assert_int_equal(e.old_addr, 0);
	assert_end(o.trace);

	mp_trace_rewind(o.trace); /* a second pass sees the same stream */
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 100, 0xb000, 16);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.threads, 3);
	close_opened(&o);
}

static void test_chunks_restart_delta_bases_and_follow_seq(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	/* Small records in 4 KiB chunks: 3000 events need several chunks per thread. */
	for (uint64_t i = 0; i < 3000; i++) {
		mp_tb_malloc(tb, 1, 1000 + i * 7, 0x100000 + i * 48, i, 0);
		mp_tb_malloc(tb, 2, 1003 + i * 7, 0x900000 - i * 48, i, 0);
	}
	mp_tb_set_dropped(tb, 2, 5);
	struct opened o;
	open_built(tb, &o);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_true(stats.chunks > 4);
	assert_int_equal(stats.dropped_events, 5);
	for (uint64_t i = 0; i < 3000; i++) {
		expect_alloc(o.trace, MP_REC_MALLOC, 1, 1000 + i * 7, 0x100000 + i * 48, i);
		expect_alloc(o.trace, MP_REC_MALLOC, 2, 1003 + i * 7, 0x900000 - i * 48, i);
	}
	assert_end(o.trace);
	close_opened(&o);
}

/* The index pass's hint of the most blocks live at once: per thread the most its
 * allocations got ahead of its frees, across chunks in their order; summed over threads. */
static void test_live_hint_sums_each_threads_most_unfreed(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	/* Thread 1: 3000 blocks, the first 2000 freed, in several 4 KiB chunks: at most 3000. */
	for (uint64_t i = 0; i < 3000; i++)
		mp_tb_malloc(tb, 1, 1000 + i, 0x100000 + i * 48, 16, 0);
	for (uint64_t i = 0; i < 2000; i++)
		mp_tb_free(tb, 1, 5000 + i, 0x100000 + i * 48);
	/* Thread 2: up and down by one, ten times, then 5 more: at most 5. */
	for (uint64_t i = 0; i < 10; i++) {
		mp_tb_malloc(tb, 2, 100 + i * 2, 0x900000, 16, 0);
		mp_tb_free(tb, 2, 101 + i * 2, 0x900000);
	}
	for (uint64_t i = 0; i < 5; i++)
		mp_tb_alloc(tb, 2, MP_REC_CALLOC, 200 + i, 0x900000 + i * 64, 16, 0);
	struct opened o;
	open_built(tb, &o);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_true(stats.chunks > 3);
	assert_int_equal(mp_trace_live_hint(o.trace), 3005);
	close_opened(&o);
}

static void test_duplicate_stacks_share_a_canonical_id(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	uint64_t a[] = { 0x1000, 0x2000 }, b[] = { 0x1000, 0x3000 };
	mp_tb_stack(tb, 1, 10, 0, a, 2);
	mp_tb_stack(tb, 2, 11, 0, a, 2);  /* same content, another raw id */
	mp_tb_stack(tb, 1, 12, 1, a, 2);  /* same frames, another generation */
	mp_tb_stack(tb, 1, 13, 0, b, 2);
	mp_tb_stack(tb, 1, 10, 0, b, 2);  /* redefinition of a raw id: the first one stays */
	mp_tb_malloc(tb, 1, 1, 0x10, 1, 10);
	mp_tb_malloc(tb, 2, 2, 0x20, 1, 11);
	mp_tb_malloc(tb, 1, 3, 0x30, 1, 12);
	mp_tb_malloc(tb, 1, 4, 0x40, 1, 13);
	mp_tb_malloc(tb, 1, 5, 0x50, 1, 99); /* never defined */
	struct opened o;
	open_built(tb, &o);
	assert_int_equal(mp_trace_stack_count(o.trace), 3);
	uint32_t id10 = next_event(o.trace).stack_id, id11 = next_event(o.trace).stack_id;
	uint32_t id12 = next_event(o.trace).stack_id, id13 = next_event(o.trace).stack_id;
	assert_int_equal(id10, id11);
	assert_int_not_equal(id10, id12);
	assert_int_not_equal(id10, id13);
	uint32_t count, generation;
	assert_memory_equal(mp_trace_stack(o.trace, id10, &count, &generation), a, sizeof(a));
	assert_int_equal(generation, 0);
	mp_trace_stack(o.trace, id12, &count, &generation);
	assert_int_equal(generation, 1);
	assert_memory_equal(mp_trace_stack(o.trace, id13, &count, &generation), b, sizeof(b));
	assert_null(mp_trace_stack(o.trace, 0, &count, &generation));
	assert_null(mp_trace_stack(o.trace, 4, &count, &generation));
	assert_int_equal(next_event(o.trace).stack_id, 0);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.undefined_stacks, 1);
	close_opened(&o);
}

/* A STACK_SHARED record is its own frames then its parent's outermost ones, whether the
 * parent is a STACK or a STACK_SHARED, in this chunk or an earlier one; and content that
 * equals another stack's is that stack. */
static void test_shared_stacks_take_their_parents_outer_frames(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	uint64_t root[] = { 0x1100, 0x1200, 0x1300, 0x1400 };
	uint64_t child[] = { 0x2100, 0x2200, 0x1300, 0x1400 };     /* shares 2 with root */
	uint64_t grandchild[] = { 0x3100, 0x2200, 0x1300, 0x1400 }; /* 3 with child */
	uint64_t twin[] = { 0x1100, 0x1200, 0x1300, 0x1400 };       /* root's frames again */
	mp_tb_stack(tb, 1, 20, 0, root, 4);
	mp_tb_stack_shared(tb, 1, 21, 0, 20, 2, child, 4);
	mp_tb_new_chunk(tb, 1, 5);
	mp_tb_stack_shared(tb, 1, 22, 0, 21, 3, grandchild, 4);
	mp_tb_stack_shared(tb, 1, 23, 0, 22, 2, twin, 4); /* two of its own, two of 22's */
	mp_tb_stack_shared(tb, 1, 24, 0, 20, 4, root, 4); /* all of root's */
	mp_tb_malloc(tb, 1, 10, 0x10, 1, 21);
	mp_tb_malloc(tb, 1, 11, 0x20, 1, 22);
	mp_tb_malloc(tb, 1, 12, 0x30, 1, 23);
	mp_tb_malloc(tb, 1, 13, 0x40, 1, 24);
	mp_tb_malloc(tb, 1, 14, 0x50, 1, 20);
	struct opened o;
	open_built(tb, &o);
	uint32_t count, generation;
	uint32_t id21 = next_event(o.trace).stack_id, id22 = next_event(o.trace).stack_id;
	uint32_t id23 = next_event(o.trace).stack_id, id24 = next_event(o.trace).stack_id;
	uint32_t id20 = next_event(o.trace).stack_id;
	const uint64_t *frames = mp_trace_stack(o.trace, id21, &count, &generation);
	assert_int_equal(count, 4);
	assert_memory_equal(frames, child, sizeof(child));
	frames = mp_trace_stack(o.trace, id22, &count, &generation);
	assert_int_equal(count, 4);
	assert_memory_equal(frames, grandchild, sizeof(grandchild));
	/* 23 and 24 have root's frames: they are root. */
	assert_int_equal(id23, id20);
	assert_int_equal(id24, id20);
	assert_memory_equal(mp_trace_stack(o.trace, id20, &count, &generation), root, sizeof(root));
	assert_int_equal(mp_trace_stack_count(o.trace), 3);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.corrupt_chunks, 0);
	assert_int_equal(stats.undefined_stacks, 0);
	close_opened(&o);
}

static void test_module_maps_per_generation(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	const uint8_t id[] = { 0xde, 0xad, 0xbe, 0xef };
	mp_tb_module(tb, 1, 0, 0x400000, 0x401000, 0, "/bin/prog", id, sizeof(id));
	mp_tb_module(tb, 1, 0, 0x7f0000000000, 0x7f0000010000, 0x7f0000000000, "/lib/liba.so", NULL, 0);
	mp_tb_module(tb, 2, 0, 0x400000, 0x401000, 0, "/bin/prog", id, sizeof(id)); /* repeat */
	mp_tb_module(tb, 1, 2, 0x400000, 0x401000, 0, "/bin/prog", id, sizeof(id));
	mp_tb_module(tb, 1, 2, 0x7f0000000000, 0x7f0000020000, 0x7f0000000000, "/lib/libb.so", NULL, 0);
	struct opened o;
	open_built(tb, &o);
	const struct mp_module *m = mp_trace_module_at(o.trace, 0, 0x400800);
	assert_non_null(m);
	assert_string_equal(m->path, "/bin/prog");
	assert_int_equal(m->build_id_len, 4);
	assert_memory_equal(m->build_id, id, 4);
	assert_string_equal(mp_trace_module_at(o.trace, 0, 0x7f0000000000)->path, "/lib/liba.so");
	assert_null(mp_trace_module_at(o.trace, 0, 0x7f0000010000)); /* end is exclusive */
	assert_null(mp_trace_module_at(o.trace, 0, 0x3fffff));
	/* Generation 1 has no map of its own: it uses generation 0's. */
	assert_string_equal(mp_trace_module_at(o.trace, 1, 0x7f0000000100)->path, "/lib/liba.so");
	assert_string_equal(mp_trace_module_at(o.trace, 2, 0x7f0000000100)->path, "/lib/libb.so");
	assert_string_equal(mp_trace_module_at(o.trace, 9, 0x7f0000018000)->path, "/lib/libb.so");
	size_t count;
	assert_non_null(mp_trace_modules(o.trace, 0, &count));
	assert_int_equal(count, 2); /* the repeated /bin/prog record was merged */
	close_opened(&o);
}

static void test_unknown_extended_records_are_skipped(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 5, 0x1000, 8, 0);
	mp_tb_extended(tb, 1, 0x70, "future", 6);
	mp_tb_free(tb, 1, 6, 0x1000); /* its address is still a delta from 0x1000 */
	struct opened o;
	open_built(tb, &o);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 5, 0x1000, 8);
	expect_free(o.trace, 1, 6, 0x1000);
	assert_end(o.trace);
	close_opened(&o);
}

/* ---- bad input ---- */

static void expect_open_error(const void *bytes, size_t len, int code, const char *message)
{
	struct mp_trace *trace = NULL;
	char err[256] = "";
	assert_int_equal(mp_trace_open_memory(bytes, len, &trace, err, sizeof(err)), code);
	assert_null(trace);
	assert_string_equal(err, message);
}

static void build_simple(uint8_t **bytes, size_t *len)
{
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 8, 0);
	mp_tb_free(tb, 1, 20, 0x1000);
	mp_tb_bytes(tb, bytes, len);
	mp_tb_destroy(tb);
}

static void test_rejects_empty_and_foreign_files(void **state)
{
	(void)state;
	expect_open_error("", 0, -EINVAL, "trace is empty");
	expect_open_error("hello", 5, -EINVAL, "not a memprof trace (bad magic)");
	char elf[4096] = "\177ELF\2\1\1";
	expect_open_error(elf, sizeof(elf), -EINVAL, "not a memprof trace (bad magic)");

	assert_int_equal(mp_tb_write_bytes("empty.memprof", "", 0), 0);
	struct mp_trace *trace = NULL;
	char err[256];
	assert_int_equal(mp_trace_open("empty.memprof", &trace, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "trace is empty");
	assert_int_equal(mp_trace_open("no-such-file", &trace, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot open: No such file or directory");
	assert_int_equal(mp_trace_open(".", &trace, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "not a regular file");
	unlink("empty.memprof");
}

static void test_rejects_bad_headers(void **state)
{
	(void)state;
	uint8_t *bytes;
	size_t len;
	build_simple(&bytes, &len);
	expect_open_error(bytes, 100, -EINVAL, "trace header truncated (100 of 128 bytes)");
	/* Cut inside the header past its fixed part: it opens, with no chunk, and says so. */
	struct mp_trace *cut;
	char err[256];
	assert_int_equal(mp_trace_open_memory(bytes, 4000, &cut, err, sizeof(err)), 0);
	struct mp_trace_stats stats;
	mp_trace_stats(cut, &stats);
	assert_int_equal(stats.header_truncated, 1);
	assert_int_equal(stats.chunks, 0);
	assert_string_equal(mp_trace_exe(cut), "/usr/bin/testprog");
	mp_trace_close(cut);
	assert_int_equal(mp_trace_open_memory(bytes, 140, &cut, err, sizeof(err)), 0);
	assert_string_equal(mp_trace_exe(cut), "/usr/bin/tes"); /* the 12 bytes that made it */
	mp_trace_close(cut);

	struct mp_file_header *h = (struct mp_file_header *)bytes;
	h->version = 7;
	expect_open_error(bytes, len, -ENOTSUP,
			  "unsupported trace version 7 (this memprof reads versions 1 to 2)");
	h->version = 0;
	expect_open_error(bytes, len, -ENOTSUP,
			  "unsupported trace version 0 (this memprof reads versions 1 to 2)");
	/* Version 1 (before STACK_SHARED) is read as it was. */
	h->version = 1;
	struct mp_trace *old_version = NULL;
	assert_int_equal(mp_trace_open_memory(bytes, len, &old_version, err, sizeof(err)), 0);
	mp_trace_close(old_version);
	h->version = MP_TRACE_VERSION;
	h->header_size = 1000;
	expect_open_error(bytes, len, -EINVAL, "trace header is corrupt (header size 1000)");
	h->header_size = 4096;
	h->page_size = 3000;
	expect_open_error(bytes, len, -EINVAL, "trace header is corrupt (page size 3000)");
	h->page_size = 4096;
	h->exe_offset = 4090;
	expect_open_error(bytes, len, -EINVAL, "trace header is corrupt (string outside header)");
	h->exe_offset = 128;
	h->cmdline_len = 0xffffffffu;
	expect_open_error(bytes, len, -EINVAL, "trace header is corrupt (string outside header)");
	free(bytes);
}

static void test_file_cut_inside_a_chunk_keeps_whole_records(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 8, 0);
	mp_tb_malloc(tb, 1, 11, 0x2000, 8, 0);
	size_t cut = mp_tb_chunk_offset(tb, 1, 0) + 64 + 5 + 3; /* inside the second record */
	struct opened o;
	mp_tb_bytes(tb, &o.bytes, &o.len);
	mp_tb_destroy(tb);
	o.len = cut;
	assert_int_equal(open_bytes(&o), 0);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 10, 0x1000, 8);
	assert_end(o.trace);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.truncated, 1);
	assert_int_equal(stats.corrupt_chunks, 1);
	close_opened(&o);
}

static void test_invalid_chunk_header_is_skipped(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 8, 0);
	mp_tb_malloc(tb, 2, 20, 0x2000, 8, 0);
	mp_tb_malloc(tb, 3, 30, 0x3000, 8, 0);
	size_t second = mp_tb_chunk_offset(tb, 2, 0), third = mp_tb_chunk_offset(tb, 3, 0);
	struct opened o;
	mp_tb_bytes(tb, &o.bytes, &o.len);
	mp_tb_destroy(tb);
	struct mp_chunk_header *head = (struct mp_chunk_header *)(o.bytes + second);
	head->used = head->capacity + 1;      /* used beyond capacity */
	memset(o.bytes + third, 0, 64);       /* a chunk never written */
	assert_int_equal(open_bytes(&o), 0);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 10, 0x1000, 8);
	assert_end(o.trace);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.corrupt_chunks, 1);
	assert_int_equal(stats.unwritten_pages, 1);
	assert_int_equal(stats.chunks, 1);
	close_opened(&o);
}

/* Appends `bytes` after two good records and expects exactly those two, then the end. */
static void expect_corruption_stops_chunk(const void *bytes, size_t len)
{
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 8, 0);
	mp_tb_free(tb, 1, 20, 0x1000);
	mp_tb_raw(tb, 1, bytes, len);
	mp_tb_new_chunk(tb, 1, 30);
	mp_tb_malloc(tb, 1, 40, 0x5000, 16, 0); /* the next chunk is still read */
	struct opened o;
	open_built(tb, &o);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 10, 0x1000, 8);
	expect_free(o.trace, 1, 20, 0x1000);
	expect_alloc(o.trace, MP_REC_MALLOC, 1, 40, 0x5000, 16);
	assert_end(o.trace);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.corrupt_chunks, 1);
	assert_int_equal(stats.events, 3);
	close_opened(&o);
}

static void test_corrupt_records_end_their_chunk(void **state)
{
	(void)state;
	const uint8_t unknown_tag[] = { 0x3f, 1, 2, 3 };
	expect_corruption_stops_chunk(unknown_tag, sizeof(unknown_tag));
	const uint8_t zero_tag[] = { 0 };
	expect_corruption_stops_chunk(zero_tag, sizeof(zero_tag));
	const uint8_t endless_varint[] = { MP_REC_MALLOC, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	expect_corruption_stops_chunk(endless_varint, sizeof(endless_varint));
	const uint8_t short_record[] = { MP_REC_FREE, 0x02 };
	expect_corruption_stops_chunk(short_record, sizeof(short_record));
	const uint8_t long_body[] = { 0x70, 0xff, 0x01, 0 }; /* body_length 255, 1 byte left */
	expect_corruption_stops_chunk(long_body, sizeof(long_body));
	const uint8_t huge_stack[] = { MP_REC_STACK, 5, 1, 0, 0xff, 0x7f, 2 }; /* 16383 frames */
	expect_corruption_stops_chunk(huge_stack, sizeof(huge_stack));
	const uint8_t short_module[] = { MP_REC_MODULE, 4, 0, 2, 10, 0x7f }; /* path too long */
	expect_corruption_stops_chunk(short_module, sizeof(short_module));
}

/* A STACK_SHARED record whose parent is unknown (not yet defined, or never), or that
 * claims more frames than its parent or itself has, ends its chunk as corruption. */
static void test_shared_stacks_that_do_not_hold_end_their_chunk(void **state)
{
	(void)state;
	/* id 9, generation 0, 3 frames, parent 7 (never defined), 2 shared, 1 frame. */
	const uint8_t unknown_parent[] = { MP_REC_STACK_SHARED, 6, 9, 0, 3, 7, 2, 2 };
	expect_corruption_stops_chunk(unknown_parent, sizeof(unknown_parent));
	/* Parent 5 (the builder's stack below has 2 frames), 3 shared. */
	const uint8_t too_many_shared[] = { MP_REC_STACK_SHARED, 6, 9, 0, 4, 5, 3, 2 };
	/* shared 0, and shared above the frame count. */
	const uint8_t none_shared[] = { MP_REC_STACK_SHARED, 6, 9, 0, 1, 5, 0, 2 };
	const uint8_t more_than_count[] = { MP_REC_STACK_SHARED, 5, 9, 0, 1, 5, 2 };
	const uint8_t *bad[] = { too_many_shared, none_shared, more_than_count };
	const size_t lens[] = { sizeof(too_many_shared), sizeof(none_shared),
				sizeof(more_than_count) };
	for (int i = 0; i < 3; i++) {
		struct mp_tb *tb = mp_tb_new();
		uint64_t two[] = { 0x1000, 0x2000 };
		mp_tb_stack(tb, 1, 5, 0, two, 2);
		mp_tb_malloc(tb, 1, 10, 0x1000, 8, 5);
		mp_tb_raw(tb, 1, bad[i], lens[i]);
		mp_tb_malloc(tb, 1, 20, 0x2000, 8, 5); /* after the bad record: not read */
		struct opened o;
		open_built(tb, &o);
		expect_alloc(o.trace, MP_REC_MALLOC, 1, 10, 0x1000, 8);
		assert_end(o.trace);
		struct mp_trace_stats stats;
		mp_trace_stats(o.trace, &stats);
		assert_int_equal(stats.corrupt_chunks, 1);
		close_opened(&o);
	}
}

static uint64_t varint_state = 0x9e3779b97f4a7c15ull;

static uint64_t varint_random(void)
{
	varint_state ^= varint_state << 13;
	varint_state ^= varint_state >> 7;
	varint_state ^= varint_state << 17;
	return varint_state;
}

/* Writes a varint of `length` bytes (any value: the reader checks the form only) at out;
 * a 10-byte one with a last byte above 1 is over 64 bits. Returns the length. */
static size_t put_varint(uint8_t *out, unsigned length, int over_64_bits)
{
	for (unsigned i = 0; i + 1 < length; i++)
		out[i] = (uint8_t)(0x80 | (varint_random() & 0x7f));
	out[length - 1] = (uint8_t)(over_64_bits ? 2 + varint_random() % 126
						 : length == 10 ? varint_random() % 2
							       : varint_random() & 0x7f);
	return length;
}

/* The index pass steps over allocations and frees of every length, the short ones (that
 * end within 8 bytes of their tag) a word at a time: it counts and cuts exactly where
 * the merge's decoder does, whether a record ends within the word or not, near a chunk's
 * end, and at a varint over 64 bits (which ends the chunk). */
static void test_index_steps_over_records_of_every_length(void **state)
{
	(void)state;
	for (int round = 0; round < 200; round++) {
		struct mp_tb *tb = mp_tb_new();
		mp_tb_set_page_size(tb, 256);
		mp_tb_set_chunk_capacity(tb, 8192);
		uint64_t records = 20 + varint_random() % 80, bad_at = varint_random() % 200;
		uint64_t expected = 0;
		for (uint64_t i = 0; i < records; i++) {
			static const uint8_t tags[] = { MP_REC_MALLOC, MP_REC_FREE, MP_REC_CALLOC,
							MP_REC_PVALLOC };
			uint8_t record[64];
			uint8_t tag = tags[varint_random() % 4];
			unsigned fields = tag == MP_REC_FREE ? 2 : 4;
			size_t len = 0;
			record[len++] = tag;
			int bad = i == bad_at;
			for (unsigned field = 0; field < fields; field++) {
				/* Mostly 1 to 3 bytes, as in real traces; sometimes up to 10. */
				unsigned roll = (unsigned)(varint_random() % 10);
				unsigned length = bad && field == 1 ? 10
						  : roll < 7 ? 1 + (unsigned)(varint_random() % 3)
							     : 1 + (unsigned)(varint_random() % 10);
				len += put_varint(record + len, length, bad && field == 1);
			}
			mp_tb_raw(tb, 1, record, len);
			expected += bad_at >= records || i < bad_at;
		}
		struct opened o;
		open_built(tb, &o);
		struct mp_trace_stats stats;
		mp_trace_stats(o.trace, &stats);
		assert_int_equal(stats.events, expected);
		assert_int_equal(stats.corrupt_chunks, bad_at < records);
		struct mp_event event;
		char err[128];
		uint64_t seen = 0;
		while (mp_trace_next(o.trace, &event, err, sizeof(err)) == 1)
			seen++;
		assert_int_equal(seen, expected);
		close_opened(&o);
	}
}

/* A trace above the size at which the index pass scans on two threads: stacks defined
 * and records cut in the later half are found and counted as in a serial pass. */
static void test_large_trace_indexed_on_two_threads(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_set_chunk_capacity(tb, 65536);
	const uint64_t frames[] = { 0x401000, 0x402000 }, other[] = { 0x403000 };
	const uint8_t huge_stack[] = { MP_REC_STACK, 5, 1, 0, 0xff, 0x7f, 2 };
	const uint8_t unknown_tag[] = { 0x3f, 1, 2, 3 };
	uint64_t time = 100, expected_events = 0, pairs_per_chunk = 4000;
	mp_tb_stack(tb, 1, 1, 0, frames, 2);
	for (int chunk = 0; chunk < 40; chunk++) {
		if (chunk > 0)
			mp_tb_new_chunk(tb, 1, time);
		if (chunk == 30)
			mp_tb_stack(tb, 1, 7, 0, other, 1); /* late, in the second half */
		/* Halfway through chunk 33 a body that does not decode, halfway through 37 a tag
		 * that no record has: the rest of each chunk is lost. */
		int damaged = chunk == 33 || chunk == 37;
		for (uint64_t i = 0; i < pairs_per_chunk; i++, time += 2) {
			if (damaged && i == pairs_per_chunk / 2)
				mp_tb_raw(tb, 1, chunk == 33 ? huge_stack : unknown_tag,
					  chunk == 33 ? sizeof(huge_stack) : sizeof(unknown_tag));
			uint64_t addr = 0x100000 + (i % 64) * 64;
			mp_tb_malloc(tb, 1, time, addr, 24, chunk >= 30 ? 7 : 1);
			mp_tb_free(tb, 1, time + 1, addr);
		}
		expected_events += damaged ? pairs_per_chunk : 2 * pairs_per_chunk;
	}
	struct opened o;
	open_built(tb, &o);
	assert_true(o.len > 2u << 20);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	assert_int_equal(stats.corrupt_chunks, 2);
	assert_int_equal(stats.events, expected_events);
	assert_int_equal(mp_trace_stack_count(o.trace), 2);
	uint64_t seen = 0, late_stack = 0;
	struct mp_event event;
	char err[128];
	while (mp_trace_next(o.trace, &event, err, sizeof(err)) == 1) {
		seen++;
		if (event.tag == MP_REC_MALLOC && event.time_ns >= 100 + 30 * 2 * pairs_per_chunk) {
			uint32_t frame_count, generation;
			const uint64_t *ips = mp_trace_stack(o.trace, event.stack_id, &frame_count,
							     &generation);
			assert_non_null(ips);
			assert_int_equal(ips[0], 0x403000);
			late_stack++;
		}
	}
	assert_int_equal(seen, expected_events);
	assert_int_equal(late_stack, 9 * pairs_per_chunk);
	close_opened(&o);
}

/* mp_trace_next_batch decodes a thread's run of events in place while it stays ahead of
 * the others: whatever the batch size, it gives the events of mp_trace_next, in the same
 * order, on threads whose runs are long and short, with equal times across threads
 * (releases first, then lower serials), reallocs placed at their time before, other
 * records between events, an undefined stack, and small chunks (records near a chunk's
 * end go the decoder's general way). */
static void test_batches_give_what_single_reads_give(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_set_page_size(tb, 256);
	mp_tb_set_chunk_capacity(tb, 512);
	uint64_t frames[] = { 0x401000, 0x402000 };
	mp_tb_stack(tb, 1, 5, 0, frames, 2);
	uint64_t seed = 0x9e3779b97f4a7c15ull, time = 1000;
	for (int round = 0; round < 4000; round++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		uint32_t serial = 1 + (uint32_t)(seed % 3);
		uint64_t addr = 0x100000 * serial + (seed >> 8) % 4096 * 16;
		/* Runs of one thread, then a jump to another, sometimes at the same time. */
		time += seed % 5 == 0 ? 0 : 1 + seed % 3;
		switch ((seed >> 20) % 8) {
		case 0: case 1: case 2:
			mp_tb_malloc(tb, serial, time, addr, 1 + (seed >> 30) % 5000,
				     (seed >> 40) % 16 ? 5 : 9);
			break;
		case 3:
			mp_tb_realloc(tb, serial, time, time + 2, addr, addr + 64, 100, 5);
			time += 2;
			break;
		case 4:
			mp_tb_mmap(tb, serial, time, 0x7f0000000000 + (uint64_t)round * 4096, 4096, 3,
				   0x22, -1, 0, 5);
			break;
		case 5:
			mp_tb_stack(tb, serial, 100 + (uint64_t)round, 0, frames, 1);
			break;
		default:
			mp_tb_free(tb, serial, time, addr);
		}
	}
	struct opened o;
	open_built(tb, &o);
	struct mp_trace_stats stats;
	mp_trace_stats(o.trace, &stats);
	struct mp_event *want = calloc(stats.events + 1, sizeof(*want));
	assert_non_null(want);
	size_t total = 0;
	char err[128];
	while (mp_trace_next(o.trace, &want[total], err, sizeof(err)) == 1)
		total++;
	assert_int_equal(total, stats.events);
	assert_true(total > 3000);
	static const size_t sizes[] = { 1, 2, 7, 64, 256, 5000 };
	struct mp_event *got = calloc(5000, sizeof(*got));
	assert_non_null(got);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		mp_trace_rewind(o.trace);
		size_t seen = 0, count;
		while ((count = mp_trace_next_batch(o.trace, got, sizes[s])) > 0) {
			assert_true(count <= sizes[s]);
			assert_true(seen + count <= total);
			for (size_t i = 0; i < count; i++)
				assert_same_event(&got[i], &want[seen + i]);
			seen += count;
			if (count < sizes[s])
				break;
		}
		assert_int_equal(seen, total);
		assert_int_equal(mp_trace_next_batch(o.trace, got, sizes[s]), 0);
		/* Mixed with single reads. */
		mp_trace_rewind(o.trace);
		seen = 0;
		while (seen < total) {
			count = mp_trace_next_batch(o.trace, got, sizes[s]);
			for (size_t i = 0; i < count; i++)
				assert_same_event(&got[i], &want[seen + i]);
			seen += count;
			if (seen < total) {
				assert_int_equal(mp_trace_next(o.trace, &got[0], err, sizeof(err)), 1);
				assert_same_event(&got[0], &want[seen++]);
			}
		}
		assert_int_equal(mp_trace_next(o.trace, &got[0], err, sizeof(err)), 0);
	}
	free(got);
	free(want);
	close_opened(&o);
}

static void test_flipped_bytes_never_break_the_reader(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_set_page_size(tb, 256);
	mp_tb_set_chunk_capacity(tb, 256);
	uint64_t frames[] = { 0x401000, 0x402000 };
	mp_tb_stack(tb, 1, 1, 0, frames, 2);
	mp_tb_module(tb, 1, 0, 0x400000, 0x500000, 0, "/bin/x", NULL, 0);
	for (uint64_t i = 0; i < 40; i++) {
		mp_tb_malloc(tb, 1 + i % 2, i * 10, 0x1000 + i * 16, i, 1);
		mp_tb_realloc(tb, 1 + i % 2, i * 10 + 1, i * 10 + 2, 0x1000 + i * 16, 0x9000, i, 1);
	}
	uint8_t *bytes;
	size_t len;
	mp_tb_bytes(tb, &bytes, &len);
	mp_tb_destroy(tb);
	for (size_t at = 0; at < len; at++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			bytes[at] ^= (uint8_t)(1u << bit);
			struct mp_trace *trace;
			char err[256];
			if (mp_trace_open_memory(bytes, len, &trace, err, sizeof(err)) == 0) {
				struct mp_event event;
				uint64_t events = 0;
				while (mp_trace_next(trace, &event, err, sizeof(err)) == 1)
					events++;
				struct mp_trace_stats stats;
				mp_trace_stats(trace, &stats);
				assert_int_equal(events, stats.events);
				mp_trace_rewind(trace);
				struct mp_event batch[16];
				size_t count, batched = 0;
				while ((count = mp_trace_next_batch(trace, batch, 16)) > 0)
					batched += count;
				assert_int_equal(batched, stats.events);
				mp_trace_close(trace);
			} else {
				assert_true(strlen(err) > 0);
			}
			bytes[at] ^= (uint8_t)(1u << bit);
		}
	}
	free(bytes);
}

static void test_open_from_file(void **state)
{
	(void)state;
	struct mp_tb *tb = mp_tb_new();
	mp_tb_malloc(tb, 1, 10, 0x1000, 8, 0);
	assert_int_equal(mp_tb_write(tb, "file.memprof"), 0);
	mp_tb_destroy(tb);
	struct mp_trace *trace;
	char err[256];
	assert_int_equal(mp_trace_open("file.memprof", &trace, err, sizeof(err)), 0);
	expect_alloc(trace, MP_REC_MALLOC, 1, 10, 0x1000, 8);
	assert_end(trace);
	mp_trace_close(trace);
	unlink("file.memprof");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_record_kind_round_trips),
		cmocka_unit_test(test_header_fields_and_strings),
		cmocka_unit_test(test_merge_orders_threads_by_time_with_releases_first),
		cmocka_unit_test(test_chunks_restart_delta_bases_and_follow_seq),
		cmocka_unit_test(test_live_hint_sums_each_threads_most_unfreed),
		cmocka_unit_test(test_duplicate_stacks_share_a_canonical_id),
		cmocka_unit_test(test_shared_stacks_take_their_parents_outer_frames),
		cmocka_unit_test(test_shared_stacks_that_do_not_hold_end_their_chunk),
		cmocka_unit_test(test_module_maps_per_generation),
		cmocka_unit_test(test_unknown_extended_records_are_skipped),
		cmocka_unit_test(test_rejects_empty_and_foreign_files),
		cmocka_unit_test(test_rejects_bad_headers),
		cmocka_unit_test(test_file_cut_inside_a_chunk_keeps_whole_records),
		cmocka_unit_test(test_invalid_chunk_header_is_skipped),
		cmocka_unit_test(test_corrupt_records_end_their_chunk),
		cmocka_unit_test(test_index_steps_over_records_of_every_length),
		cmocka_unit_test(test_large_trace_indexed_on_two_threads),
		cmocka_unit_test(test_batches_give_what_single_reads_give),
		cmocka_unit_test(test_flipped_bytes_never_break_the_reader),
		cmocka_unit_test(test_open_from_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
