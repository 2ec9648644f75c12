/* pprof.c: a replayed trace into the samples, locations, functions and mappings of a pprof
 * profile (pprof.h). The figures are the heap model's and the memory join's, as the
 * reports print them; this file only regroups them the way profile.proto wants. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"

static const char *const pprof_names[MP_PPROF_TYPES] = {
	"alloc_objects", "alloc_space", "resident_space", "committed_space",
	"inuse_objects", "inuse_space",
};
static const char *const pprof_units[MP_PPROF_TYPES] = {
	"count", "bytes", "bytes", "bytes", "count", "bytes",
};

const char *mp_pprof_type_name(enum mp_pprof_type type)
{
	return type < MP_PPROF_TYPES ? pprof_names[type] : "";
}

const char *mp_pprof_type_unit(enum mp_pprof_type type)
{
	return type < MP_PPROF_TYPES ? pprof_units[type] : "";
}

/* What the profile is built from. */
/* The mapping ids of the modules met last, by their record's address: each frame of each
 * stack needs its module's, which interning the path and the build-id (20 bytes printed
 * as hex) made cost 2 us: 6 of the 6.7 s a profile of cc1plus's 134849 stacks took. */
#define MAPPING_CACHE_SLOTS 64u

struct mapping_cache_slot {
	const struct mp_module *module;
	int64_t id;
};

struct pprof_build {
	struct mp_pprof *profile;
	struct mp_analysis *analysis;
	const struct mp_pprof_options *options;
	uint64_t (*memory)[2];     /* per stack id: resident, committed; NULL without snapshot */
	size_t memory_count;
	struct mp_frame *frames;   /* MP_ANALYSIS_MAX_FRAMES */
	uint64_t start_ns, end_ns; /* what the profile covers, on the trace's clock */
	struct mapping_cache_slot mappings[MAPPING_CACHE_SLOTS];
};

/* Makes room for `need` items of `size` bytes in *items. 0 or -ENOMEM. */
static int pprof_reserve(void **items, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t grown = *cap ? *cap * 2 : 64;
	while (grown < need)
		grown *= 2;
	void *bigger = realloc(*items, grown * size);
	if (!bigger)
		return -ENOMEM;
	*items = bigger;
	*cap = grown;
	return 0;
}

static int64_t pprof_clamp(uint64_t value)
{
	return value > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)value;
}

/* ---- mappings: one per loaded object, whatever the generations that map it ---- */

struct mapping_probe {
	const struct mp_pprof *profile;
	struct mp_pprof_mapping key;
};

static int mapping_same(const void *context, uint32_t item)
{
	const struct mapping_probe *probe = context;
	const struct mp_pprof_mapping *entry = &probe->profile->mappings[item];
	return entry->start == probe->key.start && entry->limit == probe->key.limit &&
	       entry->filename == probe->key.filename && entry->build_id == probe->key.build_id;
}

static int64_t pprof_build_id(struct mp_pprof *profile, const struct mp_module *module)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * 64 + 1];
	size_t len = module->build_id_len < 64 ? module->build_id_len : 64;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[module->build_id[i] >> 4];
		hex[2 * i + 1] = digits[module->build_id[i] & 15];
	}
	hex[2 * len] = '\0';
	return mp_pprof_string(&profile->strings, hex);
}

/* The id of the mapping of `module`, added if new; or -ENOMEM. The file offset is 0: a
 * module starts at its first PT_LOAD segment, which begins the file in every object
 * linkers make. */
static int64_t pprof_mapping(struct mp_pprof *profile, const struct mp_module *module)
{
	int64_t filename = mp_pprof_string(&profile->strings, module->path);
	int64_t build_id = pprof_build_id(profile, module);
	if (filename < 0 || build_id < 0)
		return -ENOMEM;
	struct mapping_probe probe = { profile, { module->start, module->end, 0, filename,
						  build_id } };
	uint64_t hash = mp_pprof_hash_u64(mp_pprof_hash_u64(MP_PPROF_HASH_SEED, module->start),
					  module->end ^ ((uint64_t)filename << 32) ^ (uint64_t)build_id);
	int64_t found = mp_pprof_index_find(&profile->mapping_index, hash, mapping_same, &probe);
	if (found >= 0)
		return found + 1;
	if (pprof_reserve((void **)&profile->mappings, &profile->mapping_cap,
			  profile->mapping_count + 1, sizeof(*profile->mappings)) ||
	    mp_pprof_index_add(&profile->mapping_index, hash, (uint32_t)profile->mapping_count))
		return -ENOMEM;
	profile->mappings[profile->mapping_count++] = probe.key;
	return (int64_t)profile->mapping_count;
}

