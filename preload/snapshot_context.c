/* snapshot_context.c: the process context of a memory snapshot: /proc/self/status and
 * /proc/meminfo figures, the cgroup's usage and limit, the OOM score, the overcommit and
 * transparent huge page modes (SNAPSHOT record keys, trace_format.h). The files are read
 * with sys.c into the caller's buffer and parsed by proc_text.c; a file that cannot be
 * read leaves its keys out.
 */
#include <string.h>

#include "memprof/varint.h"
#include "proc_text.h"
#include "snapshot.h"

static void context_put(struct mp_snapshot_context *list, enum mp_snapshot_key key,
			uint64_t value)
{
	if (list->count < MP_SNAPSHOT_CONTEXT_MAX) {
		list->keys[list->count] = key;
		list->values[list->count++] = value;
	}
}

/* A file holding one number; 1 if it does. */
static int context_number(const char *path, char *buf, size_t cap, int64_t *value)
{
	return mp_sys_read_text(path, buf, cap) && mp_proc_number(buf, value);
}

static void context_status(struct mp_snapshot_context *list, char *buf, size_t cap)
{
	static const struct { const char *name; enum mp_snapshot_key key; } fields[] = {
		{ "VmPeak", MP_SNAPK_VM_PEAK }, { "VmSize", MP_SNAPK_VM_SIZE },
		{ "VmHWM", MP_SNAPK_VM_HWM }, { "VmRSS", MP_SNAPK_VM_RSS },
		{ "RssAnon", MP_SNAPK_RSS_ANON }, { "RssFile", MP_SNAPK_RSS_FILE },
		{ "RssShmem", MP_SNAPK_RSS_SHMEM }, { "VmSwap", MP_SNAPK_VM_SWAP },
		{ "Threads", MP_SNAPK_THREADS },
	};
	static const struct { const char *name; enum mp_snapshot_key key; } meminfo[] = {
		{ "CommitLimit", MP_SNAPK_COMMIT_LIMIT }, { "Committed_AS", MP_SNAPK_COMMITTED_AS },
		{ "MemTotal", MP_SNAPK_MEM_TOTAL }, { "MemAvailable", MP_SNAPK_MEM_AVAILABLE },
	};
	uint64_t value;
	/* thread-self first: once the main thread has called pthread_exit, /proc/self is a
	 * zombie whose status has no memory lines. */
	if (mp_sys_read_text("/proc/thread-self/status", buf, cap) ||
	    mp_sys_read_text("/proc/self/status", buf, cap))
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (mp_proc_field(buf, fields[i].name, &value))
				context_put(list, fields[i].key, value);
	if (mp_sys_read_text("/proc/meminfo", buf, cap))
		for (size_t i = 0; i < sizeof(meminfo) / sizeof(meminfo[0]); i++)
			if (mp_proc_field(buf, meminfo[i].name, &value))
				context_put(list, meminfo[i].key, value);
}

/* The cgroup's limit and usage: cgroup v2 (memory.max and memory.current under
 * /sys/fs/cgroup) or v1 (memory.limit_in_bytes and memory.usage_in_bytes under
 * /sys/fs/cgroup/memory). Inside a cgroup namespace the path is "/" and the group is the
 * mount's root, which the same lookup finds. "max" or a v1 limit near 2^63 is no limit. */
static void context_cgroup(struct mp_snapshot_context *list, char *buf, size_t cap)
{
	char group[1024], path[1200];
	if (!mp_sys_read_text("/proc/self/cgroup", buf, cap))
		return;
	int version = mp_proc_cgroup(buf, group, sizeof(group));
	if (!version)
		return;
	const char *dir = version == 1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
	const char *max_name = version == 1 ? "/memory.limit_in_bytes" : "/memory.max";
	const char *current_name = version == 1 ? "/memory.usage_in_bytes" : "/memory.current";
	int64_t value;
	path[0] = '\0';
	mp_sys_str_append(path, sizeof(path), dir);
	mp_sys_str_append(path, sizeof(path), strcmp(group, "/") == 0 ? "" : group);
	size_t base = strlen(path);
	mp_sys_str_append(path, sizeof(path), current_name);
	if (!context_number(path, buf, cap, &value)) {
		path[0] = '\0'; /* not mounted where the path says: try the mount's root */
		mp_sys_str_append(path, sizeof(path), dir);
		base = strlen(path);
		mp_sys_str_append(path, sizeof(path), current_name);
		if (!context_number(path, buf, cap, &value))
			return;
	}
	context_put(list, MP_SNAPK_CGROUP_CURRENT, (uint64_t)value);
	path[base] = '\0';
	mp_sys_str_append(path, sizeof(path), max_name);
	if (context_number(path, buf, cap, &value) && value > 0 && value < (1ll << 62))
		context_put(list, MP_SNAPK_CGROUP_MAX, (uint64_t)value);
}

static void context_system(struct mp_snapshot_context *list, char *buf, size_t cap)
{
	int64_t value;
	if (context_number("/proc/self/oom_score", buf, cap, &value))
		context_put(list, MP_SNAPK_OOM_SCORE, (uint64_t)value);
	if (context_number("/proc/self/oom_score_adj", buf, cap, &value))
		context_put(list, MP_SNAPK_OOM_SCORE_ADJ, mp_zigzag(value));
	if (context_number("/proc/sys/vm/overcommit_memory", buf, cap, &value))
		context_put(list, MP_SNAPK_OVERCOMMIT, (uint64_t)value);
	if (mp_sys_read_text("/sys/kernel/mm/transparent_hugepage/enabled", buf, cap)) {
		int mode = mp_proc_thp_mode(buf);
		if (mode >= 0)
			context_put(list, MP_SNAPK_THP_MODE, (uint64_t)mode);
	}
}

void mp_snapshot_context_read(struct mp_snapshot_context *list, char *buf, size_t cap)
{
	list->count = 0;
	context_status(list, buf, cap);
	context_system(list, buf, cap);
	context_cgroup(list, buf, cap);
}
