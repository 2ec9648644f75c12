/* usage.c: the help text of every command and the version line. docs/memprof.1 and
 * docs/usage.md say the same at length. */
#include <string.h>

#include "memprof/trace_format.h"
#include "usage.h"

struct usage_command {
	const char *name;
	const char *text;
};

static const struct usage_command usage_commands[] = {
	{ "run",
	  "usage: memprof run [--output PATTERN] [--sample BYTES] [--quiet-children | --follow EXE]\n"
	  "                   [--leak-check-signal SIG]\n"
	  "                   [--push URL [--push-interval S] [--app NAME] [--label KEY=VALUE]...]\n"
	  "                   [--] PROGRAM [ARGS...]\n"
	  "Runs PROGRAM with libmemprof.so preloaded, then summarizes the traces it wrote on\n"
	  "stderr: one process, in a few lines; several, as one table per process tree.\n"
	  "  --output PATTERN  trace path; %p is the pid, %e the executable name\n"
	  "                    (default: $MEMPROF_OUTPUT, else ./memprof.%e.%p.trace)\n"
	  "  --sample BYTES    sample one allocation per BYTES on average (e.g. 524288, 512k,\n"
	  "                    2m, 1g); 0 records every call (the default)\n"
	  "  --quiet-children  summarize only the process memprof started (its own images)\n"
	  "  --follow EXE      summarize only the processes running EXE (a name, or a path)\n"
	  "  --leak-check-signal SIG  a leak check of the running program on each SIG\n"
	  "                    (MEMPROF_LEAK_CHECK_SIGNAL; memprof leaks --check N reads it)\n"
	  "  --push URL        push each process's profile to a Pyroscope-compatible server\n"
	  "                    every --push-interval seconds (default 15) while it runs\n"
	  "  --app NAME, --label KEY=VALUE  the application name and labels of the pushes\n"
	  "Exit status: the program's; 128+N if signal N killed it; 2 for a usage error.\n" },
	{ "report",
	  "usage: memprof report [--json] [--top N] [--full-stacks] [--long-names]\n"
	  "                      [--suppressions FILE] [--no-default-suppressions] TRACE...\n"
	  "Summarizes each trace: calls, bytes, the heap peak, what was not freed and what\n"
	  "leaked, and the call stacks behind each.\n"
	  "  --json            one JSON document on stdout (docs/json.md)\n"
	  "  --top N           call stacks per list (default 10; 0: all)\n"
	  "  --full-stacks     every frame, the C runtime's below main included\n"
	  "  --long-names      C++ and Rust names with their template and generic arguments\n"
	  "  --suppressions FILE, --no-default-suppressions\n"
	  "                    what counts as leaked, as for memprof leaks\n" },
	{ "leaks",
	  "usage: memprof leaks [--json] [--top N] [--full-stacks] [--long-names] [--show-reachable]\n"
	  "                     [--suppressions FILE] [--no-default-suppressions]\n"
	  "                     [--fail-on-leak[=KIND,...]] [--check N] TRACE...\n"
	  "Lists the heap blocks not freed at the end, by call stack and leak kind: definitely,\n"
	  "indirectly or possibly lost (leaked), still reachable (not freed, not leaked).\n"
	  "  --json            one JSON document on stdout (docs/json.md)\n"
	  "  --top N           call stacks listed (default 0: all)\n"
	  "  --full-stacks     every frame, the C runtime's below main included\n"
	  "  --long-names      C++ and Rust names with their template and generic arguments\n"
	  "  --show-reachable  list the still reachable blocks too\n"
	  "  --suppressions FILE  hide the leaks its rules match (repeatable)\n"
	  "  --no-default-suppressions  show what the built-in rules hide\n"
	  "  --fail-on-leak[=KINDS]  exit 1 if a leak of KINDS remains (definite, indirect,\n"
	  "                    possible, reachable, unknown, all; default: all but reachable)\n"
	  "                    or if a trace is incomplete\n"
	  "  --check N         the Nth leak check in time order (from 1; default: the one at\n"
	  "                    exit, else the last): MEMPROF_LEAK_CHECK_SIGNAL's checks\n" },
	{ "flamegraph",
	  "usage: memprof flamegraph [--json] [--top N] [--full-stacks]\n"
	  "                          [--metric allocated|calls|peak|leaked|unfreed]\n"
	  "                          [--suppressions FILE] [--no-default-suppressions] TRACE...\n"
	  "Prints folded stacks (root;caller;callee VALUE), the input of flamegraph.pl,\n"
	  "inferno and speedscope.\n"
	  "  --metric M        allocated (bytes, the default), calls, peak (bytes live at the\n"
	  "                    heap peak), leaked (bytes lost), unfreed (bytes not freed)\n"
	  "  --top N           call stacks printed (default 0: all)\n"
	  "  --json            one JSON document on stdout (docs/json.md)\n"
	  "  --full-stacks     every frame, the C runtime's below main included\n" },
	{ "memory",
	  "usage: memprof memory [--json] [--top N] [--full-stacks] [--long-names]\n"
	  "                      [--snapshot exit|peak|N] TRACE...\n"
	  "Which call stacks own the resident memory, from a memory snapshot in the trace.\n"
	  "  --snapshot S      exit (the default), peak (highest RSS) or N (the Nth, from 1)\n"
	  "  --top N           call stacks listed (default 10 in text, all in JSON; 0: all)\n"
	  "  --json            one JSON document on stdout (docs/json.md)\n"
	  "  --full-stacks     every frame, the C runtime's below main included\n"
	  "  --long-names      C++ and Rust names with their template and generic arguments\n" },
	{ "pprof",
	  "usage: memprof pprof [--snapshot exit|peak|N] [--full-stacks] -o FILE TRACE\n"
	  "Writes the trace as a gzipped pprof profile (profile.proto): allocated and in-use\n"
	  "objects and bytes per call stack, resident and committed bytes at a snapshot.\n"
	  "  -o FILE           the profile (- for stdout)\n"
	  "  --snapshot S      the snapshot of resident_space and committed_space\n"
	  "  --full-stacks     every frame, the C runtime's below main included\n" },
	{ "diff",
	  "usage: memprof diff [--metric leaked|allocated|peak|calls] [--json | --folded] BASE NEW\n"
	  "What changed from the trace BASE to NEW, per call stack matched by function, file\n"
	  "and line (addresses move between builds), largest change first, and the totals.\n"
	  "  --metric M        leaked (bytes lost, the default), allocated, peak or calls\n"
	  "  --json            one JSON document on stdout (docs/json.md)\n"
	  "  --folded          'stack base new' lines for flamegraph.pl's differential mode\n" },
	{ "html",
	  "usage: memprof html [--snapshot exit|peak|N] [--base BASE] TRACE -o FILE\n"
	  "Writes one self-contained HTML page: a flame graph with a metric switch, a\n"
	  "timeline whose range selection filters it, the leaks, the report's figures and\n"
	  "the memory view. It works offline (file://).\n"
	  "  -o FILE           the page\n"
	  "  --snapshot S      the snapshot of the memory view\n"
	  "  --base BASE       a differential page: what changed from BASE to TRACE\n" },
	{ "push",
	  "usage: memprof push --url URL [--app NAME] [--label KEY=VALUE]... [--timeout S]\n"
	  "                    [--snapshot exit|peak|N] [--full-stacks] TRACE\n"
	  "Sends the trace's pprof profile to a Pyroscope-compatible server (URL/ingest).\n"
	  "Exit status: 0 if the server took it; 1 if not (one line says why).\n" },
};

