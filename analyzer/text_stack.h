/* text_stack.h: a call stack as the text reports print it, the same in every command. */
#ifndef MEMPROF_TEXT_STACK_H
#define MEMPROF_TEXT_STACK_H

#include <stdint.h>
#include <stdio.h>

#include "analyze.h"

/* Prints call stack `stack_id`, one frame per line, innermost first, each line starting
 * with `indent`: "function at file:line in module", then " (inlined)" for a call inlined
 * into the next frame. Every frame the analysis shows is printed (mp_analysis_frames:
 * all of them with --full-stacks). C++ names are shortened (short_names.h) unless
 * long_names. "[no stack recorded]" for stack 0. */
void mp_text_stack_print(FILE *out, struct mp_analysis *analysis, uint32_t stack_id,
			 const char *indent, int long_names);

#endif
