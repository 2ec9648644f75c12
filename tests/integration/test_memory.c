/* test_memory.c: `memprof memory --json` on programs whose resident memory is known.
 *
 * tests/progs/resident.c runs under libmemprof.so; each mode writes a known number of
 * pages, and the per-stack committed and resident bytes from the exit snapshot must be
 * exactly those (a malloc'd block starts 16 bytes into its page, so a block written from
 * its start has at most one page more than written: "within one page per block"). Also:
 * the fragmentation line, the kinds of a thread's stack and a file mapping, the timeline
 * of interval and signal snapshots, and a process whose main thread calls pthread_exit
 * still ending. The text report's figures are formatted with the report's own
 * mp_memory_bytes, so that the wording, not the rounding, is what is compared.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness.h"
#include "report_memory.h"

#define MIB (1024ll * 1024ll)
#define PAGE 4096ll

static int64_t num(json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);
	if (!json_is_integer(value))
		fail_msg("key '%s' is not an integer in %s", key, json_dumps(object, JSON_COMPACT));
	return json_integer_value(value);
}

static const char *str(json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

/* Runs resident MODE with the extra environment; it must exit 0 with one trace. */
static void run_mode(const char *mode, const char *const *env, char trace[PATH_MAX])
{
	const char *args[] = { mode, NULL };
	harness_run_one_trace("resident", args, env, trace);
}

/* `memprof memory --json OPTIONS TRACE`, which must exit 0. */
static json_t *memory_json(const char *options, const char *trace)
{
	char args[PATH_MAX * 2];
	snprintf(args, sizeof(args), "memory --json %s '%s'", options, trace);
	return harness_memprof_json(args, 0);
}

/* The one stack entry whose innermost frame is `function` with this source. */
static json_t *stack_of(json_t *root, const char *function, const char *source)
{
	json_t *stacks = json_object_get(root, "stacks"), *entry, *found = NULL;
	size_t index, matches = 0;
	json_array_foreach(stacks, index, entry) {
		const char *name = str(json_array_get(json_object_get(entry, "stack"), 0), "function");
		if (name && strcmp(name, function) == 0 && strcmp(str(entry, "source"), source) == 0) {
			found = entry;
			matches++;
		}
	}
	if (matches != 1)
		fail_msg("%zu %s stacks of %s in %s", matches, source, function,
			 json_dumps(stacks, JSON_COMPACT));
	return found;
}

static json_t *kind_of(json_t *root, const char *kind)
{
	json_t *entry;
	size_t index;
	json_array_foreach(json_object_get(root, "mappings"), index, entry)
		if (strcmp(str(entry, "kind"), kind) == 0)
			return entry;
	fail_msg("no mapping kind '%s'", kind);
	return NULL;
}

static bool verdict_says(json_t *root, const char *words)
{
	json_t *line;
	size_t index;
	json_array_foreach(json_object_get(root, "verdict"), index, line)
		if (strstr(json_string_value(line), words))
			return true;
	return false;
}

/* Every key of the documented minimum is there, with the right type. */
static void assert_contract(json_t *root)
{
	json_t *snapshot = json_object_get(root, "snapshot"), *entry;
	size_t index;
	assert_non_null(str(snapshot, "reason"));
	assert_true(num(snapshot, "time_ns") >= 0);
	assert_true(num(root, "rss_bytes") > 0);
	assert_true(num(root, "virt_bytes") >= num(root, "rss_bytes"));
	assert_true(num(root, "heap_unexplained_bytes") >= 0);
	json_array_foreach(json_object_get(root, "stacks"), index, entry) {
		assert_true(num(entry, "committed_bytes") >= num(entry, "resident_bytes"));
		num(entry, "swapped_bytes");
		assert_true(num(entry, "blocks") > 0);
		assert_true(json_is_array(json_object_get(entry, "stack")));
	}
	int64_t rss = 0;
	json_array_foreach(json_object_get(root, "mappings"), index, entry) {
		num(entry, "size_bytes");
		num(entry, "pss_bytes");
		num(entry, "swap_bytes");
		rss += num(entry, "rss_bytes");
	}
	assert_int_equal(rss, num(root, "rss_bytes"));
	assert_true(json_array_size(json_object_get(root, "timeline")) >= 1);
	json_array_foreach(json_object_get(root, "timeline"), index, entry) {
		num(entry, "time_ns");
		num(entry, "rss_bytes");
		num(entry, "heap_live_bytes");
	}
}

