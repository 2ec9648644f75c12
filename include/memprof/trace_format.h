/* trace_format.h: the on-disk trace format, the contract between libmemprof.so and memprof.
 *
 * A trace is one file per process image. All integers are little-endian. The file is:
 *
 *   [file header: header_size bytes, page aligned]
 *   [chunk][chunk][chunk]...            each chunk page aligned, chunk->capacity bytes long
 *
 * Each chunk belongs to one thread and holds a run of records. The writer maps chunks
 * MAP_SHARED and commits each record by advancing chunk->used after the record's bytes are
 * written, so the kernel keeps everything committed even if the process is SIGKILLed. Bytes
 * past `used` are a torn or never-written tail and must be ignored by the reader.
 *
 * Records inside a chunk are a tag byte followed by fields. Fields are unsigned LEB128
 * varints ("u"), zigzag-encoded signed LEB128 varints ("s", see varint.h), or, for strings,
 * a u length followed by that many bytes (no terminating NUL). Each chunk decodes on its
 * own: the delta bases below restart at every chunk.
 *
 * Tags below MP_REC_EXTENDED are events with the fixed field lists below, kept without a
 * length so that an event costs a few bytes. Tags from MP_REC_EXTENDED up are followed by
 * u body_length and the body; a reader skips such a record if it does not know the tag.
 * New record kinds are added there without changing the version.
 *
 * Delta bases, per chunk:
 *   prev_addr  starts at 0; the first address field of every event record (tags below
 *              MP_REC_EXTENDED) is encoded as s(addr - prev_addr) and then becomes
 *              prev_addr, unless the record says otherwise. Extended records (STACK,
 *              MODULE) hold absolute values and leave prev_addr alone.
 *   prev_time  starts at chunk->base_time_ns; every event's time field is u(time -
 *              prev_time) in nanoseconds of CLOCK_MONOTONIC and then becomes prev_time.
 *
 * Records (fields in order):
 *   MP_REC_MALLOC, MP_REC_CALLOC, MP_REC_POSIX_MEMALIGN, MP_REC_ALIGNED_ALLOC,
 *   MP_REC_MEMALIGN, MP_REC_VALLOC, MP_REC_PVALLOC:
 *       s addr, u size, u stack_id, u dtime
 *       A successful allocation of `size` requested bytes at `addr`. The time is taken
 *       after the real allocator returned.
 *   MP_REC_FREE:
 *       s addr, u dtime
 *       A free of a non-NULL pointer, time taken before the real free ran.
 *   MP_REC_REALLOC:
 *       s old_addr, s (new_addr - old_addr), u size, u stack_id, u dtime_before,
 *       u dtime_after
 *       old_addr 0 means realloc(NULL, size); new_addr 0 with size 0 means realloc(p, 0)
 *       freed p. Time dtime_before is taken before the call (the old block is released at
 *       that time) and dtime_after after it (the new block exists from then on); prev_time
 *       advances by both. Also used for reallocarray. prev_addr becomes new_addr.
 *   MP_REC_ALLOC_FAILED:
 *       u function (an MP_REC_* allocation tag or MP_REC_REALLOC/MP_REC_MMAP), u size,
 *       u stack_id, u dtime
 *       The call returned NULL / MAP_FAILED; nothing became live. No address field.
 *   MP_REC_MMAP:
 *       s addr, u length, u prot, u flags, s fd, u offset, u stack_id, u dtime
 *       A successful mmap/mmap64 by the program (not by malloc itself).
 *   MP_REC_MUNMAP:
 *       s addr, u length, u dtime      (time before the real call; may unmap part of a mapping)
 *   MP_REC_MREMAP:
 *       s old_addr, u old_length, s (new_addr - old_addr), u new_length, u flags,
 *       u stack_id, u dtime_before, u dtime_after      (prev_addr becomes new_addr)
 *   MP_REC_BRK:
 *       s old_break, s (new_break - old_break), u stack_id, u dtime
 *       A successful brk()/sbrk() by the program that moved the break.
 *   MP_REC_STACK (extended):
 *       u stack_id, u generation, u frame_count, then frame_count times s (ip - prev_ip)
 *       with prev_ip starting at 0. Frames are return addresses, innermost first, with the
 *       profiler's own frames removed. Does not change prev_addr. A stack is written before
 *       the first event that refers to it in the same chunk, or in an earlier chunk of the
 *       same trace. Two STACK records may carry the same frames under different ids.
 *       stack_id 0 means "no stack" and is never defined.
 *   MP_REC_STACK_SHARED (extended, 78; since version 2):
 *       u stack_id, u generation, u frame_count, u parent_id, u shared, then
 *       (frame_count - shared) times s (ip - prev_ip) with prev_ip starting at 0
 *       A STACK whose outermost `shared` frames (1 <= shared <= frame_count) are the
 *       outermost `shared` frames of stack parent_id: its frames are the ones written,
 *       innermost first, then those. parent_id was defined earlier by the same thread, in
 *       this chunk or an earlier chunk of the trace (by a STACK or a STACK_SHARED record),
 *       and has at least `shared` frames. New stacks of one thread mostly differ from its
 *       last one in their innermost frames only (a compiler's: 79% of their frames shared).
 *   MP_REC_MODULE (extended):
 *       u generation, s start (absolute), u (end - start), u load_bias, string path,
 *       string build_id
 *       One loaded object: the address range [start, end) covered by its PT_LOAD segments,
 *       the bias added to its ELF virtual addresses, the path it was loaded from (the main
 *       executable's real path for the program itself) and its GNU build-id bytes (may be
 *       empty). Does not change prev_addr. The module map of a generation is the union of
 *       its MODULE records; a stack of generation G is symbolized with the map of G.
 *       The generation increases whenever the program dlclose()s a library, so addresses
 *       reused by a later library never resolve into the unloaded one.
 *
 *   Memory snapshots (extended; written by preload/snapshot.c, read by analyzer/snapshot_read.c):
 *       A snapshot is the process's memory state at one moment: SNAPSHOT, then one MAPPING
 *       per line of /proc/self/smaps, each followed by the RESIDENCY records of its pages,
 *       then SNAPSHOT_END. All are written by one thread, in that order, and tied together by
 *       `seq` (1, 2, ... per trace), so a reader may collect them in any order. A snapshot
 *       without its SNAPSHOT_END was cut short (the process died while taking it). None of
 *       them changes prev_addr or prev_time; addresses and times in them are absolute.
 *       Figures come as "u count, then count times (u key, u value)" lists, so fields can
 *       be added without a version change: a reader ignores keys it does not know, and a
 *       key that is absent means "not known" (e.g. no cgroup limit readable). Byte figures
 *       are bytes (smaps' kB multiplied by 1024); signed values are zigzag-encoded.
 *   MP_REC_SNAPSHOT (extended, 66):
 *       u seq, u reason (enum mp_snapshot_reason), u time_ns, u page_size,
 *       u count, count times (u key (enum mp_snapshot_key), u value)
 *       time_ns is CLOCK_MONOTONIC (the event clock) when the snapshot started: the
 *       events before it are the state the snapshot describes.
 *   MP_REC_MAPPING (extended, 67):
 *       u seq, u start, u length, u perms (MP_PERM_*), u file_offset, u kind
 *       (enum mp_mapping_kind), string path (smaps' last column, may be empty),
 *       u own_count, own_count times (u offset from start, u length): the parts of the
 *       mapping that are libmemprof's own memory (never the program's),
 *       u count, count times (u key (enum mp_smaps_key), u value)
 *   MP_REC_RESIDENCY (extended, 68):
 *       u seq, u start (page aligned), u run_count, run_count times
 *       u ((pages << 2) | state), state an enum mp_page_state
 *       The state of `pages` consecutive pages, run after run, from start. Read from
 *       /proc/self/pagemap (bit 63: present in RAM, bit 62: swapped out); a mapping with no
 *       resident and no swapped page gets one run without its pagemap being read. A mapping
 *       may have several RESIDENCY records (each covers a sub-range); together they cover
 *       it once, unless the read failed (then the pages are simply not described).
 *   MP_REC_SNAPSHOT_END (extended, 69):
 *       u seq, u end_time_ns, u mapping_count, u residency_records, u cost_ns,
 *       u smaps_errno
 *       cost_ns: the writer's own time spent taking the snapshot (thread CPU time).
 *       smaps_errno: why /proc/self/smaps could not be read (then the snapshot has no
 *       MAPPING), 0 if it was; absent in traces written before December 2026.
 *
 *   Leak classes (extended; written by preload/leak_scan.c, read by
 *   analyzer/leak_kinds.c). libmemprof scans memory for pointers and classifies every
 *   block still allocated with Valgrind memcheck's semantics (enum mp_leak_kind): as the
 *   process exits, when it is about to die of a signal it does not handle, and whenever
 *   MEMPROF_LEAK_CHECK_SIGNAL arrives (unless MEMPROF_LEAK_CHECK=0). Each such check
 *   writes its LEAK_CLASS records, then one LEAK_SUMMARY, all from one thread, under a
 *   number of its own. Absolute values; prev_addr and prev_time are left alone.
 *   MP_REC_LEAK_CLASS (extended, 70):
 *       u count, then count times (u (addr - prev), u kind), prev starting at 0 in each
 *       record: addresses ascend; then u check. Several records (each body under 64 KiB)
 *       list the blocks the check found allocated, each once. `check` is the check's
 *       number, 1, 2, ... in the order the writer started them; a writer before checks
 *       had numbers wrote none: read it as 1.
 *   MP_REC_LEAK_SUMMARY (extended, 71):
 *       u status (0, or the positive errno that stopped the scan: then no class is
 *       valid), u time_ns (CLOCK_MONOTONIC when the scan started, the program's threads
 *       stopped: the blocks listed are the ones live then), u scan_ns (the check's cost,
 *       from its start to the end of the scan: the last records folded, the threads
 *       stopped, the marking; writing the records aside), u blocks, u root_bytes (roots
 *       scanned), u block_bytes (block contents scanned), u threads (other threads of
 *       the program alive at the check), u flags (MP_LEAK_SCAN_*), then, absent from
 *       older writers (read as check 1, at exit, all 0): u check, u reason (enum
 *       mp_leak_check_reason), u signal (the signal that asked for it, or 0), u stopped
 *       (threads stopped during the scan, their registers read from their signal
 *       frames), u not_stopped (threads that kept running: they block memprof's stop
 *       signal, are stopped by a debugger, or did not answer), then, absent from older
 *       writers (read as 0): u heuristic_blocks, u heuristic_bytes (blocks reachable
 *       only by memcheck's heuristics, MEMPROF_LEAK_HEURISTICS, and their bytes)
 *       Written after the last LEAK_CLASS record of its check: classes without a
 *       summary of the same check are not complete and must be ignored.
 *
 *   Sampling windows (extended; written by preload/sampling_window.c). In a sampled trace
 *   (header sample_bytes > 0) with sample_window_ms W > 0, a sampled allocation is not
 *   written when it happens: if its block is freed within W it is only counted, per
 *   stack, and its free is not written either; if it is still live after W (at the next
 *   sampled allocation after that, or when the process exits, _exits or execs) its
 *   allocation record is written then, with the time of writing and by the thread
 *   writing it, and its free is written as usual. So trace size grows with the
 *   long-lived samples and with the stacks of the short-lived ones, not with the
 *   allocation rate. The blocks still pending are in the trace file too (the sampled
 *   set chunk, MP_CHUNK_SAMPLED_SET), so a killed process loses only the counts of the
 *   blocks freed in its last window.
 *   MP_REC_SAMPLES_FREED (extended, 74):
 *       u stack_id, u samples, u blocks, u bytes, u sampled_bytes
 *       `samples` sampled blocks allocated from stack_id were freed within the window:
 *       their requested sizes sum to sampled_bytes, and they stand for `blocks` blocks
 *       and `bytes` bytes (the sums of mp_sample_weight_count/_bytes, sample_weight.h,
 *       over them), as allocations and as frees. Does not change prev_addr or prev_time.
 *       Several records may name the same stack: their figures add up.
 *
 *   MP_REC_SAMPLED_PEAK (extended, 75):
 *       u seq, u time_ns, u blocks, u bytes, u stack_count
 *       Written with a sampling window only, since the trace then cannot replay the
 *       sampled heap: the estimate of the live heap (the weights of every live sampled
 *       block, pending or written) reached a new peak, at least 5% above the previous
 *       SAMPLED_PEAK's (seq 1, 2, ...; time_ns absolute, CLOCK_MONOTONIC). It is followed,
 *       from the same thread, by stack_count SAMPLED_PEAK_STACK records of the same seq;
 *       a capture with fewer was cut short and must be ignored.
 *   MP_REC_SAMPLED_PEAK_STACK (extended, 76):
 *       u seq, u stack_id, u blocks, u bytes
 *       What the live samples of one stack stood for at that peak (weighted).
 *
 *   The RSS watch (extended; written by preload/rss_watch.c on memprof's own thread, read
 *   by analyzer/rss_series.c). Unless MEMPROF_RSS_WATCH=0, the thread reads
 *   /proc/self/statm every period_ms and writes a sample when RSS, its file-backed and
 *   shared part or VIRT moved by 1% and 64 KiB since the last sample written; before
 *   such a sample it writes the last unchanged one if that was not written, so the
 *   series is a step line: between two samples the figures were those of the first.
 *   When RSS exceeds the RSS of the last rss-peak snapshot by 5% and 1 MiB, it takes a
 *   snapshot with reason MP_SNAP_RSS_PEAK (rate-limited). It stops at the exit snapshot.
 *   MP_REC_RSS (extended, 80):
 *       u time_ns (absolute, CLOCK_MONOTONIC), u rss_bytes (statm resident),
 *       u shared_bytes (statm shared: RssFile + RssShmem), u virt_bytes (statm size),
 *       u period_ms
 *       Does not change prev_addr or prev_time.
 *
 * The end. When the process ends (exit and return from main after the exit snapshot and
 * the leak check, _exit after the exit snapshot, exec, a fatal signal after its snapshot
 * and check), the ending thread writes, before the header's end state:
 *   MP_REC_END (extended, 82):
 *       u end_state (the MP_END_* the header is about to say), u chunks: how many
 *       chunks the file had then (their file_seq run 1..chunks)
 *       Does not change prev_addr or prev_time.
 *   An exec that fails leaves an END (state MP_END_EXEC) behind and recording goes on: only
 *   an END whose state is the header's counts.
 * Every record the end wrote comes before it in that thread's records, and every chunk
 * made before it is numbered at most `chunks`: a file missing END, or holding fewer
 * numbered chunks, was cut. Threads still running may write after it (in their chunks,
 * or new ones numbered above `chunks`). Readers that do not know the tag skip it.
 *
 * A reader must reject a file whose magic differs or whose version it does not read, must
 * stop decoding a chunk at `used`, and must treat a record that does not decode inside
 * `used` as corruption. Version 2 added STACK_SHARED, which a reader of version 1 would
 * skip, losing the stacks it defines; a version 2 reader reads version 1 files too.
 */
