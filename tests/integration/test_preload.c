/* test_preload.c: real programs under libmemprof.so; their traces decoded and counted.
 * Each test names the behaviour it checks. Sizes are chosen so that no other code in the
 * process allocates them, which makes every count exact. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void run_ok(const char *prog, const char *const *args, struct harness_run *run)
{
	assert_int_equal(harness_run(prog, args, NULL, run), 0);
}

static void summarize(const char *path, struct harness_summary *summary)
{
	assert_int_equal(harness_summarize(path, summary), 0);
}

static void assert_size(const struct harness_summary *summary, uint64_t size,
			uint64_t allocations, uint64_t frees, uint64_t live)
{
	struct harness_size entry = harness_size(summary, size);
	if (entry.allocations != allocations || entry.frees != frees || entry.live != live)
		fail_msg("size %llu: %llu allocations, %llu frees, %llu live; expected %llu, %llu, %llu",
			 (unsigned long long)size, (unsigned long long)entry.allocations,
			 (unsigned long long)entry.frees, (unsigned long long)entry.live,
			 (unsigned long long)allocations, (unsigned long long)frees,
			 (unsigned long long)live);
}

static void test_eight_threads_each_allocation_in_its_thread(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	run_ok("threads", NULL, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 1);
	summarize(run.traces[0], &summary);
	uint32_t serials[9] = { 0 };
	for (int i = 1; i <= 8; i++) {
		assert_size(&summary, 10000 + (uint64_t)i, (uint64_t)i * 100, (uint64_t)i * 50,
			    (uint64_t)i * 50);
		struct harness_size entry = harness_size(&summary, 10000 + (uint64_t)i);
		assert_false(entry.several_threads);
		serials[i] = entry.thread_serial;
		for (int j = 1; j < i; j++)
			assert_int_not_equal(serials[j], serials[i]);
	}
	assert_size(&summary, 9999, 7, 0, 7);
	assert_true(summary.threads >= 9);
	/* Frees and munmaps the profiler itself makes (libunwind's per-thread caches are
	 * released as each thread ends) must not show up as the program's. */
	assert_int_equal(summary.unknown_frees, 0);
	assert_int_equal(summary.tag_counts[MP_REC_MUNMAP], 0);
	assert_int_equal(summary.header->end_state, MP_END_EXIT);
	assert_int_equal(summary.header->end_status, 0);
	harness_summary_free(&summary);
}

static void test_fork_child_gets_its_own_trace(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary parent, child;
	const char *args[] = { "fork", NULL };
	run_ok("lifecycle", args, &run);
	assert_int_equal(run.trace_count, 2);
	summarize(run.traces[0], &parent);
	summarize(run.traces[1], &child);
	if (parent.header->pid != child.header->ppid) {
		struct harness_summary swap = parent;
		parent = child;
		child = swap;
	}
	assert_int_equal(child.header->ppid, parent.header->pid);
	/* The parent's trace: its leaks before and after the fork, none of the child's. */
	assert_size(&parent, 11111, 3, 0, 3);
	assert_size(&parent, 33333, 2, 0, 2);
	assert_size(&parent, 22222, 0, 0, 0);
	/* The child's trace starts at the fork: only what the child did. */
	assert_size(&child, 22222, 5, 0, 5);
	assert_size(&child, 11111, 0, 0, 0);
	assert_size(&child, 33333, 0, 0, 0);
	assert_int_equal(parent.header->end_state, MP_END_EXIT);
	assert_int_equal(child.header->end_state, MP_END_EXIT);
	harness_summary_free(&parent);
	harness_summary_free(&child);
}

/* An exec through `mode` (lifecycle.c: execv, or execl, execlp, execle, fexecve) ends the
 * trace as an exec, and the new image writes its own. */
