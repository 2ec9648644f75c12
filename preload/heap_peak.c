/* heap_peak.c: the live-heap estimate that triggers "peak" memory snapshots.
 *
 * Each thread keeps the net bytes it allocated minus freed (malloc_usable_size of each
 * block, which a free can know as well as an allocation; read from glibc's chunk header
 * when that was checked to agree) in a cache-line slot of its own,
 * so the recording path adds to its own line and shares nothing (inline, heap_peak.h).
 * Every MP_HEAP_PEAK_CHECK_BYTES of change on a thread, a slow path sums the slots: when
 * the total has grown by a tenth and at least PEAK_MIN_GROWTH over the heap of the last
 * peak snapshot, and PEAK_MIN_GAP_NS has passed, a snapshot is taken then and there. A
 * program that grows to 1 GiB so pays for about 70 snapshots at most, and one that stays
 * flat for none. The snapshot runs on the program's thread, inside its malloc, and costs
 * more as the process grows (the kernel walks every page table for smaps): python3
 * building a 2M-entry dict spent 80 ms of its 1.1 s in fourteen of them, 1 ms for the
 * first and 11 for the last. So the gap after one is also PEAK_COST_FACTOR times the CPU
 * time it took, as the RSS watch's are (rss_watch.c): at most a twentieth of the thread's
 * time.
 * Blocks freed by another thread make that thread's slot negative: only the sum means
 * anything.
 *
 * Not with sampling (the recorder sees too few frees to follow the heap) and not with
 * MEMPROF_SNAPSHOT_PEAK=0.
 */
#include <pthread.h>

#include "heap_peak.h"
#include "snapshot.h"

#define PEAK_MIN_GROWTH (1u << 20)
#define PEAK_MIN_GAP_NS 100000000ull
#define PEAK_COST_FACTOR 20u
#define HEADER_CHECKS 256u
/* The slots, by thread serial, in segments of SEGMENT_SLOTS mapped when the first thread
 * of one needs its slot: all 65536 mapped at once were 4 MiB of address space (VIRT) in
 * every process, which counts against `ulimit -v` and mlockall's limit. */
#define SEGMENT_SLOTS 1024u /* 64 KiB */
#define SEGMENTS 64u
#define SLOTS_MAX (SEGMENT_SLOTS * SEGMENTS)

static size_t (*usable_size)(void *block); /* the allocator's malloc_usable_size */
int mp_heap_peak_from_header;
int mp_heap_peak_on;

struct heap_slot {
	_Alignas(64) int64_t bytes; /* a thread's allocations less its frees, in usable bytes */
};
/* From mp_sys_map_anon, published by compare-and-swap; NULL until needed. */
static struct heap_slot *segments[SEGMENTS];
static int segments_failed; /* a mapping failed: no more tries, the overflow serves */
static struct heap_slot overflow; /* threads beyond SLOTS_MAX share it, atomically */
static struct mp_mutex check_lock;
static int64_t last_peak_bytes;
static uint64_t last_peak_ns, peak_gap_ns = PEAK_MIN_GAP_NS;

static int64_t heap_total(void)
{
	int64_t total = __atomic_load_n(&overflow.bytes, __ATOMIC_RELAXED);
	uint32_t serials = mp_chunk_last_serial();
	for (uint32_t i = 0; i <= serials && i < SLOTS_MAX; i++) {
		const struct heap_slot *segment =
			__atomic_load_n(&segments[i / SEGMENT_SLOTS], __ATOMIC_ACQUIRE);
		if (!segment) {
			i |= SEGMENT_SLOTS - 1; /* on to the next segment */
			continue;
		}
		total += __atomic_load_n(&segment[i % SEGMENT_SLOTS].bytes, __ATOMIC_RELAXED);
	}
	return total;
}

/* The slot of a thread serial, its segment mapped if it is the first to need it; NULL
 * beyond the slots, or once memory was short (a thread without a slot takes the slow
 * path at every event: it must not try a mapping each time). */
