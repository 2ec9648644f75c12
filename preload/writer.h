/* writer.h: the writer layer: the trace file (trace_file.c) and the per-thread chunks in
 * it (chunk.c). What goes into a chunk, record by record, is encode.h. Calls only into
 * the base layer (base.h).
 */
#ifndef MEMPROF_PRELOAD_WRITER_H
#define MEMPROF_PRELOAD_WRITER_H

#include "base.h"

/* --- trace_file.c: the trace file and its chunks --- */
/* Creates this process's trace file, header whole and its space reserved, at the first
 * free name (NAME, NAME.1, ...: a trace still wanted is never replaced, see
 * trace_file.c), and maps its header. A fork child never replaces an existing file of the
 * same name (its parent's). 0 or -errno; then no file is left behind. */
int mp_trace_file_create(int fork_child);
/* Reserves and maps a fresh chunk of `capacity` bytes at the end of the file and fills its
 * header. NULL if the file cannot grow (full disk, the path removed or replaced, ...):
 * recording has then stopped, the header says why and stderr said it once. */
uint8_t *mp_trace_file_new_chunk(uint32_t capacity, const struct mp_chunk_header *header);
/* Reserves space ahead of the chunks to come, so that starting one only maps it (the leak
 * thread, between its rounds). */
void mp_trace_file_reserve_ahead(void);
/* The process is ending: nothing more is reserved ahead, and what was is cut off now (the
 * leak thread, while the exiting thread takes the exit snapshot), not by the exit itself. */
void mp_trace_file_ahead_done(void);
/* Whether the process is ending (mp_trace_file_ahead_done was called). Lock-free. */
int mp_trace_file_ending(void);
/* Closes the leftover trace that this one replaced at its name, if it is still open:
 * the leak thread does, beside the program, as it starts. */
void mp_trace_file_replaced_close(void);
/* The end of the chunks handed out so far: the file may be longer (space reserved ahead,
 * zeros). Lock-free. */
uint64_t mp_trace_file_end(void);
/* How many chunks the file has (the last one's file_seq). */
uint32_t mp_trace_file_chunks(void);
/* The page size chunks are aligned to. */
uint32_t mp_trace_file_page_size(void);
/* Records how the process ended in the file header. */
void mp_trace_file_set_end(enum mp_end_state state, int status);
/* Sets MP_TRACE_* flags in the file header (nothing if there is no trace). */
void mp_trace_file_add_flags(uint32_t flags);
/* Recording stops for good: the header says why (the first reason only), stderr says it
 * once, and the state goes off. */
void mp_trace_file_stop(enum mp_stop_reason reason, int err);
const char *mp_trace_file_path(void);
/* The descriptor memprof keeps on the trace file (read it with pread; never close it), or
 * -1 if there is none or the program closed it or reused its number. Lock-free. */
int mp_trace_file_fd(void);
/* The real path of the executable, read once at creation. */
const char *mp_trace_file_exe(void);
/* In a fork child: forget the parent's file (never written again) and its lock, and note
 * the child's birth, where its own trace will start. */
void mp_trace_file_forget(void);

/* --- chunk.c: per-thread chunks, reservation and commit --- */
/* Returns a pointer with at least `need` writable bytes in the thread's chunk, starting a
 * new chunk if needed, or NULL if recording is impossible (recording has then stopped,
 * said so once, and the event is lost). */
uint8_t *mp_chunk_reserve_slow(struct mp_thread *thread, size_t need);
static inline uint8_t *mp_chunk_reserve(struct mp_thread *thread, size_t need)
{
	if (MP_LIKELY((size_t)(thread->limit - thread->pos) >= need))
		return thread->pos;
	return mp_chunk_reserve_slow(thread, need);
}
/* Publishes the bytes up to `end`: after this store they survive the process dying. */
static inline void mp_chunk_commit(struct mp_thread *thread, uint8_t *end)
{
	struct mp_chunk_header *header = (struct mp_chunk_header *)thread->chunk;
	thread->pos = end;
	__atomic_store_n(&header->used, (uint32_t)(end - thread->chunk), __ATOMIC_RELEASE);
}
/* After a jump out of the recorder (recording_jumps.c): the record it left half-written
 * is dropped, and the thread's delta bases are put back to those of its last committed
 * record. 0, or -1 if the chunk does not decode (the thread must then not write to it). */
int mp_chunk_resume(struct mp_thread *thread);
/* Counts an event the thread could not record in its chunk's header. */
static inline void mp_chunk_count_dropped(struct mp_thread *thread)
{
	if (thread->chunk)
		((struct mp_chunk_header *)thread->chunk)->dropped_events++;
}
/* The thread is ending: mark its chunk last and unmap it. */
void mp_chunk_thread_exit(struct mp_thread *thread);
/* In a fork child: unmap every chunk inherited from the parent and reset this thread. */
void mp_chunk_after_fork_child(struct mp_thread *self);
/* exit() on a thread that a signal handler interrupted inside the recorder: forgets its
 * chunk, which may be mid-record, without touching it, so that its next records start a
 * chunk of a new thread serial. 0, or -EDEADLK if the interrupted code holds a writer
 * lock (nothing can be written then). */
int mp_chunk_rescue(struct mp_thread *thread);
/* Creates the key whose destructor ends a thread's chunk. */
void mp_chunk_init(void);
/* The highest thread serial handed out so far. */
uint32_t mp_chunk_last_serial(void);

#endif
