/* leak_scan.h: the leak check: classifying the blocks still allocated by a conservative
 * scan for pointers, with the semantics of Valgrind memcheck's leak checker, at exit, on
 * a fatal signal and on demand.
 *
 * Shared by leak_thread.c (the thread of memprof's own that folds the trace into the
 * live set as the program runs, and runs the checks asked of it), leak_scan.c (one
 * check: stop, fold, scan, write), leak_stop.c (stopping the program's threads),
 * leak_live.c (the live set, folded from the trace file into leak_table.c's table),
 * leak_roots.c (/proc/self/maps and the threads' stacks) and leak_classify.c (the
 * marking itself, pure computation over memory it is given, which the unit tests drive
 * with synthetic blocks). Nothing here runs on the recording path. Memory comes from
 * mp_sys_map_anon only (listed by mp_sys_own_regions, so never mistaken for a root).
 */
#ifndef MEMPROF_PRELOAD_LEAK_SCAN_H
#define MEMPROF_PRELOAD_LEAK_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "encode.h"

struct sigaction;

/* One block still allocated, as the trace says; arrays of them are sorted by addr. */
struct mp_leak_block {
	uint64_t addr;
	uint64_t size; /* requested bytes: what memcheck scans too */
};

/* A range of memory to scan as a root, [start, end). */
struct mp_leak_range {
	uint64_t start, end;
	uint64_t flags; /* roots: MP_LEAK_ROOT_* */
};
/* A root range in glibc's own data (libc.so.6's writable segment): main_arena's pointers
 * there (its top chunk, its bins' first chunks) are chunk addresses, which can fall inside
 * the block before the chunk (see mp_leak_classify_root). */
#define MP_LEAK_ROOT_MALLOC_STATE 1u
/* A root range in private anonymous memory: its pages never touched hold zeros, and are
 * not read (/proc/self/pagemap says which), as a sparse block's are not. */
#define MP_LEAK_ROOT_ANON 2u
/* A piece of a large root of that kind (mp_leak_classify_pieces): read only where
 * touched whatever its own size, as the whole root would be. */
#define MP_LEAK_ROOT_LARGE 4u
/* A root in shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, System V segments):
 * read only where this process's page tables map a page, or not at all without
 * /proc/self/pagemap (reading a hole there would allocate a page of the segment). */
#define MP_LEAK_ROOT_SHARED 16u
/* Not a root but a range kept out of the roots: a thread's memprof state (its struct
 * mp_thread, in its static TLS at the top of its stack), which says that stack is a live
 * thread's (leak_roots.c). */
#define MP_LEAK_EXCLUDE_THREAD_STATE 8u

/* --- leak_stop.c: stopping the program's threads --- */
struct mp_leak_stop {
	uint32_t signalled;   /* threads sent the stop signal */
	uint32_t stopped;     /* of them, the ones that answered */
	uint32_t not_stopped; /* threads left running (blocking the signal, stopped by a
				 debugger, not answering) */
	int active;
};
/* Chooses the stop signal (the highest real-time signal with its default disposition)
 * and installs its handler. 0 or -EAGAIN if none is free. */
int mp_leak_stop_install(void);
/* The stop signal, 0 before it is installed. */
int mp_leak_stop_signal(void);
/* What the program set for the stop signal (interpose_signals.c): deliveries that are
 * not memprof's go there. NULL: the default. */
int mp_leak_stop_chain(const struct sigaction *program);
const struct sigaction *mp_leak_stop_chained(void);
/* Stops every thread of the program but the caller, memprof's own and spare_tid (if not
 * 0), waiting at most a second for them; fills *stop. Async-signal-safe; never fails
 * (what could not be stopped is counted). */
void mp_leak_stop_world(struct mp_leak_stop *stop, int spare_tid);
/* While they are stopped: where each stopped thread's struct mp_thread lies, into
 * out[0..max) (flags MP_LEAK_EXCLUDE_THREAD_STATE); returns how many. */
size_t mp_leak_stop_states(struct mp_leak_range *out, size_t max);
/* While they are stopped: whether thread tid (its number in text) is, and then where the
 * signal interrupted it (its stack pointer) and where its general registers lie (in the
 * context the kernel saved, to scan as a root). */