#ifndef MEMPROF_TRACE_FORMAT_H
#define MEMPROF_TRACE_FORMAT_H

#include <stdint.h>

#define MP_TRACE_MAGIC "MEMPROF\x1a"
#define MP_TRACE_MAGIC_LEN 8
#define MP_TRACE_VERSION 2u
/* The oldest version this tree's readers still read (every later one is a superset). */
#define MP_TRACE_VERSION_OLDEST 1u

#define MP_CHUNK_MAGIC 0x4b43504du /* "MPCK" little-endian */

/* Largest frame count a STACK record may hold; MEMPROF_MAX_FRAMES is clamped to it. */
#define MP_MAX_FRAMES_LIMIT 256u

enum mp_end_state {
	MP_END_RUNNING = 0, /* never finished: killed (SIGKILL), crashed, or still running */
	MP_END_EXIT = 1,    /* exit() or return from main; end_status holds the status */
	MP_END_EXIT_NOW = 2,/* _exit()/_Exit(); end_status holds the status */
	MP_END_EXEC = 3,    /* replaced by execve(); a new trace continues the process */
	/* Killed by a signal whose default action ends the process and that memprof caught
	 * (the program had no handler for it): end_status holds the signal's number. */
	MP_END_SIGNAL = 4,
};

/* The file header. Strings follow the fixed part inside header_size bytes. */
struct mp_file_header {
	char magic[MP_TRACE_MAGIC_LEN];
	uint32_t version;
	uint32_t header_size;      /* bytes before the first chunk, a multiple of page_size */
	uint32_t page_size;
	uint32_t pid;
	uint32_t ppid;
	uint32_t max_frames;       /* MEMPROF_MAX_FRAMES in effect */
	uint64_t start_realtime_ns;  /* CLOCK_REALTIME at start, for display */
	uint64_t start_monotonic_ns; /* CLOCK_MONOTONIC at start; event times use this clock */
	/* 0: every call recorded. N: malloc-family allocations were sampled, each of s bytes
	 * with probability 1 - exp(-s/N) (Poisson sampling by bytes); frees and reallocs
	 * appear only for sampled blocks; mmap, munmap, mremap and brk are all recorded. */
	uint64_t sample_bytes;
	/* Written as the process ends; stays MP_END_RUNNING if it never got the chance. */
	uint32_t end_state;
	int32_t end_status;
	uint64_t end_monotonic_ns;
	uint32_t exe_len;          /* bytes of the executable path at exe_offset */
	uint32_t exe_offset;
	uint32_t cmdline_len;      /* argv joined by NUL bytes, at cmdline_offset */
	uint32_t cmdline_offset;
	uint32_t cmdline_truncated;/* nonzero if argv did not fit */
	/* With sampling: how long a sampled block may live and still be only counted
	 * (MP_REC_SAMPLES_FREED), in milliseconds; 0: every sample is written at once. */
	uint32_t sample_window_ms;
	/* Added without a version change (older writers leave them 0, older readers ignore
	 * them): */
	uint32_t flags;            /* MP_TRACE_* below, set while recording */
	uint32_t stop_reason;      /* enum mp_stop_reason: why recording stopped before the
				      process ended; MP_STOP_NONE if it did not */
	int32_t stop_errno;        /* the errno behind stop_reason (ENOSPC, EDQUOT, ...) */
	uint32_t pgid;             /* the writer's process group, for choosing trace names */
	uint64_t stop_monotonic_ns;/* CLOCK_MONOTONIC when recording stopped */
	uint32_t reserved[2];
};
_Static_assert(sizeof(struct mp_file_header) == 128, "file header layout is part of the format");

