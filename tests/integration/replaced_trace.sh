#!/bin/sh
# replaced_trace.sh: a leftover at the trace's name (an earlier run's trace, or any file
# that is not a live process's trace) is replaced, and the last close of the removed file
# frees its blocks and page cache then and there: 512 MiB just written cost the program's
# main thread 12-15 ms of CPU before main(), 200 ms for 1 GiB. The leak thread closes it
# now, beside the program; without one (MEMPROF_LEAK_CHECK=0) the constructor does, so
# that the file's space is never held until the process ends. tests/progs/startup_cpu.c
# prints its main thread's CPU time at main() and, 300 ms later, how many of its
# descriptors name a removed file.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/startup_cpu"
out="$(pwd)/run.trace"

field() { # field NAME OUTPUT
	echo "$2" | sed -n "s/^$1 //p"
}

run() { # run [ENV...]: the program under memprof, tracing to $out
	env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$out" "$@" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
		"$prog" wait
}

leftover() {
	rm -f "$out"
	dd if=/dev/zero of="$out" bs=1M count=512 conv=fsync status=none ||
		fail "cannot write a leftover of 512 MiB"
}

# The same start without a leftover, then with one: the difference is the replacing. The
# least of three tries: CPU time only ever grows with noise (page faults that reclaim
# memory beside the other tests, say), and the close cost every try 10 ms or more.
least=""
for try in 1 2 3; do
	rm -f "$out"
	alone=$(field cpu_us "$(run)")
	leftover
	result=$(run)
	replacing=$(field cpu_us "$result")
	[ -n "$alone" ] && [ -n "$replacing" ] || fail "no CPU times: '$alone' '$replacing'"
	cost=$((replacing - alone))
	[ -z "$least" ] || [ "$cost" -lt "$least" ] && least=$cost
	[ "$least" -lt 5000 ] && break
done
[ "$least" -lt 5000 ] ||
	fail "replacing a 512 MiB leftover cost the main thread $least us (least of 3)"
[ "$(field deleted_open "$result")" = 0 ] ||
	fail "the removed leftover is still open 300 ms after the start: $result"
size=$(stat -c %s "$out")
[ "$size" -lt 16777216 ] || fail "the trace at the name is the leftover ($size bytes)"
"$memprof" report --json "$out" 2>/dev/null | grep -q '"complete": true' ||
	fail "the new trace is not complete"

# No leak thread: closed at the start all the same.
leftover
result=$(run MEMPROF_LEAK_CHECK=0)
[ "$(field deleted_open "$result")" = 0 ] ||
	fail "without the leak thread the removed leftover is still open: $result"
rm -f "$out"
[ "$failures" -eq 0 ]
