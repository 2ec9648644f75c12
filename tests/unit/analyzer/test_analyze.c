/* test_analyze.c: which frames mp_analysis_frames shows, and which debug information the
 * analysis loads for them, on this test binary's own real stack.
 *
 * main() records its return addresses with backtrace(3) before cmocka runs: main, then
 * glibc's start code (__libc_start_call_main, __libc_start_main_impl) and the program's
 * _start. A synthetic trace maps this executable and every loaded library where they
 * really are, so libdwfl reads the real files, libc's debug file (libc6-dbg) included.
 *
 * libc6-dbg's debug sections are compressed. The symbolizer inflates a debug file's with
 * libdeflate_zlib_decompress() (debug_inflate.h); libelf would use zlib's inflate(). This
 * file defines both: the executable's definitions win symbol lookup, so the tests count
 * the calls, i.e. whether libc's DWARF was really loaded, whichever did it.
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libdeflate.h>
#include <zlib.h>

#include "analyze.h"
#include "loaded_object.h"
#include "trace_builder.h"

#define MAX_RECORDED 16

static unsigned long inflate_calls;   /* zlib's and libdeflate's */
static unsigned long libdeflate_calls; /* libdeflate's alone */

int inflate(z_streamp stream, int flush)
{
	static int (*real_inflate)(z_streamp, int);
	if (!real_inflate)
		*(void **)&real_inflate = dlsym(RTLD_NEXT, "inflate");
	inflate_calls++;
	return real_inflate(stream, flush);
}

enum libdeflate_result libdeflate_zlib_decompress(struct libdeflate_decompressor *decompressor,
						   const void *in, size_t in_nbytes, void *out,
						   size_t out_nbytes_avail,
						   size_t *actual_out_nbytes_ret)
{
	static enum libdeflate_result (*real_decompress)(struct libdeflate_decompressor *,
							 const void *, size_t, void *, size_t,
							 size_t *);
	if (!real_decompress)
		*(void **)&real_decompress = dlsym(RTLD_NEXT, "libdeflate_zlib_decompress");
	inflate_calls++;
	libdeflate_calls++;
	return real_decompress(decompressor, in, in_nbytes, out, out_nbytes_avail,
			       actual_out_nbytes_ret);
}

static uint64_t main_stack[MAX_RECORDED];
static uint32_t main_depth;

/* Files the module map names instead of the real ones, when set: a copy of this
 * executable, of libc (same layout, so the recorded addresses fall where they did). */
static const char *exe_substitute, *libc_substitute;

/* Whether a loaded object's path is libc's. */
static int is_libc(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strcmp(slash ? slash + 1 : path, "libc.so.6") == 0;
}

/* Adds one loaded object to the trace's module map (generation 0, no build-id). */
static int add_module(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t start, end;
	(void)size;
	mp_test_object_range(info, &start, &end);
	char *exe = NULL;
	const char *path = info->dlpi_name;
	if (!path || !path[0])
		path = exe_substitute ? exe_substitute : (exe = realpath("/proc/self/exe", NULL));
	else if (libc_substitute && is_libc(path))
		path = libc_substitute;
	if (path && path[0] == '/' && end > start)
		mp_tb_module(data, 1, 0, start, end, info->dlpi_addr, path, NULL, 0);
	free(exe);
	return 0;
}