/* profile.proto: "mapping[0] will be the main binary". Registers the executable's module
 * first when a module map of the trace has it. 0 or -ENOMEM. */
static int pprof_main_mapping(struct pprof_build *build)
{
	struct mp_trace *trace = build->analysis->trace;
	const char *exe = mp_trace_exe(trace);
	uint32_t stacks = mp_trace_stack_count(trace);
	for (uint32_t id = 1; exe && *exe && id <= stacks; id++) {
		uint32_t generation = 0;
		size_t count = 0;
		mp_trace_stack(trace, id, NULL, &generation);
		const struct mp_module *modules = mp_trace_modules(trace, generation, &count);
		for (size_t i = 0; i < count; i++)
			if (strcmp(modules[i].path, exe) == 0)
				return pprof_mapping(build->profile, &modules[i]) < 0 ? -ENOMEM : 0;
	}
	return 0;
}

/* ---- functions: one per (name, file) ---- */

struct function_probe {
	const struct mp_pprof *profile;
	int64_t name, filename;
};

static int function_same(const void *context, uint32_t item)
{
	const struct function_probe *probe = context;
	const struct mp_pprof_function *entry = &probe->profile->functions[item];
	return entry->name == probe->name && entry->filename == probe->filename;
}

/* The id of the function of `frame`, added if new; or -ENOMEM. Frames without a symbol
 * are named as the reports name them (module+0xoffset). */
static int64_t pprof_function(struct mp_pprof *profile, const struct mp_frame *frame)
{
	char label[128];
	int64_t name = mp_pprof_string(&profile->strings, mp_frame_label(frame, label, sizeof(label)));
	int64_t filename = mp_pprof_string(&profile->strings, frame->file);
	if (name < 0 || filename < 0)
		return -ENOMEM;
	struct function_probe probe = { profile, name, filename };
	uint64_t hash = mp_pprof_hash_u64(mp_pprof_hash_u64(MP_PPROF_HASH_SEED, (uint64_t)name),
					  (uint64_t)filename);
	int64_t found = mp_pprof_index_find(&profile->function_index, hash, function_same, &probe);
	if (found >= 0)
		return found + 1;
	if (pprof_reserve((void **)&profile->functions, &profile->function_cap,
			  profile->function_count + 1, sizeof(*profile->functions)) ||
	    mp_pprof_index_add(&profile->function_index, hash, (uint32_t)profile->function_count))
		return -ENOMEM;
	/* The symbolizer gives demangled names only: the system name is the same. */
	profile->functions[profile->function_count++] = (struct mp_pprof_function){
		name, name, filename };
	return (int64_t)profile->function_count;
}

/* ---- locations: one per (mapping, return address) ---- */

struct location_probe {
	const struct mp_pprof *profile;
	uint64_t mapping_id, address;
};

static int location_same(const void *context, uint32_t item)
{
	const struct location_probe *probe = context;
	const struct mp_pprof_location *entry = &probe->profile->locations[item];
	return entry->mapping_id == probe->mapping_id && entry->address == probe->address;
}

/* Adds a new location with the lines of frames[0..count) (innermost first). */
static int64_t pprof_new_location(struct mp_pprof *profile, uint64_t hash,
				  const struct location_probe *probe,
				  const struct mp_frame *frames, int count)
{
	if (pprof_reserve((void **)&profile->locations, &profile->location_cap,
			  profile->location_count + 1, sizeof(*profile->locations)) ||
	    pprof_reserve((void **)&profile->lines, &profile->line_cap,
			  profile->line_count + (size_t)count, sizeof(*profile->lines)))
		return -ENOMEM;
	size_t first_line = profile->line_count;
	for (int i = 0; i < count; i++) {
		int64_t function = pprof_function(profile, &frames[i]);
		if (function < 0)
			return function;
		profile->lines[profile->line_count++] = (struct mp_pprof_line){
			(uint64_t)function, frames[i].line };
	}
	if (mp_pprof_index_add(&profile->location_index, hash, (uint32_t)profile->location_count))
		return -ENOMEM;
	profile->locations[profile->location_count++] = (struct mp_pprof_location){
		probe->mapping_id, probe->address, first_line, (size_t)count };
	return (int64_t)profile->location_count;
}

