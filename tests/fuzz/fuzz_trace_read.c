/* fuzz_trace_read.c: libFuzzer entry point decoding arbitrary bytes as a trace.
 *
 * Opens the input in memory, walks every event twice (the second time after a rewind),
 * resolves each event's stack and every frame's module, reads the sampled set, and
 * checks the reader's own invariants: an error comes with a message, canonical stack ids
 * are in range, the merge delivers exactly the events counted at open, and the live
 * hint counts no more blocks than there are events.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leak_kinds.h"
#include "trace_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int condition)
{
	if (!condition)
		abort();
}

static uint64_t fuzz_walk_stack(const struct mp_trace *trace, uint32_t id)
{
	uint32_t count, generation;
	const uint64_t *frames = mp_trace_stack(trace, id, &count, &generation);
	uint64_t sum = 0;
	fuzz_check(frames != NULL && count <= MP_MAX_FRAMES_LIMIT);
	for (uint32_t i = 0; i < count; i++) {
		const struct mp_module *module = mp_trace_module_at(trace, generation, frames[i]);
		if (module) {
			fuzz_check(module->start <= frames[i] && frames[i] < module->end);
			sum += strlen(module->path) + module->build_id_len;
		}
	}
	return sum;
}

static uint64_t fuzz_events(struct mp_trace *trace)
{
	struct mp_event event;
	char err[256];
	uint64_t events = 0;
	int rc;
	while ((rc = mp_trace_next(trace, &event, err, sizeof(err))) == 1) {
		fuzz_check(event.stack_id <= mp_trace_stack_count(trace));
		fuzz_check(event.tag >= MP_REC_MALLOC && event.tag <= MP_REC_BRK);
		if (event.stack_id)
			fuzz_walk_stack(trace, event.stack_id);
		events++;
	}
	fuzz_check(rc == 0 || (rc < 0 && err[0] != '\0'));
	return events;
}

/* The events again, in batches (mp_trace_next_batch): the same ones as fuzz_events read
 * one at a time, compared by their order keys and fields the merge sets. */
static uint64_t fuzz_batched_events(struct mp_trace *trace, const uint64_t *times,
				    uint64_t known)
{
	struct mp_event batch[7];
	uint64_t events = 0;
	size_t count;
	while ((count = mp_trace_next_batch(trace, batch, 7)) > 0) {
		for (size_t i = 0; i < count; i++, events++) {
			fuzz_check(batch[i].tag >= MP_REC_MALLOC && batch[i].tag <= MP_REC_BRK);
			fuzz_check(batch[i].stack_id <= mp_trace_stack_count(trace));
			fuzz_check(events >= known || times[events] == batch[i].time_ns);
		}
	}
	return events;
}

/* Reads every entry of the sampled set as the analysis does (copied whole: the entries
 * may be unaligned in an input), and resolves its stack. */
static void fuzz_sampled_set(const struct mp_trace *trace)
{
	size_t count;
	const struct mp_sampled_set_entry *set = mp_trace_sampled_set(trace, &count);
	fuzz_check(count == 0 || set != NULL);
	for (size_t i = 0; i < count; i++) {
		struct mp_sampled_set_entry entry;
		memcpy(&entry, &set[i], sizeof(entry));
		uint32_t stack = mp_trace_stack_canonical(trace, entry.stack);
		fuzz_check(stack <= mp_trace_stack_count(trace));
	}
}

/* The leak checks as `memprof leaks` reads them: the default one, and each by number. */
static void fuzz_leak_checks(const struct mp_trace *trace)
{
	struct mp_leak_kinds kinds;
	size_t checks = 0;
	if (mp_leak_kinds_load(&kinds, trace, 0) == 0) {
		checks = kinds.checks;
		fuzz_check(kinds.index <= checks);
		for (size_t i = 1; i < kinds.count; i++)
			fuzz_check(kinds.addrs[i - 1] <= kinds.addrs[i]);
	}
	mp_leak_kinds_free(&kinds);
	for (size_t index = 1; index <= checks && index <= 8; index++) {
		fuzz_check(mp_leak_kinds_load(&kinds, trace, index) != -ERANGE);
		mp_leak_kinds_free(&kinds);
	}
	fuzz_check(mp_leak_kinds_load(&kinds, trace, checks + 1) != 0 || checks == 0);
	mp_leak_kinds_free(&kinds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_trace *trace = NULL;
	char err[256] = "";
	if (mp_trace_open_memory(data, size, &trace, err, sizeof(err)) < 0) {
		fuzz_check(err[0] != '\0' && trace == NULL);
		return 0;
	}
	size_t cmdline_len;
	const char *cmdline = mp_trace_cmdline(trace, &cmdline_len);
	fuzz_check(strlen(mp_trace_exe(trace)) <= mp_trace_header(trace)->header_size);
	fuzz_check(cmdline[cmdline_len] == '\0');
	for (uint32_t id = 1; id <= mp_trace_stack_count(trace); id++)
		fuzz_walk_stack(trace, id);
	struct mp_trace_stats stats;
	mp_trace_stats(trace, &stats);
	fuzz_check(fuzz_events(trace) == stats.events);
	/* Allocations beyond frees, at most one per event the merge delivers. */
	fuzz_check(mp_trace_live_hint(trace) <= stats.events);
	mp_trace_rewind(trace);
	fuzz_check(fuzz_events(trace) == stats.events);
	/* The first events' times, for the batched read to match. */
	uint64_t times[64];
	uint64_t known = 0;
	struct mp_event event;
	mp_trace_rewind(trace);
	while (known < 64 && mp_trace_next(trace, &event, err, sizeof(err)) == 1)
		times[known++] = event.time_ns;
	mp_trace_rewind(trace);
	fuzz_check(fuzz_batched_events(trace, times, known) == stats.events);
	size_t count;
	mp_trace_modules(trace, UINT32_MAX, &count);
	fuzz_sampled_set(trace);
	fuzz_leak_checks(trace);
	mp_trace_close(trace);
	return 0;
}