/* Header flags: what the reader must know to tell the truth about a trace. */
enum mp_trace_flags {
	/* The malloc the program calls is not libmemprof's (another allocator, or the
	 * program's own, comes first in symbol lookup): no allocation is in this trace. */
	MP_TRACE_FOREIGN_MALLOC = 1u,
	/* MEMPROF_LEAK_CHECK=0: no leak kinds by choice. */
	MP_TRACE_LEAK_CHECK_OFF = 2u,
	/* exit() ran on a thread that a signal handler had interrupted inside libmemprof;
	 * the exit work (snapshot, leak check) was done on a fresh chunk. */
	MP_TRACE_EXIT_IN_HANDLER = 4u,
	/* With MP_TRACE_EXIT_IN_HANDLER: the interrupted code held a lock that the exit
	 * snapshot, or the leak check, needs; it was skipped rather than deadlock. */
	MP_TRACE_EXIT_SNAPSHOT_SKIPPED = 8u,
	MP_TRACE_LEAK_CHECK_SKIPPED = 16u,
	/* A fork child whose leak checks could not take its parent's live blocks along (they
	 * are in the parent's trace only): they cannot reach through them. */
	MP_TRACE_FORK_CHILD = 32u,
	/* A fork child's trace, whatever its checks saw: the blocks allocated before the fork
	 * are in the parent's trace, and this one's frees of them match nothing here. */
	MP_TRACE_FORKED = 64u,
	/* A signal handler jumped (longjmp) out of libmemprof's code where it could not be
	 * resumed: that thread recorded nothing after the jump. */
	MP_TRACE_THREAD_STOPPED = 128u,
};

