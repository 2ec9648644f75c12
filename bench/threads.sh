#!/bin/sh
# bench/threads.sh: what memprof adds to each thread a program starts: build/bench/
# thread_churn (THREADS threads, default 1000, one after another, ALLOCS allocations each,
# default 10) RUNS times (default 7) in each configuration, interleaved: no profiler,
# memprof, memprof without the exit leak check, heaptrack when installed, and with
# BEFORE_LIB set (a libmemprof.so built from an older tree) that library. Prints the
# median wall and CPU times, their ratios to no profiler, the time memprof adds per
# thread, and the bytes of trace per thread.
#
#   RUNS=7 THREADS=1000 ALLOCS=10 BEFORE_LIB=... bench/threads.sh      (part of make bench)
set -eu
. "$(dirname "$0")/common.sh"
runs=${RUNS:-7}
threads=${THREADS:-1000}
allocs=${ALLOCS:-10}
before=${BEFORE_LIB:-}
bench_start threads
bench_host
program="$build/bench/thread_churn"
if [ ! -x "$program" ]; then
	echo "bench: $program is missing: run 'make bench' (or 'make $program') first" >&2
	exit 1
fi
have_heaptrack=0
command -v heaptrack >/dev/null 2>&1 && have_heaptrack=1
configs="none memprof nocheck"
[ "$have_heaptrack" = 0 ] || configs="$configs heaptrack"
[ -z "$before" ] || configs="$configs before"

i=1
while [ "$i" -le "$runs" ]; do
	for config in $configs; do
		rm -f ./*.trace ht.*
		case $config in
		none) measure none.txt env MEMPROF_NONE=1 "$program" "$threads" "$allocs" ;;
		memprof)
			measure memprof.txt env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/m.trace" \
				LD_PRELOAD="$build/libmemprof.so" "$program" "$threads" "$allocs"
			wc -c <m.trace >>bytes.txt ;;
		nocheck) measure nocheck.txt env MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 \
			MEMPROF_OUTPUT="$work/n.trace" LD_PRELOAD="$build/libmemprof.so" \
			"$program" "$threads" "$allocs" ;;
		heaptrack) measure heaptrack.txt env heaptrack -o "$work/ht" \
			"$program" "$threads" "$allocs" ;;
		before)
			measure before.txt env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/b.trace" \
				LD_PRELOAD="$before" "$program" "$threads" "$allocs"
			wc -c <b.trace >>before_bytes.txt ;;
		esac
	done
	i=$((i + 1))
done
echo "thread churn: $threads threads one after another, $allocs allocations each," \
	"median of $runs interleaved runs"
none_wall=$(cut -d' ' -f1 none.txt | median)
none_cpu=$(cut -d' ' -f3 none.txt | median)
for config in $configs; do
	wall=$(cut -d' ' -f1 "$config.txt" | median)
	cpu=$(cut -d' ' -f3 "$config.txt" | median)
	case $config in
	none) name="no profiler" ;;
	memprof) name="memprof" ;;
	nocheck) name="memprof, LEAK_CHECK=0" ;;
	heaptrack) name="heaptrack" ;;
	before) name="before" ;;
	esac
	printf '  %-22s wall %8.1f ms %6.2fx   CPU %8.1f ms %6.2fx   +%6.1f us a thread\n' "$name" \
		"$(echo "$wall / 1000000" | bc -l)" "$(echo "$wall / $none_wall" | bc -l)" \
		"$(echo "$cpu / 1000000" | bc -l)" "$(echo "$cpu / $none_cpu" | bc -l)" \
		"$(echo "($wall - $none_wall) / 1000 / $threads" | bc -l)"
done
printf '  trace: %d bytes a thread' "$(($(median <bytes.txt) / threads))"
[ -z "$before" ] || printf ' (before: %d)' "$(($(median <before_bytes.txt) / threads))"
echo
