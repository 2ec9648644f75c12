/* test_unwind.c: the stack walk (unwind.c) returns exactly what libunwind's unw_backtrace
 * returns, frame for frame, on thousands of random stacks.
 *
 * The probe captures the same stack from one function with mp_unwind_backtrace three
 * times (the later ones may come from its memo) and with unw_backtrace. Only the first
 * frame differs (each call's own return address into the probe); every other must be
 * equal. The stacks are random
 * walks through the shapes of tests/unit/preload/unwind/ (frame pointers kept and
 * omitted, alloca, 70 KB frames, rbp kept as a plain register, twins (the same code at
 * two addresses), a saved frame pointer pointed elsewhere, C++ destructors running
 * while an exception unwinds, catch blocks, setjmp/longjmp out of deep recursion, a
 * library later dlclose()d and replaced), on several threads, with signal handlers
 * (SA_SIGINFO, on the thread's stack and on a sigaltstack, sent synchronously and by a
 * timer at arbitrary instructions) and coroutines (swapcontext onto stacks mapped and
 * unmapped) probing too. The walk must also take its own fast path
 * on plain stacks, or the comparison would prove little.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include <cmocka.h>

#include "modules.h"
#include "unwind.h"
#include "unwind/shapes.h"

#define FRAMES_MAX 300

static shape_fn all_shapes[] = {
	shape_fp_plain, shape_fp_alloca, shape_fp_big, shape_nofp_plain, shape_nofp_alloca,
	shape_nofp_big, shape_nofp_regs, shape_nofp_setjmp, shape_cxx_raii, shape_cxx_throw,
};
#define SHAPE_COUNT (int)(sizeof(all_shapes) / sizeof(all_shapes[0]))
/* No large frames: for deep recursion and small stacks. */
static shape_fn small_shapes[] = {
	shape_fp_plain, shape_fp_alloca, shape_nofp_plain, shape_nofp_regs,
	shape_nofp_setjmp, shape_cxx_raii, shape_cxx_throw,
};
#define SMALL_SHAPE_COUNT (int)(sizeof(small_shapes) / sizeof(small_shapes[0]))

struct tally {
	long probes, frames, mismatches, in_handlers;
	long sums_given, sums_wrong; /* captures with the hash sums of their outer frames */
	long hints, hints_wrong; /* captures whose stack's hash was told ahead (see probe_hint) */
};

static __thread struct tally tally;
static __thread volatile sig_atomic_t in_probe;
static __thread int probe_max = 72;

static void print_stack(const char *what, void **ips, int count)
{
	fprintf(stderr, "  %s (%d frames):\n", what, count);
	for (int i = 0; i < count; i++) {
		Dl_info info;
		const char *name = dladdr(ips[i], &info) && info.dli_sname ? info.dli_sname : "?";
		fprintf(stderr, "    %2d %p %s\n", i, ips[i], name);
	}
}

/* The code of the objects loaded at the start, noted then: the probes run in signal
 * handlers, where dladdr could wait for the loader's lock held by what they interrupted. */
#define CODE_RANGES_MAX 64
static struct {
	uintptr_t start, end;
} code_ranges[CODE_RANGES_MAX];
static int code_range_count;

static int note_code(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum && code_range_count < CODE_RANGES_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			code_ranges[code_range_count].start = info->dlpi_addr + ph->p_vaddr;
			code_ranges[code_range_count].end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			code_range_count++;
		}
	}
	return 0;
}

static int is_code(const void *ip)
{
	for (int i = 0; i < code_range_count; i++)
		if ((uintptr_t)ip >= code_ranges[i].start && (uintptr_t)ip < code_ranges[i].end)
			return 1;
	return 0;
}

/* Frames 1.. of a and b equal, and as many, up to the first that is no code of a loaded
 * object. Past such a frame (a handler that interrupted libunwind's _Unwind_Resume as it
 * switched stacks gave 0x200000001) the walk reads words its own calls keep rewriting,
 * below the stack pointer: two walks of libunwind's from the same place then differed
 * in the frames after it (2 runs in 1000), whatever this walk does. */
static int same_stack(void **a, int a_count, void **b, int b_count)
{
	for (int i = 1; i < a_count && i < b_count; i++) {
		if (a[i] != b[i])
			return 0;
		if (!is_code(a[i]))
			return 1;
	}
	return a_count == b_count;
}

/* The hash sums a capture gave for its outer frames are those of its frames. */
static void check_sums(const struct mp_unwind_capture *captured)
{
	if (!captured->outer_sums)
		return;
	tally.sums_given++;
	struct mp_stack_hash_sum sum = { 0, 0 };
	const uint64_t *ips = (const uint64_t *)captured->ips;
	int count = captured->count;
	for (int j = 0; 2 * j <= count; j++) {
		if (sum.a != captured->outer_sums[j].a || sum.b != captured->outer_sums[j].b) {
			if (tally.sums_wrong++ < 3)
				fprintf(stderr, "hash sums differ at pair %d of %d frames\n", j, count);
			return;
		}
		if (2 * j + 2 <= count)
			mp_stack_hash_pair(&sum, 2 * j, ips[count - 1 - 2 * j], ips[count - 2 - 2 * j]);
	}
}

/* Two captures from here: the second joins the first where they part. */
static void probe_sums(struct shape_ctx *ctx)
{
	void *ips[FRAMES_MAX];
	for (int round = 0; round < 2 + (int)(shape_next(ctx) % 2); round++) {
		struct mp_unwind_capture captured;
		mp_unwind_capture(&captured, ips, probe_max);
		check_sums(&captured);
	}
}

/* The hash of the stack mp_unwind_capture_here tells its caller before the walk's last
 * checks (stacks.c loads the stack's slot meanwhile), noted by note_hint. */
static __thread uint64_t hint_hash;
static __thread long hint_calls;

