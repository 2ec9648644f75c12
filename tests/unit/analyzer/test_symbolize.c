/* test_symbolize.c: symbolizing addresses of this test binary through a synthetic trace. */
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "symbolize.h"
#include "loaded_object.h"
#include "trace_builder.h"
#include "trace_read.h"

/* The code whose addresses are symbolized. The volatile counter keeps the calls from
 * becoming tail calls, so their return addresses stay inside the caller. */
static volatile int keep_calls;
static int helper_call_line, outer_call_line;

__attribute__((noinline)) int sym_target_function(int x)
{
	keep_calls += x;
	return keep_calls * 3;
}

static __attribute__((noinline)) uintptr_t capture_return_address(void)
{
	keep_calls++;
	return (uintptr_t)__builtin_return_address(0);
}

static inline __attribute__((always_inline)) uintptr_t inlined_helper(void)
{
	helper_call_line = __LINE__; uintptr_t ip = capture_return_address();
	keep_calls++;
	return ip;
}

__attribute__((noinline)) uintptr_t sym_outer_function(void)
{
	outer_call_line = __LINE__; uintptr_t ip = inlined_helper();
	keep_calls++;
	return ip;
}

/* The main executable's load range and bias, as the preload records them. */
struct exe_range {
	uint64_t start, end, bias;
	int found;
};

static int find_exe(struct dl_phdr_info *info, size_t size, void *data)
{
	struct exe_range *range = data;
	(void)size;
	if (range->found || (info->dlpi_name && info->dlpi_name[0]))
		return 0;
	mp_test_object_range(info, &range->start, &range->end);
	range->bias = info->dlpi_addr;
	range->found = 1;
	return 1;
}

struct fixture {
	uint8_t *bytes;
	size_t len;
	struct mp_trace *trace;
	struct mp_symbolizer *sym;
	struct exe_range exe;
};

/* A trace whose generation 0 maps this executable (with `build_id`) and a library that
 * is not on disk; generation 1 maps nothing but that library. */
static void open_fixture(struct fixture *f, const uint8_t *build_id, size_t build_id_len)
{
	memset(f, 0, sizeof(*f));
	dl_iterate_phdr(find_exe, &f->exe);
	assert_true(f->exe.found);
	char *exe = realpath("/proc/self/exe", NULL);
	assert_non_null(exe);
	struct mp_tb *tb = mp_tb_new();
	mp_tb_module(tb, 1, 0, f->exe.start, f->exe.end, f->exe.bias, exe, build_id, build_id_len);
	mp_tb_module(tb, 1, 0, 0x10000000, 0x10100000, 0x10000000, "/nonexistent/libgone.so",
		     NULL, 0);
	mp_tb_module(tb, 1, 1, 0x10000000, 0x10100000, 0x10000000, "/nonexistent/libgone.so",
		     NULL, 0);
	free(exe);
	mp_tb_bytes(tb, &f->bytes, &f->len);
	mp_tb_destroy(tb);
	char err[256];
	assert_int_equal(mp_trace_open_memory(f->bytes, f->len, &f->trace, err, sizeof(err)), 0);
	f->sym = mp_symbolizer_new(f->trace);
	assert_non_null(f->sym);
}

static void close_fixture(struct fixture *f)
{
	mp_symbolizer_free(f->sym);
	mp_trace_close(f->trace);
	free(f->bytes);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t len = strlen(s), suffix_len = strlen(suffix);
	return len >= suffix_len && strcmp(s + len - suffix_len, suffix) == 0;
}