/* Why recording stopped before the process ended (header stop_reason). The trace is
 * whole up to that point; what came after is missing. */
enum mp_stop_reason {
	MP_STOP_NONE = 0,
	MP_STOP_DISK_FULL = 1,    /* no space (or quota) for the next chunk; stop_errno says */
	MP_STOP_FILE_ERROR = 2,   /* the file could not grow for another reason (stop_errno) */
	MP_STOP_FILE_REPLACED = 3,/* the path no longer names this trace (removed or replaced) */
	/* The process put a seccomp filter (or strict mode) on itself: memprof makes no system
	 * call after that, which the filter might answer by killing the process. */
	MP_STOP_SANDBOXED = 4,
};

/* The head of every chunk. */
struct mp_chunk_header {
	uint32_t magic;            /* MP_CHUNK_MAGIC */
	uint32_t header_size;      /* sizeof(struct mp_chunk_header) */
	uint32_t capacity;         /* bytes of this chunk, header included, page aligned */
	uint32_t used;             /* committed bytes, header included; records end here */
	uint32_t thread_serial;    /* 1, 2, ... in order of first event; unique in a trace */
	uint32_t tid;              /* the kernel's thread id, for display */
	uint32_t chunk_seq;        /* 0, 1, ... within the thread */
	uint32_t flags;            /* MP_CHUNK_* */
	uint64_t base_time_ns;     /* CLOCK_MONOTONIC base of this chunk's time deltas */
	uint32_t dropped_events;   /* events this thread could not record while on this chunk */
	uint32_t file_seq;         /* 1, 2, ... in order of creation in the file (sampled-set
				      chunks too), which is file order; 0 in traces written
				      before the END record existed */
	uint32_t reserved[4];
};
_Static_assert(sizeof(struct mp_chunk_header) == 64, "chunk header layout is part of the format");

