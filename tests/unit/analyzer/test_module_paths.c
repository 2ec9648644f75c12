/* test_module_paths.c: which mapped files are loaded objects (module_paths.h), whatever
 * path each side gives them.
 *
 * A scratch tree imitates Debian's merged /usr: DIR/usr/lib holds the files, DIR/lib is a
 * link to usr/lib, and libbar.so.1 a link to libbar.so.1.2.3. The trace's MODULE records
 * name objects as a loader does (DIR/lib/...), smaps as the kernel does (DIR/usr/lib/...,
 * the link's target). And the real case: libc as this process loaded it.
 */
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "module_paths.h"
#include "trace_builder.h"

static char dir[64];

static void make_file(const char *relative)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, relative);
	FILE *file = fopen(path, "we");
	assert_non_null(file);
	fputs("not really an object\n", file);
	fclose(file);
}

static void make_link(const char *target, const char *relative)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, relative);
	assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state)
{
	(void)state;
	char path[PATH_MAX];
	snprintf(dir, sizeof(dir), "/tmp/memprof-test-module-paths.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/usr", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/usr/lib", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	make_link("usr/lib", "lib");
	make_file("usr/lib/libfoo.so");
	make_file("usr/lib/libbar.so.1.2.3");
	make_link("libbar.so.1.2.3", "usr/lib/libbar.so.1");
	make_file("usr/lib/data.bin");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	return system(command) == 0 ? 0 : -1;
}

/* The loaded objects of a trace with one stack of generation 1 whose module maps
 * (generations 0 and 1) name paths[]; the trace stays open in *trace over *bytes. */
static struct mp_module_paths *paths_of(const char *const *paths, size_t count,
					uint8_t **bytes, struct mp_trace **trace)
{
	struct mp_tb *tb = mp_tb_new();
	for (size_t i = 0; i < count; i++)
		mp_tb_module(tb, 1, (uint32_t)(i % 2), 0x10000000 + i * 0x100000,
			     0x10080000 + i * 0x100000, 0x10000000 + i * 0x100000, paths[i], NULL, 0);
	uint64_t frames[] = { 0x10000100 };
	mp_tb_stack(tb, 1, 1, 1, frames, 1);
	mp_tb_malloc(tb, 1, 100, 0x5000, 32, 1);
	size_t len;
	char err[256];
	mp_tb_bytes(tb, bytes, &len);
	mp_tb_destroy(tb);
	assert_int_equal(mp_trace_open_memory(*bytes, len, trace, err, sizeof(err)), 0);
	struct mp_module_paths *set = mp_module_paths_new(*trace);
	assert_non_null(set);
	return set;
}

static int has(struct mp_module_paths *set, const char *relative)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, relative);
	return mp_module_paths_has(set, path);
}

/* The loader's path through the directory link, the kernel's without it; a versioned
 * soname link against the file it names; a mapped file no module names is page cache. */
static void test_objects_match_through_links(void **state)
{
	(void)state;
	char foo[PATH_MAX], bar[PATH_MAX];
	snprintf(foo, sizeof(foo), "%s/lib/libfoo.so", dir);
	snprintf(bar, sizeof(bar), "%s/lib/libbar.so.1", dir);
	const char *paths[] = { foo, bar };
	uint8_t *bytes;
	struct mp_trace *trace;
	struct mp_module_paths *set = paths_of(paths, 2, &bytes, &trace);

	assert_int_equal(has(set, "usr/lib/libfoo.so"), 1);
	assert_int_equal(has(set, "usr/lib/libbar.so.1.2.3"), 1);
	assert_int_equal(has(set, "lib/libfoo.so"), 1);     /* as written, too */
	assert_int_equal(has(set, "usr/lib/data.bin"), 0);
	assert_int_equal(has(set, "lib/data.bin"), 0);
	assert_int_equal(has(set, "usr/lib/data.bin"), 0);  /* the kept answer, asked again */
	assert_int_equal(has(set, "usr/lib/libfoo.so"), 1);
	mp_module_paths_free(set);
	mp_trace_close(trace);
	free(bytes);
}

/* A file that is not on this machine (the trace was recorded elsewhere, or the file was
 * deleted) is matched by its path as written, and only by it. */
static void test_missing_files_match_by_string(void **state)
{
	(void)state;
	const char *paths[] = { "/nonexistent/lib/libgone.so", "[vdso]" };
	uint8_t *bytes;
	struct mp_trace *trace;
	struct mp_module_paths *set = paths_of(paths, 2, &bytes, &trace);

	assert_int_equal(mp_module_paths_has(set, "/nonexistent/lib/libgone.so"), 1);
	assert_int_equal(mp_module_paths_has(set, "/nonexistent/usr/lib/libgone.so"), 0);
	assert_int_equal(mp_module_paths_has(set, "/nonexistent/lib/libgone.so (deleted)"), 0);
	mp_module_paths_free(set);
	mp_trace_close(trace);
	free(bytes);
}

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	const char *name = info->dlpi_name, *slash = name ? strrchr(name, '/') : NULL;
	if (slash && strcmp(slash + 1, "libc.so.6") == 0)
		snprintf(data, PATH_MAX, "%s", name);
	return 0;
}

/* libc as the loader names it (/lib/x86_64-linux-gnu/libc.so.6 on Debian 12) is the file
 * smaps names under /usr. Debian 12 has merged /usr, so the two paths differ here: the
 * test says so if they do not. */
static void test_merged_usr_libc_is_a_loaded_object(void **state)
{
	(void)state;
	char libc[PATH_MAX] = "", real[PATH_MAX];
	dl_iterate_phdr(find_libc, libc);
	assert_true(libc[0] == '/');
	assert_non_null(realpath(libc, real));
	if (strcmp(libc, real) == 0 || strncmp(real, "/usr/", 5) != 0)
		fail_msg("libc is loaded as '%s', which is '%s': not a merged /usr system", libc,
			 real);
	const char *paths[] = { libc };
	uint8_t *bytes;
	struct mp_trace *trace;
	struct mp_module_paths *set = paths_of(paths, 1, &bytes, &trace);

	assert_int_equal(mp_module_paths_has(set, real), 1);
	assert_int_equal(mp_module_paths_has(set, libc), 1);
	assert_int_equal(mp_module_paths_has(set, "/usr/lib/locale/locale-archive"), 0);
	mp_module_paths_free(set);
	mp_trace_close(trace);
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects_match_through_links),
		cmocka_unit_test(test_missing_files_match_by_string),
		cmocka_unit_test(test_merged_usr_libc_is_a_loaded_object),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
