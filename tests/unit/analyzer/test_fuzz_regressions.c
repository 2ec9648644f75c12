/* test_fuzz_regressions.c: every input that once crashed the reader, replayed.
 *
 * Files live in tests/fuzz/crashers/ (found under $MEMPROF_TOP, or the current directory
 * when run by hand from the top). Each must either be rejected with a message or decode
 * to the end, with as many events delivered as were counted at open.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace_read.h"

static void replay_one(const char *path)
{
	struct mp_trace *trace = NULL;
	char err[256] = "";
	if (mp_trace_open(path, &trace, err, sizeof(err)) < 0) {
		assert_null(trace);
		assert_true(err[0] != '\0');
		return;
	}
	struct mp_event event;
	uint64_t events = 0;
	int rc;
	while ((rc = mp_trace_next(trace, &event, err, sizeof(err))) == 1) {
		assert_true(event.stack_id <= mp_trace_stack_count(trace));
		uint32_t count = 0, generation = 0;
		const uint64_t *frames = mp_trace_stack(trace, event.stack_id, &count, &generation);
		for (uint32_t i = 0; frames && i < count; i++)
			mp_trace_module_at(trace, generation, frames[i]);
		events++;
	}
	assert_int_equal(rc, 0);
	struct mp_trace_stats stats;
	mp_trace_stats(trace, &stats);
	assert_int_equal(events, stats.events);
	mp_trace_close(trace);
}

static void test_every_crasher_is_handled(void **state)
{
	(void)state;
	const char *top = getenv("MEMPROF_TOP");
	char dir_path[4096];
	snprintf(dir_path, sizeof(dir_path), "%s/tests/fuzz/crashers", top ? top : ".");
	DIR *dir = opendir(dir_path);
	assert_non_null(dir);
	int replayed = 0;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.' || strcmp(entry->d_name, "README") == 0)
			continue;
		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
		print_message("replaying %s\n", entry->d_name);
		replay_one(path);
		replayed++;
	}
	closedir(dir);
	assert_true(replayed > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_crasher_is_handled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