static void test_memory_half_written_malloc_is_half_resident(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("half", NULL, trace);
	json_t *root = memory_json("", trace);
	assert_contract(root);
	assert_string_equal(str(json_object_get(root, "snapshot"), "reason"), "exit");
	json_t *entry = stack_of(root, "half_block", "malloc");
	assert_int_equal(num(entry, "committed_bytes"), 512 * MIB);
	assert_int_equal(num(entry, "blocks"), 1);
	assert_in_range(num(entry, "resident_bytes"), 256 * MIB, 256 * MIB + PAGE);
	assert_int_equal(num(entry, "swapped_bytes"), 0);
	/* The largest gap is first, and the verdict names it. */
	assert_ptr_equal(json_array_get(json_object_get(root, "stacks"), 0), entry);
	assert_true(verdict_says(root, "committed 512.0 MiB of which 256.0 MiB is resident"));
	json_decref(root);
}

/* Stacks end at main unless --full-stacks; the figures stay the same either way. */
static void test_memory_full_stacks_keep_the_start_code(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("half", NULL, trace);
	json_t *root = memory_json("", trace), *full = memory_json("--full-stacks", trace);
	json_t *stack = json_object_get(stack_of(root, "half_block", "malloc"), "stack");
	json_t *entry = stack_of(full, "half_block", "malloc");
	json_t *full_stack = json_object_get(entry, "stack");
	size_t depth = json_array_size(stack), full_depth = json_array_size(full_stack);
	assert_string_equal(str(json_array_get(stack, depth - 1), "function"), "main");
	assert_true(full_depth > depth);
	assert_string_equal(str(json_array_get(full_stack, depth - 1), "function"), "main");
	assert_string_equal(str(json_array_get(full_stack, full_depth - 1), "function"), "_start");
	assert_int_equal(num(entry, "committed_bytes"), 512 * MIB);
	json_decref(root);
	json_decref(full);
}

static void test_memory_mmap_every_fourth_page_is_a_quarter_resident(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("quarter", NULL, trace);
	json_t *root = memory_json("", trace);
	assert_contract(root);
	json_t *entry = stack_of(root, "quarter_mapping", "mmap");
	assert_int_equal(num(entry, "committed_bytes"), 256 * MIB);
	assert_int_equal(num(entry, "resident_bytes"), 64 * MIB);
	assert_int_equal(num(entry, "blocks"), 1);
	assert_true(num(root, "anon_program_rss_bytes") >= 64 * MIB);
	json_decref(root);
}

static void test_memory_fully_written_block_is_all_resident(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("full", NULL, trace);
	json_t *root = memory_json("--snapshot exit", trace);
	assert_contract(root);
	json_t *entry = stack_of(root, "full_block", "malloc");
	assert_int_equal(num(entry, "committed_bytes"), 8 * MIB);
	assert_int_equal(num(entry, "resident_bytes"), 8 * MIB);
	json_decref(root);
}

/* A process that a signal it does not handle ends (abort) gets the snapshot an exit
 * would have: its last, the default one, and the one `--snapshot exit` picks; and it
 * still dies of the signal. */
static void test_memory_fatal_signal_takes_the_last_snapshot(void **state)
{
	(void)state;
	struct harness_run run;
	const char *args[] = { "fatal", NULL };
	assert_int_equal(harness_run("resident", args, NULL, &run), 0);
	assert_true(WIFSIGNALED(run.status));
	assert_int_equal(WTERMSIG(run.status), SIGABRT);
	assert_int_equal(run.trace_count, 1);
	json_t *root = memory_json("--snapshot exit", run.traces[0]);
	assert_string_equal(str(json_object_get(root, "snapshot"), "reason"), "fatal-signal");
	assert_int_equal(num(root, "snapshots"), num(json_object_get(root, "snapshot"), "index"));
	json_t *entry = stack_of(root, "full_block", "malloc");
	/* full_block, called by fatal_block: the block of this run, not of another. */
	assert_string_equal(str(json_array_get(json_object_get(entry, "stack"), 1), "function"),
			    "fatal_block");
	assert_int_equal(num(entry, "committed_bytes"), 8 * MIB);
	assert_int_equal(num(entry, "resident_bytes"), 8 * MIB);
	json_decref(root);
}

/* A block read whole but written only in its first quarter: the pages only read map the
 * kernel's zero page, which pagemap calls present although no RSS holds it. The block
 * is resident for its written quarter only (to the page of calloc's chunk header), as
 * smaps says of its mapping. */
static void test_memory_pages_only_read_are_not_resident(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("readzero", NULL, trace);
	json_t *root = memory_json("--snapshot exit", trace);
	assert_contract(root);
	json_t *entry = stack_of(root, "read_zero_block", "malloc");
	assert_int_equal(num(entry, "committed_bytes"), 64 * MIB);
	assert_in_range(num(entry, "resident_bytes"), 16 * MIB, 16 * MIB + PAGE);
	assert_int_equal(num(entry, "swapped_bytes"), 0);
	assert_true(verdict_says(root, "committed 64.0 MiB of which 16.0 MiB is resident"));
	json_decref(root);
}

