/* html_page.h: memprof html's page: one self-contained HTML file (no network, no CDN).
 *
 * html_page.c writes the document: its style and script (analyzer/html/, embedded at
 * build time by html_assets.c), the pre-aggregated data the script draws from (JSON in a
 * <script type="application/json">), and, around it, the plain HTML that reads without
 * JavaScript: headline figures, top stacks, leaks and the memory view (html_tables.c),
 * each rounded figure with its exact value in a title. html_write.c holds the small
 * writers they share.
 */
#ifndef MEMPROF_HTML_PAGE_H
#define MEMPROF_HTML_PAGE_H

#include <stdint.h>
#include <stdio.h>

#include "html_data.h"

struct mp_html_page {
	struct mp_html_side *sides; /* [0] the trace, [1] the base of a differential page */
	int side_count;
	struct mp_html_data *data;
};

/* html_page.c. The whole page. Returns 0 or a negative errno. */
int mp_html_write(FILE *out, const struct mp_html_page *page);

/* html_tables.c. The page's plain HTML sections. */
void mp_html_summary(FILE *out, const struct mp_html_page *page);
void mp_html_top_stacks(FILE *out, const struct mp_html_page *page);
void mp_html_leaks(FILE *out, const struct mp_html_page *page);
void mp_html_memory(FILE *out, const struct mp_html_page *page);

/* html_write.c. Text with &, <, >, " escaped. */
void mp_html_escape(FILE *out, const char *text);
/* A rounded byte count with its exact value as title: <span title="5222 bytes">5.1 KiB</span>. */
void mp_html_bytes(FILE *out, uint64_t bytes);
/* The same for a signed change ("+5.1 KiB"). */
void mp_html_bytes_change(FILE *out, uint64_t from, uint64_t to);
/* A count, rounded (12.3 k) with the exact figure as title from 10000 on. */
void mp_html_count(FILE *out, uint64_t count);
/* A stack as an <ol> of frames, innermost first: function, file:line, module. */
void mp_html_stack(FILE *out, struct mp_analysis *analysis, uint32_t stack_id);

/* html_assets.c. The page's style and script, NUL-terminated. */
extern const char mp_html_page_css[];
extern const char mp_html_page_js[];

/* html_main.c. `memprof html ARGS` (argv after the command name); the exit code. */
int mp_html_main(int argc, char **argv);

#endif
