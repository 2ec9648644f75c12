/* event_pipe.h: a trace's events read on a thread of their own, handed over in batches.
 *
 * Reading (decoding the records and merging the threads' streams in time order) and
 * replaying them into the heap model cost about the same; on two cores the pipe does the
 * first while the caller does the second, which took the bench trace's replay from 35 to
 * 21 ms. The events come out exactly as mp_trace_next gives them, in the same order.
 * Batches sit in a fixed ring, so memory does not grow with the number of events.
 */
#ifndef MEMPROF_EVENT_PIPE_H
#define MEMPROF_EVENT_PIPE_H

#include <stddef.h>

#include "trace_read.h"

struct mp_event_pipe;

/* Starts reading `trace`'s events on a new thread; until mp_event_pipe_finish the caller
 * must not call mp_trace_next or mp_trace_rewind on it. NULL without memory or thread
 * (then the caller reads the trace itself). */
struct mp_event_pipe *mp_event_pipe_start(struct mp_trace *trace);

/* The next batch of events, in trace order: sets *events and returns how many (at least
 * one), or returns 0 once the reader has stopped (see mp_event_pipe_finish). A batch
 * stays valid until the next call. Blocks while the reader is behind. */
size_t mp_event_pipe_next(struct mp_event_pipe *pipe, const struct mp_event **events);

/* Asks the reader to stop after the batch it is filling, handing over every event it has
 * read: mp_event_pipe_next returns the batches published until then, then 0. The events
 * left in the trace are then the caller's to read (after mp_event_pipe_finish). For a
 * consumer that finds it better to read them itself (core_share.h). */
void mp_event_pipe_drain(struct mp_event_pipe *pipe);

/* Stops the reader if it is still going, waits for its thread and frees the pipe.
 * Returns mp_trace_next's last result: 0 when the events ended, negative when a record
 * did not decode (the events before it were all handed over), or 0 when stopped early. */
int mp_event_pipe_finish(struct mp_event_pipe *pipe);

#endif
