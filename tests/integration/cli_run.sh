#!/bin/sh
# cli_run.sh: `memprof run`: passes the exit status (and 128+signal) through, reports the
# traces it wrote with a summary, honours --output (and MEMPROF_OUTPUT without it),
# refuses a --sample it cannot read and says when a run was sampled, keeps an existing
# LD_PRELOAD, finds programs through PATH, says only why a program cannot be run,
# and refuses statically linked programs.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

cat >prog.c <<'C'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	for (int i = 0; i < 10; i++)
		free(malloc(100));
	char *keep = malloc(123);
	keep[0] = 1;
	if (argc > 2 && strcmp(argv[2], "env") == 0)
		printf("%s\n", getenv("LD_PRELOAD"));
	if (argc > 1 && strcmp(argv[1], "kill") == 0)
		raise(SIGKILL);
	return argc > 1 ? atoi(argv[1]) : 0;
}
C
cc -O0 -g -o prog prog.c || exit 1

# Exit status passes through; the summary names the trace and the leak.
"$memprof" run -- ./prog 7 >out.txt 2>err.txt
code=$?
[ "$code" -eq 7 ] || fail "exit status: got $code, want 7"
grep -q "^memprof: trace written to $(pwd)/memprof.prog.[0-9]*.trace$" err.txt ||
	fail "no 'trace written' line"
grep -q "^memprof: not freed at the end: 123 bytes in 1 block$" err.txt || fail "summary: not freed"
grep -q "^memprof: calls: 11 allocations, 10 frees, 0 reallocs, 0 mmaps$" err.txt || fail "summary: calls"
[ "$(grep -c '^memprof: trace written' err.txt)" -eq 1 ] || fail "one trace expected"
trace=$(sed -n 's/^memprof: trace written to //p' err.txt)
[ -f "$trace" ] || fail "trace $trace missing"
"$memprof" leaks --fail-on-leak "$trace" >/dev/null
[ $? -eq 1 ] || fail "leaks --fail-on-leak on the run's trace"
sed 's/^/    /' err.txt

# A second run in the same directory reports only its own trace.
"$memprof" run -- ./prog 0 >/dev/null 2>err2.txt || fail "second run status"
[ "$(grep -c '^memprof: trace written' err2.txt)" -eq 1 ] || fail "second run: one new trace"
grep -q "$trace" err2.txt && fail "second run reported the old trace"

# Killed by a signal: 128 + 9.
"$memprof" run -- ./prog kill >/dev/null 2>err.txt
code=$?
[ "$code" -eq 137 ] || fail "SIGKILL: got $code, want 137"
grep -q "trace written" err.txt || fail "SIGKILL: the trace was not reported"

# A MEMPROF_OUTPUT already in the environment is honoured without --output (made
# absolute, like --output's), and --output wins over it.
mkdir -p envtraces
MEMPROF_OUTPUT=envtraces/e.%p.trace "$memprof" run -- ./prog 0 >/dev/null 2>err.txt ||
	fail "MEMPROF_OUTPUT: status"
grep -q "trace written to $(pwd)/envtraces/e\.[0-9]*\.trace" err.txt ||
	fail "MEMPROF_OUTPUT from the environment not used"
MEMPROF_OUTPUT=envtraces/e.%p.trace "$memprof" run --output envtraces/o.%p.trace -- ./prog 0 \
	>/dev/null 2>err.txt || fail "--output over MEMPROF_OUTPUT: status"
grep -q "trace written to $(pwd)/envtraces/o\.[0-9]*\.trace" err.txt ||
	fail "--output does not win over MEMPROF_OUTPUT"

# A program that cannot be run: its error, exit code 126, and no word of traces.
printf 'not a program\n' >notexec.txt
"$memprof" run -- ./notexec.txt >/dev/null 2>err.txt
code=$?
[ "$code" -eq 126 ] || fail "not executable: exit $code, want 126"
grep -q "^memprof: cannot run './notexec.txt': Permission denied$" err.txt ||
	fail "not executable: $(cat err.txt)"
grep -q "trace" err.txt && fail "not executable: speaks of traces: $(cat err.txt)"

# --output with a directory and %p.
mkdir -p traces
"$memprof" run --output traces/t.%p.trace -- ./prog 0 >/dev/null 2>err.txt ||
	fail "--output status"