/* The id of the location of one return address, whose source frames are
 * frames[0..count), added if new; or -ENOMEM. */
/* pprof_mapping's answer for module, from the cache of the last ones met. */
static int64_t pprof_cached_mapping(struct pprof_build *build, const struct mp_module *module)
{
	struct mapping_cache_slot *slot =
		&build->mappings[(mp_pprof_hash_u64(MP_PPROF_HASH_SEED, (uint64_t)(uintptr_t)module)) %
				 MAPPING_CACHE_SLOTS];
	if (slot->module == module)
		return slot->id;
	int64_t id = pprof_mapping(build->profile, module);
	if (id >= 0)
		*slot = (struct mapping_cache_slot){ module, id };
	return id;
}

static int64_t pprof_location(struct pprof_build *build, uint32_t generation,
			      const struct mp_frame *frames, int count)
{
	struct mp_pprof *profile = build->profile;
	uint64_t ip = frames[0].address;
	const struct mp_module *module = ip ? mp_trace_module_at(build->analysis->trace,
								 generation, ip - 1) : NULL;
	int64_t mapping = module ? pprof_cached_mapping(build, module) : 0;
	if (mapping < 0)
		return mapping;
	struct location_probe probe = { profile, (uint64_t)mapping, ip ? ip - 1 : 0 };
	uint64_t hash = mp_pprof_hash_u64(mp_pprof_hash_u64(MP_PPROF_HASH_SEED, probe.mapping_id),
					  probe.address);
	int64_t found = mp_pprof_index_find(&profile->location_index, hash, location_same, &probe);
	if (found >= 0)
		return found + 1;
	return pprof_new_location(profile, hash, &probe, frames, count);
}

static int pprof_push_location(struct mp_pprof *profile, int64_t id)
{
	if (id < 0)
		return (int)id;
	if (pprof_reserve((void **)&profile->location_ids, &profile->location_id_cap,
			  profile->location_id_count + 1, sizeof(*profile->location_ids)))
		return -ENOMEM;
	profile->location_ids[profile->location_id_count++] = (uint64_t)id;
	return 0;
}

/* Appends the location ids of a stack, innermost first, to profile->location_ids. The
 * frames of one return address are a run of inlined frames ended by the frame they were
 * inlined into (analyze.h). The allocations without a stack get one location of their own,
 * named as the folded stacks name it. 0 or -ENOMEM. */
