/* harness.c: running test programs under libmemprof.so and summarizing their traces. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SIZE_SLOTS 4096u
#define LIVE_SLOTS (1u << 21)

struct live_block {
	uint64_t addr; /* 0: empty; deleted slots keep addr 1 */
	uint64_t size;
};

const char *harness_build_dir(void)
{
	const char *dir = getenv("MEMPROF_BUILD");
	return dir ? dir : "build";
}

void harness_prog_path(const char *name, char *out, size_t len)
{
	const char *build = harness_build_dir();
	char cwd[PATH_MAX];
	int written = build[0] == '/'
			      ? snprintf(out, len, "%s/tests/progs/%s", build, name)
			      : snprintf(out, len, "%s/%s/tests/progs/%s", getcwd(cwd, sizeof(cwd)),
					 build, name);
	assert_true(written > 0 && (size_t)written < len);
}

int harness_memprof(const char *args, char **out)
{
	char command[8192];
	size_t len = 0, cap = 1 << 20;
	assert_true(snprintf(command, sizeof(command), "'%s/memprof' %s", harness_build_dir(),
			     args) < (int)sizeof(command));
	FILE *pipe = popen(command, "r");
	assert_non_null(pipe);
	*out = malloc(cap);
	assert_non_null(*out);
	while (!feof(pipe) && !ferror(pipe) && len + 1 < cap)
		len += fread(*out + len, 1, cap - 1 - len, pipe);
	(*out)[len] = '\0';
	int status = pclose(pipe);
	if (!WIFEXITED(status))
		fail_msg("memprof %s: status %#x", args, status);
	return WEXITSTATUS(status);
}