static void check_exec_starts_a_new_trace(const char *mode)
{
	struct harness_run run;
	struct harness_summary first, second;
	const char *args[] = { mode, NULL };
	run_ok("lifecycle", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 2);
	/* Same pid, same name: the image exec'd into writes NAME.1.trace. */
	summarize(run.traces[0], &second);
	summarize(run.traces[1], &first);
	if (first.header->end_state != MP_END_EXEC) {
		struct harness_summary swap = first;
		first = second;
		second = swap;
	}
	assert_int_equal(first.header->pid, second.header->pid);
	assert_int_equal(first.header->end_state, MP_END_EXEC);
	assert_size(&first, 44444, 4, 0, 4);
	assert_size(&first, 55555, 0, 0, 0);
	assert_int_equal(second.header->end_state, MP_END_EXIT);
	assert_size(&second, 55555, 6, 0, 6);
	assert_size(&second, 44444, 0, 0, 0);
	harness_summary_free(&first);
	harness_summary_free(&second);
}

static void test_exec_starts_a_new_trace(void **state)
{
	(void)state;
	check_exec_starts_a_new_trace("exec");
}

/* glibc's l forms, fexecve and execveat reach the kernel without going through execve:
 * they ended traces with no end (read as killed) until memprof interposed them too. */
static void test_exec_l_forms_and_fexecve_end_the_trace_as_exec(void **state)
{
	(void)state;
	check_exec_starts_a_new_trace("execl");
	check_exec_starts_a_new_trace("execlp");
	check_exec_starts_a_new_trace("execle");
	check_exec_starts_a_new_trace("fexecve");
	check_exec_starts_a_new_trace("execveat");
}

static void check_abnormal_end(const char *mode, int signal_number, uint64_t size,
			       uint64_t allocations, uint64_t frees)
{
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { mode, NULL };
	run_ok("lifecycle", args, &run);
	assert_true(WIFSIGNALED(run.status));
	assert_int_equal(WTERMSIG(run.status), signal_number);
	assert_int_equal(run.trace_count, 1);
	summarize(run.traces[0], &summary);
	assert_size(&summary, size, allocations, frees, allocations - frees);
	/* SIGKILL leaves no end; a signal memprof caught ends the trace with its number. */
	if (signal_number == SIGKILL) {
		assert_int_equal(summary.header->end_state, MP_END_RUNNING);
	} else {
		assert_int_equal(summary.header->end_state, MP_END_SIGNAL);
		assert_int_equal(summary.header->end_status, signal_number);
	}
	/* Nothing of the normal exit path ran. */
	assert_size(&summary, 2345, 0, 0, 0);
	harness_summary_free(&summary);
}

static void test_sigkill_keeps_every_committed_event(void **state)
{
	(void)state;
	check_abnormal_end("sigkill", SIGKILL, 777, 1000, 400);
}

/* malloc from generated code whose return address is 2 bytes before the end of its
 * mapping: libunwind, asked about that frame, reads past it and faults; the capture must
 * not hand it over (preload/unwind.c). The program runs to its end, the block and its
 * free recorded. */
static void test_call_from_the_end_of_generated_code(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	run_ok("jit_edge", NULL, &run);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0)
		fail_msg("jit_edge: status %#x; stderr: %s", run.status, run.stderr_text);
	assert_int_equal(run.trace_count, 1);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 4242, 1, 1, 0);
	harness_summary_free(&summary);
}

static void test_abort_keeps_every_event(void **state)
{
	(void)state;
	check_abnormal_end("abort", SIGABRT, 888, 100, 0);
}

static void test_sigsegv_keeps_every_event(void **state)
{
	(void)state;
	check_abnormal_end("segv", SIGSEGV, 999, 50, 0);
}

static void test_exit_now_is_recorded_with_status(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "exit_now", NULL };
	run_ok("lifecycle", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 3);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 1234, 10, 0, 10);
	assert_int_equal(summary.header->end_state, MP_END_EXIT_NOW);
	assert_int_equal(summary.header->end_status, 3);
	harness_summary_free(&summary);
}

