/* leak_roots.c: the root set of the leak scan, from /proc/self/maps and the threads.
 *
 * memcheck's roots are every client memory segment that is readable and writable and not
 * a heap block, plus every thread's registers. We have no allocator of our own to tell
 * heap from the rest, so a mapping is taken as a root when it is readable and writable
 * and none of these holds:
 *  - it contains a live block's start (malloc's [heap], its mmap'd arenas and large
 *    chunks: their blocks are scanned when reached, never as roots; their free chunks,
 *    full of stale pointers, never). With glibc's allocator, a block that is a chunk of
 *    its own mmap (a large malloc; its header says so) does not count: the kernel merges
 *    adjacent anonymous mappings, so such a chunk may share its mapping with memory the
 *    program mapped itself (cc1's garbage-collected pages), which must stay a root. Only
 *    the chunk's own pages are cut out of it (a block of cc1's was reported definitely
 *    lost in one run in six, held by a pointer in pages merged with a large block's);
 *  - it is [heap], or a glibc arena heap (64 MiB aligned, followed by its PROT_NONE
 *    reserve, starting with glibc's heap_info) holding no live block right now;
 *  - it is the trace file, a shared file mapping (reading one past its file's end would
 *    raise SIGBUS; memcheck does scan them), or a device; shared anonymous memory
 *    (MAP_SHARED | MAP_ANONYMOUS, System V segments) is a root, read only where this
 *    process touched it;
 *  - it is a thread stack (an anonymous mapping right above a PROT_NONE guard page,
 *    glibc's thread descriptor at its top) holding no live thread's stack pointer: a
 *    dead thread's stack that glibc keeps in its cache for the next thread, full of
 *    stale frames and the dead thread's TLS. It is dead memory, and memcheck, which
 *    scans only stack memory in use, never sees it: a block whose last pointer was in a
 *    joined thread's frames or TLS is lost. What glibc
 *    keeps there for itself, the pointer to the dead thread's TLS vector (allocated by
 *    _dl_allocate_tls, reused with the stack), then makes that vector lost too; the
 *    analyzer's built-in suppression names it (memcheck does not see it because valgrind
 *    has glibc free it at exit through __libc_freeres). Only while a thread's stack
 *    pointer is unknown (a thread that runs, not stopped) are such stacks scanned whole,
 *    since any of them may be that thread's.
 * A stack holding a thread's stack pointer is scanned from that pointer (less the
 * 128-byte red zone) to its end, which covers its live frames and, for threads, the TLS
 * and thread descriptor glibc puts at the top. The check stops the program's threads
 * first (leak_stop.c): a stopped thread's stack pointer and general registers are the
 * ones its stop signal interrupted, and the registers are roots of their own, as
 * memcheck scans every thread's. Other threads' stack pointers come from
 * /proc/self/task/TID/syscall (for a thread blocked in the kernel). A thread that could
 * not be stopped and is running has no stack pointer to read: its stack is then scanned
 * whole (and dead stacks too, since any of them may be its).
 * libmemprof's own anonymous memory (mp_sys_own_regions) and the ranges the caller excludes
 * are cut out of every root. Private anonymous roots are flagged MP_LEAK_ROOT_ANON: their
 * pages never touched are not read (a reservation of gigabytes, mostly untouched, cost
 * seconds and page tables for all of it).
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "proc_text.h"

#define ROOTS_MAX_MAPS 65536u
#define ROOTS_MAX_THREADS 4096u
#define ROOTS_MAX_EXCLUDE 4096u
#define ROOTS_RED_ZONE 128u
#define ROOTS_ARENA_BYTES (64ull << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */
#define ROOTS_SP_UNKNOWN 1u
#define ROOTS_TCB_SEARCH (64u << 10) /* struct pthread, and a static TLS alignment of up to 60 KiB */