static void note_hint(uint64_t hash_a)
{
	hint_hash = hash_a;
	hint_calls++;
}

static __attribute__((noinline)) void capture_hinted(struct mp_unwind_capture *out, void **ips,
						     int max)
{
	mp_unwind_capture_here(out, ips, max, note_hint);
}

/* hash_a of count frames, innermost first, from scratch (stack_hash.h). */
static uint64_t hash_of(void *const *ips, int count)
{
	struct mp_stack_hash_sum sum = { 0, 0 };
	for (int position = 0; position + 2 <= count; position += 2)
		mp_stack_hash_pair(&sum, position, (uint64_t)(uintptr_t)ips[count - 1 - position],
				   (uint64_t)(uintptr_t)ips[count - 2 - position]);
	uint64_t hash_a, hash_b;
	mp_stack_hash_final(sum, count, (uint64_t)(uintptr_t)ips[0], mp_modules_generation(),
			    &hash_a, &hash_b);
	return hash_a;
}

/* Two or three captures from here, the later ones joining the first: where the hint was
 * given and no check then refused the frames it was for, it is the stack's hash. */
static void probe_hint(struct shape_ctx *ctx)
{
	void *ips[FRAMES_MAX];
	for (int round = 0; round < 2 + (int)(shape_next(ctx) % 2); round++) {
		struct mp_unwind_counts before, after;
		struct mp_unwind_capture captured;
		long calls = hint_calls;
		mp_unwind_counts_get(&before);
		capture_hinted(&captured, ips, probe_max);
		mp_unwind_counts_get(&after);
		if (hint_calls == calls || after.join_refusals != before.join_refusals)
			continue;
		tally.hints++;
		if (hint_hash != hash_of(captured.ips, captured.count) && tally.hints_wrong++ < 3)
			fprintf(stderr, "the hint's hash is not that of the %d frames captured\n",
				captured.count);
	}
}

static __attribute__((noinline)) void compare_here(const char *where)
{
	void *walks[3][FRAMES_MAX], *theirs[FRAMES_MAX];
	void **ours = walks[0], **again = walks[2];
	int max = probe_max, counts[3];
	in_probe = 1;
	/* Three times from one call site: the later walks start where the first did, and are
	 * the memo's if its words still hold (a walk is kept the second time it is seen). */
	for (volatile int round = 0; round < 3; round++)
		counts[round] = mp_unwind_backtrace(walks[round], max);
	int theirs_count = unw_backtrace(theirs, max);
	int ours_count = counts[0], again_count = counts[2];
	in_probe = 0;
	tally.probes++;
	tally.frames += theirs_count;
	if (same_stack(ours, ours_count, theirs, theirs_count) &&
	    same_stack(walks[1], counts[1], theirs, theirs_count) &&
	    same_stack(again, again_count, theirs, theirs_count))
		return;
	if (tally.mismatches++ < 3) {
		fprintf(stderr, "stack mismatch in %s (max %d):\n", where, max);
		print_stack("mp_unwind_backtrace", ours, ours_count);
		print_stack("unw_backtrace", theirs, theirs_count);
		print_stack("mp_unwind_backtrace again", again, again_count);
	}
}

static void probe(struct shape_ctx *ctx)
{
	(void)ctx;
	compare_here("a shape");
}

/* While a timer interrupts: time is spent in the shapes rather than in the probe. */
static void probe_rarely(struct shape_ctx *ctx)
{
	if (shape_next(ctx) % 32 == 0)
		compare_here("a shape");
}

/* Runs count random stacks of 1 to depth_max shapes through fns. */
static void run_shapes_with(uint64_t seed, const shape_fn *fns, int fn_count, int count,
			    int depth_max, void (*probe_fn)(struct shape_ctx *))
{
	static const int maxes[] = { 72, 72, 72, 264, 16, 5, 2, 1 };
	struct shape_ctx ctx = { .rng = seed | 1, .fns = fns, .fn_count = fn_count,
				 .probe = probe_fn };
	ctx.state.throw_at = -1;
	for (int i = 0; i < count; i++) {
		probe_max = maxes[shape_next(&ctx) % (sizeof(maxes) / sizeof(maxes[0]))];
		int depth = 1 + (int)(shape_next(&ctx) % (uint64_t)depth_max);
		shape_step(&ctx, depth);
	}
	probe_max = 72;
}

static void run_shapes(uint64_t seed, const shape_fn *fns, int fn_count, int count, int depth_max)
{
	run_shapes_with(seed, fns, fn_count, count, depth_max, probe);
}

static void test_unwind_equals_libunwind_on_random_stacks(void **state)
{
	(void)state;
	struct mp_unwind_counts before, after;
	mp_unwind_counts_get(&before);
	tally = (struct tally){ 0 };
	run_shapes(1, all_shapes, SHAPE_COUNT, 4000, 40);
	mp_unwind_counts_get(&after);
	uint64_t hits = after.memo_hits - before.memo_hits;
	uint64_t rejects = after.memo_rejects - before.memo_rejects;
	uint64_t joins = after.joins - before.joins;
	printf("random stacks: %ld probes, %.1f frames on average, %llu walks by libunwind, "
	       "%llu found in the memo, %llu rejected there, %llu joined the last walk, "
	       "%llu joints refused\n",
	       tally.probes, (double)tally.frames / (double)tally.probes,
	       (unsigned long long)(after.fallbacks - before.fallbacks),
	       (unsigned long long)hits, (unsigned long long)rejects, (unsigned long long)joins,
	       (unsigned long long)(after.join_refusals - before.join_refusals));
	assert_int_equal(tally.mismatches, 0);
	assert_true(tally.probes >= 4000);
	/* Plain code: every walk took the fast path; the memo served some, and refused
	 * others that started alike but no longer held; most walks that were not the memo's
	 * took the outer frames of the walk before them. */
	assert_int_equal(after.fallbacks, before.fallbacks);
	assert_true(hits > 1000);
	assert_true(joins > 1000);
}

