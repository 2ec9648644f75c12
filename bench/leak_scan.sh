#!/bin/sh
# bench/leak_scan.sh: the cost of the exit-time leak scan (MEMPROF_LEAK_CHECK) on a heap
# of BLOCKS blocks of SIZE bytes (default 16M x 64 B = 1 GiB requested), RUNS times each
# way, interleaved. Prints the median time from the program's exit() to its end with the
# check off and on, the scan's own time as recorded in the trace, and the peak RSS.
#
#   BLOCKS=16777216 SIZE=64 RUNS=3 bench/leak_scan.sh      (or: make bench-leakscan)
set -eu
. "$(dirname "$0")/common.sh"
blocks=${BLOCKS:-16777216}
size=${SIZE:-64}
runs=${RUNS:-3}
bench_start leakscan

# One run with MEMPROF_LEAK_CHECK=$2: appends "exit_ns maxrss_kib" to $1; the child's
# trace (the larger of the two processes' traces) becomes child.trace.
measure_scan() {
	rm -f ./*.trace
	env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/t.%p.trace" MEMPROF_LEAK_CHECK="$2" \
		LD_PRELOAD="$build/libmemprof.so" "$build/bench/leak_scan_bench" "$blocks" "$size" \
		>>"$1"
	mv "$(ls -S ./t.*.trace | head -n 1)" child.trace
}

i=1
while [ "$i" -le "$runs" ]; do
	measure_scan off.txt 0
	measure_scan on.txt 1
	"$build/memprof" leaks --json child.trace |
		sed -n 's/^ *"scan_ns": \([0-9]*\).*/\1/p' >>scan.txt
	i=$((i + 1))
done
trace_bytes=$(stat -c %s child.trace)
off=$(cut -d' ' -f1 off.txt | median)
on=$(cut -d' ' -f1 on.txt | median)
scan=$(median <scan.txt)
off_rss=$(cut -d' ' -f2 off.txt | median)
on_rss=$(cut -d' ' -f2 on.txt | median)
echo "leak scan: $blocks blocks x $size bytes held at exit, median of $runs interleaved runs"
printf '  exit() to end, MEMPROF_LEAK_CHECK=0  %8.1f ms\n' "$(echo "$off / 1000000" | bc -l)"
printf '  exit() to end, MEMPROF_LEAK_CHECK=1  %8.1f ms   (+%.1f ms)\n' \
	"$(echo "$on / 1000000" | bc -l)" "$(echo "($on - $off) / 1000000" | bc -l)"
printf '  the scan as the trace records it     %8.1f ms   (%.1f ns per block)\n' \
	"$(echo "$scan / 1000000" | bc -l)" "$(echo "$scan / $blocks" | bc -l)"
printf '  peak RSS: %d KiB with the check off, %d KiB on (+%d KiB); trace %d bytes\n' \
	"$off_rss" "$on_rss" "$((on_rss - off_rss))" "$trace_bytes"