json_t *harness_memprof_json(const char *args, int expected_code)
{
	json_error_t error;
	char *out;
	int code = harness_memprof(args, &out);
	if (code != expected_code)
		fail_msg("memprof %s: exit code %d, expected %d; stdout: %.2000s", args, code,
			 expected_code, out);
	json_t *root = json_loads(out, 0, &error);
	if (!root)
		fail_msg("memprof %s: not JSON (%s): %.2000s", args, error.text, out);
	free(out);
	return root;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void collect_traces(struct harness_run *run)
{
	DIR *dir = opendir(run->dir);
	struct dirent *entry;
	run->trace_count = 0;
	while (dir && (entry = readdir(dir)) && run->trace_count < HARNESS_MAX_TRACES) {
		size_t len = strlen(entry->d_name);
		if (len > 6 && strcmp(entry->d_name + len - 6, ".trace") == 0)
			if (snprintf(run->traces[run->trace_count], PATH_MAX, "%s/%s", run->dir,
				     entry->d_name) < PATH_MAX)
				run->trace_count++;
	}
	if (dir)
		closedir(dir);
	qsort(run->traces, (size_t)run->trace_count, PATH_MAX, compare_names);
}

static void read_all(int fd, char *out, size_t cap)
{
	size_t have = 0;
	ssize_t got;
	while (have + 1 < cap && (got = read(fd, out + have, cap - 1 - have)) > 0)
		have += (size_t)got;
	out[have] = '\0';
	close(fd);
}

int harness_run(const char *prog, const char *const *args, const char *const *extra_env,
		struct harness_run *run)
{
	static int serial;
	char path[PATH_MAX], preload[PATH_MAX + 16], output[PATH_MAX + 32];
	memset(run, 0, sizeof(*run));
	snprintf(run->dir, sizeof(run->dir), "%s/run-%d-%s-XXXXXX", getcwd(path, sizeof(path)),
		 ++serial, prog);
	if (!mkdtemp(run->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/tests/progs/%s", harness_build_dir(), prog);
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		char joined[PATH_MAX * 2];
		snprintf(joined, sizeof(joined), "%s/%s", getcwd(cwd, sizeof(cwd)), path);
		if (snprintf(path, sizeof(path), "%s", joined) >= (int)sizeof(path))
			return -1;
	}
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s/libmemprof.so", harness_build_dir());
	snprintf(output, sizeof(output), "MEMPROF_OUTPUT=%s/%%e.%%p.trace", run->dir);
	int out_pipe[2], err_pipe[2];
	if (pipe(out_pipe) < 0 || pipe(err_pipe) < 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		const char *argv[32] = { path };
		int argc = 1;
		for (; args && args[argc - 1] && argc < 31; argc++)
			argv[argc] = args[argc - 1];
		argv[argc] = NULL;
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		close(out_pipe[0]);
		close(err_pipe[0]);
		if (chdir(run->dir) < 0)
			_exit(126);
		putenv(preload);
		putenv(output);
		for (; extra_env && *extra_env; extra_env++)
			putenv((char *)*extra_env);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	read_all(out_pipe[0], run->stdout_text, sizeof(run->stdout_text));
	read_all(err_pipe[0], run->stderr_text, sizeof(run->stderr_text));
	if (waitpid(child, &run->status, 0) < 0)
		return -1;
	collect_traces(run);
	return 0;
}

static struct harness_size *size_slot(struct harness_size *sizes, uint64_t size)
{
	uint64_t index = (size * 0x9e3779b97f4a7c15ull) >> 52;
	for (;; index = (index + 1) & (SIZE_SLOTS - 1)) {
		if (sizes[index].size == size || sizes[index].allocations == 0) {
			sizes[index].size = size;
			return &sizes[index];
		}
	}
}

static struct live_block *live_slot(struct live_block *live, uint64_t addr, int insert)
{
	uint64_t index = (addr * 0x9e3779b97f4a7c15ull) >> 43;
	struct live_block *tomb = NULL;
	for (;; index = (index + 1) & (LIVE_SLOTS - 1)) {
		if (live[index].addr == addr)
			return &live[index];
		if (live[index].addr == 1 && !tomb)
			tomb = &live[index];
		if (live[index].addr == 0)
			return insert ? (tomb ? tomb : &live[index]) : NULL;
	}
}

static void note_alloc(struct harness_summary *summary, struct live_block *live,
		       const struct mp_event *event)
{
	struct harness_size *entry = size_slot(summary->sizes, event->size);
	if (entry->allocations == 0) {
		entry->thread_serial = event->thread_serial;
		entry->first_stack = event->stack_id;
	} else if (entry->thread_serial != event->thread_serial) {
		entry->several_threads = 1;
	}
	entry->allocations++;
	struct live_block *slot = live_slot(live, event->addr, 1);
	slot->addr = event->addr;
	slot->size = event->size;
}

static void note_release(struct harness_summary *summary, struct live_block *live, uint64_t addr)
{
	struct live_block *slot = live_slot(live, addr, 0);
	if (!slot) {
		summary->unknown_frees++;
		return;
	}
	size_slot(summary->sizes, slot->size)->frees++;
	slot->addr = 1;
}

static void keep_event(struct harness_summary *summary, const struct mp_event *event)
{
	if (summary->kept_count % 64 == 0)
		summary->kept = realloc(summary->kept,
					sizeof(*event) * (size_t)(summary->kept_count + 64));
	summary->kept[summary->kept_count++] = *event;
}

static void apply(struct harness_summary *summary, struct live_block *live,
		  const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_MALLOC: case MP_REC_CALLOC: case MP_REC_POSIX_MEMALIGN:
	case MP_REC_ALIGNED_ALLOC: case MP_REC_MEMALIGN: case MP_REC_VALLOC: case MP_REC_PVALLOC:
		note_alloc(summary, live, event);
		break;
	case MP_REC_FREE:
		note_release(summary, live, event->addr);
		break;
	case MP_REC_REALLOC:
		keep_event(summary, event);
		if (event->old_addr)
			note_release(summary, live, event->old_addr);
		if (event->addr)
			note_alloc(summary, live, event);
		break;
	case MP_REC_MMAP: case MP_REC_MUNMAP: case MP_REC_MREMAP: case MP_REC_BRK:
	case MP_REC_ALLOC_FAILED:
		keep_event(summary, event);
		break;
	default:
		break;
	}
}

static void count_live(struct harness_summary *summary, const struct live_block *live)
{
	for (uint64_t i = 0; i < LIVE_SLOTS; i++) {
		if (live[i].addr > 1)
			size_slot(summary->sizes, live[i].size)->live++;
	}
}

void harness_run_one_trace(const char *prog, const char *const *args,
			   const char *const *extra_env, char trace[PATH_MAX])
{
	struct harness_run run;
	assert_int_equal(harness_run(prog, args, extra_env, &run), 0);
	if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0)
		fail_msg("%s: status %#x; stderr: %s", prog, run.status, run.stderr_text);
	assert_int_equal(run.trace_count, 1);
	snprintf(trace, PATH_MAX, "%s", run.traces[0]);
}

int harness_summarize(const char *path, struct harness_summary *summary)
{
	char err[512];
	memset(summary, 0, sizeof(*summary));
	if (mp_trace_open(path, &summary->trace, err, sizeof(err)) < 0) {
		fprintf(stderr, "harness: %s: %s\n", path, err);
		return -1;
	}
	summary->header = mp_trace_header(summary->trace);
	summary->sizes = calloc(SIZE_SLOTS, sizeof(*summary->sizes));
	struct live_block *live = calloc(LIVE_SLOTS, sizeof(*live));
	struct mp_event event;
	int result;
	while ((result = mp_trace_next(summary->trace, &event, err, sizeof(err))) == 1) {
		summary->events++;
		if (event.tag < MP_REC_EXTENDED)
			summary->tag_counts[event.tag]++;
		apply(summary, live, &event);
	}
	count_live(summary, live);
	free(live);
	struct mp_trace_stats stats;
	mp_trace_stats(summary->trace, &stats);
	summary->threads = stats.threads;
	if (result < 0) {
		fprintf(stderr, "harness: %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

void harness_summary_free(struct harness_summary *summary)
{
	if (summary->trace)
		mp_trace_close(summary->trace);
	free(summary->sizes);
	free(summary->kept);
	memset(summary, 0, sizeof(*summary));
}

struct harness_size harness_size(const struct harness_summary *summary, uint64_t size)
{
	uint64_t index = (size * 0x9e3779b97f4a7c15ull) >> 52;
	for (;; index = (index + 1) & (SIZE_SLOTS - 1)) {
		if (summary->sizes[index].size == size && summary->sizes[index].allocations)
			return summary->sizes[index];
		if (summary->sizes[index].allocations == 0) {
			struct harness_size none = { .size = size };
			return none;
		}
	}
}
