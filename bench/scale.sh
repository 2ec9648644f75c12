#!/bin/sh
# bench/scale.sh: the analyzer at the scale of real heaps.
#
# 1. Python 3 (Debian's, PYTHONMALLOC=malloc so every object is a malloc) building a
#    dict of DICT_ENTRIES entries: millions of blocks live at the peak. Profiled once
#    with memprof and once with heaptrack; then each memprof command and heaptrack_print
#    RUNS times, interleaved: median wall time, peak RSS, events per second, bytes of
#    the analyzer's peak RSS per block live at the heap peak, and the time to an answer
#    (profiled run + report) against heaptrack's (profiled run + heaptrack_print), the
#    profiled runs' medians of PROFILE_RUNS (default 3) interleaved.
# 2. With EVENTS > 0: a trace of EVENTS events (alloc_bench, 2 threads, almost nothing
#    live), generated here and deleted after; `memprof report`'s time and peak RSS, which
#    must stay bounded by live blocks and stacks, not by the trace's length; up to 100M
#    events, `memprof html`'s time against report's (EVENTS=16000000: the 16M-event
#    trace of memprof html's bound).
#
# With BEFORE_MEMPROF set (a memprof built from an older tree), part 1 also runs each of its
# commands on the same trace, interleaved with the new ones, and prints its lines too;
# part 2 runs its report once after the new one.
#
#   DICT_ENTRIES=2000000 RUNS=3 EVENTS=0 bench/scale.sh       (make bench runs part 1;
#   make bench-scale both, with EVENTS=1000000000: about 7 GB of disk for a few minutes)
#   BEFORE_MEMPROF=/path/to/old/build/memprof RUNS=5 bench/scale.sh
set -eu
. "$(dirname "$0")/common.sh"
entries=${DICT_ENTRIES:-2000000}
runs=${RUNS:-3}
profile_runs=${PROFILE_RUNS:-3}
events_wanted=${EVENTS:-0}
before=${BEFORE_MEMPROF:-}
python=/usr/bin/python3
[ -z "$before" ] || before=$(cd "$(dirname "$before")" && pwd)/$(basename "$before")
bench_start scale
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

printf 'd = {}\nfor i in range(%s):\n    d[str(i)] = i\n' "$entries" >dict.py
have_heaptrack=0
command -v heaptrack >/dev/null 2>&1 && have_heaptrack=1

# The profiled runs, PROFILE_RUNS of each interleaved: one run alone was as much as 0.8 s
# off, when it came right after a program freed a few hundred MB (the VM's host backs
# that memory afresh). The last traces are the ones analyzed.
i=1
while [ "$i" -le "$profile_runs" ]; do
	rm -f "$work"/py*.trace
	measure profiled.txt env PYTHONMALLOC=malloc MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 \
		MEMPROF_OUTPUT="$work/py.trace" LD_PRELOAD="$build/libmemprof.so" "$python" dict.py
	if [ "$have_heaptrack" = 1 ]; then
		rm -f "$work"/py.heaptrack*
		measure heaptracked.txt env PYTHONMALLOC=malloc heaptrack -o "$work/py.heaptrack" \
			"$python" dict.py
	fi
	i=$((i + 1))
done
[ "$have_heaptrack" = 1 ] && ht_trace=$(ls "$work"/py.heaptrack*)

commands="report leaks flamegraph memory"
# Which memprof goes first alternates: the first command after heaptrack_print gets its
# memory from pages the VM's host must back afresh (its 56 MiB freed are not enough for
# a 92 MiB table), which cost report 55-75 ms more than the second one in a test.
i=1
while [ "$i" -le "$runs" ]; do
	for command in $commands; do
		[ -z "$before" ] || [ $((i % 2)) = 1 ] ||
			measure "before_$command.txt" "$before" "$command" py.trace
		measure "$command.txt" "$build/memprof" "$command" py.trace
		[ -z "$before" ] || [ $((i % 2)) = 0 ] ||
			measure "before_$command.txt" "$before" "$command" py.trace
	done
	[ "$have_heaptrack" = 1 ] && measure heaptrack_print.txt heaptrack_print "$ht_trace"
	i=$((i + 1))
done

json=$("$build/memprof" report --json py.trace)
field() { printf '%s\n' "$json" | sed -n "s/^ *\"$1\": \([0-9]*\).*/\1/p" | head -n 1; }
events=$(printf '%s\n' "$json" |
	awk -F'[:,]' '/^  "(allocations|frees|reallocs|mmaps|munmaps|mremaps|brks|failed_calls)"/ { n += $2 } END { print n }')