enum roots_map_flags {
	MAP_R = 1u, MAP_W = 2u, MAP_SHARED_ = 4u, MAP_ANON_ = 8u, MAP_HEAP_NAME = 16u,
	MAP_SKIP = 32u, /* trace file, device */
	MAP_HAS_BLOCK = 64u, MAP_PROT_NONE = 128u,
	MAP_MALLOC_STATE = 256u, /* glibc's libc.so.6, where main_arena is, with glibc's malloc */
	MAP_SHARED_ANON = 512u,  /* shared anonymous memory: see roots_shared_anon */
	MAP_X = 1024u,
};

struct roots_map {
	uint64_t start, end;
	uint32_t flags;
};

struct roots_work {
	struct roots_map *maps;
	size_t map_count;
	struct mp_leak_range *chunks; /* glibc's mmapped chunks of live blocks, by address */
	size_t chunk_count;
	uint64_t sps[ROOTS_MAX_THREADS];
	size_t sp_count;
	struct mp_leak_range regs[ROOTS_MAX_THREADS]; /* stopped and spared threads' registers */
	size_t regs_count;
	int sp_unknown;
	struct mp_leak_range exclude[ROOTS_MAX_EXCLUDE];
	size_t exclude_count;
	struct mp_sys_region own[MP_SYS_OWN_REGIONS_MAX]; /* memprof's memory, not roots */
};

static int roots_glibc; /* the allocator is glibc's: mmapped chunks are told by header */

void mp_leak_roots_set_allocator(int glibc)
{
	roots_glibc = glibc;
}

static int roots_path_is(const struct mp_proc_map *map, const char *name)
{
	size_t len = strlen(name);
	return map->path_len == len && memcmp(map->path, name, len) == 0;
}

/* Whether a shared mapping is anonymous memory: MAP_SHARED | MAP_ANONYMOUS (named after
 * the /dev/zero the kernel backs it with, or with a name the program gave it), or a
 * System V segment. memcheck scans them as any writable memory; taken for devices and
 * shared files (which memprof does not read), a block held only there was "definitely
 * lost" instead of reachable. Their size is fixed, so no read can pass their end. */
static int roots_shared_anon(const struct mp_proc_map *map)
{
	return roots_path_is(map, "/dev/zero (deleted)") ||
	       (map->path_len > 5 && memcmp(map->path, "/SYSV", 5) == 0) ||
	       (map->path_len > 12 && memcmp(map->path, "[anon_shmem:", 12) == 0);
}

/* Whether the mapping is of glibc's libc ("libc.so.6", or "libc-2.NN.so" before 2.34). */
static int roots_is_libc(const struct mp_proc_map *map)
{
	const char *name = map->path;
	size_t len = map->path_len;
	for (size_t i = 0; i < map->path_len; i++)
		if (map->path[i] == '/') {
			name = map->path + i + 1;
			len = map->path_len - i - 1;
		}
	return (len >= 8 && memcmp(name, "libc.so.", 8) == 0) ||
	       (len >= 7 && memcmp(name, "libc-2.", 7) == 0);
}

/* One line of /proc/self/maps (proc_text.h parses it):
 *   55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                  [heap]
 *   7f3a1c000000-7f3a1c021000 rw-p 00000000 00:00 0
 *   7f3a20e15000-7f3a20e17000 rw-p 001d3000 fd:01 1312 /usr/lib/x86_64-linux-gnu/libc.so.6
 */
