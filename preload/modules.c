/* modules.c: the module map that lets the analyzer symbolize addresses offline.
 *
 * For every loaded object a MODULE record holds its address range, load bias, path and
 * GNU build-id. The map is written before the first stack and again whenever the set of
 * loaded objects changed, which glibc's dl_iterate_phdr counters (dlpi_adds, dlpi_subs)
 * reveal cheaply. Checks happen only when a new stack is interned: a stack through a newly
 * loaded library is new by definition.
 *
 * Unloading is what makes addresses ambiguous: a library loaded later may reuse them. Each
 * unload therefore starts a new generation; stacks are interned per generation and each
 * generation gets its own map, so a frame of a library that was dlclose()d still resolves
 * to that library.
 *
 * The check itself is a dl_iterate_phdr call, which takes the loader's lock: gcc's cc1
 * made 12,000 of them, one per new stack, and each is a place where a signal handler's
 * jump would leave that lock held (loader_gate.c). So the load ranges the last map wrote
 * are kept, and a new stack whose every frame lies in one of them, in the generation that
 * map was written for, needs no check (mp_modules_cover): its objects are in the map
 * already. A frame anywhere else (a library loaded since, code made at run time) still
 * checks. What this cannot see is what the check could not see either for a stack met
 * before: an object unloaded by libc itself (not through dlclose) and another loaded over
 * its addresses in the same generation.
 */
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "encode.h"
#include "modules.h"
#include "memprof/varint.h"

#define BUILD_ID_MAX 64u
#define PATH_MAX_BYTES 4096u

static uint32_t generation;
static struct mp_mutex sync_lock;
static int synced_once;
static uint64_t synced_adds, synced_subs;
static uint32_t synced_generation;

/* The load ranges of the objects the last map wrote, sorted by start, behind a sequence
 * count: odd while the map is rewritten (under sync_lock), 0 while there is none. */
#define KNOWN_MAX 1024u
static struct known_range {
	uintptr_t start, end;
} known[KNOWN_MAX];
static uint32_t known_count, known_seq, known_generation;
static int known_overflow;

struct counters {
	uint64_t adds, subs;
};

struct range_query {
	uintptr_t addr, start, end;
	int found;
};

uint32_t mp_modules_generation(void)
{
	return __atomic_load_n(&generation, __ATOMIC_RELAXED);
}

void mp_modules_unloaded(void)
{
	__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
}

static void load_range(const struct dl_phdr_info *info, uintptr_t *start, uintptr_t *end)
{
	*start = UINTPTR_MAX;
	*end = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
		if (phdr->p_type != PT_LOAD)
			continue;
		uintptr_t low = info->dlpi_addr + phdr->p_vaddr;
		uintptr_t high = low + phdr->p_memsz;
		if (low < *start)
			*start = low;
		if (high > *end)
			*end = high;
	}
}

/* Notes are { namesz, descsz, type, name padded to 4, desc padded to 4 }; the build-id is
 * the desc of the note named "GNU" with type NT_GNU_BUILD_ID. */
static size_t find_build_id(const struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
		if (phdr->p_type != PT_NOTE)
			continue;
		const uint8_t *at = (const uint8_t *)(info->dlpi_addr + phdr->p_vaddr);
		const uint8_t *end = at + phdr->p_memsz;
		while (at + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *note = (const ElfW(Nhdr) *)at;
			const uint8_t *name = at + sizeof(*note);
			const uint8_t *desc = name + ((note->n_namesz + 3) & ~3u);
			const uint8_t *next = desc + ((note->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && note->n_descsz <= BUILD_ID_MAX) {
				memcpy(out, desc, note->n_descsz);
				return note->n_descsz;
			}
			at = next;
		}
	}
	return 0;
}

static uint8_t *put_string(uint8_t *at, const void *bytes, size_t len)
{
	at = mp_put_u(at, len);
	memcpy(at, bytes, len);
	return at + len;
}

/* Adds a range to the map being written (known_seq is odd). */
static void known_add(uintptr_t start, uintptr_t end)
{
	uint32_t count = __atomic_load_n(&known_count, __ATOMIC_RELAXED);
	if (count == KNOWN_MAX) {
		known_overflow = 1;
		return;
	}
	__atomic_store_n(&known[count].start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&known[count].end, end, __ATOMIC_RELAXED);
	__atomic_store_n(&known_count, count + 1, __ATOMIC_RELAXED);
}

