/* test_reachability.c: memprof's leak kinds agree with Valgrind memcheck's, pattern by
 * pattern.
 *
 * tests/progs/reach.c builds each pointer pattern with an allocation size of its own. It
 * runs once under libmemprof.so (`memprof leaks --json --show-reachable`) and once under
 * `valgrind --leak-check=full --show-leak-kinds=all --xml=yes`; for each size the number
 * of blocks of each kind must be the same in both. Loss records are matched to sizes by
 * bytes / blocks (memcheck's "N (D direct, I indirect) bytes" counts D). Without valgrind
 * installed the memcheck half is skipped and memprof is checked against the table of
 * expected kinds below, which is memcheck's verdict on these programs (valgrind 3.19).
 */
#include <setjmp.h>
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

struct site {
	uint64_t size;
	const char *pattern;
	int blocks[KINDS]; /* memcheck's verdict */
	const char *prog;  /* the program in tests/progs that makes it; NULL: reach */
};

static const struct site sites[] = {
	{ 1001, "pointer overwritten", { 1, 0, 0, 0 }, NULL },
	{ 1002, "lost block pointing to another", { 1, 0, 0, 0 }, NULL },
	{ 1003, "reachable only from a lost block", { 0, 1, 0, 0 }, NULL },
	{ 1005, "head of a lost list", { 1, 0, 0, 0 }, NULL },
	{ 1006, "nodes of a lost list", { 0, 3, 0, 0 }, NULL },
	{ 1007, "cycle lost as a whole", { 1, 2, 0, 0 }, NULL },
	{ 1010, "tree root held by a global", { 0, 0, 0, 1 }, NULL },
	{ 1011, "tree children", { 0, 0, 0, 2 }, NULL },
	{ 1012, "tree leaves", { 0, 0, 0, 4 }, NULL },
	{ 1013, "interior pointer only", { 0, 0, 1, 0 }, NULL },
	{ 1014, "only in a blocked thread's stack", { 0, 0, 0, 1 }, NULL },
	{ 1015, "held by a global, holds another", { 0, 0, 0, 1 }, NULL },
	{ 1016, "held by a reachable heap block", { 0, 0, 0, 1 }, NULL },
	{ 1017, "pointer hidden by XOR", { 1, 0, 0, 0 }, NULL },
	{ 1018, "interior pointer to a block holding a pointer", { 0, 0, 1, 0 }, NULL },
	{ 1019, "start pointer from a possibly lost block", { 0, 0, 1, 0 }, NULL },
	{ 1020, "in the program's mapping merged with a large block's", { 0, 0, 0, 1 }, NULL },
	{ 1030, "the last block before glibc's top chunk", { 1, 0, 0, 0 }, NULL },
	{ 1031, "its address left in dead stack below the exit path", { 1, 0, 0, 0 }, NULL },
	{ 1032, "only in a blocked thread's vector register", { 1, 0, 0, 0 }, NULL },
	{ 1033, "only in a blocked thread's general register", { 0, 0, 0, 1 }, NULL },
	{ 1034, "in the one touched page of a large mapping", { 0, 0, 0, 1 }, NULL },
	{ 1035, "in a mapping shaped as a glibc arena heap", { 0, 0, 0, 1 }, NULL },
	{ 1036, "in a mapping shaped as a thread's stack", { 0, 0, 0, 1 }, NULL },
	{ 1037, "its address left in a freed block of an emptied arena", { 1, 0, 0, 0 }, NULL },
	{ 1040, "8 bytes in, after a new[] cookie", { 0, 0, 0, 1 }, NULL },
	{ 1041, "8 bytes in, after the length of the rest", { 0, 0, 0, 1 }, NULL },
	{ 1042, "24 bytes in, shaped as a copy-on-write string", { 0, 0, 0, 1 }, NULL },
	{ 1043, "8 bytes in, after a count of 0", { 0, 0, 1, 0 }, NULL },
	{ 1044, "8 bytes in, after a count not dividing the rest", { 0, 0, 1, 0 }, NULL },
	{ 1045, "24 bytes in, a capacity not making up the block", { 0, 0, 1, 0 }, NULL },
	{ 1046, "in the one touched page of a shared anonymous mapping", { 0, 0, 0, 1 }, NULL },
	{ 1048, "a C++ base class subobject's pointer", { 0, 0, 0, 1 }, "reach_cxx" },
	{ 1049, "a pointer to a field that is no vtable's", { 0, 0, 1, 0 }, "reach_cxx" },
	{ 1051, "a C++ new[] array's pointer", { 0, 0, 0, 1 }, "reach_cxx" },
	{ 1056, "make_shared's object behind its control block", { 0, 0, 0, 1 }, "reach_cxx" },
};
#define SITE_COUNT (sizeof(sites) / sizeof(sites[0]))

