#!/bin/sh
# many_threads.sh: with 800 threads alive, each of which memprof keeps walks for (a memo of
# its own, tests/progs/alive_threads.c), a snapshot counts that memory as memprof's, not
# as the program's memory no call explains, and a leak check does not read it as roots.
# memprof knew only 256 of its regions: the memos of the others were reported as 30 MB
# of the program's anonymous memory, and read as 28 MB of roots. And 800 threads that
# made one allocation each cost memprof little memory: no memo for so few captures.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

json_number() { # json_number KEY FILE: the first "KEY": N
	sed -n "s/^ *\"$1\": \([0-9]*\).*/\1/p" "$2" | head -n 1
}

threads=800
env MEMPROF_QUIET=1 MEMPROF_RSS_WATCH=0 MEMPROF_SNAPSHOT_PEAK=0 \
	MEMPROF_SNAPSHOT_SIGNAL=SIGUSR2 MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1 \
	MEMPROF_OUTPUT="$(pwd)/alive.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$MEMPROF_BUILD/tests/progs/alive_threads" "$threads" 100 || fail "exit status"
[ -f alive.trace ] || fail "no trace"

"$memprof" memory --json --snapshot 1 alive.trace >memory.json || fail "memory"
grep -q '"reason": "signal"' memory.json || fail "snapshot 1 is not the signal's"
own=$(json_number memprof_rss_bytes memory.json)
unexplained=$(json_number anon_unexplained_bytes memory.json)
echo "  $threads threads alive: memprof's RSS $own bytes, the program's unexplained $unexplained"
# Each memo's tables are written when it is made: 32 KiB a thread at least.
[ "${own:-0}" -ge $((threads * 32768)) ] || fail "memprof's RSS $own bytes"
# What is left unexplained is glibc's (its arenas): far less than a memo a thread.
[ "${unexplained:-0}" -le $((threads * 8192)) ] || fail "unexplained RSS $unexplained bytes"

"$memprof" leaks --json --check 1 alive.trace >leaks.json || fail "leaks"
grep -q '"reason": "signal"' leaks.json || fail "check 1 is not the signal's"
roots=$(json_number root_bytes leaks.json)
echo "  the check with them alive read $roots bytes of roots"
# Their stacks' touched pages and the program's data, not the memos.
[ "${roots:-0}" -le $((threads * 16384)) ] || fail "$roots bytes of roots"

env MEMPROF_QUIET=1 MEMPROF_RSS_WATCH=0 MEMPROF_SNAPSHOT_PEAK=0 \
	MEMPROF_SNAPSHOT_SIGNAL=SIGUSR2 MEMPROF_LEAK_CHECK_SIGNAL=SIGUSR1 \
	MEMPROF_OUTPUT="$(pwd)/one.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$MEMPROF_BUILD/tests/progs/alive_threads" "$threads" 1 || fail "exit status, one each"
"$memprof" memory --json --snapshot 1 one.trace >one.json || fail "memory, one each"
own=$(json_number memprof_rss_bytes one.json)
echo "  $threads threads of one allocation each: memprof's RSS $own bytes"
# A page of trace a thread (its chunk), and memprof's tables: no memo.
[ "${own:-0}" -le $((threads * 8192)) ] || fail "memprof's RSS $own bytes, one allocation each"
[ "$failures" -eq 0 ]
