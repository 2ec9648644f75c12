/* leak_scan.c: one leak check: classify every block still allocated as memcheck would,
 * and write the classes into the trace (LEAK_CLASS and LEAK_SUMMARY records).
 *
 * Runs on the leak thread (leak_thread.c) at exit, on a fatal signal and on demand, or
 * on the exiting thread when there is no leak thread. The steps: stop the program's
 * other threads (leak_stop.c: their registers land in their signal frames, on their
 * stacks), fold what the trace committed since the leak thread's last round into the
 * live set (leak_live.c), find the roots (leak_roots.c), mark from them and sort the
 * lost blocks into definite and indirect (leak_classify.c), let the threads go, then
 * write one kind per block. Nothing is added to malloc or free; the check costs what
 * the live heap costs (bench/README.md). At exit the exiting thread, which waits for the
 * check anyway, marks too (scan_mark_shared): the roots are cut into pieces the two
 * threads take in turn.
 *
 * What is left of what memcheck does and this does not: a thread that blocks memprof's
 * stop signal (or that a debugger stopped) is not stopped, so its registers are not
 * read and a pointer it moves meanwhile may be missed; the summary counts them
 * (not_stopped). Blocks allocated or freed at the very moment of the check, their
 * record not yet committed, are left out of it.
 *
 * Robustness: every array comes from mp_sys_map_anon and is bounded by the live blocks and
 * mappings; on any failure the scan is abandoned and a LEAK_SUMMARY with the errno says
 * so. Reading memory that a running thread unmaps under us would fault: SIGSEGV and SIGBUS
 * are caught for the marking's duration and abandon it (a fault in any other thread
 * restores the previous handler and lets the fault happen again, there).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "leak_scan.h"
#include "memprof/varint.h"

#define SCAN_RECORD_BODY 60000u /* a LEAK_CLASS body; records stay under 64 KiB */
#define SCAN_ENTRY_MAX 11u      /* a LEAK_CLASS entry: an address delta and a kind */
#define SCAN_STATES_BYTES (64u * 1024u) /* the threads' struct mp_thread, as ranges */
#define SCAN_CATCH_UP_EVENTS 16384 /* fold before stopping until a round has no more */
#define SCAN_CATCH_UP_NS 50000000ull

#define SHARE_PIECE_BYTES (256u * 1024u)
#define SHARE_PIECES_MAX 65536u /* pieces grow past SHARE_PIECE_BYTES to stay under this */
#define SHARE_WAIT_NS 10000000l

static sigjmp_buf scan_fault_jump;
static volatile long scan_fault_tid; /* the scanning thread while a fault is caught */
static struct sigaction scan_old_segv, scan_old_bus;
static uint32_t scan_checks; /* checks started in this trace */

/* The exit check's marking shared with the exiting thread (scan_mark_shared and
 * mp_leak_check_help): the pieces of the roots on offer, the helper's classifier and its
 * outcome. The classifier (a copy of the checking thread's, with a work stack of its own)
 * is in memprof's own mapped memory, not here: libmemprof's data is scanned as a root, and
 * a classifier holds the lowest block's address. */
static struct {
	struct mp_leak_classifier *offer; /* the helper's classifier while offered, or NULL */
	struct mp_leak_range *pieces;
	size_t count, next;
	int active, closed, failed;
	uint64_t root_bytes, block_bytes, untouched_bytes;
} share;
static sigjmp_buf share_fault_jump;
static volatile long share_fault_tid; /* the helper while it marks */

static void scan_fault(int sig, siginfo_t *info, void *context)
{
	(void)info;
	(void)context;
	long tid = syscall(SYS_gettid);
	if (scan_fault_tid && tid == scan_fault_tid)
		mp_sys_siglongjmp(scan_fault_jump, 1);
	if (share_fault_tid && tid == share_fault_tid)
		mp_sys_siglongjmp(share_fault_jump, 1);
	/* Not ours: give the program its handler back; the instruction faults again. */
	mp_sys_sigaction(sig, sig == SIGSEGV ? &scan_old_segv : &scan_old_bus, NULL);
}

/* The guard also lets SIGSEGV and SIGBUS in on the scanning thread: the leak thread runs
 * with every signal blocked, and a fault with its signal blocked kills the process
 * (the kernel forces the default action). The guard never caught one there: a block the
 * program had made PROT_NONE, read at exit, crashed it. (A SIGSEGV or SIGBUS that
 * another process sends meanwhile may land on this thread and end the scan.) */
