/* trace_merge.c: the threads' events merged into one stream in time order.
 *
 * One cursor per thread, kept in a binary heap by the time of its next event, decodes
 * straight from the mapping (memprof/trace_decode.h): memory grows with threads, not
 * with events.
 */
#include <errno.h>
#include <stdlib.h>

#include "trace_private.h"

static int read_cmp_chunk(const void *left, const void *right)
{
	const struct mp_trace_chunk *a = left, *b = right;
	if (a->serial != b->serial)
		return a->serial < b->serial ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->file_order < b->file_order ? -1 : a->file_order > b->file_order;
}

static void read_enter_chunk(struct mp_trace_stream *stream, const struct mp_trace_chunk *chunk)
{
	stream->chunk = chunk;
	stream->at = chunk->records;
	stream->end = chunk->end;
	stream->state = (struct mp_decode_state){ 0, chunk->base_time };
}

static int read_is_release(const struct mp_event *event)
{
	switch (event->tag) {
	case MP_REC_FREE: case MP_REC_MUNMAP: case MP_REC_MREMAP:
		return 1;
	case MP_REC_REALLOC:
		return event->old_addr != 0;
	default:
		return 0;
	}
}

/* Decodes the stream's next event into *event and its raw stack id into *raw_stack;
 * returns 0 when the thread ends. The index pass already cut every chunk before its first
 * bad record, so the checks here are only a second line of defence. */
static int read_stream_decode(struct mp_trace_stream *stream, struct mp_event *event,
			      uint64_t *raw_stack)
{
	for (;;) {
		if (stream->at >= stream->end) {
			const struct mp_trace_chunk *done = stream->chunk;
			mp_trace_release(stream->trace, done->records - sizeof(struct mp_chunk_header),
					 done->end);
			if (done + 1 >= stream->chunks_end)
				return 0;
			read_enter_chunk(stream, done + 1);
			continue;
		}
		unsigned tag = *stream->at++;
		if (tag >= MP_REC_EXTENDED) {
			uint64_t len;
			if (mp_decode_u(&stream->at, stream->end, &len) ||
			    len > (uint64_t)(stream->end - stream->at))
				stream->at = stream->end;
			else
				stream->at += len;
			continue;
		}
		if (mp_decode_event_into(&stream->at, stream->end, tag, &stream->state, event,
					 raw_stack)) {
			stream->at = stream->end;
			continue;
		}
		event->thread_serial = stream->chunk->serial;
		event->tid = stream->chunk->tid;
		return 1;
	}
}

/* read_stream_decode for the common case, inline in the merge's loop: an allocation or
 * a free far enough from the chunk's end to need no bounds check per field. Anything else
 * (or a record that does not decode) goes the general way from the same place. */
static inline int read_stream_decode_fast(struct mp_trace_stream *stream, struct mp_event *event,
					  uint64_t *raw_stack)
{
	const uint8_t *at = stream->at;
	if (__builtin_expect(stream->end - at > (ptrdiff_t)MP_DECODE_SIMPLE_ROOM, 1) &&
	    *at >= MP_REC_MALLOC && *at <= MP_REC_FREE) {
		unsigned tag = *at++;
		if (mp_decode_simple(&at, tag, &stream->state, event, raw_stack) == 0) {
			stream->at = at;
			event->thread_serial = stream->chunk->serial;
			event->tid = stream->chunk->tid;
			return 1;
		}
	}
	return read_stream_decode(stream, event, raw_stack);
}

/* The merge's order of an event (see mp_trace_next): its time, then its rank. */
static void read_key(const struct mp_event *event, uint64_t *time, uint64_t *rank)
{
	int release = read_is_release(event);
	*time = release ? event->time_before_ns : event->time_ns;
	*rank = ((uint64_t)!release << 32) | event->thread_serial;
}

/* Decodes the stream's next event into stream->next; returns 0 when the thread ends. */
static int read_stream_fill(struct mp_trace_stream *stream)
{
	if (!read_stream_decode(stream, &stream->next.event, &stream->next.raw_stack))
		return 0;
	read_key(&stream->next.event, &stream->key_time, &stream->key_rank);
	return 1;
}

