/* test_leak_checks.c: leak checks beyond a plain exit, beside Valgrind memcheck.
 *
 *  - worker threads that leak (tests/progs/leak_workers.c), 8 at once and 64 in waves of
 *    8 so that later threads run on the stacks glibc cached: every block definitely
 *    lost, as memcheck says (the dead threads' stacks are no roots);
 *  - a heap with every kind (tests/progs/leak_death.c), ended by SIGTERM, SIGINT and
 *    SIGHUP with no handler, SIGSEGV, abort(), a SIGTERM handler of the program's that
 *    calls exit() (installed at start, or after memprof's), and exit(): the same kinds,
 *    bytes and blocks as memcheck, and the process ends with the wait status it has
 *    without memprof;
 *  - checks on MEMPROF_LEAK_CHECK_SIGNAL while 4 threads allocate and free
 *    (tests/progs/leak_ondemand.c), then at exit: each with its own blocks;
 *  - storms of signals and forks (tests/progs/leak_storm.c), which must end.
 * Loss records are matched to sizes by bytes / blocks, as in test_reachability.c. Without
 * valgrind, memcheck's verdicts (valgrind 3.19) are the tables below.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness.h"
#include "memcheck.h"

/* In memcheck.h's order, so that its kinds index the tallies. */
enum {
	DEF = MEMCHECK_DEFINITE,
	IND = MEMCHECK_INDIRECT,
	POS = MEMCHECK_POSSIBLE,
	REA = MEMCHECK_REACHABLE,
	KINDS
};
static const char *const kind_names[KINDS] = { "definite", "indirect", "possible", "reachable" };

#define MAX_SIZES 8

struct expect {
	uint64_t size;
	int blocks[KINDS];
};

/* leak_death.c's heap, memcheck's verdict. */
static const struct expect death_heap[] = {
	{ 1101, { 1, 0, 0, 0 } }, { 1102, { 1, 0, 0, 0 } }, { 1103, { 1, 0, 0, 0 } },
	{ 1104, { 1, 0, 0, 0 } }, { 1105, { 0, 1, 0, 0 } }, { 1106, { 0, 0, 0, 1 } },
	{ 1107, { 0, 0, 0, 1 } },
};
#define DEATH_SIZES (sizeof(death_heap) / sizeof(death_heap[0]))

#define MEMCHECK_TRIES 3

struct tally {
	uint64_t sizes[MAX_SIZES];
	int blocks[MAX_SIZES][KINDS];
	size_t count;
};

static void tally_init(struct tally *tally, const struct expect *expect, size_t count)
{
	memset(tally, 0, sizeof(*tally));
	for (size_t i = 0; i < count; i++)
		tally->sizes[i] = expect[i].size;
	tally->count = count;
}

static void tally_add(struct tally *tally, uint64_t bytes, uint64_t blocks, int kind)
{
	if (blocks == 0 || bytes % blocks || kind < 0)
		return;
	for (size_t i = 0; i < tally->count; i++)
		if (tally->sizes[i] == bytes / blocks)
			tally->blocks[i][kind] += (int)blocks;
}

static int kind_index(const char *name)
{
	for (int kind = 0; kind < KINDS; kind++)
		if (name && strcmp(name, kind_names[kind]) == 0)
			return kind;
	return -1;
}

static int64_t num(json_t *object, const char *key)
{
	return json_integer_value(json_object_get(object, key));
}

/* `memprof leaks --json --show-reachable [--check N]`, tallied; the document is kept in
 * *root if asked for. */
static void memprof_tally(const char *trace, int check, struct tally *tally, json_t **root)
{
	char args[PATH_MAX + 64], option[32] = "";
	if (check)
		snprintf(option, sizeof(option), "--check %d ", check);
	snprintf(args, sizeof(args), "leaks --json --show-reachable %s'%s'", option, trace);
	json_t *doc = harness_memprof_json(args, 0), *leak;
	size_t index;
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(doc, "reachability"), "state")), "scanned");
	json_array_foreach(json_object_get(doc, "leaks"), index, leak)
		tally_add(tally, (uint64_t)num(leak, "bytes"), (uint64_t)num(leak, "blocks"),
			  kind_index(json_string_value(json_object_get(leak, "kind"))));
	if (root)
		*root = doc;
	else
		json_decref(doc);
}

static void tally_loss(void *context, uint64_t bytes, uint64_t blocks, enum memcheck_kind kind)
{
	tally_add(context, bytes, blocks, (int)kind);
}

/* memcheck on tests/progs/<prog> <args>; returns its wait status (valgrind passes the
 * program's death on). */
