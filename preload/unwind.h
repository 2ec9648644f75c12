/* unwind.h: the stack walk (unwind.c), the walks each thread keeps (unwind_memo.c) and the
 * unwind rules the walk follows (unwind_rules.c), a feature.
 *
 * mp_unwind_capture returns what libunwind's unw_backtrace would return called from the
 * same place, frame for frame, at a fraction of its cost. It follows the rules that
 * libunwind's fast path (tdep_trace) caches per return address, compiled from .eh_frame by
 * unwind_rules.c into one word each and kept in a table shared by all threads; it hands
 * any frame that is not of those simple kinds (signal frames, DWARF expressions, no
 * unwind information, a stack it cannot bound) to unw_backtrace itself; and most of the
 * time it walks nothing at all: a walk kept from the same start whose stack words still
 * hold what they held is that walk (unwind_memo.c). A walk that does run stops at the
 * first frame the thread's last walk (its trail) passed through in the same state, and
 * takes the rest of that walk once the words it read there are checked.
 */
#ifndef MEMPROF_PRELOAD_UNWIND_H
#define MEMPROF_PRELOAD_UNWIND_H

#include <pthread.h>
#include <stdint.h>

#include "base.h"
#include "stack_hash.h"

/* Once, before the first capture: the key whose destructor frees a thread's memo. */
void mp_unwind_init(void);
/* Bytes of this thread's stack below sp, as far as its walks found the stack's bounds
 * (its mapping as it was then); 0 when they are not known. */
size_t mp_unwind_stack_room(uintptr_t sp);
/* fn(arg) on this thread's stack of memprof's (mapped at its first need, 256 KiB), not on
 * the program's, where memprof's slow paths may not have the room they take; program_sp
 * (base.h) says meanwhile where the thread is on its own. Returns 0, without calling fn,
 * if the thread has no such stack (it could not be mapped, or the thread is ending). */
int mp_unwind_call_apart(void (*fn)(void *), void *arg);
/* The program's pthread_getattr_np (interpose_getattr.c): glibc's, during which the
 * thread's captures do not ask glibc for the thread's stack. */
int mp_unwind_getattr(pthread_t thread, pthread_attr_t *attr);

/* One capture of the caller's stack. */
struct mp_unwind_capture {
	void *const *ips; /* innermost first; valid until this thread's next capture */
	int count;
	/* A word the caller keeps with this stack (stacks.c: its interned id), given back
	 * when a later capture finds the same walk still valid; 0 until set. NULL if the
	 * stack could not be kept. */
	uint64_t *memo;
	/* The hash sums (stack_hash.h) of the outermost 2j frames at j, for as many frames as
	 * the capture has; NULL if not known. Valid until this thread's next capture. */
	const struct mp_stack_hash_sum *outer_sums;
};
/* The return addresses of the caller's stack, exactly as unw_backtrace(ips, max) called
 * in place of this function would return them (out->ips[0] is the return address into
 * the caller), at most max of them. buffer holds max frames; out->ips points into it, or
 * into this thread's memo. Never faults on a stack that libunwind could walk; falls back
 * to libunwind where it cannot be sure. */
void mp_unwind_capture(struct mp_unwind_capture *out, void **buffer, int max);
/* The hash (stack_hash.h) of a stack a walk is about to return, told before the walk's
 * last checks (those of the frames it takes from the thread's last walk): the caller
 * can start loading where it will look the stack up while they run. Only a hint: the
 * checks may still send the walk on. */
typedef void mp_unwind_coming_fn(uint64_t hash_a);
/* The same from the frame of the function this is inlined into (link-time optimization
 * always inlines it; that function keeps a frame pointer for it): out->ips[0] is that
 * function's return address. For the recorder of allocations, which malloc reaches by
 * tail calls, so that the capture is no call of its own under the program's malloc.
 * coming, if not NULL, is told the hash of the stack as soon as it is known, computed
 * over all the frames captured (none of them dropped) in the current module
 * generation. */
void mp_unwind_capture_here(struct mp_unwind_capture *out, void **buffer, int max,
			    mp_unwind_coming_fn *coming);
/* The same, copied into ips (max of them); returns how many. For tests. */
int mp_unwind_backtrace(void **ips, int max);

/* After a jump out of the recorder (recording_jumps.c): this thread's walks kept and its
 * trail, which the abandoned capture may have left half-written, are forgotten. -1,
 * with nothing done, if the jump left a walk of libunwind's (whose own state is then
 * not known). */
int mp_unwind_forget_walks(void);

