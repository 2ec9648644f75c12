#!/bin/sh
# fd_exhaust.sh: a program that takes every descriptor it may have (EMFILE, as a server
# under load does) keeps being recorded. Each new chunk of the trace used to open the file
# again: the first chunk made while no descriptor was left stopped the recording, and
# tests/progs/fd_exhaust.c's trace held none of its 100000 allocations. memprof keeps one
# descriptor, above the program's range (700 and up), and the program opens as many
# files with it as without it.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/fd_exhaust"

"$prog" 50000 >plain.out 2>&1 || fail "without memprof: status $?: $(cat plain.out)"
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/fx.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" 50000 >traced.out 2>traced.err
status=$?
[ "$status" -eq 0 ] || fail "with memprof: status $status: $(cat traced.out traced.err)"
cmp -s plain.out traced.out || fail "output differs: $(cat plain.out) / $(cat traced.out)"
[ -s traced.err ] && fail "memprof said: $(cat traced.err)"
"$memprof" report fx.trace >report.out 2>&1 || fail "report failed: $(cat report.out)"
grep -q "^memprof report for 'fx.trace'\$" report.out || fail "trace not whole: $(head -1 report.out)"
# Both rounds of 50000, and the output's buffer.
grep -q '^Calls: *100,001 allocations, 100,001 frees' report.out ||
	fail "calls: $(grep '^Calls' report.out)"
# Exiting with every descriptor still taken: the trace is whole and the leak lists, but the
# exit's scan reads /proc and cannot: it says so (the leak thread's folding read the
# trace through memprof's descriptor; opening the file there failed too).
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/full.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" 50000 full >full.out 2>full.err || fail "full: status $?: $(cat full.out full.err)"
"$memprof" leaks full.trace >leaks.out 2>&1
grep -q "^memprof leaks for 'full.trace': " leaks.out || fail "full: trace not whole: $(head -1 leaks.out)"
grep -q '^  No leak kinds: the exit scan failed (Too many open files)' leaks.out &&
	grep -q '^4,242 bytes (4.1 KiB) in 1 block not freed (kind unknown)$' leaks.out ||
	fail "full: the check at exit: $(head -6 leaks.out)"
[ "$failures" -eq 0 ]
