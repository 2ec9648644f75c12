#!/bin/sh
# exit_race.sh: threads that call exit() together (tests/progs/exit_race.c). glibc lets
# each run exit handlers, and the first to run out ends the process: a worker's exit
# ended it in the middle of main's, inside memprof's handler, and the trace had no end
# (39 runs of 40). memprof's exit handler has barriers behind it in the list now: the
# other thread waits there for the process to end. 20 runs, each trace whole, with the
# status the process ended with and the lost block; as many with main returning instead
# of calling exit (the handlers then run without exit() called through the PLT). A
# worker whose exit main's own exit handler waits for (joining it) still ends the
# process. quick_exit(), which runs no on_exit handler, left the trace without an end;
# it gets the exit snapshot, the leak check and the end now, after the program's
# at_quick_exit handlers. daemon(), whose parent ends with an _exit(0) inside libc, left
# the parent's trace with no end; it ends at the fork now, as the _exit would. A vfork
# child that calls exit() (sharing its parent's memory) must not leave the parent's own
# exit waiting for good; it ran memprof's exit work for the parent's trace (a second's
# wait for the suspended parent, the child's status as the parent's end) and took the
# hook from the parent, whose own exit then went unseen. The parent's trace ends with
# its own status and leak check now, without the wait.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/exit_race"

# traced TRACE MODE: exit_race MODE under memprof, its trace TRACE, its output out.txt,
# its exit status in $status (124: it hung, 20 s).
traced() {
	trace=$1
	shift
	timeout 20 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$trace" \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" "$@" >out.txt 2>&1
	status=$?
}

# ended NAME TRACE STATUS: the trace says the process exited with STATUS, and its leak
# check found the lost block.
ended() {
	"$memprof" report "$2" >report.txt 2>&1
	grep -q "exited with status $3\$" report.txt || fail "$1: $(sed -n 1,2p report.txt)"
	"$memprof" leaks "$2" >leaks.txt 2>&1
	grep -q "^  definitely lost: 99 bytes in 1 block\$" leaks.txt || fail "$1: $(head -3 leaks.txt)"
}

run=1
while [ "$run" -le 40 ]; do
	mode=race
	[ "$run" -gt 20 ] && mode=race-return
	rm -f race.trace
	traced race.trace "$mode"
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

traced join.trace join
[ "$status" -eq 5 ] || fail "join: status $status, want 5 (124: hung): $(cat out.txt)"
"$memprof" report join.trace >report.txt 2>&1
grep -q "exited with status 5\$" report.txt || fail "join: $(sed -n 1,2p report.txt)"
traced quick.trace quick
[ "$status" -eq 6 ] || fail "quick: status $status, want 6: $(cat out.txt)"
ended quick quick.trace 6
grep -q '^Calls: *2 allocations, 1 free' report.txt || fail "quick: $(grep '^Calls' report.txt)"
traced vfork.trace vfork
[ "$status" -eq 4 ] || fail "vfork: status $status, want 4 (124: hung): $(cat out.txt)"
ended vfork vfork.trace 4
run_time=$(sed -n 's/^Run time: *\([0-9.]*\) s$/\1/p' report.txt)
awk -v t="${run_time:-9}" 'BEGIN { exit !(t < 0.5) }' || fail "vfork: run time ${run_time:-?} s"

rm -f daemon.*.trace done.txt
traced 'daemon.%p.trace' daemon "$(pwd)/done.txt"
[ "$status" -eq 0 ] || fail "daemon: status $status: $(cat out.txt)"
tries=0
while [ ! -s done.txt ] && [ "$tries" -lt 500 ]; do
	sleep 0.01
	tries=$((tries + 1))
done
sleep 0.2 # the daemon's exit, after its file
parent=0 daemon=0
for trace in daemon.*.trace; do
	"$memprof" report "$trace" >report.txt 2>&1
	grep -q "^memprof report for '$trace'\$" report.txt || fail "daemon: $(head -1 report.txt)"
	grep -q '), exited (_exit) with status 0$' report.txt && parent=$((parent + 1))
	grep -q '), exited with status 0$' report.txt && daemon=$((daemon + 1))
done
[ "$parent" -eq 1 ] && [ "$daemon" -eq 1 ] ||
	fail "daemon: want one trace ended by the parent's _exit and one by the daemon's exit, got $parent and $daemon"
[ "$failures" -eq 0 ]