static inline int read_before(const struct mp_trace_stream *a, const struct mp_trace_stream *b)
{
	return a->key_time < b->key_time || (a->key_time == b->key_time && a->key_rank < b->key_rank);
}

static void read_sift_down(struct mp_trace_stream **heap, size_t len, size_t at)
{
	struct mp_trace_stream *moving = heap[at];
	for (;;) {
		size_t child = 2 * at + 1;
		if (child >= len)
			break;
		if (child + 1 < len && read_before(heap[child + 1], heap[child]))
			child++;
		if (!read_before(heap[child], moving))
			break;
		heap[at] = heap[child];
		at = child;
	}
	heap[at] = moving;
}

/* Puts every stream at its first event and builds the heap. */
static void read_start_merge(struct mp_trace *trace)
{
	trace->heap_len = 0;
	trace->stats.undefined_stacks = 0;
	for (size_t i = 0; i < trace->stream_count; i++) {
		struct mp_trace_stream *stream = &trace->streams[i];
		read_enter_chunk(stream, stream->first_chunk);
		if (read_stream_fill(stream))
			trace->heap[trace->heap_len++] = stream;
	}
	for (size_t i = trace->heap_len / 2; i-- > 0;)
		read_sift_down(trace->heap, trace->heap_len, i);
}

/* Per thread (the streams, chunks sorted by seq): whether its last chunk says it ended,
 * and how many chunk numbers are missing; and the thread serials (1, 2, ... in order of
 * first event) missing below the highest. */
static void read_count_gaps(struct mp_trace *trace)
{
	uint32_t previous_serial = 0;

	for (size_t i = 0; i < trace->stream_count; i++) {
		const struct mp_trace_stream *stream = &trace->streams[i];
		uint32_t expected = 0;
		if (stream->first_chunk->serial > previous_serial + 1)
			trace->stats.missing_serials += stream->first_chunk->serial - previous_serial - 1;
		previous_serial = stream->first_chunk->serial;
		for (const struct mp_trace_chunk *chunk = stream->first_chunk;
		     chunk < stream->chunks_end; chunk++) {
			if (chunk->seq > expected)
				trace->stats.missing_chunks += chunk->seq - expected;
			expected = chunk->seq + 1;
		}
		trace->stats.threads_ended += (stream->chunks_end[-1].flags & MP_CHUNK_LAST) != 0;
	}
}

/* The sum over threads of the most blocks each had created and not released at any point
 * of its chunks, in order (mp_trace_live_hint). Exact for a thread that frees only its own
 * blocks and never reallocs; another thread's frees make it too high, unknown frees and
 * realloc(NULL, n) too low. */
static uint64_t read_live_hint(const struct mp_trace *trace)
{
	uint64_t hint = 0;
	for (size_t i = 0; i < trace->stream_count; i++) {
		const struct mp_trace_stream *stream = &trace->streams[i];
		int64_t net = 0;
		uint64_t most = 0;
		for (const struct mp_trace_chunk *chunk = stream->first_chunk;
		     chunk < stream->chunks_end; chunk++) {
			int64_t reached = net + (int64_t)chunk->most_net_blocks;
			if (reached > 0 && (uint64_t)reached > most)
				most = (uint64_t)reached;
			net += chunk->net_blocks;
		}
		hint += most;
	}
	return hint;
}

int mp_trace_merge_build(struct mp_trace *trace)
{
	if (trace->chunk_count)
		qsort(trace->chunks, trace->chunk_count, sizeof(*trace->chunks), read_cmp_chunk);
	size_t threads = 0;
	for (size_t i = 0; i < trace->chunk_count; i++)
		threads += i == 0 || trace->chunks[i].serial != trace->chunks[i - 1].serial;
	trace->streams = calloc(threads ? threads : 1, sizeof(*trace->streams));
	trace->heap = calloc(threads ? threads : 1, sizeof(*trace->heap));
	if (!trace->streams || !trace->heap)
		return -ENOMEM;
	for (size_t i = 0; i < trace->chunk_count; i++) {
		if (i == 0 || trace->chunks[i].serial != trace->chunks[i - 1].serial) {
			trace->streams[trace->stream_count].trace = trace;
			trace->streams[trace->stream_count++].first_chunk = &trace->chunks[i];
		}
		trace->streams[trace->stream_count - 1].chunks_end = &trace->chunks[i + 1];
	}
	read_count_gaps(trace);
	trace->live_hint = read_live_hint(trace);
	trace->stats.threads = (uint32_t)threads;
	trace->stats.chunks = (uint32_t)trace->chunk_count;
	read_start_merge(trace);
	return 0;
}

