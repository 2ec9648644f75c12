/* test_sys_lines.c: mp_sys_read_lines (sys.c), the line reader of /proc/self/maps and
 * smaps, on files written here: lines cut across reads, a line longer than the buffer,
 * stopping early, a missing file; and the environment read the same way from
 * /proc/self/environ, as before libc has set environ up. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base.h"
#include "proc_text.h"

struct seen {
	char lines[8][64];
	int count;
	int stop_after; /* 0: never stop */
};

static int note_line(void *context, const char *text, size_t len)
{
	struct seen *seen = context;
	if (seen->count < 8 && len < sizeof(seen->lines[0])) {
		memcpy(seen->lines[seen->count], text, len);
		seen->lines[seen->count][len] = '\0';
	}
	seen->count++;
	return seen->stop_after && seen->count == seen->stop_after;
}

static void write_file(const char *path, const char *text)
{
	FILE *file = fopen(path, "w");
	assert_non_null(file);
	fputs(text, file);
	fclose(file);
}

static char path[64];

static int make_path(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/memprof-lines-%d", (int)getpid());
	return 0;
}

static int remove_path(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* A 24-byte buffer: most lines are cut between two reads and put back together. */
static void test_lines_cut_across_reads_come_whole(void **state)
{
	(void)state;
	write_file(path, "first line\nsecond, a bit longer\n\nlast\n");
	char buf[24];
	struct seen seen = { 0 };
	assert_int_equal(mp_sys_read_lines(path, buf, sizeof(buf), note_line, &seen), 0);
	assert_int_equal(seen.count, 4);
	assert_string_equal(seen.lines[0], "first line");
	assert_string_equal(seen.lines[1], "second, a bit longer");
	assert_string_equal(seen.lines[2], "");
	assert_string_equal(seen.lines[3], "last");
}

/* A line that does not fit is skipped whole, not handed over in pieces. */
static void test_a_line_longer_than_the_buffer_is_skipped_whole(void **state)
{
	(void)state;
	write_file(path, "short\n"
			 "a line of more than forty bytes, which no piece of may be seen\n"
			 "after\n");
	char buf[16];
	struct seen seen = { 0 };
	assert_int_equal(mp_sys_read_lines(path, buf, sizeof(buf), note_line, &seen), 0);
	assert_int_equal(seen.count, 2);
	assert_string_equal(seen.lines[0], "short");
	assert_string_equal(seen.lines[1], "after");
}

static void test_a_nonzero_return_stops_the_reading(void **state)
{
	(void)state;
	write_file(path, "one\ntwo\nthree\nfour\n");
	char buf[64];
	struct seen seen = { .stop_after = 2 };
	assert_int_equal(mp_sys_read_lines(path, buf, sizeof(buf), note_line, &seen), 0);
	assert_int_equal(seen.count, 2);
	assert_string_equal(seen.lines[1], "two");
}

static void test_a_missing_file_is_an_error(void **state)
{
	(void)state;
	char buf[64];
	struct seen seen = { 0 };
	assert_int_equal(mp_sys_read_lines("/nonexistent/memprof", buf, sizeof(buf), note_line,
					   &seen), -ENOENT);
	assert_int_equal(seen.count, 0);
}

static int count_mapping(void *context, const char *text, size_t len)
{
	struct mp_proc_map map;
	int *counts = context;
	counts[0]++;
	counts[1] += mp_proc_map_line(text, len, &map);
	return 0;
}

/* The file the stack bounds come from: every line of /proc/self/maps is a mapping. */
static void test_proc_self_maps_reads_as_lines(void **state)
{
	(void)state;
	char buf[4096];
	int counts[2] = { 0, 0 }; /* lines, mapping lines */
	assert_int_equal(mp_sys_read_lines("/proc/self/maps", buf, sizeof(buf), count_mapping,
					   counts), 0);
	assert_true(counts[0] > 5);
	assert_int_equal(counts[1], counts[0]);
}

/* With environ not set up yet, mp_sys_env_get reads /proc/self/environ (entries ending
 * in NUL, through the same reader): the environment this process was started with. */
static void test_environment_read_from_proc_before_libc(void **state)
{
	(void)state;
	const char *path_now = getenv("PATH");
	assert_non_null(path_now); /* the test runner's, unchanged since exec */
	char out[4096];
	char **saved = environ;
	environ = NULL;
	int found = mp_sys_env_get("PATH", out, sizeof(out));
	int missing = mp_sys_env_get("MEMPROF_NO_SUCH_VARIABLE", out + 2048, 64);
	environ = saved;
	assert_int_equal(found, 1);
	assert_string_equal(out, path_now);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_cut_across_reads_come_whole, make_path,
						remove_path),
		cmocka_unit_test_setup_teardown(test_a_line_longer_than_the_buffer_is_skipped_whole,
						make_path, remove_path),
		cmocka_unit_test_setup_teardown(test_a_nonzero_return_stops_the_reading, make_path,
						remove_path),
		cmocka_unit_test(test_a_missing_file_is_an_error),
		cmocka_unit_test(test_proc_self_maps_reads_as_lines),
		cmocka_unit_test(test_environment_read_from_proc_before_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
