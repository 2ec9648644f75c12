/* run.c: `memprof run`: preload libmemprof.so into a program, wait, summarize its traces.
 *
 * How the traces are found: run sets MEMPROF_QUIET=1 (the library then stays silent) and
 * an absolute MEMPROF_OUTPUT pattern (the --output one, else the environment's
 * MEMPROF_OUTPUT, else ./memprof.%e.%p.trace), lists
 * the files matching the pattern with %p and %e as wildcards before starting the program,
 * and afterwards reports every match that is new or was rewritten. An absolute pattern
 * keeps traces of children that chdir() or exec in the same place.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "run_push.h"

#define RUN_DEFAULT_OUTPUT "memprof.%e.%p.trace"

/* Finds `name` like execvp: as is if it has a '/', else in each PATH directory.
 * Returns 0 with the path in buf, or -ENOENT / -EACCES. */
static int run_resolve(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	int err = -ENOENT;

	if (strchr(name, '/')) {
		snprintf(buf, len, "%s", name);
		return access(buf, F_OK) ? -errno : 0;
	}
	if (!path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t dir_len = strcspn(path, ":");
		snprintf(buf, len, "%.*s%s%s", (int)dir_len, path, dir_len ? "/" : "", name);
		if (access(buf, X_OK) == 0)
			return 0;
		if (errno == EACCES)
			err = -EACCES;
		path += dir_len + (path[dir_len] == ':');
	}
	return err;
}

/* 1 if the ELF at `path` asks for a program interpreter (ld.so), which is what honours
 * LD_PRELOAD; 0 if it is a static (or static-pie) ELF; -1 if it is not an ELF we can read
 * (a script, say: its interpreter is what runs, so let exec decide). */
static int run_is_dynamic(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int dynamic = -1;
	size_t count = 0;
	Elf *elf;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF && elf_getphdrnum(elf, &count) == 0) {
		dynamic = 0;
		for (size_t i = 0; i < count; i++) {
			GElf_Phdr phdr;
			if (gelf_getphdr(elf, (int)i, &phdr) && phdr.p_type == PT_INTERP)
				dynamic = 1;
		}
	}
	elf_end(elf);
	close(fd);
	return dynamic;
}

/* The library next to this executable, or in ../lib/memprof/ relative to it (the layout
 * `make install` creates). Returns 0 with the path in buf, or -ENOENT. */
static int run_find_library(char *buf, size_t len)
{
	static const char *const candidates[] = { "libmemprof.so", "../lib/memprof/libmemprof.so" };
	char self[PATH_MAX];
	ssize_t self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (self_len <= 0)
		return -ENOENT;
	self[self_len] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		char joined[PATH_MAX + 64];
		snprintf(joined, sizeof(joined), "%s/%s", self, candidates[i]);
		if (access(joined, R_OK) == 0 && realpath(joined, buf) && strlen(buf) < len)
			return 0;
	}
	snprintf(buf, len, "%s", self);
	return -ENOENT;
}

/* The absolute MEMPROF_OUTPUT pattern: --output's, else the one the environment already
 * names (as the library alone would honour it; `run` must not quietly write elsewhere),
 * else the default. Returns 0 or -ENAMETOOLONG. */
static int run_output_pattern(const char *output, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	int written;

	if (!output) {
		const char *env = getenv("MEMPROF_OUTPUT");
		output = env && env[0] ? env : RUN_DEFAULT_OUTPUT;
	}
	if (output[0] == '/')
		written = snprintf(buf, len, "%s", output);
	else if (getcwd(cwd, sizeof(cwd)))
		written = snprintf(buf, len, "%s/%s", cwd, output);
	else
		return -errno;
	return written < 0 || (size_t)written >= len ? -ENAMETOOLONG : 0;
}

/* The glob (with GLOB_BRACE) matching every file the pattern can produce: %p and %e become
 * '*', %% a '%', glob's own metacharacters are escaped, and the names the library takes
 * when the first is still wanted, NAME.1.trace, NAME.2.trace (NAME.1 ... without the
 * .trace ending), are matched too. */
