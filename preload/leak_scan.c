/* leak_scan.c: at exit, classify every block still allocated as memcheck would, and
 * write the classes into the trace (LEAK_CLASS and LEAK_SUMMARY records).
 *
 * Runs once, from recording.c's exit path, in the thread that called exit(), unless
 * MEMPROF_LEAK_CHECK=0. The steps: rebuild the live blocks from the trace file
 * (leak_live.c), find the roots (leak_roots.c), spill this thread's registers onto its
 * stack, mark from the roots and sort the lost blocks into definite and indirect
 * (leak_classify.c), then write one kind per block. Nothing is added to malloc or free:
 * the cost is paid at exit only (bench/leak_scan_bench.c measures it).
 *
 * What this cannot do that memcheck does: stop the other threads. They keep running
 * during the scan; a pointer one of them moves while we scan may be missed or seen
 * twice, blocks they allocate after their chunks were read are neither classified nor
 * scanned, and their registers are not read (leak_roots.c). A process whose other
 * threads are idle at exit, which is most, gets memcheck's answer.
 *
 * Robustness: every array comes from mp_sys_map_anon and is bounded by the live blocks and
 * mappings; on any failure the scan is abandoned and a LEAK_SUMMARY with the errno says
 * so. Reading memory that another thread unmaps under us would fault: SIGSEGV and SIGBUS
 * are caught for the scan's duration and abandon it (a fault in any other thread
 * restores the program's own handler and lets the fault happen again, there).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "memprof/varint.h"

#define SCAN_RECORD_BODY 60000u /* a LEAK_CLASS body; chunks hold at least 64 KiB */

static sigjmp_buf scan_fault_jump;
static volatile long scan_fault_tid; /* the scanning thread while a fault is caught */
static struct sigaction scan_old_segv, scan_old_bus;

static void scan_fault(int sig, siginfo_t *info, void *context)
{
	(void)info;
	(void)context;
	if (scan_fault_tid && syscall(SYS_gettid) == scan_fault_tid)
		siglongjmp(scan_fault_jump, 1);
	/* Not ours: give the program its handler back; the instruction faults again. */
	sigaction(sig, sig == SIGSEGV ? &scan_old_segv : &scan_old_bus, NULL);
}

static void scan_guard(int on)
{
	if (on) {
		struct sigaction action;
		memset(&action, 0, sizeof(action));
		action.sa_sigaction = scan_fault;
		action.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&action.sa_mask);
		sigaction(SIGSEGV, &action, &scan_old_segv);
		sigaction(SIGBUS, &action, &scan_old_bus);
		scan_fault_tid = syscall(SYS_gettid);
	} else {
		scan_fault_tid = 0;
		sigaction(SIGSEGV, &scan_old_segv, NULL);
		sigaction(SIGBUS, &scan_old_bus, NULL);
	}
}

struct scan_result {
	int status;           /* 0 or a positive errno */
	uint64_t time_ns, scan_ns, root_bytes, block_bytes;
	uint32_t threads, flags;
	const struct mp_leak_block *blocks;
	const uint8_t *state;
	size_t count;
};

static uint8_t *scan_put_u(uint8_t *at, uint64_t value)
{
	return mp_put_u(at, value);
}

static void scan_write_classes(struct mp_thread *thread, const struct scan_result *result)
{
	uint8_t body[SCAN_RECORD_BODY], entries[SCAN_RECORD_BODY];
	size_t i = 0;
	while (i < result->count) {
		uint8_t *at = entries;
		uint64_t prev = 0, listed = 0;
		for (; i < result->count && at - entries < (long)SCAN_RECORD_BODY - 32; i++) {
			at = scan_put_u(at, result->blocks[i].addr - prev);
			at = scan_put_u(at, mp_leak_classify_kind_of(result->state[i]));
			prev = result->blocks[i].addr;
			listed++;
		}
		uint8_t *head = scan_put_u(body, listed);
		memcpy(head, entries, (size_t)(at - entries));
		mp_encode_extended(thread, MP_REC_LEAK_CLASS, body,
				   (size_t)(head - body) + (size_t)(at - entries));
	}
}

static void scan_write_summary(struct mp_thread *thread, const struct scan_result *result)
{
	uint8_t body[16 * MP_VARINT_MAX], *at = body;
	at = scan_put_u(at, (uint64_t)result->status);
	at = scan_put_u(at, result->time_ns);
	at = scan_put_u(at, result->scan_ns);
	at = scan_put_u(at, result->count);
	at = scan_put_u(at, result->root_bytes);
	at = scan_put_u(at, result->block_bytes);
	at = scan_put_u(at, result->threads);
	at = scan_put_u(at, result->flags);
	mp_encode_extended(thread, MP_REC_LEAK_SUMMARY, body, (size_t)(at - body));
}