/* 40000 written blocks of 1 KiB, 36000 freed: malloc keeps their pages (they are between
 * live blocks, so it cannot give them back), and nothing live is in them. */
static void test_memory_freed_small_blocks_show_as_fragmentation(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("frag", NULL, trace);
	json_t *root = memory_json("", trace);
	assert_contract(root);
	json_t *entry = stack_of(root, "fragment", "malloc");
	assert_int_equal(num(entry, "committed_bytes"), 4000 * 1024);
	assert_int_equal(num(entry, "resident_bytes"), 4000 * 1024);
	assert_int_equal(num(entry, "blocks"), 4000);
	int64_t freed = 36000 * 1024;
	assert_true(num(root, "heap_unexplained_bytes") >= freed);
	assert_true(num(root, "heap_unexplained_bytes") <= num(root, "heap_rss_bytes"));
	assert_int_equal(num(root, "heap_rss_bytes"),
			 num(root, "heap_unexplained_bytes") + num(root, "heap_live_resident_bytes"));
	assert_true(verdict_says(root, "fragmentation"));
	json_decref(root);
}

/* The same program sampled at 64 KiB: 4000 live 1 KiB blocks, each recorded with
 * p = 1 - exp(-1/64) and standing for 1/p blocks. The estimate of the stack's committed
 * bytes has a standard deviation of sqrt(N x bytes) = 512 KiB; fully written, its
 * resident bytes scale exactly like its committed ones. */
static void test_memory_sampled_trace_gives_estimates(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	const char *env[] = { "MEMPROF_SAMPLE_BYTES=64k", NULL };
	run_mode("frag", env, trace);
	json_t *root = memory_json("", trace);
	assert_contract(root);
	json_t *sampling = json_object_get(root, "sampling");
	assert_int_equal(num(sampling, "sample_bytes"), 65536);
	json_t *entry = stack_of(root, "fragment", "malloc");
	int64_t committed = num(entry, "committed_bytes");
	assert_true(llabs(committed - 4000 * 1024) <= 4 * 512 * 1024);
	assert_int_equal(num(entry, "resident_bytes"), committed);
	json_decref(root);
}

static void test_memory_thread_stack_and_file_mapping_kinds(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("kinds", NULL, trace);
	json_t *root = memory_json("", trace);
	assert_contract(root);
	/* [stack] and the blocked thread's stack, 64 KiB of it written. */
	json_t *stack = kind_of(root, "stack");
	assert_int_equal(num(stack, "mappings"), 2);
	assert_true(num(stack, "rss_bytes") >= 64 * 1024);
	/* The file is page cache mapped by the program, not code; the loaded objects are. */
	json_t *file = kind_of(root, "file");
	assert_int_equal(num(file, "mmap_rss_bytes"), MIB);
	assert_int_equal(num(file, "code_rss_bytes"),
			 num(file, "rss_bytes") - num(file, "memprof_rss_bytes") - MIB);
	json_t *entry = stack_of(root, "kinds", "mmap");
	assert_int_equal(num(entry, "committed_bytes"), MIB);
	assert_int_equal(num(entry, "resident_bytes"), MIB);
	json_decref(root);
}

/* The path under which the trace's module map names libc, to *path. */
static void libc_module_path(const char *trace_path, char path[PATH_MAX])
{
	struct mp_trace *trace;
	char err[256];
	uint32_t count, generation = 0;
	size_t modules;
	assert_int_equal(mp_trace_open(trace_path, &trace, err, sizeof(err)), 0);
	assert_non_null(mp_trace_stack(trace, 1, &count, &generation));
	const struct mp_module *map = mp_trace_modules(trace, generation, &modules);
	path[0] = '\0';
	for (size_t i = 0; map && i < modules; i++) {
		const char *slash = strrchr(map[i].path, '/');
		if (slash && strcmp(slash + 1, "libc.so.6") == 0)
			snprintf(path, PATH_MAX, "%s", map[i].path);
	}
	mp_trace_close(trace);
	assert_true(path[0] == '/');
}

/* A program that maps no file itself: all its file-backed RSS is the code and data of the
 * objects it loaded, libc among them, although the trace names libc as the loader found
 * it (/lib/x86_64-linux-gnu/libc.so.6) and smaps as the kernel mapped it
 * (/usr/lib/x86_64-linux-gnu/libc.so.6, Debian's merged /usr). */