static void run_pattern_glob(const char *pattern, char *buf, size_t len)
{
	static const char numbered[] = "{,.[0-9]*}";
	size_t out = 0, cut = strlen(pattern);

	if (cut > 6 && strcmp(pattern + cut - 6, ".trace") == 0)
		cut -= 6;
	for (const char *p = pattern; out + 3 + sizeof(numbered) < len; p++) {
		if (p == pattern + cut) {
			memcpy(buf + out, numbered, sizeof(numbered) - 1);
			out += sizeof(numbered) - 1;
		}
		if (!*p)
			break;
		if (p[0] == '%' && (p[1] == 'p' || p[1] == 'e')) {
			buf[out++] = '*';
			p++;
			continue;
		}
		if (p[0] == '%' && p[1] == '%')
			p++;
		if (strchr("*?[]{},\\", *p))
			buf[out++] = '\\';
		buf[out++] = *p;
	}
	buf[out] = '\0';
}

struct run_seen {
	char **paths;
	struct stat *stats;
	size_t count;
};

static void run_snapshot(const char *glob_pattern, struct run_seen *seen)
{
	glob_t found;

	memset(seen, 0, sizeof(*seen));
	if (glob(glob_pattern, GLOB_NOSORT | GLOB_BRACE, NULL, &found) != 0)
		return;
	seen->paths = calloc(found.gl_pathc, sizeof(*seen->paths));
	seen->stats = calloc(found.gl_pathc, sizeof(*seen->stats));
	for (size_t i = 0; seen->paths && seen->stats && i < found.gl_pathc; i++) {
		if (stat(found.gl_pathv[i], &seen->stats[seen->count]) == 0)
			seen->paths[seen->count++] = strdup(found.gl_pathv[i]);
	}
	globfree(&found);
}

static void run_seen_free(struct run_seen *seen)
{
	for (size_t i = 0; i < seen->count; i++)
		free(seen->paths[i]);
	free(seen->paths);
	free(seen->stats);
}

/* 1 if `path` is not in the snapshot or was replaced or rewritten since. */
static int run_is_new(const struct run_seen *seen, const char *path)
{
	struct stat now;

	if (stat(path, &now) != 0 || !S_ISREG(now.st_mode))
		return 0;
	for (size_t i = 0; i < seen->count; i++) {
		const struct stat *old = &seen->stats[i];
		if (seen->paths[i] && strcmp(seen->paths[i], path) == 0)
			return old->st_ino != now.st_ino || old->st_size != now.st_size ||
			       old->st_mtim.tv_sec != now.st_mtim.tv_sec ||
			       old->st_mtim.tv_nsec != now.st_mtim.tv_nsec;
	}
	return 1;
}

/* run_is_new for the push loop (run_push.h). */
static int run_push_filter(const void *seen, const char *path)
{
	return run_is_new(seen, path);
}

/* 1 if path is among the first `count` of paths (two brace alternatives can match it). */
static int run_listed(char **paths, size_t count, const char *path)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(paths[i], path) == 0)
			return 1;
	return 0;
}

/* Reports every trace the run produced: the first name, then the numbered ones. */
static void run_report_traces(const char *glob_pattern, const struct run_seen *before,
			      pid_t child, const struct mp_run_options *opts)
{
	glob_t found;
	char **fresh = NULL;
	size_t count = 0;
	int globbed = glob(glob_pattern, GLOB_BRACE, NULL, &found) == 0;

	if (globbed) {
		fresh = calloc(found.gl_pathc + 1, sizeof(*fresh));
		for (size_t i = 0; fresh && i < found.gl_pathc; i++)
			if (!run_listed(found.gl_pathv, i, found.gl_pathv[i]) &&
			    run_is_new(before, found.gl_pathv[i]))
				fresh[count++] = found.gl_pathv[i];
	}
	if (count)
		mp_run_summary(stderr, fresh, count, child, opts);
	else
		fprintf(stderr, "memprof: no trace was written matching '%s'\n", glob_pattern);
	free(fresh);
	if (globbed)
		globfree(&found);
}

