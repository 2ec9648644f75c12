#!/bin/sh
# fd_exhaust.sh: a program that takes every descriptor it may have (EMFILE, as a server
# under load does; tests/progs/fd_exhaust.c, with the usual limit of 1024) keeps being
# recorded and checked. Each new chunk of the trace used to open the file again: the
# first chunk made while no descriptor was left stopped the recording, and the trace held
# none of its 100000 allocations. memprof keeps the trace's descriptor (and /proc's),
# at 700 and up: the program opens as many files fewer as memprof holds there (at most
# 5). Exiting with every descriptor still taken, the leak check, which reads /proc,
# borrows /proc's number for each file it reads: the lost block is found.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/fd_exhaust"

"$prog" 50000 >plain.out 2>&1 || fail "without memprof: status $?: $(cat plain.out)"
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/fx.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" 50000 >traced.out 2>traced.err
status=$?
[ "$status" -eq 0 ] || fail "with memprof: status $status: $(cat traced.out traced.err)"
plain=$(sed -n 's/^full //p' plain.out)
traced=$(sed -n 's/^full //p' traced.out)
[ -n "$plain" ] && [ -n "$traced" ] && [ "$traced" -le "$plain" ] && [ "$traced" -ge $((plain - 5)) ] ||
	fail "descriptors opened: $traced with memprof, $plain without"
grep -q '^done$' traced.out || fail "output: $(cat traced.out)"
[ -s traced.err ] && fail "memprof said: $(cat traced.err)"
"$memprof" report fx.trace >report.out 2>&1 || fail "report failed: $(cat report.out)"
grep -q "^memprof report for 'fx.trace'\$" report.out || fail "trace not whole: $(head -1 report.out)"
# Both rounds of 50000, and the output's buffer (which libc may free at exit).
grep -Eq '^Calls: *100,001 allocations, 100,00[01] frees' report.out ||
	fail "calls: $(grep '^Calls' report.out)"

MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/full.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" 50000 full >full.out 2>full.err || fail "full: status $?: $(cat full.out full.err)"
[ -s full.err ] && fail "full: memprof said: $(cat full.err)"
"$memprof" leaks full.trace >leaks.out 2>&1
grep -q "^memprof leaks for 'full.trace': 4,242 bytes (4.1 KiB) leaked in 1 block" leaks.out &&
	grep -q '^  definitely lost: 4,242 bytes (4.1 KiB) in 1 block$' leaks.out ||
	fail "full: the check at exit: $(head -6 leaks.out)"
# The same with memprof's threads reading /proc at once, all of them on /proc's lent
# number, while the program allocates at its limit for 100 ms (a snapshot and an RSS
# reading every millisecond): the number goes from one to the next as each file closes,
# the exit snapshot reads smaps and the leak check finds the lost block. Lent until the
# next read under /proc, and with a failed thread listing taken for the program's end,
# the session's start lost the exit snapshot's mappings or the check's kinds in most runs.
# (While the program is still opening files, one of its open() calls may take the
# number in the microseconds between memprof's close and open: no test races that.)
# Every snapshot, not only the exit's, read smaps and the process's figures: an open of
# one of memprof's threads that took the number as another's loan began or ended lost
# one of them in about one run in three. Five runs.
round=1
while [ "$round" -le 5 ]; do
	rm -f slow.trace
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/slow.trace" MEMPROF_SNAPSHOT_MS=1 MEMPROF_RSS_WATCH_MS=1 \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" 50000 full 100 >slow.out 2>slow.err ||
		fail "slow $round: status $?: $(cat slow.out slow.err)"
	[ -s slow.err ] && fail "slow $round: memprof said: $(cat slow.err)"
	"$memprof" leaks slow.trace >slow_leaks.out 2>&1
	grep -q '^  definitely lost: 4,242 bytes (4.1 KiB) in 1 block$' slow_leaks.out ||
		fail "slow $round: the check at exit: $(head -6 slow_leaks.out)"
	# The exit snapshot read smaps: its mappings of the program's file are there.
	"$memprof" memory slow.trace >slow_memory.out 2>&1
	grep -Eq '^  file +[0-9.]+ [KM]iB' slow_memory.out ||
		fail "slow $round: the exit snapshot: $(head -12 slow_memory.out)"
	"$memprof" memory --json slow.trace >slow_memory.json 2>&1
	snapshots=$(sed -n 's/^  "snapshots": \([0-9]*\),$/\1/p' slow_memory.json)
	[ "${snapshots:-0}" -ge 20 ] || fail "slow $round: snapshots: '$snapshots'"
	index=1
	while [ "$index" -le "${snapshots:-0}" ]; do
		"$memprof" memory --json --snapshot "$index" slow.trace >one.json 2>&1 ||
			fail "slow $round: snapshot $index of $snapshots: $(head -1 one.json)"
		grep -Eq '"(threads|oom_score|overcommit_mode)": null' one.json &&
			fail "slow $round: snapshot $index of $snapshots lacks a figure of /proc"
		index=$((index + 1))
	done
	round=$((round + 1))
done
# The last thread ending with every descriptor taken, in a root without /proc (`last`):
# nothing tells memprof's threads the program is gone, and a look at its threads that
# cannot be read must not keep them waiting forever: the process ends within seconds
# (three looks a second apart), as alone it ends at once.
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p empty_root
	"$prog" 1000 last "$(pwd)/empty_root" >plain_last.out 2>&1 ||
		fail "last: without memprof: status $?: $(cat plain_last.out)"
	rm -f last.trace
	start=$(date +%s)
	timeout -s KILL 60 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/last.trace" \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" 1000 last "$(pwd)/empty_root" \
		>last.out 2>last.err
	status=$?
	elapsed=$(($(date +%s) - start))
	[ "$status" -eq 0 ] || fail "last: status $status under memprof: $(cat last.out last.err)"
	cmp -s plain_last.out last.out || fail "last: output under memprof: $(cat last.out)"
	[ "$elapsed" -le 10 ] || fail "last: the process took $elapsed s to end"
	# The check cannot read /proc there, and says why.
	grep -q "^memprof: leak check failed (/proc not reachable from the process's root)" last.err ||
		fail "last: memprof said: $(cat last.err)"
else
	echo "SKIP last: needs root (uid $(id -u))"
fi
[ "$failures" -eq 0 ]
