/* analyze.c: replaying a trace file into the heap model and naming its stacks. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "analyze.h"

static int analysis_replay(struct mp_analysis *analysis)
{
	struct mp_event event;
	int ret;

	while ((ret = mp_trace_next(analysis->trace, &event, analysis->stop_reason,
				    sizeof(analysis->stop_reason))) == 1) {
		int err = mp_heap_model_feed(&analysis->model, &event);
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

/* The warming thread: loads the debug information of just the modules holding a frame of
 * some stack. A module with none is never loaded: libmemprof.so (the recorder drops its
 * own frames), the libunwind and liblzma it brings. Those two have no debug files here,
 * and looking for one makes libdw dlopen its debuginfod client and some thirty libraries
 * behind it, so skipping them saves more than their DWARF. Touches only the trace
 * (read-only after open) and the symbolizer, which nothing else uses until the thread is
 * joined. */
static void *analysis_warm(void *arg)
{
	struct mp_analysis *analysis = arg;
	uint32_t stack_count = mp_trace_stack_count(analysis->trace);

	for (uint32_t id = 1; id <= stack_count; id++) {
		uint32_t count = 0, generation = 0;
		const uint64_t *ips = mp_trace_stack(analysis->trace, id, &count, &generation);
		for (uint32_t i = 0; i < count; i++)
			mp_symbolizer_warm(analysis->symbolizer, generation, ips[i]);
	}
	return NULL;
}

/* Makes the symbolizer and, on a second thread, loads the modules' debug information
 * while the events are replayed: on a 2-core machine that overlaps most of what
 * symbolizing costs (libdw inflating compressed DWARF) with the replay. */
static void analysis_start_symbolizer(struct mp_analysis *analysis)
{
	analysis->symbolizer = mp_symbolizer_new(analysis->trace);
	analysis->symbolizer_tried = 1;
	if (analysis->symbolizer &&
	    pthread_create(&analysis->warmer, NULL, analysis_warm, analysis) == 0)
		analysis->warming = 1;
}

/* The symbolizer, once the warming thread is done with it. */
static struct mp_symbolizer *analysis_symbolizer(struct mp_analysis *analysis)
{
	if (analysis->warming) {
		pthread_join(analysis->warmer, NULL);
		analysis->warming = 0;
	}
	return analysis->symbolizer;
}

int mp_analysis_run(const char *path, struct mp_analysis *analysis, unsigned flags, char *err,
		    size_t err_len)
{
	const struct mp_file_header *header;
	int ret;

	memset(analysis, 0, sizeof(*analysis));
	analysis->path = path;
	analysis->complete = 1;
	ret = mp_trace_open(path, &analysis->trace, err, err_len);
	if (ret < 0) {
		analysis->trace = NULL;
		return ret;
	}
	header = mp_trace_header(analysis->trace);
	if (flags & MP_ANALYSIS_SYMBOLS)
		analysis_start_symbolizer(analysis);
	ret = mp_heap_model_init(&analysis->model, mp_trace_stack_count(analysis->trace),
				 header->page_size);
	if (!ret) {
		mp_heap_model_set_sampling(&analysis->model, header->sample_bytes);
		ret = analysis_replay(analysis);
	}
	if (ret) {
		snprintf(err, err_len, "%s", strerror(-ret));
		mp_analysis_destroy(analysis);
		return ret;
	}
	mp_heap_model_finish(&analysis->model);
	mp_trace_stats(analysis->trace, &analysis->stats);
	if (analysis->complete && (analysis->stats.corrupt_chunks || analysis->stats.truncated)) {
		analysis->complete = 0;
		snprintf(analysis->stop_reason, sizeof(analysis->stop_reason),
			 "%s%" PRIu32 " corrupt chunk(s) skipped",
			 analysis->stats.truncated ? "file cut short, " : "",
			 analysis->stats.corrupt_chunks);
	}
	analysis_times(analysis);
	return 0;
}

void mp_analysis_destroy(struct mp_analysis *analysis)
{
	if (analysis_symbolizer(analysis))
		mp_symbolizer_free(analysis->symbolizer);
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

int mp_analysis_frames(struct mp_analysis *analysis, uint32_t stack_id, struct mp_frame *frames,
		       int max)
{
	uint32_t count = 0, generation = 0;
	const uint64_t *ips;
	int written = 0;

	if (stack_id == 0 || stack_id > mp_trace_stack_count(analysis->trace))
		return 0;
	ips = mp_trace_stack(analysis->trace, stack_id, &count, &generation);
	if (!analysis->symbolizer_tried) {
		analysis->symbolizer = mp_symbolizer_new(analysis->trace);
		analysis->symbolizer_tried = 1;
	}
	struct mp_symbolizer *symbolizer = analysis_symbolizer(analysis);
	for (uint32_t i = 0; ips && i < count && written < max; i++) {
		int got = 0;
		if (symbolizer)
			got = mp_symbolize(symbolizer, generation, ips[i], frames + written,
					   max - written);
		if (got <= 0) {
			analysis_raw_frame(analysis, generation, ips[i], &frames[written]);
			got = 1;
		}
		written += got;
	}
	return written;
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