static int valgrind_tally(const char *prog, const char *args, struct tally *tally)
{
	char bin[PATH_MAX], command[PATH_MAX + 4096];
	harness_prog_path(prog, bin, sizeof(bin));
	snprintf(command, sizeof(command), "'%s' %s", bin, args);
	return memcheck_run(command, tally_loss, tally);
}

static void print_tally(const char *who, const struct tally *tally)
{
	printf("  %-8s", who);
	for (size_t i = 0; i < tally->count; i++) {
		printf(" %llu:", (unsigned long long)tally->sizes[i]);
		for (int kind = 0; kind < KINDS; kind++)
			if (tally->blocks[i][kind])
				printf("%dx%s", tally->blocks[i][kind], kind_names[kind]);
	}
	printf("\n");
}

/* The tally holds what `expect` says, size by size. */
static int tally_is(const struct tally *tally, const struct expect *expect)
{
	for (size_t i = 0; i < tally->count; i++)
		for (int kind = 0; kind < KINDS; kind++)
			if (tally->blocks[i][kind] != expect[i].blocks[kind])
				return 0;
	return 1;
}

/* memprof and memcheck (or its recorded verdict) agree on every size, with `expect`. */
static void compare(const char *what, const struct tally *memprof, const struct tally *memcheck,
		    const struct expect *expect)
{
	printf("%s\n", what);
	print_tally("memprof", memprof);
	print_tally("memcheck", memcheck);
	for (size_t i = 0; i < memprof->count; i++)
		for (int kind = 0; kind < KINDS; kind++)
			if (memprof->blocks[i][kind] != memcheck->blocks[i][kind] ||
			    memprof->blocks[i][kind] != expect[i].blocks[kind])
				fail_msg("%s, %llu bytes: %s: memprof %d, memcheck %d, expected %d", what,
					 (unsigned long long)expect[i].size, kind_names[kind],
					 memprof->blocks[i][kind], memcheck->blocks[i][kind],
					 expect[i].blocks[kind]);
}

/* The program's wait status without memprof. */
static int plain_status(const char *prog, const char *arg)
{
	char bin[PATH_MAX];
	harness_prog_path(prog, bin, sizeof(bin));
	pid_t child = fork();
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(bin, bin, arg, (char *)NULL);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	return status;
}

/* memcheck's verdict on `program args` into *memcheck (sized for `count` expected sizes),
 * or the expected one where there is no valgrind. memcheck is the reference, and its
 * verdict varies on a loaded machine: at a signal it reads every thread's registers as
 * its own scheduler left them (once, in a CI run, a stale interior pointer there called
 * a lost block possible: hup, 1103 bytes), and in a wave of exited workers a stale word
 * on a reused stack did the same (64 workers in waves of 8, in a `make check` beside a
 * build). Where its verdict is not the expected one it is asked again, twice at most;
 * memprof's is asked once. */
static void memcheck_verdict(const char *program, const char *args, const struct expect *expect,
			     size_t count, struct tally *memcheck)
{
	for (int tries = 0; memcheck_available() && tries < MEMCHECK_TRIES; tries++) {
		tally_init(memcheck, expect, count);
		valgrind_tally(program, args, memcheck);
		if (tally_is(memcheck, expect))
			return;
		printf("memcheck's verdict for %s %s is not the expected one: asked again\n",
		       program, args);
	}
	if (!memcheck_available())
		for (size_t i = 0; i < count; i++)
			memcpy(memcheck->blocks[i], expect[i].blocks, sizeof(expect[i].blocks));
}