/* A walk kept as the thread's trail gives the hash sums of its outer frames (stack_hash.h),
 * computed as it joined the one before: they are those of its frames. */
static void test_unwind_hash_sums_of_kept_walks(void **state)
{
	(void)state;
	tally = (struct tally){ 0 };
	run_shapes_with(3, all_shapes, SHAPE_COUNT, 3000, 40, probe_sums);
	printf("hash sums given for %ld captures\n", tally.sums_given);
	assert_true(tally.sums_given > 3000);
	assert_int_equal(tally.sums_wrong, 0);
}

/* A walk that joins the thread's last one tells its caller the hash of the stack it is
 * about to return (stacks.c starts loading its slot): it is the hash of the frames the
 * capture returns, whatever the shapes and wherever the join. */
static void test_unwind_hint_is_the_stacks_hash(void **state)
{
	(void)state;
	tally = (struct tally){ 0 };
	run_shapes_with(5, all_shapes, SHAPE_COUNT, 3000, 40, probe_hint);
	printf("hints checked for %ld captures\n", tally.hints);
	assert_true(tally.hints > 2000);
	assert_int_equal(tally.hints_wrong, 0);
}

/* Left to judge, the memo is asked at one capture in 64 where walks join the trail and
 * it finds fewer than two thirds of them (here one in three), and the stacks are the
 * same. */
static void test_unwind_memo_set_aside_where_walks_join(void **state)
{
	(void)state;
	struct mp_unwind_counts before, after;
	mp_unwind_memo_always(0);
	mp_unwind_counts_get(&before);
	tally = (struct tally){ 0 };
	run_shapes(5, all_shapes, SHAPE_COUNT, 2000, 40);
	mp_unwind_counts_get(&after);
	mp_unwind_memo_always(1);
	uint64_t captures = after.captures - before.captures;
	uint64_t finds = after.memo_finds - before.memo_finds;
	printf("memo left to judge: %llu of %llu captures asked it, %llu joined the last walk\n",
	       (unsigned long long)finds, (unsigned long long)captures,
	       (unsigned long long)(after.joins - before.joins));
	assert_int_equal(tally.mismatches, 0);
	assert_true(tally.probes >= 2000);
	assert_true(finds * 4 < captures);
	assert_true(after.joins - before.joins > captures / 2);
}

static void test_unwind_memo_refuses_a_changed_stack(void **state)
{
	(void)state;
	static const shape_fn twins[] = { shape_twin_a, shape_twin_b };
	struct mp_unwind_counts before, after;
	mp_unwind_counts_get(&before);
	tally = (struct tally){ 0 };
	struct shape_ctx ctx = { .rng = 7, .fns = twins, .fn_count = 2, .probe = probe };
	ctx.state.throw_at = -1;
	for (int i = 0; i < 3000; i++)
		shape_step(&ctx, 1 + (int)(shape_next(&ctx) % 3) * 6); /* 3 depths, 2^depth shapes */
	mp_unwind_counts_get(&after);
	uint64_t hits = after.memo_hits - before.memo_hits;
	uint64_t rejects = after.memo_rejects - before.memo_rejects;
	uint64_t refusals = after.join_refusals - before.join_refusals;
	uint64_t others = after.memo_others - before.memo_others;
	printf("twins: %llu found in the memo (%llu not the last walk from their start), "
	       "%llu rejected there, %llu joints refused\n",
	       (unsigned long long)hits, (unsigned long long)others, (unsigned long long)rejects,
	       (unsigned long long)refusals);
	assert_int_equal(tally.mismatches, 0);
	assert_true(refusals > 1000);
	assert_true(rejects > 1000);
	assert_true(hits > 3000);
}

/* One capture, compared with libunwind's. */
static __attribute__((noinline)) void probe_once(struct shape_ctx *ctx)
{
	(void)ctx;
	void *ours[FRAMES_MAX], *theirs[FRAMES_MAX];
	in_probe = 1;
	int ours_count = mp_unwind_backtrace(ours, probe_max);
	int theirs_count = unw_backtrace(theirs, probe_max);
	in_probe = 0;
	tally.probes++;
	if (!same_stack(ours, ours_count, theirs, theirs_count) && tally.mismatches++ < 3) {
		print_stack("mp_unwind_backtrace", ours, ours_count);
		print_stack("unw_backtrace", theirs, theirs_count);
	}
}

/* Stacks that take turns from one start, as alloc_bench's do: six fixed twin chains of
 * twelve frames, one picked at random for each capture, on a thread of its own (a memo of
 * its own, empty). The last walk from the start holds one capture in six; the others must
 * be found by the words that tell the kept walks apart, which the memo picks as walks
 * share them (chains alike in their inner frames, or their outer ones). The chains read
 * the same words, so they share one layout, whether their walks joined the last one or
 * not (which lists the saved frame pointers read in another order). */
enum { TURNS_CAPTURES = 6000 };

static void *take_turns(void *counts)
{
	static const shape_fn twins[] = { shape_twin_a, shape_twin_b };
	static const uint64_t chains[] = { 3, 5, 7, 11, 13, 17 };
	struct mp_unwind_counts *out = counts, before;
	uint64_t pick = 0x2545f4914f6cdd1dull;
	mp_unwind_memo_always(1);
	mp_unwind_counts_get(&before);
	tally = (struct tally){ 0 };
	for (int i = 0; i < TURNS_CAPTURES; i++) {
		pick ^= pick << 13;
		pick ^= pick >> 7;
		pick ^= pick << 17;
		struct shape_ctx ctx = { .rng = chains[pick % (sizeof(chains) / sizeof(chains[0]))],
					 .fns = twins, .fn_count = 2, .probe = probe_once };
		ctx.state.throw_at = -1;
		shape_step(&ctx, 12);
	}
	mp_unwind_counts_get(&out[1]);
	out[0] = before;
	out[2].captures = (uint64_t)tally.probes;
	out[2].fallbacks = (uint64_t)tally.mismatches;
	return NULL;
}

