/* chunk.c: per-thread chunks of the trace file, and the list of threads that hold one.
 *
 * A thread writes only into its own chunk; the common path is a bounds check in
 * mp_chunk_reserve (writer.h) and one release store in mp_chunk_commit. This file is the
 * slow path: the first chunk of a thread, a full chunk, a thread that ends, and fork.
 * Chunks grow from a page to 1 MiB per thread, so a short-lived thread costs little file
 * and a busy one starts a new chunk rarely. (They started at 16 KiB: a program that made a
 * thousand threads of ten allocations each wrote a 16 MB trace, 400 bytes an event.)
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memprof/trace_decode.h"
#include "writer.h"

#define MAX_CHUNK_BYTES (1024u * 1024u)
/* Once the process is ending the space reserved ahead is gone (trace_file.c), and a new
 * chunk costs the zeros of its whole capacity, written by the thread that needs it: the
 * exiting one, for the exit snapshot or the leak check's classes. What is left to write
 * is that much, not a busy thread's next megabyte: cc1's exit took a new chunk in 4 runs
 * of 10, which took 0.52-0.73 ms to write its classes with 1 MiB, 0.35-0.41 with 64 KiB
 * (and the trace was a megabyte shorter). */
#define ENDING_CHUNK_BYTES (64u * 1024u)


/* Every chunk currently mapped, so a fork child can unmap what it inherited. Kept apart
 * from the threads' TLS: a thread's TLS disappears with it, and a thread may still record
 * (a later TLS destructor freeing memory) after its exit destructor ran.
 *
 * The fork handlers take no lock (recording.c: the allocator's own fork handlers run
 * after ours and may wait for a thread that waits for us), so the child reads the
 * registry as the fork found it, maybe mid-change. Every change is therefore made so that
 * the registry never names a chunk that is unmapped: a new chunk or array is published
 * before the old one is unmapped. At worst the child keeps one chunk mapped that it does
 * not know (a thread was between the two), which it never writes. */
struct chunk_entry {
	uint8_t *chunk;      /* NULL: free entry */
	uint32_t next_free;  /* index + 1 of the next free entry, 0 at the end */
};

static struct mp_mutex live_lock;
static struct chunk_entry *entries;
static uint32_t entry_capacity, entry_count, free_head;
static uint32_t last_serial;
static pthread_key_t exit_key;
static int exit_key_ready;

static void thread_exit_destructor(void *value)
{
	mp_chunk_thread_exit(value);
}

void mp_chunk_init(void)
{
	if (!exit_key_ready && pthread_key_create(&exit_key, thread_exit_destructor) == 0)
		exit_key_ready = 1;
}

static uint32_t chunk_capacity(const uint8_t *chunk)
{
	return ((const struct mp_chunk_header *)chunk)->capacity;
}

/* Returns an entry index + 1, or 0 if no memory; called with live_lock held. */
static uint32_t take_entry(void)
{
	if (free_head) {
		uint32_t index = free_head - 1;
		free_head = entries[index].next_free;
		return index + 1;
	}
	if (entry_count == entry_capacity) {
		uint32_t capacity = entry_capacity ? entry_capacity * 2 : 256;
		struct chunk_entry *grown = mp_sys_map_anon(capacity * sizeof(*grown));
		if (!grown)
			return 0;
		for (uint32_t i = 0; i < entry_count; i++)
			grown[i] = entries[i];
		struct chunk_entry *old = entries;
		uint32_t old_capacity = entry_capacity;
		__atomic_store_n(&entries, grown, __ATOMIC_RELEASE);
		entry_capacity = capacity;
		if (old)
			mp_sys_unmap(old, old_capacity * sizeof(*old));
	}
	return ++entry_count;
}

/* The last chunks of ended threads, still mapped: each unmap as its thread ended flushed
 * the TLBs of the CPUs running the program's other threads (an interrupt a VM pays dearly
 * for; perf put a tenth of what memprof added to a short thread there). They are unmapped
 * RETIRED_MAX at a time instead, by the thread that fills the list, with one munmap for
 * each run of them that lie side by side (the kernel maps successive small chunks next to
 * each other): 1000 short threads, 74.0 -> 71.7 ms. Only chunks of up to RETIRED_BYTES
 * wait: at most 128 KiB. Under live_lock; a fork child unmaps those it finds listed. */
