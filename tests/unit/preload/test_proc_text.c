/* test_proc_text.c: the /proc parsers of proc_text.c, on lines as the kernel writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "memprof/trace_format.h"
#include "proc_text.h"

static int map_line(const char *line, struct mp_proc_map *out)
{
	return mp_proc_map_line(line, strlen(line), out);
}

static void test_map_line_of_a_file_mapping(void **state)
{
	(void)state;
	struct mp_proc_map map;
	assert_int_equal(map_line("7f3a20e15000-7f3a20e17000 rw-p 001d3000 fd:01 1312 "
				  "   /usr/lib/x86_64-linux-gnu/libc.so.6", &map), 1);
	assert_int_equal(map.start, 0x7f3a20e15000ull);
	assert_int_equal(map.end, 0x7f3a20e17000ull);
	assert_int_equal(map.offset, 0x1d3000);
	assert_int_equal(map.inode, 1312);
	assert_int_equal(map.perms, MP_PERM_READ | MP_PERM_WRITE);
	assert_int_equal(map.path_len, strlen("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_memory_equal(map.path, "/usr/lib/x86_64-linux-gnu/libc.so.6", map.path_len);
}

static void test_map_line_of_anonymous_and_named_memory(void **state)
{
	(void)state;
	struct mp_proc_map map;
	assert_int_equal(map_line("7f3a1c000000-7f3a1c021000 rw-p 00000000 00:00 0 ", &map), 1);
	assert_int_equal(map.inode, 0);
	assert_int_equal(map.path_len, 0);
	assert_int_equal(map_line("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0"
				  "                  [heap]", &map), 1);
	assert_int_equal(map.path_len, 6);
	assert_memory_equal(map.path, "[heap]", 6);
	assert_int_equal(map_line("7ffd1000-7ffd3000 r-xs 00000000 00:05 77 /dev/zero (deleted)",
				  &map), 1);
	assert_int_equal(map.perms, MP_PERM_READ | MP_PERM_EXEC | MP_PERM_SHARED);
	assert_memory_equal(map.path, "/dev/zero (deleted)", map.path_len);
	assert_int_equal(map_line("7f0000000000-7f0000001000 ---p 00000000 00:00 0", &map), 1);
	assert_int_equal(map.perms, 0);
}

static void test_map_line_refuses_what_is_not_one(void **state)
{
	(void)state;
	struct mp_proc_map map;
	assert_int_equal(map_line("Rss:                  12 kB", &map), 0);
	assert_int_equal(map_line("7f3a20e15000 rw-p 001d3000 fd:01 1312", &map), 0);
	assert_int_equal(map_line("7f3a20e15000-7f3a20e17000", &map), 0);
	assert_int_equal(map_line("", &map), 0);
}

static void test_field_reads_kilobytes_as_bytes_and_counts_as_they_are(void **state)
{
	(void)state;
	const char *status = "Name:\tcat\nVmPeak:\t    5704 kB\nVmHWM:\t    2596 kB\n"
			     "Threads:\t3\nVmSwap:\t       0 kB\n";
	uint64_t value = 1;
	assert_int_equal(mp_proc_field(status, "VmHWM", &value), 1);
	assert_int_equal(value, 2596u * 1024u);
	assert_int_equal(mp_proc_field(status, "Threads", &value), 1);
	assert_int_equal(value, 3);
	assert_int_equal(mp_proc_field(status, "VmSwap", &value), 1);
	assert_int_equal(value, 0);
	/* A key must match whole: "VmPea" is no line, "Vm" neither. */
	assert_int_equal(mp_proc_field(status, "VmPea", &value), 0);
	assert_int_equal(mp_proc_field(status, "RssAnon", &value), 0);
	const char *meminfo = "MemTotal:       24576000 kB\nCommitted_AS:    1234567 kB\n";
	assert_int_equal(mp_proc_field(meminfo, "Committed_AS", &value), 1);
	assert_int_equal(value, 1234567ull * 1024u);
}

static void test_number_reads_signs_and_refuses_words(void **state)
{
	(void)state;
	int64_t value = 0;
	assert_int_equal(mp_proc_number("-1000\n", &value), 1);
	assert_int_equal(value, -1000);
	assert_int_equal(mp_proc_number("268435456\n", &value), 1);
	assert_int_equal(value, 268435456);
	assert_int_equal(mp_proc_number("max\n", &value), 0);
	assert_int_equal(mp_proc_number("", &value), 0);
}

static void test_cgroup_prefers_v1_memory_and_reads_v2(void **state)
{
	(void)state;
	char group[64];
	assert_int_equal(mp_proc_cgroup("0::/user.slice/session-2.scope\n", group, sizeof(group)),
			 2);
	assert_string_equal(group, "/user.slice/session-2.scope");
	assert_int_equal(mp_proc_cgroup("12:cpu,cpuacct:/a\n4:memory:/docker/ab12\n0::/\n", group,
					sizeof(group)), 1);
	assert_string_equal(group, "/docker/ab12");
	assert_int_equal(mp_proc_cgroup("0::/\n", group, sizeof(group)), 2);
	assert_string_equal(group, "/");
	assert_int_equal(mp_proc_cgroup("12:cpu:/a\n", group, sizeof(group)), 0);
	/* A path longer than the room is not taken. */
	assert_int_equal(mp_proc_cgroup("0::/a/very/long/path\n", group, 8), 0);
}