static void test_unwind_memo_finds_stacks_taking_turns(void **state)
{
	(void)state;
	struct mp_unwind_counts counts[3];
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, take_turns, counts), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	uint64_t hits = counts[1].memo_hits - counts[0].memo_hits;
	uint64_t others = counts[1].memo_others - counts[0].memo_others;
	uint64_t layouts = counts[1].memo_layouts - counts[0].memo_layouts;
	printf("stacks taking turns: %llu of %d captures found in the memo, %llu of them not the "
	       "last walk from their start, %llu rejected there, %llu layouts\n",
	       (unsigned long long)hits, TURNS_CAPTURES, (unsigned long long)others,
	       (unsigned long long)(counts[1].memo_rejects - counts[0].memo_rejects),
	       (unsigned long long)layouts);
	assert_int_equal(counts[2].fallbacks, 0); /* mismatches */
	assert_int_equal(counts[2].captures, TURNS_CAPTURES);
	assert_true(hits > TURNS_CAPTURES * 99 / 100);
	assert_true(others > TURNS_CAPTURES * 3 / 4);
	assert_true(layouts <= 2);
}

/* A walk noted innermost first (words[1..count) hold its ips, words[8..11] the words it
 * checked), kept with its checks listed in the order given. */
static int keep_walk(struct mp_unwind_trail *notes, uint64_t *words, int count,
		     const int *check_order)
{
	void *ips[8];
	struct mp_unwind_capture out = { .ips = ips, .count = count };
	struct mp_unwind_start start = { 0x401000, (uintptr_t)&words[1], 0 };
	memset(notes, 0, sizeof(*notes));
	notes->count = count;
	for (int i = 0; i < count; i++) {
		ips[i] = (void *)(uintptr_t)(i ? words[i] : start.rip);
		notes->rsp[i] = (uintptr_t)&words[i + 1]; /* ips[i] was read at rsp[i] - 8 */
	}
	for (int i = 0; i < 3; i++) {
		int word = 8 + check_order[i];
		notes->check_address[notes->checks] = (uintptr_t)&words[word];
		notes->check_value[notes->checks++] = words[word];
	}
	int layouts = 0;
	for (int round = 0; round < 2; round++) /* a walk is kept the second time it is seen */
		layouts += mp_unwind_memo_store(&out, &start, 1, 64, notes, 0, (uintptr_t)words);
	return layouts;
}

/* The same words read, their checks noted in another order (a walk that joined the trail
 * lists the trail's first): the same layout, and the walk found by the words it read. The
 * second walk differs from the first in a frame the memo's fingerprint of a walk reads
 * (ips[1], [count / 2], [count - 1]): differing elsewhere (ips[3]), it passed for the first
 * seen again, was kept twice, and where its key and the first's fell in one set of the
 * memo's index by values (one run in about two hundred, the keys hashing the stack's
 * address) its second copy pushed the first out, and the find said CHANGED. */
static void test_unwind_memo_layout_whatever_the_order_of_checks(void **state)
{
	(void)state;
	static const int in_order[] = { 0, 1, 2 }, reversed[] = { 2, 0, 1 };
	static struct mp_unwind_trail notes;
	uint64_t words[12] = { 0, 0x402000, 0x403000, 0x404000, 0x405000, 0, 0, 0, 11, 12, 13, 14 };
	assert_int_equal(keep_walk(&notes, words, 5, in_order), 1);
	words[2] = 0x406000; /* another walk from the same start, reading the same words */
	assert_int_equal(keep_walk(&notes, words, 5, reversed), 0);
	void *ips[8];
	struct mp_unwind_capture out = { .ips = ips };
	struct mp_unwind_start start = { 0x401000, (uintptr_t)&words[1], 0 };
	words[2] = 0x403000; /* the first walk's words again */
	assert_int_equal(mp_unwind_memo_find(&out, &start, (uintptr_t)words, 1, 64),
			 MP_UNWIND_MEMO_HIT_OTHER);
	assert_int_equal(out.count, 5);
	assert_int_equal((uintptr_t)out.ips[2], 0x403000);
	words[9] = 99; /* a checked word changed */
	assert_int_equal(mp_unwind_memo_find(&out, &start, (uintptr_t)words, 1, 64),
			 MP_UNWIND_MEMO_CHANGED);
}

/* A walk of 4 frames from rip 0x401000, rbp `rbp`, over words[] (ips in words[1..4)),
 * its frames' flags (innermost first) as given, kept in the memo: as a walk's notes
 * (innermost first), or as a kept trail (outermost first), whose frames also carry
 * RBP_LIVE as unwind.c's trail_put sets it going in: from a frame that uses rbp for its
 * CFA, until one that restores it. */
static void keep_walk_rbp(uint64_t *words, const uint8_t *flags, uint64_t rbp,
			  int outermost_first)
{
	static struct mp_unwind_trail notes;
	void *ips[8];
	struct mp_unwind_capture out = { .ips = ips, .count = 4 };
	struct mp_unwind_start start = { 0x401000, (uintptr_t)&words[1], rbp };
	memset(&notes, 0, sizeof(notes));
	notes.count = 4;
	uint8_t live = 0;
	for (int i = 3; i >= 0; i--) {
		ips[i] = (void *)(uintptr_t)(i ? words[i] : start.rip);
		int at = outermost_first ? 3 - i : i;
		notes.rsp[at] = (uintptr_t)&words[i + 1];
		notes.rbp[at] = rbp;
		if (flags[i] & MP_UNWIND_TRAIL_USES_RBP)
			live = MP_UNWIND_TRAIL_RBP_LIVE;
		else if (flags[i] & MP_UNWIND_TRAIL_RESTORES_RBP)
			live = 0;
		notes.flags[at] = (uint8_t)(flags[i] | (outermost_first ? live : 0));
	}
	for (int round = 0; round < 2; round++) /* a walk is kept the second time it is seen */
		mp_unwind_memo_store(&out, &start, 1, 64, &notes, outermost_first,
				     (uintptr_t)words);
}