static const char usage_all[] =
	"usage: memprof run [--output PATTERN] [--sample BYTES] [--quiet-children | --follow EXE]\n"
	"                   [--] PROGRAM [ARGS...]\n"
	"       memprof report [--json] [--top N] [--full-stacks] [--long-names] TRACE...\n"
	"       memprof leaks [--json] [--top N] [--show-reachable] [--suppressions FILE]\n"
	"                     [--fail-on-leak[=KIND,...]] TRACE...\n"
	"       memprof flamegraph [--json] [--metric allocated|calls|peak|leaked|unfreed] TRACE...\n"
	"       memprof memory [--json] [--top N] [--snapshot exit|peak|N] TRACE...\n"
	"       memprof diff [--metric leaked|allocated|peak|calls] [--json|--folded] BASE NEW\n"
	"       memprof html [--snapshot exit|peak|N] [--base BASE] TRACE -o FILE\n"
	"       memprof pprof [--snapshot exit|peak|N] -o FILE TRACE\n"
	"       memprof push --url URL [--app NAME] [--label KEY=VALUE]... TRACE\n"
	"       memprof COMMAND --help | memprof --version\n"
	"Options that take a value also take it as --option=VALUE. See memprof(1) and\n"
	"docs/usage.md.\n";

int mp_usage(FILE *out, const char *command)
{
	if (!command) {
		fputs(usage_all, out);
		return 0;
	}
	for (size_t i = 0; i < sizeof(usage_commands) / sizeof(usage_commands[0]); i++) {
		if (strcmp(command, usage_commands[i].name) == 0) {
			fputs(usage_commands[i].text, out);
			return 0;
		}
	}
	return -1;
}

void mp_version(FILE *out)
{
	fprintf(out, "memprof %s (trace format version %u)\n", MP_MEMPROF_VERSION, MP_TRACE_VERSION);
}