static uint64_t scan_old_mask;

static void scan_guard(int on)
{
	uint64_t faults = (1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1));
	if (on) {
		struct sigaction action;
		memset(&action, 0, sizeof(action));
		action.sa_sigaction = scan_fault;
		action.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&action.sa_mask);
		mp_sys_sigaction(SIGSEGV, &action, &scan_old_segv);
		mp_sys_sigaction(SIGBUS, &action, &scan_old_bus);
		scan_fault_tid = syscall(SYS_gettid);
		syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &faults, &scan_old_mask, sizeof(faults));
	} else {
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &scan_old_mask, NULL, sizeof(faults));
		scan_fault_tid = 0;
		mp_sys_sigaction(SIGSEGV, &scan_old_segv, NULL);
		mp_sys_sigaction(SIGBUS, &scan_old_bus, NULL);
	}
}

static uint8_t *scan_put_u(uint8_t *at, uint64_t value)
{
	return mp_put_u(at, value);
}

static void scan_write_classes(struct mp_thread *thread, const struct mp_leak_result *result)
{
	size_t buffer_bytes = 2 * ((SCAN_RECORD_BODY + 4095) & ~(size_t)4095);
	uint8_t *body = mp_sys_map_anon(buffer_bytes);
	if (!body)
		return;
	uint8_t *entries = body + buffer_bytes / 2;
	size_t i = 0;
	while (i < result->count) {
		uint8_t *at = entries;
		uint64_t prev = 0, listed = 0;
		for (; i < result->count && at - entries < (long)SCAN_RECORD_BODY - 64; i++) {
			at = scan_put_u(at, result->blocks[i].addr - prev);
			at = scan_put_u(at, mp_leak_classify_kind_of(result->state[i]));
			prev = result->blocks[i].addr;
			listed++;
		}
		at = scan_put_u(at, result->check);
		uint8_t *head = scan_put_u(body, listed);
		memmove(head, entries, (size_t)(at - entries));
		mp_encode_extended(thread, MP_REC_LEAK_CLASS, body,
				   (size_t)(head - body) + (size_t)(at - entries));
	}
	mp_sys_unmap(body, buffer_bytes);
}

static void scan_write_summary(struct mp_thread *thread, const struct mp_leak_result *result)
{
	const struct mp_leak_check_request *request = &result->request;
	uint8_t body[20 * MP_VARINT_MAX], *at = body;
	at = scan_put_u(at, (uint64_t)result->status);
	at = scan_put_u(at, result->time_ns);
	at = scan_put_u(at, result->scan_ns);
	at = scan_put_u(at, result->count);
	at = scan_put_u(at, result->root_bytes);
	at = scan_put_u(at, result->block_bytes);
	at = scan_put_u(at, result->threads);
	at = scan_put_u(at, result->flags);
	at = scan_put_u(at, result->check);
	at = scan_put_u(at, (uint64_t)request->reason);
	at = scan_put_u(at, (uint64_t)request->signal);
	at = scan_put_u(at, result->stop.stopped);
	at = scan_put_u(at, result->stop.not_stopped);
	at = scan_put_u(at, result->heuristic_blocks);
	at = scan_put_u(at, result->heuristic_bytes);
	mp_encode_extended(thread, MP_REC_LEAK_SUMMARY, body, (size_t)(at - body));
}

/* The bytes the check's records take at most, for `count` blocks. */
static size_t scan_record_bytes(size_t count)
{
	return SCAN_ENTRY_MAX * count + 64 * (count / 4096 + 2) + 256;
}

/* Marks from every root, then sorts out the lost blocks; 0 or -EFAULT if memory went
 * away under the scan. Not inlined, so its frame lies below the caller's spilled
 * registers and the stack pointer taken there covers them. */
static __attribute__((noinline)) int scan_mark(struct mp_leak_classifier *classifier,
					       const struct mp_leak_range *roots, long root_count)
{
	scan_guard(1);
	if (sigsetjmp(scan_fault_jump, 1)) {
		scan_guard(0);
		return -EFAULT;
	}
	for (long i = 0; i < root_count; i++) {
		mp_leak_classify_root(classifier, roots[i].start, roots[i].end, roots[i].flags);
		__atomic_add_fetch(classifier->progress, 1, __ATOMIC_RELAXED);
	}
	mp_leak_classify_finish(classifier);
	scan_guard(0);
	return 0;
}