static void workers(const char *threads, const char *wave)
{
	struct harness_run run;
	const char *args[] = { threads, wave, NULL };
	struct expect expect[] = { { 4500, { atoi(threads), 0, 0, 0 } } };
	struct tally memprof, memcheck;
	char what[64], vg_args[32];
	assert_int_equal(harness_run("leak_workers", args, NULL, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);
	tally_init(&memprof, expect, 1);
	tally_init(&memcheck, expect, 1);
	memprof_tally(run.traces[0], 0, &memprof, NULL);
	snprintf(vg_args, sizeof(vg_args), "%s %s", threads, wave);
	memcheck_verdict("leak_workers", vg_args, expect, 1, &memcheck);
	snprintf(what, sizeof(what), "%s workers in waves of %s", threads, wave);
	compare(what, &memprof, &memcheck, expect);
}

static void test_leak_checks_eight_workers_each_leak_definitely(void **state)
{
	(void)state;
	workers("8", "8");
}

static void test_leak_checks_64_workers_in_waves_on_reused_stacks(void **state)
{
	(void)state;
	workers("64", "8");
}

/* The trace is whole, and says how the process ended: killed by `signal` (0: it exited);
 * then --fail-on-leak judges its leaks, as for an exit. */
static void death_end(const char *trace, int signal)
{
	char args[PATH_MAX + 64], *out = NULL;
	snprintf(args, sizeof(args), "report --json '%s'", trace);
	json_t *doc = harness_memprof_json(args, 0), *process = doc;
	assert_true(json_is_true(json_object_get(process, "complete")));
	assert_string_equal(json_string_value(json_object_get(process, "end_state")),
			    signal ? "signal" : "exit");
	if (signal)
		assert_int_equal(num(process, "signal"), signal);
	else
		assert_true(json_is_null(json_object_get(process, "signal")));
	json_decref(doc);
	snprintf(args, sizeof(args), "report '%s'", trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	char expect[64];
	if (signal)
		snprintf(expect, sizeof(expect), ", killed by SIG%s (signal %d,", sigabbrev_np(signal),
			 signal);
	else
		snprintf(expect, sizeof(expect), ", exited with status");
	assert_non_null(strstr(out, expect));
	assert_null(strstr(out, "INCOMPLETE"));
	free(out);
	snprintf(args, sizeof(args), "leaks --fail-on-leak=definite '%s' >/dev/null 2>&1", trace);
	assert_int_equal(harness_memprof(args, &out), 1); /* leak_death leaks definitely */
	free(out);
}

/* leak_death.c ended by `mode`: memprof's kinds are memcheck's, the process ends as it
 * does without memprof, and the check says why it ran. */
static void death(const char *mode, int signal, const char *reason)
{
	struct harness_run run;
	const char *args[] = { mode, NULL };
	struct tally memprof, memcheck;
	json_t *root;
	char what[64];
	assert_int_equal(harness_run("leak_death", args, NULL, &run), 0);
	int plain = plain_status("leak_death", mode);
	printf("%s: status %#x with memprof, %#x without\n", mode, run.status, plain);
	assert_int_equal(run.status, plain);
	if (signal) {
		assert_true(WIFSIGNALED(run.status));
		assert_int_equal(WTERMSIG(run.status), signal);
	}
	assert_int_equal(run.trace_count, 1);
	tally_init(&memprof, death_heap, DEATH_SIZES);
	tally_init(&memcheck, death_heap, DEATH_SIZES);
	memprof_tally(run.traces[0], 0, &memprof, &root);
	json_t *check = json_object_get(json_object_get(root, "reachability"), "check");
	assert_string_equal(json_string_value(json_object_get(check, "reason")), reason);
	if (signal && strcmp(reason, "fatal-signal") == 0)
		assert_int_equal(num(check, "signal"), signal);
	assert_int_equal(num(json_object_get(root, "reachability"), "checks"), 1);
	json_decref(root);
	death_end(run.traces[0], signal && strcmp(reason, "fatal-signal") == 0 ? signal : 0);
	memcheck_verdict("leak_death", mode, death_heap, DEATH_SIZES, &memcheck);
	snprintf(what, sizeof(what), "leak_death %s", mode);
	compare(what, &memprof, &memcheck, death_heap);
}

static void test_leak_checks_sigterm_without_handler(void **state)
{
	(void)state;
	death("term", SIGTERM, "fatal-signal");
}

static void test_leak_checks_sigint_without_handler(void **state)
{
	(void)state;
	death("int", SIGINT, "fatal-signal");
}

static void test_leak_checks_sighup_without_handler(void **state)
{
	(void)state;
	death("hup", SIGHUP, "fatal-signal");
}

static void test_leak_checks_sigsegv(void **state)
{
	(void)state;
	death("segv", SIGSEGV, "fatal-signal");
}

static void test_leak_checks_abort(void **state)
{
	(void)state;
	death("abort", SIGABRT, "fatal-signal");
}

/* The program's own handler comes first: it calls exit(3), and the check is the exit's. */
static void test_leak_checks_sigterm_with_the_programs_handler(void **state)
{
	(void)state;
	death("handler", 0, "exit");
}

/* Installed after memprof's, it replaces it. */
static void test_leak_checks_handler_installed_after_start(void **state)
{
	(void)state;
	death("late", 0, "exit");
}

static void test_leak_checks_exit(void **state)
{
	(void)state;
	death("exit", 0, "exit");
}

/* Three checks: two on SIGUSR1 while 4 threads allocate and free, one at exit; each
 * lists the blocks live at its time, in time order. */
static void test_leak_checks_on_demand_while_threads_allocate(void **state)
{
	(void)state;
	static const struct expect expect[3][4] = {
		{ { 2101, { 1, 0, 0, 0 } }, { 2102, { 0, 0, 0, 1 } }, { 2103, { 0, 0, 0, 0 } },
		  { 2104, { 0, 0, 0, 1 } } },
		{ { 2101, { 1, 0, 0, 0 } }, { 2102, { 0, 0, 0, 0 } }, { 2103, { 1, 0, 0, 0 } },
		  { 2104, { 0, 0, 0, 1 } } },
		{ { 2101, { 1, 0, 0, 0 } }, { 2102, { 0, 0, 0, 0 } }, { 2103, { 1, 0, 0, 0 } },
		  { 2104, { 0, 0, 0, 1 } } },
	};
	static const char *const reasons[3] = { "signal", "signal", "exit" };
	const char *env[] = { "MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1", NULL };
	struct harness_run run;
	assert_int_equal(harness_run("leak_ondemand", NULL, env, &run), 0);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0 || run.trace_count != 1)
		fail_msg("leak_ondemand: status %#x, %d traces; stderr: %s", run.status,
			 run.trace_count, run.stderr_text);
	int64_t last_time = -1;
	for (int check = 1; check <= 3; check++) {
		struct tally memprof;
		json_t *root;
		char what[32];
		tally_init(&memprof, expect[check - 1], 4);
		memprof_tally(run.traces[0], check, &memprof, &root);
		json_t *scan = json_object_get(root, "reachability");
		json_t *info = json_object_get(scan, "check");
		assert_int_equal(num(scan, "checks"), 3);
		assert_int_equal(num(info, "index"), check);
		assert_string_equal(json_string_value(json_object_get(info, "reason")),
				    reasons[check - 1]);
		assert_true(num(info, "time_ns") > last_time);
		last_time = num(info, "time_ns");
		if (check < 3)
			assert_int_equal(num(info, "signal"), SIGUSR1);
		json_decref(root);
		snprintf(what, sizeof(what), "check %d", check);
		compare(what, &memprof, &memprof, expect[check - 1]);
	}
	/* The default is the check at exit; a check that is not there is an input error. */
	char args[PATH_MAX + 64];
	snprintf(args, sizeof(args), "leaks --json '%s'", run.traces[0]);
	json_t *root = harness_memprof_json(args, 0);
	assert_int_equal(num(json_object_get(json_object_get(root, "reachability"), "check"),
			     "index"), 3);
	json_decref(root);
	snprintf(args, sizeof(args), "'%s/memprof' leaks --check 4 '%s' 2>/dev/null",
		 harness_build_dir(), run.traces[0]);
	assert_int_equal(WEXITSTATUS(system(args)), 2);
}

/* A check asked for by signal while the asking thread holds blocks only in registers: it
 * waits in memprof's handler, and the check reads its registers where the signal found
 * them: the general ones (r12: reachable), not the vector ones (xmm7: definite), as
 * memcheck. (It read the whole signal frame before, xmm7 included: reachable.) At exit
 * the registers are cleared: both definite. */
static void test_leak_checks_signal_reads_the_interrupted_registers(void **state)
{
	(void)state;
	static const struct expect expect[2][2] = {
		{ { 2032, { 1, 0, 0, 0 } }, { 2033, { 0, 0, 0, 1 } } },
		{ { 2032, { 1, 0, 0, 0 } }, { 2033, { 1, 0, 0, 0 } } },
	};
	const char *env[] = { "MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1", NULL };
	struct harness_run run;
	assert_int_equal(harness_run("check_regs", NULL, env, &run), 0);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0 || run.trace_count != 1)
		fail_msg("check_regs: status %#x, %d traces; stderr: %s", run.status,
			 run.trace_count, run.stderr_text);
	for (int check = 1; check <= 2; check++) {
		struct tally memprof;
		char what[32];
		tally_init(&memprof, expect[check - 1], 2);
		memprof_tally(run.traces[0], check, &memprof, NULL);
		snprintf(what, sizeof(what), "check %d", check);
		compare(what, &memprof, &memprof, expect[check - 1]);
	}
}

