#!/bin/sh
# fatal_busy.sh: SIGTERM kills a program whose threads all allocate (tests/progs/
# busy_threads.c), 30 times at random moments. Each time the process dies of it at once,
# as without memprof, and its trace is whole: killed by SIGTERM, the leak check memprof
# ran as it died finding the one block the program lost. The signal often lands while a
# thread makes a chunk of the trace, holding the file's lock: the fatal check then waited
# for the leak thread, which waited for that lock, 10 s (then the check failed) in about
# one run in twenty; and a trace of such a death had no end and read as cut short, with
# leak checks off and sampled as well.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

prog="$MEMPROF_BUILD/tests/progs/busy_threads"

# killed LABEL DELAY [VAR=VALUE...]: busy_threads 3 under memprof (with those variables),
# SIGTERM DELAY seconds after it is ready; it must die of it within 3 s (else it hung in
# the check), and its trace (busy.trace, read into report.json) end whole, "signal" 15.
killed() {
	label=$1 delay=$2
	shift 2
	rm -f out.txt busy.trace
	env "$@" MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/busy.trace" \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" 3 >out.txt 2>err.txt &
	pid=$!
	wait_for_line out.txt ready
	sleep "$delay"
	kill -TERM "$pid"
	waited=0
	while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 30 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$label: still alive 3 s after SIGTERM"
		kill -9 "$pid"
	fi
	wait "$pid"
	status=$?
	[ "$status" -eq 143 ] || fail "$label: status $status, not 143 (SIGTERM)"
	"$memprof" report --json busy.trace >report.json 2>report.err || fail "$label: report failed"
	grep -q '"complete": true' report.json ||
		fail "$label: incomplete: $(grep incomplete_reason report.json)"
	grep -q '"end_state": "signal"' report.json || fail "$label: $(grep end_state report.json)"
	grep -q '"signal": 15,' report.json || fail "$label: $(grep '"signal"' report.json)"
}

run=1 exact=0
while [ "$run" -le 30 ]; do
	killed "run $run" "0.0$((run % 5))"
	"$memprof" leaks --json busy.trace >leaks.json 2>leaks.err || fail "run $run: leaks failed"
	grep -q '"reason": "fatal-signal"' leaks.json || fail "run $run: no check at the signal"
	grep -q '"threads_not_stopped": 0,' leaks.json ||
		fail "run $run: $(grep threads_not_stopped leaks.json)"
	# The lost block, or none where a stale copy of its address was left in a frame of
	# the call the signal interrupted (the check reads the stack from there up).
	leaked=$(sed -n 's/^  "leaked_bytes": \([0-9]*\).*/\1/p' leaks.json)
	case "$leaked" in
	4321) exact=$((exact + 1)) ;;
	0) ;;
	*) fail "run $run: leaked $leaked bytes, want 4321" ;;
	esac
	run=$((run + 1))
done
[ "$exact" -ge 20 ] || fail "the lost block found in $exact runs of 30"

# Without leak checks, and sampled (a service stopped by SIGTERM), the trace ends too:
# there the signal mostly lands on a thread waiting for the samples' lock.
for mode in MEMPROF_LEAK_CHECK=0 MEMPROF_SAMPLE_BYTES=4096; do
	for run in 1 2 3 4 5; do
		killed "$mode run $run" "0.0$run" "$mode"
	done
done
echo "30 deaths by SIGTERM while 4 threads allocate: each at once, each trace whole;" \
	"the lost block found in $exact"
[ "$failures" -eq 0 ]
