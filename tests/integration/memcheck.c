/* memcheck.c: running Valgrind memcheck on a test program and reading its leak records
 * from the XML report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memcheck.h"

int memcheck_available(void)
{
	return system("valgrind --version >/dev/null 2>&1") == 0;
}

/* A number as memcheck writes it, thousands separated by commas in <text>. */
static uint64_t xml_number(const char *at)
{
	uint64_t value = 0;
	for (; (*at >= '0' && *at <= '9') || *at == ','; at++)
		if (*at != ',')
			value = value * 10 + (uint64_t)(*at - '0');
	return value;
}

/* The <error> between error and end, if it is a leak record. */
static void read_error(const char *error, const char *end, memcheck_loss_fn *on_loss,
		       void *context)
{
	static const char *const kind_names[] = {
		[MEMCHECK_DEFINITE] = "Leak_DefinitelyLost",
		[MEMCHECK_INDIRECT] = "Leak_IndirectlyLost",
		[MEMCHECK_POSSIBLE] = "Leak_PossiblyLost",
		[MEMCHECK_REACHABLE] = "Leak_StillReachable",
	};
	const char *kind_at = strstr(error, "<kind>"), *text = strstr(error, "<text>");
	const char *bytes_at = strstr(error, "<leakedbytes>");
	const char *blocks_at = strstr(error, "<leakedblocks>");
	if (!kind_at || !text || !bytes_at || !blocks_at || blocks_at > end)
		return;
	int kind = -1;
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strncmp(kind_at + strlen("<kind>"), kind_names[i], strlen(kind_names[i])) == 0)
			kind = (int)i;
	if (kind < 0)
		return;
	uint64_t bytes = xml_number(bytes_at + strlen("<leakedbytes>"));
	uint64_t blocks = xml_number(blocks_at + strlen("<leakedblocks>"));
	/* <leakedbytes> counts the indirect bytes too; the text's "(D direct, ..." does not. */
	const char *direct = strstr(text, " direct, "), *paren = strchr(text, '(');
	if (direct && direct < bytes_at && paren && paren < direct)
		bytes = xml_number(paren + 1);
	on_loss(context, bytes, blocks, (enum memcheck_kind)kind);
}

int memcheck_run(const char *command, memcheck_loss_fn *on_loss, void *context)
{
	char dir[] = "/tmp/memprof-vg-XXXXXX", shell[8192], path[64 + sizeof(dir)];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/memcheck.xml", dir);
	snprintf(shell, sizeof(shell),
		 "exec valgrind --leak-check=full --show-leak-kinds=all --xml=yes --xml-file='%s' "
		 "%s >/dev/null 2>&1", path, command);
	int status = system(shell);
	FILE *file = fopen(path, "re");
	assert_non_null(file);
	static char xml[1 << 22];
	size_t len = fread(xml, 1, sizeof(xml) - 1, file);
	xml[len] = '\0';
	fclose(file);
	for (const char *at = xml; (at = strstr(at, "<error>"));) {
		const char *end = strstr(at, "</error>");
		if (!end)
			break;
		read_error(at, end, on_loss, context);
		at = end;
	}
	unlink(path);
	rmdir(dir);
	return status;
}