/* The same registers when a SIGSEGV ends the process: the check before it dies reads the
 * dying thread (left running, waiting in memprof's handler) where the fault found it: not
 * %xmm7 (2032 definite, as for memcheck; it was reachable when the fault's whole frame
 * was read), %r12 yes (2033 reachable). memcheck reads no register of the thread a
 * fatal signal kills, and says definite for 2033: memprof keeps what was live there. */
static void test_leak_checks_fatal_reads_the_interrupted_registers(void **state)
{
	(void)state;
	static const struct expect expect[2] = {
		{ 2032, { 1, 0, 0, 0 } }, { 2033, { 0, 0, 0, 1 } },
	};
	const char *args[] = { "segv", NULL };
	struct harness_run run;
	struct tally memprof, memcheck;
	assert_int_equal(harness_run("check_regs", args, NULL, &run), 0);
	assert_true(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGSEGV);
	assert_int_equal(run.trace_count, 1);
	tally_init(&memprof, expect, 2);
	memprof_tally(run.traces[0], 0, &memprof, NULL);
	compare("check_regs segv", &memprof, &memprof, expect);
	if (memcheck_available()) {
		tally_init(&memcheck, expect, 2);
		valgrind_tally("check_regs", "segv", &memcheck); /* the death is passed on */
		print_tally("memcheck", &memcheck);
		assert_int_equal(memcheck.blocks[0][DEF], 1);
	}
}