static void test_memory_merged_usr_libc_is_code_not_page_cache(void **state)
{
	(void)state;
	char trace[PATH_MAX], libc[PATH_MAX], real[PATH_MAX], expected[256], a[32];
	run_mode("full", NULL, trace);
	libc_module_path(trace, libc);
	assert_non_null(realpath(libc, real));
	if (strcmp(libc, real) == 0)
		fail_msg("libc is recorded as '%s', its real path: not a merged /usr system", libc);
	json_t *root = memory_json("", trace);
	json_t *file = kind_of(root, "file");
	int64_t code = num(file, "rss_bytes") - num(file, "memprof_rss_bytes");
	assert_true(code > 0);
	assert_int_equal(num(file, "code_rss_bytes"), code);
	assert_int_equal(num(file, "mmap_rss_bytes"), 0);
	json_decref(root);

	char args[PATH_MAX + 16], *out;
	snprintf(args, sizeof(args), "memory '%s'", trace);
	assert_int_equal(harness_memprof(args, &out), 0);
	snprintf(expected, sizeof(expected), "  file RSS: %s code and data of loaded objects, "
		 "0 B other mapped files (page cache)\n", mp_memory_bytes(a, 32, (uint64_t)code));
	if (!strstr(out, expected))
		fail_msg("no '%s' in:\n%s", expected, out);
	free(out);
}

/* RSS (smaps' sum at the snapshot) and the peaks (the kernel's high-water marks, read
 * just before smaps) can disagree, VmHWM below RSS: each says where it comes from. */
static void test_memory_text_says_when_rss_and_peaks_were_read(void **state)
{
	(void)state;
	char trace[PATH_MAX], args[PATH_MAX + 16], expected[256], a[32], b[32], c[32], d[32];
	run_mode("full", NULL, trace);
	json_t *root = memory_json("", trace), *process = json_object_get(root, "process");
	snprintf(args, sizeof(args), "memory '%s'", trace);
	char *out;
	assert_int_equal(harness_memprof(args, &out), 0);
	snprintf(expected, sizeof(expected), "\n  RSS %s of VIRT %s at the exit snapshot: ",
		 mp_memory_bytes(a, 32, (uint64_t)num(root, "rss_bytes")),
		 mp_memory_bytes(b, 32, (uint64_t)num(root, "virt_bytes")));
	if (!strstr(out, expected))
		fail_msg("no '%s' in:\n%s", expected, out);
	snprintf(expected, sizeof(expected), "\nProcess:      peak RSS (VmHWM) %s, peak VIRT "
		 "(VmPeak) %s: high-water marks up to the exit snapshot,\n              from the "
		 "kernel's counters read just before smaps (whose sum, the RSS above, can exceed "
		 "them)\n", mp_memory_bytes(c, 32, (uint64_t)num(process, "vm_hwm_bytes")),
		 mp_memory_bytes(d, 32, (uint64_t)num(process, "vm_peak_bytes")));
	if (!strstr(out, expected))
		fail_msg("no '%s' in:\n%s", expected, out);
	free(out);
	json_decref(root);
}

static void test_memory_timeline_of_interval_and_signal_snapshots(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	const char *env[] = { "MEMPROF_SNAPSHOT_MS=50", "MEMPROF_SNAPSHOT_SIGNAL=SIGUSR2", NULL };
	run_mode("timeline", env, trace);
	json_t *root = memory_json("", trace), *point;
	assert_contract(root);
	json_t *timeline = json_object_get(root, "timeline");
	size_t index, intervals = 0, signals = 0, exits = 0;
	int64_t previous = 0;
	json_array_foreach(timeline, index, point) {
		const char *reason = str(point, "reason");
		intervals += strcmp(reason, "interval") == 0;
		signals += strcmp(reason, "signal") == 0;
		exits += strcmp(reason, "exit") == 0;
		assert_true(num(point, "time_ns") >= previous);
		previous = num(point, "time_ns");
		assert_true(num(point, "heap_live_bytes") >= 4 * MIB);
	}
	assert_true(intervals >= 5);
	assert_int_equal(signals, 1);
	assert_int_equal(exits, 1);
	/* The default snapshot is the exit one, the last; its heap holds both blocks. */
	assert_int_equal(num(json_object_get(root, "snapshot"), "index"), json_array_size(timeline));
	point = json_array_get(timeline, json_array_size(timeline) - 1);
	assert_true(num(point, "heap_live_bytes") >= 20 * MIB);
	json_decref(root);
	/* The first snapshot, by number: only the 4 MiB block was live. */
	root = memory_json("--snapshot 1", trace);
	assert_int_equal(num(root, "heap_live_bytes") >= 4 * MIB, 1);
	assert_true(num(root, "heap_live_bytes") < 20 * MIB);
	json_decref(root);
	/* The peak: the highest RSS, after the 16 MiB block. */
	root = memory_json("--snapshot peak", trace);
	assert_true(num(root, "heap_live_bytes") >= 20 * MIB);
	json_decref(root);
}

