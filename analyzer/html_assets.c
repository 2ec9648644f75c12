/* html_assets.c: the page's style and script (analyzer/html/), embedded at build time.
 *
 * The assembler's .incbin copies each file into .rodata as it is, with a NUL after it:
 * nothing is generated, and the files stay plain CSS and JavaScript that an editor and a
 * browser read directly. The paths are relative to the top of the tree, where make runs
 * the compiler; the Makefile makes this object depend on both files.
 */
#include "html_page.h"

#define HTML_ASSET(symbol, path)                                                       \
	__asm__(".section .rodata\n"                                                    \
		".global " #symbol "\n"                                                 \
		".type " #symbol ", @object\n" #symbol ":\n"                            \
		".incbin \"" path "\"\n"                                                \
		".byte 0\n"                                                             \
		".size " #symbol ", . - " #symbol "\n"                                  \
		".previous\n")

HTML_ASSET(mp_html_page_css, "analyzer/html/page.css");
HTML_ASSET(mp_html_page_js, "analyzer/html/page.js");