enum mp_chunk_flags {
	MP_CHUNK_LAST = 1u, /* the thread ended after this chunk */
	/* Not records: the sampled set of a sampled trace with a window (see below). */
	MP_CHUNK_SAMPLED_SET = 2u,
};

/* A chunk flagged MP_CHUNK_SAMPLED_SET holds no records (used == header_size,
 * thread_serial 0): after its header come this header and `capacity` entries, the
 * writer's open-addressing set of the sampled blocks it knows to be live. The writer
 * keeps it in the file so that the samples still pending in the window (allocations not
 * yet written, `pending` = 1) survive the process being killed: a reader adds those as
 * allocations at the end of the trace. When the set grows, a new chunk with the next
 * generation replaces it and the old one's generation is set to 0: the live set is the
 * one with the highest generation. Entries with addr 0 are empty; an entry torn by a kill
 * mid-write may hold garbage and must be checked (an allocation tag, a known stack). */
struct mp_sampled_set_header {
	uint64_t generation;       /* 1, 2, ...; 0: replaced */
	uint64_t capacity;         /* entries that follow */
	uint64_t reserved[6];
};
_Static_assert(sizeof(struct mp_sampled_set_header) == 64, "sampled set layout is part of the format");

struct mp_sampled_set_entry {
	uint64_t addr;             /* 0: empty */
	uint64_t size;             /* requested bytes */
	uint64_t time_ns;          /* CLOCK_MONOTONIC of the allocation */
	uint32_t stack;            /* the writer's stack id */
	uint8_t tag;               /* its MP_REC_* allocation tag */
	uint8_t pending;           /* 1: its allocation record is not written yet */
	uint16_t reserved;
};
_Static_assert(sizeof(struct mp_sampled_set_entry) == 32, "sampled set layout is part of the format");