int mp_leak_stop_context(const char *tid, uint64_t *sp, struct mp_leak_range *regs);
/* The stack pointer of a ucontext_t, and the range of its general registers. */
uint64_t mp_leak_context_registers(const void *context, struct mp_leak_range *regs);
/* Lets them go. */
void mp_leak_stop_resume(struct mp_leak_stop *stop);
void mp_leak_stop_after_fork_child(void);

/* --- leak_scan.c: one check --- */
struct mp_leak_check_request {
	enum mp_leak_check_reason reason;
	int signal;           /* the signal that asked for it, or 0 */
	int keep_stopped;     /* the process dies next: the others are not resumed */
	int spare_tid;        /* a thread not to stop (the dying one, waiting for us), or 0 */
	uint64_t spare_state; /* where that thread's struct mp_thread is, or 0 */
	int locks_held;       /* the spared thread was inside memprof: it may hold the locks
				 of a new chunk, so the writer takes none */
	/* The exit's: the spared thread is the exiting one, waiting for the check in a call
	 * whose frame starts at spare_sp (its registers saved above), and it marks beside the
	 * checking thread once woken at helper_wake (leak_thread.c: mp_leak_check_help). */
	uint64_t spare_sp;
	uint32_t *helper_wake;
};
/* One check's outcome, from mp_leak_check_scan to mp_leak_check_write. */
struct mp_leak_result {
	struct mp_leak_check_request request;
	uint32_t status;      /* 0 or a positive errno */
	uint64_t time_ns, scan_ns, root_bytes, block_bytes;
	uint32_t threads, flags, check;
	struct mp_leak_stop stop;
	struct mp_leak_block *blocks; /* sorted, from mp_sys_map_anon */
	size_t blocks_bytes;
	uint8_t *state;               /* per block, from mp_sys_map_anon */
	size_t state_bytes;
	size_t count;
	uint64_t heuristic_blocks, heuristic_bytes; /* reachable through heuristics alone */
};
/* Runs one check on the calling thread (busy set): stops the program's other threads,
 * folds what the trace committed into the live set, scans from the roots and resumes
 * the threads (unless keep_stopped: then it first makes room in `writer`'s chunk for the
 * records, so that writing them takes no lock). *progress is bumped as it goes (a
 * waiter's sign of life). Returns 0 or a negative errno, also in result->status. */
int mp_leak_check_scan(const struct mp_leak_check_request *request, struct mp_thread *writer,
		       struct mp_leak_result *result, uint64_t *progress);
/* From the exiting thread while it waits for the exit check (spared from the stop, see
 * mp_leak_check_request): marks beside the checking thread if the marking is on offer.
 * Returns 1 if it did. */
int mp_leak_check_help(void);
/* Writes the check's LEAK_CLASS and LEAK_SUMMARY records into the thread's chunk, says
 * on stderr if it failed, and releases the result. */
void mp_leak_check_write(struct mp_thread *thread, struct mp_leak_result *result);
/* Releases the result's memory without writing it. */
void mp_leak_check_release(struct mp_leak_result *result);
/* In a fork child: numbering starts over. */
void mp_leak_check_after_fork_child(void);

/* --- leak_thread.c: the leak thread and the checks asked of it --- */
/* From the constructor (and in a fork child, at an allocation: see
 * mp_leak_thread_deferred): unless MEMPROF_LEAK_CHECK=0 or sampling, installs the stop
 * signal and starts the leak thread, which folds the trace into the live set every few
 * milliseconds. */
void mp_leak_thread_start(void);
/* 1 while a fork child's leak thread waits to be started. A child's recording starts at
 * its first event, which may be a free that glibc makes holding the lock of its cache of
 * thread stacks (pthread_join trimming the cache frees a dead thread's TLS vector):
 * starting a thread there, whose pthread_create takes that lock, hung the child. So the
 * thread is started at the child's first allocation instead (record.c), where glibc
 * holds no lock that pthread_create needs. */
extern int mp_leak_thread_deferred;
/* Starts the leak thread if it was deferred, once. */
void mp_leak_thread_start_deferred(void);
/* Asks the leak thread to end at once, serving nothing more (recording_sandbox.c: the
 * process is about to forbid system calls). Does not wait. */
