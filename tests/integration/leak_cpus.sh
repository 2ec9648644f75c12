#!/bin/sh
# leak_cpus.sh: where memprof's leak thread runs. Its folding rounds take CPU time from
# the program's threads; when a round shared its CPU with them, the thread moves off that
# CPU for the next one, so that it takes its time from each CPU in turn and not from one
# thread of the program for the whole run. It must stay within the CPUs the program's main
# thread may use: tests/progs/pinned_threads.c keeps every CPU busy, then pins its main
# thread to one CPU (as `taskset -p` would) while its other threads go on.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

prog="$MEMPROF_BUILD/tests/progs/pinned_threads"
lib="$MEMPROF_BUILD/libmemprof.so"

# run LABEL [taskset ARGS...]: the program under memprof; its output in run.out.
run() {
	label=$1
	shift
	"$@" env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/pin.trace" LD_PRELOAD="$lib" "$prog" >run.out 2>&1
	status=$?
	[ "$status" -eq 0 ] || fail "$label: status $status: $(cat run.out)"
	grep -q '^pinned ok$' run.out || fail "$label: memprof's thread may run outside the main thread's CPU: $(cat run.out)"
	"$memprof" report pin.trace >report.out 2>&1 || fail "$label: report failed: $(cat report.out)"
	grep -q 'exited with status 0' report.out || fail "$label: trace not whole: $(head -3 report.out)"
	rm -f pin.trace
}

run "all CPUs"
cpus=$(sed -n 's/^cpus //p' run.out)
moved=$(sed -n 's/^others 1 moved \([0-9]*\) outside 0$/\1/p' run.out)
[ -n "$moved" ] || fail "all CPUs: want one thread of memprof's, within the program's CPUs: $(cat run.out)"
# One CPU each for the program's threads and one more thread: the leak thread's rounds
# are crowded wherever it runs, and it moves. With one CPU there is nowhere to go.
# The wait is read from /proc/thread-self/schedstat (CONFIG_SCHED_INFO); without it the
# thread never moves.
if [ ! -r /proc/thread-self/schedstat ]; then
	echo "leak_cpus.sh: no /proc/thread-self/schedstat here; the move is not checked"
elif [ "${cpus:-0}" -ge 2 ]; then
	[ "${moved:-0}" -eq 1 ] || fail "$cpus CPUs, all busy: the leak thread did not move: $(cat run.out)"
else
	[ "${moved:-1}" -eq 0 ] || fail "one CPU: the leak thread moved: $(cat run.out)"
fi

# Started on one CPU (taskset): nowhere to move to.
run "taskset one CPU" taskset -c 0
grep -q '^others 1 moved 0 outside 0$' run.out || fail "taskset one CPU: $(cat run.out)"
[ "$failures" -eq 0 ]