/* Per-thread counts, for tests and benchmarks. */
struct mp_unwind_counts {
	uint64_t captures;
	uint64_t fallbacks;    /* walks libunwind finished */
	uint64_t memo_hits;    /* walks found unchanged in the memo */
	uint64_t memo_others;  /* of which not the last one from their start */
	uint64_t memo_finds;   /* captures that asked the memo */
	uint64_t memo_rejects; /* walks of the memo with the same start, no longer valid */
	uint64_t joins;        /* walks that took the rest of the thread's last walk */
	uint64_t join_refusals; /* frames of the last walk reached whose words had changed */
	uint64_t memo_layouts; /* walks kept that read other words than the last from their start */
};
void mp_unwind_counts_get(struct mp_unwind_counts *out);
/* Once, from the constructor (busy): the first capture of each thread asks glibc for its
 * stack (pthread_getattr_np), whose first call binds the calloc and realloc it calls
 * through libc's PLT, and binding saves the vector registers on the stack, 1-3 KiB: a
 * thread of a 16 KiB stack overflowed there. Done here, it is done for all (a fork child
 * inherits the bindings). It used to be the leak thread's first act, so that a process
 * without one (MEMPROF_LEAK_CHECK=0, sampling) had its small-stack threads overflow.
 * Not by asking glibc about a thread: for the main thread it reads /proc/self/maps,
 * whose buffers made alloc_bench 15% slower by where the heap's next blocks went, and
 * the main thread asking about the leak thread still made it 6.6% slower (bench/README.md,
 * session 19). */
void mp_unwind_warm(void);
/* For tests of the memo itself: this thread asks it at every capture, whatever it finds
 * there (1), or as often as its hits say it pays (0, the default). */
void mp_unwind_memo_always(int always);

/* --- unwind_memo.c: the walks each thread made, checked before they are trusted --- */

/* Where a walk starts: the caller's return address, stack pointer and frame pointer. */
struct mp_unwind_start {
	uintptr_t rip, rsp, rbp;
};
#define MP_UNWIND_MEMO_FRAMES_MAX 128
#define MP_UNWIND_MEMO_CHECKS_MAX 128

/* What a walk passed through and what it read that decides its result, in addresses,
 * outermost frame first (so that a later walk sharing the outer frames changes only the
 * end): the state at each frame k (ips[k], rsp[k], rbp[k]; ips[k] was read at rsp[k] - 8
 * but for the innermost), how the frame's rule used rbp, and the other words whose value
 * mattered (an rbp restored from the stack and later used, the word that ended the
 * stack), each with the value read and the frame whose step read it, in the order of
 * their frames. The walk in progress is noted in the same form innermost frame first. */
enum {
	MP_UNWIND_TRAIL_USES_RBP = 1,     /* the frame's CFA is computed from rbp */
	MP_UNWIND_TRAIL_RESTORES_RBP = 2, /* its step reads the caller's rbp from the stack */
	MP_UNWIND_TRAIL_RBP_LIVE = 4,     /* rbp at this frame decides a CFA further out */
};
struct mp_unwind_trail {
	int count, checks;
	int ended; /* the stack ended at the outermost frame (it was not cut at max) */
	int ordered; /* the kept trail only: rsp grows from each frame to the next one out */
	uint32_t generation;
	uint64_t ips[MP_UNWIND_MEMO_FRAMES_MAX];
	uint64_t rsp[MP_UNWIND_MEMO_FRAMES_MAX], rbp[MP_UNWIND_MEMO_FRAMES_MAX];
	uint8_t flags[MP_UNWIND_MEMO_FRAMES_MAX];
	uint8_t check_frame[MP_UNWIND_MEMO_CHECKS_MAX];
	uint64_t check_address[MP_UNWIND_MEMO_CHECKS_MAX];
	uint64_t check_value[MP_UNWIND_MEMO_CHECKS_MAX];
	/* The kept trail only: the hash sums of its frames 0 .. 2j - 1 at j. */
	struct mp_stack_hash_sum hash_sums[MP_UNWIND_MEMO_FRAMES_MAX / 2 + 1];
};
enum {
	MP_UNWIND_MEMO_NONE,      /* no walk kept from this start */
	MP_UNWIND_MEMO_HIT,       /* the last walk from this start holds */
	MP_UNWIND_MEMO_HIT_OTHER, /* another walk from this start holds */
	MP_UNWIND_MEMO_CHANGED,   /* walks are kept from this start, none holds */
};
/* Once, before the first capture: the key whose destructor frees a thread's memo. */
void mp_unwind_memo_init(void);
/* This thread's walks and trail forgotten (mp_unwind_forget_walks). */
void mp_unwind_memo_forget(void);
/* A kept walk from start (under this module generation and max) whose words still hold
 * what they held: HIT or HIT_OTHER with out filled (ips in the memo, memo the walk's
 * word); CHANGED if walks from this start are kept but none holds; NONE if none is kept.
 * low is the capturing function's frame. */