struct tally {
	int blocks[SITE_COUNT][KINDS];
};

static int site_of(uint64_t size)
{
	for (size_t i = 0; i < SITE_COUNT; i++)
		if (sites[i].size == size)
			return (int)i;
	return -1;
}

static void tally_add(struct tally *tally, uint64_t bytes, uint64_t blocks, int kind)
{
	if (blocks == 0 || bytes % blocks)
		return;
	int site = site_of(bytes / blocks);
	if (site >= 0 && kind >= 0)
		tally->blocks[site][kind] += (int)blocks;
}

/* Without env of its own, reach must build site 1020's merged mapping (exit status 3 if
 * it cannot) and site 1030's block before the top chunk (4), so that the patterns are
 * tested, not only listed. */
static void run_reach(const char *arg, const char *const *env, char trace[PATH_MAX])
{
	struct harness_run run;
	const char *args[] = { arg, NULL };
	const char *const require_merged[] = { "REACH_REQUIRE_MERGED=1", "REACH_REQUIRE_TOP=1",
						NULL };
	assert_int_equal(harness_run("reach", args, env ? env : require_merged, &run), 0);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0 || run.trace_count != 1)
		fail_msg("reach: status %#x, %d traces; stderr: %s", run.status, run.trace_count,
			 run.stderr_text);
	snprintf(trace, PATH_MAX, "%s", run.traces[0]);
}

static int kind_index(const char *name)
{
	for (int kind = 0; kind < KINDS; kind++)
		if (name && strcmp(name, kind_names[kind]) == 0)
			return kind;
	return -1;
}

static json_t *memprof_leaks(const char *trace)
{
	char args[PATH_MAX + 64];
	snprintf(args, sizeof(args), "leaks --json --show-reachable '%s'", trace);
	return harness_memprof_json(args, 0);
}

static void memprof_tally(const char *trace, struct tally *tally)
{
	json_t *root = memprof_leaks(trace), *leak;
	size_t index;
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(root, "reachability"), "state")), "scanned");
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		tally_add(tally, (uint64_t)json_integer_value(json_object_get(leak, "bytes")),
			  (uint64_t)json_integer_value(json_object_get(leak, "blocks")),
			  kind_index(json_string_value(json_object_get(leak, "kind"))));
	}
	json_decref(root);
}

static void tally_loss(void *context, uint64_t bytes, uint64_t blocks, enum memcheck_kind kind)
{
	tally_add(context, bytes, blocks, (int)kind);
}

static void valgrind_tally(const char *prog, const char *arg, struct tally *tally)
{
	char command[PATH_MAX + 4096];
	snprintf(command, sizeof(command), "'%s/tests/progs/%s' %s", harness_build_dir(), prog,
		 arg);
	assert_int_equal(memcheck_run(command, tally_loss, tally), 0);
}

static const char *site_prog(const struct site *site)
{
	return site->prog ? site->prog : "reach";
}

static void print_table(const char *prog, const struct tally *memprof,
			const struct tally *memcheck)
{
	for (size_t i = 0; i < SITE_COUNT; i++) {
		if (strcmp(site_prog(&sites[i]), prog) != 0)
			continue;
		printf("%-48s %4llu  memcheck", sites[i].pattern, (unsigned long long)sites[i].size);
		for (int kind = 0; kind < KINDS; kind++)
			if (memcheck->blocks[i][kind])
				printf(" %dx%s", memcheck->blocks[i][kind], kind_names[kind]);
		printf("  memprof");
		for (int kind = 0; kind < KINDS; kind++)
			if (memprof->blocks[i][kind])
				printf(" %dx%s", memprof->blocks[i][kind], kind_names[kind]);
		printf("\n");
	}
}