/* Child side: environment, then exec; never returns. */
static void run_child(const char *path, char *const argv[], const char *library,
		      const char *pattern, int exec_failed_fd)
{
	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(library) + (old ? strlen(old) : 0) + 2;
	char *preload = malloc(len);

	if (!preload)
		_exit(126);
	/* Ours goes first so its malloc wins; an allocator the user preloads (jemalloc, ...)
	 * still serves the calls, reached through dlsym(RTLD_NEXT). */
	snprintf(preload, len, "%s%s%s", library, old && *old ? ":" : "", old ? old : "");
	if (setenv("LD_PRELOAD", preload, 1) || setenv("MEMPROF_OUTPUT", pattern, 1) ||
	    setenv("MEMPROF_QUIET", "1", 1))
		_exit(126);
	execv(path, argv);
	int err = errno;
	fprintf(stderr, "memprof: cannot run '%s': %s\n", argv[0], strerror(err));
	if (write(exec_failed_fd, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(err == ENOENT ? 127 : 126);
}

/* Whether the child's exec failed: the pipe's write end is close-on-exec, so a read
 * returns end of file once the program runs, and the errno if the exec failed. */
static int run_exec_failed(int read_fd)
{
	int err = 0;
	ssize_t got;
	do
		got = read(read_fd, &err, sizeof(err));
	while (got < 0 && errno == EINTR);
	close(read_fd);
	return got == (ssize_t)sizeof(err);
}

/* Waits for the child while memprof ignores the terminal's ^C and ^\ (they reach the
 * program, which decides), like time(1). Returns memprof's exit code for its status. */
static int run_wait(pid_t child, const char *name)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_int, old_quit;
	int status = 0;
	pid_t got;

	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	do
		got = waitpid(child, &status, 0);
	while (got < 0 && errno == EINTR);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (got < 0)
		return 126;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "memprof: '%s' was killed by signal %d (%s)\n", name,
			WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

/* Checks that argv[0] exists and is dynamically linked; returns 0 or an exit code. */
static int run_check_program(const char *name, char *path, size_t len)
{
	int err = run_resolve(name, path, len);

	if (err) {
		fprintf(stderr, "memprof: cannot run '%s': %s\n", name, strerror(-err));
		return err == -ENOENT ? 127 : 126;
	}
	if (run_is_dynamic(path) == 0) {
		fprintf(stderr, "memprof: cannot profile '%s': it is statically linked (no ELF "
				"PT_INTERP), so LD_PRELOAD cannot load libmemprof.so into it\n", path);
		return 2;
	}
	return 0;
}

int mp_run(char *const argv[], const struct mp_run_options *opts)
{
	const char *output = opts->output;
	char path[PATH_MAX], library[PATH_MAX], pattern[PATH_MAX], glob_pattern[2 * PATH_MAX];
	struct run_seen before;
	int code = run_check_program(argv[0], path, sizeof(path));
	pid_t child;

	if (code)
		return code;
	if (run_find_library(library, sizeof(library))) {
		fprintf(stderr, "memprof: cannot find libmemprof.so in '%s' or '%s/../lib/memprof'\n",
			library, library);
		return 2;
	}
	if (run_output_pattern(output, pattern, sizeof(pattern))) {
		fprintf(stderr, "memprof: bad output pattern '%s'\n", output ? output : "");
		return 2;
	}
	run_pattern_glob(pattern, glob_pattern, sizeof(glob_pattern));
	run_snapshot(glob_pattern, &before);
	fflush(NULL);
	int exec_pipe[2];
	if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
		fprintf(stderr, "memprof: cannot make a pipe: %s\n", strerror(errno));
		run_seen_free(&before);
		return 126;
	}
	child = fork();
	if (child < 0) {
		fprintf(stderr, "memprof: cannot fork: %s\n", strerror(errno));
		close(exec_pipe[0]);
		close(exec_pipe[1]);
		run_seen_free(&before);
		return 126;
	}
	if (child == 0) {
		close(exec_pipe[0]);
		run_child(path, argv, library, pattern, exec_pipe[1]);
	}
	close(exec_pipe[1]);
	if (run_exec_failed(exec_pipe[0])) {
		/* It said why; no program ran, so no trace is looked for. */
		code = run_wait(child, argv[0]);
		run_seen_free(&before);
		return code;
	}
	if (opts->push)
		mp_run_push_watch(opts->push, child, argv[0], glob_pattern, run_push_filter,
				  &before);
	code = run_wait(child, argv[0]);
	run_report_traces(glob_pattern, &before, child, opts);
	run_seen_free(&before);
	return code;
}