/* Counts the timeline's snapshots taken for `reason`. */
static size_t count_reason(json_t *root, const char *reason)
{
	size_t index, count = 0;
	json_t *point;
	json_array_foreach(json_object_get(root, "timeline"), index, point)
		count += strcmp(str(point, "reason"), reason) == 0;
	return count;
}

static void test_memory_peak_snapshot_at_each_new_heap_peak(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("grow", NULL, trace);
	json_t *root = memory_json("", trace), *point;
	assert_contract(root);
	/* One per 8 MiB step: each grows the heap by more than a tenth and 1 MiB, and comes
	 * more than 100 ms after the previous one. */
	assert_int_equal(count_reason(root, "heap-peak"), 10);
	size_t index, step = 0;
	json_array_foreach(json_object_get(root, "timeline"), index, point) {
		if (strcmp(str(point, "reason"), "heap-peak") != 0)
			continue;
		step++;
		/* Taken inside the malloc that made the peak: the step's block is live. */
		assert_true(num(point, "heap_live_bytes") >= (int64_t)(step * 8 * MIB));
		assert_true(num(point, "heap_live_bytes") < (int64_t)((step * 8 + 1) * MIB));
	}
	json_decref(root);

	/* The same steps from threads numbered past 2100: their counters are in segments
	 * mapped as threads came (heap_peak.c), and the sum finds each step all the same. */
	run_mode("growlate", NULL, trace);
	root = memory_json("", trace);
	assert_int_equal(count_reason(root, "heap-peak"), 10);
	json_decref(root);

	const char *off[] = { "MEMPROF_SNAPSHOT_PEAK=0", NULL };
	run_mode("grow", off, trace);
	root = memory_json("", trace);
	assert_int_equal(count_reason(root, "heap-peak"), 0);
	assert_int_equal(count_reason(root, "exit"), 1);
	json_decref(root);
}

/* Heap and RSS growing together: the heap-peak trigger and the RSS watch both want
 * snapshots, and the watch counts the other's as its own. So every rss-peak snapshot
 * finds RSS 5% above every snapshot before it, or comes at least its 20 ms after the
 * last one (before, an rss-peak snapshot often came a few ms after a heap-peak one at
 * the same RSS: a copy). */
static void test_memory_rss_peak_snapshots_do_not_repeat_a_heap_peak_one(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("steady", NULL, trace);
	json_t *root = memory_json("", trace), *point;
	size_t index;
	int64_t highest = 0, last_ns = -1;
	int rss_peaks = 0, heap_peaks = 0;
	json_array_foreach(json_object_get(root, "timeline"), index, point) {
		const char *reason = str(point, "reason");
		int64_t rss = num(point, "rss_bytes"), at = num(point, "time_ns");
		if (strcmp(reason, "rss-peak") == 0) {
			rss_peaks++;
			if (rss < highest + highest / 20 && at - last_ns < 20 * 1000000ll)
				fail_msg("rss-peak snapshot at %lld ns, RSS %lld: %lld ns after the last "
					 "snapshot, whose RSS was as high (%lld)", (long long)at,
					 (long long)rss, (long long)(at - last_ns), (long long)highest);
		}
		heap_peaks += strcmp(reason, "heap-peak") == 0;
		highest = rss > highest ? rss : highest;
		last_ns = at;
	}
	/* Both triggers still fire: 190 MiB of growth is many steps of either. */
	assert_true(rss_peaks >= 3);
	assert_true(heap_peaks >= 3);
	json_decref(root);
}

static void test_memory_snapshot_thread_does_not_keep_the_process_alive(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	const char *env[] = { "MEMPROF_SNAPSHOT_MS=20", NULL };
	run_mode("mainexit", env, trace);
	json_t *root = memory_json("", trace);
	assert_string_equal(str(json_object_get(root, "snapshot"), "reason"), "exit");
	assert_true(num(root, "rss_bytes") > 0);
	json_decref(root);
}

/* ---- the RSS peak ---- */

/* The resident bytes of the one malloc stack whose innermost frame is `function`. */
static int64_t resident_of(json_t *root, const char *function)
{
	return num(stack_of(root, function, "malloc"), "resident_bytes");
}