static void roots_parse_line(struct roots_work *work, const char *line, size_t len,
			     const char *trace_path)
{
	struct mp_proc_map parsed;
	if (work->map_count == ROOTS_MAX_MAPS || !mp_proc_map_line(line, len, &parsed) ||
	    parsed.end <= parsed.start)
		return;
	struct roots_map *map = &work->maps[work->map_count];
	map->start = parsed.start;
	map->end = parsed.end;
	map->flags = (parsed.perms & MP_PERM_READ ? MAP_R : 0) |
		     (parsed.perms & MP_PERM_WRITE ? MAP_W : 0) |
		     (parsed.perms & MP_PERM_SHARED ? MAP_SHARED_ : 0) |
		     (parsed.perms & MP_PERM_EXEC ? MAP_X : 0);
	if (!(parsed.perms & (MP_PERM_READ | MP_PERM_WRITE | MP_PERM_EXEC)))
		map->flags |= MAP_PROT_NONE;
	if (parsed.inode == 0 && (parsed.path_len == 0 || parsed.path[0] == '['))
		map->flags |= MAP_ANON_;
	if (roots_path_is(&parsed, "[heap]"))
		map->flags |= MAP_HEAP_NAME;
	if (roots_glibc && parsed.inode && roots_is_libc(&parsed))
		map->flags |= MAP_MALLOC_STATE;
	if ((map->flags & MAP_SHARED_) && roots_shared_anon(&parsed))
		map->flags |= MAP_SHARED_ANON;
	else if ((parsed.inode && (map->flags & MAP_SHARED_)) ||
		 (parsed.path_len >= 5 && memcmp(parsed.path, "/dev/", 5) == 0) ||
		 (trace_path[0] && roots_path_is(&parsed, trace_path)) ||
		 roots_path_is(&parsed, "[vsyscall]") || roots_path_is(&parsed, "[vvar]"))
		map->flags |= MAP_SKIP;
	work->map_count++;
}

struct roots_reading {
	struct roots_work *work;
	const char *trace_path;
};

static int roots_line(void *context, const char *line, size_t len)
{
	struct roots_reading *reading = context;
	roots_parse_line(reading->work, line, len, reading->trace_path);
	return 0;
}

/* Reads /proc/self/maps through a fixed buffer, longer than any of its lines (a path is
 * at most PATH_MAX). */
static int roots_read_maps(struct roots_work *work, const char *trace_path)
{
	char buf[8192];
	struct roots_reading reading = { work, trace_path };
	return mp_sys_read_lines("/proc/self/maps", buf, sizeof(buf), roots_line, &reading);
}

struct roots_threads {
	struct roots_work *work;
	char self[24];
	char spare[24]; /* the spared thread with a known context or stack pointer, or "" */
	const void *spare_context;
	uint64_t spare_sp, spare_program_sp;
	uint32_t count;
};


/* Another thread's stack pointer: where the stop signal interrupted it (with its
 * registers), or from /proc/self/task/TID/syscall (proc_text.h); a thread that is running
 * has none. */
static int roots_thread(const char *tid, void *context)
{
	struct roots_threads *threads = context;
	struct roots_work *work = threads->work;
	char path[64] = "/proc/self/task/", text[256];
	uint64_t sp;
	struct mp_leak_range regs;
	if (strcmp(tid, threads->self) == 0 || mp_sys_own_thread_named(tid))
		return 0; /* memprof's thread: its stack is ours, and reading it could wait */
	threads->count++;
	if (work->sp_count < ROOTS_MAX_THREADS && strcmp(tid, threads->spare) == 0) {
		if (!threads->spare_context) {
			/* Scanned from sp exactly (roots_range_of takes the red zone off). */
			work->sps[work->sp_count++] = threads->spare_sp + ROOTS_RED_ZONE;
			return 0;
		}
		sp = mp_leak_context_registers(threads->spare_context, &regs);
		work->sps[work->sp_count++] = threads->spare_program_sp ? threads->spare_program_sp
									 : sp;
		work->regs[work->regs_count++] = regs;
		return 0;
	}
	if (work->sp_count < ROOTS_MAX_THREADS &&
	    mp_leak_stop_context(tid, &sp, &regs)) {
		work->sps[work->sp_count++] = sp;
		work->regs[work->regs_count++] = regs;
		return 0;
	}
	mp_sys_str_append(path, sizeof(path), tid);
	mp_sys_str_append(path, sizeof(path), "/syscall");
	if (!mp_sys_read_text(path, text, sizeof(text)))
		return 0; /* gone already */
	if (mp_proc_syscall_sp(text, &sp) && work->sp_count < ROOTS_MAX_THREADS)
		work->sps[work->sp_count++] = sp;
	else
		work->sp_unknown = 1;
	return 0;
}