/* The sites of `prog` (reach, with `arg` and `env`; or another of tests/progs, run
 * without), under memprof and memcheck: the same kinds, and the expected ones. `sites_of`
 * names the program the sites are listed under (the same source built otherwise). */
static void compare_as(const char *prog, const char *sites_of, const char *arg,
		       const char *const *env)
{
	char trace[PATH_MAX];
	struct tally memprof = { 0 }, memcheck = { 0 };
	if (strcmp(prog, "reach") == 0) {
		run_reach(arg, env, trace);
	} else {
		struct harness_run run;
		assert_int_equal(harness_run(prog, NULL, NULL, &run), 0);
		if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0 || run.trace_count != 1)
			fail_msg("%s: status %#x, %d traces", prog, run.status, run.trace_count);
		snprintf(trace, PATH_MAX, "%s", run.traces[0]);
	}
	memprof_tally(trace, &memprof);
	if (memcheck_available()) {
		valgrind_tally(prog, arg ? arg : "", &memcheck);
	} else {
		printf("valgrind not installed: comparing with memcheck's recorded verdicts\n");
		for (size_t i = 0; i < SITE_COUNT; i++)
			memcpy(memcheck.blocks[i], sites[i].blocks, sizeof(sites[i].blocks));
	}
	print_table(sites_of, &memprof, &memcheck);
	for (size_t i = 0; i < SITE_COUNT; i++) {
		if (strcmp(site_prog(&sites[i]), sites_of) != 0)
			continue;
		if (arg && (sites[i].size == 1014 || sites[i].size == 1032 || sites[i].size == 1033 ||
			    sites[i].size == 1037))
			continue; /* "nothread": no thread, no 1014, 1032, 1033 or 1037 block */
		for (int kind = 0; kind < KINDS; kind++)
			if (memprof.blocks[i][kind] != memcheck.blocks[i][kind] ||
			    memprof.blocks[i][kind] != sites[i].blocks[kind])
				fail_msg("%s (%llu bytes): %s: memprof %d, memcheck %d, expected %d",
					 sites[i].pattern, (unsigned long long)sites[i].size,
					 kind_names[kind], memprof.blocks[i][kind],
					 memcheck.blocks[i][kind], sites[i].blocks[kind]);
	}
}

static void compare(const char *prog, const char *arg, const char *const *env)
{
	compare_as(prog, prog, arg, env);
}

static void test_reachability_every_pattern_agrees_with_memcheck(void **state)
{
	(void)state;
	compare("reach", NULL, NULL);
}

static void test_reachability_single_threaded_agrees_with_memcheck(void **state)
{
	(void)state;
	compare("reach", "nothread", NULL);
}

/* memcheck's heuristics for C++ (valgrind's default): a base class subobject's pointer
 * and new[]'s pointer past its count reach their blocks as start pointers would. */
static void test_reachability_cxx_heuristics_agree_with_memcheck(void **state)
{
	(void)state;
	compare("reach_cxx", NULL, NULL);
}

/* The same built without RTTI (node, V8): vtables with no typeinfo, which memcheck tells
 * by their symbols and memprof by their first slot pointing into code. */
static void test_reachability_cxx_heuristics_without_rtti_agree_with_memcheck(void **state)
{
	(void)state;
	compare_as("reach_cxx_nortti", "reach_cxx", NULL, NULL);
}

/* MEMPROF_LEAK_CHECK=0: no scan, every unfreed block listed with kind "unknown", and
 * --fail-on-leak fails as it did before kinds existed. */