static void test_preinit_atexit_and_destructor_allocations_recorded(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "plain", NULL };
	run_ok("lifecycle", args, &run);
	assert_int_equal(run.trace_count, 1);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 4567, 2, 0, 2); /* .preinit_array, before getenv works */
	assert_size(&summary, 2345, 3, 0, 3); /* atexit handler */
	assert_size(&summary, 3456, 4, 0, 4); /* destructor */
	harness_summary_free(&summary);
}

static void test_signal_handler_allocations_recorded(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "signal", NULL };
	run_ok("lifecycle", args, &run);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 5678, 10, 0, 10);
	harness_summary_free(&summary);
}

static void test_program_closing_and_reusing_descriptors(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "closefds", NULL };
	run_ok("lifecycle", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 6789, 100000, 100000, 0);
	harness_summary_free(&summary);
}

static void test_output_and_exit_status_unchanged(void **state)
{
	(void)state;
	struct harness_run run;
	const char *args[] = { "output", NULL };
	run_ok("lifecycle", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 7);
	assert_string_equal(run.stdout_text, "hello from the program\n");
	/* One line on stderr, naming the trace. */
	char expected[PATH_MAX + 64];
	snprintf(expected, sizeof(expected), "memprof: trace written to %s\n", run.traces[0]);
	assert_string_equal(run.stderr_text, expected);

	const char *quiet[] = { "MEMPROF_QUIET=1", NULL };
	assert_int_equal(harness_run("lifecycle", args, quiet, &run), 0);
	assert_string_equal(run.stderr_text, "");
	assert_int_equal(run.trace_count, 1);
}

static const struct mp_event *kept(const struct harness_summary *summary, int index)
{
	assert_true(index < summary->kept_count);
	return &summary->kept[index];
}

static void test_realloc_null_zero_shrink_grow(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "realloc", NULL };
	run_ok("allocs", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	/* The program's own reallocs are the last four kept realloc events. */
	int first = -1;
	for (int i = 0; i < summary.kept_count; i++) {
		if (summary.kept[i].tag == MP_REC_REALLOC && summary.kept[i].old_addr == 0 &&
		    summary.kept[i].size == 100)
			first = i;
	}
	assert_true(first >= 0);
	const struct mp_event *from_null = kept(&summary, first);
	const struct mp_event *shrink = kept(&summary, first + 1);
	const struct mp_event *grow = kept(&summary, first + 2);
	const struct mp_event *to_zero = kept(&summary, first + 3);
	assert_int_equal(shrink->tag, MP_REC_REALLOC);
	assert_int_equal(shrink->old_addr, from_null->addr);
	assert_int_equal(shrink->size, 50);
	assert_int_equal(grow->old_addr, shrink->addr);
	assert_int_equal(grow->size, 100000);
	assert_int_equal(to_zero->old_addr, grow->addr);
	assert_int_equal(to_zero->addr, 0);
	assert_int_equal(to_zero->size, 0);
	assert_true(grow->time_before_ns <= grow->time_ns);
	/* Sizes 100, 50 and 100000 each lived once and were released. */
	assert_size(&summary, 100, 1, 1, 0);
	assert_size(&summary, 50, 1, 1, 0);
	assert_size(&summary, 100000, 1, 1, 0);
	harness_summary_free(&summary);
}

/* One thread's mallocs and frees, in trace order. */
struct timed_events {
	struct mp_event *items;
	int count;
};

static void read_thread_events(const char *path, uint32_t serial, struct timed_events *out)
{
	char err[256];
	struct mp_trace *trace;
	assert_int_equal(mp_trace_open(path, &trace, err, sizeof(err)), 0);
	struct mp_event event;
	out->items = NULL;
	out->count = 0;
	while (mp_trace_next(trace, &event, err, sizeof(err)) == 1) {
		if (event.thread_serial != serial ||
		    (event.tag != MP_REC_MALLOC && event.tag != MP_REC_FREE))
			continue;
		if (out->count % 256 == 0)
			out->items = realloc(out->items, sizeof(event) * (size_t)(out->count + 256));
		out->items[out->count++] = event;
	}
	mp_trace_close(trace);
}