/* Every other thread of the process; returns how many. */
static uint32_t roots_threads(struct roots_work *work, const struct mp_leak_spare *spare)
{
	struct roots_threads threads = { .work = work, .count = 0 };
	mp_sys_fmt_u64(threads.self, (uint64_t)syscall(SYS_gettid));
	if (spare && spare->tid && (spare->context || spare->sp)) {
		mp_sys_fmt_u64(threads.spare, (uint64_t)spare->tid);
		threads.spare_context = spare->context;
		threads.spare_sp = spare->sp;
		threads.spare_program_sp = spare->program_sp;
	}
	if (mp_sys_each_task(roots_thread, &threads) < 0)
		work->sp_unknown = 1;
	return threads.count;
}

/* The pages of block's own mmap, if it is a chunk of glibc's that has one (malloc/
 * malloc.c): the word before the block is the chunk's size with 2 (IS_MMAPPED) in its
 * flags, the word before that the chunk's offset in its mapping (an alignment's, usually
 * 0), and the mapping holds the chunk whole and nothing else. Every figure is checked
 * against the mapping the block is in, so a block of another layout is not taken for one,
 * and only in anonymous memory is the header read (glibc's mmapped chunks are; a file's
 * mapping read past its file's end would raise SIGBUS). */
static int roots_mmapped_chunk(const struct mp_leak_block *block, const struct roots_map *map,
			       struct mp_leak_range *out)
{
	if (!roots_glibc || (map->flags & (MAP_R | MAP_ANON_)) != (MAP_R | MAP_ANON_) ||
	    block->addr - map->start < 16)
		return 0;
	const uint64_t *header = (const uint64_t *)(uintptr_t)(block->addr - 16);
	uint64_t offset = header[0], word = header[1];
	uint64_t chunk = block->addr - 16, size = word & ~(uint64_t)7;
	if (!(word & 2) || offset > chunk - map->start || size < block->size + 16 ||
	    size > map->end - chunk)
		return 0;
	out->start = chunk - offset;
	out->end = chunk + size;
	return out->start % 4096 == 0 && out->end % 4096 == 0;
}

/* Marks the maps holding the start of a block that is not a glibc mmapped chunk (those
 * are kept apart, to be cut out of the roots), NOSCAN the blocks not inside one
 * readable mapping and SPARSE the large ones inside private anonymous memory. Both arrays
 * are sorted. */
static void roots_match_blocks(struct roots_work *work, const struct mp_leak_block *blocks,
			       size_t count, uint8_t *state)
{
	size_t m = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t start = blocks[i].addr, end = start + blocks[i].size;
		while (m < work->map_count && work->maps[m].end <= start)
			m++;
		if (m == work->map_count || work->maps[m].start > start) {
			state[i] |= MP_LEAK_NOSCAN;
			continue;
		}
		/* Not in [heap]: never a root, nothing there needs cutting out of the roots, and
		 * reading each block's header missed the cache for most of them (4M blocks of
		 * 64 B: a quarter of the roots' listing). */
		struct mp_leak_range chunk;
		if (work->chunks && !(work->maps[m].flags & MAP_HEAP_NAME) &&
		    roots_mmapped_chunk(&blocks[i], &work->maps[m], &chunk))
			work->chunks[work->chunk_count++] = chunk;
		else
			work->maps[m].flags |= MAP_HAS_BLOCK;
		if (!(work->maps[m].flags & MAP_R) || end > work->maps[m].end)
			state[i] |= MP_LEAK_NOSCAN;
		else if (blocks[i].size >= MP_LEAK_SPARSE_BYTES &&
			 (work->maps[m].flags & (MAP_ANON_ | MAP_SHARED_)) == MAP_ANON_)
			state[i] |= MP_LEAK_SPARSE;
	}
}

/* The stack pointer inside map, or 0. */
static uint64_t roots_sp_in(const struct roots_work *work, const struct roots_map *map,
			    uint64_t own_sp)
{
	if (own_sp >= map->start && own_sp < map->end)
		return own_sp;
	for (size_t i = 0; i < work->sp_count; i++)
		if (work->sps[i] >= map->start && work->sps[i] < map->end)
			return work->sps[i];
	return 0;
}