void mp_leak_thread_quit(void);
/* Asks the running leak thread to end, as mp_leak_thread_quit does, for a while: 1 if it
 * was running (recording_alone.c). Until it is resumed, checks run on the thread that
 * asks for one, as in a process without the thread. */
int mp_leak_thread_pause(void);
/* 1 while the leak thread runs and was not asked to end. */
int mp_leak_thread_running(void);
/* Starts a paused leak thread again, with the RSS watch it kept. */
void mp_leak_thread_resume(void);
/* At exit (recording.c), from the exiting thread with busy clear: the exit check, run
 * by the leak thread while this one waits, or here if there is none. Never fails
 * loudly. */
void mp_leak_scan_at_exit(void);
/* At exit, before the exit snapshot: the leak thread folds what was recorded since its
 * last round now, while the exiting thread reads smaps, rather than after, while it
 * waits for the check. Async-signal-safe. */
void mp_leak_scan_exit_coming(void);
/* From the handler of MEMPROF_LEAK_CHECK_SIGNAL: asks for a check. Unless the thread
 * was inside the recorder (busy), waits until it is written, so that the program's
 * raise() returns after its check. Async-signal-safe. */
void mp_leak_check_on_signal(int sig);
/* From the handler of a fatal signal the program does not handle: runs the check with
 * every other thread stopped and left stopped, and returns once it is written (or
 * stalled for long: then without). Returns 1 if a check was written. Async-signal-safe. */
int mp_leak_check_fatal(int sig);
/* After mp_leak_check_fatal returned 1: the leak thread's own state, whose chunk holds
 * the check's records and room it made for more before stopping the others. The leak
 * thread writes nothing more (it waits for the process to die), so the dying thread may
 * write the trace's end there without making a chunk, which could wait for a lock a
 * stopped thread holds. */
struct mp_thread *mp_leak_fatal_writer(void);
/* In a fork child: no leak thread, a new trace; the live set is kept if it can be (see
 * mp_leak_live_after_fork_child, which gets the parent's pid and the fork's time).
 * Returns 1 if it was. */
int mp_leak_thread_after_fork_child(uint32_t parent_pid, uint64_t fork_ns,
				    uint64_t file_end);

/* Per-block classification state (leak_classify.c). The low bits hold the state; NOSCAN
 * marks a block whose memory is not mapped readable (its contents are not scanned);
 * SPARSE a large block in private anonymous memory, whose pages never touched (neither
 * present nor swapped: they read as zeros) need not be read. */
enum mp_leak_state {
	MP_LEAK_UNREACHED = 0, /* at the end: definitely lost */
	MP_LEAK_POSSIBLE = 1,
	MP_LEAK_REACHABLE = 2,
	MP_LEAK_INDIRECT = 3,
	MP_LEAK_STATE_MASK = 3,
	MP_LEAK_NOSCAN = 0x80,
	MP_LEAK_SPARSE = 0x40,
	MP_LEAK_VIA_HEURISTIC = 0x20, /* reachable, through a heuristic's pointer alone so far */
};
/* From this size a block in private anonymous memory is SPARSE. */
#define MP_LEAK_SPARSE_BYTES (64u * 1024u)

/* A slot of the classifier's page index: the blocks [first, first + count) start on
 * page (an address >> 12); count 0: an empty slot; count MP_LEAK_PAGE_INSIDE: no block
 * starts on page, block `first` covers it. */
struct mp_leak_page_starts {
	uint64_t page;
	uint32_t first, count;
};
#define MP_LEAK_PAGE_INSIDE UINT32_MAX
/* Blocks over more pages than this (32 KiB) have the pages after their first left out
 * of the index, which lists them apart: a word on a page it does not hold is looked for
 * among those only, a binary search over far fewer blocks than all. Each page held costs
 * two slots to build: a heap of 64 KiB blocks would have taken sixteen a block, a
 * reserved gigabyte a quarter million. cc1's exit check (15 runs): 2.81 ms before the
 * index held pages inside blocks, 2.36 with this bound, 2.22 with 256 pages. */
#define MP_LEAK_INDEX_BLOCK_PAGES 8u