ls traces/t.*.trace >/dev/null 2>&1 || fail "--output: no trace in traces/"
grep -q "trace written to $(pwd)/traces/t\.[0-9]*\.trace" err.txt || fail "--output: path not reported"

# An existing LD_PRELOAD is kept, after ours.
cc -shared -fPIC -o libnothing.so -x c - </dev/null 2>/dev/null ||
	printf 'int nothing;\n' | cc -shared -fPIC -o libnothing.so -x c -
LD_PRELOAD="$(pwd)/libnothing.so" "$memprof" run -- ./prog 0 env >out.txt 2>/dev/null ||
	fail "LD_PRELOAD run status"
grep -q "libmemprof.so:$(pwd)/libnothing.so" out.txt || fail "LD_PRELOAD not kept: $(cat out.txt)"

# PATH lookup like execvp.
mkdir -p bin && cp prog bin/
PATH="$(pwd)/bin:$PATH" "$memprof" run -- prog 5 >/dev/null 2>&1
[ $? -eq 5 ] || fail "PATH lookup"

# Missing program: 127 and one message.
"$memprof" run -- ./no-such-program >/dev/null 2>err.txt
[ $? -eq 127 ] || fail "missing program exit code"
grep -q "^memprof: cannot run './no-such-program'" err.txt || fail "missing program message"

# --sample: a value the library could not read is refused, before anything runs; a good
# one, in either spelling, samples and the summary and the report say so; 0 records all.
traces_before=$(ls memprof.prog.*.trace | wc -l)
for bad in abc -5 512q 1.5m 5kk ''; do
	"$memprof" run --sample "$bad" -- ./prog 0 >out.txt 2>err.txt
	code=$?
	[ "$code" -eq 2 ] || fail "--sample '$bad': exit $code, want 2"
	[ "$(cat err.txt)" = "memprof: run: --sample takes a size in bytes such as 524288, 512k, 2m or 1g, not '$bad' (see 'memprof run --help')" ] ||
		fail "--sample '$bad': $(cat err.txt)"
	[ -s out.txt ] && fail "--sample '$bad': the program ran"
done
MEMPROF_SAMPLE_BYTES=lots "$memprof" run -- ./prog 0 >out.txt 2>err.txt
[ $? -eq 2 ] || fail "MEMPROF_SAMPLE_BYTES=lots was not refused"
grep -q "^memprof: run: MEMPROF_SAMPLE_BYTES='lots' is not a size in bytes" err.txt ||
	fail "MEMPROF_SAMPLE_BYTES=lots: $(cat err.txt)"
[ "$(ls memprof.prog.*.trace | wc -l)" -eq "$traces_before" ] || fail "a refused run wrote a trace"
for spelling in "--sample=512k" "--sample 512K"; do
	# shellcheck disable=SC2086
	"$memprof" run $spelling -- ./prog 0 >/dev/null 2>err.txt || fail "$spelling: exit $?"
	grep -q "^memprof: sampled every 524,288 bytes (512.0 KiB) on average: heap figures are estimates from [0-9,]* samples\?$" \
		err.txt || fail "$spelling: the summary does not say the run was sampled"
	sampled=$(sed -n 's/^memprof: trace written to //p' err.txt)
	"$memprof" report --json "$sampled" 2>/dev/null | grep -q '"sample_bytes": 524288,' ||
		fail "$spelling: the trace is not sampled"
done
"$memprof" report "$sampled" 2>/dev/null | grep -q "^Sampling:     every 524,288 bytes (512.0 KiB) on average" ||
	fail "report: no Sampling line"
"$memprof" run --sample 0 -- ./prog 0 >/dev/null 2>err.txt || fail "--sample 0: exit $?"
grep -q "sampled" err.txt && fail "--sample 0 sampled"

# Statically linked: refused before running.
if cc -static -O0 -o static-prog prog.c 2>/dev/null; then
	"$memprof" run -- ./static-prog 0 >/dev/null 2>err.txt
	code=$?
	[ "$code" -eq 2 ] || fail "static: exit $code, want 2"
	grep -q "statically linked" err.txt || fail "static: message"
	ls memprof.static-prog.* >/dev/null 2>&1 && fail "static: a trace was written"
	cat err.txt
else
	echo "skip static check: no static libc"
fi

[ "$failures" -eq 0 ]