/* Whether map starts with glibc's heap_info, as an arena heap does (malloc/arena.c):
 * the arena it belongs to, whose malloc_state follows the heap_info of the arena's first
 * heap (32 to 64 bytes into it, by glibc's version); the arena's previous heap (64 MiB
 * aligned), none for the first; the heap's size and the size made readable and writable,
 * page multiples, the latter the mapping's own length. The shape alone (64 MiB aligned)
 * also fits the program's own mappings: anonymous mappings of 2 MiB or more start on
 * 2 MiB boundaries, and one in 32 of 64 MiB was taken for an arena and not scanned. */
static int roots_holds_heap_info(const struct roots_map *map)
{
	const uint64_t *info = (const uint64_t *)(uintptr_t)map->start;
	uint64_t arena = info[0], prev = info[1], size = info[2], rw_size = info[3];
	uint64_t arena_offset = arena % ROOTS_ARENA_BYTES;
	if (arena % 8 || arena_offset < 32 || arena_offset > 64)
		return 0;
	if (!prev && arena != map->start + arena_offset) /* the first heap holds its arena */
		return 0;
	if (prev && (prev % ROOTS_ARENA_BYTES || prev == map->start))
		return 0;
	return size && size % 4096 == 0 && rw_size % 4096 == 0 && size <= rw_size &&
	       rw_size == map->end - map->start;
}

static int roots_is_arena(const struct roots_work *work, size_t index)
{
	const struct roots_map *map = &work->maps[index];
	if (!(map->flags & MAP_ANON_) || map->start % ROOTS_ARENA_BYTES)
		return 0;
	const struct roots_map *next = index + 1 < work->map_count ? map + 1 : NULL;
	int shaped = map->end - map->start == ROOTS_ARENA_BYTES ||
		     (next && next->start == map->end && (next->flags & MAP_PROT_NONE) &&
		      next->end <= map->start + ROOTS_ARENA_BYTES);
	return shaped && roots_holds_heap_info(map);
}

/* Whether the top of map holds glibc's thread descriptor (struct pthread, nptl/
 * allocatestack.c puts it at the stack's end, below it only the alignment of the static
 * TLS): its TCB header's first word and third (tcbhead_t's tcb and self) both hold its
 * own address. Searched from the top down, within ROOTS_TCB_SEARCH bytes. */
static int roots_holds_thread_descriptor(const struct roots_map *map)
{
	uint64_t from = map->end - map->start > ROOTS_TCB_SEARCH ? map->end - ROOTS_TCB_SEARCH
								 : map->start;
	for (uint64_t at = map->end - 24; at >= from && at < map->end; at -= 8) {
		const uint64_t *words = (const uint64_t *)(uintptr_t)at;
		if (words[0] == at && words[2] == at)
			return 1;
	}
	return 0;
}

/* Whether map holds a live thread's memprof state (its static TLS, which glibc puts at
 * the top of the thread's stack): the excluded ranges include every such state. */
static int roots_holds_live_state(const struct roots_work *work, const struct roots_map *map)
{
	for (size_t i = 0; i < work->exclude_count; i++)
		if ((work->exclude[i].flags & MP_LEAK_EXCLUDE_THREAD_STATE) &&
		    work->exclude[i].start >= map->start && work->exclude[i].start < map->end)
			return 1;
	return 0;
}

/* A thread stack's shape, an anonymous mapping right above a PROT_NONE guard, also fits
 * memory a program guards itself (or maps above an arena's reserve): only a mapping that
 * holds a thread descriptor is taken for a dead thread's stack. And not one of a live
 * thread whose stack pointer is elsewhere: running a coroutine on a stack of its own
 * (makecontext), its own stack still holds the frames it will return to, whose blocks
 * were reported lost. */
static int roots_is_dead_stack(const struct roots_work *work, size_t index)
{
	const struct roots_map *map = &work->maps[index];
	const struct roots_map *prev = index ? map - 1 : NULL;
	return !work->sp_unknown && (map->flags & MAP_ANON_) && prev &&
	       prev->end == map->start && (prev->flags & MAP_PROT_NONE) &&
	       (prev->flags & MAP_ANON_) && roots_holds_thread_descriptor(map) &&
	       !roots_holds_live_state(work, map);
}