/* `memprof run --leak-check-signal SIGUSR1` asks for the same checks. */
static void test_leak_checks_run_sets_the_check_signal(void **state)
{
	(void)state;
	char args[PATH_MAX + 128], bin[PATH_MAX];
	char *out;
	harness_prog_path("leak_ondemand", bin, sizeof(bin));
	snprintf(args, sizeof(args),
		 "run --leak-check-signal SIGUSR1 --output ondemand.trace -- '%s' 2>/dev/null", bin);
	assert_int_equal(harness_memprof(args, &out), 0);
	free(out);
	json_t *root = harness_memprof_json("leaks --json --check 1 ondemand.trace", 0);
	json_t *scan = json_object_get(root, "reachability");
	assert_int_equal(num(scan, "checks"), 3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(scan, "check"),
							      "reason")), "signal");
	json_decref(root);
}

/* Under timeout(1): a storm of check signals and of the program's own, or of forks with
 * checks in parent and children, ends, and the parent's trace holds its checks. */
static void storm(const char *mode)
{
	char dir[] = "/tmp/memprof-storm-XXXXXX", command[PATH_MAX * 3], bin[PATH_MAX];
	assert_non_null(mkdtemp(dir));
	harness_prog_path("leak_storm", bin, sizeof(bin));
	snprintf(command, sizeof(command),
		 "cd '%s' && timeout 120 env MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1 MEMPROF_QUIET=1 "
		 "MEMPROF_OUTPUT='%s/storm.%%p.trace' LD_PRELOAD='%s/libmemprof.so' '%s' %s",
		 dir, dir, harness_build_dir(), bin, mode);
	int status = system(command);
	printf("storm %s: status %#x\n", mode, status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* 124: timed out */
	/* The parent's trace is the largest; it holds at least the exit check. */
	snprintf(command, sizeof(command),
		 "'%s/memprof' leaks --json \"$(ls -S '%s'/storm.*.trace | head -n 1)\" "
		 "| grep -q '\"reason\": \"exit\"' && rm -rf '%s'", harness_build_dir(), dir, dir);
	assert_int_equal(system(command), 0);
}

static void test_leak_checks_signal_storm_ends(void **state)
{
	(void)state;
	storm("signals");
}

static void test_leak_checks_fork_storm_ends(void **state)
{
	(void)state;
	storm("fork");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leak_checks_eight_workers_each_leak_definitely),
		cmocka_unit_test(test_leak_checks_64_workers_in_waves_on_reused_stacks),
		cmocka_unit_test(test_leak_checks_sigterm_without_handler),
		cmocka_unit_test(test_leak_checks_sigint_without_handler),
		cmocka_unit_test(test_leak_checks_sighup_without_handler),
		cmocka_unit_test(test_leak_checks_sigsegv),
		cmocka_unit_test(test_leak_checks_abort),
		cmocka_unit_test(test_leak_checks_sigterm_with_the_programs_handler),
		cmocka_unit_test(test_leak_checks_handler_installed_after_start),
		cmocka_unit_test(test_leak_checks_exit),
		cmocka_unit_test(test_leak_checks_on_demand_while_threads_allocate),
		cmocka_unit_test(test_leak_checks_signal_reads_the_interrupted_registers),
		cmocka_unit_test(test_leak_checks_fatal_reads_the_interrupted_registers),
		cmocka_unit_test(test_leak_checks_run_sets_the_check_signal),
		cmocka_unit_test(test_leak_checks_signal_storm_ends),
		cmocka_unit_test(test_leak_checks_fork_storm_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