/* Marks from every root, then sorts out the lost blocks; 0 or -EFAULT if memory went
 * away under the scan. Not inlined, so its frame lies below the caller's spilled
 * registers and the stack pointer taken here covers them. */
static __attribute__((noinline)) int scan_mark(struct mp_leak_classifier *classifier,
					       const struct mp_leak_range *roots, long root_count)
{
	scan_guard(1);
	if (sigsetjmp(scan_fault_jump, 1)) {
		scan_guard(0);
		return -EFAULT;
	}
	for (long i = 0; i < root_count; i++)
		mp_leak_classify_root(classifier, roots[i].start, roots[i].end);
	mp_leak_classify_finish(classifier);
	scan_guard(0);
	return 0;
}

static size_t scan_round(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* The scan proper; fills *result (blocks and state stay mapped for the writer, and are
 * unmapped by the caller through the sizes returned). */
static __attribute__((noinline)) int scan_run(struct scan_result *result, size_t *blocks_bytes,
					      size_t *state_bytes)
{
	struct mp_leak_block *blocks = NULL;
	uint64_t sampled = mp_config.sample_bytes;
	/* A sampled trace is never scanned: say so before reading the whole trace for it. */
	int err = sampled ? 0
			  : mp_leak_live_blocks(mp_trace_file_path(), &blocks, &result->count,
						blocks_bytes, &sampled);
	if (err < 0)
		return err;
	result->blocks = blocks;
	if (sampled) {
		result->flags |= MP_LEAK_SCAN_SAMPLED;
		return -ENOTSUP; /* unsampled blocks are unknown: nothing would be right */
	}
	size_t count = result->count;
	*state_bytes = scan_round(count + 1);
	size_t work_bytes = scan_round((2 * count + 1) * sizeof(uint32_t));
	uint8_t *state = mp_sys_map_anon(*state_bytes);
	uint32_t *work = mp_sys_map_anon(work_bytes);
	struct mp_leak_range *roots = NULL, self = {
		(uint64_t)(uintptr_t)&mp_state_thread,
		(uint64_t)(uintptr_t)&mp_state_thread + sizeof(mp_state_thread) };
	size_t roots_bytes = 0;
	long root_count = -ENOMEM;
	result->state = state;
	if (state && work)
		root_count = mp_leak_roots(blocks, count, state,
					   (uint64_t)(uintptr_t)__builtin_frame_address(0), &self, 1,
					   mp_trace_file_path(), &roots, &roots_bytes,
					   &result->threads);
	if (result->threads & (1u << 31)) {
		result->threads &= ~(1u << 31);
		result->flags |= MP_LEAK_SCAN_THREAD_SP_UNKNOWN;
	}
	err = root_count < 0 ? (int)root_count : 0;
	if (!err) {
		struct mp_leak_classifier classifier;
		mp_leak_classify_init(&classifier, blocks, count, state, work);
		err = scan_mark(&classifier, roots, root_count);
		result->root_bytes = classifier.root_bytes;
		result->block_bytes = classifier.block_bytes;
	}
	if (roots)
		mp_sys_unmap(roots, roots_bytes);
	if (work)
		mp_sys_unmap(work, work_bytes);
	return err;
}

void mp_leak_scan_at_exit(void)
{
	if (!mp_config.leak_check)
		return;
	if (__atomic_load_n(&mp_state, __ATOMIC_ACQUIRE) != MP_STATE_READY)
		return;
	struct mp_thread *thread = &mp_state_thread;
	if (thread->busy)
		return;
	thread->busy = 1;
	int saved_errno = errno;
	/* Callee-saved registers go onto this frame, which the scan of our own stack
	 * covers (scan_run takes the stack pointer below it): memcheck's register roots. */
	__builtin_unwind_init();
	struct scan_result result = { .time_ns = mp_clock_now_ns() };
	size_t blocks_bytes = 0, state_bytes = 0;
	int err = scan_run(&result, &blocks_bytes, &state_bytes);
	result.scan_ns = mp_clock_now_ns() - result.time_ns;
	result.status = -err;
	if (!err)
		scan_write_classes(thread, &result);
	scan_write_summary(thread, &result);
	if (err == -E2BIG)
		mp_sys_say("leak check skipped: the heap needs more memory to scan than "
		       "MEMPROF_LEAK_CHECK_MAX_MB allows (default 1024); leaks are reported without "
		       "their kind");
	else if (err && err != -ENOTSUP)
		mp_sys_say("leak check failed; leaks are reported without their kind");
	if (result.blocks)
		mp_sys_unmap((void *)result.blocks, blocks_bytes);
	if (result.state)
		mp_sys_unmap((void *)result.state, state_bytes);
	errno = saved_errno;
	thread->busy = 0;
}
