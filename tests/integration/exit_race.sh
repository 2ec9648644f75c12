#!/bin/sh
# exit_race.sh: threads that call exit() together (tests/progs/exit_race.c). glibc lets
# each run exit handlers, and the first to run out ends the process: a worker's exit
# ended it in the middle of main's, inside memprof's handler, and the trace had no end
# (39 runs of 40). Now a second exit waits for the first once that one reaches memprof's
# handler: 20 runs, each trace whole, with the status the process ended with and the
# lost block. And a worker whose exit main's own exit handler waits for (joining it)
# still ends the process: its exit waits at most a second for main's. quick_exit(), which
# runs no exit handler of memprof's, left the trace without an end; it gets the exit
# snapshot, the leak check and the end now, after the program's at_quick_exit handlers.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/exit_race"

run=1
while [ "$run" -le 20 ]; do
	rm -f race.trace
	timeout 20 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/race.trace" \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" race >out.txt 2>&1
	status=$?
	case $status in
	3 | 4) ;;
	*) fail "race run $run: status $status: $(cat out.txt)" ;;
	esac
	"$memprof" leaks race.trace >leaks.txt 2>&1
	grep -q "^memprof leaks for 'race.trace': 99 bytes leaked in 1 block" leaks.txt ||
		fail "race run $run: $(head -2 leaks.txt)"
	"$memprof" report race.trace >report.txt 2>&1
	grep -q "exited with status $status\$" report.txt ||
		fail "race run $run: the process ended with $status: $(sed -n 2p report.txt)"
	run=$((run + 1))
done

timeout 20 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/join.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" join >out.txt 2>&1
status=$?
[ "$status" -eq 5 ] || fail "join: status $status, want 5 (124: hung): $(cat out.txt)"
"$memprof" report join.trace >report.txt 2>&1
grep -q "exited with status 5\$" report.txt || fail "join: $(sed -n 1,2p report.txt)"
timeout 20 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/quick.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" quick >out.txt 2>&1
status=$?
[ "$status" -eq 6 ] || fail "quick: status $status, want 6: $(cat out.txt)"
"$memprof" report quick.trace >report.txt 2>&1
grep -q "exited with status 6\$" report.txt || fail "quick: $(sed -n 1,2p report.txt)"
grep -q '^Calls: *2 allocations, 1 free' report.txt || fail "quick: $(grep '^Calls' report.txt)"
"$memprof" leaks quick.trace >leaks.txt 2>&1
grep -q "^  definitely lost: 99 bytes in 1 block\$" leaks.txt || fail "quick: $(head -3 leaks.txt)"
[ "$failures" -eq 0 ]