#define RETIRED_MAX 32u
#define RETIRED_BYTES 4096u
static uint8_t *retired[RETIRED_MAX];
static uint32_t retired_count;

/* Unmaps chunks[0..count), all RETIRED_BYTES or less, merging neighbours. */
static void unmap_retired(uint8_t **chunks, uint32_t count)
{
	for (uint32_t i = 1; i < count; i++) { /* by address: insertion sort of a few */
		uint8_t *chunk = chunks[i];
		uint32_t j = i;
		for (; j > 0 && chunks[j - 1] > chunk; j--)
			chunks[j] = chunks[j - 1];
		chunks[j] = chunk;
	}
	for (uint32_t i = 0; i < count;) {
		uint8_t *start = chunks[i], *end = start + chunk_capacity(start);
		for (i++; i < count && chunks[i] == end; i++)
			end += chunk_capacity(chunks[i]);
		mp_sys_unmap(start, (size_t)(end - start));
	}
}

/* Records that the thread now writes `chunk` (NULL: none) in its registry entry, then
 * unmaps `old`, after the lock (a fork sees the entry name the new chunk or the old one,
 * still mapped; a signal handler calling exit() rarely finds the lock held); a small
 * last chunk waits in the retired list. */
static void track_chunk(struct mp_thread *thread, uint8_t *chunk, uint8_t *old)
{
	uint8_t *batch[RETIRED_MAX];
	uint32_t batch_count = 0;
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	mp_lock(&live_lock, MP_LOCK_CHUNKS);
	if (!chunk && old && chunk_capacity(old) <= RETIRED_BYTES) {
		retired[retired_count] = old;
		__atomic_store_n(&retired_count, retired_count + 1, __ATOMIC_RELEASE);
		old = NULL;
		if (retired_count == RETIRED_MAX) {
			batch_count = retired_count;
			memcpy(batch, retired, sizeof(batch));
			__atomic_store_n(&retired_count, 0, __ATOMIC_RELEASE);
		}
	}
	if (!thread->serial)
		thread->serial = ++last_serial;
	if (chunk && !thread->entry)
		thread->entry = take_entry();
	if (thread->entry) {
		uint32_t index = thread->entry - 1;
		entries[index].chunk = chunk;
		if (!chunk) {
			entries[index].next_free = free_head;
			free_head = thread->entry;
			thread->entry = 0;
		}
	}
	mp_unlock(&live_lock, MP_LOCK_CHUNKS);
	mp_sys_signals_release(&signals);
	if (old)
		mp_sys_unmap(old, chunk_capacity(old));
	if (batch_count)
		unmap_retired(batch, batch_count);
}

static uint32_t next_capacity(const struct mp_thread *thread, size_t need)
{
	uint32_t capacity = mp_trace_file_page_size(); /* chunks are mapped at their offsets */
	if (mp_trace_file_ending()) {
		while (capacity < ENDING_CHUNK_BYTES)
			capacity *= 2;
	} else if (thread->chunk && chunk_capacity(thread->chunk) < MAX_CHUNK_BYTES) {
		capacity = chunk_capacity(thread->chunk) * 2;
	} else if (thread->chunk) {
		capacity = MAX_CHUNK_BYTES;
	}
	while (capacity < need + sizeof(struct mp_chunk_header))
		capacity *= 2;
	return capacity;
}

static uint8_t *reserve_slow(struct mp_thread *thread, size_t need)
{
	uint8_t *old = thread->chunk;
	if (!thread->serial)
		track_chunk(thread, NULL, NULL); /* assigns the serial */
	struct mp_chunk_header fields = {
		.thread_serial = thread->serial,
		.tid = (uint32_t)syscall(SYS_gettid),
		.chunk_seq = thread->chunk_seq,
		.base_time_ns = thread->prev_time,
	};
	uint8_t *chunk = mp_trace_file_new_chunk(next_capacity(thread, need), &fields);
	if (!chunk)
		return NULL; /* recording stopped; trace_file.c said why */
	track_chunk(thread, chunk, old);
	/* The destructor is how a thread's last chunk is unmapped when the thread ends; it
	 * is armed again if the thread records after it ran (a later TLS destructor). */
	if (!old && exit_key_ready)
		pthread_setspecific(exit_key, thread);
	thread->chunk_seq++;
	thread->chunk = chunk;
	thread->pos = chunk + sizeof(struct mp_chunk_header);
	thread->limit = chunk + ((struct mp_chunk_header *)chunk)->capacity;
	thread->prev_addr = 0;
	return thread->pos;
}

