#!/bin/sh
# term_during_exit.sh: SIGTERM while the exit's leak check runs (tests/progs/exit_heap.c,
# 3M blocks live: the check takes a quarter of a second; the signal comes 0.1 s after the
# program said it exits). memprof's fatal handler ran a second full check after the exit's,
# whose result it dropped: the process died as long again after its exit would have ended,
# and the trace showed the second check. The exit's check is written before the signal is
# let in, and it is the only one: the trace says killed by SIGTERM, scanned at exit, and
# the lost block is there.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"

rm -f heap.out heap.trace
(MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/heap.trace" LD_PRELOAD="$lib" \
	exec "$MEMPROF_BUILD/tests/progs/exit_heap" 3000000 >heap.out 2>heap.err) &
pid=$!
wait_for_line heap.out exiting 30
sleep 0.1
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
[ "$status" -eq 143 ] || fail "status $status, want 143 (killed by SIGTERM): $(cat heap.err)"
"$memprof" report heap.trace >heap.txt 2>&1 || fail "report failed: $(cat heap.txt)"
grep -q 'killed by SIGTERM' heap.txt || fail "not killed by SIGTERM: $(sed -n 2p heap.txt)"
"$memprof" leaks heap.trace >leaks.txt 2>&1 || fail "leaks failed: $(cat leaks.txt)"
grep -q 'Reachability scanned at exit in' leaks.txt ||
	fail "not the exit's check: $(grep -i scanned leaks.txt)"
grep -q '^  definitely lost: 1,234 bytes (1.2 KiB) in 1 block$' leaks.txt ||
	fail "lost block: $(grep 'lost:' leaks.txt)"
[ "$failures" -eq 0 ]