enum mp_record_tag {
	MP_REC_MALLOC = 1,
	MP_REC_CALLOC = 2,
	MP_REC_POSIX_MEMALIGN = 3,
	MP_REC_ALIGNED_ALLOC = 4,
	MP_REC_MEMALIGN = 5,
	MP_REC_VALLOC = 6,
	MP_REC_PVALLOC = 7,
	MP_REC_FREE = 8,
	MP_REC_REALLOC = 9,
	MP_REC_ALLOC_FAILED = 10,
	MP_REC_MMAP = 11,
	MP_REC_MUNMAP = 12,
	MP_REC_MREMAP = 13,
	MP_REC_BRK = 14,
	MP_REC_EXTENDED = 64, /* this tag and above: u body_length, then the body */
	MP_REC_STACK = 64,
	MP_REC_MODULE = 65,
	MP_REC_SNAPSHOT = 66,     /* 66-69: memory snapshots, see above */
	MP_REC_MAPPING = 67,
	MP_REC_RESIDENCY = 68,
	MP_REC_SNAPSHOT_END = 69,
	MP_REC_LEAK_CLASS = 70,   /* 70-73: leak classes by reachability, see above */
	MP_REC_LEAK_SUMMARY = 71,
	/* 72-73: reserved for leak classification. */
	MP_REC_SAMPLES_FREED = 74, /* 74-77: sampling, see above */
	MP_REC_SAMPLED_PEAK = 75,
	MP_REC_SAMPLED_PEAK_STACK = 76,
	/* 77: reserved for sampling. */
	MP_REC_STACK_SHARED = 78,  /* a STACK sharing its outer frames with an earlier one */
	MP_REC_RSS = 80,           /* 80-81: the RSS watch, see above */
	MP_REC_END = 82,           /* the process's last record, see above */
};