static void test_reachability_off_lists_every_block_as_unknown(void **state)
{
	(void)state;
	const char *env[] = { "MEMPROF_LEAK_CHECK=0", NULL };
	char trace[PATH_MAX], args[PATH_MAX + 64];
	run_reach("nothread", env, trace);
	json_t *root = memprof_leaks(trace), *leak;
	size_t index, blocks = 0;
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(root, "reachability"), "state")), "none");
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		assert_string_equal(json_string_value(json_object_get(leak, "kind")), "unknown");
		blocks += (size_t)json_integer_value(json_object_get(leak, "blocks"));
	}
	assert_true(blocks >= 24); /* the program's own 24 blocks, and glibc's if any */
	json_decref(root);
	snprintf(args, sizeof(args), "'%s/memprof' leaks --fail-on-leak '%s' >/dev/null",
		 harness_build_dir(), trace);
	assert_int_equal(WEXITSTATUS(system(args)), 1);
}

/* Site 1034's mapping is 64 MiB, one page of it touched, and so is site 1046's shared
 * one: the pages never touched hold zeros and are not read, so the roots scanned are far
 * less than the mappings (the program's other roots: a few MiB at most). Reading them all
 * made the kernel map its zero page into each (page tables for the whole range, seconds
 * for a few GiB), and would give the shared segment a page for each. */
static void test_reachability_untouched_pages_of_anonymous_roots_not_read(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_reach("nothread", NULL, trace);
	json_t *root = memprof_leaks(trace);
	json_int_t roots = json_integer_value(json_object_get(json_object_get(root, "reachability"),
							      "root_bytes"));
	if (roots <= 0 || roots >= 16ll << 20)
		fail_msg("%lld bytes of roots scanned: the mapping's untouched pages were read",
			 (long long)roots);
	json_decref(root);
}

/* The summary counts per kind; --fail-on-leak=KINDS fails only on those kinds. */
static void test_reachability_summary_and_fail_kinds(void **state)
{
	(void)state;
	char trace[PATH_MAX], args[PATH_MAX + 128];
	run_reach("nothread", NULL, trace);
	json_t *root = memprof_leaks(trace);
	json_t *summary = json_object_get(root, "summary");
	/* The program's own blocks: 5 definite (1001, 1002, 1005, 1007, 1017), ... */
	assert_true(json_integer_value(json_object_get(json_object_get(summary, "definite"),
						       "blocks")) >= 5);
	assert_true(json_integer_value(json_object_get(json_object_get(summary, "indirect"),
						       "bytes")) >= 1003 + 3 * 1006 + 2 * 1007);
	json_decref(root);
	snprintf(args, sizeof(args), "'%s/memprof' leaks --fail-on-leak=definite '%s' >/dev/null",
		 harness_build_dir(), trace);
	assert_int_equal(WEXITSTATUS(system(args)), 1);
	snprintf(args, sizeof(args), "'%s/memprof' leaks --fail-on-leak=bogus '%s' 2>/dev/null",
		 harness_build_dir(), trace);
	assert_int_equal(WEXITSTATUS(system(args)), 2);
}

/* A suppression by function hides the lost list and cycle (allocated from new_node in
 * lose_list_and_cycle) and says so. */
static void test_reachability_suppressions_by_function(void **state)
{
	(void)state;
	char trace[PATH_MAX], args[PATH_MAX + 256];
	run_reach("nothread", NULL, trace);
	FILE *file = fopen("reach.supp", "we");
	assert_non_null(file);
	fputs("# the list and the cycle\nfunction:lose_list_* file:reach.c\n", file);
	fclose(file);
	snprintf(args, sizeof(args),
		 "leaks --json --no-default-suppressions --suppressions reach.supp '%s'", trace);
	json_t *root = harness_memprof_json(args, 0), *leak;
	size_t index;
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		uint64_t size = (uint64_t)json_integer_value(json_object_get(leak, "bytes")) /
				(uint64_t)json_integer_value(json_object_get(leak, "blocks"));
		assert_true(size < 1005 || size > 1007);
	}
	json_t *suppressed = json_object_get(root, "suppressed");
	assert_int_equal(json_integer_value(json_object_get(suppressed, "blocks")), 7);
	assert_int_equal(json_integer_value(json_object_get(suppressed, "bytes")),
			 1005 + 3 * 1006 + 3 * 1007);
	json_t *rule = json_array_get(json_object_get(suppressed, "rules"), 0);
	assert_string_equal(json_string_value(json_object_get(rule, "rule")),
			    "function:lose_list_* file:reach.c");
	assert_int_equal(json_integer_value(json_object_get(rule, "line")), 2);
	json_decref(root);
}

