#!/bin/sh
# bench/leak_scan.sh: the cost of the exit leak check per live block and per live MiB.
#
# bench/leak_scan_bench.c holds BLOCKS blocks of SIZE bytes at exit (a linked list held
# by a global, every 64th block lost: every block is reached and read). Two heaps: many
# small blocks (default 4M x 64 B: the per-block cost dominates) and few large ones
# (default 4096 x 64 KiB: the per-byte cost dominates), RUNS times each, with
# MEMPROF_LEAK_CHECK=0 and =1, interleaved. The program waits WAIT_MS (default 1000)
# before exit(), as a program whose heap was built a while before does: the check then
# finds the live set folded. Prints, per heap, the median time from the program's exit()
# to its end either way, the check's own time as the trace records it (scan_ns), and the
# peak RSS; then the check's cost per live block and per live MiB. WAIT_MS=0 shows a
# program that exits right after building its heap (the building's records are folded
# at exit).
#
#   SMALL=4194304x64 LARGE=4096x65536 WAIT_MS=1000 RUNS=3 bench/leak_scan.sh
#   (make bench-leakscan)
set -eu
. "$(dirname "$0")/common.sh"
small=${SMALL:-4194304x64}
large=${LARGE:-4096x65536}
runs=${RUNS:-3}
wait_ms=${WAIT_MS:-1000}
bench_start leakscan
bench_host

# One run of BLOCKS x SIZE with MEMPROF_LEAK_CHECK=$4: appends "exit_ns maxrss_kib" to
# $3; the child's trace (the larger of the two processes') becomes child.trace.
measure_scan() {
	rm -f ./*.trace
	env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/t.%p.trace" MEMPROF_LEAK_CHECK="$4" \
		LD_PRELOAD="$build/libmemprof.so" "$build/bench/leak_scan_bench" "$1" "$2" \
		"$wait_ms" >>"$3"
	mv "$(ls -S ./t.*.trace | head -n 1)" child.trace
}

# One heap: prints its line and sets scan (median ns) for the figures at the end.
heap() {
	blocks=${1%x*}
	size=${1#*x}
	i=1
	while [ "$i" -le "$runs" ]; do
		measure_scan "$blocks" "$size" "off_$1.txt" 0
		measure_scan "$blocks" "$size" "on_$1.txt" 1
		"$build/memprof" leaks --json child.trace |
			sed -n 's/^ *"scan_ns": \([0-9]*\).*/\1/p' >>"scan_$1.txt"
		i=$((i + 1))
	done
	off=$(cut -d' ' -f1 "off_$1.txt" | median)
	on=$(cut -d' ' -f1 "on_$1.txt" | median)
	scan=$(median <"scan_$1.txt")
	off_rss=$(cut -d' ' -f2 "off_$1.txt" | median)
	on_rss=$(cut -d' ' -f2 "on_$1.txt" | median)
	printf '  %8d x %6d B: exit() to end %8.1f ms without the check, %8.1f ms with it; the check %8.1f ms; peak RSS +%d KiB\n' \
		"$blocks" "$size" "$(echo "$off / 1000000" | bc -l)" "$(echo "$on / 1000000" | bc -l)" \
		"$(echo "$scan / 1000000" | bc -l)" "$((on_rss - off_rss))"
}

echo "exit leak check ($wait_ms ms after the heap was built), median of $runs interleaved runs per heap"
heap "$small"
small_scan=$scan small_blocks=${small%x*}
heap "$large"
large_scan=$scan large_mib=$(( ${large%x*} * ${large#*x} / 1048576 ))
printf '  per live block: %.1f ns (small blocks); per live MiB: %.2f ms (large blocks)\n' \
	"$(echo "$small_scan / $small_blocks" | bc -l)" \
	"$(echo "$large_scan / $large_mib / 1000000" | bc -l)"