int mp_unwind_memo_find(struct mp_unwind_capture *out, const struct mp_unwind_start *start,
			uintptr_t low, uint32_t generation, int max);
/* For benchmarks: walks on this thread neither use nor fill the memo while paused. */
void mp_unwind_memo_pause(int paused);
/* Keeps the walk in out (out->count frames in out->ips, as trail says it went, its frames
 * outermost or innermost first; low is the capturing function's frame) and points out at
 * the kept copy; does nothing if it cannot be kept. Returns 1 if it read other words than
 * the last walk kept from its start (a layout of its own), else 0. */
int mp_unwind_memo_store(struct mp_unwind_capture *out, const struct mp_unwind_start *start,
			 uint32_t generation, int max, const struct mp_unwind_trail *trail,
			 int outermost_first, uintptr_t low);
/* This thread's trail of its last walk, then room for noting the next one; NULL if it
 * has no memo (none could be mapped, it is exiting, or the memo is paused). */
struct mp_unwind_trail *mp_unwind_memo_trails(void);

/* --- unwind_rules.c: one return address's rule, compiled from .eh_frame --- */

/* What libunwind's fast path does at a frame, as its tdep_trace caches it
 * (unw_tdep_frame_t), for the kinds it handles without the full unwinder. */
enum mp_unwind_kind {
	MP_UNWIND_OTHER = 1,    /* anything else: libunwind's slow path must decide */
	MP_UNWIND_STANDARD = 2, /* CFA = rsp or rbp + offset, return address at CFA - 8 */
	MP_UNWIND_LAST = 3,     /* the outermost frame: the return address or rbp undefined */
};
struct mp_unwind_rule {
	enum mp_unwind_kind kind;
	int cfa_on_rsp;      /* STANDARD: CFA from rsp (1) or rbp (0) */
	int32_t cfa_offset;  /* STANDARD: |cfa_offset| < 2^28 */
	int rbp_saved;       /* STANDARD: the caller's rbp is at CFA + rbp_offset */
	int32_t rbp_offset;  /* |rbp_offset| < 2^14 */
};
/* The rule for the frame whose return address (or, for the innermost frame, whose pc
 * + 1) is ra: the row of its FDE at ra - 1, classified as libunwind 1.6's
 * tdep_stash_frame would. OTHER when unsure. Reads only the loaded objects' eh_frame_hdr
 * and eh_frame, within their segments, inside dl_iterate_phdr, unless the row's range
 * was learned already in this module generation (unwind_ranges.c). No malloc: the
 * checkpoints of long programs (unwind_rules.c) live in memory of memprof's own, mapped
 * at the first. */
void mp_unwind_rule_find(uintptr_t ra, uint32_t generation, struct mp_unwind_rule *out);
/* Tests: 0 runs every CIE's and FDE's program from its start, 1 (the default) keeps what
 * learning may reuse (unwind_rules.c): the CIEs' initial rows, checkpoints of long FDE
 * programs to resume from, and the ranges rows hold over (unwind_ranges.c). Returns how
 * many checkpoints are kept. */
uint32_t mp_unwind_rules_keep(int on);
/* A fork child's: the lock of what learning keeps, which another thread of the parent may
 * have held at the fork, is free (what that thread was adding is not listed yet). */
void mp_unwind_rules_after_fork_child(void);

/* --- unwind_ranges.c: the rules of code ranges already learned --- */

/* A row of an FDE's program holds from one location of the function to the next, and
 * every return address in between has the same rule: cc1 learned 6308 rules from 3285
 * rows. 1 and *out filled if pc lies in a row's range learned in this generation. */
int mp_unwind_ranges_find(uintptr_t pc, uint32_t generation, struct mp_unwind_rule *out);
/* The rule learned at pc holds for [low, high). */
void mp_unwind_ranges_add(uintptr_t low, uintptr_t high, uintptr_t pc, uint32_t generation,
			  const struct mp_unwind_rule *rule);
/* Tests: 0, no range is looked at or kept; 1, the default. */
void mp_unwind_ranges_keep(int on);
/* Tests: the look-ups the ranges answered so far. */
uint64_t mp_unwind_ranges_hits(void);
/* A fork child's: the lock, which another thread of the parent may have held. */
void mp_unwind_ranges_after_fork_child(void);

#endif
