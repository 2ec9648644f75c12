#!/bin/sh
# own_threads.sh: how many threads memprof adds to a program, since each costs a short
# program its start and, on a loaded machine, a wait for a CPU to end on. A full trace
# (the default) adds one, the leak thread, which also keeps the RSS watch; a snapshot
# interval adds the snapshot thread; a sampled run adds none until its first sampled
# allocation, and then the RSS watch's thread, which still finds the RSS peak of a program
# that fills a big block slowly.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"

# threads_of WANT LABEL ENV...: `sleep 0.6` under memprof with ENV has WANT threads at 0.3 s.
threads_of() {
	want=$1 label=$2
	shift 2
	env LD_PRELOAD="$lib" MEMPROF_OUTPUT="$(pwd)/t.%p.trace" MEMPROF_QUIET=1 "$@" sleep 0.6 &
	pid=$!
	sleep 0.3
	have=$(ls "/proc/$pid/task" | wc -l)
	wait "$pid"
	[ "$have" -eq "$want" ] || fail "$label: $have threads, want $want"
	rm -f t.*.trace
}

threads_of 2 "full trace (the program's and the leak thread)"
threads_of 3 "full trace with MEMPROF_SNAPSHOT_MS=100" MEMPROF_SNAPSHOT_MS=100
# A fixed seed: sleep allocates some 19 KB, and with a seed from the clock one run in a
# few hundred drew a first sample that early (the thread then starts, rightly).
threads_of 1 "sampled, nothing sampled yet" MEMPROF_SAMPLE_BYTES=67108864 MEMPROF_SAMPLE_SEED=1
threads_of 2 "MEMPROF_LEAK_CHECK=0 (the snapshot thread watches)" MEMPROF_LEAK_CHECK=0
threads_of 1 "MEMPROF_LEAK_CHECK=0 MEMPROF_RSS_WATCH=0" MEMPROF_LEAK_CHECK=0 MEMPROF_RSS_WATCH=0

# A sampled run starts its watch at the first sampled allocation (the 256 MiB block) and
# finds the RSS peak, long after the heap peak.
env LD_PRELOAD="$lib" MEMPROF_OUTPUT="$(pwd)/fill.trace" MEMPROF_QUIET=1 \
	MEMPROF_SAMPLE_BYTES=524288 "$MEMPROF_BUILD/tests/progs/resident" slowfill ||
	fail "resident slowfill under sampling: exit $?"
"$memprof" memory --snapshot peak fill.trace >fill.txt 2>&1 || fail "memory: exit $?"
grep -q "(rss-peak)" fill.txt || fail "sampled: --snapshot peak is not an rss-peak snapshot: $(head -1 fill.txt)"
grep -q "^RSS watch: *every 10 ms" fill.txt || fail "sampled: no RSS watch: $(grep 'RSS watch' fill.txt)"

[ "$failures" -eq 0 ]