static int pprof_stack_locations(struct pprof_build *build, uint32_t stack_id)
{
	struct mp_frame *frames = build->frames;
	uint32_t generation = 0;
	mp_trace_stack(build->analysis->trace, stack_id, NULL, &generation);
	int depth = mp_analysis_frames(build->analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	if (depth == 0) {
		struct mp_frame none = { .function = "[no stack]" };
		return pprof_push_location(build->profile, pprof_location(build, 0, &none, 1));
	}
	for (int first = 0; first < depth;) {
		int end = first;
		while (end + 1 < depth && frames[end].inlined &&
		       frames[end + 1].address == frames[first].address)
			end++;
		int err = pprof_push_location(build->profile, pprof_location(build, generation,
									      frames + first,
									      end - first + 1));
		if (err)
			return err;
		first = end + 1;
	}
	return 0;
}

/* ---- samples ---- */

/* Fills values[] for a stack; returns 1 if any is nonzero, 0 if all are, -ENOMEM. With a
 * baseline, alloc_* are the growth past it, and it moves up to now. It never moves down:
 * a sampled trace's pending samples (analyze.c) count as allocated while they wait, and a
 * pending sample freed within the sampling window leaves the figures until the writer's
 * next count of such samples (SAMPLES_FREED, about once a second) adds it back; the high
 * mark keeps it counted once. */
static int pprof_values(struct pprof_build *build, uint32_t stack_id, int64_t *values)
{
	const struct mp_stack_stats *stats = &build->analysis->model.stacks;
	struct mp_stack_agg agg = { 0 };
	if (stack_id < mp_stack_stats_count(stats))
		agg = stats->aggs[stack_id];
	struct mp_pprof_allocated now = { agg.allocations, agg.allocated_bytes }, before = { 0, 0 };
	if (build->options->baseline) {
		uint32_t count = 0, generation = 0;
		const uint64_t *ips = mp_trace_stack(build->analysis->trace, stack_id, &count,
						     &generation);
		before = mp_pprof_baseline_get(build->options->baseline, generation, ips, count);
		struct mp_pprof_allocated high = {
			now.objects > before.objects ? now.objects : before.objects,
			now.bytes > before.bytes ? now.bytes : before.bytes,
		};
		if (mp_pprof_baseline_set(build->options->baseline, generation, ips, count, high))
			return -ENOMEM;
	}
	values[MP_PPROF_ALLOC_OBJECTS] = pprof_clamp(now.objects > before.objects
						     ? now.objects - before.objects : 0);
	values[MP_PPROF_ALLOC_SPACE] = pprof_clamp(now.bytes > before.bytes
						   ? now.bytes - before.bytes : 0);
	values[MP_PPROF_INUSE_OBJECTS] = pprof_clamp(agg.live_blocks);
	values[MP_PPROF_INUSE_SPACE] = pprof_clamp(agg.live_bytes);
	if (build->memory && stack_id < build->memory_count) {
		values[MP_PPROF_RESIDENT_SPACE] = pprof_clamp(build->memory[stack_id][0]);
		values[MP_PPROF_COMMITTED_SPACE] = pprof_clamp(build->memory[stack_id][1]);
	}
	for (int i = 0; i < MP_PPROF_TYPES; i++)
		if (values[i])
			return 1;
	return 0;
}

static int pprof_sample(struct pprof_build *build, uint32_t stack_id)
{
	struct mp_pprof *profile = build->profile;
	int64_t values[MP_PPROF_TYPES] = { 0 };
	int any = pprof_values(build, stack_id, values);
	if (any <= 0)
		return any;
	size_t first = profile->location_id_count;
	int err = pprof_stack_locations(build, stack_id);
	if (err || pprof_reserve((void **)&profile->samples, &profile->sample_cap,
				 profile->sample_count + 1, sizeof(*profile->samples)))
		return -ENOMEM;
	struct mp_pprof_sample *sample = &profile->samples[profile->sample_count++];
	sample->first_location = first;
	sample->location_count = profile->location_id_count - first;
	memcpy(sample->values, values, sizeof(values));
	return 0;
}

/* Resident and committed bytes per stack id, summed over the sources (malloc, mmap, brk)
 * of the memory join. 0 or -ENOMEM. */
static int pprof_memory(struct pprof_build *build, const struct mp_memory_result *result)
{
	size_t count = mp_stack_stats_count(&build->analysis->model.stacks);
	for (size_t i = 0; i < result->stack_count; i++)
		if (result->stacks[i].stack_id >= count)
			count = (size_t)result->stacks[i].stack_id + 1;
	build->memory = calloc(count ? count : 1, sizeof(*build->memory));
	if (!build->memory)
		return -ENOMEM;
	build->memory_count = count;
	for (size_t i = 0; i < result->stack_count; i++) {
		build->memory[result->stacks[i].stack_id][0] += result->stacks[i].resident;
		build->memory[result->stacks[i].stack_id][1] += result->stacks[i].committed;
	}
	return 0;
}

/* ---- what the profile covers, in its comments ---- */

static int pprof_comment(struct mp_pprof *profile, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int pprof_comment(struct mp_pprof *profile, const char *fmt, ...)
{
	char text[512];
	va_list args;
	va_start(args, fmt);
	vsnprintf(text, sizeof(text), fmt, args);
	va_end(args);
	if (profile->comment_count == MP_PPROF_MAX_COMMENTS)
		return 0;
	int64_t index = mp_pprof_string(&profile->strings, text);
	if (index < 0)
		return -ENOMEM;
	profile->comments[profile->comment_count++] = index;
	return 0;
}

static double pprof_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* The comments on where the figures come from. 0 or -ENOMEM. */
static int pprof_describe(struct pprof_build *build, const struct mp_memory_report *memory)
{
	struct mp_pprof *profile = build->profile;
	const struct mp_analysis *analysis = build->analysis;
	const struct mp_file_header *header = mp_trace_header(analysis->trace);
	const struct mp_heap_totals *totals = &analysis->model.totals;
	const char *exe = mp_trace_exe(analysis->trace);
	double since = pprof_seconds(build->start_ns - header->start_monotonic_ns);
	double until = pprof_seconds(build->end_ns - header->start_monotonic_ns);
	int err = pprof_comment(profile, "memprof: heap of %s (pid %u), trace '%s'",
				exe && *exe ? exe : "?", header->pid, analysis->path);
	if (!err && build->options->baseline)
		err = pprof_comment(profile, "alloc_*: allocations from %.3f s to %.3f s of the "
				    "run; inuse_*: heap blocks live at %.3f s", since, until, until);
	else if (!err)
		err = pprof_comment(profile, "alloc_*: every allocation of the run (%.3f s); "
				    "inuse_*: heap blocks not freed at its end", until);
	if (!err && totals->sample_bytes)
		err = pprof_comment(profile, "sampled: one allocation per %llu bytes on average; "
				    "every value is an estimate scaled from %llu samples",
				    (unsigned long long)totals->sample_bytes,
				    (unsigned long long)totals->samples);
	if (!err && build->memory) {
		const struct mp_snapshot *snapshot = mp_memory_snapshot(memory);
		err = pprof_comment(profile, "resident_space, committed_space: memory snapshot "
				    "%zu of %zu (%s) at %.3f s: per stack, live heap blocks, mmap'd "
				    "regions and brk growth", memory->selected + 1,
				    memory->snapshots.count, mp_memory_reason_name(snapshot->reason),
				    pprof_seconds(snapshot->time_ns - header->start_monotonic_ns));
	}
	if (!err && !analysis->complete)
		err = pprof_comment(profile, "incomplete trace (%s): figures up to its last "
				    "readable event", analysis->stop_reason);
	return err;
}

/* The profile's times and period, and the facts callers want (pprof.h). */
static void pprof_facts(struct pprof_build *build)
{
	struct mp_pprof *profile = build->profile;
	const struct mp_file_header *header = mp_trace_header(build->analysis->trace);
	uint64_t sample_bytes = build->analysis->model.totals.sample_bytes;
	const char *exe = mp_trace_exe(build->analysis->trace);
	const char *slash = exe ? strrchr(exe, '/') : NULL;
	profile->time_nanos = pprof_clamp(header->start_realtime_ns + build->start_ns -
					  header->start_monotonic_ns);
	profile->duration_nanos = pprof_clamp(build->end_ns - build->start_ns);
	profile->period = sample_bytes ? pprof_clamp(sample_bytes) : 1;
	snprintf(profile->program, sizeof(profile->program), "%s",
		 slash ? slash + 1 : exe ? exe : "");
	profile->pid = header->pid;
	profile->ended = header->end_state != MP_END_RUNNING;
	profile->end_monotonic_ns = build->end_ns;
}

/* What the profile covers: the whole trace, or the window from options. */
static void pprof_window(struct pprof_build *build)
{
	const struct mp_file_header *header = mp_trace_header(build->analysis->trace);
	const struct mp_pprof_options *options = build->options;
	build->start_ns = header->start_monotonic_ns;
	if (options->baseline && options->window_start_ns > build->start_ns)
		build->start_ns = options->window_start_ns;
	if (header->end_state != MP_END_RUNNING)
		build->end_ns = header->end_monotonic_ns;
	else if (options->baseline && options->window_end_ns)
		build->end_ns = options->window_end_ns;
	else
		build->end_ns = header->start_monotonic_ns + build->analysis->run_time_ns;
	if (build->end_ns < build->start_ns)
		build->end_ns = build->start_ns;
}

/* The sample types, their names and units and the period's type ("space", "bytes", as
 * Go's heap profiles have it) interned for the encoder. 0 or -ENOMEM. */
static int pprof_types(struct mp_pprof *profile, int with_memory)
{
	for (int type = 0; type < MP_PPROF_TYPES; type++) {
		if (!with_memory && (type == MP_PPROF_RESIDENT_SPACE ||
				     type == MP_PPROF_COMMITTED_SPACE))
			continue;
		profile->types[profile->type_count++] = (enum mp_pprof_type)type;
		if (mp_pprof_string(&profile->strings, pprof_names[type]) < 0 ||
		    mp_pprof_string(&profile->strings, pprof_units[type]) < 0)
			return -ENOMEM;
	}
	return mp_pprof_string(&profile->strings, "space") < 0 ? -ENOMEM : 0;
}

/* Every stack with a nonzero figure becomes a sample. 0 or -ENOMEM. */
static int pprof_build(struct pprof_build *build, const struct mp_memory_report *memory)
{
	int err = 0;
	pprof_window(build);
	if (memory && (!build->options->baseline ||
		       mp_memory_snapshot(memory)->time_ns >= build->start_ns))
		err = pprof_memory(build, &memory->result);
	if (!err)
		err = pprof_types(build->profile, build->memory != NULL);
	if (!err)
		err = pprof_main_mapping(build);
	size_t count = mp_stack_stats_count(&build->analysis->model.stacks);
	if (build->memory_count > count)
		count = build->memory_count;
	for (size_t id = 0; !err && id < count; id++)
		err = pprof_sample(build, (uint32_t)id);
	if (!err)
		err = pprof_describe(build, memory);
	pprof_facts(build);
	return err;
}

/* The trace replayed, with the snapshot asked for joined (report->snapshots.count > 0)
 * or, when it may be missing and the trace has none, without. */
static int pprof_read(const char *path, const struct mp_pprof_options *options,
		      struct mp_memory_report *report, char *err, size_t err_len)
{
	int rc = mp_memory_report_run(path, options->pick, options->index, report, err, err_len);
	if (rc == -ENOENT && !options->pick_required) {
		unsigned flags = MP_ANALYSIS_SYMBOLS;
		rc = mp_analysis_run(path, &report->analysis, flags, err, err_len);
	}
	if (rc == 0 && options->full_stacks)
		mp_analysis_show_full_stacks(&report->analysis);
	return rc;
}

int mp_pprof_from_trace(const char *path, const struct mp_pprof_options *options,
			struct mp_pprof *profile, char *err, size_t err_len)
{
	struct mp_memory_report report;
	memset(profile, 0, sizeof(*profile));
	int rc = pprof_read(path, options, &report, err, err_len);
	if (rc < 0)
		return rc;
	struct pprof_build build = { .profile = profile, .analysis = &report.analysis,
				     .options = options };
	build.frames = malloc(MP_ANALYSIS_MAX_FRAMES * sizeof(*build.frames));
	rc = build.frames ? pprof_build(&build, report.snapshots.count ? &report : NULL) : -ENOMEM;
	if (rc < 0) {
		snprintf(err, err_len, "%s", strerror(-rc));
		mp_pprof_free(profile);
	}
	free(build.frames);
	free(build.memory);
	mp_memory_report_destroy(&report);
	return rc;
}

void mp_pprof_free(struct mp_pprof *profile)
{
	mp_pprof_strings_free(&profile->strings);
	free(profile->samples);
	free(profile->location_ids);
	free(profile->locations);
	free(profile->lines);
	free(profile->functions);
	free(profile->mappings);
	mp_pprof_index_free(&profile->location_index);
	mp_pprof_index_free(&profile->function_index);
	mp_pprof_index_free(&profile->mapping_index);
	memset(profile, 0, sizeof(*profile));
}

void mp_pprof_unix_span(const struct mp_pprof *profile, uint64_t *from, uint64_t *until)
{
	uint64_t start = (uint64_t)profile->time_nanos;
	uint64_t end = start + (uint64_t)profile->duration_nanos;
	*from = start / 1000000000u;
	*until = (end + 999999999u) / 1000000000u;
}