/* LEAK_CLASS kinds: memcheck's leak kinds (Valgrind manual, 4.2.8). */
enum mp_leak_kind {
	MP_LEAK_KIND_REACHABLE = 0, /* a chain of start-pointers from a root reaches it */
	MP_LEAK_KIND_POSSIBLE = 1,  /* only chains holding an interior pointer reach it */
	MP_LEAK_KIND_INDIRECT = 2,  /* only lost blocks point to it */
	MP_LEAK_KIND_DEFINITE = 3,  /* nothing points to it */
	MP_LEAK_KIND_COUNT = 4,
};

/* LEAK_SUMMARY flags. */
enum mp_leak_scan_flags {
	MP_LEAK_SCAN_THREAD_SP_UNKNOWN = 1u, /* a running thread's stack was scanned whole */
	MP_LEAK_SCAN_SAMPLED = 2u,           /* the trace is sampled: no scan (status ENOTSUP) */
	MP_LEAK_SCAN_NOT_STOPPED = 4u,       /* a thread kept running: its registers unseen */
};

/* LEAK_SUMMARY reasons: what asked for the check. */
enum mp_leak_check_reason {
	MP_LEAK_CHECK_EXIT = 0,         /* exit() or return from main */
	MP_LEAK_CHECK_SIGNAL = 1,       /* MEMPROF_LEAK_CHECK_SIGNAL: the process went on */
	MP_LEAK_CHECK_FATAL_SIGNAL = 2, /* a signal the program does not handle ended it */
};

/* Why a snapshot was taken. */
enum mp_snapshot_reason {
	MP_SNAP_EXIT = 1,     /* exit() or _exit() */
	MP_SNAP_PEAK = 2,     /* the tracked heap reached a new peak */
	MP_SNAP_INTERVAL = 3, /* every MEMPROF_SNAPSHOT_MS */
	MP_SNAP_SIGNAL = 4,   /* MEMPROF_SNAPSHOT_SIGNAL was received */
	MP_SNAP_RSS_PEAK = 5, /* the RSS watch saw a new high (see MP_REC_RSS) */
	MP_SNAP_FATAL = 6,    /* a signal the program does not handle was ending it */
};

/* How a snapshot knows which resident memory was accessed since the previous one
 * (MP_SNAPK_ACCESS_METHOD; MEMPROF_SNAPSHOT_ACCESS=1). */
enum mp_access_method {
	/* The referenced bits were cleared (/proc/self/clear_refs, 1) at ACCESS_SINCE_NS: each
	 * MAPPING's MP_SMAPS_REFERENCED is then the bytes of its resident pages accessed
	 * (read or written) since, per mapping, not per page. */
	MP_ACCESS_REFERENCED = 1,
};