static size_t scan_round(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

static long share_futex(int *word, int op, int value, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

/* Ends the offer: no helper joins after it, and one that did has finished. */
static void share_close(void)
{
	__atomic_store_n(&share.closed, 1, __ATOMIC_SEQ_CST);
	int active;
	while ((active = __atomic_load_n(&share.active, __ATOMIC_SEQ_CST)) != 0) {
		struct timespec wait = { 0, SHARE_WAIT_NS };
		share_futex(&share.active, FUTEX_WAIT_PRIVATE, active, &wait);
	}
	__atomic_store_n(&share.offer, NULL, __ATOMIC_RELEASE);
}

/* scan_mark with the exiting thread marking too: it waits for the check anyway (spared
 * from the stop, its stack a root from where it waits). The roots are cut into pieces
 * that the two take in turn; the states are shared, each thread with a work stack of its
 * own; the cliques are sorted out here once both are done. cc1's exit check reads 9 MB of
 * roots (its data and its GC's pages), at 3-6 ms on one thread. If the pieces or the
 * second stack cannot be mapped, one thread marks as ever. */
static __attribute__((noinline)) int scan_mark_shared(struct mp_leak_classifier *classifier,
						      const struct mp_leak_range *roots,
						      long root_count, uint32_t *wake)
{
	uint64_t piece = SHARE_PIECE_BYTES;
	size_t most;
	while ((most = mp_leak_classify_piece_count(roots, (size_t)root_count, piece)) >
	       SHARE_PIECES_MAX)
		piece *= 2;
	/* The helper's classifier, then the pieces. */
	size_t pieces_bytes = scan_round(sizeof(struct mp_leak_classifier) +
					 most * sizeof(struct mp_leak_range));
	size_t work_bytes = scan_round((2 * classifier->count + 1) * sizeof(uint32_t));
	struct mp_leak_classifier *helper = mp_sys_map_anon(pieces_bytes);
	struct mp_leak_range *pieces = (struct mp_leak_range *)(helper + 1);
	uint32_t *work = mp_sys_map_anon(work_bytes);
	if (!helper || !work) {
		if (helper)
			mp_sys_unmap(helper, pieces_bytes);
		if (work)
			mp_sys_unmap(work, work_bytes);
		return scan_mark(classifier, roots, root_count);
	}
	/* One offer a process (the exit's check): `active` is left as it is, for a helper
	 * that would still be leaving an earlier one. */
	share.offer = NULL;
	share.next = 0;
	share.closed = 0;
	share.failed = 0;
	share.root_bytes = share.block_bytes = share.untouched_bytes = 0;
	share.pieces = pieces;
	share.count = mp_leak_classify_pieces(roots, (size_t)root_count, piece, pieces);
	classifier->shared = 1;
	*helper = *classifier;
	helper->work = work;
	helper->root_bytes = helper->block_bytes = helper->untouched_bytes = 0;
	volatile int err = 0;
	scan_guard(1);
	__atomic_store_n(&share.offer, helper, __ATOMIC_RELEASE);
	__atomic_add_fetch(wake, 1, __ATOMIC_RELEASE);
	share_futex((int *)wake, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	if (sigsetjmp(scan_fault_jump, 1) == 0)
		mp_leak_classify_take(classifier, share.pieces, share.count, &share.next);
	else
		err = -EFAULT;
	share_close(); /* before anything the helper reads goes */
	classifier->shared = 0;
	classifier->root_bytes += share.root_bytes;
	classifier->block_bytes += share.block_bytes;
	classifier->untouched_bytes += share.untouched_bytes;
	if (share.failed)
		err = -EFAULT;
	if (!err && sigsetjmp(scan_fault_jump, 1) == 0)
		mp_leak_classify_finish(classifier);
	else if (!err)
		err = -EFAULT;
	scan_guard(0);
	mp_sys_unmap(helper, pieces_bytes);
	mp_sys_unmap(work, work_bytes);
	return err;
}

int mp_leak_check_help(void)
{
	struct mp_leak_classifier *offer = __atomic_load_n(&share.offer, __ATOMIC_ACQUIRE);
	/* Nothing left to take: the caller waits to be woken rather than asks again. */
	if (!offer || __atomic_load_n(&share.next, __ATOMIC_RELAXED) >= share.count)
		return 0;
	__atomic_add_fetch(&share.active, 1, __ATOMIC_SEQ_CST);
	int joined = !__atomic_load_n(&share.closed, __ATOMIC_SEQ_CST) &&
		     __atomic_load_n(&share.offer, __ATOMIC_ACQUIRE) == offer;
	if (joined) {
		share_fault_tid = syscall(SYS_gettid);
		if (sigsetjmp(share_fault_jump, 1) == 0)
			mp_leak_classify_take(offer, share.pieces, share.count, &share.next);
		else
			share.failed = 1;
		share_fault_tid = 0;
		share.root_bytes += offer->root_bytes;
		share.block_bytes += offer->block_bytes;
		share.untouched_bytes += offer->untouched_bytes;
		offer->root_bytes = offer->block_bytes = offer->untouched_bytes = 0;
	}
	__atomic_sub_fetch(&share.active, 1, __ATOMIC_SEQ_CST);
	share_futex(&share.active, FUTEX_WAKE_PRIVATE, 1, NULL);
	return joined;
}

/* The threads' struct mp_thread, which no scan may take for roots: the writer's delta
 * base there is the address of the thread's last allocation or free. Ours, the spared
 * thread's, every stopped thread's; in a fresh mapping of SCAN_STATES_BYTES. */
static struct mp_leak_range *scan_states(const struct mp_leak_check_request *request,
					 size_t *count)
{
	struct mp_leak_range *states = mp_sys_map_anon(SCAN_STATES_BYTES);
	if (!states)
		return NULL;
	size_t max = SCAN_STATES_BYTES / sizeof(*states), at = 0;
	states[at++] = (struct mp_leak_range){
		.start = (uint64_t)(uintptr_t)&mp_state_thread,
		.end = (uint64_t)(uintptr_t)&mp_state_thread + sizeof(mp_state_thread),
		.flags = MP_LEAK_EXCLUDE_THREAD_STATE };
	if (request->spare_state)
		states[at++] = (struct mp_leak_range){
			.start = request->spare_state,
			.end = request->spare_state + sizeof(struct mp_thread),
			.flags = MP_LEAK_EXCLUDE_THREAD_STATE };
	*count = at + mp_leak_stop_states(states + at, max - at);
	return states;
}

/* The roots and the marking over result->blocks; fills result->state (mapped for the
 * writer, unmapped by the caller). `own_sp`: the scanning thread's stack pointer, if its
 * stack belongs to the program (0 on the leak thread). */
static __attribute__((noinline)) int scan_classify(struct mp_leak_result *result, uint64_t own_sp,
						   uint64_t *progress)
{
	size_t count = result->count;
	result->state_bytes = scan_round(count + 1);
	size_t work_bytes = scan_round((2 * count + 1) * sizeof(uint32_t));
	result->state = mp_sys_map_anon(result->state_bytes);
	uint32_t *work = mp_sys_map_anon(work_bytes);
	struct mp_leak_range *roots = NULL;
	size_t roots_bytes = 0, exclude_count = 0;
	long root_count = -ENOMEM;
	struct mp_leak_range *exclude = scan_states(&result->request, &exclude_count);
	const struct mp_thread *spared =
		(const struct mp_thread *)(uintptr_t)result->request.spare_state;
	/* The exiting thread is spared with the stack pointer it waits at; a dying one with
	 * the context its signal interrupted. */
	struct mp_leak_spare spare = { result->request.spare_tid,
				       spared && !result->request.spare_sp ? spared->interrupted
									   : NULL,
				       result->request.spare_sp, spared ? spared->program_sp : 0 };
	struct mp_leak_readable readable = { NULL, 0, 0 };
	if (result->state && work && exclude)
		root_count = mp_leak_roots(result->blocks, count, result->state, own_sp,
					   &spare, exclude, exclude_count, mp_trace_file_path(),
					   &roots, &roots_bytes, &result->threads, &readable);
	if (exclude)
		mp_sys_unmap(exclude, SCAN_STATES_BYTES);
	if (result->threads & (1u << 31)) {
		result->threads &= ~(1u << 31);
		result->flags |= MP_LEAK_SCAN_THREAD_SP_UNKNOWN;
	}
	__atomic_add_fetch(progress, 1, __ATOMIC_RELAXED);
	int err = root_count < 0 ? (int)root_count : 0;
	if (!err) {
		struct mp_leak_classifier classifier;
		mp_leak_classify_init(&classifier, result->blocks, count, result->state, work);
		classifier.progress = progress;
		classifier.heuristics = mp_config.leak_heuristics;
		classifier.readable = readable.ranges;
		classifier.readable_count = readable.ranges ? readable.count : 0;
		/* Without its memory the filter is left out: slower, the same answer. */
		size_t filter_bytes = mp_leak_classify_filter_bytes(&classifier);
		uint64_t *filter = mp_sys_map_anon_populated(filter_bytes);
		if (filter)
			mp_leak_classify_filter(&classifier, filter, filter_bytes);
		size_t index_bytes = mp_leak_classify_index_bytes(&classifier);
		struct mp_leak_page_starts *index = mp_sys_map_anon(index_bytes);
		if (index)
			mp_leak_classify_index(&classifier, index, index_bytes);
		/* Without it, large blocks are read whole: slower, the same answer. Nor with
		 * /proc's number (every descriptor taken): kept through the marking, it made
		 * the exit snapshot's readers wait past their 100 ms (fd_exhaust.sh, once). */
		classifier.pagemap_fd = mp_sys_open_unlent("/proc/self/pagemap", O_RDONLY);
		err = result->request.helper_wake
			      ? scan_mark_shared(&classifier, roots, root_count,
						 result->request.helper_wake)
			      : scan_mark(&classifier, roots, root_count);
		result->root_bytes = classifier.root_bytes;
		result->block_bytes = classifier.block_bytes;
		for (size_t i = 0; !err && i < count; i++) {
			uint8_t state = result->state[i];
			if ((state & MP_LEAK_STATE_MASK) == MP_LEAK_REACHABLE &&
			    (state & MP_LEAK_VIA_HEURISTIC)) {
				result->heuristic_blocks++;
				result->heuristic_bytes += result->blocks[i].size;
			}
		}
		if (classifier.pagemap_fd >= 0)
			mp_sys_close(classifier.pagemap_fd);
		if (filter)
			mp_sys_unmap(filter, filter_bytes);
		if (index)
			mp_sys_unmap(index, index_bytes);
	}
	if (roots)
		mp_sys_unmap(roots, roots_bytes);
	if (readable.ranges)
		mp_sys_unmap(readable.ranges, readable.bytes);
	if (work)
		mp_sys_unmap(work, work_bytes);
	return err;
}

static int scan_room(const struct mp_thread *thread, size_t count)
{
	return thread->chunk && (size_t)(thread->limit - thread->pos) >= scan_record_bytes(count);
}

/* Makes sure the thread's chunk has room for the records of `count` blocks, so that
 * writing them takes no lock (the threads holding one may be stopped for good). Not if
 * a thread that holds memprof's locks may wait for us (the dying thread was inside
 * memprof): then 0 unless the room is there already. */
static int scan_reserve(struct mp_thread *thread, size_t count, int locks_held)
{
	if (!scan_room(thread, count) && !locks_held)
		mp_chunk_reserve(thread, scan_record_bytes(count));
	return scan_room(thread, count);
}

/* Folds while the program still runs, until little is left: the threads are stopped for
 * the last few records only. Not before a fatal check: the process is dying, its
 * threads must not go on. */
static void scan_catch_up(void)
{
	uint64_t start = mp_clock_now_ns();
	int folded = mp_leak_live_fold(mp_trace_file_path(), MP_LEAK_FOLD_KEEP), before;
	/* Again while the rounds shrink: the program may allocate faster than one round
	 * folds, and then the stopped fold is the only one that catches up. */
	do {
		before = folded;
		if (before <= SCAN_CATCH_UP_EVENTS || mp_clock_now_ns() - start > SCAN_CATCH_UP_NS)
			break;
		folded = mp_leak_live_fold(mp_trace_file_path(), MP_LEAK_FOLD_KEEP);
	} while (folded >= 0 && folded < before / 2);
}

/* Stop, fold, list, classify; the threads stay stopped for the caller to resume. */
static __attribute__((noinline)) int scan_stopped(struct mp_thread *writer,
						  const struct mp_leak_check_request *request,
						  struct mp_leak_result *result, uint64_t *progress)
{
	uint64_t own_sp = mp_sys_own_thread((int)syscall(SYS_gettid))
				  ? 0 : (uint64_t)(uintptr_t)__builtin_frame_address(0);
	if (request->keep_stopped)
		scan_reserve(writer, (size_t)mp_leak_live_count() + 4096, request->locks_held);
	else
		scan_catch_up();
	mp_leak_stop_world(&result->stop, request->spare_tid);
	if (result->stop.not_stopped)
		result->flags |= MP_LEAK_SCAN_NOT_STOPPED;
	result->time_ns = mp_clock_now_ns();
	__atomic_add_fetch(progress, 1, __ATOMIC_RELAXED);
	int err = mp_leak_live_fold(mp_trace_file_path(), MP_LEAK_FOLD_KEEP);
	__atomic_add_fetch(progress, 1, __ATOMIC_RELAXED);
	if (err >= 0)
		err = mp_leak_live_blocks(&result->blocks, &result->count, &result->blocks_bytes);
	/* No block left: nothing can be lost, and the roots need not be read at all. A
	 * program that freed everything but holds gigabytes of its own mappings (a buffer
	 * pool) would otherwise read every touched page of them at exit, for nothing. */
	if (err >= 0 && result->count)
		err = scan_classify(result, own_sp, progress);
	/* Rarely: the heap grew since. Without the room, the dying thread may hold the lock
	 * a new chunk takes: no check rather than a process that never dies. */
	if (err >= 0 && request->keep_stopped &&
	    !scan_reserve(writer, result->count, request->locks_held))
		err = -EDEADLK;
	return err < 0 ? err : 0;
}

int mp_leak_check_scan(const struct mp_leak_check_request *request, struct mp_thread *writer,
		       struct mp_leak_result *result, uint64_t *progress)
{
	int saved_errno = errno;
	memset(result, 0, sizeof(*result));
	result->request = *request;
	result->check = ++scan_checks;
	uint64_t start = mp_clock_now_ns();
	result->time_ns = start; /* then, once the threads are stopped, the listing's time */
	int err = -ENOTSUP;
	if (mp_config.sample_bytes) {
		/* Unsampled blocks are unknown: nothing would be right. */
		result->flags |= MP_LEAK_SCAN_SAMPLED;
	} else {
		/* Callee-saved registers go onto this frame, which the scan of our own stack
		 * covers (scan_stopped takes the stack pointer below it): memcheck's register
		 * roots, when the check runs on a thread of the program. */
		__builtin_unwind_init();
		err = scan_stopped(writer, request, result, progress);
	}
	/* The whole check: the fold that caught up, the stop, the scan. */
	result->scan_ns = mp_clock_now_ns() - start;
	if (!request->keep_stopped)
		mp_leak_stop_resume(&result->stop);
	result->status = -err;
	errno = saved_errno;
	return err;
}

/* What made a check fail, where a user can act on it (the trace has the errno, which
 * `memprof leaks` names); "" otherwise. */
static const char *scan_failure_cause(int err)
{
	if (err == -EMFILE || err == -ENFILE)
		return " (no file descriptor left to read /proc with)";
	if (err == -ENOMEM)
		return " (out of memory)";
	if (err == -ENOENT)
		return " (/proc not reachable from the process's root)";
	if (err == -EACCES || err == -EPERM)
		return " (/proc could not be read)";
	return "";
}

/* No strerror: this may run as a fatal signal ends the process. */
static void scan_say_failed(int err)
{
	char line[160] = "leak check failed";
	mp_sys_str_append(line, sizeof(line), scan_failure_cause(err));
	mp_sys_str_append(line, sizeof(line), "; leaks are reported without their kind");
	mp_sys_say(line);
}

void mp_leak_check_write(struct mp_thread *thread, struct mp_leak_result *result)
{
	int err = -(int)result->status;
	if (!err)
		scan_write_classes(thread, result);
	/* The summary takes a chunk of its own only where no lock can be held against us. */
	if (!result->request.locks_held || scan_room(thread, 0))
		scan_write_summary(thread, result);
	if (err == -E2BIG)
		mp_sys_say("leak check skipped: the heap needs more memory to scan than "
			   "MEMPROF_LEAK_CHECK_MAX_MB allows (default 1024); leaks are reported "
			   "without their kind");
	else if (err && err != -ENOTSUP)
		scan_say_failed(err);
	mp_leak_check_release(result);
}

void mp_leak_check_release(struct mp_leak_result *result)
{
	if (result->blocks)
		mp_sys_unmap(result->blocks, result->blocks_bytes);
	if (result->state)
		mp_sys_unmap(result->state, result->state_bytes);
	result->blocks = NULL;
	result->state = NULL;
}

void mp_leak_check_after_fork_child(void)
{
	scan_checks = 0;
}
