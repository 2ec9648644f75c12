/* heap_peak.c: the live-heap estimate that triggers "peak" memory snapshots.
 *
 * Each thread keeps the net bytes it allocated minus freed (malloc_usable_size of each
 * block, which a free can know as well as an allocation; read from glibc's chunk header
 * when that was checked to agree) in a cache-line slot of its own,
 * so the recording path adds to its own line and shares nothing (inline, heap_peak.h).
 * Every MP_HEAP_PEAK_CHECK_BYTES of change on a thread, a slow path sums the slots: when
 * the total has grown by a tenth and at least PEAK_MIN_GROWTH over the heap of the last
 * peak snapshot, and PEAK_MIN_GAP_NS has passed, a snapshot is taken then and there. A program that grows to 1 GiB so pays for
 * about 70 snapshots at most, and one that stays flat for none. Blocks freed by another
 * thread make that thread's slot negative: only the sum means anything.
 *
 * Not with sampling (the recorder sees too few frees to follow the heap) and not with
 * MEMPROF_SNAPSHOT_PEAK=0.
 */
#include <pthread.h>

#include "heap_peak.h"
#include "snapshot.h"

#define PEAK_MIN_GROWTH (1u << 20)
#define PEAK_MIN_GAP_NS 100000000ull
#define SLOTS_MAX MP_HEAP_PEAK_SLOTS

static size_t (*usable_size)(void *block); /* the allocator's malloc_usable_size */
int mp_heap_peak_from_header;

/* SLOTS_MAX of them, from mp_sys_map_anon, by serial */
struct mp_heap_peak_slot *mp_heap_peak_slots;
static struct mp_heap_peak_slot overflow; /* threads beyond SLOTS_MAX share it, atomically */
static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_peak_bytes;
static uint64_t last_peak_ns;

static int64_t heap_total(void)
{
	int64_t total = __atomic_load_n(&overflow.bytes, __ATOMIC_RELAXED);
	uint32_t serials = mp_chunk_last_serial();
	for (uint32_t i = 0; i <= serials && i < SLOTS_MAX; i++)
		total += __atomic_load_n(&mp_heap_peak_slots[i].bytes, __ATOMIC_RELAXED);
	return total;
}

/* The slow path: maybe a new peak. The caller is busy (inside the recorder). */
static void heap_check(struct mp_thread *thread)
{
	thread->heap_since_check = 0;
	if (pthread_mutex_trylock(&check_lock) != 0)
		return; /* another thread is checking, or snapshotting, right now */
	int64_t total = heap_total();
	uint64_t now = mp_clock_now_ns();
	if (total > last_peak_bytes + last_peak_bytes / 10 &&
	    total >= last_peak_bytes + (int64_t)PEAK_MIN_GROWTH &&
	    now - last_peak_ns >= PEAK_MIN_GAP_NS) {
		last_peak_bytes = total;
		last_peak_ns = now;
		mp_snapshot_peak(thread, (uint64_t)total);
	}
	pthread_mutex_unlock(&check_lock);
}

/* Whether header_usable agrees with malloc_usable_size on blocks of every kind: sizes
 * across glibc's bins, and one above the largest mmap threshold (32 MiB on 64 bits: its
 * free leaves the allocator's dynamic threshold alone). Any difference, another layout,
 * and the call is used. */
static int header_agrees(void *(*libc_malloc)(size_t), void (*libc_free)(void *))
{
	static const size_t sizes[] = { 1, 24, 25, 100, 1000, 4096, 70000, 33u << 20 };
	int agrees = 1;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && agrees; i++) {
		void *block = libc_malloc(sizes[i]);
		if (!block)
			return 0;
		agrees = mp_heap_peak_header_usable(block) == usable_size(block);
		libc_free(block);
	}
	return agrees;
}

void mp_heap_peak_set_allocator(size_t (*usable)(void *), void *(*libc_malloc)(size_t),
				void (*libc_free)(void *))
{
	usable_size = usable;
	mp_heap_peak_from_header = usable && libc_malloc && libc_free &&
				   header_agrees(libc_malloc, libc_free);
}

size_t mp_heap_peak_usable_call(void *block)
{
	return usable_size ? usable_size(block) : 0;
}

void mp_heap_peak_note_slow(struct mp_thread *thread, int64_t bytes)
{
	if (!mp_heap_peak_slots || !bytes)
		return;
	if (thread->serial < SLOTS_MAX)
		__atomic_store_n(&mp_heap_peak_slots[thread->serial].bytes, mp_heap_peak_slots[thread->serial].bytes + bytes,
				 __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&overflow.bytes, bytes, __ATOMIC_RELAXED);
	thread->heap_since_check += bytes;
	if (thread->heap_since_check >= (int64_t)MP_HEAP_PEAK_CHECK_BYTES ||
	    thread->heap_since_check <= -(int64_t)MP_HEAP_PEAK_CHECK_BYTES)
		heap_check(thread);
}

void mp_heap_peak_init(void)
{
	if (mp_config.sample_bytes || !mp_config.snapshot_peak || mp_heap_peak_slots)
		return;
	mp_heap_peak_slots = mp_sys_map_anon(SLOTS_MAX * sizeof(*mp_heap_peak_slots));
}

void mp_heap_peak_after_fork_child(void)
{
	/* The child's trace starts with no block in it: so does its estimate. Fresh pages,
	 * rather than a memset that would touch every slot. */
	if (mp_heap_peak_slots) {
		mp_sys_unmap(mp_heap_peak_slots, SLOTS_MAX * sizeof(*mp_heap_peak_slots));
		mp_heap_peak_slots = mp_sys_map_anon(SLOTS_MAX * sizeof(*mp_heap_peak_slots));
	}
	overflow.bytes = 0;
	last_peak_bytes = 0;
	last_peak_ns = 0;
	pthread_mutex_init(&check_lock, NULL);
}