/* The event of a stream, with its canonical stack id, as it leaves the merge. */
static void read_emit(struct mp_trace *trace, struct mp_event *event, uint64_t raw_stack)
{
	event->stack_id = mp_stacks_lookup(&trace->stacks, raw_stack);
	if (event->stack_id == 0 && raw_stack != 0)
		trace->stats.undefined_stacks++;
}

/* Takes the first stream's next event out of the heap's order: decodes the one after it
 * and puts the stream back in its place (or drops it at its end). */
static void read_advance(struct mp_trace *trace, struct mp_trace_stream *stream)
{
	if (!read_stream_fill(stream))
		trace->heap[0] = trace->heap[--trace->heap_len];
	if (trace->heap_len > 1)
		read_sift_down(trace->heap, trace->heap_len, 0);
}

int mp_trace_next(struct mp_trace *trace, struct mp_event *event, char *err, size_t err_len)
{
	(void)err;
	(void)err_len;
	if (trace->heap_len == 0)
		return 0;
	struct mp_trace_stream *stream = trace->heap[0];
	*event = stream->next.event;
	read_emit(trace, event, stream->next.raw_stack);
	read_advance(trace, stream);
	return 1;
}

/* The stream that comes second in the merge, after heap[0]: one of its children. NULL
 * when heap[0] is alone. */
static const struct mp_trace_stream *read_runner_up(const struct mp_trace *trace)
{
	if (trace->heap_len < 2)
		return NULL;
	if (trace->heap_len > 2 && read_before(trace->heap[2], trace->heap[1]))
		return trace->heap[2];
	return trace->heap[1];
}

/* Whether `event` comes after the runner-up's next one, which ends the run; its key goes
 * to *time and *rank. Asked only when there is a runner-up: a trace of one thread (most)
 * needs no key for its events. */
static inline int read_run_ends(const struct mp_trace_stream *runner,
				const struct mp_event *event, uint64_t *time, uint64_t *rank)
{
	read_key(event, time, rank);
	return runner->key_time < *time || (runner->key_time == *time && runner->key_rank < *rank);
}

/* Decodes the first stream's events straight into events[count..max) for as long as
 * they come before every other stream's next one (a thread's events come in runs; with
 * one thread, all of them), so that most events are written once, where the caller reads
 * them. The event that ends the run becomes the stream's next and the heap is put in
 * order again. Returns the new count. */
static size_t read_run(struct mp_trace *trace, struct mp_event *events, size_t count,
		       size_t max)
{
	struct mp_trace_stream *stream = trace->heap[0];
	const struct mp_trace_stream *runner = read_runner_up(trace);
	while (count < max) {
		struct mp_event *event = &events[count];
		uint64_t raw_stack, time, rank;
		if (!read_stream_decode_fast(stream, event, &raw_stack)) {
			trace->heap[0] = trace->heap[--trace->heap_len];
			read_sift_down(trace->heap, trace->heap_len, 0);
			return count;
		}
		if (runner && read_run_ends(runner, event, &time, &rank)) {
			stream->next.event = *event;
			stream->next.raw_stack = raw_stack;
			stream->key_time = time;
			stream->key_rank = rank;
			read_sift_down(trace->heap, trace->heap_len, 0);
			return count;
		}
		read_emit(trace, event, raw_stack);
		count++;
	}
	read_advance(trace, stream);
	return count;
}

size_t mp_trace_next_batch(struct mp_trace *trace, struct mp_event *events, size_t max)
{
	size_t count = 0;
	while (count < max && trace->heap_len > 0) {
		struct mp_trace_stream *stream = trace->heap[0];
		events[count] = stream->next.event;
		read_emit(trace, &events[count], stream->next.raw_stack);
		count = read_run(trace, events, count + 1, max);
	}
	return count;
}

void mp_trace_rewind(struct mp_trace *trace)
{
	read_start_merge(trace);
}