/* Index of the first (or last) allocation of `size`. */
static int find_size(const struct timed_events *events, uint64_t size, int last)
{
	int found = -1;
	for (int i = 0; i < events->count; i++) {
		if (events->items[i].tag == MP_REC_MALLOC && events->items[i].size == size) {
			found = i;
			if (!last)
				break;
		}
	}
	assert_true(found >= 0);
	return found;
}

/* Pairs of consecutive events in [first, last] whose times are exactly 1 ns apart; fails
 * if any pair does not move forward. */
static int one_ns_steps(const struct timed_events *events, int first, int last)
{
	int steps = 0;
	for (int i = first; i < last; i++) {
		uint64_t before = events->items[i].time_ns, after = events->items[i + 1].time_ns;
		if (after <= before)
			fail_msg("event %d at %llu ns, the next at %llu", i, (unsigned long long)before,
				 (unsigned long long)after);
		steps += after - before == 1;
	}
	return steps;
}

static void test_event_times_sparse_alone_exact_after_pause_and_with_threads(void **state)
{
	(void)state;
	const char *args[] = { "times", NULL };
	const char *env[] = { "MEMPROF_RSS_WATCH_MS=5", NULL };
	char trace[PATH_MAX];
	harness_run_one_trace("allocs", args, env, trace);
	struct harness_summary summary;
	summarize(trace, &summary);
	assert_size(&summary, 7001, 64, 64, 0);
	assert_size(&summary, 7003, 1, 1, 0);
	assert_size(&summary, 7004, 64, 64, 0);
	uint32_t main_serial = harness_size(&summary, 7001).thread_serial;
	assert_int_not_equal(harness_size(&summary, 7003).thread_serial, main_serial);
	struct timed_events events, other;
	read_thread_events(trace, main_serial, &events);
	read_thread_events(trace, harness_size(&summary, 7003).thread_serial, &other);
	harness_summary_free(&summary);

	/* Alone, after the watch ticked: most times are the one before + 1 ns, none repeats
	 * or goes back (the leak check's fold needs every event of a thread later than the
	 * one before). */
	int burst = find_size(&events, 7001, 0), burst_end = find_size(&events, 7001, 1) + 1;
	assert_int_equal(events.items[burst_end].tag, MP_REC_FREE);
	int steps = one_ns_steps(&events, burst, burst_end);
	if (steps < 64)
		fail_msg("%d of 127 steps of 1 ns: the clock was read too often", steps);
	/* After 200 ms asleep the clock is read again: the time is the true one. */
	int paused = find_size(&events, 7002, 0);
	uint64_t slept = events.items[paused].time_ns - events.items[burst_end].time_ns;
	if (slept < 200000000u)
		fail_msg("200 ms asleep, %llu ns between the events", (unsigned long long)slept);
	/* The other thread's block comes after this thread's last event before it, and
	 * from then on every event of this thread reads the clock. */
	assert_int_equal(other.count, 2);
	assert_true(other.items[0].time_ns > events.items[paused + 1].time_ns);
	int after = find_size(&events, 7004, 0), after_end = find_size(&events, 7004, 1) + 1;
	assert_true(events.items[after].time_ns > other.items[1].time_ns);
	assert_int_equal(one_ns_steps(&events, after, after_end), 0);
	free(events.items);
	free(other.items);
}

/* Blocks allocated by one thread and freed by another, their addresses handed back to the
 * first (allocs.c's handoff): in the trace's order of time every free comes after its
 * allocation and before the next allocation at its address. A build that read the time
 * every 16th event on each thread, as one thread alone reads it, left 9940 of these 50000
 * frees with no allocation before them (bench/README, session 33). */
static void test_blocks_handed_between_threads_in_order(void **state)
{
	(void)state;
	const char *args[] = { "handoff", NULL };
	char trace[PATH_MAX];
	harness_run_one_trace("allocs", args, NULL, trace);
	struct harness_summary summary;
	summarize(trace, &summary);
	assert_size(&summary, 7101, 50000, 50000, 0);
	assert_int_equal(summary.unknown_frees, 0);
	harness_summary_free(&summary);
}

