/* analyze.c: replaying a trace file into the heap model and naming its stacks. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"

#include "core_share.h"
#include "event_pipe.h"
#include "freed_samples.h"
#include "sampled_peak.h"
#include "trace_complete.h"

/* The sampled blocks a killed writer still had pending in its window (trace_format.h,
 * MP_CHUNK_SAMPLED_SET) become allocations at the end of the replay, at their own time.
 * Entries a kill tore (no allocation tag, an undefined stack) are left out. */
static int analysis_pending_samples(struct mp_analysis *analysis)
{
	size_t count;
	const struct mp_sampled_set_entry *set = mp_trace_sampled_set(analysis->trace, &count);
	for (size_t i = 0; i < count; i++) {
		struct mp_sampled_set_entry entry;
		memcpy(&entry, &set[i], sizeof(entry));
		if (!entry.addr || entry.pending != 1 || entry.tag < MP_REC_MALLOC ||
		    entry.tag > MP_REC_PVALLOC)
			continue;
		uint32_t stack = mp_trace_stack_canonical(analysis->trace, entry.stack);
		if (entry.stack && !stack)
			continue;
		struct mp_event event = {
			.tag = (enum mp_record_tag)entry.tag, .time_ns = entry.time_ns,
			.time_before_ns = entry.time_ns, .addr = entry.addr, .size = entry.size,
			.stack_id = stack,
		};
		int err = mp_heap_model_feed(&analysis->model, &event);
		if (err)
			return err;
		analysis->model.totals.pending_samples++;
	}
	return 0;
}

/* Events read on this thread between two looks at whether the warming thread is done
 * loading debug information. */
#define ANALYSIS_POLL_EVENTS 4096

/* Whether the warming thread is still loading debug information (analysis_warm). */
static int analysis_loading(struct mp_analysis *analysis)
{
	return analysis->warming && !__atomic_load_n(&analysis->debug_loaded, __ATOMIC_ACQUIRE);
}

/* Visits the checkpoints that come before `event` (NULL: all that are left). A release
 * happens at its time before, everything else at its time. */
static int analysis_checkpoints_before(struct mp_analysis *analysis, const struct mp_event *event)
{
	const struct mp_analysis_checkpoints *checkpoints = analysis->checkpoints;
	uint64_t time = !event ? UINT64_MAX : event->time_before_ns ? event->time_before_ns
								     : event->time_ns;
	while (analysis->next_checkpoint < checkpoints->count &&
	       (!event || checkpoints->times[analysis->next_checkpoint] < time)) {
		int err = checkpoints->visit(checkpoints->context, analysis->next_checkpoint,
					     &analysis->model);
		analysis->next_checkpoint++;
		if (err)
			return err;
	}
	return 0;
}

/* How many events ahead of the one being applied the model's lookups are prefetched:
 * enough for the memory loads of several events to overlap, few enough that the slots
 * are still in the cache when their event comes. The model alone on python3's trace
 * (CPU time): 19-20 ns an event 8 ahead, 16 at 16, 15 at 24 and 32; random addresses the
 * same at 8 to 24, worse at 32; a table small enough for the cache 2% slower at 24. */
#define ANALYSIS_PREFETCH_AHEAD 24

/* analysis_feed when nothing looks at the model on the way (report, leaks, flamegraph):
 * the loop without the tests for checkpoints and an observer, and in two parts, so that
 * the prefetching needs no test either. callgrind, report on python3's 300k-entry dict:
 * the replay 657.7M -> 644.7M instructions. */
