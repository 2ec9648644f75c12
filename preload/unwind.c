/* unwind.c: the stack walk of every recorded event, libunwind's fast path without its costs.
 *
 * libunwind's unw_backtrace (1.6) walks with tdep_trace: for each frame it looks the return
 * address up in a per-thread cache of unwind rules (CFA = rsp or rbp + offset, return
 * address at CFA - 8, rbp saved at CFA + k or kept), computes the caller's registers and
 * reads its return address. Most of its cost is around that loop: a context saved and a
 * cursor of a kilobyte set up per call, a cache of 16384 slots per thread, checks on every
 * read. This walk does the same steps with the same rules (unwind_rules.c compiles them
 * from .eh_frame as libunwind does) and nothing else:
 *  - the rules live in one table for all threads, a word per return address, filled on a
 *    miss and published with a compare-and-swap, tagged with the module generation so an
 *    unload (modules.c) retires them; it grows by copying into a larger table, lock-free;
 *  - every read of the stack is bounded by the thread's own stack (found once per thread:
 *    glibc's bounds, or the main thread's [stack] in /proc/self/maps), so a bad rule or a
 *    corrupt stack cannot make it fault; a capture on another stack (a sigaltstack, a
 *    coroutine's) is libunwind's, which walks on a stack of memprof's (fallback);
 *  - a frame whose rule is not standard (signal frames, DWARF expressions, code without
 *    unwind information), a read out of bounds, anything unexpected: unw_backtrace redoes
 *    the whole walk, and its answer is returned. So the result is always libunwind's,
 *    but for one case where libunwind would crash the program: at a frame without unwind
 *    information (code generated at run time) it reads the 16 bytes at the return
 *    address to see if they are the signal return trampoline, checking only that the
 *    page each 8-byte read starts in is mapped, so a call whose return address lies
 *    within 16 bytes of the end of its mapping (the last call of a JIT's code region)
 *    made it fault in 1 to 2% of the runs of tests/integration/fork_storm.sh. Those
 *    bytes are read safely first (process_vm_readv), and if they cannot be, the stack
 *    ends at that frame;
 *  - before walking, the walks this thread kept (unwind_memo.c) are asked for one from the
 *    same start whose words still hold; the walk notes the words it read for that. Where
 *    stacks rarely repeat the memo is consulted only now and then;
 *  - a walk that reaches a frame the thread's last walk (its trail) passed through, with
 *    the same ip and rsp, and the same rbp if a CFA further out is computed from it, is
 *    from there on a function of the stack words the trail read: if they still hold what
 *    they held, the rest is the trail's (a join), checked at one load a frame instead of
 *    walked. cc1's walks took 85% of their frames that way. The trail keeps its frames
 *    outermost first, so that a join rewrites only the frames further in, and the hash
 *    sums of its frames (stack_hash.h), so that interning hashes only those. Where joins
 *    take few frames (stacks that never repeat) the trail is used only now and then.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "modules.h"
#include "proc_text.h"
#include "unwind.h"

#define FIRST_TABLE_BITS 12
#define MAX_PROBES 16
#define FALLBACK_FRAMES_MAX 512
#define TAG_LIMIT 0xffffu
#define LOWEST_RETURN_ADDRESS 0x4000 /* tdep_trace stops below it */

/* A rule in one word: bits 0-15 the generation tag, 16-17 the kind (0: not yet filled),
 * 18 CFA from rbp, 19 rbp saved, 20-34 rbp's offset, 35-63 the CFA's offset (signed). */
#define RULE_KIND_SHIFT 16
#define RULE_ON_RBP (1ull << 18)
#define RULE_RBP_SAVED (1ull << 19)
/* Bits 18-19 are the frame's flags in a walk's notes, as they are. */
#define RULE_FLAGS_SHIFT 18
_Static_assert(RULE_ON_RBP >> RULE_FLAGS_SHIFT == MP_UNWIND_TRAIL_USES_RBP &&
		       RULE_RBP_SAVED >> RULE_FLAGS_SHIFT == MP_UNWIND_TRAIL_RESTORES_RBP,
	       "a rule's flags are the notes'");

struct slot {
	uint64_t ra;   /* 0: empty; claimed by CAS */
	uint64_t rule; /* 0 until filled */
};

struct rule_table {
	uint64_t mask;
	unsigned shift;
	uint32_t base_generation; /* tags count generations from here */
	uint32_t inserted;
	/* Each slot within one cache line: after the 24 bytes above, every fourth one
	 * straddled two, and its rule missed the cache once more (cc1, callgrind: 43700
	 * misses in 389000 look-ups; walk's misses 257000 -> 211000, to the last level
	 * 46000 -> 39000). */
	_Alignas(16) struct slot slots[];
};
_Static_assert(offsetof(struct rule_table, slots) % 16 == 0, "slots within cache lines");

struct stack_range {
	uintptr_t low, high;
	int grows; /* the main thread's [stack], which the kernel grows down */
};
/* The memo pays only where stacks repeat: a thread whose captures found less than a
 * quarter of their walks there in a window of WINDOW captures uses it for one capture in
 * MEMO_COLD_PROBE only, until a window of COLD_WINDOW of those finds a quarter again.
 * Where walks join the trail they cost far less, and the memo must find two thirds: cc1
 * found half of its walks there, and the memo's finds, stores and 100 KiB a thread cost
 * the compiler about what its hits saved (cc1 without the leak check, 21 interleaved
 * runs: 159.9 ms with the memo, 155.2 without it). Set aside, it was still asked one
 * capture in 8, and each ask that missed stored the walk: cc1's 15.7k stores, cold code
 * and a cold arena, cost it 380k instruction-cache and 49k last-level misses (callgrind's
 * cache model) for a few hits; one capture in 64 costs what no memo at all does. */
#define WINDOW 256u
#define COLD_WINDOW 32u
#define MEMO_COLD_PROBE 64u
#define COLD_PROBE 8u /* the trail's, set aside */
#define MEMO_FIRST_CAPTURE 32u /* captures before it (see capture) */
struct unwind_thread {
	struct stack_range stack; /* the thread's own stack; high 0 until known */
	uint32_t window, window_hits; /* captures that used the memo in this window; hits */
	uint32_t cold;                /* 1: the memo is used one capture in MEMO_COLD_PROBE */
	uint32_t tick;
	uint32_t memo_always; /* mp_unwind_memo_always */
	/* The same for the trail: walks in this window, frames they walked and returned. */
	uint32_t trail_window, trail_walked, trail_frames;
	uint32_t trail_cold, trail_tick;
	struct mp_unwind_counts counts;
	uint8_t *fallback_stack; /* libunwind's stack (see fallback), NULL until needed */
	int fallback_stack_off;  /* none again: the thread is ending, or mapping one failed */
	int apart_depth;         /* call_apart's calls under way on this thread */
	int fallback_depth;      /* walks of libunwind under way on this thread (a signal
				    handler's capture may interrupt one) */
	int getattr_depth;       /* the program's pthread_getattr_np calls under way on this
				    thread (see learn_stack) */
};