static void test_memalign_family_each_recorded(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "memalign", NULL };
	run_ok("allocs", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	assert_int_equal(summary.tag_counts[MP_REC_POSIX_MEMALIGN], 1);
	assert_int_equal(summary.tag_counts[MP_REC_ALIGNED_ALLOC], 1);
	assert_int_equal(summary.tag_counts[MP_REC_MEMALIGN], 1);
	assert_int_equal(summary.tag_counts[MP_REC_VALLOC], 1);
	assert_int_equal(summary.tag_counts[MP_REC_PVALLOC], 1);
	const uint64_t sizes[] = { 1001, 1024, 1003, 1004, 1005 };
	for (int i = 0; i < 5; i++)
		assert_size(&summary, sizes[i], 1, 1, 0);
	assert_size(&summary, 1010, 1, 1, 0); /* reallocarray(NULL, 10, 101) */
	harness_summary_free(&summary);
}

/* The offset where the file's chunks end, walking them by their headers from the file
 * header; 0 if a chunk header is missing (zeros where one should start). */
static uint64_t chunks_end(const char *path, uint64_t file_size)
{
	FILE *file = fopen(path, "rb");
	assert_non_null(file);
	struct mp_file_header header;
	assert_int_equal(fread(&header, sizeof(header), 1, file), 1);
	uint64_t at = header.header_size;
	while (at < file_size) {
		struct mp_chunk_header chunk;
		if (fseek(file, (long)at, SEEK_SET) != 0 || fread(&chunk, sizeof(chunk), 1, file) != 1 ||
		    chunk.magic != MP_CHUNK_MAGIC || chunk.capacity == 0) {
			at = 0;
			break;
		}
		at += chunk.capacity;
	}
	fclose(file);
	return at;
}

/* The leak thread reserves the file ahead of the chunks (trace_file.c); at the end what
 * no chunk took is cut off, even when the reserving and the end meet: the file ends
 * where its last chunk does. A third of such runs kept 2 MiB of zeros while the end's
 * trim could give up on the lock the reserving held. */
static void test_space_reserved_ahead_is_cut_off_at_the_end(void **state)
{
	(void)state;
	const char *args[] = { "churn", NULL };
	for (int i = 0; i < 6; i++) {
		char trace[PATH_MAX];
		struct stat st;
		harness_run_one_trace("allocs", args, NULL, trace);
		assert_int_equal(stat(trace, &st), 0);
		assert_true(st.st_size > 1024 * 1024); /* past the size reserving ahead starts at */
		assert_int_equal(chunks_end(trace, (uint64_t)st.st_size), (uint64_t)st.st_size);
	}
}

static void test_mmap_partial_munmap_and_mremap(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "mmap", NULL };
	run_ok("allocs", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	long page = sysconf(_SC_PAGESIZE);
	int at = -1;
	for (int i = 0; i < summary.kept_count; i++) {
		if (summary.kept[i].tag == MP_REC_MMAP && summary.kept[i].size == (uint64_t)(16 * page))
			at = i;
	}
	assert_true(at >= 0);
	const struct mp_event *map = kept(&summary, at);
	const struct mp_event *hole = kept(&summary, at + 1);
	const struct mp_event *remap = kept(&summary, at + 2);
	const struct mp_event *tail = kept(&summary, at + 3);
	assert_int_equal(hole->tag, MP_REC_MUNMAP);
	assert_int_equal(hole->addr, map->addr + 4 * (uint64_t)page);
	assert_int_equal(hole->size, 4 * page);
	assert_int_equal(remap->tag, MP_REC_MREMAP);
	assert_int_equal(remap->old_addr, map->addr);
	assert_int_equal(remap->old_size, 4 * page);
	assert_int_equal(remap->size, 8 * page);
	assert_int_equal(tail->tag, MP_REC_MUNMAP);
	assert_int_equal(tail->addr, map->addr + 8 * (uint64_t)page);
	assert_int_equal(tail->size, 8 * page);
	harness_summary_free(&summary);
}

