#!/bin/sh
# rt_signals.sh: a program that handles every real-time signal itself and raises each
# (tests/progs/rt_signals.c). memprof stops the program's threads for its leak checks
# with the highest real-time signal free at its start, and passes deliveries that are
# not its own to the program's handler; it took any the process sent itself for its own,
# and the program's raise(SIGRTMAX) never reached its handler. The program must see
# every signal once, as alone, and its exit check still stop its threads and find the
# trace whole.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/rt_signals"

"$prog" >plain.out 2>&1 || fail "without memprof: $(cat plain.out)"
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/rt.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	timeout -s KILL 30 "$prog" >rt.out 2>&1 || fail "under memprof: status $?: $(cat rt.out)"
cmp -s plain.out rt.out || fail "output under memprof: $(cat rt.out)"
"$memprof" report --json rt.trace 2>/dev/null | grep -q '"complete": true' ||
	fail "trace not complete"
"$memprof" leaks rt.trace 2>&1 | grep -q 'Reachability scanned at exit' ||
	fail "no exit check: $("$memprof" leaks rt.trace 2>&1 | head -3)"
[ "$failures" -eq 0 ]
