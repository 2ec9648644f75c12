/* report_diff.c: `memprof diff` as text, JSON and differential folded stacks. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"
#include "report_diff.h"
#include "report_memory.h"
#include "text_format.h"

/* "+2048 bytes (+2.0 KiB)", "-16 bytes", "0 bytes". */
static const char *diff_signed_bytes(char *buf, size_t len, uint64_t from, uint64_t to)
{
	uint64_t change = to > from ? to - from : from - to;
	const char *sign = to > from ? "+" : to < from ? "-" : "";
	char human[32];
	if (change < 1024)
		snprintf(buf, len, "%s%" PRIu64 " %s", sign, change, mp_plural(change, "byte", "bytes"));
	else
		snprintf(buf, len, "%s%" PRIu64 " bytes (%s%s)", sign, change, sign,
			 mp_memory_bytes(human, sizeof(human), change));
	return buf;
}

static const char *diff_signed(char *buf, size_t len, uint64_t from, uint64_t to)
{
	snprintf(buf, len, "%s%" PRIu64, to > from ? "+" : to < from ? "-" : "",
		 to > from ? to - from : from - to);
	return buf;
}

/* The counted noun of the metric, agreeing with `count` (the number just before it). */
static const char *diff_block_word(enum mp_diff_metric metric, uint64_t count)
{
	if (metric == MP_DIFF_CALLS)
		return mp_plural(count, "call", "calls");
	if (metric == MP_DIFF_ALLOCATED)
		return mp_plural(count, "allocation", "allocations");
	return mp_plural(count, "block", "blocks");
}

/* "+2048 bytes (+2.0 KiB), +2 blocks: 1024 -> 3072 bytes, 1 -> 3 blocks" */
static void diff_change_line(FILE *out, enum mp_diff_metric metric, uint64_t base_bytes,
			     uint64_t new_bytes, uint64_t base_blocks, uint64_t new_blocks)
{
	char bytes[64], blocks[32];
	uint64_t change = new_blocks > base_blocks ? new_blocks - base_blocks
						   : base_blocks - new_blocks;
	const char *change_word = diff_block_word(metric, change);
	const char *word = diff_block_word(metric, new_blocks);
	if (metric == MP_DIFF_CALLS)
		fprintf(out, "%s %s, %s: %" PRIu64 " -> %" PRIu64 " %s, %" PRIu64 " -> %" PRIu64
			" %s\n", diff_signed(blocks, sizeof(blocks), base_blocks, new_blocks),
			change_word, diff_signed_bytes(bytes, sizeof(bytes), base_bytes, new_bytes),
			base_blocks, new_blocks, word, base_bytes, new_bytes,
			mp_plural(new_bytes, "byte", "bytes"));
	else
		fprintf(out, "%s, %s %s: %" PRIu64 " -> %" PRIu64 " %s, %" PRIu64 " -> %" PRIu64
			" %s\n", diff_signed_bytes(bytes, sizeof(bytes), base_bytes, new_bytes),
			diff_signed(blocks, sizeof(blocks), base_blocks, new_blocks), change_word,
			base_bytes, new_bytes, mp_plural(new_bytes, "byte", "bytes"), base_blocks, new_blocks,
			word);
}

