/* record.c: the recorder API the libc shim calls; one function per kind of event.
 *
 * Each function checks the thread's recursion flag, captures the stack if the event has
 * one, encodes the record into the thread's chunk and commits it; which allocations and
 * frees get here is decided inline in record_hot.h. The encodings are the ones documented in
 * memprof/trace_format.h. errno is preserved: the host must not see the profiler's system
 * calls. With sampling, frees and reallocs are recorded only for sampled blocks, and mmap,
 * munmap, mremap and brk always (they are few, and residency reports need all of them).
 */
#include <sys/mman.h>

#include "leak_scan.h"
#include "modules.h"
#include "record_hot.h"
#include "snapshot.h"

/* A sampled allocation: remembered so that its free is recorded, and written now, or with
 * a sampling window only once it has outlived the window (sampling_window.c). Also decides
 * for the process's very first allocation, which came before the options were read. */
static inline __attribute__((always_inline)) void record_sampled(
	struct mp_thread *thread, enum mp_record_tag tag, void *addr, size_t size)
{
	if (MP_UNLIKELY(!thread->rng) && !mp_sampling_picks(thread, size))
		return;
	struct mp_sampled_set_entry block = {
		.addr = (uint64_t)(uintptr_t)addr, .size = size, .tag = (uint8_t)tag,
		.stack = mp_stacks_capture(thread), .pending = mp_config.sample_window_ms != 0,
	};
	block.time_ns = mp_clock_now_ns();
	if (mp_sampling_set_insert(&block, thread) < 0) {
		/* Its free could not be recognized: better unrecorded than a false leak. */
		mp_chunk_count_dropped(thread);
		return;
	}
	if (!block.pending)
		mp_encode_alloc(thread, tag, block.addr, size, block.stack, block.time_ns);
	else if (block.time_ns >= __atomic_load_n(&mp_sampling_set_next_flush_ns, __ATOMIC_RELAXED))
		mp_sampling_set_flush(thread, block.time_ns, 0);
	if (MP_UNLIKELY(__atomic_load_n(&mp_snapshot_thread_deferred, __ATOMIC_RELAXED)))
		mp_snapshot_thread_start_deferred();
}

__attribute__((noinline)) MP_HOT void *mp_record_alloc_chosen(enum mp_record_tag tag,
								void *addr, size_t size)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return addr;
	if (MP_UNLIKELY(mp_config.sample_bytes)) {
		record_sampled(thread, tag, addr, size);
		mp_record_leave(thread, saved_errno);
		return addr;
	}
	uint32_t stack = mp_stacks_capture_here(thread);
	mp_encode_alloc(thread, tag, (uint64_t)(uintptr_t)addr, size, stack,
			mp_clock_event_ns(thread, thread->prev_time));
	mp_heap_peak_note(thread, (int64_t)mp_heap_peak_usable(addr));
	if (MP_UNLIKELY(__atomic_load_n(&mp_leak_thread_deferred, __ATOMIC_RELAXED)))
		mp_recording_threads_deferred();
	mp_record_leave(thread, saved_errno);
	return addr;
}

/* Inlined (link-time) into the shim's free_recording, which free() jumps to only when
 * the free may be recorded: one call fewer under the program's free. */
void mp_record_free(void *addr)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_encode_free(thread, (uint64_t)(uintptr_t)addr,
		       mp_clock_event_ns(thread, thread->prev_time));
	mp_heap_peak_note(thread, -(int64_t)mp_heap_peak_usable(addr));
	mp_record_leave(thread, saved_errno);
}

/* Sampled realloc: the old block's release is recorded if it was sampled, the new block
 * if it is sampled now; a side that is not becomes 0 (realloc(NULL, n) or realloc(p, 0)
 * in the trace). Returns 0 if there is nothing to record. */
static int sample_realloc(struct mp_thread *thread, void **old_addr, void **new_addr,
			  size_t *size)
{
	/* A pending old block has its allocation written first: the realloc releases it. */
	int old_sampled = *old_addr && mp_sampling_set_take((uint64_t)(uintptr_t)*old_addr, thread);
	struct mp_sampled_set_entry block = { .addr = (uint64_t)(uintptr_t)*new_addr, .size = *size,
					  .tag = MP_REC_REALLOC, .time_ns = mp_clock_now_ns() };
	int new_sampled = *new_addr && mp_sampling_picks(thread, *size) &&
			  mp_sampling_set_insert(&block, thread) == 0;
	if (!old_sampled)
		*old_addr = NULL;
	if (!new_sampled) {
		*new_addr = NULL;
		*size = 0;
	}
	return old_sampled || new_sampled;
}

MP_HOT void *mp_record_realloc(void *old_addr, void *new_addr, size_t size,
			      uint64_t time_before, size_t old_usable)
{
	void *result = new_addr; /* sampling may drop it from the record, not from the return */
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return result;
	if (MP_UNLIKELY(mp_config.sample_bytes) &&
	    !sample_realloc(thread, &old_addr, &new_addr, &size)) {
		mp_record_leave(thread, saved_errno);
		return result;
	}
	uint32_t stack = new_addr ? mp_stacks_capture(thread) : 0;
	mp_encode_realloc(thread, (uint64_t)(uintptr_t)old_addr, (uint64_t)(uintptr_t)new_addr,
			  size, stack, time_before, mp_clock_event_ns(thread, time_before));
	mp_heap_peak_note(thread, (int64_t)mp_heap_peak_usable(new_addr) - (int64_t)old_usable);
	mp_record_leave(thread, saved_errno);
	return result;
}

void mp_record_failed(enum mp_record_tag function, size_t size)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stacks_capture(thread);
	mp_encode_failed(thread, (unsigned)function, size, stack, mp_clock_now_ns());
	mp_record_leave(thread, saved_errno);
}

void mp_record_mmap(void *addr, size_t length, int prot, int flags, int fd, uint64_t offset)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	if (fd >= 0 && !(flags & MAP_ANONYMOUS))
		mp_snapshot_file_mapped();
	uint32_t stack = mp_stacks_capture(thread);
	struct mp_encode_mmap map = {
		.addr = (uint64_t)(uintptr_t)addr, .length = length, .offset = offset,
		.prot = (uint32_t)prot, .flags = (uint32_t)flags, .fd = fd,
	};
	mp_encode_mmap(thread, &map, stack, mp_clock_now_ns());
	mp_record_leave(thread, saved_errno);
}

void mp_record_munmap(void *addr, size_t length)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_encode_munmap(thread, (uint64_t)(uintptr_t)addr, length, mp_clock_now_ns());
	mp_record_leave(thread, saved_errno);
}

void mp_record_mremap(void *old_addr, size_t old_length, void *new_addr, size_t new_length,
		      int flags, uint64_t time_before)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stacks_capture(thread);
	mp_encode_mremap(thread, (uint64_t)(uintptr_t)old_addr, old_length,
			 (uint64_t)(uintptr_t)new_addr, new_length, (uint32_t)flags, stack,
			 time_before, mp_clock_now_ns());
	mp_record_leave(thread, saved_errno);
}

void mp_record_brk(void *old_break, void *new_break)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	uint32_t stack = mp_stacks_capture(thread);
	mp_encode_brk(thread, (uint64_t)(uintptr_t)old_break, (uint64_t)(uintptr_t)new_break, stack,
		      mp_clock_now_ns());
	mp_record_leave(thread, saved_errno);
}

void mp_record_module_change(void)
{
	int saved_errno;
	struct mp_thread *thread = mp_record_enter(&saved_errno);
	if (!thread)
		return;
	mp_modules_sync(thread);
	mp_record_leave(thread, saved_errno);
}
