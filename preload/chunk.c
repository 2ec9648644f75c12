/* chunk.c: per-thread chunks of the trace file, and the list of threads that hold one.
 *
 * A thread writes only into its own chunk; the common path is a bounds check in
 * mp_chunk_reserve (internal.h) and one release store in mp_chunk_commit. This file is the
 * slow path: the first chunk of a thread, a full chunk, a thread that ends, and fork.
 * Chunks grow from 64 KiB to 1 MiB per thread, so a short-lived thread costs little file
 * and a busy one starts a new chunk rarely.
 */
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define FIRST_CHUNK_BYTES (64u * 1024u)
#define MAX_CHUNK_BYTES (1024u * 1024u)

__thread struct mp_thread mp_self_thread __attribute__((tls_model("initial-exec")));

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_thread *live_head;
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

static void register_thread(struct mp_thread *thread)
{
	pthread_mutex_lock(&live_lock);
	if (!thread->serial)
		thread->serial = ++last_serial;
	thread->prev_live = NULL;
	thread->next_live = live_head;
	if (live_head)
		live_head->prev_live = thread;
	live_head = thread;
	thread->registered = 1;
	pthread_mutex_unlock(&live_lock);
	/* The destructor is how a thread's last chunk gets unmapped when the thread ends. */
	if (exit_key_ready)
		pthread_setspecific(exit_key, thread);
}

static void unregister_thread(struct mp_thread *thread)
{
	pthread_mutex_lock(&live_lock);
	if (thread->prev_live)
		thread->prev_live->next_live = thread->next_live;
	else if (live_head == thread)
		live_head = thread->next_live;
	if (thread->next_live)
		thread->next_live->prev_live = thread->prev_live;
	thread->next_live = thread->prev_live = NULL;
	thread->registered = 0;
	pthread_mutex_unlock(&live_lock);
}

static uint32_t chunk_capacity(const uint8_t *chunk)
{
	return ((const struct mp_chunk_header *)chunk)->capacity;
}

static uint32_t next_capacity(const struct mp_thread *thread, size_t need)
{
	uint32_t capacity = FIRST_CHUNK_BYTES;
	if (thread->chunk && chunk_capacity(thread->chunk) < MAX_CHUNK_BYTES)
		capacity = chunk_capacity(thread->chunk) * 2;
	else if (thread->chunk)
		capacity = MAX_CHUNK_BYTES;
	while (capacity < need + sizeof(struct mp_chunk_header))
		capacity *= 2;
	return capacity;
}

static void release_chunk(struct mp_thread *thread)
{
	if (thread->chunk)
		mp_unmap(thread->chunk, chunk_capacity(thread->chunk));
	thread->chunk = thread->pos = thread->limit = NULL;
}

uint8_t *mp_chunk_reserve_slow(struct mp_thread *thread, size_t need)
{
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) != MP_STATE_READY)
		return NULL;
	uint32_t capacity = next_capacity(thread, need);
	if (!thread->registered)
		register_thread(thread);
	struct mp_chunk_header fields = {
		.thread_serial = thread->serial,
		.tid = (uint32_t)syscall(SYS_gettid),
		.chunk_seq = thread->chunk_seq,
		.base_time_ns = thread->prev_time,
	};
	release_chunk(thread);
	uint8_t *chunk = mp_trace_file_new_chunk(capacity, &fields);
	if (!chunk) {
		mp_disable("cannot extend the trace file; recording stopped");
		return NULL;
	}
	thread->chunk_seq++;
	thread->chunk = chunk;
	thread->pos = chunk + sizeof(struct mp_chunk_header);
	thread->limit = chunk + capacity;
	thread->prev_addr = 0;
	return thread->pos;
}

void mp_chunk_thread_exit(struct mp_thread *thread)
{
	if (thread->chunk) {
		struct mp_chunk_header *header = (struct mp_chunk_header *)thread->chunk;
		__atomic_or_fetch(&header->flags, MP_CHUNK_LAST, __ATOMIC_RELEASE);
	}
	if (thread->registered)
		unregister_thread(thread);
	release_chunk(thread);
}

void mp_chunk_after_fork_child(struct mp_thread *self)
{
	/* Only this thread survives the fork; the others' chunks are the parent's file. */
	for (struct mp_thread *other = live_head; other; other = other->next_live) {
		if (other != self && other->chunk)
			mp_unmap(other->chunk, chunk_capacity(other->chunk));
	}
	release_chunk(self);
	live_head = NULL;
	last_serial = 0;
	pthread_mutex_init(&live_lock, NULL);
	self->serial = 0;
	self->chunk_seq = 0;
	self->registered = 0;
	self->prev_addr = 0;
	self->next_live = self->prev_live = NULL;
}

void mp_chunk_lock(void)
{
	pthread_mutex_lock(&live_lock);
}

void mp_chunk_unlock(void)
{
	pthread_mutex_unlock(&live_lock);
}
