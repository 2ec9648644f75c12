/* text_stack.c: printing a call stack in text, frame by frame. */
#include <inttypes.h>

#include "short_names.h"
#include "text_stack.h"

void mp_text_stack_print(FILE *out, struct mp_analysis *analysis, uint32_t stack_id,
			 const char *indent, int long_names)
{
	/* Static: 56 KiB is too much for the stack, and printing is single-threaded. */
	static struct mp_frame frames[MP_ANALYSIS_MAX_FRAMES];
	int count = mp_analysis_frames(analysis, stack_id, frames, MP_ANALYSIS_MAX_FRAMES);
	char buf[128], short_name[1024];

	if (count == 0)
		fprintf(out, "%s[no stack recorded]\n", indent);
	for (int i = 0; i < count; i++) {
		const struct mp_frame *f = &frames[i];
		const char *label = mp_frame_label(f, buf, sizeof(buf));
		if (!long_names && f->function)
			label = mp_short_name(label, short_name, sizeof(short_name));
		fprintf(out, "%s%s", indent, label);
		if (f->file)
			fprintf(out, " at %s:%" PRIu32, f->file, f->line);
		if (f->module && f->function)
			fprintf(out, " in %s", f->module);
		fprintf(out, "%s\n", f->inlined ? " (inlined)" : "");
	}
}