/* What the memo finds from the same rip and rsp with another rbp. */
static int find_with_rbp(uint64_t *words, uint64_t rbp)
{
	void *ips[8];
	struct mp_unwind_capture out = { .ips = ips };
	struct mp_unwind_start start = { 0x401000, (uintptr_t)&words[1], rbp };
	return mp_unwind_memo_find(&out, &start, (uintptr_t)words, 1, 64);
}

/* The start's rbp is part of a kept walk's start only where the walk depends on it: a
 * frame computes its CFA from rbp before any frame restores rbp from the stack. Code
 * without frame pointers holds anything in rbp, so that a start with rbp in it found
 * nothing from the recorder's own frame (bench/README, session 30). */
static void test_unwind_memo_start_rbp_only_where_a_frame_uses_it(void **state)
{
	(void)state;
	enum { USES = MP_UNWIND_TRAIL_USES_RBP, RESTORES = MP_UNWIND_TRAIL_RESTORES_RBP };
	static const struct {
		uint8_t flags[4];
		int live;
	} cases[] = {
		{ { 0, 0, 0, 0 }, 0 },               /* no frame uses it */
		{ { USES, 0, 0, 0 }, 1 },            /* the first frame's CFA */
		{ { 0, USES, 0, 0 }, 1 },            /* passed on to the second's */
		{ { 0, RESTORES, USES, 0 }, 0 },     /* restored from the stack before use */
		{ { USES | RESTORES, 0, 0, 0 }, 1 }, /* used, then restored */
	};
	/* Kept from a walk's notes (it did not join the trail), and from the trail (it did). */
	for (int outermost_first = 0; outermost_first < 2; outermost_first++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			uint64_t words[8] = { 0, 0x402000, 0x403000, 0x404000, 0, 0, 0, 0 };
			mp_unwind_memo_forget();
			keep_walk_rbp(words, cases[c].flags, 0x7000, outermost_first);
			assert_int_equal(find_with_rbp(words, 0x7000), MP_UNWIND_MEMO_HIT);
			assert_int_equal(find_with_rbp(words, 0x9000),
					 cases[c].live ? MP_UNWIND_MEMO_NONE : MP_UNWIND_MEMO_HIT);
		}
	}
}

static void test_unwind_memo_checks_the_saved_frame_pointers(void **state)
{
	(void)state;
	static const shape_fn twists[] = { shape_fp_plain, shape_fp_twist };
	struct mp_unwind_counts before, after;
	mp_unwind_counts_get(&before);
	tally = (struct tally){ 0 };
	struct shape_ctx ctx = { .rng = 9, .fns = twists, .fn_count = 2, .probe = probe };
	ctx.state.throw_at = -1;
	for (int i = 0; i < 3000; i++)
		shape_fp_anchor(&ctx, 2 + (int)(shape_next(&ctx) % 4));
	mp_unwind_counts_get(&after);
	uint64_t rejects = after.memo_rejects - before.memo_rejects;
	printf("twisted frame pointers: %llu found in the memo, %llu rejected there, "
	       "%llu joined, %llu joints refused\n",
	       (unsigned long long)(after.memo_hits - before.memo_hits),
	       (unsigned long long)rejects, (unsigned long long)(after.joins - before.joins),
	       (unsigned long long)(after.join_refusals - before.join_refusals));
	assert_int_equal(tally.mismatches, 0);
	assert_true(rejects > 500);
}

static void test_unwind_deep_recursion_is_cut_like_libunwind(void **state)
{
	(void)state;
	tally = (struct tally){ 0 };
	run_shapes(2, small_shapes, SMALL_SHAPE_COUNT, 300, 400);
	assert_int_equal(tally.mismatches, 0);
	assert_true(tally.frames > 300 * 40);
}

static void *thread_main(void *arg)
{
	tally = (struct tally){ 0 };
	run_shapes((uint64_t)(uintptr_t)arg, all_shapes, SHAPE_COUNT, 2000, 30);
	return (void *)(intptr_t)tally.mismatches;
}

static void test_unwind_threads_share_the_rules(void **state)
{
	(void)state;
	pthread_t threads[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, thread_main, (void *)(uintptr_t)(100 + i)), 0);
	for (int i = 0; i < 4; i++) {
		void *mismatches;
		pthread_join(threads[i], &mismatches);
		assert_int_equal((intptr_t)mismatches, 0);
	}
}

/* ---- signal handlers ---- */

static void on_signal(int signo, siginfo_t *info, void *context)
{
	(void)signo;
	(void)info;
	(void)context;
	if (in_probe)
		return;
	tally.in_handlers++;
	compare_here("a signal handler");
}

static void probe_and_raise(struct shape_ctx *ctx)
{
	compare_here("a shape");
	if (shape_next(ctx) % 2)
		raise(SIGUSR1);
	else
		pthread_kill(pthread_self(), SIGUSR2);
}

static void install(int signo, int on_altstack)
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = on_signal;
	action.sa_flags = SA_SIGINFO | SA_RESTART | (on_altstack ? SA_ONSTACK : 0);
	sigemptyset(&action.sa_mask);
	assert_int_equal(sigaction(signo, &action, NULL), 0);
}

