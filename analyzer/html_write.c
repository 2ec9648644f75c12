/* html_write.c: the small writers memprof html's sections share: escaping, figures, stacks. */
#include <inttypes.h>
#include <stdio.h>

#include "html_page.h"
#include "report_memory.h"

void mp_html_escape(FILE *out, const char *text)
{
	for (; text && *text; text++) {
		switch (*text) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*text, out);
		}
	}
}

void mp_html_bytes(FILE *out, uint64_t bytes)
{
	char human[32];
	fprintf(out, "<span title=\"%" PRIu64 " bytes\">%s</span>", bytes,
		mp_memory_bytes(human, sizeof(human), bytes));
}

void mp_html_bytes_change(FILE *out, uint64_t from, uint64_t to)
{
	char human[32];
	uint64_t change = to > from ? to - from : from - to;
	const char *sign = to > from ? "+" : to < from ? "-" : "";
	fprintf(out, "<span class=\"%s\" title=\"%s%" PRIu64 " bytes\">%s%s</span>",
		to > from ? "grow" : to < from ? "shrink" : "", sign, change, sign,
		mp_memory_bytes(human, sizeof(human), change));
}

void mp_html_count(FILE *out, uint64_t count)
{
	static const char *const units[] = { "k", "M", "G", "T" };
	if (count < 10000) {
		fprintf(out, "%" PRIu64, count);
		return;
	}
	double scaled = (double)count / 1000.0;
	int unit = 0;
	while (scaled >= 1000.0 && unit < 3) {
		scaled /= 1000.0;
		unit++;
	}
	fprintf(out, "<span title=\"%" PRIu64 "\">%.1f %s</span>", count, scaled, units[unit]);
}

void mp_html_stack(FILE *out, struct mp_analysis *analysis, uint32_t stack_id)
{
	/* Static: 56 KiB is too much for the stack, and printing is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	char buf[128];
	fputs("<ol class=\"stack\">", out);
	if (count == 0)
		fputs("<li>[no stack recorded]</li>", out);
	for (int i = 0; i < count; i++) {
		const struct mp_frame *f = &frames[i];
		fputs("<li>", out);
		mp_html_escape(out, mp_frame_label(f, buf, sizeof(buf)));
		fputs(" <span class=\"loc\">", out);
		if (f->file) {
			fputs("at ", out);
			mp_html_escape(out, f->file);
			fprintf(out, ":%" PRIu32 " ", f->line);
		}
		if (f->module && f->function) {
			fputs("in ", out);
			mp_html_escape(out, f->module);
		}
		fprintf(out, "%s</span></li>", f->inlined ? " (inlined)" : "");
	}
	fputs("</ol>", out);
}