/* Insertion sort by start: a few dozen objects, sorted once per map. */
static void known_sort(void)
{
	uint32_t count = __atomic_load_n(&known_count, __ATOMIC_RELAXED);
	for (uint32_t i = 1; i < count; i++) {
		struct known_range item = { __atomic_load_n(&known[i].start, __ATOMIC_RELAXED),
					    __atomic_load_n(&known[i].end, __ATOMIC_RELAXED) };
		uint32_t at = i;
		for (; at > 0 && __atomic_load_n(&known[at - 1].start, __ATOMIC_RELAXED) > item.start;
		     at--) {
			__atomic_store_n(&known[at].start, known[at - 1].start, __ATOMIC_RELAXED);
			__atomic_store_n(&known[at].end, known[at - 1].end, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&known[at].start, item.start, __ATOMIC_RELAXED);
		__atomic_store_n(&known[at].end, item.end, __ATOMIC_RELAXED);
	}
}

/* The known range that holds addr among the first `count`, in *start and *end; 0 if
 * none does (loads that may race a rewrite: mp_modules_cover checks the sequence
 * afterwards). */
static int known_find(uintptr_t addr, uint32_t count, uintptr_t *start, uintptr_t *end)
{
	uint32_t low = 0, high = count;
	while (low < high) {
		uint32_t mid = low + (high - low) / 2;
		if (__atomic_load_n(&known[mid].start, __ATOMIC_RELAXED) <= addr)
			low = mid + 1;
		else
			high = mid;
	}
	if (low == 0)
		return 0;
	*start = __atomic_load_n(&known[low - 1].start, __ATOMIC_RELAXED);
	*end = __atomic_load_n(&known[low - 1].end, __ATOMIC_RELAXED);
	return addr < *end;
}

/* A frame is first tried against the range that held the frame before it: a stack's
 * frames are mostly in one object (cc1's 12000 new stacks spent 90 ns each here, a
 * search for every frame). */
int mp_modules_cover(void *const *ips, int count)
{
	uint32_t seq = __atomic_load_n(&known_seq, __ATOMIC_ACQUIRE);
	if (!seq || (seq & 1) ||
	    __atomic_load_n(&known_generation, __ATOMIC_RELAXED) != mp_modules_generation())
		return 0;
	uint32_t ranges = __atomic_load_n(&known_count, __ATOMIC_RELAXED);
	uintptr_t start = 0, end = 0; /* none yet: every address is outside */
	int covered = 1;
	for (int i = 0; i < count && covered; i++) {
		uintptr_t addr = (uintptr_t)ips[i];
		if (addr - start >= end - start)
			covered = known_find(addr, ranges, &start, &end);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return covered && __atomic_load_n(&known_seq, __ATOMIC_RELAXED) == seq;
}

static int write_module(struct dl_phdr_info *info, size_t size, void *data)
{
	struct mp_thread *thread = data;
	uint8_t body[5 * MP_VARINT_MAX + PATH_MAX_BYTES + BUILD_ID_MAX + 2 * MP_VARINT_MAX];
	uint8_t build_id[BUILD_ID_MAX];
	uintptr_t start, end;
	(void)size;

	load_range(info, &start, &end);
	if (start >= end)
		return 0;
	known_add(start, end);
	const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name
								: mp_trace_file_exe();
	size_t path_len = strnlen(path, PATH_MAX_BYTES);
	size_t build_id_len = find_build_id(info, build_id);
	uint8_t *at = mp_put_u(body, __atomic_load_n(&generation, __ATOMIC_RELAXED));
	at = mp_put_s(at, (int64_t)start);
	at = mp_put_u(at, end - start);
	at = mp_put_u(at, info->dlpi_addr);
	at = put_string(at, path, path_len);
	at = put_string(at, build_id, build_id_len);
	mp_encode_extended(thread, MP_REC_MODULE, body, (size_t)(at - body));
	return 0;
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *data)
{
	struct counters *counters = data;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		counters->adds = info->dlpi_adds;
		counters->subs = info->dlpi_subs;
	}
	return 1; /* the counters are the same in every entry: stop at the first */
}

void mp_modules_sync(struct mp_thread *thread)
{
	/* Through the loader's gate for the whole of it, the lock included: signals are held
	 * there where a handler could jump out of it. */
	mp_loader_enter();
	/* trylock: if another thread is writing the map it will write what we would. Waiting
	 * could deadlock against a thread holding the loader's lock inside a callback. */
	if (mp_mutex_trylock(&sync_lock) != 0) {
		mp_loader_leave();
		return;
	}
	struct counters now = { 0, 0 };
	mp_loader_iterate(read_counters, &now);
	uint32_t current = mp_modules_generation();
	if (synced_once && now.subs != synced_subs && current == synced_generation) {
		mp_modules_unloaded(); /* an unload we did not see through dlclose() */
		current = mp_modules_generation();
	}
	if (!synced_once || now.adds != synced_adds || now.subs != synced_subs ||
	    current != synced_generation) {
		uint32_t seq = __atomic_load_n(&known_seq, __ATOMIC_RELAXED);
		__atomic_store_n(&known_seq, seq | 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&known_count, 0, __ATOMIC_RELAXED);
		known_overflow = 0;
		mp_loader_iterate(write_module, thread);
		known_sort();
		__atomic_store_n(&known_generation, current, __ATOMIC_RELAXED);
		if (known_overflow)
			__atomic_store_n(&known_count, 0, __ATOMIC_RELAXED); /* every stack checks */
		__atomic_store_n(&known_seq, (seq | 1) + 1, __ATOMIC_RELEASE);
		synced_once = 1;
		synced_adds = now.adds;
		synced_subs = now.subs;
		synced_generation = current;
	}
	mp_mutex_unlock(&sync_lock);
	mp_loader_leave();
}

static int find_range(struct dl_phdr_info *info, size_t size, void *data)
{
	struct range_query *query = data;
	uintptr_t start, end;
	(void)size;
	load_range(info, &start, &end);
	if (query->addr >= start && query->addr < end) {
		query->start = start;
		query->end = end;
		query->found = 1;
		return 1;
	}
	return 0;
}

int mp_modules_range_of(uintptr_t addr, uintptr_t *start, uintptr_t *end)
{
	struct range_query query = { .addr = addr };
	mp_loader_iterate(find_range, &query);
	*start = query.start;
	*end = query.end;
	return query.found ? 0 : -1;
}

void mp_modules_reset(void)
{
	synced_once = 0;
	/* A fork child's trace has no map yet: its first stacks must write one. */
	__atomic_store_n(&known_seq, 0, __ATOMIC_RELEASE);
	mp_mutex_reset(&sync_lock);
}