struct mp_leak_classifier {
	const struct mp_leak_block *blocks; /* sorted, non-overlapping */
	size_t count;
	uint8_t *state;       /* count entries, zeroed by the caller (NOSCAN may be set) */
	uint32_t *work;       /* 2 * count + 1 entries of scratch: each block is pushed at most
				 twice (unreached -> possible -> reachable) */
	size_t work_len;
	uint64_t lowest, highest; /* [lowest, highest): addresses a pointer may hit */
	/* [gap_start, gap_start + gap_span): the widest stretch between two blocks, which no
	 * pointer hits (span 0: none). glibc's heap lies low and its blocks of 128 KiB and
	 * more are mmapped high, by the libraries and the program's own mappings: with one
	 * such block, [lowest, highest) took in every pointer of cc1's 9 MB of GC pages
	 * (530k of its 1.46M root words to check one by one; 95k without the gap). */
	uint64_t gap_start, gap_span;
	int simd;             /* the first look at words four at a time (AVX2; 0 for tests) */
	const uint64_t *pages; /* NULL, or bit hash(page) set for every page a block is on */
	unsigned page_shift;   /* 64 - log2 of the bits of pages */
	const struct mp_leak_page_starts *starts; /* NULL, or the pages blocks are on */
	uint64_t starts_mask;  /* its slots - 1 */
	const uint32_t *large; /* with starts: the blocks over more than
				  MP_LEAK_INDEX_BLOCK_PAGES pages, by address */
	size_t large_count;
	int pagemap_fd;       /* /proc/self/pagemap for SPARSE blocks, or -1 (read them whole) */
	uint64_t root_bytes;  /* statistics */
	uint64_t block_bytes;
	uint64_t untouched_bytes; /* of SPARSE blocks, in pages never touched (not read): not in
				     block_bytes, the bytes of blocks read while marking */
	uint64_t *progress;   /* bumped now and then while marking (never NULL) */
	int shared;           /* another thread marks the same blocks at the same time (its
				 classifier a copy of this one but for work and the statistics):
				 a state rises by compare-and-swap */
	const struct mp_leak_range *readable; /* NULL, or mp_leak_readable's ranges */
	size_t readable_count;
	uint32_t heuristics;  /* MP_HEURISTIC_* applied (0 after mp_leak_classify_init) */
};

/* --- leak_classify.c: the marking --- */
/* Prepares `c` over blocks[0..count) with the given scratch. */
void mp_leak_classify_init(struct mp_leak_classifier *c, const struct mp_leak_block *blocks,
			   size_t count, uint8_t *state, uint32_t *work);
/* Scans the root range word by word (8-byte aligned words only, as memcheck does): a word
 * holding a block's start makes it reachable, one pointing inside it possibly lost; the
 * blocks reached are scanned in turn. Call for every root, then mp_leak_classify_finish.
 * With MP_LEAK_ROOT_MALLOC_STATE in flags, a word that is the address of the glibc chunk
 * after a block (which lies inside the block when its size uses the next chunk's first
 * word) is glibc's pointer to that chunk, not one into the block: memcheck, whose
 * allocator is its own, never sees it. */
void mp_leak_classify_root(struct mp_leak_classifier *c, uint64_t start, uint64_t end,
			   uint64_t flags);
/* Whether this CPU runs mp_leak_classify_keep four words at a time (AVX2). */
int mp_leak_classify_simd_available(void);
/* The words of words[0..n) that may point into one of c's blocks, in order, into kept
 * (room for n): those between the lowest and the highest block and outside the gap.
 * Returns how many (leak_classify_keep.c). */
size_t mp_leak_classify_keep(const struct mp_leak_classifier *c, const uint64_t *words,
			     size_t n, uint64_t *kept);
/* The page filter: a bitmap of a power of two bits, MP_LEAK_FILTER_BITS_PER_PAGE for each
 * page blocks lie on (at least MP_LEAK_FILTER_MIN_BITS, at most MP_LEAK_FILTER_BITS), so
 * that about one word in that many on a page of no block passes it, and small enough to
 * stay in the cache: a filter of 2^21 bits whatever the heap cost cc1's exit check a
 * cache miss for most of its words between the lowest and the highest block (a third of
 * the 6 MB of roots it reads). */