peak_blocks=$(field peak_heap_blocks)
wall() { cut -d' ' -f1 "$1" | median; }
rss() { cut -d' ' -f2 "$1" | sort -n | tail -n 1; }

echo "python3 building a $entries-entry dict (PYTHONMALLOC=malloc): $events events," \
	"$peak_blocks blocks live at the heap peak, trace $(stat -c %s py.trace) bytes"
echo "  median of $runs interleaved runs; RSS is the peak over the runs"
# One line per command of the memprof whose results are in PREFIX*.txt.
print_commands() {
	for command in $commands; do
		w=$(wall "$1$command.txt")
		r=$(rss "$1$command.txt")
		printf '  %-7s %-10s %7.2f s  %6.1f M events/s  %7.1f MiB  %5.1f bytes per live block\n' \
			"$2" "$command" "$(echo "$w / 1000000000" | bc -l)" \
			"$(echo "$events * 1000 / $w" | bc -l)" "$(echo "$r / 1024" | bc -l)" \
			"$(echo "$r * 1024 / $peak_blocks" | bc -l)"
	done
	printf '  %-7s memory / report: %.2f (target <= 1.5)\n' "$2" \
		"$(echo "$(wall "$1memory.txt") / $(wall "$1report.txt")" | bc -l)"
}
[ -z "$before" ] || print_commands before_ before
print_commands "" memprof
report=$(wall report.txt)
if [ "$have_heaptrack" = 1 ]; then
	ht=$(wall heaptrack_print.txt)
	printf '  heaptrack_print %7.2f s  %7.1f MiB; memprof report / heaptrack_print: %.2f (target <= 0.6)\n' \
		"$(echo "$ht / 1000000000" | bc -l)" "$(echo "$(rss heaptrack_print.txt) / 1024" | bc -l)" \
		"$(echo "$report / $ht" | bc -l)"
	[ -z "$before" ] || printf '  before: report / heaptrack_print: %.2f\n' \
		"$(echo "$(wall before_report.txt) / $ht" | bc -l)"
	ours=$(( $(wall profiled.txt) + report ))
	theirs=$(( $(wall heaptracked.txt) + ht ))
	printf '  time to an answer (profiled run + report, medians): memprof %.2f s, heaptrack %.2f s: %.2f (target <= 0.5; %s profiled runs each)\n' \
		"$(echo "$ours / 1000000000" | bc -l)" "$(echo "$theirs / 1000000000" | bc -l)" \
		"$(echo "$ours / $theirs" | bc -l)" "$profile_runs"
fi
rm -f py.trace "$work"/py.heaptrack*
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

[ "$events_wanted" -gt 0 ] || exit 0
# Every allocation of alloc_bench is freed again (after a window of 1024): two events.
per_thread=$((events_wanted / 4))
measure long_run.txt env MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 MEMPROF_OUTPUT="$work/long.trace" \
	LD_PRELOAD="$build/libmemprof.so" "$build/bench/alloc_bench" 2 "$per_thread"
measure long_report.txt "$build/memprof" report long.trace
long_events=$("$build/memprof" report --json long.trace |
	awk -F'[:,]' '/^  "(allocations|frees|reallocs)"/ { n += $2 } END { print n }')
w=$(wall long_report.txt)
printf 'alloc_bench, 2 threads: %s events, trace %s bytes, recorded in %.0f s\n' "$long_events" \
	"$(stat -c %s long.trace)" "$(echo "$(wall long_run.txt) / 1000000000" | bc -l)"
printf '  memprof report %.1f s (%.1f M events/s), peak RSS %.1f MiB\n' \
	"$(echo "$w / 1000000000" | bc -l)" "$(echo "$long_events * 1000 / $w" | bc -l)" \
	"$(echo "$(rss long_report.txt) / 1024" | bc -l)"
if [ -n "$before" ]; then
	measure before_long_report.txt "$before" report long.trace
	b=$(wall before_long_report.txt)
	printf '  before  report %.1f s (%.1f M events/s), peak RSS %.1f MiB\n' \
		"$(echo "$b / 1000000000" | bc -l)" "$(echo "$long_events * 1000 / $b" | bc -l)" \
		"$(echo "$(rss before_long_report.txt) / 1024" | bc -l)"
fi
# memprof html replays once more cheaply than report twice: it must stay within 2x.
if [ "$long_events" -le 100000000 ]; then
	measure long_html.txt "$build/memprof" html long.trace -o long.html
	h=$(wall long_html.txt)
	printf '  memprof html %.1f s, page %s bytes; html / report: %.2f (target <= 2)\n' \
		"$(echo "$h / 1000000000" | bc -l)" "$(stat -c %s long.html)" "$(echo "$h / $w" | bc -l)"
	rm -f long.html
fi
