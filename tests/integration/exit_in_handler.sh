#!/bin/sh
# exit_in_handler.sh: a daemon whose SIGTERM handler calls exit(0) (tests/progs/term_exit.c)
# gets its leak check and exit snapshot even when the signal lands inside malloc or free,
# inside the recorder itself most often; when they cannot be had the trace says why, and
# no message blames MEMPROF_LEAK_CHECK=0. 20 runs, SIGTERM at a different moment in each.
set -u
build="$MEMPROF_BUILD"
memprof="$build/memprof"
prog="$build/tests/progs/term_exit"
failures=0 rescued=0 kinds=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

for run in $(seq 20); do
	rm -f t.trace ready
	mkfifo ready
	LD_PRELOAD="$build/libmemprof.so" MEMPROF_OUTPUT="$(pwd)/t.trace" MEMPROF_QUIET=1 \
		"$prog" >ready 2>err.txt &
	pid=$!
	read -r line <ready
	sleep "0.0$((run % 9 + 1))"
	kill -TERM "$pid"
	wait "$pid"
	code=$?
	[ "$code" -eq 0 ] || fail "run $run: exit status $code, want 0: $(cat err.txt)"
	[ -s err.txt ] && fail "run $run: stderr: $(cat err.txt)"
	# The header's flags (trace_format.h, offset 96): 4 = exit() ran inside the recorder.
	flags=$(od -A n -t u4 -j 96 -N 4 t.trace | tr -d ' ')
	[ $((flags & 4)) -ne 0 ] && rescued=$((rescued + 1))
	"$memprof" leaks t.trace >leaks.txt 2>/dev/null
	if grep -q "definitely lost: 777 bytes in 1 block$" leaks.txt; then
		kinds=$((kinds + 1))
		"$memprof" memory t.trace >/dev/null 2>memory.err ||
			fail "run $run: memory: $(cat memory.err)"
	elif ! grep -q "No leak kinds in this trace (exit() was called by a signal handler" \
		leaks.txt; then
		fail "run $run (flags $flags): no leak kinds and no true reason: $(grep -i 'leak' leaks.txt | head -3)"
	fi
done
echo "20 runs: $kinds with leak kinds, $rescued where exit() ran inside the recorder"
# Most signals land inside the recorder, which is what this test is about.
[ "$rescued" -gt 0 ] || fail "no run exercised exit() inside the recorder"
[ "$failures" -eq 0 ]