static void test_unwind_signal_handlers_on_both_stacks(void **state)
{
	(void)state;
	stack_t altstack = { .ss_sp = malloc(1 << 16), .ss_size = 1 << 16 };
	assert_int_equal(sigaltstack(&altstack, NULL), 0);
	install(SIGUSR1, 0);
	install(SIGUSR2, 1);
	install(SIGPROF, 1);
	tally = (struct tally){ 0 };
	struct mp_unwind_counts before, after;
	mp_unwind_counts_get(&before);
	struct shape_ctx ctx = { .rng = 3, .fns = all_shapes, .fn_count = SHAPE_COUNT,
				 .probe = probe_and_raise };
	ctx.state.throw_at = -1;
	for (int i = 0; i < 1000; i++)
		shape_step(&ctx, 1 + (int)(shape_next(&ctx) % 30));
	long raised = tally.in_handlers;
	mp_unwind_counts_get(&after);
	/* Every handler's walk meets the signal frame, and that one is libunwind's. */
	assert_true(after.fallbacks - before.fallbacks >= (uint64_t)raised);
	/* A timer interrupts the shapes at arbitrary instructions, prologues included. */
	struct itimerval timer = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_PROF, &timer, NULL);
	for (int round = 0; round < 400 && tally.in_handlers < raised + 300; round++)
		run_shapes_with(4 + (uint64_t)round, all_shapes, SHAPE_COUNT, 500, 30, probe_rarely);
	memset(&timer, 0, sizeof(timer));
	setitimer(ITIMER_PROF, &timer, NULL);
	mp_unwind_counts_get(&after);
	printf("signals: %ld probes, %ld in handlers (%ld raised, %ld by the timer), %llu walks "
	       "by libunwind\n", tally.probes, tally.in_handlers, raised, tally.in_handlers - raised,
	       (unsigned long long)(after.fallbacks - before.fallbacks));
	assert_int_equal(tally.mismatches, 0);
	assert_true(raised >= 1000);
	assert_true(tally.in_handlers >= raised + 50);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGPROF, SIG_IGN);
	altstack.ss_flags = SS_DISABLE;
	sigaltstack(&altstack, NULL);
}

/* ---- a coroutine's stack ---- */

static ucontext_t coroutine_return;

static void coroutine_main(void)
{
	run_shapes(8, small_shapes, SMALL_SHAPE_COUNT, 200, 20);
}

/* Stacks mapped, run on with swapcontext, unmapped, and mapped again smaller at the same
 * place: the walk stays on the thread's own stack, and gives these to libunwind. */
static void test_unwind_coroutine_stacks_are_libunwinds(void **state)
{
	(void)state;
	tally = (struct tally){ 0 };
	struct mp_unwind_counts before, after;
	mp_unwind_counts_get(&before);
	void *where = NULL;
	for (int round = 0; round < 4; round++) {
		size_t size = (size_t)(4 - round) << 20;
		void *stack = mmap(where, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | (where ? MAP_FIXED_NOREPLACE : 0), -1, 0);
		assert_true(stack != MAP_FAILED);
		where = stack;
		ucontext_t coroutine;
		getcontext(&coroutine);
		coroutine.uc_stack.ss_sp = stack;
		coroutine.uc_stack.ss_size = size;
		coroutine.uc_link = &coroutine_return;
		makecontext(&coroutine, coroutine_main, 0);
		assert_int_equal(swapcontext(&coroutine_return, &coroutine), 0);
		munmap(stack, size);
	}
	mp_unwind_counts_get(&after);
	assert_int_equal(tally.mismatches, 0);
	assert_true(tally.probes >= 800);
	assert_true(after.fallbacks - before.fallbacks >= (uint64_t)tally.probes);
}

/* ---- the rules of a function with a long FDE program ---- */

long long_cfi(long x); /* build/tests/unit/unwind/long_cfi.c: a 4 KiB FDE program */

#define LONG_CFI_SPAN 12000 /* bytes from its start: the function's, at -O2 (15 KiB) */

/* unwind_rules.c keeps checkpoints of a long program's run and resumes from the last one
 * below the address: at every address the rule is the program's run from its start. */
static void test_unwind_rules_from_checkpoints_are_whole_runs(void **state)
{
	(void)state;
	uintptr_t start = (uintptr_t)long_cfi;
	struct mp_unwind_rule *whole = calloc(LONG_CFI_SPAN, sizeof(*whole));
	assert_non_null(whole);
	mp_unwind_rules_keep(0);
	for (int i = 0; i < LONG_CFI_SPAN; i++)
		mp_unwind_rule_find(start + 1 + (uintptr_t)i, mp_modules_generation(),
				    &whole[i]); /* the pc is ra - 1 */
	uint32_t kept_before = mp_unwind_rules_keep(1);
	int standard = 0, offsets_changed = 0;
	/* Every address once (7919 is prime to the span), from one past the prologue's
	 * pushes and before the first checkpoint: the look-up that makes the checkpoints
	 * then runs from the program's start. */
	for (int visit = 0; visit < LONG_CFI_SPAN; visit++) {
		int i = (int)(((long)visit * 7919 + 40) % LONG_CFI_SPAN);
		struct mp_unwind_rule resumed;
		mp_unwind_rule_find(start + 1 + (uintptr_t)i, mp_modules_generation(), &resumed);
		if (memcmp(&resumed, &whole[i], sizeof(resumed)) != 0)
			fail_msg("at +%d: kind %d offset %d from the checkpoints, %d %d whole", i,
				 resumed.kind, resumed.cfa_offset, whole[i].kind, whole[i].cfa_offset);
		standard += whole[i].kind == MP_UNWIND_STANDARD;
		offsets_changed += i > 0 && whole[i].cfa_offset != whole[i - 1].cfa_offset;
	}
	uint32_t kept = mp_unwind_rules_keep(1) - kept_before;
	printf("%u checkpoints; %d of %d addresses standard, the CFA's offset changing %d times\n",
	       kept, standard, LONG_CFI_SPAN, offsets_changed);
	/* One every 128 bytes of the program (where no remember_state is pending). */
	assert_true(kept >= 20);
	/* The comparison means something: standard rules whose offsets move all along. */
	assert_true(standard > LONG_CFI_SPAN * 9 / 10);
	assert_true(offsets_changed > 300);
	free(whole);
}