/* slowfill mallocs 256 MiB (a heap peak, nothing resident yet), writes it over 400 ms,
 * holds it 500 ms and frees it before exit. The RSS watch's snapshot at the last new high
 * is within 5% of it: the watch samples every 10 ms and snapshots every 5% of growth,
 * and the 500 ms hold outlasts its rate limit (at most 10x a snapshot's CPU time, about
 * 50 ms here) whatever the load. */
static void test_memory_peak_is_the_rss_peak_not_the_heap_peak(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	run_mode("slowfill", NULL, trace);
	json_t *root = memory_json("--snapshot peak", trace);
	assert_contract(root);
	json_t *peak = json_object_get(root, "rss_peak");
	int64_t hwm = num(peak, "vm_hwm_bytes");
	assert_true(hwm >= 256 * MIB);
	assert_string_equal(str(json_object_get(root, "snapshot"), "reason"), "rss-peak");
	assert_true(num(root, "rss_bytes") >= hwm / 100 * 95);
	assert_int_equal(num(peak, "snapshot_rss_bytes"), num(root, "rss_bytes"));
	assert_true(num(peak, "below_peak_bytes") <= hwm / 100 * 5);
	/* The buffer's resident bytes are there: all but what the 5% can hide. */
	assert_true(resident_of(root, "slowfill_buffer") >= 256 * MIB / 100 * 94);
	/* The series is in the trace, and its highest sample is the peak too. */
	json_t *series = json_object_get(root, "rss_series");
	assert_int_equal(num(series, "period_ms"), 10);
	assert_true(json_array_size(json_object_get(series, "samples")) >= 2);
	assert_true(num(peak, "watched_max_rss_bytes") >= hwm / 100 * 95);
	json_decref(root);

	/* The heap peak is the malloc, before a byte of the buffer was written. */
	root = memory_json("--snapshot heap-peak", trace);
	assert_string_equal(str(json_object_get(root, "snapshot"), "reason"), "heap-peak");
	assert_true(resident_of(root, "slowfill_buffer") < MIB);
	assert_true(verdict_says(root, "below the process's peak RSS"));
	json_decref(root);

	/* Without the watch no snapshot sees the buffer written: the peak is far off, and
	 * the report says so. */
	const char *off[] = { "MEMPROF_RSS_WATCH=0", NULL };
	run_mode("slowfill", off, trace);
	root = memory_json("--snapshot peak", trace);
	assert_int_equal(count_reason(root, "rss-peak"), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(root, "rss_series"),
							 "samples")), 0);
	peak = json_object_get(root, "rss_peak");
	assert_true(num(peak, "below_peak_bytes") > 200 * MIB);
	assert_true(verdict_says(root, "below the process's peak RSS"));
	json_decref(root);
}

/* ---- access ---- */

struct access_run {
	char trace[PATH_MAX];
	uint64_t start_ns;        /* the trace's start: JSON times are relative to it */
	uint64_t filled_ns;       /* both blocks written */
	uint64_t passes[200][2];  /* each rewrite's start and end */
	int pass_count;
	int merged;               /* "merged 1" */
};

static void access_run(const char *how, const char *const *env, struct access_run *out)
{
	struct harness_run run;
	const char *args[] = { "access", how, NULL };
	struct mp_trace *trace;
	char err[256];
	assert_int_equal(harness_run("resident", args, env, &run), 0);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0)
		fail_msg("resident access %s: status %#x; stderr: %s", how, run.status, run.stderr_text);
	assert_int_equal(run.trace_count, 1);
	memset(out, 0, sizeof(*out));
	snprintf(out->trace, PATH_MAX, "%s", run.traces[0]);
	for (const char *line = run.stdout_text; line && *line; line = strchr(line, '\n')) {
		unsigned long long a, b;
		int merged;
		line += *line == '\n';
		if (sscanf(line, "filled %llu", &a) == 1)
			out->filled_ns = a;
		else if (sscanf(line, "pass %llu %llu", &a, &b) == 2 && out->pass_count < 200) {
			out->passes[out->pass_count][0] = a;
			out->passes[out->pass_count++][1] = b;
		} else if (sscanf(line, "merged %d", &merged) == 1)
			out->merged = merged;
	}
	assert_true(out->filled_ns > 0 && out->pass_count > 0);
	assert_int_equal(mp_trace_open(out->trace, &trace, err, sizeof(err)), 0);
	out->start_ns = mp_trace_header(trace)->start_monotonic_ns;
	mp_trace_close(trace);
}

/* 1 if snapshot `root`'s access interval lies after the fill and holds a whole pass:
 * then exactly the rewritten bytes were accessed in it. 2 ms of margin for the clocks
 * (the trace's may be the TSC, calibrated against CLOCK_MONOTONIC). */
