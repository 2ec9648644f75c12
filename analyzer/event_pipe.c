/* event_pipe.c: one reader thread filling a ring of event batches for one consumer.
 *
 * The reader fills slot `filled % PIPE_SLOTS` and publishes it by advancing `filled`;
 * the consumer holds slot `taken % PIPE_SLOTS` until its next call, then advances
 * `taken`. Each side spins while the other is behind (a batch takes some microseconds to
 * fill or to replay), then sleeps on the condition variable until half the ring is ready
 * for it (pipe_wait).
 *
 * What crosses between the two cores is kept small and written around the caches: every
 * line of a batch the reader wrote with plain stores moved to the consumer's cache, and
 * had to be taken back from it before the reader could write it again, which made the
 * reader half as fast as alone. So the common events (allocations and frees) cross as
 * 40-byte entries written with non-temporal stores (to memory, no line fetched for
 * them: the consumer reads them from memory, in order, which the prefetcher follows),
 * and the consumer rebuilds struct mp_event on its side. Any other event crosses whole,
 * in the batch's `whole` array, by plain stores.
 */
#include "event_pipe.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <emmintrin.h>

/* 256 events, 16 slots: 160 KiB of entries, inside one core's L2. */
#define PIPE_BATCH 256
#define PIPE_SLOTS 16
/* How many entries ahead of the one being rebuilt the consumer asks for (10 lines). */
#define PIPE_PREFETCH_AHEAD 16
/* Events that cross whole in one batch at most; a batch ends early when they are used. */
#define PIPE_WHOLE 32
/* How long a side spins before it sleeps: about the time of a few batches. Longer was
 * faster with two free cores and far slower with one (another process on the other core),
 * the spinning side then holding the core that the side it waits for needs. */
#define PIPE_SPIN_NS 20000
#define PIPE_SPINS_PER_CLOCK 64

/* An allocation or a free as it crosses: struct mp_event's fields that such an event
 * sets, in words. tag 0 (no event has it): the event is whole[addr] of the batch. */
struct pipe_entry {
	uint64_t time_ns;
	uint64_t addr;
	uint64_t size;
	uint64_t stack_serial; /* stack_id | thread_serial << 32 */
	uint64_t tid_tag;      /* tid | tag << 32 */
};

struct pipe_batch {
	size_t count;
	struct pipe_entry entries[PIPE_BATCH];
	struct mp_event whole[PIPE_WHOLE];
};

struct mp_event_pipe {
	struct mp_trace *trace;
	pthread_t reader;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	uint64_t filled;   /* batches published by the reader */
	uint64_t taken;    /* batches given back by the consumer */
	int holding;       /* the consumer holds slot taken % PIPE_SLOTS */
	int ended;         /* the reader has published its last batch and `result` */
	int cancelled;     /* the consumer wants no more */
	int draining;      /* the consumer wants no more batches, but every event read */
	int reader_asleep;   /* until the ring is half empty */
	int consumer_asleep; /* until the ring is half full, or the reader has ended */
	int result;
	struct pipe_batch slots[PIPE_SLOTS];
	struct mp_event events[PIPE_BATCH]; /* the consumer's: the batch it holds, rebuilt */
};