/* The stack a capture must have left below it to walk (see capture). */
#define CAPTURE_ROOM_MIN (12u << 10)
/* libunwind's own stack, a guard page below it (see fallback). Its walks took up to
 * about 10 KiB (lazy binding of its symbols saves the vector registers, and the unwind
 * tables' parsing is recursive), and the frames it returns another 4. A signal that comes
 * during a walk has the program's handler run on this stack too (unless the handler asked
 * for its alternate stack): hence far more than the walk needs, address space only until
 * used. A fork child keeps those of the parent's other threads mapped, as it keeps their
 * stacks. */
#define FALLBACK_STACK_BYTES (256u << 10)
#define FALLBACK_GUARD_BYTES 4096u
/* Frames of ours above the caller's in libunwind's walk: fallback_walk,
 * mp_sys_call_on_stack, fallback, capture's and mp_unwind_capture's (some may be
 * inlined or tail-called away). */
#define FALLBACK_OWN_FRAMES 6

static struct rule_table *current_table;
/* The generation whose unloads libunwind was told of (see refresh_table). */
static uint32_t flushed_generation;
static __thread struct unwind_thread unwind_thread __attribute__((tls_model("initial-exec")));

size_t mp_unwind_stack_room(uintptr_t sp)
{
	const struct stack_range *stack = &unwind_thread.stack;
	return stack->high && sp > stack->low && sp <= stack->high ? sp - stack->low : 0;
}

static pthread_key_t fallback_key;
static int fallback_key_ready;

/* At thread exit: libunwind's stack is unmapped, and not made again for this thread (a
 * later TLS destructor's capture walks on the thread's own stack). */
static void fallback_stack_exit(void *stack)
{
	unwind_thread.fallback_stack = NULL;
	unwind_thread.fallback_stack_off = 1;
	mp_sys_unmap(stack, FALLBACK_GUARD_BYTES + FALLBACK_STACK_BYTES);
}

/* How far below its top the main thread's stack may have grown: RLIMIT_STACK when the
 * library starts, at most 4 GiB (with no limit the kernel places mappings far from the
 * stack). A stack pointer further down is on a stack of the program's own (a
 * coroutine's), which memprof must not learn about: that reads /proc/self/maps with a
 * 4 KiB buffer on the very stack, and a coroutine mapped within 4 GiB of the main stack
 * (ASLR put the mmap area there in one run in a few hundred) overflowed its stack. */
static uintptr_t main_stack_reach = 1ull << 32;

/* glibc's pthread_getattr_np, not ours (interpose_getattr.c): looked up as recording
 * starts (mp_unwind_init), or at the program's first call if it comes before. */
typedef int getattr_fn(pthread_t, pthread_attr_t *);
static getattr_fn *glibc_getattr;

static getattr_fn *getattr_resolve(void)
{
	getattr_fn *found = __atomic_load_n(&glibc_getattr, __ATOMIC_ACQUIRE);
	if (!found) {
		*(void **)&found = dlsym(RTLD_NEXT, "pthread_getattr_np");
		__atomic_store_n(&glibc_getattr, found, __ATOMIC_RELEASE);
	}
	return found;
}

void mp_unwind_init(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur < main_stack_reach)
		main_stack_reach = (uintptr_t)limit.rlim_cur;
	mp_unwind_memo_init();
	if (!fallback_key_ready && pthread_key_create(&fallback_key, fallback_stack_exit) == 0)
		fallback_key_ready = 1;
	getattr_resolve();
}

int mp_unwind_forget_walks(void)
{
	if (unwind_thread.fallback_depth)
		return -1;
	/* A handler jumped out of memprof's stack, where call_apart had taken the thread:
	 * the frames there are abandoned, and the thread is on its own stack again. */
	if (unwind_thread.apart_depth) {
		unwind_thread.apart_depth = 0;
		__atomic_store_n(&mp_state_thread.program_sp, 0, __ATOMIC_RELAXED);
	}
	mp_unwind_memo_forget();
	return 0;
}

void mp_unwind_counts_get(struct mp_unwind_counts *out)
{
	*out = unwind_thread.counts;
}

void mp_unwind_memo_always(int always)
{
	unwind_thread.memo_always = (uint32_t)always;
	if (always)
		unwind_thread.cold = 0;
}

static uint64_t pack(const struct mp_unwind_rule *rule, uint32_t tag)
{
	uint64_t word = (uint64_t)tag | (uint64_t)rule->kind << RULE_KIND_SHIFT;
	if (rule->kind != MP_UNWIND_STANDARD)
		return word;
	if (!rule->cfa_on_rsp)
		word |= RULE_ON_RBP;
	if (rule->rbp_saved)
		word |= RULE_RBP_SAVED | ((uint64_t)(uint32_t)rule->rbp_offset & 0x7fff) << 20;
	return word | (uint64_t)(int64_t)rule->cfa_offset << 35;
}

static size_t table_bytes(uint64_t slots)
{
	return sizeof(struct rule_table) + slots * sizeof(struct slot);
}

/* A table of 2^bits slots holding old's entries of the current generation. Published by
 * CAS; the loser unmaps its copy. Old tables stay mapped: another thread may be reading
 * one (they are a geometric series, so at most a third of the memory). */