static int access_interval_is_clean(const struct access_run *run, json_t *root)
{
	json_t *snapshot = json_object_get(root, "snapshot");
	json_t *since_value = json_object_get(snapshot, "access_since_ns");
	if (!json_is_integer(since_value))
		return 0;
	uint64_t margin = 2000000;
	uint64_t since = run->start_ns + (uint64_t)json_integer_value(since_value);
	uint64_t until = run->start_ns + (uint64_t)num(snapshot, "time_ns");
	if (since < run->filled_ns + margin)
		return 0;
	for (int i = 0; i < run->pass_count; i++)
		if (run->passes[i][0] >= since + margin && run->passes[i][1] + margin <= until)
			return 1;
	return 0;
}

/* Calls check(root) for every snapshot of the run whose access interval is clean, and
 * returns how many there were; every snapshot must say it measured access. */
static size_t access_each_clean(const struct access_run *run, void (*check)(json_t *root))
{
	char options[32];
	json_t *root = memory_json("", run->trace);
	size_t count = (size_t)num(root, "snapshots"), clean = 0;
	json_decref(root);
	for (size_t index = 1; index <= count; index++) {
		snprintf(options, sizeof(options), "--snapshot %zu", index);
		root = memory_json(options, run->trace);
		assert_string_equal(str(json_object_get(root, "snapshot"), "access_method"),
				    "referenced");
		if (access_interval_is_clean(run, root)) {
			clean++;
			check(root);
		}
		json_decref(root);
	}
	print_message("%zu of %zu snapshots with an interval inside the rewrites\n", clean, count);
	return clean;
}

/* Snapshots of the own-mappings run that are exact to two pages. */
static size_t own_exact;

/* Whether the snapshot says exactly what the program did. A loaded machine can stretch
 * the program between its clock reads and its rewrites, so an interval judged clean may
 * still hold part of another pass: each snapshot is compared, and the test needs exact
 * ones (see the test), not every one. */
static void access_check_own(json_t *root)
{
	json_t *big = stack_of(root, "access_big", "malloc");
	json_t *small = stack_of(root, "access_small", "malloc");
	json_t *anon = kind_of(root, "anon");
	int64_t big_accessed = num(big, "accessed_bytes"), small_accessed = num(small, "accessed_bytes");
	int exact = num(big, "resident_bytes") == 256 * MIB &&
		    big_accessed >= 64 * MIB && big_accessed <= 64 * MIB + 2 * PAGE &&
		    num(big, "cold_bytes") >= 192 * MIB - 2 * PAGE &&
		    num(big, "cold_bytes") <= 192 * MIB &&
		    num(big, "accessed_min_bytes") == big_accessed &&
		    small_accessed >= 16 * MIB - 2 * PAGE && small_accessed <= 16 * MIB &&
		    num(small, "cold_bytes") <= 2 * PAGE &&
		    /* The anonymous mappings: at least the two blocks' accessed bytes, and the
		     * rest of the big one cold. */
		    num(anon, "accessed_bytes") >= 80 * MIB &&
		    num(anon, "cold_bytes") >= 192 * MIB - 2 * PAGE &&
		    verdict_says(root, "192.0 MiB is cold");
	if (exact)
		own_exact++;
	else
		print_message("not exact: big %llu accessed of %llu resident, small %llu accessed\n",
			      (unsigned long long)big_accessed,
			      (unsigned long long)num(big, "resident_bytes"),
			      (unsigned long long)small_accessed);
}

/* The 256 MiB block written whole, then only its first 64 MiB rewritten, beside a 16 MiB
 * block rewritten whole, each in a mapping of its own: in every snapshot whose interval
 * holds a whole rewrite and nothing of the fill, 64 MiB and 16 MiB were accessed, to two
 * pages (the big block's first page also holds malloc's header), and the rest of the big
 * block is cold. The interval snapshots come every 100 ms over the 800 ms of rewrites. */
static void test_memory_access_per_stack_of_blocks_with_their_own_mappings(void **state)
{
	(void)state;
	struct access_run run;
	const char *env[] = { "MEMPROF_SNAPSHOT_MS=100", "MEMPROF_SNAPSHOT_ACCESS=1", NULL };
	access_run("own", env, &run);
	own_exact = 0;
	size_t clean = access_each_clean(&run, access_check_own);
	/* Never none, and a third of them at least: the figures are exact, timing aside. A
	 * full `make check` on 2 busy cores once gave 3 exact of 8 clean (the others 2 to 626
	 * pages short of 64 MiB: rewrites stretched past the clock reads around them), 7 of
	 * 13 or more in every other run; a half was asked before. On Linux 6.18 every
	 * snapshot was 50 to 260 pages short until memprof flushed the TLB after each clear
	 * (snapshot.c): this test is what caught it. */
	assert_true(clean >= 1);
	assert_true(own_exact >= 1 && own_exact * 3 >= clean);
}

