#!/bin/sh
# bench/leak_python.sh: the exit leak check of a program with many events and few live
# blocks at exit: /usr/bin/python3 (by its path) with PYTHONMALLOC=malloc building a
# 2M-entry dict (about 12M events; 4M blocks live at the peak, 20 at exit). RUNS
# interleaved runs each with no profiler, memprof with MEMPROF_LEAK_CHECK=0 and with the
# check, and heaptrack when installed; prints the medians of wall time, CPU time and peak
# RSS, memprof's ratios to no profiler and to heaptrack (issue 11's targets: <= 2.5x and
# <= 0.5), the exit check's own cost as the trace records it (scan_ns: folding the
# last records, stopping the threads, the scan) and what the program's exit waited for
# in all: from the exit snapshot's start to the trace's end (the snapshot, the leak
# thread's round under way, the check). With BEFORE_LIB set (a libmemprof.so built from
# an older tree), that library with the check runs in the same rounds too.
#
#   RUNS=5 ENTRIES=2000000 BEFORE_LIB=... bench/leak_python.sh      (part of make bench)
set -eu
. "$(dirname "$0")/common.sh"
runs=${RUNS:-5}
entries=${ENTRIES:-2000000}
before=${BEFORE_LIB:-}
python=/usr/bin/python3
bench_start leakpy
bench_host
if [ ! -x "$python" ]; then
	echo "leak check on python3: $python not found, skipped"
	exit 0
fi
printf 'd = {}\nfor i in range(%d):\n    d[i] = str(i)\n' "$entries" >dict.py

have_heaptrack=0
command -v heaptrack >/dev/null 2>&1 && have_heaptrack=1
configs="none off on"
[ "$have_heaptrack" = 0 ] || configs="$configs heaptrack"
[ -z "$before" ] || configs="$configs before"

i=1
while [ "$i" -le "$runs" ]; do
	measure none.txt env PYTHONMALLOC=malloc "$python" dict.py
	rm -f ./*.trace
	measure off.txt env PYTHONMALLOC=malloc MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 \
		MEMPROF_OUTPUT="$work/off.trace" LD_PRELOAD="$build/libmemprof.so" "$python" dict.py
	measure on.txt env PYTHONMALLOC=malloc MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/on.trace" \
		LD_PRELOAD="$build/libmemprof.so" "$python" dict.py
	"$build/memprof" leaks --json on.trace | sed -n 's/^ *"scan_ns": \([0-9]*\).*/\1/p' >>scan.txt
	exit_wait on.trace >>exit.txt
	if [ -n "$before" ]; then
		rm -f before.trace
		measure before.txt env PYTHONMALLOC=malloc MEMPROF_QUIET=1 \
			MEMPROF_OUTPUT="$work/before.trace" LD_PRELOAD="$before" "$python" dict.py
		"$build/memprof" leaks --json before.trace |
			sed -n 's/^ *"scan_ns": \([0-9]*\).*/\1/p' >>before_scan.txt
		exit_wait before.trace >>before_exit.txt
	fi
	if [ "$have_heaptrack" = 1 ]; then
		rm -f ht.py.*
		measure heaptrack.txt env PYTHONMALLOC=malloc heaptrack -o "$work/ht.py" \
			"$python" dict.py
	fi
	i=$((i + 1))
done
events=$("$build/memprof" report --json on.trace |
	awk -F'[:,]' '/^  "(allocations|frees|reallocs)"/ { n += $2 } END { print n }')
live=$("$build/memprof" leaks --json on.trace |
	awk -F'[:,]' '/^ *"blocks":/ { print $2; exit }')
echo "leak check on python3 (PYTHONMALLOC=malloc, a $entries-entry dict): $events events," \
	"$live blocks live at exit, median of $runs interleaved runs"
for config in $configs; do
	wall=$(cut -d' ' -f1 "$config.txt" | median)
	rss=$(cut -d' ' -f2 "$config.txt" | median)
	cpu=$(cut -d' ' -f3 "$config.txt" | median)
	case $config in
	none) name="no profiler" ;;
	off) name="memprof, no check" ;;
	on) name="memprof, exit check" ;;
	heaptrack) name="heaptrack" ;;
	before) name="before, exit check" ;;
	esac
	printf '  %-20s wall %8.1f ms   CPU %8.1f ms   peak RSS %7d KiB\n' "$name" \
		"$(echo "$wall / 1000000" | bc -l)" "$(echo "$cpu / 1000000" | bc -l)" "$rss"
done
# spread LABEL FILE: the median and the worst of FILE's nanoseconds, in ms.
spread() {
	printf '  %s: median %.1f ms, worst %.1f ms\n' "$1" \
		"$(echo "$(median <"$2") / 1000000" | bc -l)" \
		"$(echo "$(sort -n "$2" | tail -n 1) / 1000000" | bc -l)"
}
spread 'the exit check (scan_ns; target <= 100 ms)' scan.txt
[ -z "$before" ] || spread "before's exit check" before_scan.txt
spread 'the exit, from the exit snapshot to the end' exit.txt
[ -z "$before" ] || spread "before's exit" before_exit.txt
none_wall=$(cut -d' ' -f1 none.txt | median)
checked="off on"
[ -z "$before" ] || checked="$checked before"
for config in $checked; do
	wall=$(cut -d' ' -f1 "$config.txt" | median)
	line=$(printf '  %-20s %.2fx no profiler' "$config:" "$(echo "$wall / $none_wall" | bc -l)")
	if [ "$have_heaptrack" = 1 ]; then
		heaptrack_wall=$(cut -d' ' -f1 heaptrack.txt | median)
		line="$line, $(printf '%.2f' "$(echo "$wall / $heaptrack_wall" | bc -l)") of heaptrack"
	fi
	echo "$line (wall; targets <= 2.5x and <= 0.5)"
done