static void diff_text_stack(FILE *out, struct mp_analysis *analysis, uint32_t stack_id)
{
	/* Static: 56 KiB is too much for the stack, and printing is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	char buf[128];
	if (count == 0)
		fprintf(out, "    [no stack recorded]\n");
	for (int i = 0; i < count; i++) {
		const struct mp_frame *f = &frames[i];
		fprintf(out, "    %s", mp_frame_label(f, buf, sizeof(buf)));
		if (f->file)
			fprintf(out, " at %s:%" PRIu32, f->file, f->line);
		if (f->module && f->function)
			fprintf(out, " in %s", f->module);
		fprintf(out, "%s\n", f->inlined ? " (inlined)" : "");
	}
}

static const char *diff_metric_words(enum mp_diff_metric metric)
{
	switch (metric) {
	case MP_DIFF_LEAKED:
		return "leaked (definitely, indirectly, possibly lost)";
	case MP_DIFF_ALLOCATED:
		return "allocated";
	case MP_DIFF_PEAK:
		return "live at the heap peak";
	default:
		return "calls";
	}
}

/* The side whose analysis names a matched stack's frames (the new one if it has it). */
static struct mp_analysis *diff_stack_side(struct mp_diff *diff, const struct mp_diff_stack *stack,
					   uint32_t *stack_id)
{
	*stack_id = stack->new_stack ? stack->new_stack : stack->base_stack;
	return stack->new_stack || !stack->base_stack ? &diff->next.analysis : &diff->base.analysis;
}

static int diff_unchanged(const struct mp_diff_stack *stack)
{
	return stack->base_bytes == stack->new_bytes && stack->base_blocks == stack->new_blocks;
}

void mp_diff_text(FILE *out, struct mp_diff *diff, const char *base_path, const char *new_path)
{
	size_t grew = 0, shrank = 0, unchanged = 0;
	for (size_t i = 0; i < diff->count; i++) {
		const struct mp_diff_stack *stack = &diff->stacks[i];
		uint64_t from = diff->metric == MP_DIFF_CALLS ? stack->base_blocks : stack->base_bytes;
		uint64_t to = diff->metric == MP_DIFF_CALLS ? stack->new_blocks : stack->new_bytes;
		grew += to > from;
		shrank += to < from;
		unchanged += diff_unchanged(stack);
	}
	fprintf(out, "memprof diff, %s: '%s' -> '%s'\n", diff_metric_words(diff->metric), base_path,
		new_path);
	fprintf(out, "Total:  ");
	diff_change_line(out, diff->metric, diff->base_bytes, diff->new_bytes, diff->base_blocks,
			 diff->new_blocks);
	fprintf(out, "Stacks: %zu grew, %zu shrank, %zu unchanged (matched by function, file and "
		"line)\n", grew, shrank, unchanged);
	for (size_t i = 0; i < diff->count; i++) {
		const struct mp_diff_stack *stack = &diff->stacks[i];
		if (diff_unchanged(stack))
			continue;
		uint32_t stack_id;
		struct mp_analysis *analysis = diff_stack_side(diff, stack, &stack_id);
		fputc('\n', out);
		diff_change_line(out, diff->metric, stack->base_bytes, stack->new_bytes,
				 stack->base_blocks, stack->new_blocks);
		diff_text_stack(out, analysis, stack_id);
	}
}

static json_t *diff_json_u64(uint64_t value)
{
	return json_integer(value > INT64_MAX ? INT64_MAX : (json_int_t)value);
}

static json_t *diff_json_i64(uint64_t from, uint64_t to)
{
	uint64_t change = to > from ? to - from : from - to;
	json_int_t magnitude = change > INT64_MAX ? INT64_MAX : (json_int_t)change;
	return json_integer(to >= from ? magnitude : -magnitude);
}

/* base_bytes, new_bytes, delta_bytes, base_blocks, new_blocks, delta_blocks. */
static json_t *diff_json_figures(uint64_t base_bytes, uint64_t new_bytes, uint64_t base_blocks,
				 uint64_t new_blocks)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	json_object_set_new(object, "base_bytes", diff_json_u64(base_bytes));
	json_object_set_new(object, "new_bytes", diff_json_u64(new_bytes));
	json_object_set_new(object, "delta_bytes", diff_json_i64(base_bytes, new_bytes));
	json_object_set_new(object, "base_blocks", diff_json_u64(base_blocks));
	json_object_set_new(object, "new_blocks", diff_json_u64(new_blocks));
	json_object_set_new(object, "delta_blocks", diff_json_i64(base_blocks, new_blocks));
	return object;
}

static json_t *diff_json_side(struct mp_analysis *analysis)
{
	json_t *object = json_object();
	if (!object)
		return NULL;
	const char *exe = mp_trace_exe(analysis->trace);
	json_object_set_new(object, "trace", json_string(analysis->path));
	json_object_set_new(object, "exe", exe ? json_string(exe) : json_null());
	json_object_set_new(object, "pid", json_integer(mp_trace_header(analysis->trace)->pid));
	json_object_set_new(object, "complete", json_boolean(analysis->complete));
	json_object_set_new(object, "sampling", mp_sampling_json(analysis));
	return object;
}

json_t *mp_diff_json(struct mp_diff *diff)
{
	json_t *object = json_object(), *stacks = json_array();
	if (!object || !stacks) {
		json_decref(object);
		json_decref(stacks);
		return NULL;
	}
	for (size_t i = 0; i < diff->count; i++) {
		const struct mp_diff_stack *stack = &diff->stacks[i];
		uint32_t stack_id;
		struct mp_analysis *analysis = diff_stack_side(diff, stack, &stack_id);
		json_t *entry = diff_json_figures(stack->base_bytes, stack->new_bytes,
						  stack->base_blocks, stack->new_blocks);
		if (!entry)
			break;
		json_object_set_new(entry, "stack", mp_stack_json(analysis, stack_id));
		json_array_append_new(stacks, entry);
	}
	json_object_set_new(object, "metric", json_string(mp_diff_metric_name(diff->metric)));
	json_object_set_new(object, "base", diff_json_side(&diff->base.analysis));
	json_object_set_new(object, "new", diff_json_side(&diff->next.analysis));
	json_object_set_new(object, "totals", diff_json_figures(diff->base_bytes, diff->new_bytes,
								diff->base_blocks, diff->new_blocks));
	json_object_set_new(object, "stacks", stacks);
	return object;
}

/* One folded line with two counts: mp_folded_line's, with the new count after its own. */
static int diff_folded_line(FILE *out, const struct mp_frame *frames, int count, uint64_t base,
			    uint64_t next)
{
	char *line = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&line, &len);
	if (!mem)
		return -ENOMEM;
	int rc = mp_folded_line(mem, frames, count, base);
	if (fclose(mem) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0 && len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (rc == 0 && fprintf(out, "%s %" PRIu64 "\n", line, next) < 0)
		rc = -EIO;
	free(line);
	return rc;
}

int mp_diff_folded(FILE *out, struct mp_diff *diff)
{
	/* Static: 56 KiB is too much for the stack, and printing is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int calls = diff->metric == MP_DIFF_CALLS;
	for (size_t i = 0; i < diff->count; i++) {
		const struct mp_diff_stack *stack = &diff->stacks[i];
		uint32_t stack_id;
		struct mp_analysis *analysis = diff_stack_side(diff, stack, &stack_id);
		int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
		int rc = diff_folded_line(out, frames, count,
					  calls ? stack->base_blocks : stack->base_bytes,
					  calls ? stack->new_blocks : stack->new_bytes);
		if (rc)
			return rc;
	}
	return 0;
}
