#!/bin/sh
# jump_out.sh: a program whose signal handler jumps out (siglongjmp) of whatever it
# interrupted, memprof's recorder included (tests/progs/jump_out.c: a 100 us timer, 200
# jumps back to the start of an allocation loop, then 1000 blocks of 4242 bytes with the
# timer off). The jumps used to leave the thread marked busy for good: none of the 1000
# blocks was recorded. Each run must record all of them, and the loop's blocks exactly:
# as many as the loop allocated and freed whole, plus at most one a jump (allocated, its
# pointer never received), the jumps out of the recorder counted as dropped events.
# Sampled (every 4 KiB), the samples' lock is held every few allocations: a jump out of
# it stopped the thread's recording in every run, until it was taken with signals held.
# So did one out of a peak snapshot (milliseconds on the thread whose heap grows: the
# "grow" run, 2 runs in 3), now taken with signals held too. Two threads jumping each to
# its own start, the timer's signal going to either: the same, on both. "cold": the same
# threads under the timer from their start while the main thread loads and unloads a
# library again and again, so that memprof keeps asking the loader about their code: a
# jump out of those calls left the loader's lock held and the program hung (9 runs in
# 10), until they held signals; 3 runs, each within 20 s.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"

for run in 1 2 3; do
	rm -f jump.trace
	MEMPROF_OUTPUT="$(pwd)/jump.trace" LD_PRELOAD="$lib" \
		"$MEMPROF_BUILD/tests/progs/jump_out" 200 1000 >jump.out 2>jump.err
	status=$?
	[ "$status" -eq 0 ] || fail "run $run: status $status: $(cat jump.out jump.err)"
	set -- $(cat jump.out)
	[ "$#" -eq 6 ] && [ "$1" = jumps ] && [ "$2" -eq 200 ] ||
		fail "run $run: output $(cat jump.out)"
	completed=${6:-0}
	! grep -q "cannot be resumed" jump.err || fail "run $run: $(cat jump.err)"
	"$memprof" flamegraph --metric calls jump.trace >jump.folded 2>/dev/null ||
		fail "run $run: flamegraph failed"
	after=$(awk '$1 ~ /;after_timer;churn_sized$/ { n += $2 } END { print n + 0 }' jump.folded)
	[ "$after" -eq 1000 ] || fail "run $run: $after of the 1000 blocks after the jumps recorded"
	loop=$(awk '$1 ~ /(^|;)main;jump_loop;churn_sized$/ { n += $2 } END { print n + 0 }' \
		jump.folded)
	[ "$loop" -ge "$completed" ] && [ "$loop" -le $((completed + 200)) ] ||
		fail "run $run: $loop of the loop's blocks recorded, $completed allocated and freed whole"
	"$memprof" report --json jump.trace >jump.json 2>/dev/null || fail "run $run: report failed"
	dropped=$(sed -n 's/^ *"dropped_events": \([0-9]*\),$/\1/p' jump.json)
	[ "${dropped:-0}" -ge 1 ] && [ "$dropped" -le 200 ] ||
		fail "run $run: $dropped dropped events, want 1 to 200 (the jumps out of the recorder)"
	grep -q '"complete": true' jump.json || fail "run $run: trace not complete"
done
for mode in sampled grow threads cold cold cold; do
	rm -f jump.trace
	if [ "$mode" = sampled ]; then
		MEMPROF_SAMPLE_BYTES=4096 MEMPROF_OUTPUT="$(pwd)/jump.trace" LD_PRELOAD="$lib" \
			"$MEMPROF_BUILD/tests/progs/jump_out" 200 1000 >jump.out 2>jump.err
	else
		set -- "$mode"
		[ "$mode" = cold ] && set -- cold "$MEMPROF_BUILD/tests/progs/libplugin.so"
		timeout 20 env MEMPROF_OUTPUT="$(pwd)/jump.trace" LD_PRELOAD="$lib" \
			"$MEMPROF_BUILD/tests/progs/jump_out" 200 1000 "$@" >jump.out 2>jump.err
	fi
	status=$?
	[ "$status" -ne 124 ] || fail "$mode: still running after 20 s (a lock left held)"
	[ "$status" -eq 0 ] || fail "$mode: status $status: $(cat jump.out jump.err)"
	! grep -q "cannot be resumed" jump.err || fail "$mode: $(cat jump.err)"
	"$memprof" flamegraph --metric calls jump.trace >jump.folded 2>/dev/null ||
		fail "$mode: flamegraph failed"
	after=$(awk '$1 ~ /;after_timer;churn_sized$/ { n += $2 } END { print n + 0 }' jump.folded)
	# Sampled: 4.2 MB in blocks of 4242 bytes, every 4 KiB, about 1300 calls estimated.
	low=1000 high=1000
	[ "$mode" = sampled ] && low=800 high=2000
	[ "$after" -ge "$low" ] && [ "$after" -le "$high" ] ||
		fail "$mode: $after calls for the 1000 blocks after the jumps"
	"$memprof" report --json jump.trace >jump.json 2>/dev/null || fail "$mode: report failed"
	grep -q '"complete": true' jump.json || fail "$mode: trace not complete"
	dropped=$(sed -n 's/^ *"dropped_events": \([0-9]*\),$/\1/p' jump.json)
	[ "${dropped:-0}" -ge 1 ] || fail "$mode: no jump out of the recorder (dropped events)"
done
[ "$failures" -eq 0 ]