static int64_t *slot_of(uint32_t serial)
{
	if (serial >= SLOTS_MAX)
		return NULL;
	struct heap_slot **at = &segments[serial / SEGMENT_SLOTS];
	struct heap_slot *segment = __atomic_load_n(at, __ATOMIC_ACQUIRE);
	if (!segment) {
		if (__atomic_load_n(&segments_failed, __ATOMIC_RELAXED))
			return NULL;
		struct heap_slot *fresh = mp_sys_map_anon(SEGMENT_SLOTS * sizeof(*fresh));
		if (!fresh) {
			__atomic_store_n(&segments_failed, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		if (__atomic_compare_exchange_n(at, &segment, fresh, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			segment = fresh;
		else
			mp_sys_unmap(fresh, SEGMENT_SLOTS * sizeof(*fresh)); /* another's won */
	}
	return &segment[serial % SEGMENT_SLOTS].bytes;
}

/* The slow path: maybe a new peak. The caller is busy (inside the recorder). */
static void heap_check(struct mp_thread *thread)
{
	thread->heap_since_check = 0;
	if (mp_mutex_trylock(&check_lock) != 0)
		return; /* another thread is checking, or snapshotting, right now */
	int64_t total = heap_total();
	uint64_t now = mp_clock_now_ns();
	if (total > last_peak_bytes + last_peak_bytes / 10 &&
	    total >= last_peak_bytes + (int64_t)PEAK_MIN_GROWTH &&
	    now - last_peak_ns >= peak_gap_ns) {
		last_peak_bytes = total;
		last_peak_ns = now;
		mp_snapshot_peak(thread, (uint64_t)total);
		/* Its CPU time, not the wall's: on a loaded machine the wall counted the
		 * time the thread waited for a CPU, and spaced the snapshots out for it. */
		struct mp_snapshot_last last;
		mp_snapshot_last(&last);
		uint64_t cost = last.time_ns >= now ? last.cost_ns * PEAK_COST_FACTOR : 0;
		peak_gap_ns = cost > PEAK_MIN_GAP_NS ? cost : PEAK_MIN_GAP_NS;
	}
	mp_mutex_unlock(&check_lock);
}

/* Whether the chunk headers are checked yet: the answer of mp_heap_peak_header_usable is
 * compared with malloc_usable_size's on the first HEADER_CHECKS blocks the recorder
 * sees, and only if every one agreed is the header read alone from then on (any other
 * layout, or another allocator, keeps the call). The program's own blocks, not blocks
 * allocated for the purpose: a few malloc and free calls of ours when the real
 * functions were resolved made a sampled alloc_bench 15-20% slower to the end (the
 * cause, in glibc's heap layout or its per-thread caches, was not found). */
static int header_candidate;   /* the allocator is glibc's, no disagreement seen */
static uint32_t header_agreed; /* blocks checked so far */

void mp_heap_peak_set_allocator(size_t (*usable)(void *), int libc_allocator)
{
	usable_size = usable;
	header_agreed = 0;
	mp_heap_peak_from_header = 0;
	header_candidate = usable && libc_allocator;
}

static void header_check(void *block, size_t usable)
{
	if (mp_heap_peak_header_usable(block) != usable)
		__atomic_store_n(&header_candidate, 0, __ATOMIC_RELAXED);
	else if (__atomic_add_fetch(&header_agreed, 1, __ATOMIC_RELAXED) == HEADER_CHECKS &&
		 __atomic_load_n(&header_candidate, __ATOMIC_RELAXED))
		__atomic_store_n(&mp_heap_peak_from_header, 1, __ATOMIC_RELAXED);
}

size_t mp_heap_peak_usable_call(void *block)
{
	size_t usable = usable_size ? usable_size(block) : 0;
	if (__atomic_load_n(&header_candidate, __ATOMIC_RELAXED))
		header_check(block, usable);
	return usable;
}

void mp_heap_peak_note_slow(struct mp_thread *thread, int64_t bytes)
{
	if (!mp_heap_peak_on || !bytes)
		return;
	/* A thread's slot is its serial's, for good: serials are never handed out twice.
	 * Without one yet (serial 0: no chunk) or beyond the slots, the shared overflow. */
	int64_t *mine = thread->heap_bytes;
	if (!mine && thread->serial)
		mine = thread->heap_bytes = slot_of(thread->serial);
	if (mine)
		__atomic_store_n(mine, *mine + bytes, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&overflow.bytes, bytes, __ATOMIC_RELAXED);
	thread->heap_since_check += bytes;
	if (thread->heap_since_check >= (int64_t)MP_HEAP_PEAK_CHECK_BYTES ||
	    thread->heap_since_check <= -(int64_t)MP_HEAP_PEAK_CHECK_BYTES)
		heap_check(thread);
}

void mp_heap_peak_init(void)
{
	if (!mp_config.sample_bytes && mp_config.snapshot_peak)
		mp_heap_peak_on = 1;
}

void mp_heap_peak_after_fork_child(void)
{
	/* The child's trace starts with no block in it: so does its estimate. The segments
	 * go, rather than a memset that would touch every slot; they are mapped again as
	 * the child's threads need them. */
	for (unsigned i = 0; i < SEGMENTS; i++) {
		if (segments[i])
			mp_sys_unmap(segments[i], SEGMENT_SLOTS * sizeof(*segments[i]));
		segments[i] = NULL;
	}
	segments_failed = 0;
	mp_state_thread.heap_bytes = NULL; /* in the parent's slots, unmapped just now */
	overflow.bytes = 0;
	last_peak_bytes = 0;
	last_peak_ns = 0;
	peak_gap_ns = PEAK_MIN_GAP_NS;
	mp_mutex_reset(&check_lock);
}