static struct rule_table *replace_table(struct rule_table *old, unsigned bits, uint32_t generation)
{
	uint64_t slots = 1ull << bits;
	struct rule_table *table = mp_sys_map_anon_populated(table_bytes(slots));
	if (!table)
		return NULL;
	table->mask = slots - 1;
	table->shift = 64 - bits;
	table->base_generation = generation;
	for (uint64_t i = 0; old && i <= old->mask; i++) {
		uint64_t ra = __atomic_load_n(&old->slots[i].ra, __ATOMIC_ACQUIRE);
		uint64_t rule = __atomic_load_n(&old->slots[i].rule, __ATOMIC_ACQUIRE);
		if (!ra || !rule || (uint32_t)(rule & 0xffff) + old->base_generation != generation)
			continue;
		uint64_t at = (ra * 0x9e3779b97f4a7c15ull) >> table->shift;
		for (int probe = 0; probe < MAX_PROBES; probe++, at = (at + 1) & table->mask) {
			if (!table->slots[at].ra) {
				table->slots[at].ra = ra;
				table->slots[at].rule = (rule & ~0xffffull) |
							(generation - table->base_generation);
				table->inserted++;
				break;
			}
		}
	}
	if (__atomic_compare_exchange_n(&current_table, &old, table, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return table;
	mp_sys_unmap(table, table_bytes(slots));
	return old; /* another thread's table, published meanwhile */
}

/* The table to use with this generation: a new one when there is none, when it is half
 * full, or when the generation outran the tags. NULL if memory is short. A new generation
 * (a library was unloaded) is also told to libunwind, whose caches of rules by address
 * would otherwise serve the unloaded library's rules for whatever code is loaded there
 * next (its per-thread cache of the fast path cannot be flushed: only new threads are
 * safe from it). */
static struct rule_table *refresh(struct rule_table *table, uint32_t generation)
{
	uint32_t flushed = __atomic_load_n(&flushed_generation, __ATOMIC_RELAXED);
	if (flushed != generation &&
	    __atomic_compare_exchange_n(&flushed_generation, &flushed, generation, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		unw_flush_cache(unw_local_addr_space, 0, 0);
	if (!table)
		return replace_table(NULL, FIRST_TABLE_BITS, generation);
	if (generation - table->base_generation >= TAG_LIMIT)
		return replace_table(table, 64 - table->shift, generation);
	if (__atomic_load_n(&table->inserted, __ATOMIC_RELAXED) > table->mask / 2)
		return replace_table(table, 64 - table->shift + 2, generation);
	return table;
}

static __attribute__((noinline)) struct rule_table *refresh_table(struct rule_table *table,
								  uint32_t generation)
{
	/* libunwind's lock (unw_flush_cache) and the table's publication: no handler may
	 * jump out of here (recording_jumps.c). Rare: once a generation or a growth. */
	uint64_t signals;
	mp_sys_signals_hold(&signals);
	mp_state_thread.fragile++;
	table = refresh(table, generation);
	mp_state_thread.fragile--;
	mp_sys_signals_release(&signals);
	return table;
}

static inline uint64_t lookup(const struct rule_table *table, uintptr_t ra, uint32_t tag)
{
	uint64_t at = (ra * 0x9e3779b97f4a7c15ull) >> table->shift;
	for (int probe = 0; probe < MAX_PROBES; probe++, at = (at + 1) & table->mask) {
		const struct slot *slot = &table->slots[at];
		uint64_t key = __atomic_load_n(&slot->ra, __ATOMIC_RELAXED);
		if (key == ra) {
			uint64_t rule = __atomic_load_n(&slot->rule, __ATOMIC_ACQUIRE);
			return (rule & 0xffff) == tag ? rule : 0;
		}
		if (!key)
			return 0;
	}
	return 0;
}

/* A miss: compiles the rule of ra and stores it (a slot of its own, or the same return
 * address's slot of an older generation). Returns the rule. */
static __attribute__((noinline)) uint64_t learn(struct rule_table *table, uintptr_t ra,
						uint32_t tag)
{
	struct mp_unwind_rule found;
	mp_unwind_rule_find(ra, table->base_generation + tag, &found);
	uint64_t rule = pack(&found, tag);
	uint64_t at = (ra * 0x9e3779b97f4a7c15ull) >> table->shift;
	for (int probe = 0; probe < MAX_PROBES; probe++, at = (at + 1) & table->mask) {
		struct slot *slot = &table->slots[at];
		uint64_t key = 0;
		if (__atomic_compare_exchange_n(&slot->ra, &key, ra, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_add_fetch(&table->inserted, 1, __ATOMIC_RELAXED);
			key = ra;
		}
		if (key == ra) {
			__atomic_store_n(&slot->rule, rule, __ATOMIC_RELEASE);
			break;
		}
	}
	return rule;
}

struct mapping_search {
	uintptr_t addr;
	struct stack_range *out;
};

static int mapping_line(void *context, const char *text, size_t len)
{
	struct mapping_search *search = context;
	struct mp_proc_map map;
	if (!mp_proc_map_line(text, len, &map) || search->addr < map.start ||
	    search->addr >= map.end)
		return 0;
	search->out->low = map.start;
	search->out->high = map.end;
	search->out->grows = map.path_len == 7 && memcmp(map.path, "[stack]", 7) == 0;
	return 1;
}

/* The mapping of /proc/self/maps that holds addr (high 0 if none; grows if it is the
 * main thread's [stack]). Lines are parsed from a fixed buffer; a line longer than it (a
 * very long path) is skipped. */
static void find_mapping_call(void *arg)
{
	struct mapping_search *search = arg;
	char buf[4096];
	search->out->low = search->out->high = 0;
	search->out->grows = 0;
	mp_sys_read_lines("/proc/self/maps", buf, sizeof(buf), mapping_line, search);
}

static void call_apart(void (*fn)(void *), void *arg);

/* The mapping that holds addr, read from /proc/self/maps on memprof's own stack (see
 * call_apart): the main thread's stack grown down, as it may be, may also be a buffer
 * of the program's where a coroutine runs, with little left below. */
static void find_mapping(uintptr_t addr, struct stack_range *out)
{
	struct mapping_search search = { addr, out };
	call_apart(find_mapping_call, &search);
}

int mp_unwind_getattr(pthread_t thread, pthread_attr_t *attr)
{
	getattr_fn *getattr = getattr_resolve();
	if (!getattr)
		return ENOSYS;
	unwind_thread.getattr_depth++;
	int result = getattr(thread, attr);
	unwind_thread.getattr_depth--;
	return result;
}

/* The stack glibc gave the calling thread, from its descriptor (high 0 if unknown). */
static void thread_stack(struct stack_range *out)
{
	pthread_attr_t attr;
	out->low = out->high = 0;
	out->grows = 0;
	getattr_fn *getattr = __atomic_load_n(&glibc_getattr, __ATOMIC_ACQUIRE);
	if (!getattr || getattr(pthread_self(), &attr) != 0)
		return;
	void *addr;
	size_t size;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		out->low = (uintptr_t)addr;
		out->high = out->low + size;
	}
	pthread_attr_destroy(&attr);
}

void mp_unwind_warm(void)
{
	/* pthread_attr_setaffinity_np on attributes of our own makes the calloc and realloc
	 * calls pthread_getattr_np makes, through the same slots, and glibc reads nothing for
	 * it. Their blocks come from the boot arena (as for memprof's own threads,
	 * interpose.c), so that the heap's layout stays the program's. */
	struct mp_thread *self = &mp_state_thread;
	int own = self->own;
	self->own = 1;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) == 0) {
		cpu_set_t cpus;
		CPU_ZERO(&cpus);
		CPU_SET(0, &cpus);
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
		pthread_attr_destroy(&attr);
	}
	self->own = own;
}

/* The thread's own stack, if sp is on it: the main thread's [stack] mapping, or the
 * stack glibc gave a thread it created (fixed for the thread's life). Captures on any
 * other stack (a sigaltstack, a coroutine's) are libunwind's: such a stack may be
 * unmapped and something smaller mapped in its place, and a bound kept from before would
 * let a walk read past it. Once per thread, and when the main thread's stack has grown
 * below what was seen. A thread glibc created is asked first: reading /proc/self/maps
 * for each one was most of what memprof added to creating a thread (a thousand threads
 * making ten allocations each: 55 us a thread, as much as creating it). The main thread
 * (and one whose sp its descriptor does not hold) has its mapping looked up: glibc's
 * answer for it reads the same file, and only the mapping says whether the kernel grows
 * it. A thread that called fork is the child's main thread, on its old stack: its
 * descriptor holds it. A raw clone()'s child shares its parent's descriptor, whose stack
 * does not hold sp. Returns the stack's end, 0 if sp is not on it. */
static __attribute__((noinline)) uintptr_t learn_stack(struct unwind_thread *self, uintptr_t sp)
{
	struct stack_range *stack = &self->stack;
	if (stack->high && !(stack->grows && sp < stack->low && stack->high - sp < main_stack_reach))
		return 0;
	struct stack_range found = { 0, 0, 0 };
	int main_thread = syscall(SYS_gettid) == getpid();
	/* glibc's pthread_getattr_np holds the lock of the thread it describes while it
	 * allocates: asked again from there, about the same thread, it waits for its own
	 * lock for good (see interpose_getattr.c). Then this capture is libunwind's, and
	 * the stack is learned at a later one. */
	int may_ask_glibc = !self->getattr_depth;
	if (!main_thread) {
		/* Outside the thread's own stack (glibc's word for it), the pointer is on
		 * one of the program's, a coroutine's, perhaps nearly full: no mapping can
		 * say more of it, and reading the maps there took 4 KiB of it. The thread's
		 * stack is kept for the captures to come. */
		if (!may_ask_glibc)
			return 0;
		thread_stack(&found);
		if (found.high)
			*stack = found;
		return sp - found.low < found.high - found.low ? found.high : 0;
	}
	find_mapping(sp, &found);
	if (!found.grows) {
		found.low = found.high = 0;
		if (!stack->high && may_ask_glibc)
			thread_stack(&found);
	}
	if (sp - found.low >= found.high - found.low)
		return 0;
	*stack = found;
	return found.high;
}

/* The stack libunwind walks on: the thread's own, mapped at its first walk, or NULL. */
static uint8_t *fallback_stack(struct unwind_thread *self)
{
	if (MP_LIKELY(self->fallback_stack) || self->fallback_stack_off || !fallback_key_ready)
		return self->fallback_stack;
	uint8_t *region = mp_sys_map_anon(FALLBACK_GUARD_BYTES + FALLBACK_STACK_BYTES);
	if (region && (mprotect(region, FALLBACK_GUARD_BYTES, PROT_NONE) != 0 ||
		       pthread_setspecific(fallback_key, region) != 0)) {
		mp_sys_unmap(region, FALLBACK_GUARD_BYTES + FALLBACK_STACK_BYTES);
		region = NULL;
	}
	self->fallback_stack = region;
	self->fallback_stack_off = !region;
	return region;
}

/* fn(arg) on the top of the thread's stack of memprof's, with program_sp saying where the
 * thread is on its own meanwhile (for a leak check that stops it there). Inlined: the
 * frames between libunwind's walk and its caller are counted (FALLBACK_OWN_FRAMES). */
static inline __attribute__((always_inline)) void on_own_stack(uint8_t *stack,
								void (*fn)(void *), void *arg)
{
	__atomic_store_n(&mp_state_thread.program_sp,
			 (uint64_t)(uintptr_t)__builtin_frame_address(0), __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	mp_sys_call_on_stack(arg, fn, stack + FALLBACK_GUARD_BYTES + FALLBACK_STACK_BYTES);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&mp_state_thread.program_sp, 0, __ATOMIC_RELAXED);
}

struct fallback_request {
	void **ips;
	int max, count;
	uintptr_t first; /* the caller's return address: where the frames to return begin */
};

/* unw_backtrace from here sees this function's frame and those of ours that led to it
 * (FALLBACK_OWN_FRAMES at most) before the caller's, whose return address is first;
 * those are dropped. */
static void fallback_walk(void *arg)
{
	struct fallback_request *request = arg;
	void *all[FALLBACK_FRAMES_MAX + FALLBACK_OWN_FRAMES];
	int count = unw_backtrace(all, request->max + FALLBACK_OWN_FRAMES);
	for (int skip = 1; skip <= FALLBACK_OWN_FRAMES && skip < count; skip++) {
		if ((uintptr_t)all[skip] != request->first)
			continue;
		count -= skip;
		if (count > request->max)
			count = request->max;
		memcpy(request->ips, all + skip, (size_t)count * sizeof(void *));
		request->count = count;
		return;
	}
}

/* libunwind's answer, from the same place. It walks on a stack of memprof's: libunwind
 * and the frames it returns take up to ~14 KiB, which a coroutine's stack (makecontext,
 * 16 KiB and less in some libraries) or a signal handler's did not have, and walks on
 * stacks other than the thread's own are all libunwind's. Unwinding through
 * mp_sys_call_on_stack leads back to this frame, so the walk is the same as from here.
 * While on it, the thread's stack pointer on its own stack is in program_sp, for a leak
 * check that stops it there. */
static __attribute__((noinline)) int fallback(void **ips, int max, uintptr_t first)
{
	struct fallback_request request = { ips, max, 0, first };
	unwind_thread.counts.fallbacks++;
	if (request.max > FALLBACK_FRAMES_MAX)
		request.max = FALLBACK_FRAMES_MAX;
	uint8_t *stack = fallback_stack(&unwind_thread);
	mp_loader_enter(); /* libunwind asks the loader about addresses it has not seen */
	/* A capture in a signal handler that interrupted a walk there goes on below it, on
	 * the stack it is on: starting again at the top would write over the walk's frames.
	 * (The recorder never nests captures, being busy; a caller of mp_unwind_capture
	 * from handlers, as tests/unit/preload/test_unwind.c's timer, may.) */
	int switch_stack = stack && !unwind_thread.fallback_depth && !unwind_thread.apart_depth;
	if (stack)
		unwind_thread.fallback_depth++;
	if (switch_stack)
		on_own_stack(stack, fallback_walk, &request);
	else
		fallback_walk(&request);
	if (stack)
		unwind_thread.fallback_depth--;
	mp_loader_leave();
	return request.count;
}

/* fn(arg) on the stack libunwind walks on, if the thread has one and is not on it already
 * (else where it is). memprof's slow paths there, not on the program's stack: the room a
 * capture checks for is not known on every stack. A coroutine whose stack is a buffer in
 * main's own frame (makecontext) is on the main thread's stack, where the kernel grows
 * it and no room is checked: learning the stack's new extent there read
 * /proc/self/maps into a 4 KiB buffer, and learning a rule ran the loader's iteration
 * and an FDE's program (3 KiB of remembered rows), below the buffer into main's frames.
 * As for libunwind, program_sp says where the thread is on its own stack meanwhile. The
 * stack is mapped at the thread's first such call (256 KiB of address space, a few
 * pages touched): the main thread's first capture comes here (it reads the maps), other
 * threads' first captures, which learn their stacks from glibc, do not
 * (many_threads.sh counts memprof's memory a thread). */
static void call_apart(void (*fn)(void *), void *arg)
{
	if (!mp_unwind_call_apart(fn, arg))
		fn(arg);
}

int mp_unwind_call_apart(void (*fn)(void *), void *arg)
{
	/* A walk of libunwind or a call apart under way: on that stack already. */
	if (unwind_thread.fallback_depth || unwind_thread.apart_depth) {
		fn(arg);
		return 1;
	}
	uint8_t *stack = fallback_stack(&unwind_thread);
	if (!stack)
		return 0;
	unwind_thread.apart_depth++;
	on_own_stack(stack, fn, arg);
	unwind_thread.apart_depth--;
	return 1;
}

struct learn_request {
	struct rule_table *table;
	uintptr_t ra;
	uint32_t tag;
	uint64_t rule;
};

static void learn_call(void *arg)
{
	struct learn_request *request = arg;
	request->rule = learn(request->table, request->ra, request->tag);
}

static __attribute__((noinline)) uint64_t learn_apart(struct rule_table *table, uintptr_t ra,
						      uint32_t tag)
{
	struct learn_request request = { table, ra, tag, 0 };
	call_apart(learn_call, &request);
	return request.rule;
}

static inline uintptr_t stack_high(struct unwind_thread *self, uintptr_t sp)
{
	const struct stack_range *stack = &self->stack;
	if (MP_LIKELY(sp - stack->low < stack->high - stack->low))
		return stack->high;
	return learn_stack(self, sp);
}

/* The room below sp on the signal stack the thread is on (sigaltstack), or SIZE_MAX when
 * it is not on one: a capture off the thread's own stack goes to libunwind, which takes
 * ~8 KiB, and a handler that allocates on a stack of SIGSTKSZ (8 KiB) overflowed it. */
static __attribute__((noinline)) size_t altstack_room(uintptr_t sp)
{
	stack_t current;
	if (syscall(SYS_sigaltstack, NULL, &current) != 0 || !(current.ss_flags & SS_ONSTACK))
		return SIZE_MAX;
	uintptr_t low = (uintptr_t)current.ss_sp;
	return sp - low < current.ss_size ? sp - low : 0;
}

/* Whether the 16 bytes libunwind reads at a return address without unwind information
 * (its signal-frame test) are readable: a read of our own memory that fails instead of
 * faulting. Where the system call is refused (seccomp), they are taken as readable. */
static __attribute__((noinline)) int code_readable(uintptr_t ra)
{
	uint8_t bytes[16];
	struct iovec local = { bytes, sizeof(bytes) }, remote = { (void *)ra, sizeof(bytes) };
	long got = syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
	return got == (long)sizeof(bytes) || (got < 0 && errno != EFAULT);
}

/* ---- the walk ---- */

/* Where the walk is. A frame's state is its ip (in ips), rsp and rbp; pending is the last
 * rbp read from the stack, which is a check once a CFA is computed from it. */
struct walk {
	void **ips;
	int depth, max;
	uintptr_t low, span; /* a word at a is readable if a - low <= span */
	struct mp_unwind_trail *notes; /* this walk, innermost frame first; NULL: not noted */
	int noted;                     /* frames noted: MP_UNWIND_MEMO_FRAMES_MAX, or 0 */
	int pending, pending_frame;
	uintptr_t pending_address, pending_value;
	int unordered; /* a step so far did not take rsp up */
	mp_unwind_coming_fn *coming; /* see mp_unwind_capture_here */
};

/* Notes a word read whose value decided something (see mp_unwind_trail). */
static inline void note_check(struct walk *w, int frame, uintptr_t address, uint64_t value)
{
	struct mp_unwind_trail *notes = w->notes;
	if (!notes)
		return;
	if (notes->checks == MP_UNWIND_MEMO_CHECKS_MAX) {
		w->noted = 0; /* the walk cannot be kept whole */
		return;
	}
	notes->check_frame[notes->checks] = (uint8_t)frame;
	notes->check_address[notes->checks] = address;
	notes->check_value[notes->checks++] = value;
}

/* The flags of frame of the notes, with RBP_LIVE decided from live, the flag of the frame
 * further out; updates live. */
static inline uint8_t live_flags(const struct mp_unwind_trail *notes, int frame, uint8_t *live)
{
	uint8_t flags = notes->flags[frame];
	if (flags & MP_UNWIND_TRAIL_USES_RBP)
		*live = MP_UNWIND_TRAIL_RBP_LIVE;
	else if (flags & MP_UNWIND_TRAIL_RESTORES_RBP)
		*live = 0;
	return (uint8_t)(flags | *live);
}

/* The trail gets the walk's frames 0 .. inner (innermost first in the notes; none if inner
 * is -1) as its frames from first on, and the checks those frames read. Whether its rsp
 * grow outwards all along is noted: only such a trail is joined (see join). */
static MP_HOT void trail_put(struct mp_unwind_trail *trail, const struct walk *w, int inner,
			     int first)
{
	const struct mp_unwind_trail *notes = w->notes;
	uint8_t live = first ? trail->flags[first - 1] & MP_UNWIND_TRAIL_RBP_LIVE : 0;
	int count = first + inner + 1;
	for (int frame = inner; frame >= 0; frame--) {
		int k = count - 1 - frame;
		trail->ips[k] = (uint64_t)w->ips[frame];
		trail->rsp[k] = notes->rsp[frame];
		trail->rbp[k] = notes->rbp[frame];
		trail->flags[k] = live_flags(notes, frame, &live);
	}
	trail->ordered = (!first || trail->ordered) && !w->unordered;
	/* The hash sums of the pairs that hold a new frame. The running sum stays in a local:
	 * read back from the array, each pair waited for the two 8-byte halves just stored
	 * to reach a 16-byte load (a store-forwarding stall, a quarter of trail_put's
	 * samples on cc1). */
	struct mp_stack_hash_sum sum = trail->hash_sums[first / 2];
	for (int j = first / 2; 2 * j + 2 <= count; j++) {
		mp_stack_hash_pair(&sum, 2 * j, trail->ips[2 * j], trail->ips[2 * j + 1]);
		trail->hash_sums[j + 1] = sum;
	}
	for (int c = notes->checks - 1; c >= 0; c--) {
		int at = trail->checks++;
		trail->check_frame[at] = (uint8_t)(count - 1 - notes->check_frame[c]);
		trail->check_address[at] = notes->check_address[c];
		trail->check_value[at] = notes->check_value[c];
	}
	trail->count = count;
}

/* What became of a walk besides its frames. */
struct walk_result {
	int walked;  /* frames it stepped through itself (if libunwind must decide: up to
		      * ips[walked - 1]) */
	int noted;   /* the notes hold all of them and their checks */
	int joined;  /* the rest is the trail's */
	int kept;    /* the trail is now this walk */
};

/* The hash of the stack a join at the trail's frame joint would return, count frames
 * (positions from the outermost): the trail's sums over the pairs below the joint, then
 * the walk's own frames (the joint's is the walk's ips[depth - 1], the trail's ip
 * there). Told to w->coming before the join's checks: the interning's look-up of the
 * stack, which missed the cache in most of cc1's captures, then loads while they run
 * (bench/README, session 33). */
static void join_coming(const struct walk *w, const struct mp_unwind_trail *trail, int joint,
			int count)
{
	int position = 2 * ((joint + 1) / 2);
	struct mp_stack_hash_sum sum = trail->hash_sums[position / 2];
	for (; position + 2 <= count; position += 2)
		mp_stack_hash_pair(&sum, position, (uint64_t)(uintptr_t)w->ips[count - 1 - position],
				   (uint64_t)(uintptr_t)w->ips[count - 2 - position]);
	uint64_t hash_a, hash_b;
	mp_stack_hash_final(sum, count, (uint64_t)(uintptr_t)w->ips[0], trail->generation, &hash_a,
			    &hash_b);
	w->coming(hash_a);
}

/* The walk is at the trail's frame at (same ip and rsp, and the same rbp if it decides a
 * CFA further out): from there on it is the trail's walk if the words read from there on
 * still hold what they held. Returns the walk's frame count, the trail now its own if it
 * can be kept; or 0 with *at the next of the trail's frames where a join could hold. */
static __attribute__((noinline)) MP_HOT int join(struct walk *w, struct mp_unwind_trail *trail,
						 int *at, struct walk_result *result)
{
	int joint = *at, depth = w->depth;
	int count = depth + joint;
	if (!trail->ended && count < w->max) {
		*at = -1; /* the trail was cut short: what came after is not known */
		return 0;
	}
	if (count > w->max)
		count = w->max;
	int stop = joint - (count - depth); /* the trail's frames joint - 1 .. stop are taken */
	/* The trail's rsp grow outwards (walk joins no other trail): the words to read lie
	 * between those of its two ends, so only the ends are checked against the stack's
	 * bounds (cc1: 14 frames a join, 17 instructions a frame with a check each). */
	if (stop < joint && (trail->rsp[joint - 1] - 8 - w->low > w->span ||
			     trail->rsp[stop] - 8 - w->low > w->span)) {
		*at = -1;
		return 0;
	}
	/* The hash has keys for MP_MAX_FRAMES_LIMIT frames: no stack interned is longer. */
	if (w->coming && count == depth + joint && count <= (int)MP_MAX_FRAMES_LIMIT)
		join_coming(w, trail, joint, count);
	void **ips = w->ips;
	for (int k = joint - 1, i = depth; k >= stop; k--, i++) {
		if (*(const uint64_t *)(trail->rsp[k] - 8) != trail->ips[k]) {
			unwind_thread.counts.join_refusals++;
			*at = k;
			return 0;
		}
		ips[i] = (void *)trail->ips[k];
	}
	int checks = 0; /* the trail's checks read at the joint or further out */
	for (; checks < trail->checks && trail->check_frame[checks] <= joint; checks++) {
		uintptr_t address = trail->check_address[checks];
		if (address - w->low > w->span ||
		    *(const uint64_t *)address != trail->check_value[checks]) {
			unwind_thread.counts.join_refusals++;
			*at = trail->check_frame[checks] - 1;
			return 0;
		}
	}
	unwind_thread.counts.joins++;
	result->joined = 1;
	if (!w->notes || !w->noted || count != depth + joint || count > MP_UNWIND_MEMO_FRAMES_MAX ||
	    checks + w->notes->checks + 1 > MP_UNWIND_MEMO_CHECKS_MAX)
		return count;
	/* The trail keeps its frames from the joint out, and takes this walk's further in. */
	trail->checks = checks;
	if (w->pending && (trail->flags[joint] & MP_UNWIND_TRAIL_RBP_LIVE)) {
		trail->check_frame[checks] = (uint8_t)(count - 1 - w->pending_frame);
		trail->check_address[checks] = w->pending_address;
		trail->check_value[checks] = w->pending_value;
		trail->checks++;
	}
	/* Even with no frame of its own (the walk started at the joint), the trail now ends
	 * there: frames further in are another walk's, and their checks were just dropped. */
	trail_put(trail, w, depth - 2, joint + 1);
	result->kept = 1;
	return count;
}

/* The trail's frame the walk at rsp may reach next: the outermost of those from `at` in
 * whose rsp is at least rsp, or -1. The trail's rsp grow outwards (towards index 0: walk
 * joins no other trail), so after a few steps the rest is a binary search: cc1's walks
 * passed 16 of the trail's frames a capture, one by one, 64 instructions. */
static inline int trail_below(const struct mp_unwind_trail *trail, int at, uintptr_t rsp)
{
	for (int step = 0; step < 4; step++, at--)
		if (at < 0 || trail->rsp[at] >= rsp)
			return at;
	int low = -1, high = at; /* rsp[high] < rsp; the answer is in [low, high) */
	while (high - low > 1) {
		int mid = low + (high - low) / 2;
		if (trail->rsp[mid] >= rsp)
			low = mid;
		else
			high = mid;
	}
	return low;
}

/* tdep_trace's loop for standard frames, from start (rip, rsp, rbp), noted in notes (if
 * not NULL). Where it reaches a frame of the thread's last walk, kept in trail (if not
 * NULL), it takes the rest of that walk if it still holds (join), and the walk becomes
 * the trail if it can be kept whole. Returns the number of frames, or -1 where libunwind
 * must decide. */
static inline MP_HOT int walk(const struct mp_unwind_start *start, uintptr_t low,
			      uintptr_t high, void **ips, int max, uint32_t generation,
			      struct mp_unwind_trail *trail, struct mp_unwind_trail *notes,
			      struct walk_result *result, mp_unwind_coming_fn *coming)
{
	struct rule_table *table = __atomic_load_n(&current_table, __ATOMIC_ACQUIRE);
	if (MP_UNLIKELY(!table || generation - table->base_generation >= TAG_LIMIT ||
			table->inserted > table->mask / 2 || generation != flushed_generation)) {
		table = refresh_table(table, generation);
		if (!table)
			return -1;
	}
	if (MP_UNLIKELY(!high || high - low < 16 || high - low > UINT32_MAX))
		return -1;
	uint32_t tag = generation - table->base_generation;
	struct walk w = {
		.ips = ips, .max = max, .low = low, .span = high - low - 8,
		.notes = notes, .noted = notes ? MP_UNWIND_MEMO_FRAMES_MAX : 0,
		.coming = coming,
	};
	/* The state in locals: w's address goes to join and note_check, and its fields
	 * would be kept in memory, loaded and stored at every frame. */
	uintptr_t rsp = start->rsp, rbp = start->rbp, span = w.span;
	/* Where the rbp was read from, if it was read from the stack and no CFA was computed
	 * from it yet (0: none); the value read is rbp's. */
	uintptr_t pending_address = 0;
	int pending_frame = 0, noted = w.noted, unordered = 0;
	if (notes)
		notes->checks = 0;
	/* The trail's frame the walk may reach next, going out: the innermost first. */
	int at = trail && trail->generation == generation && trail->ordered ? trail->count - 1 : -1;
	uintptr_t joint = at >= 0 ? trail->rsp[at] : UINTPTR_MAX;
	uintptr_t rip = start->rip;
	ips[0] = (void *)rip;
	int depth = 1;
	while (depth < max) {
		int frame = depth - 1;
		if (depth <= noted) {
			notes->rsp[frame] = rsp;
			notes->rbp[frame] = rbp;
		}
		if (rsp >= joint) {
			at = trail_below(trail, at, rsp);
			if (at >= 0 && trail->rsp[at] == rsp && trail->ips[at] == rip &&
			    (!(trail->flags[at] & MP_UNWIND_TRAIL_RBP_LIVE) || trail->rbp[at] == rbp)) {
				w.depth = depth;
				w.noted = noted;
				w.pending = pending_address != 0;
				w.pending_frame = pending_frame;
				w.pending_address = pending_address;
				w.pending_value = rbp;
				w.unordered = unordered;
				result->walked = depth;
				int count = join(&w, trail, &at, result);
				if (count)
					return count;
			}
			joint = at >= 0 ? trail->rsp[at] : UINTPTR_MAX;
		}
		uint64_t rule = lookup(table, rip, tag);
		if (MP_UNLIKELY(!rule))
			rule = learn_apart(table, rip, tag);
		unsigned kind = (unsigned)(rule >> RULE_KIND_SHIFT) & 3;
		/* A rule not standard has neither flag: the walk ends at it. */
		if (depth <= noted)
			notes->flags[frame] = (uint8_t)((rule >> RULE_FLAGS_SHIFT) & 3);
		if (kind != MP_UNWIND_STANDARD) {
			if (kind == MP_UNWIND_LAST)
				break;
			goto undecided;
		}
		uintptr_t base = rsp;
		if (rule & RULE_ON_RBP) {
			base = rbp;
			if (pending_address) { /* the rbp read last decides this CFA */
				note_check(&w, pending_frame, pending_address, rbp);
				noted = w.noted;
				pending_address = 0;
			}
		}
		uintptr_t cfa = base + (uintptr_t)((int64_t)rule >> 35);
		if (MP_UNLIKELY(cfa - 8 - low > span))
			goto undecided;
		uintptr_t next = *(const uintptr_t *)(cfa - 8);
		if (rule & RULE_RBP_SAVED) {
			uintptr_t slot = cfa + (uintptr_t)((int64_t)(rule << 29) >> 49);
			if (MP_UNLIKELY(slot - low > span))
				goto undecided;
			rbp = *(const uintptr_t *)slot;
			pending_frame = frame;
			pending_address = slot;
		}
		/* libunwind's unw_step refuses a step that changes neither: its slow path decides. */
		if (MP_UNLIKELY(next == rip && cfa == rsp))
			goto undecided;
		unordered |= cfa <= rsp;
		rsp = cfa;
		rip = next;
		if (rip < LOWEST_RETURN_ADDRESS) {
			note_check(&w, frame, cfa - 8, next);
			noted = w.noted;
			break;
		}
		ips[depth++] = (void *)rip;
	}
	result->walked = depth;
	if (depth > noted)
		return depth;
	if (depth == max) { /* cut at max: the last frame was not stepped */
		notes->rsp[depth - 1] = rsp;
		notes->rbp[depth - 1] = rbp;
		notes->flags[depth - 1] = 0;
	}
	notes->count = depth;
	result->noted = 1;
	if (!trail)
		return depth;
	trail->checks = 0;
	trail->ended = depth < max;
	trail->generation = generation;
	w.unordered = unordered;
	trail->hash_sums[0] = (struct mp_stack_hash_sum){ 0, 0 };
	trail_put(trail, &w, depth - 1, 0);
	result->kept = 1;
	return depth;
undecided: /* libunwind decides, from the frames walked so far */
	result->walked = depth;
	return -1;
}

/* The trail pays where joins take most of the frames: a thread whose walks in a window of
 * WINDOW walked more than two thirds of their frames themselves joins only one walk in
 * COLD_PROBE, until a window of those does better. */
static inline void trail_window(struct unwind_thread *self, int walked, int count)
{
	self->trail_walked += (uint32_t)walked;
	self->trail_frames += (uint32_t)count;
	if (MP_LIKELY(++self->trail_window < (self->trail_cold ? COLD_WINDOW : WINDOW)))
		return;
	self->trail_cold = self->trail_walked * 3 > self->trail_frames * 2;
	self->trail_window = self->trail_walked = self->trail_frames = 0;
}

static __attribute__((noinline)) void memo_window_end(struct unwind_thread *self, int hit)
{
	uint32_t hits = self->window_hits + (uint32_t)hit;
	self->cold = !self->memo_always &&
		     (self->trail_cold ? hits * 4 < self->window : hits * 3 < self->window * 2);
	self->window = 0;
	self->window_hits = 0;
}

/* One capture from the frame of the exported function that inlines it: a walk of the
 * memo if it still holds, else a walk (kept in the memo), else libunwind's. */
static inline __attribute__((always_inline)) void capture(struct mp_unwind_capture *out,
							    void **buffer, int max,
							    uintptr_t *frame,
							    mp_unwind_coming_fn *coming)
{
	struct mp_unwind_start start = { frame[1], (uintptr_t)(frame + 2), frame[0] };
	uintptr_t low = (uintptr_t)frame;
	struct unwind_thread *self = &unwind_thread;
	self->counts.captures++;
	out->ips = buffer;
	out->count = 0;
	out->memo = NULL;
	out->outer_sums = NULL;
	if (max <= 0)
		return;
	uint32_t generation = mp_modules_generation();
	/* A thread's first captures walk without the memo and the trail, which live in 110
	 * KiB of the thread's own (36 KiB of it written at once): a program with many
	 * threads that allocate little paid that for each (800 threads of one allocation:
	 * 44 MB), and one that starts a thread per task paid its making. */
	int young = self->counts.captures <= MEMO_FIRST_CAPTURE;
	int use_memo = !young && (!self->cold || ++self->tick % MEMO_COLD_PROBE == 0);
	if (use_memo) {
		self->counts.memo_finds++;
		int memo = mp_unwind_memo_find(out, &start, low, generation, max);
		int hit = memo == MP_UNWIND_MEMO_HIT || memo == MP_UNWIND_MEMO_HIT_OTHER;
		if (MP_UNLIKELY(++self->window == (self->cold ? COLD_WINDOW : WINDOW)))
			memo_window_end(self, hit);
		else
			self->window_hits += (uint32_t)hit;
		if (MP_LIKELY(hit)) {
			self->counts.memo_hits++;
			self->counts.memo_others += memo == MP_UNWIND_MEMO_HIT_OTHER;
			return;
		}
		self->counts.memo_rejects += memo == MP_UNWIND_MEMO_CHANGED;
	}
	uintptr_t high = stack_high(self, low);
	/* Too near the end of the thread's stack: no walk (finding one in the memo takes
	 * little). Its slow paths (libunwind, learning a function's rules, the memo's store)
	 * take up to ~10 KiB of stack, which a program deep in a small stack
	 * (PTHREAD_STACK_MIN is 16 KiB) did not have: memprof made it overflow. The
	 * allocation is recorded with no stack. Not on a stack the kernel grows (the main
	 * thread's), whose mapping's end is only as far as it has grown so far. */
	if (MP_UNLIKELY(high && low - self->stack.low < CAPTURE_ROOM_MIN && !self->stack.grows))
		return;
	/* The walk is noted for the memo and may join the thread's last walk (the trail). */
	int use_trail = !young && (!self->trail_cold || ++self->trail_tick % COLD_PROBE == 0);
	struct mp_unwind_trail *trails = use_memo || use_trail ? mp_unwind_memo_trails() : NULL;
	struct mp_unwind_trail *trail = use_trail ? trails : NULL;
	struct walk_result result = { 0, 0, 0, 0 };
	int count = walk(&start, low, high, buffer, max, generation, trail,
			 trails ? &trails[1] : NULL, &result, coming);
	if (MP_UNLIKELY(count < 0)) {
		/* Without a stack of its own (it could not be mapped), libunwind would
		 * overflow a signal handler's small stack. */
		if (!high && !fallback_stack(self) && altstack_room(low) < CAPTURE_ROOM_MIN)
			return;
		int walked = result.walked;
		/* Where libunwind would fault, or would read, write or close a file of the
		 * program's (one that closed libunwind's pipe and reused a number of it), the
		 * stack ends where the walk stopped. */
		out->count = walked && !code_readable((uintptr_t)buffer[walked - 1])
				     ? walked
				     : !mp_sys_unwinder_pipe_intact() ? walked
				     : fallback(buffer, max, start.rip);
		return;
	}
	out->count = count;
	if (result.kept)
		out->outer_sums = trails->hash_sums;
	if (trail)
		trail_window(self, result.joined ? result.walked : count, count);
	if (!use_memo)
		return;
	if (result.kept && result.joined)
		self->counts.memo_layouts +=
			(uint64_t)mp_unwind_memo_store(out, &start, generation, max, trails, 1, low);
	else if (result.noted && !result.joined)
		self->counts.memo_layouts += (uint64_t)mp_unwind_memo_store(
			out, &start, generation, max, &trails[1], 0, low);
}

#ifdef MP_UNWIND_CHECK
/* The self-checking build (tests/tests.mk: libmemprof-unwind-check.so): every capture is
 * also made by unw_backtrace, from the same frame, and compared frame for frame; the
 * process says at exit how many were compared and how many differed. */
static uint64_t checked, differed;

static __attribute__((noinline)) void check_against_libunwind(const struct mp_unwind_capture *out,
							      int max, uintptr_t first)
{
	void *theirs[FALLBACK_FRAMES_MAX];
	uint64_t fallbacks = unwind_thread.counts.fallbacks;
	if (out->count && !code_readable((uintptr_t)out->ips[out->count - 1]))
		return; /* libunwind would fault there (see the top) */
	int count = fallback(theirs, max, first);
	unwind_thread.counts.fallbacks = fallbacks;
	__atomic_add_fetch(&checked, 1, __ATOMIC_RELAXED);
	if (count == out->count && memcmp(theirs, out->ips, (size_t)count * sizeof(void *)) == 0)
		return;
	if (__atomic_add_fetch(&differed, 1, __ATOMIC_RELAXED) <= 3) {
		char line[160] = "memprof: unwind check: a capture differs from unw_backtrace's at frame ";
		int at = 0;
		while (at < count && at < out->count && theirs[at] == out->ips[at])
			at++;
		*mp_sys_fmt_u64(line + strlen(line), (uint64_t)at) = 0;
		mp_sys_say(line + 9);
	}
}

static __attribute__((destructor)) void check_report(void)
{
	char line[160] = "unwind check: ";
	char *at = mp_sys_fmt_u64(line + strlen(line), __atomic_load_n(&checked, __ATOMIC_RELAXED));
	memcpy(at, " captures compared with unw_backtrace, ", 40);
	at = mp_sys_fmt_u64(at + strlen(at), __atomic_load_n(&differed, __ATOMIC_RELAXED));
	memcpy(at, " differed", 10);
	mp_sys_say(line);
}
#endif

/* Each call and return under the program's malloc cost alloc_bench, whose stacks are
 * deeper than the CPU's return stack, a mispredicted return (bench/README, session 30). */
__attribute__((always_inline)) inline void mp_unwind_capture_here(struct mp_unwind_capture *out,
								  void **buffer, int max,
								  mp_unwind_coming_fn *coming)
{
	capture(out, buffer, max, __builtin_frame_address(0), coming);
#ifdef MP_UNWIND_CHECK
	check_against_libunwind(out, max, ((uintptr_t *)__builtin_frame_address(0))[1]);
#endif
}

/* The capture from this function's own frame: the inlined one's frame is this one. */
__attribute__((noinline)) MP_HOT void mp_unwind_capture(struct mp_unwind_capture *out,
							void **buffer, int max)
{
	mp_unwind_capture_here(out, buffer, max, NULL);
}

__attribute__((noinline)) int mp_unwind_backtrace(void **ips, int max)
{
	struct mp_unwind_capture result;
	capture(&result, ips, max, __builtin_frame_address(0), NULL);
	if (result.ips != ips)
		memcpy(ips, result.ips, (size_t)result.count * sizeof(void *));
	return result.count;
}