#define MP_LEAK_FILTER_BITS (1u << 21)
#define MP_LEAK_FILTER_MIN_BITS (1u << 12)
#define MP_LEAK_FILTER_BITS_PER_PAGE 16u
/* The bytes of the filter for c's blocks. */
size_t mp_leak_classify_filter_bytes(const struct mp_leak_classifier *c);
/* Gives the classifier a filter in `bits` (`bytes` as mp_leak_classify_filter_bytes said,
 * zeroed, the caller's until marking is done): most words of the roots that fall between
 * the lowest and the highest block are on no block's page, and the filter rejects them
 * with one load where a binary search over the blocks takes a chain of them. Optional. */
void mp_leak_classify_filter(struct mp_leak_classifier *c, uint64_t *bits, size_t bytes);
/* The bytes of the page index of c's blocks (for mp_leak_classify_index): 32 a page
 * blocks are on (at most MP_LEAK_INDEX_BLOCK_PAGES a block), rounded up to a power of
 * two, and 4 a block over more pages than that. */
size_t mp_leak_classify_index_bytes(const struct mp_leak_classifier *c);
/* Gives the classifier an index of the pages blocks are on, in `slots` (zeroed, the
 * caller's until marking is done; `bytes` as mp_leak_classify_index_bytes said, so that
 * the blocks are not counted twice): a word that passed the filter is looked for among
 * the blocks that start on its page, or is in the one block that covers it, where a
 * binary search over all the blocks is a chain of a dozen loads or more; only a word on
 * a page the index does not hold is looked for among the largest blocks. cc1's exit
 * check searched all its blocks for two words in three that passed the filter: pointers
 * into obstack chunks and other blocks of several pages. Optional. */
void mp_leak_classify_index(struct mp_leak_classifier *c, struct mp_leak_page_starts *slots,
			    size_t bytes);
/* Marking by two threads. The roots are cut into pieces of about piece_bytes (at most
 * mp_leak_classify_piece_count of them), which each thread takes in turn, one atomic
 * increment of *next a piece, and marks with its own classifier as
 * mp_leak_classify_root does, blocks reached included; the states are shared (set
 * `shared` in both). The states reached are the same as one thread's: a block's state
 * only rises, and whichever thread raises it scans it. */
size_t mp_leak_classify_piece_count(const struct mp_leak_range *roots, size_t count,
				    uint64_t piece_bytes);
size_t mp_leak_classify_pieces(const struct mp_leak_range *roots, size_t count,
			       uint64_t piece_bytes, struct mp_leak_range *out);
void mp_leak_classify_take(struct mp_leak_classifier *c, const struct mp_leak_range *pieces,
			   size_t count, size_t *next);
/* Separates the blocks no root reaches into definitely lost (the first block of each
 * group, memcheck's "clique leader") and indirectly lost (reachable only from lost
 * blocks). After it, state & MP_LEAK_STATE_MASK is final. */
void mp_leak_classify_finish(struct mp_leak_classifier *c);
/* The MP_LEAK_KIND_* of trace_format.h for a final state. */
unsigned mp_leak_classify_kind_of(uint8_t state);
/* The index of the block holding `addr` (a zero-size block holds its first byte), or
 * SIZE_MAX. */
size_t mp_leak_classify_find(const struct mp_leak_classifier *c, uint64_t addr);

/* --- leak_live.c: the live set, folded from the trace file --- */
/* Who folds. At the end of any round the releases folded in the rounds before it may be
 * dropped (leak_live.c, Pruning). */
enum mp_leak_fold_mode {
	/* A check's, and the round the exit asks for before its check: the table is not
	 * swept after it (the check needs the live blocks now, not the memory back). */
	MP_LEAK_FOLD_KEEP = 0,
	/* The leak thread's rounds: the table gives back memory after them, a part at a
	 * time (mp_leak_table_sweep). */
	MP_LEAK_FOLD_PRUNE = 1,
};
/* One round: folds every record committed in the trace file at `path` since the last
 * round into the live set and deals with the releases as `mode` says.
 * Returns the number of events it folded (at most INT32_MAX), or a negative errno: -E2BIG or
 * -ENOMEM (the table could not grow: MEMPROF_LEAK_CHECK_MAX_MB), -ESTALE (the path no
 * longer names this process's trace), or the file's error. */
int mp_leak_live_fold(const char *path, enum mp_leak_fold_mode mode);
/* The blocks live after the last round, as a sorted array from mp_sys_map_anon (*bytes
 * long, to unmap) in *blocks and *count. 0 or a negative errno. */