static int analysis_feed_plain(struct mp_heap_model *model, const struct mp_event *events,
			       size_t count)
{
	size_t i = 0;
	for (; i < count && i < ANALYSIS_PREFETCH_AHEAD; i++)
		mp_heap_model_prefetch(model, &events[i]);
	for (i = 0; i + ANALYSIS_PREFETCH_AHEAD < count; i++) {
		mp_heap_model_prefetch(model, &events[i + ANALYSIS_PREFETCH_AHEAD]);
		int err = mp_heap_model_feed(model, &events[i]);
		if (err)
			return err;
	}
	for (; i < count; i++) {
		int err = mp_heap_model_feed(model, &events[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Feeds the model a batch of events, each one's lookups prefetched a few events before.
 * Returns 0 or the model's error. */
static int analysis_feed(struct mp_analysis *analysis, const struct mp_event *events,
			 size_t count)
{
	struct mp_heap_model *model = &analysis->model;
	const struct mp_analysis_checkpoints *checkpoints = analysis->checkpoints;
	if (!checkpoints && !analysis->observer)
		return analysis_feed_plain(model, events, count);
	for (size_t i = 0; i < count && i < ANALYSIS_PREFETCH_AHEAD; i++)
		mp_heap_model_prefetch(model, &events[i]);
	for (size_t i = 0; i < count; i++) {
		if (i + ANALYSIS_PREFETCH_AHEAD < count)
			mp_heap_model_prefetch(model, &events[i + ANALYSIS_PREFETCH_AHEAD]);
		if (checkpoints) {
			int err = analysis_checkpoints_before(analysis, &events[i]);
			if (err)
				return err;
		}
		if (analysis->observer) {
			int err = analysis->observer->event(analysis->observer->context, &events[i],
							    analysis);
			if (err)
				return err;
		}
		int err = mp_heap_model_feed(model, &events[i]);
		if (err)
			return err;
	}
	return 0;
}

/* Events read on this thread are fed in batches of this many, for the prefetching (the
 * first ANALYSIS_PREFETCH_AHEAD of a batch are prefetched late). */
#define ANALYSIS_BATCH 256

/* Feeds the model the trace's events read on this thread, all of them or, when
 * `while_loading`, only while the warming thread loads debug information. Returns 1 if
 * stopped with events left, 0 at the end (records that do not decode were cut off when
 * the trace was opened); a model error goes to *model_err. */
static int analysis_read_events(struct mp_analysis *analysis, int while_loading, int *model_err)
{
	struct mp_event batch[ANALYSIS_BATCH];
	int ret = 1;

	for (uint64_t read = 0; ret == 1;) {
		size_t count = mp_trace_next_batch(analysis->trace, batch, ANALYSIS_BATCH);
		if (count < ANALYSIS_BATCH)
			ret = 0; /* the merge never fails: the index pass cut bad records */
		*model_err = analysis_feed(analysis, batch, count);
		if (*model_err)
			return 0;
		read += count;
		if (ret == 1 && while_loading && read % ANALYSIS_POLL_EVENTS == 0 &&
		    !analysis_loading(analysis))
			return 1;
	}
	return ret;
}

/* Batches between two looks at whether the cores are still free (core_share.h): about
 * 10 ms of replay, long enough for the measure to mean something. */
#define ANALYSIS_SHARE_BATCHES 1024

/* Feeds the model the pipe's batches until it ends, or until other processes take the
 * cores: then the pipe is drained, and 1 returned (events may be left in the trace). */
static int analysis_pipe_batches(struct mp_analysis *analysis, struct mp_event_pipe *pipe,
				 int *model_err)
{
	const struct mp_event *events;
	size_t count, batches = 0;
	int drained = 0;
	struct mp_core_share share;
	mp_core_share_start(&share);
	while (!*model_err && (count = mp_event_pipe_next(pipe, &events)) > 0) {
		*model_err = analysis_feed(analysis, events, count);
		if (drained || ++batches % ANALYSIS_SHARE_BATCHES)
			continue;
		if (!mp_core_share_free(&share)) {
			mp_event_pipe_drain(pipe);
			drained = 1;
		}
		mp_core_share_start(&share);
	}
	return drained;
}

/* The rest of the events read on a second thread (event_pipe.h), which halves the
 * replay when a core is free; -EAGAIN if that thread cannot be had. When the cores stop
 * being free on the way (another process starts), the two threads would wait for time
 * slices to hand each other batches (analysis_all_events), so the pipe stops and the
 * rest is read here. On this 2-core VM that happens in most runs even with no other
 * process: the analysis thread waits for a CPU a quarter to a half of the pipe's first
 * 10 ms (the reader's wake-ups bring it to their core), and one thread, since the model
 * got faster, replays python3's trace in about the time two take with 25-30% less CPU
 * (report: 394-464 ms median against 403-445, 499-592 ms of CPU against 681-727). */
static int analysis_piped_events(struct mp_analysis *analysis, int *model_err)
{
	struct mp_event_pipe *pipe = mp_event_pipe_start(analysis->trace);
	if (!pipe)
		return -EAGAIN;
	int drained = analysis_pipe_batches(analysis, pipe, model_err);
	int ret = mp_event_pipe_finish(pipe);
	if (!drained || *model_err)
		return ret;
	return analysis_read_events(analysis, 0, model_err);
}

/* The cores this process may run on. */
static long analysis_cores(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

/* Replays every event: read on a second thread when there is a core for it. With two
 * cores, while the warming thread loads debug information (inflating a debug package's
 * DWARF keeps a core busy for some 15 ms), a reading thread would only take turns with
 * it, so the events are read here until it is done. With one, or when other processes
 * kept the cores busy while the trace was opened (core_free), they all are: the two
 * threads then wait for time slices to hand each other batches (python3's trace, with
 * two other busy processes on the 2 cores: 4.1 s median against 1.3 s on one thread). */
static int analysis_all_events(struct mp_analysis *analysis, int *model_err)
{
	long cpus = analysis_cores();
	int ret = 1;
	if (cpus < 2 || !analysis->core_free)
		return analysis_read_events(analysis, 0, model_err);
	if (cpus < 3)
		ret = analysis_read_events(analysis, 1, model_err);
	if (ret != 1 || *model_err)
		return ret;
	ret = analysis_piped_events(analysis, model_err);
	return ret == -EAGAIN ? analysis_read_events(analysis, 0, model_err) : ret;
}

static int analysis_replay(struct mp_analysis *analysis)
{
	int model_err = 0;
	int ret = analysis_all_events(analysis, &model_err);
	if (model_err)
		return model_err;
	if (analysis->checkpoints) {
		int err = analysis_checkpoints_before(analysis, NULL);
		if (err)
			return err;
	}
	int pending = analysis_pending_samples(analysis);
	if (pending)
		return pending;
	const struct mp_freed_table *freed = mp_trace_freed_samples(analysis->trace);
	for (size_t i = 0; i < freed->capacity; i++) {
		const struct mp_freed_samples *figures = mp_freed_at(freed, i);
		int err = figures ? mp_heap_model_add_freed(&analysis->model, figures) : 0;
		if (err)
			return err;
	}
	if (ret < 0) {
		/* Corrupt records: what came before is still exact, so report it as such. */
		analysis->complete = 0;
		if (!analysis->stop_reason[0])
			snprintf(analysis->stop_reason, sizeof(analysis->stop_reason), "%s",
				 strerror(-ret));
	}
	return 0;
}

static void analysis_times(struct mp_analysis *analysis)
{
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	uint64_t start = header->start_monotonic_ns;
	uint64_t end = header->end_state != MP_END_RUNNING ? header->end_monotonic_ns
							   : analysis->model.totals.last_time_ns;

	analysis->run_time_ns = end > start ? end - start : 0;
}

/* The runtime's own frames at the root of every stack, below main or a thread's start
 * routine, as glibc 2.36's symbol table names them: the ELF entry point, libc's code that
 * calls main (__libc_start_main is an alias of __libc_start_main_impl, which the table may
 * give under its versioned or _alias_N names), and the code that starts a thread (clone3
 * since glibc 2.34, clone before). */
static const char *const analysis_plumbing[] = {
	"_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_main_alias_1",
	"__libc_start_main_alias_2", "__libc_start_call_main", "start_thread", "clone",
	"__clone", "clone3", "__clone3",
};

/* The runtime functions among them that call the program's own outermost function: main
 * (__libc_start_call_main since glibc 2.34, __libc_start_main before) or a thread's start
 * routine (start_thread). */
static const char *const analysis_root_callers[] = {
	"__libc_start_call_main", "__libc_start_main", "__libc_start_main_impl", "start_thread",
};

/* Whether a symbol table name is one of `names`, ignoring glibc's prefix for internal
 * aliases ("__GI___clone3"). The symbolizer has already left out version tags. */
static int analysis_name_in(const char *name, const char *const *names, size_t count)
{
	if (!name)
		return 0;
	if (strncmp(name, "__GI_", 5) == 0)
		name += 5;
	for (size_t i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static int analysis_is_plumbing(const char *name)
{
	return analysis_name_in(name, analysis_plumbing,
				sizeof(analysis_plumbing) / sizeof(analysis_plumbing[0]));
}

static int analysis_is_root_caller(const char *name)
{
	return analysis_name_in(name, analysis_root_callers,
				sizeof(analysis_root_callers) / sizeof(analysis_root_callers[0]));
}

/* Whether two return addresses of a stack are in the same module (both in one). */
static int analysis_same_module(struct mp_analysis *analysis, uint32_t generation, uint64_t a,
				uint64_t b)
{
	const struct mp_module *module = mp_trace_module_at(analysis->trace, generation, a - 1);
	return module && module == mp_trace_module_at(analysis->trace, generation, b - 1);
}

/* How many frames a stack shows when its root lies in a program without symbols: the
 * frames inside the innermost root caller (see analysis_root_callers) found among the
 * outermost run of frames that are plumbing or have no name, which keeps as the root the
 * unnamed frame that libc called (main, or the thread's start routine); `count` if the
 * run holds no root caller. In a stripped program (sqlite3, git) main and _start have no
 * symbol, so leaving out the plumbing from the outside in stops at _start, before
 * __libc_start_main_impl and __libc_start_call_main. Never cuts the innermost frame. */
static uint32_t analysis_unnamed_root(struct mp_analysis *analysis, const uint64_t *ips,
				      uint32_t count, uint32_t generation)
{
	uint32_t cut = count;
	const char *cut_name = NULL;
	for (uint32_t i = count; i > 1; i--) {
		const char *name = mp_symbolize_symbol(analysis->symbolizer, generation, ips[i - 1]);
		if (name && !analysis_is_plumbing(name))
			break;
		if (analysis_is_root_caller(name)) {
			cut = i - 1;
			cut_name = name;
		}
	}
	/* A libc whose symbol table is stripped (no libc6-dbg) names __libc_start_main from
	 * .dynsym but not the static __libc_start_call_main it calls (glibc >= 2.34), which
	 * then shows as an unnamed frame of libc just inside it; main is in another module. */
	if (cut < count && cut > 1 && strncmp(cut_name, "__libc_start_main", 17) == 0 &&
	    !mp_symbolize_symbol(analysis->symbolizer, generation, ips[cut - 1]) &&
	    analysis_same_module(analysis, generation, ips[cut - 1], ips[cut]))
		cut--;
	return cut;
}

/* How many of a stack's raw frames are shown: all of them with full stacks or without a
 * symbolizer, else all but the outermost run of plumbing (or, for a root without symbols,
 * the frames from its root caller out: analysis_unnamed_root), keeping at least the
 * innermost (a block allocated by the plumbing itself still shows where). Reads symbol
 * tables only; the answer is kept in shown[]. */
static uint32_t analysis_shown(struct mp_analysis *analysis, uint32_t stack_id,
			       const uint64_t *ips, uint32_t count, uint32_t generation)
{
	if (analysis->shown && analysis->shown[stack_id])
		return analysis->shown[stack_id];
	uint32_t shown = count;
	if (!analysis->full_stacks && analysis->symbolizer)
		shown = analysis_unnamed_root(analysis, ips, count, generation);
	while (!analysis->full_stacks && analysis->symbolizer && shown > 1 &&
	       analysis_is_plumbing(mp_symbolize_symbol(analysis->symbolizer, generation,
							ips[shown - 1])))
		shown--;
	if (analysis->shown)
		analysis->shown[stack_id] = shown;
	return shown;
}

/* The warming thread's two passes, one call per shown frame of every stack; a pass ends
 * early when `visit` returns nonzero. */
static void analysis_each_shown_frame(struct mp_analysis *analysis,
				      int (*visit)(struct mp_analysis *, uint32_t, uint64_t))
{
	uint32_t stack_count = mp_trace_stack_count(analysis->trace);

	for (uint32_t id = 1; id <= stack_count; id++) {
		uint32_t count = 0, generation = 0;
		const uint64_t *ips = mp_trace_stack(analysis->trace, id, &count, &generation);
		uint32_t shown = analysis_shown(analysis, id, ips, count, generation);
		for (uint32_t i = 0; i < shown; i++)
			if (visit(analysis, generation, ips[i]))
				return;
	}
}

static int analysis_load_debug_info(struct mp_analysis *analysis, uint32_t generation,
				    uint64_t ip)
{
	mp_symbolizer_warm(analysis->symbolizer, generation, ip);
	return 0;
}

static int analysis_cache_frames(struct mp_analysis *analysis, uint32_t generation, uint64_t ip)
{
	if (__atomic_load_n(&analysis->stop_warming, __ATOMIC_RELAXED))
		return 1;
	struct mp_frame frame;
	mp_symbolize(analysis->symbolizer, generation, ip, &frame, 1);
	return 0;
}

/* The warming thread. First it works out which frames each stack shows and loads the
 * debug information of just the modules holding at least one of them. A module none of
 * whose frames is shown is never loaded: libc when only its start code is in the stacks,
 * libmemprof.so (the recorder drops its own frames, so it has none), the libunwind and
 * liblzma it brings. Those two have no debug files here, and looking for one makes libdw
 * dlopen its debuginfod client and some thirty libraries behind it, so skipping them
 * saves more than their DWARF. Then, until the replay is done (stop_warming), it
 * symbolizes the shown frames into the symbolizer's cache, so that printing the stacks
 * later mostly reads the cache: on a 2-core machine that work is free while the replay
 * keeps the other core. Touches only the trace (read-only after open), the symbolizer and
 * shown[], which nothing else uses until the thread is joined. */
static void *analysis_warm(void *arg)
{
	struct mp_analysis *analysis = arg;

	analysis_each_shown_frame(analysis, analysis_load_debug_info);
	__atomic_store_n(&analysis->debug_loaded, 1, __ATOMIC_RELEASE);
	/* From here on only when a core is idle (SCHED_IDLE): during the replay the reader
	 * thread (event_pipe.h) and the analysis thread keep both cores of a 2-core machine
	 * busy, and a third thread at their priority took a third of each, the analysis
	 * thread's included, for a cache whose frames mostly are never printed. */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &(struct sched_param){ 0 });
	analysis_each_shown_frame(analysis, analysis_cache_frames);
	return NULL;
}

/* The symbolizer and the table of shown frames, made once (NULL members without memory). */
static void analysis_make_symbolizer(struct mp_analysis *analysis)
{
	if (analysis->symbolizer_tried)
		return;
	analysis->symbolizer_tried = 1;
	analysis->symbolizer = mp_symbolizer_new(analysis->trace);
	analysis->shown = calloc((size_t)mp_trace_stack_count(analysis->trace) + 1,
				 sizeof(*analysis->shown));
}

/* Makes the symbolizer and, on a second thread, loads the modules' debug information
 * while the events are replayed: on a 2-core machine that overlaps most of what
 * symbolizing costs (libdw inflating compressed DWARF) with the replay. */
static void analysis_start_symbolizer(struct mp_analysis *analysis)
{
	analysis_make_symbolizer(analysis);
	if (analysis->symbolizer &&
	    pthread_create(&analysis->warmer, NULL, analysis_warm, analysis) == 0)
		analysis->warming = 1;
}

/* The symbolizer, once the warming thread is done with it. */
static struct mp_symbolizer *analysis_symbolizer(struct mp_analysis *analysis)
{
	if (analysis->warming) {
		__atomic_store_n(&analysis->stop_warming, 1, __ATOMIC_RELAXED);
		pthread_join(analysis->warmer, NULL);
		analysis->warming = 0;
	}
	return analysis->symbolizer;
}

int mp_analysis_open(const char *path, struct mp_analysis *analysis, unsigned flags, char *err,
		     size_t err_len)
{
	memset(analysis, 0, sizeof(*analysis));
	analysis->path = path;
	analysis->complete = 1;
	analysis->full_stacks = (flags & MP_ANALYSIS_FULL_STACKS) != 0;
	/* The index pass keeps two threads busy: whether they had the cores to themselves. */
	struct mp_core_share share;
	mp_core_share_start(&share);
	int ret = mp_trace_open(path, &analysis->trace, err, err_len);
	analysis->core_free = mp_core_share_free(&share);
	if (ret < 0) {
		analysis->trace = NULL;
		return ret;
	}
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	if (flags & MP_ANALYSIS_SYMBOLS)
		analysis_start_symbolizer(analysis);
	ret = mp_heap_model_init(&analysis->model, mp_trace_stack_count(analysis->trace),
				 header->page_size);
	if (ret) {
		snprintf(err, err_len, "%s", strerror(-ret));
		mp_analysis_destroy(analysis);
		return ret;
	}
	mp_heap_model_set_sampling(&analysis->model, header->sample_bytes);
	/* Sized once from the index pass rather than doubled as blocks come: each doubling
	 * had the kernel zero a new array (a fifth of a big trace's replay on this VM) and
	 * moved every block. Without the memory, the table grows as before. */
	mp_heap_model_expect_blocks(&analysis->model, mp_trace_live_hint(analysis->trace));
	return 0;
}

int mp_analysis_replay(struct mp_analysis *analysis,
		       const struct mp_analysis_checkpoints *checkpoints, char *err,
		       size_t err_len)
{
	analysis->checkpoints = checkpoints;
	analysis->next_checkpoint = 0;
	int ret = analysis_replay(analysis);
	analysis->checkpoints = NULL;
	if (ret) {
		snprintf(err, err_len, "%s", strerror(-ret));
		return ret;
	}
	mp_heap_model_finish(&analysis->model);
	ret = mp_sampled_peak_apply(&analysis->model, analysis->trace);
	if (ret < 0) {
		snprintf(err, err_len, "%s", strerror(-ret));
		return ret;
	}
	mp_trace_stats(analysis->trace, &analysis->stats);
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	if (header->stop_reason != MP_STOP_NONE) {
		/* The writer knew why its trace ends early: that is the reason to give. */
		analysis->complete = 0;
		mp_trace_stop_text(header, analysis->stop_reason, sizeof(analysis->stop_reason));
	}
	if (analysis->complete)
		analysis->complete = mp_trace_complete(analysis->trace, analysis->stop_reason,
						       sizeof(analysis->stop_reason));
	analysis_times(analysis);
	return 0;
}

int mp_analysis_run(const char *path, struct mp_analysis *analysis, unsigned flags, char *err,
		    size_t err_len)
{
	int ret = mp_analysis_open(path, analysis, flags, err, err_len);
	if (ret == 0) {
		ret = mp_analysis_replay(analysis, NULL, err, err_len);
		if (ret)
			mp_analysis_destroy(analysis);
	}
	return ret;
}

void mp_analysis_destroy(struct mp_analysis *analysis)
{
	if (analysis_symbolizer(analysis))
		mp_symbolizer_free(analysis->symbolizer);
	free(analysis->shown);
	mp_heap_model_destroy(&analysis->model);
	if (analysis->trace)
		mp_trace_close(analysis->trace);
	memset(analysis, 0, sizeof(*analysis));
}

/* A frame for an address the symbolizer could not be asked about. */
static void analysis_raw_frame(struct mp_analysis *analysis, uint32_t generation, uint64_t ip,
			       struct mp_frame *frame)
{
	const struct mp_module *module = mp_trace_module_at(analysis->trace, generation, ip);

	memset(frame, 0, sizeof(*frame));
	frame->address = ip;
	if (module) {
		const char *slash = strrchr(module->path, '/');
		frame->module = slash ? slash + 1 : module->path;
		frame->module_offset = ip - module->load_bias;
	}
}

/* Writes the frames of ips[0..count) into frames[] (at most max); returns how many. */
static int analysis_symbolize(struct mp_analysis *analysis, uint32_t generation,
			      const uint64_t *ips, uint32_t count, struct mp_frame *frames, int max)
{
	int written = 0;

	for (uint32_t i = 0; i < count && written < max; i++) {
		int got = 0;
		if (analysis->symbolizer)
			got = mp_symbolize(analysis->symbolizer, generation, ips[i], frames + written,
					   max - written);
		if (got <= 0) {
			analysis_raw_frame(analysis, generation, ips[i], &frames[written]);
			got = 1;
		}
		written += got;
	}
	return written;
}

/* The stack's return addresses, with the symbolizer ready; NULL for no such stack. */
static const uint64_t *analysis_stack(struct mp_analysis *analysis, uint32_t stack_id,
				      uint32_t *count, uint32_t *generation)
{
	*count = 0;
	if (stack_id == 0 || stack_id > mp_trace_stack_count(analysis->trace))
		return NULL;
	analysis_make_symbolizer(analysis);
	analysis_symbolizer(analysis);
	return mp_trace_stack(analysis->trace, stack_id, count, generation);
}

int mp_analysis_frames(struct mp_analysis *analysis, uint32_t stack_id, struct mp_frame *frames,
		       int max)
{
	uint32_t count = 0, generation = 0;
	const uint64_t *ips = analysis_stack(analysis, stack_id, &count, &generation);

	if (!ips)
		return 0;
	count = analysis_shown(analysis, stack_id, ips, count, generation);
	return analysis_symbolize(analysis, generation, ips, count, frames, max);
}

int mp_analysis_all_frames(struct mp_analysis *analysis, uint32_t stack_id,
			   struct mp_frame *frames, int max)
{
	uint32_t count = 0, generation = 0;
	const uint64_t *ips = analysis_stack(analysis, stack_id, &count, &generation);

	if (!ips)
		return 0;
	uint32_t shown = analysis_shown(analysis, stack_id, ips, count, generation);
	int written = analysis_symbolize(analysis, generation, ips, shown, frames, max);
	for (uint32_t i = shown; i < count && written < max; i++, written++) {
		analysis_raw_frame(analysis, generation, ips[i], &frames[written]);
		frames[written].function = mp_symbolize_symbol(analysis->symbolizer, generation,
							       ips[i]);
	}
	return written;
}

void mp_analysis_show_full_stacks(struct mp_analysis *analysis)
{
	analysis_symbolizer(analysis); /* the warming thread reads full_stacks and shown[] */
	analysis->full_stacks = 1;
	if (analysis->shown)
		memset(analysis->shown, 0,
		       ((size_t)mp_trace_stack_count(analysis->trace) + 1) * sizeof(*analysis->shown));
}

const char *mp_frame_label(const struct mp_frame *frame, char *buf, size_t len)
{
	if (frame->function)
		return frame->function;
	if (frame->module)
		snprintf(buf, len, "%s+0x%llx", frame->module,
			 (unsigned long long)frame->module_offset);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)frame->address);
	return buf;
}
