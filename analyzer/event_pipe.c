/* event_pipe.c: one reader thread filling a ring of event batches for one consumer.
 *
 * The reader fills slot `filled % PIPE_SLOTS` and publishes it by advancing `filled`;
 * the consumer holds slot `taken % PIPE_SLOTS` until its next call, then advances
 * `taken`. Each side spins briefly when the other is behind (a batch takes some
 * microseconds to fill or to replay) and then sleeps on the condition variable. A
 * sleeper first counts itself in `sleepers` and then checks its condition again, while a
 * publisher first advances its counter and then looks at `sleepers` (both sequentially
 * consistent), so a wake-up is never lost: one of the two sees the other's write.
 */
#include "event_pipe.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* 256 events of 96 bytes, 16 slots: 384 KiB, well inside one core's L2. */
#define PIPE_BATCH 256
#define PIPE_SLOTS 16
#define PIPE_SPINS 256

struct pipe_batch {
	size_t count;
	struct mp_event events[PIPE_BATCH];
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
	int sleepers;
	int result;
	struct pipe_batch slots[PIPE_SLOTS];
};

static uint64_t pipe_load(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static int pipe_flag(const int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

/* Makes a write visible to the other side and wakes it if it sleeps. */
static void pipe_publish_counter(struct mp_event_pipe *pipe, uint64_t *counter, uint64_t value)
{
	__atomic_store_n(counter, value, __ATOMIC_SEQ_CST);
	if (pipe_flag(&pipe->sleepers)) {
		pthread_mutex_lock(&pipe->lock);
		pthread_cond_broadcast(&pipe->wake);
		pthread_mutex_unlock(&pipe->lock);
	}
}

static void pipe_publish_flag(struct mp_event_pipe *pipe, int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&pipe->lock);
	pthread_cond_broadcast(&pipe->wake);
	pthread_mutex_unlock(&pipe->lock);
}

static int pipe_has_room(const struct mp_event_pipe *pipe)
{
	return pipe_load(&pipe->filled) - pipe_load(&pipe->taken) < PIPE_SLOTS ||
	       pipe_flag(&pipe->cancelled);
}

static int pipe_has_batch(const struct mp_event_pipe *pipe)
{
	return pipe_load(&pipe->filled) > pipe->taken || pipe_flag(&pipe->ended);
}

/* Returns once ready(pipe) holds. */
static void pipe_wait(struct mp_event_pipe *pipe, int (*ready)(const struct mp_event_pipe *))
{
	for (int spin = 0; spin < PIPE_SPINS; spin++) {
		if (ready(pipe))
			return;
		__builtin_ia32_pause();
	}
	pthread_mutex_lock(&pipe->lock);
	__atomic_add_fetch(&pipe->sleepers, 1, __ATOMIC_SEQ_CST);
	while (!ready(pipe))
		pthread_cond_wait(&pipe->wake, &pipe->lock);
	__atomic_sub_fetch(&pipe->sleepers, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&pipe->lock);
}

static void *pipe_read(void *arg)
{
	struct mp_event_pipe *pipe = arg;
	char err[8]; /* mp_trace_next writes no message today; its result is kept */

	for (;;) {
		pipe_wait(pipe, pipe_has_room);
		if (pipe_flag(&pipe->cancelled))
			break;
		struct pipe_batch *batch = &pipe->slots[pipe->filled % PIPE_SLOTS];
		int rc = 1;
		size_t count = 0;
		while (count < PIPE_BATCH &&
		       (rc = mp_trace_next(pipe->trace, &batch->events[count], err, sizeof(err))) == 1)
			count++;
		batch->count = count;
		if (count)
			pipe_publish_counter(pipe, &pipe->filled, pipe->filled + 1);
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

size_t mp_event_pipe_next(struct mp_event_pipe *pipe, const struct mp_event **events)
{
	if (pipe->holding) {
		pipe->holding = 0;
		pipe_publish_counter(pipe, &pipe->taken, pipe->taken + 1);
	}
	pipe_wait(pipe, pipe_has_batch);
	/* `ended` is published after the last batch, so a batch may still be waiting. */
	if (pipe_load(&pipe->filled) == pipe->taken)
		return 0;
	const struct pipe_batch *batch = &pipe->slots[pipe->taken % PIPE_SLOTS];
	pipe->holding = 1;
	*events = batch->events;
	return batch->count;
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
