#!/bin/sh
# racing_writers.sh: many processes started at the same moment with one fixed
# MEMPROF_OUTPUT (no %p) each keep one intact trace, named NAME, NAME.1, ... NAME.N-1:
# 16 of them three times, then 64; a later run (another process group) may replace
# the traces its predecessors left, never the ones of its own processes.
set -u
build="$MEMPROF_BUILD"
memprof="$build/memprof"
lib="$build/libmemprof.so"
racers="$build/tests/progs/racers"
prog="$build/tests/progs/full_disk"
failures=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

# The report of one run alone: what every racer's trace must say too.
LD_PRELOAD="$lib" MEMPROF_OUTPUT="$(pwd)/alone.trace" MEMPROF_QUIET=1 "$prog" 2000 0 \
	>/dev/null 2>&1
"$memprof" report alone.trace >alone.txt 2>&1 || fail "alone: report"
calls=$(grep '^Calls:' alone.txt)
[ -n "$calls" ] || fail "alone: no Calls line"

# check DIR N PIDS_FILE: DIR holds traces of N distinct processes that all say $calls,
# none incomplete, and no temporary file; the pids go to PIDS_FILE.
check() {
	dir=$1 want=$2 pids=$3
	: >"$pids"
	for trace in "$dir"/*.trace; do
		"$memprof" report "$trace" >r.txt 2>r.err
		code=$?
		if [ "$code" -ne 0 ] || [ -s r.err ] || ! grep -q "exited with status 0" r.txt ||
			[ "$(grep '^Calls:' r.txt)" != "$calls" ]; then
			fail "$dir: $(basename "$trace"): exit $code: $(cat r.err) $(grep -E '^(Calls|Process)' r.txt)"
		fi
		sed -n 's/^Process: .*(pid \([0-9]*\)[,)].*/\1/p' r.txt >>"$pids"
	done
	got=$(sort -u "$pids" | wc -l)
	[ "$got" -eq "$want" ] || fail "$dir: $got processes traced, want $want"
	[ "$(wc -l <"$pids")" -eq "$want" ] || fail "$dir: $(wc -l <"$pids") traces, want $want"
	ls "$dir" | grep -v '\.trace$' | grep -q . && fail "$dir: other files: $(ls "$dir")"
}

# race DIR N [-g]: N processes at once, all told MEMPROF_OUTPUT=DIR/fixed.trace.
race() {
	dir=$1 count=$2
	shift 2
	mkdir -p "$dir"
	"$racers" "$@" "$count" env LD_PRELOAD="$lib" MEMPROF_QUIET=1 \
		MEMPROF_OUTPUT="$(pwd)/$dir/fixed.trace" "$prog" 2000 0 >/dev/null 2>"$dir.err" ||
		fail "$dir: a racer failed: $(head -3 "$dir.err")"
}

for round in 1 2 3; do
	race "r16.$round" 16
	check "r16.$round" 16 "r16.$round.pids"
	[ -e "r16.$round/fixed.trace" ] && [ -e "r16.$round/fixed.15.trace" ] ||
		fail "r16.$round: names are not fixed.trace .. fixed.15.trace: $(ls "r16.$round")"
done
for round in 1; do
	race "r64.$round" 64
	check "r64.$round" 64 "r64.$round.pids"
done

# A second run over the traces of the first, from another process group: the old traces
# may be replaced (their writers ended, another run), each new process keeps one trace,
# and an old trace that stays is still whole.
cp r16.1.pids old.pids
race "r16.1" 16 -g
: >all.pids
for trace in r16.1/*.trace; do
	"$memprof" report "$trace" >r.txt 2>r.err || fail "again: $(basename "$trace"): $(cat r.err)"
	[ "$(grep '^Calls:' r.txt)" = "$calls" ] || fail "again: $(basename "$trace"): calls"
	sed -n 's/^Process: .*(pid \([0-9]*\)[,)].*/\1/p' r.txt >>all.pids
done
new=$(grep -vxF -f old.pids all.pids | sort -u | wc -l)
[ "$new" -eq 16 ] || fail "again: $new new processes traced, want 16"
[ "$(sort all.pids | uniq -d | wc -l)" -eq 0 ] || fail "again: a process has two traces"
echo "again: $(grep -cxF -f old.pids all.pids) of 16 old traces kept, 16 new"

[ "$failures" -eq 0 ]