/* The kinds memprof gives reach_cxx's sites under MEMPROF_LEAK_HEURISTICS=`words`. */
static void heuristic_kinds(const char *words, const char *kinds[4], struct harness_run *run)
{
	char env_word[160], args[PATH_MAX + 64];
	snprintf(env_word, sizeof(env_word), "MEMPROF_LEAK_HEURISTICS=%s", words);
	const char *env[] = { env_word, NULL };
	static const json_int_t sizes[4] = { 1048, 1049, 1051, 1056 };
	assert_int_equal(harness_run("reach_cxx", NULL, env, run), 0);
	snprintf(args, sizeof(args), "leaks --json --show-reachable '%s'", run->traces[0]);
	json_t *root = harness_memprof_json(args, 0), *leak;
	size_t index;
	for (int i = 0; i < 4; i++)
		kinds[i] = "none";
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		for (int i = 0; i < 4; i++)
			if (json_integer_value(json_object_get(leak, "bytes")) == sizes[i])
				kinds[i] = json_string_value(json_object_get(leak, "kind"));
	}
	for (int i = 0; i < 4; i++)
		kinds[i] = strcmp(kinds[i], "reachable") == 0 ? "reachable"
			   : strcmp(kinds[i], "possible") == 0 ? "possible" : "other";
	/* What the heuristics alone kept reachable, as memcheck's summary counts it. */
	json_t *scan = json_object_get(root, "reachability");
	json_int_t blocks = 0, bytes = 0;
	for (int i = 0; i < 4; i++) {
		if (strcmp(kinds[i], "reachable") == 0) {
			blocks++;
			bytes += sizes[i];
		}
	}
	assert_int_equal(json_integer_value(json_object_get(scan, "heuristic_blocks")), blocks);
	assert_int_equal(json_integer_value(json_object_get(scan, "heuristic_bytes")), bytes);
	json_decref(root);
}

/* MEMPROF_LEAK_HEURISTICS, valgrind's --leak-check-heuristics: none leaves every interior
 * pointer an interior pointer; a list applies those it names; an unknown word is said.
 * The check counts the blocks the heuristics alone kept reachable. */
static void test_reachability_heuristics_chosen(void **state)
{
	(void)state;
	struct harness_run run;
	const char *kinds[4];
	heuristic_kinds("none", kinds, &run);
	for (int i = 0; i < 4; i++)
		assert_string_equal(kinds[i], "possible");
	heuristic_kinds("newarray", kinds, &run);
	assert_string_equal(kinds[0], "possible");  /* 1048: a base subobject */
	assert_string_equal(kinds[2], "reachable"); /* 1051: new[] */
	assert_string_equal(kinds[3], "possible");  /* 1056: make_shared */
	heuristic_kinds("multipleinheritance,bogus", kinds, &run);
	assert_string_equal(kinds[0], "reachable");
	assert_string_equal(kinds[1], "possible");
	assert_string_equal(kinds[2], "possible");
	assert_string_equal(kinds[3], "reachable");
	assert_non_null(strstr(run.stderr_text, "MEMPROF_LEAK_HEURISTICS"));
}

/* The HTML page says, under its table of kinds, what the heuristics alone kept. */
static void test_reachability_heuristics_on_the_html_page(void **state)
{
	(void)state;
	struct harness_run run;
	char command[PATH_MAX * 2 + 64];
	assert_int_equal(harness_run("reach_cxx", NULL, NULL, &run), 0);
	snprintf(command, sizeof(command), "'%s/memprof' html -o heuristics.html '%s' 2>/dev/null",
		 harness_build_dir(), run.traces[0]);
	assert_int_equal(system(command), 0);
	/* 3155 bytes: sites 1048, 1051 and 1056, what the heuristics kept reachable. */
	assert_int_equal(system("grep -q 'id=\"leak-heuristics\">Of what is still reachable, "
				"<span title=\"3155 bytes\">3.1 KiB</span> in 3 blocks' "
				"heuristics.html"),
			 0);
}