static void access_check_merged(json_t *root)
{
	json_t *big = stack_of(root, "access_big", "malloc");
	json_t *small = stack_of(root, "access_small", "malloc");
	assert_null(json_object_get(big, "accessed_bytes"));
	assert_null(json_object_get(small, "accessed_bytes"));
	assert_true(num(big, "accessed_min_bytes") <= 64 * MIB + 2 * PAGE);
	assert_true(num(big, "accessed_max_bytes") >= 64 * MIB);
	assert_true(num(small, "accessed_min_bytes") <= 16 * MIB);
	assert_true(num(small, "accessed_max_bytes") >= 16 * MIB - 2 * PAGE);
	assert_true(verdict_says(root, "access is known per mapping"));
}

/* The same blocks in one mapping (the kernel merged them): smaps counts the mapping's
 * 80 MiB of accessed pages but not whose, so neither stack has an exact figure, only
 * bounds that hold the truth. */
static void test_memory_access_of_a_shared_mapping_is_bounded(void **state)
{
	(void)state;
	struct access_run run;
	const char *env[] = { "MEMPROF_SNAPSHOT_MS=100", "MEMPROF_SNAPSHOT_ACCESS=1", NULL };
	access_run("merged", env, &run);
	if (!run.merged) {
		print_message("the kernel kept the blocks apart: nothing to check\n");
		return;
	}
	assert_true(access_each_clean(&run, access_check_merged) >= 1);
}

/* Without MEMPROF_SNAPSHOT_ACCESS no snapshot says anything about access: smaps's
 * Referenced: then covers no known interval. */
static void test_memory_no_access_figure_without_the_option(void **state)
{
	(void)state;
	char trace[PATH_MAX];
	const char *env[] = { "MEMPROF_SNAPSHOT_MS=10", NULL };
	run_mode("grow", env, trace);
	json_t *root = memory_json("", trace), *entry;
	size_t index;
	assert_true(json_is_null(json_object_get(json_object_get(root, "snapshot"), "access_method")));
	assert_true(json_is_null(json_object_get(json_object_get(root, "snapshot"), "access_since_ns")));
	assert_null(json_object_get(root, "accessed_bytes"));
	assert_null(json_object_get(root, "cold_bytes"));
	json_array_foreach(json_object_get(root, "stacks"), index, entry) {
		assert_null(json_object_get(entry, "accessed_bytes"));
		assert_null(json_object_get(entry, "accessed_min_bytes"));
		assert_null(json_object_get(entry, "cold_bytes"));
	}
	json_array_foreach(json_object_get(root, "mappings"), index, entry)
		assert_null(json_object_get(entry, "accessed_bytes"));
	json_array_foreach(json_object_get(root, "timeline"), index, entry)
		assert_null(json_object_get(entry, "access_since_ns"));
	assert_false(verdict_says(root, "cold"));
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_half_written_malloc_is_half_resident),
		cmocka_unit_test(test_memory_full_stacks_keep_the_start_code),
		cmocka_unit_test(test_memory_mmap_every_fourth_page_is_a_quarter_resident),
		cmocka_unit_test(test_memory_fully_written_block_is_all_resident),
		cmocka_unit_test(test_memory_pages_only_read_are_not_resident),
		cmocka_unit_test(test_memory_fatal_signal_takes_the_last_snapshot),
		cmocka_unit_test(test_memory_freed_small_blocks_show_as_fragmentation),
		cmocka_unit_test(test_memory_thread_stack_and_file_mapping_kinds),
		cmocka_unit_test(test_memory_merged_usr_libc_is_code_not_page_cache),
		cmocka_unit_test(test_memory_text_says_when_rss_and_peaks_were_read),
		cmocka_unit_test(test_memory_timeline_of_interval_and_signal_snapshots),
		cmocka_unit_test(test_memory_snapshot_thread_does_not_keep_the_process_alive),
		cmocka_unit_test(test_memory_peak_snapshot_at_each_new_heap_peak),
		cmocka_unit_test(test_memory_rss_peak_snapshots_do_not_repeat_a_heap_peak_one),
		cmocka_unit_test(test_memory_sampled_trace_gives_estimates),
		cmocka_unit_test(test_memory_peak_is_the_rss_peak_not_the_heap_peak),
		cmocka_unit_test(test_memory_access_per_stack_of_blocks_with_their_own_mappings),
		cmocka_unit_test(test_memory_access_of_a_shared_mapping_is_bounded),
		cmocka_unit_test(test_memory_no_access_figure_without_the_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