uint8_t *mp_chunk_reserve_slow(struct mp_thread *thread, size_t need)
{
	if (!mp_state_is_ready())
		return NULL;
	/* Signals held: a handler that jumps out of the middle of it (recording_jumps.c)
	 * would leave the thread's chunk, the registry or the file half-changed, and a
	 * thread's first chunk (the trace itself, for the first thread) takes long enough
	 * for a fast timer to land in it. Two system calls, against a mapping's. */
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	uint8_t *at = reserve_slow(thread, need);
	mp_sys_signals_release(&signals);
	return at;
}

/* Each record updates the delta bases as it is encoded, before it is committed: the
 * bases after the last committed record are found by decoding the chunk, as a reader
 * does. Extended records carry no event and leave them as they are. */
int mp_chunk_resume(struct mp_thread *thread)
{
	if (!thread->chunk)
		return 0;
	const struct mp_chunk_header *header = (const struct mp_chunk_header *)thread->chunk;
	struct mp_decode_state state = { 0, header->base_time_ns };
	const uint8_t *at = thread->chunk + sizeof(*header), *end = thread->pos;
	while (at < end) {
		unsigned tag = *at++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t len;
			if (mp_decode_u(&at, end, &len) || len > (uint64_t)(end - at))
				return -1;
			at += len;
			continue;
		}
		struct mp_raw_event raw;
		if (mp_decode_event(&at, end, tag, &state, &raw) < 0)
			return -1;
	}
	thread->prev_addr = state.prev_addr;
	thread->prev_time = state.prev_time;
	return 0;
}

void mp_chunk_thread_exit(struct mp_thread *thread)
{
	if (!thread->chunk)
		return;
	struct mp_chunk_header *header = (struct mp_chunk_header *)thread->chunk;
	__atomic_or_fetch(&header->flags, MP_CHUNK_LAST, __ATOMIC_RELEASE);
	track_chunk(thread, NULL, thread->chunk);
	thread->chunk = thread->pos = thread->limit = NULL;
}

int mp_chunk_rescue(struct mp_thread *thread)
{
	if (thread->held_locks & (MP_LOCK_FILE | MP_LOCK_CHUNKS))
		return -EDEADLK;
	/* Its chunk may be mid-record, or already unmapped with the new one not yet set:
	 * forget it without touching it. A new serial starts the next chunk afresh. */
	thread->chunk = thread->pos = thread->limit = NULL;
	thread->serial = 0;
	thread->entry = 0;
	thread->chunk_seq = 0;
	thread->prev_addr = 0;
	thread->prev_time = mp_clock_now_ns();
	return 0;
}

void mp_chunk_after_fork_child(struct mp_thread *self)
{
	/* Only this thread survives the fork; every chunk mapped is the parent's file. The
	 * lock may be held by a thread that is gone: the registry is read as it is (see
	 * above). */
	for (uint32_t i = 0; i < entry_count; i++) {
		if (entries[i].chunk)
			mp_sys_unmap(entries[i].chunk, chunk_capacity(entries[i].chunk));
	}
	/* A batch taken out of the list but not unmapped yet by the parent's thread stays
	 * mapped here, unknown: up to RETIRED_MAX pages, never written. */
	for (uint32_t i = 0; i < retired_count && i < RETIRED_MAX; i++)
		mp_sys_unmap(retired[i], chunk_capacity(retired[i]));
	retired_count = 0;
	entry_count = 0;
	free_head = 0;
	last_serial = 0;
	mp_mutex_reset(&live_lock);
	self->chunk = self->pos = self->limit = NULL;
	self->serial = 0;
	self->chunk_seq = 0;
	self->entry = 0;
	self->prev_addr = 0;
}

uint32_t mp_chunk_last_serial(void)
{
	return __atomic_load_n(&last_serial, __ATOMIC_RELAXED);
}