/* The rules learned with what learning keeps (the CIEs' initial rows, checkpoints) are
 * those of runs from nothing, at addresses in five objects, C and C++, the second time
 * from what the first kept. (A CIE taken for another is caught by the differential
 * tests: test_unwind_equals_libunwind_on_random_stacks fails then.) */
#define KEPT_PROBES 600
#define KEPT_STRIDE 13

static void test_unwind_rules_kept_equal_fresh(void **state)
{
	(void)state;
	const void *bases[] = { (const void *)qsort, (const void *)printf, (const void *)malloc,
				(const void *)dlopen, (const void *)unw_backtrace,
				(const void *)_cmocka_run_group_tests, (const void *)long_cfi,
				(const void *)shape_cxx_throw, (const void *)shape_cxx_raii,
				(const void *)test_unwind_rules_kept_equal_fresh };
	enum { BASES = sizeof(bases) / sizeof(bases[0]) };
	static struct mp_unwind_rule fresh[BASES][KEPT_PROBES];
	mp_unwind_rules_keep(0);
	for (int b = 0; b < BASES; b++)
		for (int i = 0; i < KEPT_PROBES; i++)
			mp_unwind_rule_find((uintptr_t)bases[b] + 1 + (uintptr_t)(i * KEPT_STRIDE),
					    mp_modules_generation(), &fresh[b][i]);
	mp_unwind_rules_keep(1);
	int standard[BASES] = { 0 };
	uint64_t hits[2];
	for (int round = 0; round < 2; round++) {
		uint64_t hits_before = mp_unwind_ranges_hits();
		for (int b = 0; b < BASES; b++) {
			for (int i = 0; i < KEPT_PROBES; i++) {
				struct mp_unwind_rule kept;
				uintptr_t pc = (uintptr_t)bases[b] + 1 + (uintptr_t)(i * KEPT_STRIDE);
				mp_unwind_rule_find(pc, mp_modules_generation(), &kept);
				if (memcmp(&kept, &fresh[b][i], sizeof(kept)) != 0)
					fail_msg("round %d, base %d +%d: kind %d offset %d kept, %d %d "
						 "fresh", round, b, i * KEPT_STRIDE, kept.kind,
						 kept.cfa_offset, fresh[b][i].kind,
						 fresh[b][i].cfa_offset);
				standard[b] += round == 0 && kept.kind == MP_UNWIND_STANDARD;
			}
		}
		hits[round] = mp_unwind_ranges_hits() - hits_before;
	}
	/* The comparison means something in every object: most rules there are standard. */
	for (int b = 0; b < BASES; b++)
		assert_true(standard[b] > KEPT_PROBES / 2);
	/* Rows hold over several of the addresses 13 bytes apart: the first round found a
	 * quarter and more in ranges it had learned (two thirds, run to run), the second
	 * more than that, more than half (68-84%: not all, as no FDE holds some, and where
	 * every 13th byte of prologues is learned, their ranges crowd a cell past the
	 * probes, by how the library's addresses fall). */
	printf("ranges answered %llu, then %llu of %d\n", (unsigned long long)hits[0],
	       (unsigned long long)hits[1], BASES * KEPT_PROBES);
	assert_true(hits[0] > (uint64_t)(BASES * KEPT_PROBES / 4));
	assert_true(hits[1] > hits[0]);
	assert_true(hits[1] > (uint64_t)(BASES * KEPT_PROBES / 2));
}

/* The ranges' table itself: a range answers inside, not outside, not for another
 * generation; one longer than its limit answers in the cell of its address only. */
static void test_unwind_ranges_hold_inside_and_of_their_generation(void **state)
{
	(void)state;
	struct mp_unwind_rule rule = { MP_UNWIND_STANDARD, 1, -72, 1, -16 }, out;
	uint32_t generation = mp_modules_generation() + 1000;
	mp_unwind_ranges_add(0x7100401010, 0x7100403800, 0x7100401234, generation, &rule);
	assert_int_equal(mp_unwind_ranges_find(0x7100401010, generation, &out), 1);
	assert_memory_equal(&out, &rule, sizeof(rule));
	assert_int_equal(mp_unwind_ranges_find(0x71004037ff, generation, &out), 1);
	assert_int_equal(mp_unwind_ranges_find(0x7100402000, generation, &out), 1);
	assert_int_equal(mp_unwind_ranges_find(0x710040100f, generation, &out), 0);
	assert_int_equal(mp_unwind_ranges_find(0x7100403800, generation, &out), 0);
	assert_int_equal(mp_unwind_ranges_find(0x7100402000, generation + 1, &out), 0);
	/* 64 KiB, past RANGE_CELLS_MAX cells of 1 KiB: only the cell of the address
	 * learned. */
	struct mp_unwind_rule other = { MP_UNWIND_OTHER, 0, 0, 0, 0 };
	mp_unwind_ranges_add(0x7100500000, 0x7100510000, 0x7100508abc, generation, &other);
	assert_int_equal(mp_unwind_ranges_find(0x7100508800, generation, &out), 1);
	assert_int_equal(out.kind, MP_UNWIND_OTHER);
	assert_int_equal(mp_unwind_ranges_find(0x7100508bff, generation, &out), 1);
	assert_int_equal(mp_unwind_ranges_find(0x71005087ff, generation, &out), 0);
	assert_int_equal(mp_unwind_ranges_find(0x7100500010, generation, &out), 0);
	/* A newer generation empties the table: the old ranges are gone for good. */
	mp_unwind_ranges_add(0x7100600000, 0x7100600100, 0x7100600010, generation + 1, &rule);
	assert_int_equal(mp_unwind_ranges_find(0x7100600020, generation + 1, &out), 1);
	assert_int_equal(mp_unwind_ranges_find(0x7100401234, generation, &out), 0);
	assert_int_equal(mp_unwind_ranges_find(0x7100401234, generation + 1, &out), 0);
	/* Switched off, nothing is answered. */
	mp_unwind_ranges_keep(0);
	assert_int_equal(mp_unwind_ranges_find(0x7100600020, generation + 1, &out), 0);
	mp_unwind_ranges_keep(1);
	/* Back to this process's generation for the tests that follow. */
	mp_unwind_ranges_add(0x7100600000, 0x7100600100, 0x7100600010, mp_modules_generation(),
			     &rule);
}