int mp_leak_live_blocks(struct mp_leak_block **blocks, size_t *count, size_t *bytes);
/* Where to bump a counter as folding goes on (a waiter's sign of life), or NULL. */
void mp_leak_live_progress(uint64_t *progress);
/* Live blocks after the last round, and events folded so far. */
uint64_t mp_leak_live_count(void);
uint64_t mp_leak_live_events(void);
/* Operations that reached the table: the events that no event of the same batch
 * cancelled (bench/fold_bench.c). */
uint64_t mp_leak_live_table_ops(void);
/* The process is ending (an exit, or a fatal signal's check): the table's sweep under way
 * or about to start stops (the check waits for the round). One atomic store:
 * signal-safe. */
void mp_leak_live_exit_coming(void);
/* Forgets everything (a fork child's trace is a new one). */
void mp_leak_live_reset(void);
/* Fork (leak_live.c): the prepare handler keeps rounds from starting and waits (bounded)
 * for one under way; the parent's handler lets them start again. In the child, the live
 * set copied from the parent is kept if no round was under way: the child's first fold
 * then folds the rest of the parent's file (parent_path, its header naming parent_pid)
 * up to fork_ns, in the chunks that end before file_end, before its own. Returns 1 if the
 * set is kept, 0 if it was dropped. */
void mp_leak_live_fork_prepare(void);
void mp_leak_live_fork_parent(void);
int mp_leak_live_after_fork_child(const char *parent_path, uint32_t parent_pid,
				  uint64_t fork_ns, uint64_t file_end);

/* --- leak_roots.c: the roots --- */
/* A thread left running for the check because it waits for it in a handler of memprof's
 * (the one a fatal signal is ending): where its signal found it, the ucontext_t the
 * handler got, read as the stop handler reads the stopped threads' (leak_stop.c). */
struct mp_leak_spare {
	int tid;             /* 0: none */
	const void *context; /* NULL: unknown, its stack pointer is read from /proc */
	/* Or, without a context: its stack pointer, taken in a call with its registers saved
	 * above it (no red zone below it is in use), its stack scanned from exactly there. */
	uint64_t sp;
	/* It was on a stack of memprof's: its stack pointer on its own stack, or 0. */
	uint64_t program_sp;
};
/* The readable private mappings, merged and by address (mp_leak_roots): where the marking
 * may read a word outside the heap (a vtable's, classify_subobject). Devices, shared file
 * mappings and the trace are left out, as for roots. */
struct mp_leak_readable {
	struct mp_leak_range *ranges; /* from mp_sys_map_anon, `bytes` long; NULL: none */
	size_t count, bytes;
};
#define MP_LEAK_READABLE_EXEC 1u /* in a readable range's flags: executable too */

/* Writes the root ranges (writable memory that is not heap, not libmemprof's own, stacks
 * from their threads' stack pointers, stopped threads' registers) into a fresh
 * mp_sys_map_anon array (*bytes long) and marks blocks not inside readable memory NOSCAN
 * in state[]. `own_sp` is the scanning thread's stack pointer, `spare` the thread left
 * running for the check (or NULL), `exclude` ranges (sorted or not) that must not be
 * scanned even inside a root, the threads' states among them marked as such
 * (MP_LEAK_EXCLUDE_THREAD_STATE). Returns the range count or a negative errno;
 * *threads receives the number of other threads seen, with bit 31 set if one of them had
 * no readable stack pointer (it was running: its whole stack was scanned). `readable`,
 * if not NULL, receives the readable mappings (ranges NULL if they could not be kept). */
long mp_leak_roots(const struct mp_leak_block *blocks, size_t count, uint8_t *state,
		   uint64_t own_sp, const struct mp_leak_spare *spare,
		   const struct mp_leak_range *exclude, size_t exclude_count,
		   const char *trace_path, struct mp_leak_range **roots, size_t *bytes,
		   uint32_t *threads, struct mp_leak_readable *readable);
/* Whether the program's allocator is glibc's (the shim knows once it resolved malloc):
 * then a block with a mapping of its own (a large malloc) is told apart from an arena's
 * by its chunk header, and only its own pages are kept out of the roots. */
void mp_leak_roots_set_allocator(int glibc);

#endif
