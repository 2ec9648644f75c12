#!/bin/sh
# fd_reuse.sh: a program that closes the descriptors it inherited and reuses their
# numbers for its own files (tests/progs/fd_reuse.c) keeps its files to itself under
# memprof: libunwind's pipe, made at 3 and 4 when memprof started, was closed by the
# program, and libunwind, unwinding through generated code, then read 5 bytes of the
# program's input and wrote 5 into its output. Same output as without memprof, the
# output file a copy of the input, and the 100 allocations of the generated code
# recorded.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

prog="$MEMPROF_BUILD/tests/progs/fd_reuse"
printf 'the program reads these words and nothing else reads them\n' >in.txt
"$prog" in.txt plain.txt >plain.out 2>plain.err || fail "without memprof: status $?"
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/fd.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" in.txt traced.txt >traced.out 2>traced.err || fail "with memprof: status $?"
cmp -s plain.out traced.out || fail "stdout: $(cat traced.out), without memprof $(cat plain.out)"
grep -q "input on 3, output on 4, 58 bytes copied" traced.out || fail "stdout: $(cat traced.out)"
cmp -s in.txt traced.txt || fail "the output is not the input: $(od -c traced.txt | head -3)"
"$memprof" report --json fd.trace >report.json 2>report.err || fail "report: $(cat report.err)"
grep -q '"complete": true' report.json || fail "the trace is not complete"
"$memprof" flamegraph --metric calls fd.trace >folded.txt 2>/dev/null || fail "flamegraph failed"
# The generated code's 100 calls of malloc (4242 bytes each), under main.
calls=$(awk '/main/ { n += $NF } END { print n + 0 }' folded.txt)
[ "$calls" -ge 101 ] || fail "$calls calls under main, want at least 101"

# The same files moved onto 700 and 701, where libunwind's pipe was moved: memprof sees
# the pipe is gone and stops such stacks where its own walk stopped (at the generated
# code) rather than let libunwind at the program's files.
"$prog" in.txt plain_high.txt 700 >plain_high.out 2>&1 || fail "700, without memprof: status $?"
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/high.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" in.txt traced_high.txt 700 >traced_high.out 2>&1 || fail "700, with memprof: status $?"
grep -q "input on 700, output on 701, 58 bytes copied" traced_high.out ||
	fail "700: stdout: $(cat traced_high.out)"
cmp -s in.txt traced_high.txt || fail "700: the output is not the input: $(od -c traced_high.txt | head -3)"
"$memprof" flamegraph --metric calls high.trace >high.folded 2>/dev/null || fail "700: flamegraph failed"
cut=$(awk '$1 ~ /^0x[0-9a-f]+$/ { n += $2 } END { print n + 0 }' high.folded)
[ "$cut" -eq 100 ] || fail "700: $cut allocations with a stack cut at the generated code, want 100"
# Under a descriptor limit of 256 memprof's descriptors cannot be at 700: they go to the
# top quarter of the range (192 and up), not to 3 and 4 as before.
(
	ulimit -n 256
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/low.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
		"$prog" in.txt traced_low.txt >traced_low.out 2>&1
) || fail "ulimit -n 256, with memprof: status $?: $(cat traced_low.out)"
grep -q "input on 3, output on 4, 58 bytes copied" traced_low.out ||
	fail "ulimit -n 256: stdout: $(cat traced_low.out)"
cmp -s in.txt traced_low.txt || fail "ulimit -n 256: the output is not the input"
"$memprof" flamegraph --metric calls low.trace >low.folded 2>/dev/null || fail "ulimit -n 256: flamegraph"
calls=$(awk '/main/ { n += $NF } END { print n + 0 }' low.folded)
[ "$calls" -ge 101 ] || fail "ulimit -n 256: $calls calls under main, want at least 101"
# A program that closes its stderr and opens a file of its own there (descriptor 2):
# memprof's "trace written to" line went into that file. memprof writes its lines only
# while descriptor 2 is the stderr it started with.
"$MEMPROF_BUILD/tests/progs/stderr_file" plain_err.txt || fail "stderr_file without memprof: $?"
MEMPROF_OUTPUT="$(pwd)/err.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$MEMPROF_BUILD/tests/progs/stderr_file" traced_err.txt || fail "stderr_file with memprof: $?"
cmp -s plain_err.txt traced_err.txt || fail "stderr_file: the program's file holds: $(cat traced_err.txt)"
"$memprof" report err.trace >err_report.txt 2>&1 || fail "stderr_file: report failed"
grep -q "^memprof report for 'err.trace'\$" err_report.txt || fail "stderr_file: $(head -1 err_report.txt)"
[ "$failures" -eq 0 ]