/* The part of map to scan, or an empty range. */
static struct mp_leak_range roots_range_of(const struct roots_work *work, size_t index,
					   uint64_t own_sp)
{
	const struct roots_map *map = &work->maps[index];
	struct mp_leak_range none = { 0, 0, 0 }, all = { map->start, map->end, 0 };
	if (map->flags & MAP_MALLOC_STATE)
		all.flags = MP_LEAK_ROOT_MALLOC_STATE;
	else if ((map->flags & (MAP_ANON_ | MAP_SHARED_)) == MAP_ANON_)
		all.flags = MP_LEAK_ROOT_ANON;
	else if (map->flags & MAP_SHARED_ANON)
		all.flags = MP_LEAK_ROOT_ANON | MP_LEAK_ROOT_LARGE | MP_LEAK_ROOT_SHARED;
	if ((map->flags & (MAP_R | MAP_W)) != (MAP_R | MAP_W) ||
	    (map->flags & (MAP_SKIP | MAP_HAS_BLOCK | MAP_HEAP_NAME)))
		return none;
	uint64_t sp = roots_sp_in(work, map, own_sp);
	if (sp) {
		uint64_t from = sp - ROOTS_RED_ZONE;
		all.start = from > map->start ? from & ~(uint64_t)7 : map->start;
		return all;
	}
	if (roots_is_arena(work, index))
		return none;
	if (roots_is_dead_stack(work, index))
		return none;
	return all;
}

static void roots_sort_exclude(struct roots_work *work)
{
	for (size_t i = 1; i < work->exclude_count; i++) {
		struct mp_leak_range moving = work->exclude[i];
		size_t at = i;
		for (; at > 0 && work->exclude[at - 1].start > moving.start; at--)
			work->exclude[at] = work->exclude[at - 1];
		work->exclude[at] = moving;
	}
}

/* Appends [start, end) minus the excluded ranges, with `flags`. */
static size_t roots_emit(const struct roots_work *work, uint64_t start, uint64_t end,
			 uint64_t flags, struct mp_leak_range *out, size_t at, size_t cap)
{
	for (size_t i = 0; i < work->exclude_count && start < end; i++) {
		const struct mp_leak_range *cut = &work->exclude[i];
		if (cut->end <= start || cut->start >= end)
			continue;
		if (cut->start > start && at < cap)
			out[at++] = (struct mp_leak_range){ start, cut->start, flags };
		start = cut->end;
	}
	if (start < end && at < cap)
		out[at++] = (struct mp_leak_range){ start, end, flags };
	return at;
}

/* Appends range minus the mmapped chunks in it (then minus the excluded ranges). The
 * ranges come in address order, so *next, the first chunk not yet passed, only moves on. */
static size_t roots_emit_chunks(const struct roots_work *work, struct mp_leak_range range,
				size_t *next, struct mp_leak_range *out, size_t at, size_t cap)
{
	uint64_t start = range.start;
	while (*next < work->chunk_count && work->chunks[*next].end <= start)
		(*next)++;
	for (size_t i = *next; i < work->chunk_count && work->chunks[i].start < range.end; i++) {
		if (work->chunks[i].start > start)
			at = roots_emit(work, start, work->chunks[i].start, range.flags, out, at, cap);
		if (work->chunks[i].end > start)
			start = work->chunks[i].end;
	}
	if (start < range.end)
		at = roots_emit(work, start, range.end, range.flags, out, at, cap);
	return at;
}

static void roots_collect_exclude(struct roots_work *work, const struct mp_leak_range *exclude,
				  size_t exclude_count)
{
	struct mp_sys_region *own = work->own;
	size_t own_count = mp_sys_own_regions(own, MP_SYS_OWN_REGIONS_MAX);
	for (size_t i = 0; i < own_count && work->exclude_count < ROOTS_MAX_EXCLUDE; i++)
		work->exclude[work->exclude_count++] =
			(struct mp_leak_range){ .start = own[i].start,
						.end = own[i].start + own[i].length };
	for (size_t i = 0; i < exclude_count && work->exclude_count < ROOTS_MAX_EXCLUDE; i++)
		work->exclude[work->exclude_count++] = exclude[i];
	roots_sort_exclude(work);
}