static void test_thp_mode_is_the_bracketed_word(void **state)
{
	(void)state;
	assert_int_equal(mp_proc_thp_mode("always [madvise] never\n"), 1);
	assert_int_equal(mp_proc_thp_mode("[always] madvise never\n"), 0);
	assert_int_equal(mp_proc_thp_mode("always madvise [never]\n"), 2);
	assert_int_equal(mp_proc_thp_mode("none\n"), -1);
}

static void test_syscall_line_gives_the_stack_pointer(void **state)
{
	(void)state;
	uint64_t sp = 0;
	assert_int_equal(mp_proc_syscall_sp("202 0x55d0c0a012a0 0x80 0x0 0x0 0x0 0x0 "
					    "0x7f3a1fffe9f0 0x7f3a20e3c7d2\n", &sp), 1);
	assert_int_equal(sp, 0x7f3a1fffe9f0ull);
	assert_int_equal(mp_proc_syscall_sp("-1 0x7ffd5a3c1e28 0x55d0c09f1234\n", &sp), 1);
	assert_int_equal(sp, 0x7ffd5a3c1e28ull);
	assert_int_equal(mp_proc_syscall_sp("running\n", &sp), 0);
	assert_int_equal(mp_proc_syscall_sp("", &sp), 0);
}

static void test_task_state_is_read_after_the_last_parenthesis(void **state)
{
	(void)state;
	assert_int_equal(mp_proc_task_alive("4242 (worker) S 1 4242 4242 0 -1"), 1);
	assert_int_equal(mp_proc_task_alive("4242 (a) Z (b)) R 1 4242"), 1);
	assert_int_equal(mp_proc_task_alive("4242 (main) Z 1 4242"), 0);
	assert_int_equal(mp_proc_task_alive("4242 (x) X 1"), 0);
	assert_int_equal(mp_proc_task_alive("garbage"), 0);
	assert_int_equal(mp_proc_task_state("4242 (a) Z (b)) t 1 4242"), 't');
	assert_int_equal(mp_proc_task_state("4242 (worker) S 1"), 'S');
	assert_int_equal(mp_proc_task_state("garbage"), 0);
}

static void test_hex_field_reads_the_signal_masks(void **state)
{
	(void)state;
	const char *status = "Name:\tworker\nState:\tS (sleeping)\nSigQ:\t0/63469\n"
			     "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
			     "SigBlk:\t8000000000010002\nSigIgn:\t0000000000001000\n";
	uint64_t mask = 0;
	assert_int_equal(mp_proc_hex_field(status, "SigBlk", &mask), 1);
	assert_int_equal(mask, 0x8000000000010002ull);
	assert_int_equal(mp_proc_hex_field(status, "SigIgn", &mask), 1);
	assert_int_equal(mask, 0x1000ull);
	assert_int_equal(mp_proc_hex_field(status, "SigCgt", &mask), 0);
	assert_int_equal(mp_proc_hex_field(status, "Sig", &mask), 0);
}

static void test_statm_gives_size_resident_and_shared_pages(void **state)
{
	(void)state;
	uint64_t pages[3];
	const char *line = "4483 823 675 6 0 186 0\n";
	assert_int_equal(mp_proc_statm(line, strlen(line), pages), 1);
	assert_int_equal(pages[0], 4483);
	assert_int_equal(pages[1], 823);
	assert_int_equal(pages[2], 675);
	/* Read with pread into a buffer without a NUL: only len bytes count. */
	assert_int_equal(mp_proc_statm("12 34 56", 8, pages), 1);
	assert_int_equal(pages[2], 56);
	assert_int_equal(mp_proc_statm("12 34 56", 5, pages), 0);
	assert_int_equal(mp_proc_statm("", 0, pages), 0);
	assert_int_equal(mp_proc_statm("x 1 2", 5, pages), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_line_of_a_file_mapping),
		cmocka_unit_test(test_map_line_of_anonymous_and_named_memory),
		cmocka_unit_test(test_map_line_refuses_what_is_not_one),
		cmocka_unit_test(test_field_reads_kilobytes_as_bytes_and_counts_as_they_are),
		cmocka_unit_test(test_number_reads_signs_and_refuses_words),
		cmocka_unit_test(test_cgroup_prefers_v1_memory_and_reads_v2),
		cmocka_unit_test(test_thp_mode_is_the_bracketed_word),
		cmocka_unit_test(test_hex_field_reads_the_signal_masks),
		cmocka_unit_test(test_syscall_line_gives_the_stack_pointer),
		cmocka_unit_test(test_task_state_is_read_after_the_last_parenthesis),
		cmocka_unit_test(test_statm_gives_size_resident_and_shared_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