static void test_failed_calls_recorded_as_failures(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	const char *args[] = { "failures", NULL };
	run_ok("allocs", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	int malloc_failed = 0, calloc_failed = 0, mmap_failed = 0;
	for (int i = 0; i < summary.kept_count; i++) {
		const struct mp_event *event = &summary.kept[i];
		if (event->tag != MP_REC_ALLOC_FAILED)
			continue;
		malloc_failed += event->failed_function == MP_REC_MALLOC &&
				 event->size == SIZE_MAX / 2;
		calloc_failed += event->failed_function == MP_REC_CALLOC &&
				 event->size == SIZE_MAX / 4;
		mmap_failed += event->failed_function == MP_REC_MMAP && event->size == 4096;
	}
	assert_int_equal(malloc_failed, 1);
	assert_int_equal(calloc_failed, 1);
	assert_int_equal(mmap_failed, 1);
	assert_size(&summary, SIZE_MAX / 2, 0, 0, 0);
	harness_summary_free(&summary);
}

static void test_cxx_new_and_delete_reach_malloc(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	run_ok("cxx_new", NULL, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 48, 1, 1, 0);
	assert_size(&summary, 144, 1, 0, 1);
	/* new char[1000] freed, new int[250] leaked: both 1000 bytes. */
	assert_size(&summary, 1000, 2, 1, 1);
	harness_summary_free(&summary);
}

static void test_dlclosed_library_frames_still_resolve(void **state)
{
	(void)state;
	struct harness_run run;
	struct harness_summary summary;
	char plugin[PATH_MAX];
	harness_prog_path("libplugin.so", plugin, sizeof(plugin));
	const char *args[] = { plugin, NULL };
	run_ok("dl", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	summarize(run.traces[0], &summary);
	assert_size(&summary, 7777, 3, 0, 3);
	struct harness_size entry = harness_size(&summary, 7777);
	uint32_t frame_count, generation;
	const uint64_t *frames = mp_trace_stack(summary.trace, entry.first_stack, &frame_count,
						&generation);
	assert_non_null(frames);
	assert_true(frame_count >= 2);
	const struct mp_module *module = mp_trace_module_at(summary.trace, generation, frames[0]);
	assert_non_null(module);
	assert_string_equal(module->path, plugin);
	const struct mp_module *caller = mp_trace_module_at(summary.trace, generation, frames[1]);
	assert_non_null(caller);
	assert_non_null(strstr(caller->path, "/tests/progs/dl"));
	harness_summary_free(&summary);
}

static void check_spawned(const char *how)
{
	struct harness_run run;
	char child[PATH_MAX];
	harness_prog_path("lifecycle", child, sizeof(child));
	const char *args[] = { how, child, NULL };
	run_ok("spawn", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	/* One trace for the parent, one for the program the child became; none for the
	 * moment in between. */
	assert_int_equal(run.trace_count, 2);
	struct harness_summary a, b;
	summarize(run.traces[0], &a);
	summarize(run.traces[1], &b);
	struct harness_summary *parent = harness_size(&a, 12121).allocations ? &a : &b;
	struct harness_summary *spawned = parent == &a ? &b : &a;
	assert_size(parent, 12121, 2, 0, 2);
	assert_size(spawned, 1234, 10, 0, 10);
	assert_int_equal(spawned->header->end_state, MP_END_EXIT_NOW);
	assert_int_equal(spawned->header->ppid, parent->header->pid);
	harness_summary_free(&a);
	harness_summary_free(&b);
}

static void test_posix_spawn_child_traced_on_its_own(void **state)
{
	(void)state;
	check_spawned("posix_spawn");
}

static void test_vfork_exec_child_traced_on_its_own(void **state)
{
	(void)state;
	check_spawned("vfork");
}

/* With one fixed MEMPROF_OUTPUT for a program and the child it spawns, neither truncates
 * the other's trace while it is being written: the second to start takes NAME.1.trace. */
static void test_fixed_output_path_shared_by_parent_and_child(void **state)
{
	(void)state;
	struct harness_run run;
	char child[PATH_MAX];
	harness_prog_path("lifecycle", child, sizeof(child));
	const char *args[] = { "posix_spawn", child, NULL };
	const char *env[] = { "MEMPROF_OUTPUT=fixed.trace", NULL };
	assert_int_equal(harness_run("spawn", args, env, &run), 0);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 2);
	assert_non_null(strstr(run.traces[0], "/fixed.1.trace"));
	assert_non_null(strstr(run.traces[1], "/fixed.trace"));
	struct harness_summary a, b;
	summarize(run.traces[0], &a);
	summarize(run.traces[1], &b);
	/* Each trace whole: the parent's 2 x 12121, the child's 10 x 1234, and both ended. */
	struct harness_summary *parent = harness_size(&a, 12121).allocations ? &a : &b;
	struct harness_summary *spawned = parent == &a ? &b : &a;
	assert_size(parent, 12121, 2, 0, 2);
	assert_size(spawned, 1234, 10, 0, 10);
	assert_int_equal(parent->header->end_state, MP_END_EXIT);
	assert_int_equal(spawned->header->end_state, MP_END_EXIT_NOW);
	harness_summary_free(&a);
	harness_summary_free(&b);
}

static void test_fork_while_threads_intern_stacks_never_deadlocks(void **state)
{
	(void)state;
	struct harness_run run;
	const char *args[] = { "forkstorm", NULL };
	/* A deadlock in a child would hang here; run_all.sh's caller sees the timeout. */
	run_ok("spawn", args, &run);
	assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
	assert_int_equal(run.trace_count, 21);
	int children = 0;
	for (int i = 0; i < run.trace_count; i++) {
		struct harness_summary summary;
		summarize(run.traces[i], &summary);
		if (harness_size(&summary, 13131).allocations) {
			assert_size(&summary, 13131, 3, 0, 3);
			assert_int_equal(summary.header->end_state, MP_END_EXIT);
			children++;
		}
		harness_summary_free(&summary);
	}
	assert_int_equal(children, 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eight_threads_each_allocation_in_its_thread),
		cmocka_unit_test(test_fork_child_gets_its_own_trace),
		cmocka_unit_test(test_exec_starts_a_new_trace),
		cmocka_unit_test(test_exec_l_forms_and_fexecve_end_the_trace_as_exec),
		cmocka_unit_test(test_sigkill_keeps_every_committed_event),
		cmocka_unit_test(test_call_from_the_end_of_generated_code),
		cmocka_unit_test(test_abort_keeps_every_event),
		cmocka_unit_test(test_sigsegv_keeps_every_event),
		cmocka_unit_test(test_exit_now_is_recorded_with_status),
		cmocka_unit_test(test_preinit_atexit_and_destructor_allocations_recorded),
		cmocka_unit_test(test_signal_handler_allocations_recorded),
		cmocka_unit_test(test_program_closing_and_reusing_descriptors),
		cmocka_unit_test(test_output_and_exit_status_unchanged),
		cmocka_unit_test(test_realloc_null_zero_shrink_grow),
		cmocka_unit_test(test_event_times_sparse_alone_exact_after_pause_and_with_threads),
		cmocka_unit_test(test_blocks_handed_between_threads_in_order),
		cmocka_unit_test(test_memalign_family_each_recorded),
		cmocka_unit_test(test_mmap_partial_munmap_and_mremap),
		cmocka_unit_test(test_failed_calls_recorded_as_failures),
		cmocka_unit_test(test_cxx_new_and_delete_reach_malloc),
		cmocka_unit_test(test_dlclosed_library_frames_still_resolve),
		cmocka_unit_test(test_posix_spawn_child_traced_on_its_own),
		cmocka_unit_test(test_vfork_exec_child_traced_on_its_own),
		cmocka_unit_test(test_fork_while_threads_intern_stacks_never_deadlocks),
		cmocka_unit_test(test_fixed_output_path_shared_by_parent_and_child),
		cmocka_unit_test(test_space_reserved_ahead_is_cut_off_at_the_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