static void test_function_in_this_binary_has_name_file_and_line(void **state)
{
	(void)state;
	struct fixture f;
	open_fixture(&f, NULL, 0);
	uint64_t ip = (uint64_t)(uintptr_t)&sym_target_function + 5;
	struct mp_frame frames[8];
	int count = mp_symbolize(f.sym, 0, ip, frames, 8);
	assert_int_equal(count, 1);
	assert_string_equal(frames[0].function, "sym_target_function");
	assert_non_null(frames[0].file);
	assert_true(ends_with(frames[0].file, "test_symbolize.c"));
	assert_true(frames[0].line >= 21 && frames[0].line <= 25);
	assert_string_equal(frames[0].module, "test_symbolize");
	assert_int_equal(frames[0].address, ip);
	assert_int_equal(frames[0].module_offset, ip - f.exe.bias);
	assert_int_equal(frames[0].inlined, 0);
	assert_int_equal(frames[0].untrusted, 0);

	/* The second lookup comes from the cache and is identical. */
	struct mp_frame again[8];
	assert_int_equal(mp_symbolize(f.sym, 0, ip, again, 8), 1);
	assert_ptr_equal(again[0].function, frames[0].function);
	close_fixture(&f);
}

static void test_inlined_call_is_its_own_frame(void **state)
{
	(void)state;
	struct fixture f;
	open_fixture(&f, NULL, 0);
	uint64_t ip = sym_outer_function();
	struct mp_frame frames[8];
	int count = mp_symbolize(f.sym, 0, ip, frames, 8);
	assert_int_equal(count, 2);
	assert_string_equal(frames[0].function, "inlined_helper");
	assert_int_equal(frames[0].inlined, 1);
	assert_int_equal(frames[0].line, helper_call_line);
	assert_true(ends_with(frames[0].file, "test_symbolize.c"));
	assert_string_equal(frames[1].function, "sym_outer_function");
	assert_int_equal(frames[1].inlined, 0);
	assert_int_equal(frames[1].line, outer_call_line);
	assert_true(ends_with(frames[1].file, "test_symbolize.c"));
	/* With room for one frame only, the innermost comes back. */
	assert_int_equal(mp_symbolize(f.sym, 0, ip, frames, 1), 1);
	assert_string_equal(frames[0].function, "inlined_helper");
	close_fixture(&f);
}

static void test_missing_module_degrades_to_module_and_offset(void **state)
{
	(void)state;
	struct fixture f;
	open_fixture(&f, NULL, 0);
	struct mp_frame frame;
	assert_int_equal(mp_symbolize(f.sym, 0, 0x10001234, &frame, 1), 1);
	assert_null(frame.function);
	assert_null(frame.file);
	assert_string_equal(frame.module, "libgone.so");
	assert_int_equal(frame.module_offset, 0x1234);
	assert_int_equal(frame.address, 0x10001234);
	/* Generation 1 has its own map without the executable. */
	uint64_t ip = (uint64_t)(uintptr_t)&sym_target_function + 5;
	assert_int_equal(mp_symbolize(f.sym, 1, ip, &frame, 1), 1);
	assert_null(frame.function);
	assert_null(frame.module);
	assert_int_equal(frame.address, ip);
	/* Unmapped address in generation 0. */
	assert_int_equal(mp_symbolize(f.sym, 0, 0x20, &frame, 1), 1);
	assert_null(frame.module);
	assert_int_equal(mp_symbolize(f.sym, 0, 0x20, &frame, 0), 0);
	close_fixture(&f);
}

static void test_build_id_mismatch_is_not_trusted(void **state)
{
	(void)state;
	struct fixture f;
	const uint8_t wrong[20] = { 1, 2, 3 };
	open_fixture(&f, wrong, sizeof(wrong));
	uint64_t ip = (uint64_t)(uintptr_t)&sym_target_function + 5;
	struct mp_frame frame;
	assert_int_equal(mp_symbolize(f.sym, 0, ip, &frame, 1), 1);
	assert_null(frame.function);
	assert_int_equal(frame.untrusted, 1);
	assert_string_equal(frame.module, "test_symbolize");
	assert_int_equal(frame.module_offset, ip - f.exe.bias);
	close_fixture(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_function_in_this_binary_has_name_file_and_line),
		cmocka_unit_test(test_inlined_call_is_its_own_frame),
		cmocka_unit_test(test_missing_module_degrades_to_module_and_offset),
		cmocka_unit_test(test_build_id_mismatch_is_not_trusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