/* A trace of one malloc whose stack is main's (stack id 1); its path goes to `path`. */
static void write_trace(char path[64])
{
	struct mp_tb *tb = mp_tb_new();
	dl_iterate_phdr(add_module, tb);
	mp_tb_stack(tb, 1, 1, 0, main_stack, main_depth);
	mp_tb_malloc(tb, 1, 100, 0x5000, 32, 1);
	snprintf(path, 64, "/tmp/memprof-test-analyze.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mp_tb_write(tb, path), 0);
	mp_tb_destroy(tb);
}

static int analyze(struct mp_analysis *analysis, unsigned flags, struct mp_frame *frames,
		   int max)
{
	char path[64], err[256];
	write_trace(path);
	inflate_calls = 0;
	libdeflate_calls = 0;
	assert_int_equal(mp_analysis_run(path, analysis, MP_ANALYSIS_SYMBOLS | flags, err,
					 sizeof(err)), 0);
	unlink(path);
	analysis->path = NULL;
	return mp_analysis_frames(analysis, 1, frames, max);
}

static void test_stack_ends_at_main_and_libc_dwarf_is_not_loaded(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	int count = analyze(&analysis, 0, frames, 64);

	assert_int_equal(count, 1);
	assert_string_equal(frames[0].function, "main");
	assert_non_null(frames[0].file);
	assert_true(frames[0].line > 0);
	/* Deciding what to leave out read libc's symbol table, not its DWARF; the warming
	 * thread loaded this executable's only (whose sections are not compressed). */
	assert_int_equal(inflate_calls, 0);
	assert_int_equal(mp_symbolizer_dwarf_opened(analysis.symbolizer, "libc.so.6"), 0);
	assert_int_equal(mp_symbolizer_dwarf_count(analysis.symbolizer), 1);
	mp_analysis_destroy(&analysis);
}

static void test_full_stacks_show_the_start_code_with_lines(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	int count = analyze(&analysis, MP_ANALYSIS_FULL_STACKS, frames, 64);

	assert_int_equal(count, (int)main_depth);
	assert_string_equal(frames[0].function, "main");
	assert_string_equal(frames[1].function, "__libc_start_call_main");
	assert_string_equal(frames[1].module, "libc.so.6");
	assert_non_null(frames[1].file); /* from libc's DWARF, which is now loaded */
	assert_true(inflate_calls > 0);
	/* ... and inflated by the symbolizer, section by section, not by libdw with zlib. */
	assert_true(libdeflate_calls > 0);
	assert_int_equal(libdeflate_calls, inflate_calls);
	assert_string_equal(frames[count - 1].function, "_start");
	assert_int_equal(mp_symbolizer_dwarf_opened(analysis.symbolizer, "libc.so.6"), 1);
	mp_analysis_destroy(&analysis);
}

/* Suppressions see the frames left out, by their symbol table names without version
 * tags, so that a rule hides the same leaks either way; no file or line, since libc's
 * DWARF stays unread. */
static void test_all_frames_names_the_left_out_ones_from_the_symbol_table(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	analyze(&analysis, 0, frames, 64);
	int count = mp_analysis_all_frames(&analysis, 1, frames, 64);

	assert_int_equal(count, (int)main_depth);
	assert_string_equal(frames[0].function, "main");
	assert_non_null(strstr(frames[1].function, "__libc_start_call_main"));
	assert_string_equal(frames[1].module, "libc.so.6");
	assert_null(frames[1].file);
	/* libc6-dbg's symbol table has __libc_start_main@@GLIBC_2.34 and
	 * __libc_start_main@GLIBC_2.2.5 there (with local aliases); shown untagged. */
	assert_string_equal(frames[2].function, "__libc_start_main");
	assert_string_equal(frames[count - 1].function, "_start");
	assert_int_equal(inflate_calls, 0);
	assert_int_equal(mp_symbolizer_dwarf_opened(analysis.symbolizer, "libc.so.6"), 0);
	mp_analysis_destroy(&analysis);
}

/* A scratch directory for copies of objects, made once; "" if it cannot be. */
static const char *scratch_dir(void)
{
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/memprof-test-analyze-dir.XXXXXX");
		assert_non_null(mkdtemp(dir));
	}
	return dir;
}

/* Runs a shell command that makes `copy` in the scratch directory from `source`; the
 * command is given the two paths as $1 and $2. The copy's path goes to path[256]. */
static const char *make_copy(const char *command, const char *source, const char *copy,
			     char *path)
{
	char line[1024];
	snprintf(path, 256, "%s/%s", scratch_dir(), copy);
	snprintf(line, sizeof(line), "sh -c '%s' sh '%s' '%s'", command, source, path);
	if (system(line) != 0)
		fail_msg("cannot make %s: %s", path, line);
	return path;
}

/* This executable without its symbol table (as Debian ships sqlite3 or git). */
static const char *stripped_exe(void)
{
	static char path[256];
	char *self = realpath("/proc/self/exe", NULL);
	assert_non_null(self);
	const char *copy = make_copy("strip -o \"$2\" \"$1\"", self, "stripped_prog", path);
	free(self);
	return copy;
}

/* dl_iterate_phdr's callback: libc's path to data[256]. */
static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && is_libc(info->dlpi_name))
		snprintf(data, 256, "%s", info->dlpi_name);
	return 0;
}

/* libc without its symbol table, its separate debug file out of reach (no build-id
 * note, no .gnu_debuglink): only .dynsym names its functions, as without libc6-dbg. */
static const char *symtab_less_libc(void)
{
	static char path[256];
	char libc[256] = "";
	dl_iterate_phdr(find_libc, libc);
	assert_true(libc[0] == '/');
	return make_copy("objcopy --remove-section=.gnu_debuglink "
			 "--remove-section=.note.gnu.build-id \"$1\" \"$2\"",
			 libc, "libc.so.6", path);
}

/* The frames of main's stack with the given substitutes (NULL: the real file). */
static int analyze_with(const char *exe, const char *libc, unsigned flags,
			struct mp_analysis *analysis, struct mp_frame *frames, int max)
{
	exe_substitute = exe;
	libc_substitute = libc;
	int count = analyze(analysis, flags, frames, max);
	exe_substitute = libc_substitute = NULL;
	return count;
}

/* A program without symbols: main and _start have no name. The stack still ends at main,
 * the frame libc's __libc_start_call_main called, shown as module+offset. */
