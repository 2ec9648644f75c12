/* test_trace_family.c: traces linked into process trees by pid, ppid and times: exec'd
 * images follow the one they replaced, children come under the image that started them;
 * and the trace continuing an exec'd one found among its neighbours on disk. */
#include <errno.h>
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

#include "trace_builder.h"
#include "trace_family.h"

static struct mp_family_member member(const char *exe, uint32_t pid, uint32_t ppid,
				      uint64_t start, uint32_t end_state, uint64_t end)
{
	struct mp_family_member m = { .path = exe };
	m.peek.pid = pid;
	m.peek.ppid = ppid;
	m.peek.start_ns = start;
	m.peek.end_state = end_state;
	m.peek.end_ns = end;
	snprintf(m.peek.exe, sizeof(m.peek.exe), "/bin/%s", exe);
	return m;
}

/* A shell (pid 100) starts prog 102, then execs into bash, which starts prog 101, which
 * starts ls 103; an unrelated daemon 200 is a tree of its own. */
static void a_shell_script_is_one_tree(void **state)
{
	(void)state;
	struct mp_family_member members[] = {
		member("bash", 100, 50, 21, MP_END_EXIT, 100),  /* 0 */
		member("prog", 101, 100, 30, MP_END_EXIT, 40),  /* 1 */
		member("sh", 100, 50, 10, MP_END_EXEC, 20),     /* 2 */
		member("daemon", 200, 1, 50, MP_END_RUNNING, 0),/* 3 */
		member("ls", 103, 101, 35, MP_END_EXIT, 36),    /* 4 */
		member("prog", 102, 100, 15, MP_END_EXIT, 18),  /* 5 */
	};
	int order[6];
	mp_family_link(members, 6);
	assert_int_equal(members[2].exec_next, 0);
	assert_int_equal(members[0].exec_of, 2);
	assert_int_equal(members[0].parent, -1);
	assert_int_equal(members[5].parent, 2); /* started before the exec: sh's child */
	assert_int_equal(members[1].parent, 0); /* after it: bash's */
	assert_int_equal(members[4].parent, 1);
	assert_int_equal(members[3].parent, -1);
	assert_int_equal(mp_family_order(members, 6, order), 2);
	const int expected[] = { 2, 5, 0, 1, 4, 3 };
	const int depths[] = { 0, 1, 0, 1, 2, 0 };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(order[i], expected[i]);
		assert_int_equal(members[order[i]].depth, depths[i]);
	}
}

/* pid reuse: a later process with a recycled pid is not the exec of one that exited, and
 * mutual parents (two processes each with the other's pid as ppid) still list once. */
static void reused_pids_do_not_loop(void **state)
{
	(void)state;
	struct mp_family_member members[] = {
		member("a", 10, 11, 5, MP_END_EXIT, 6),
		member("b", 11, 10, 5, MP_END_EXIT, 6),
		member("c", 10, 1, 9, MP_END_EXIT, 12),
	};
	int order[3];
	mp_family_link(members, 3);
	assert_int_equal(members[0].exec_next, -1);
	assert_int_equal(members[2].exec_of, -1);
	assert_true(mp_family_order(members, 3, order) >= 1);
	int seen[3] = { 0 };
	for (int i = 0; i < 3; i++)
		seen[order[i]]++;
	assert_int_equal(seen[0] + seen[1] + seen[2], 3);
	assert_int_equal(seen[0] * seen[1] * seen[2], 1);
}

static void write_trace(const char *path, uint32_t pid, uint64_t start, uint32_t end_state,
			uint64_t end)
{
	struct mp_tb *tb = mp_tb_new();
	struct mp_file_header *header = mp_tb_header(tb);
	header->pid = pid;
	header->ppid = 1;
	header->start_monotonic_ns = start;
	header->end_state = end_state;
	header->end_monotonic_ns = end;
	mp_tb_malloc(tb, 1, start + 1, 0x1000, 8, 0);
	assert_int_equal(mp_tb_write(tb, path), 0);
	mp_tb_destroy(tb);
}

/* Among the traces beside it, the one of the same pid that started first after the exec:
 * not an earlier image, not another pid, not a later image. */
static void the_trace_after_an_exec_is_found_beside_it(void **state)
{
	(void)state;
	char dir[] = "/tmp/memprof-family.XXXXXX", path[256], found[512];
	struct mp_trace_peek peek;
	assert_non_null(mkdtemp(dir));
	const char *names[] = { "old.trace", "sh.trace", "sh.1.trace", "sh.2.trace", "other.trace",
				"notes.txt" };
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	write_trace(path, 77, 100, MP_END_EXIT, 150);
	snprintf(path, sizeof(path), "%s/%s", dir, names[2]);
	write_trace(path, 77, 300, MP_END_EXEC, 400);
	snprintf(path, sizeof(path), "%s/%s", dir, names[3]);
	write_trace(path, 77, 500, MP_END_EXIT, 600);
	snprintf(path, sizeof(path), "%s/%s", dir, names[4]);
	write_trace(path, 78, 250, MP_END_EXIT, 260);
	snprintf(path, sizeof(path), "%s/%s", dir, names[5]);
	assert_int_equal(mp_tb_write_bytes(path, "not a trace\n", 12), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, names[1]);
	write_trace(path, 77, 200, MP_END_EXEC, 250);
	assert_int_equal(mp_trace_peek(path, &peek), 0);
	assert_int_equal(peek.pid, 77);
	assert_string_equal(peek.exe, "/usr/bin/testprog");
	assert_int_equal(mp_trace_exec_successor(path, &peek, found, sizeof(found)), 0);
	snprintf(path, sizeof(path), "%s/sh.1.trace", dir);
	assert_string_equal(found, path);
	/* The last image exited: nothing continues it. */
	snprintf(path, sizeof(path), "%s/sh.2.trace", dir);
	assert_int_equal(mp_trace_peek(path, &peek), 0);
	assert_int_equal(mp_trace_exec_successor(path, &peek, found, sizeof(found)), -ENOENT);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	assert_int_equal(mp_trace_peek(path, &peek), -EINVAL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_shell_script_is_one_tree),
		cmocka_unit_test(reused_pids_do_not_loop),
		cmocka_unit_test(the_trace_after_an_exec_is_found_beside_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
