/* trace_family.c: reading trace headers alone, and linking traces into process trees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_family.h"

void mp_trace_peek_header(const struct mp_file_header *header, const char *exe,
			  struct mp_trace_peek *peek)
{
	memset(peek, 0, sizeof(*peek));
	peek->pid = header->pid;
	peek->ppid = header->ppid;
	peek->end_state = header->end_state;
	peek->end_status = header->end_status;
	peek->start_ns = header->start_monotonic_ns;
	peek->end_ns = header->end_state != MP_END_RUNNING ? header->end_monotonic_ns : 0;
	snprintf(peek->exe, sizeof(peek->exe), "%s", exe ? exe : "");
}

int mp_trace_peek(const char *path, struct mp_trace_peek *peek)
{
	struct mp_file_header header;
	char exe[sizeof(peek->exe)] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	ssize_t got = pread(fd, &header, sizeof(header), 0);
	if (got < 0)
		rc = -errno;
	else if ((size_t)got < sizeof(header) ||
		 memcmp(header.magic, MP_TRACE_MAGIC, MP_TRACE_MAGIC_LEN) ||
		 header.version < MP_TRACE_VERSION_OLDEST || header.version > MP_TRACE_VERSION)
		rc = -EINVAL;
	if (rc == 0 && header.exe_len) {
		size_t len = header.exe_len < sizeof(exe) - 1 ? header.exe_len : sizeof(exe) - 1;
		got = pread(fd, exe, len, header.exe_offset);
		exe[got > 0 ? (size_t)got : 0] = '\0';
	}
	close(fd);
	if (rc == 0)
		mp_trace_peek_header(&header, exe, peek);
	return rc;
}

/* The image that replaced member i by exec: the same pid, starting first after i ended. */
static int family_exec_next(const struct mp_family_member *members, size_t count, size_t i)
{
	const struct mp_trace_peek *old = &members[i].peek;
	int best = -1;

	if (old->end_state != MP_END_EXEC)
		return -1;
	for (size_t j = 0; j < count; j++) {
		const struct mp_trace_peek *new = &members[j].peek;
		if (j == i || new->pid != old->pid || new->start_ns < old->end_ns ||
		    members[j].exec_of >= 0)
			continue;
		if (best < 0 || new->start_ns < members[best].peek.start_ns)
			best = (int)j;
	}
	return best;
}

/* The image of the parent process that was running when member i started: the latest
 * one of pid == i's ppid that started before it. */
static int family_parent(const struct mp_family_member *members, size_t count, size_t i)
{
	const struct mp_trace_peek *child = &members[i].peek;
	int best = -1;

	for (size_t j = 0; j < count; j++) {
		const struct mp_trace_peek *parent = &members[j].peek;
		if (j == i || parent->pid != child->ppid || parent->start_ns > child->start_ns)
			continue;
		if (best < 0 || parent->start_ns > members[best].peek.start_ns)
			best = (int)j;
	}
	return best;
}

void mp_family_link(struct mp_family_member *members, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		members[i].parent = members[i].exec_of = members[i].exec_next = -1;
		members[i].depth = 0;
	}
	for (size_t i = 0; i < count; i++) {
		int next = family_exec_next(members, count, i);
		members[i].exec_next = next;
		if (next >= 0)
			members[next].exec_of = (int)i;
	}
	for (size_t i = 0; i < count; i++)
		if (members[i].exec_of < 0)
			members[i].parent = family_parent(members, count, i);
}

struct family_walk {
	struct mp_family_member *members;
	size_t count, emitted;
	int *order;
	char *done;
};

/* The first started member not yet listed whose parent is `parent` (-1: a root) and that
 * no exec started; -1 if none. */
static int family_first(const struct family_walk *walk, int parent)
{
	int best = -1;
	for (size_t j = 0; j < walk->count; j++) {
		const struct mp_family_member *m = &walk->members[j];
		if (walk->done[j] || m->exec_of >= 0 || m->parent != parent)
			continue;
		if (best < 0 || m->peek.start_ns < walk->members[best].peek.start_ns)
			best = (int)j;
	}
	return best;
}

/* Lists member i, its children, then its exec'd successor (iteratively along the exec
 * chain, recursively into children: process trees are shallow). */
static void family_visit(struct family_walk *walk, int i, int depth)
{
	while (i >= 0 && !walk->done[i]) {
		walk->done[i] = 1;
		walk->members[i].depth = depth;
		walk->order[walk->emitted++] = i;
		for (int child; (child = family_first(walk, i)) >= 0;)
			family_visit(walk, child, depth + 1);
		i = walk->members[i].exec_next;
	}
}

int mp_family_order(struct mp_family_member *members, size_t count, int *order)
{
	struct family_walk walk = { members, count, 0, order, calloc(count + 1, 1) };
	int roots = 0;

	if (!walk.done)
		return -ENOMEM;
	for (int root; (root = family_first(&walk, -1)) >= 0; roots++)
		family_visit(&walk, root, 0);
	/* Whatever a cycle of links (pid reuse) kept out is listed as a root of its own. */
	for (size_t i = 0; i < count; i++) {
		if (!walk.done[i]) {
			walk.members[i].parent = walk.members[i].exec_of = -1;
			family_visit(&walk, (int)i, 0);
			roots++;
		}
	}
	free(walk.done);
	return roots;
}

/* dir/name into out, or name alone when the trace was named without a directory. */
static int family_join(const char *dir, const char *name, char *out, size_t len)
{
	size_t dir_len = dir ? strlen(dir) : 0;
	int written = dir ? snprintf(out, len, "%s%s%s", dir, dir_len && dir[dir_len - 1] == '/' ? "" : "/",
				     name)
			  : snprintf(out, len, "%s", name);
	return written < 0 || (size_t)written >= len ? -ENAMETOOLONG : 0;
}

int mp_trace_exec_successor(const char *path, const struct mp_trace_peek *peek, char *out,
			    size_t len)
{
	char dir[PATH_MAX], candidate[PATH_MAX + 256];
	const char *slash = strrchr(path, '/');
	uint64_t best_start = UINT64_MAX;
	struct stat self, other;
	int found = -ENOENT;

	if (peek->end_state != MP_END_EXEC || stat(path, &self) != 0)
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (slash && slash == path)
		snprintf(dir, sizeof(dir), "/");
	DIR *listing = opendir(dir);
	if (!listing)
		return -ENOENT;
	for (struct dirent *entry; (entry = readdir(listing));) {
		struct mp_trace_peek next;
		if (entry->d_name[0] == '.' ||
		    family_join(slash ? dir : NULL, entry->d_name, candidate, sizeof(candidate)) ||
		    stat(candidate, &other) != 0 || !S_ISREG(other.st_mode) ||
		    (other.st_ino == self.st_ino && other.st_dev == self.st_dev) ||
		    mp_trace_peek(candidate, &next) != 0)
			continue;
		if (next.pid != peek->pid || next.start_ns < peek->end_ns || next.start_ns >= best_start)
			continue;
		best_start = next.start_ns;
		found = family_join(slash ? dir : NULL, entry->d_name, out, len);
	}
	closedir(listing);
	return found;
}