static void test_stripped_program_ends_at_its_unnamed_main(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	int count = analyze_with(stripped_exe(), NULL, 0, &analysis, frames, 64);

	assert_int_equal(count, 1);
	assert_null(frames[0].function);
	assert_null(frames[0].file);
	assert_string_equal(frames[0].module, "stripped_prog");
	assert_int_equal(frames[0].address, main_stack[0]);
	assert_int_equal(mp_symbolizer_dwarf_opened(analysis.symbolizer, "libc.so.6"), 0);
	mp_analysis_destroy(&analysis);
}

/* --full-stacks keeps what was left out: libc's start code and the unnamed _start. */
static void test_stripped_program_full_stacks_keep_everything(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	int count = analyze_with(stripped_exe(), NULL, MP_ANALYSIS_FULL_STACKS, &analysis,
				 frames, 64);

	assert_int_equal(count, 4);
	assert_null(frames[0].function);
	assert_string_equal(frames[1].function, "__libc_start_call_main");
	assert_string_equal(frames[2].function, "__libc_start_main_impl");
	assert_null(frames[3].function);
	assert_string_equal(frames[3].module, "stripped_prog");
	for (int i = 0; i < count; i++)
		assert_int_equal(frames[i].address, main_stack[i]);
	mp_analysis_destroy(&analysis);
}

/* Stripped program, and a libc whose only names are .dynsym's: __libc_start_call_main
 * is an unnamed frame of libc then, just inside __libc_start_main. The stack ends at
 * main all the same. */
static void test_stripped_program_and_symtab_less_libc_end_at_main(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	const char *libc = symtab_less_libc();
	int count = analyze_with(stripped_exe(), libc, 0, &analysis, frames, 64);
	assert_int_equal(count, 1);
	assert_null(frames[0].function);
	assert_int_equal(frames[0].address, main_stack[0]);
	mp_analysis_destroy(&analysis);

	count = analyze_with(stripped_exe(), libc, MP_ANALYSIS_FULL_STACKS, &analysis, frames, 64);
	assert_int_equal(count, 4);
	assert_null(frames[1].function);
	assert_string_equal(frames[1].module, "libc.so.6");
	assert_string_equal(frames[2].function, "__libc_start_main");
	assert_null(frames[3].function);
	count = mp_analysis_all_frames(&analysis, 1, frames, 64);
	assert_int_equal(count, 4);
	assert_string_equal(frames[2].function, "__libc_start_main");
	mp_analysis_destroy(&analysis);
}

/* A program with symbols, libc without: main is the root, not libc's unnamed frame. */
static void test_named_main_with_a_symtab_less_libc(void **state)
{
	(void)state;
	struct mp_analysis analysis;
	struct mp_frame frames[64];
	int count = analyze_with(NULL, symtab_less_libc(), 0, &analysis, frames, 64);
	assert_int_equal(count, 1);
	assert_string_equal(frames[0].function, "main");
	mp_analysis_destroy(&analysis);
}

/* Whether `ip` is in the same object as `code`. */
static int same_object(void *ip, void *code)
{
	Dl_info ip_info, code_info;
	return dladdr(ip, &ip_info) && dladdr(code, &code_info) &&
	       ip_info.dli_fbase == code_info.dli_fbase;
}

int main(void)
{
	/* Inflate in memory every time, so that the counts above do not depend on what a
	 * cache of inflated debug files (debug_cache.h) already holds. */
	setenv("MEMPROF_DEBUG_CACHE", "0", 1);
	void *ips[MAX_RECORDED];
	int depth = backtrace(ips, MAX_RECORDED), first = 0;
	/* ASan's backtrace interceptor is a frame of its own: start at main's. */
	while (first < depth && !same_object(ips[first], (void *)same_object))
		first++;
	for (int i = first; i < depth; i++)
		main_stack[main_depth++] = (uint64_t)(uintptr_t)ips[i];
	/* main, __libc_start_call_main, __libc_start_main_impl, _start */
	if (main_depth != 4) {
		fprintf(stderr, "test_analyze: main's stack has %u frames, not 4\n", main_depth);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_ends_at_main_and_libc_dwarf_is_not_loaded),
		cmocka_unit_test(test_full_stacks_show_the_start_code_with_lines),
		cmocka_unit_test(test_all_frames_names_the_left_out_ones_from_the_symbol_table),
		cmocka_unit_test(test_stripped_program_ends_at_its_unnamed_main),
		cmocka_unit_test(test_stripped_program_full_stacks_keep_everything),
		cmocka_unit_test(test_stripped_program_and_symtab_less_libc_end_at_main),
		cmocka_unit_test(test_named_main_with_a_symtab_less_libc),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", scratch_dir());
	if (system(command) != 0)
		failed = 1;
	return failed;
}