/* ---- a library unloaded, another loaded in its place ---- */

static void library_path(char *out, size_t cap, int variant)
{
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(out, cap, "%s/unwind/libshapes%d.so", exe, variant);
}

struct loaded {
	void *handle;
	shape_fn fns[SHAPE_COUNT + 2];
	uintptr_t base;
};

static void load(struct loaded *lib, int variant)
{
	char path[4200];
	library_path(path, sizeof(path), variant);
	lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(lib->handle);
	memcpy(lib->fns, all_shapes, sizeof(all_shapes));
	*(void **)&lib->fns[SHAPE_COUNT] = dlsym(lib->handle, "shape_lib_plain");
	*(void **)&lib->fns[SHAPE_COUNT + 1] = dlsym(lib->handle, "shape_lib_alloca");
	assert_non_null(lib->fns[SHAPE_COUNT]);
	Dl_info info;
	assert_true(dladdr((void *)lib->fns[SHAPE_COUNT], &info));
	lib->base = (uintptr_t)info.dli_fbase;
}

struct library_run {
	struct loaded *lib;
	long mismatches;
	uint64_t fallbacks; /* walks libunwind finished */
};

static void *library_thread(void *arg)
{
	struct library_run *run = arg;
	struct mp_unwind_counts before, after;
	tally = (struct tally){ 0 };
	mp_unwind_counts_get(&before);
	run_shapes(6, run->lib->fns, SHAPE_COUNT + 2, 1500, 25);
	mp_unwind_counts_get(&after);
	run->mismatches = tally.mismatches;
	run->fallbacks = after.fallbacks - before.fallbacks;
	return NULL;
}

static struct library_run run_on_a_thread(struct loaded *lib)
{
	struct library_run run = { lib, 0, 0 };
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, library_thread, &run), 0);
	pthread_join(thread, NULL);
	return run;
}

static void test_unwind_library_unloaded_and_replaced(void **state)
{
	(void)state;
	struct loaded first, second;
	load(&first, 1);
	tally = (struct tally){ 0 };
	run_shapes(5, first.fns, SHAPE_COUNT + 2, 1500, 25);
	assert_int_equal(tally.mismatches, 0);
	/* On a thread too: its memo goes to the next thread that starts, which walks the
	 * other library's code. */
	struct library_run before = run_on_a_thread(&first);
	assert_int_equal(before.mismatches, 0);
	assert_int_equal(dlclose(first.handle), 0);
	mp_modules_unloaded(); /* what the preload's dlclose() does */
	load(&second, 2);
	printf("library at %#lx, then another at %#lx\n", (unsigned long)first.base,
	       (unsigned long)second.base);
	/* libunwind's fast path caches rules per return address for the life of a thread
	 * and never forgets an unloaded library's: a thread that has not walked the first
	 * library is the reference. */
	struct library_run after = run_on_a_thread(&second);
	assert_int_equal(after.mismatches, 0);
	/* The same shapes: as many walks left to libunwind. A rule of the first library's
	 * kept for the second's code mostly makes a walk fail its checks, and libunwind
	 * takes over (36 more, with a cache of rules in the memo that outlived the unload). */
	assert_int_equal(after.fallbacks, before.fallbacks);
	dlclose(second.handle);
	mp_modules_unloaded();
}

int main(void)
{
	mp_stack_hash_init(); /* as recording.c's start does, through mp_stacks_init */
	dl_iterate_phdr(note_code, NULL);
	mp_unwind_init();
	/* The probes capture each stack three times in a row, the later two from the trail
	 * at no cost: the memo would be set aside (test_unwind_memo_set_aside_where_walks_
	 * join), and the tests of its checks would prove nothing. */
	mp_unwind_memo_always(1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_equals_libunwind_on_random_stacks),
		cmocka_unit_test(test_unwind_hash_sums_of_kept_walks),
		cmocka_unit_test(test_unwind_hint_is_the_stacks_hash),
		cmocka_unit_test(test_unwind_memo_set_aside_where_walks_join),
		cmocka_unit_test(test_unwind_memo_refuses_a_changed_stack),
		cmocka_unit_test(test_unwind_memo_finds_stacks_taking_turns),
		cmocka_unit_test(test_unwind_memo_layout_whatever_the_order_of_checks),
		cmocka_unit_test(test_unwind_memo_start_rbp_only_where_a_frame_uses_it),
		cmocka_unit_test(test_unwind_memo_checks_the_saved_frame_pointers),
		cmocka_unit_test(test_unwind_deep_recursion_is_cut_like_libunwind),
		cmocka_unit_test(test_unwind_threads_share_the_rules),
		cmocka_unit_test(test_unwind_rules_from_checkpoints_are_whole_runs),
		cmocka_unit_test(test_unwind_rules_kept_equal_fresh),
		cmocka_unit_test(test_unwind_ranges_hold_inside_and_of_their_generation),
		cmocka_unit_test(test_unwind_signal_handlers_on_both_stacks),
		cmocka_unit_test(test_unwind_coroutine_stacks_are_libunwinds),
		cmocka_unit_test(test_unwind_library_unloaded_and_replaced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