/* Keys of the SNAPSHOT record's figures: the process and its limits at that moment. */
enum mp_snapshot_key {
	MP_SNAPK_VM_PEAK = 1,      /* /proc/self/status VmPeak: highest VIRT, bytes */
	MP_SNAPK_VM_SIZE = 2,      /* VmSize: VIRT now */
	MP_SNAPK_VM_HWM = 3,       /* VmHWM: highest RSS */
	MP_SNAPK_VM_RSS = 4,       /* VmRSS: RSS now (RssAnon + RssFile + RssShmem) */
	MP_SNAPK_RSS_ANON = 5,
	MP_SNAPK_RSS_FILE = 6,
	MP_SNAPK_RSS_SHMEM = 7,
	MP_SNAPK_VM_SWAP = 8,      /* VmSwap: anonymous memory swapped out */
	MP_SNAPK_THREADS = 9,
	MP_SNAPK_OOM_SCORE = 10,   /* /proc/self/oom_score */
	MP_SNAPK_OOM_SCORE_ADJ = 11, /* /proc/self/oom_score_adj, zigzag */
	MP_SNAPK_CGROUP_MAX = 12,  /* memory.max (v2) or memory.limit_in_bytes (v1); absent
				      when unlimited or unreadable */
	MP_SNAPK_CGROUP_CURRENT = 13, /* memory.current (v2) or memory.usage_in_bytes (v1) */
	MP_SNAPK_OVERCOMMIT = 14,  /* /proc/sys/vm/overcommit_memory: 0 heuristic, 1 always, 2 never */
	MP_SNAPK_COMMIT_LIMIT = 15,/* /proc/meminfo CommitLimit */
	MP_SNAPK_COMMITTED_AS = 16,/* /proc/meminfo Committed_AS (whole system) */
	MP_SNAPK_THP_MODE = 17,    /* transparent_hugepage/enabled: 0 always, 1 madvise, 2 never */
	MP_SNAPK_MEM_TOTAL = 18,   /* /proc/meminfo MemTotal */
	MP_SNAPK_MEM_AVAILABLE = 19,
	MP_SNAPK_HEAP_ESTIMATE = 20, /* the preload's estimate of live heap bytes (peak trigger) */
	MP_SNAPK_ACCESS_METHOD = 21, /* enum mp_access_method; absent: access not measured, and
					MP_SMAPS_REFERENCED means nothing about an interval */
	MP_SNAPK_ACCESS_SINCE_NS = 22, /* CLOCK_MONOTONIC when the bits were last cleared: the
					  start of the interval the access figures cover */
	MP_SNAPK_WATCH_RSS = 23,   /* rss-peak: the RSS (statm) that triggered it, bytes */
};

/* MAPPING perms: smaps' "rwxp"/"rwxs" column. */
enum mp_mapping_perm {
	MP_PERM_READ = 1u, MP_PERM_WRITE = 2u, MP_PERM_EXEC = 4u, MP_PERM_SHARED = 8u,
};

/* What a mapping is, as far as the writer can tell from smaps and its own knowledge. */
enum mp_mapping_kind {
	MP_MAPK_OTHER = 0,   /* [vdso], [vvar], [vsyscall] and anything unrecognized */
	MP_MAPK_HEAP = 1,    /* [heap]: the brk area */
	MP_MAPK_ANON = 2,    /* private anonymous memory (mmap, malloc's arenas) */
	MP_MAPK_STACK = 3,   /* [stack], or an anonymous mapping holding a thread's stack pointer */
	MP_MAPK_FILE = 4,    /* backed by a file: code and data of objects, mmap'd files */
	MP_MAPK_SHARED = 5,  /* shared memory: MAP_SHARED|MAP_ANONYMOUS, /dev/shm, SysV, memfd */
	MP_MAPK_MEMPROF = 6, /* libmemprof's own: the trace file's chunks, its thread's stack */
};

/* Keys of the MAPPING record's figures, the fields of /proc/self/smaps, in bytes. */
enum mp_smaps_key {
	MP_SMAPS_RSS = 1, MP_SMAPS_PSS = 2, MP_SMAPS_SHARED_CLEAN = 3, MP_SMAPS_SHARED_DIRTY = 4,
	MP_SMAPS_PRIVATE_CLEAN = 5, MP_SMAPS_PRIVATE_DIRTY = 6, MP_SMAPS_REFERENCED = 7,
	MP_SMAPS_ANONYMOUS = 8, MP_SMAPS_ANON_HUGE = 9, MP_SMAPS_SHMEM_PMD = 10,
	MP_SMAPS_FILE_PMD = 11, MP_SMAPS_SWAP = 12, MP_SMAPS_SWAP_PSS = 13, MP_SMAPS_LOCKED = 14,
};

/* Page states of RESIDENCY runs. */
enum mp_page_state {
	MP_PAGE_ABSENT = 0,  /* never touched, dropped from the page cache, not mapped, or
			      * (private anonymous memory) only read: the zero page */
	MP_PAGE_PRESENT = 1, /* in RAM: counted in RSS */
	MP_PAGE_SWAPPED = 2, /* written out to swap */
};

/* Upper bound of one encoded event record (not STACK or MODULE): tag + 8 varints. */
#define MP_EVENT_RECORD_MAX 96u

#endif