/* The readable private mappings of work, merged where adjacent and alike (see
 * mp_leak_readable). */
static void roots_readable(const struct roots_work *work, struct mp_leak_readable *readable)
{
	readable->count = 0;
	readable->bytes = ((work->map_count ? work->map_count : 1) * sizeof(struct mp_leak_range) +
			   4095) & ~(size_t)4095;
	readable->ranges = mp_sys_map_anon(readable->bytes);
	if (!readable->ranges)
		return;
	for (size_t i = 0; i < work->map_count; i++) {
		const struct roots_map *map = &work->maps[i];
		if (!(map->flags & MAP_R) || (map->flags & (MAP_SKIP | MAP_SHARED_)))
			continue;
		uint64_t flags = map->flags & MAP_X ? MP_LEAK_READABLE_EXEC : 0;
		struct mp_leak_range *last =
			readable->count ? &readable->ranges[readable->count - 1] : NULL;
		if (last && last->end == map->start && last->flags == flags)
			last->end = map->end;
		else
			readable->ranges[readable->count++] =
				(struct mp_leak_range){ map->start, map->end, flags };
	}
}

long mp_leak_roots(const struct mp_leak_block *blocks, size_t count, uint8_t *state,
		   uint64_t own_sp, const struct mp_leak_spare *spare,
		   const struct mp_leak_range *exclude, size_t exclude_count,
		   const char *trace_path, struct mp_leak_range **roots, size_t *bytes,
		   uint32_t *threads, struct mp_leak_readable *readable)
{
	size_t work_bytes = (sizeof(struct roots_work) + 4095) & ~(size_t)4095;
	size_t maps_bytes = ROOTS_MAX_MAPS * sizeof(struct roots_map);
	struct roots_work *work = mp_sys_map_anon(work_bytes);
	struct roots_map *maps = mp_sys_map_anon(maps_bytes);
	size_t chunks_bytes = 0;
	long result = -ENOMEM;
	if (!work || !maps)
		goto out;
	work->maps = maps;
	*threads = roots_threads(work, spare);
	result = roots_read_maps(work, trace_path);
	if (result < 0)
		goto out;
	roots_collect_exclude(work, exclude, exclude_count);
	chunks_bytes = ((count ? count : 1) * sizeof(struct mp_leak_range) + 4095) & ~(size_t)4095;
	work->chunks = roots_glibc ? mp_sys_map_anon(chunks_bytes) : NULL;
	roots_match_blocks(work, blocks, count, state);
	size_t cap = work->map_count + work->exclude_count + work->chunk_count +
		     work->regs_count + 16;
	*bytes = (cap * sizeof(struct mp_leak_range) + 4095) & ~(size_t)4095;
	*roots = mp_sys_map_anon(*bytes);
	result = -ENOMEM;
	if (!*roots)
		goto out;
	size_t at = 0, chunk = 0;
	for (size_t i = 0; i < work->map_count; i++) {
		struct mp_leak_range range = roots_range_of(work, i, own_sp);
		at = roots_emit_chunks(work, range, &chunk, *roots, at, cap);
	}
	/* The saved contexts lie below the stack pointers their stacks are scanned from (or on
	 * an alternate stack): ranges of their own. */
	for (size_t i = 0; i < work->regs_count && at < cap; i++)
		(*roots)[at++] = work->regs[i];
	result = (long)at;
	if (readable)
		roots_readable(work, readable);
	if (work->sp_unknown)
		*threads |= 1u << 31; /* told to the caller: see leak_scan.c */
out:
	if (work && work->chunks)
		mp_sys_unmap(work->chunks, chunks_bytes);
	if (work)
		mp_sys_unmap(work, work_bytes);
	if (maps)
		mp_sys_unmap(maps, maps_bytes);
	return result;
}