static uint64_t pipe_load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static int pipe_flag(const int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

static uint64_t pipe_queued(const struct mp_event_pipe *pipe)
{
	return pipe_load(&pipe->filled) - pipe_load(&pipe->taken);
}

/* Whether the reader is to stop filling batches. */
static int pipe_stopping(const struct mp_event_pipe *pipe)
{
	return pipe_flag(&pipe->cancelled) || pipe_flag(&pipe->draining);
}

/* What each side waits for: spinning, a slot or a batch; asleep, half the ring. */
static int pipe_has_room(const struct mp_event_pipe *pipe)
{
	return pipe_queued(pipe) < PIPE_SLOTS || pipe_stopping(pipe);
}

static int pipe_half_empty(const struct mp_event_pipe *pipe)
{
	return pipe_queued(pipe) <= PIPE_SLOTS / 2 || pipe_stopping(pipe);
}

static int pipe_has_batch(const struct mp_event_pipe *pipe)
{
	return pipe_queued(pipe) > 0 || pipe_flag(&pipe->ended);
}

static int pipe_half_full(const struct mp_event_pipe *pipe)
{
	return pipe_queued(pipe) >= PIPE_SLOTS / 2 || pipe_flag(&pipe->ended);
}

static void pipe_wake(struct mp_event_pipe *pipe)
{
	pthread_mutex_lock(&pipe->lock);
	pthread_cond_broadcast(&pipe->wake);
	pthread_mutex_unlock(&pipe->lock);
}

/* Publishes a new value of the reader's or the consumer's counter, and wakes the other
 * side if it sleeps and what it sleeps for has come. */
static void pipe_publish(struct mp_event_pipe *pipe, uint64_t *counter, const int *other_asleep,
			 int (*other_wakes)(const struct mp_event_pipe *))
{
	__atomic_store_n(counter, *counter + 1, __ATOMIC_SEQ_CST);
	if (pipe_flag(other_asleep) && other_wakes(pipe))
		pipe_wake(pipe);
}

static void pipe_publish_flag(struct mp_event_pipe *pipe, int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
	pipe_wake(pipe);
}

static uint64_t pipe_now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Spins up to PIPE_SPIN_NS for ready(pipe); 1 if it came. Between rounds of pauses it
 * yields: when the side it waits for shares its core (another process holds the other),
 * that side then runs instead of waiting for the spin to end. */
static int pipe_spin(const struct mp_event_pipe *pipe, int (*ready)(const struct mp_event_pipe *))
{
	uint64_t start = 0;
	for (;;) {
		for (int spin = 0; spin < PIPE_SPINS_PER_CLOCK; spin++) {
			if (ready(pipe))
				return 1;
			__builtin_ia32_pause();
		}
		sched_yield();
		uint64_t now = pipe_now_ns();
		if (!start)
			start = now;
		else if (now - start > PIPE_SPIN_NS)
			return 0;
	}
}

/* Returns once ready(pipe) holds: spinning a while, then asleep until wakes(pipe), which
 * asks for half the ring (a slot or a batch would wake the sleeper, and make the other
 * side pay a system call, at every batch when one side is only slightly faster). The
 * sleeper sets *asleep and then checks, the publisher (pipe_publish) advances its counter
 * and then looks at *asleep, both sequentially consistent: one of the two sees the other's
 * write, so a wake-up is never lost. */
static void pipe_wait(struct mp_event_pipe *pipe, int (*ready)(const struct mp_event_pipe *),
		      int *asleep, int (*wakes)(const struct mp_event_pipe *))
{
	if (pipe_spin(pipe, ready))
		return;
	pthread_mutex_lock(&pipe->lock);
	__atomic_store_n(asleep, 1, __ATOMIC_SEQ_CST);
	while (!wakes(pipe))
		pthread_cond_wait(&pipe->wake, &pipe->lock);
	__atomic_store_n(asleep, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&pipe->lock);
}

/* Whether an event crosses as a pipe_entry: the fields an entry lacks are those the
 * decoder leaves 0 (or equal to time_ns) for an allocation or a free. */
static int pipe_fits_entry(const struct mp_event *event)
{
	return event->tag >= MP_REC_MALLOC && event->tag <= MP_REC_FREE;
}

/* A non-temporal store: to memory, without fetching the line into this core's cache. */
static void pipe_stream(uint64_t *word, uint64_t value)
{
	_mm_stream_si64((long long *)word, (long long)value);
}

/* Writes `event` as entry `at` of the batch, or whole (the caller saw to the room). */
static void pipe_put(struct pipe_batch *batch, size_t at, size_t *wholes,
		     const struct mp_event *event)
{
	struct pipe_entry *entry = &batch->entries[at];
	if (pipe_fits_entry(event)) {
		pipe_stream(&entry->time_ns, event->time_ns);
		pipe_stream(&entry->addr, event->addr);
		pipe_stream(&entry->size, event->size);
		pipe_stream(&entry->stack_serial, (uint64_t)event->thread_serial << 32 | event->stack_id);
		pipe_stream(&entry->tid_tag, (uint64_t)event->tag << 32 | event->tid);
		return;
	}
	batch->whole[*wholes] = *event;
	pipe_stream(&entry->addr, *wholes);
	pipe_stream(&entry->tid_tag, 0);
	(*wholes)++;
}

/* Fills one batch; returns 1 if events may be left in the trace, 0 at their end. Events
 * are read a few at a time (mp_trace_next_batch), never more than the batch has room for
 * even if all of them cross whole, so that every event read is in a batch. */
static int pipe_fill(struct mp_event_pipe *pipe, struct pipe_batch *batch,
		     struct mp_event read[PIPE_WHOLE])
{
	size_t count = 0, wholes = 0;
	int rc = 1;
	while (count < PIPE_BATCH && wholes < PIPE_WHOLE) {
		size_t room = PIPE_BATCH - count < PIPE_WHOLE - wholes ? PIPE_BATCH - count
								       : PIPE_WHOLE - wholes;
		size_t got = mp_trace_next_batch(pipe->trace, read, room);
		for (size_t i = 0; i < got; i++)
			pipe_put(batch, count++, &wholes, &read[i]);
		if (got < room) {
			rc = 0;
			break;
		}
	}
	batch->count = count;
	return rc;
}

static void *pipe_read(void *arg)
{
	struct mp_event_pipe *pipe = arg;
	struct mp_event read[PIPE_WHOLE]; /* events read, on their way into a batch */

	for (;;) {
		pipe_wait(pipe, pipe_has_room, &pipe->reader_asleep, pipe_half_empty);
		if (pipe_stopping(pipe))
			break;
		struct pipe_batch *batch = &pipe->slots[pipe->filled % PIPE_SLOTS];
		int rc = pipe_fill(pipe, batch, read);
		/* Non-temporal stores are not ordered by the release that publishes the batch:
		 * they must all be visible before `filled` says so. */
		_mm_sfence();
		size_t count = batch->count;
		if (count)
			pipe_publish(pipe, &pipe->filled, &pipe->consumer_asleep, pipe_half_full);
		if (rc != 1) {
			pipe->result = rc;
			break;
		}
	}
	pipe_publish_flag(pipe, &pipe->ended);
	return NULL;
}

struct mp_event_pipe *mp_event_pipe_start(struct mp_trace *trace)
{
	struct mp_event_pipe *pipe = calloc(1, sizeof(*pipe));
	if (!pipe)
		return NULL;
	pipe->trace = trace;
	if (pthread_mutex_init(&pipe->lock, NULL) != 0) {
		free(pipe);
		return NULL;
	}
	if (pthread_cond_init(&pipe->wake, NULL) != 0 ||
	    pthread_create(&pipe->reader, NULL, pipe_read, pipe) != 0) {
		pthread_cond_destroy(&pipe->wake);
		pthread_mutex_destroy(&pipe->lock);
		free(pipe);
		return NULL;
	}
	return pipe;
}

/* The event an entry stands for, as mp_trace_next gave it to the reader. */
static void pipe_rebuild(const struct pipe_entry *entry, const struct pipe_batch *batch,
			 struct mp_event *event)
{
	uint32_t tag = (uint32_t)(entry->tid_tag >> 32);
	if (tag == 0) {
		*event = batch->whole[entry->addr];
		return;
	}
	/* Field by field, as mp_decode_event does: an initializer becomes `rep stos`. */
	event->tag = (enum mp_record_tag)tag;
	event->thread_serial = (uint32_t)(entry->stack_serial >> 32);
	event->tid = (uint32_t)entry->tid_tag;
	event->time_ns = entry->time_ns;
	event->time_before_ns = entry->time_ns;
	event->addr = entry->addr;
	event->old_addr = 0;
	event->size = entry->size;
	event->old_size = 0;
	event->stack_id = (uint32_t)entry->stack_serial;
	event->failed_function = 0;
	event->prot = 0;
	event->flags = 0;
	event->fd = 0;
	event->offset = 0;
}

/* Asks for the entries of the batch after `taken` when the reader has published it, so
 * that they come from memory while the caller replays this one (some microseconds):
 * perf put 60% of the rebuilding's time on its first load of each entry, which a
 * prefetch a few entries ahead did not hide. Any batch published later than this call
 * is read as before. */
static void pipe_prefetch_next(const struct mp_event_pipe *pipe)
{
	if (pipe_load(&pipe->filled) <= pipe->taken + 1)
		return;
	const struct pipe_batch *next = &pipe->slots[(pipe->taken + 1) % PIPE_SLOTS];
	const char *from = (const char *)next->entries;
	const char *to = (const char *)&next->entries[next->count];
	for (const char *line = from; line < to; line += 64)
		__builtin_prefetch(line);
}

size_t mp_event_pipe_next(struct mp_event_pipe *pipe, const struct mp_event **events)
{
	if (pipe->holding) {
		pipe->holding = 0;
		pipe_publish(pipe, &pipe->taken, &pipe->reader_asleep, pipe_half_empty);
	}
	pipe_wait(pipe, pipe_has_batch, &pipe->consumer_asleep, pipe_half_full);
	/* `ended` is published after the last batch, so a batch may still be waiting. */
	if (pipe_load(&pipe->filled) == pipe->taken)
		return 0;
	const struct pipe_batch *batch = &pipe->slots[pipe->taken % PIPE_SLOTS];
	pipe->holding = 1;
	/* The entries come from memory (pipe_stream), and the hardware's prefetcher starts
	 * over at each page: perf put half of this loop's time on the loads. */
	for (size_t i = 0; i < batch->count; i++) {
		if (i + PIPE_PREFETCH_AHEAD < batch->count)
			__builtin_prefetch(&batch->entries[i + PIPE_PREFETCH_AHEAD]);
		pipe_rebuild(&batch->entries[i], batch, &pipe->events[i]);
	}
	pipe_prefetch_next(pipe);
	*events = pipe->events;
	return batch->count;
}

void mp_event_pipe_drain(struct mp_event_pipe *pipe)
{
	pipe_publish_flag(pipe, &pipe->draining);
}

int mp_event_pipe_finish(struct mp_event_pipe *pipe)
{
	pipe_publish_flag(pipe, &pipe->cancelled);
	pthread_join(pipe->reader, NULL);
	int result = pipe->result;
	pthread_cond_destroy(&pipe->wake);
	pthread_mutex_destroy(&pipe->lock);
	free(pipe);
	return result;
}