/* A block the program made unreadable (PROT_NONE) is never read, not even by the
 * heuristics for a pointer 8 bytes into it: the check finishes, the block possibly lost
 * (reading its first word faulted, and the whole scan was abandoned). */
static void test_reachability_unreadable_block_not_read(void **state)
{
	(void)state;
	struct harness_run run;
	char args[PATH_MAX + 64];
	assert_int_equal(harness_run("unreadable", NULL, NULL, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	snprintf(args, sizeof(args), "leaks --json '%s'", run.traces[0]);
	json_t *root = harness_memprof_json(args, 0), *leak;
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(root, "reachability"), "state")), "scanned");
	size_t index, found = 0;
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		if (json_integer_value(json_object_get(leak, "bytes")) == 256 << 10) {
			assert_string_equal(json_string_value(json_object_get(leak, "kind")),
					    "possible");
			found++;
		}
	}
	assert_int_equal(found, 1);
	json_decref(root);
}

/* A scan that would need more memory than MEMPROF_LEAK_CHECK_MAX_MB is skipped (0: not
 * even its first table fits), says so, and the leaks keep kind "unknown". */
static void test_reachability_scan_skipped_over_its_memory_budget(void **state)
{
	(void)state;
	char trace[PATH_MAX], args[PATH_MAX + 64];
	struct harness_run run;
	const char *reach_args[] = { "nothread", NULL };
	const char *env[] = { "MEMPROF_LEAK_CHECK_MAX_MB=0", NULL };
	assert_int_equal(harness_run("reach", reach_args, env, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_non_null(strstr(run.stderr_text, "leak check skipped"));
	snprintf(trace, sizeof(trace), "%s", run.traces[0]);
	snprintf(args, sizeof(args), "leaks --json '%s'", trace);
	json_t *root = harness_memprof_json(args, 0), *leak;
	json_t *scan = json_object_get(root, "reachability");
	assert_string_equal(json_string_value(json_object_get(scan, "state")), "failed");
	size_t index;
	json_array_foreach(json_object_get(root, "leaks"), index, leak)
		assert_string_equal(json_string_value(json_object_get(leak, "kind")), "unknown");
	assert_true(json_array_size(json_object_get(root, "leaks")) > 0);
	json_decref(root);
}

/* Rule `index` of those the report applied is `text`, and it hid a block at least. */
static void assert_rule_hid(json_t *root, size_t index, const char *text)
{
	json_t *rules = json_object_get(json_object_get(root, "suppressed"), "rules");
	json_t *rule = json_array_get(rules, index);
	assert_string_equal(json_string_value(json_object_get(rule, "rule")), text);
	assert_true(json_integer_value(json_object_get(rule, "blocks")) >= 1);
}

/* Leaks whose stack passes through glibc's allocation of a thread's TLS vector. */
static size_t tls_vector_leaks(json_t *root)
{
	size_t index, frame_index, count = 0;
	json_t *leak, *frame;
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		json_array_foreach(json_object_get(leak, "stack"), frame_index, frame) {
			const char *function = json_string_value(json_object_get(frame, "function"));
			if (function && strstr(function, "_dl_allocate_tls")) {
				count++;
				break;
			}
		}
	}
	return count;
}

/* Every thread that ended leaves glibc holding its TLS vector (memcheck never sees it:
 * valgrind has glibc free it at exit). The built-in rule hides it, and says so. */
static void test_reachability_thread_tls_vector_suppressed_by_default(void **state)
{
	(void)state;
	struct harness_run run;
	char args[PATH_MAX + 64];
	assert_int_equal(harness_run("threads", NULL, NULL, &run), 0);
	assert_int_equal(run.trace_count, 1);
	snprintf(args, sizeof(args), "leaks --json --no-default-suppressions '%s'", run.traces[0]);
	json_t *root = harness_memprof_json(args, 0);
	assert_true(tls_vector_leaks(root) >= 1);
	json_decref(root);
	snprintf(args, sizeof(args), "leaks --json '%s'", run.traces[0]);
	root = harness_memprof_json(args, 0);
	assert_int_equal(tls_vector_leaks(root), 0);
	assert_rule_hid(root, 0, "function:*_dl_allocate_tls");
	json_decref(root);
}

/* Blocks of `kind` ("" for any) whose innermost frame, the code that allocated, is in the
 * dynamic loader. */
static size_t loader_blocks(json_t *root, const char *kind)
{
	size_t index, count = 0;
	json_t *leak;
	json_array_foreach(json_object_get(root, "leaks"), index, leak) {
		json_t *inner = json_array_get(json_object_get(leak, "stack"), 0);
		const char *module = json_string_value(json_object_get(inner, "module"));
		const char *its_kind = json_string_value(json_object_get(leak, "kind"));
		if (module && strncmp(module, "ld-linux", 8) == 0 &&
		    (!kind[0] || strcmp(its_kind, kind) == 0))
			count += (size_t)json_integer_value(json_object_get(leak, "blocks"));
	}
	return count;
}

/* dlopen() grows the table glibc's _dl_find_object keeps of the loaded objects, and the
 * loader reaches that block by a pointer it aligned into it: "possibly lost" in every
 * program that ever loaded a library (memcheck never sees it: valgrind has glibc free it
 * at exit). The built-in alloc-module rule hides what the loader allocated for itself,
 * and says so; the plugin's own leaks (allocated by its code, called through dlsym)
 * stay. */
static void test_reachability_loader_blocks_suppressed_by_default(void **state)
{
	(void)state;
	struct harness_run run;
	char plugin[PATH_MAX], args[PATH_MAX + 64];
	snprintf(plugin, sizeof(plugin), "%s/tests/progs/libplugin.so", harness_build_dir());
	const char *dl_args[] = { plugin, NULL };
	assert_int_equal(harness_run("dl", dl_args, NULL, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);
	snprintf(args, sizeof(args), "leaks --json --no-default-suppressions '%s'", run.traces[0]);
	json_t *root = harness_memprof_json(args, 0);
	assert_true(loader_blocks(root, "possible") >= 1);
	json_decref(root);

	snprintf(args, sizeof(args), "leaks --json '%s'", run.traces[0]);
	root = harness_memprof_json(args, 0);
	assert_int_equal(loader_blocks(root, ""), 0);
	json_t *leak = json_array_get(json_object_get(root, "leaks"), 0);
	assert_int_equal(json_array_size(json_object_get(root, "leaks")), 1);
	assert_string_equal(json_string_value(json_object_get(leak, "kind")), "definite");
	assert_int_equal(json_integer_value(json_object_get(leak, "blocks")), 3);
	assert_rule_hid(root, 1, "alloc-module:ld-linux*.so*");
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reachability_every_pattern_agrees_with_memcheck),
		cmocka_unit_test(test_reachability_single_threaded_agrees_with_memcheck),
		cmocka_unit_test(test_reachability_cxx_heuristics_agree_with_memcheck),
		cmocka_unit_test(test_reachability_cxx_heuristics_without_rtti_agree_with_memcheck),
		cmocka_unit_test(test_reachability_off_lists_every_block_as_unknown),
		cmocka_unit_test(test_reachability_summary_and_fail_kinds),
		cmocka_unit_test(test_reachability_untouched_pages_of_anonymous_roots_not_read),
		cmocka_unit_test(test_reachability_suppressions_by_function),
		cmocka_unit_test(test_reachability_thread_tls_vector_suppressed_by_default),
		cmocka_unit_test(test_reachability_loader_blocks_suppressed_by_default),
		cmocka_unit_test(test_reachability_scan_skipped_over_its_memory_budget),
		cmocka_unit_test(test_reachability_unreadable_block_not_read),
		cmocka_unit_test(test_reachability_heuristics_chosen),
		cmocka_unit_test(test_reachability_heuristics_on_the_html_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
