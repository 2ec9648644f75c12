#!/bin/sh
# bench/teardown.sh: the exit of a program that frees its whole heap as it ends, faster
# than memprof's leak thread can fold the frees: bench/teardown.c with each number of
# blocks in SIZES (32 bytes each), RUNS interleaved runs without a profiler and with memprof
# (and BEFORE_LIB, a libmemprof.so built from an older tree, if set). Prints the median
# wall times and, for memprof, what the exit waited for (from the exit snapshot's start to
# the trace's end: the fold of what the leak thread had not folded yet, then the check)
# and the check's scan alone (scan_ns), medians and worst. Issue 11's target for the exit
# is 100 ms with few blocks live, whatever the number of events.
#
#   RUNS=3 SIZES="4000000 16000000" BEFORE_LIB=... bench/teardown.sh   (make bench-teardown)
set -eu
. "$(dirname "$0")/common.sh"
runs=${RUNS:-3}
sizes=${SIZES:-4000000 16000000}
before=${BEFORE_LIB:-}
bench_start teardown
bench_host
program="$build/bench/teardown"

# traced NAME LIB BLOCKS: one run under LIB, its wall time to NAME.txt, its exit to
# NAME_exit.txt and its scan to NAME_scan.txt.
traced() {
	rm -f ./*.trace
	measure "$1.txt" env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/$1.trace" LD_PRELOAD="$2" \
		"$program" "$3"
	exit_wait "$1.trace" >>"$1_exit.txt"
	"$build/memprof" leaks --json "$1.trace" | sed -n 's/^ *"scan_ns": \([0-9]*\).*/\1/p' \
		>>"$1_scan.txt"
}

ms() { echo "$1 / 1000000" | bc -l; }

for blocks in $sizes; do
	rm -f ./*.txt
	i=1
	while [ "$i" -le "$runs" ]; do
		measure none.txt env MEMPROF_NONE=1 "$program" "$blocks"
		traced memprof "$build/libmemprof.so" "$blocks"
		[ -z "$before" ] || traced before "$before" "$blocks"
		i=$((i + 1))
	done
	echo "$blocks blocks of 32 bytes allocated, then freed as the program ends; median of $runs:"
	printf '  no profiler   wall %8.1f ms\n' "$(ms "$(cut -d' ' -f1 none.txt | median)")"
	for config in memprof before; do
		[ -f "$config.txt" ] || continue
		printf '  %-12s  wall %8.1f ms   exit %6.1f ms (worst %.1f)   scan %5.2f ms\n' \
			"$config" "$(ms "$(cut -d' ' -f1 "$config.txt" | median)")" \
			"$(ms "$(median <"${config}_exit.txt")")" \
			"$(ms "$(sort -n "${config}_exit.txt" | tail -n 1)")" \
			"$(ms "$(median <"${config}_scan.txt")")"
	done
done
