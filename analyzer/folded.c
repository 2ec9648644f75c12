/* folded.c: stacks in the folded format of flamegraph.pl, inferno and speedscope.
 *
 *   main;parse_config;xstrdup 4096
 *
 * Outermost frame first, ';' between frames, one space, an integer. Brendan Gregg's
 * flamegraph.pl splits on the last space and on every ';', so a ';' inside a name (C++
 * templates, operator;) becomes ':' and a newline becomes a space. Names stay whole
 * (template arguments included): the viewers have room, and search, for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Writes a frame's name, runs of plain characters at a time: a putc per character, each
 * taking the stream's lock, was 5% of memprof flamegraph's CPU (python3's 6033 stacks,
 * 3.6 MB of output). */
static int folded_name(FILE *out, const struct mp_frame *frame)
{
	char buf[128];
	const char *name = mp_frame_label(frame, buf, sizeof(buf));

	for (;;) {
		size_t plain = strcspn(name, ";\n\r");
		if (plain && fwrite(name, 1, plain, out) != plain)
			return -EIO;
		name += plain;
		if (!*name)
			return 0;
		if (putc(*name == ';' ? ':' : ' ', out) == EOF)
			return -EIO;
		name++;
	}
}

int mp_folded_line(FILE *out, const struct mp_frame *frames, int count, uint64_t value)
{
	if (count == 0 && fputs("[no stack]", out) == EOF)
		return -EIO;
	for (int i = count - 1; i >= 0; i--) {
		if (folded_name(out, &frames[i]))
			return -EIO;
		if (i > 0 && putc(';', out) == EOF)
			return -EIO;
	}
	return fprintf(out, " %llu\n", (unsigned long long)value) < 0 ? -EIO : 0;
}

int mp_folded_write(FILE *out, struct mp_analysis *analysis, const struct mp_report_options *opts)
{
	enum mp_stack_metric metric = opts->metric;
	struct mp_stack_stats *stacks = &analysis->model.stacks;
	uint32_t count = mp_stack_stats_count(stacks);
	struct mp_frame *frames = malloc(MP_ANALYSIS_MAX_FRAMES * sizeof(*frames));
	uint32_t *ids = malloc((count ? count : 1) * sizeof(*ids));
	size_t ranked;
	int err = 0;

	if (!frames || !ids) {
		err = -ENOMEM;
		goto out;
	}
	ranked = mp_stack_stats_top(stacks, metric, ids, count);
	if (opts->top && opts->top < ranked)
		ranked = opts->top;
	for (size_t i = 0; i < ranked && !err; i++) {
		int depth = mp_analysis_frames(analysis, ids[i], frames, MP_ANALYSIS_MAX_FRAMES);
		uint64_t value = mp_stack_stats_value(&stacks->aggs[ids[i]], metric);
		err = mp_folded_line(out, frames, depth, value);
	}
out:
	free(frames);
	free(ids);
	return err;
}
