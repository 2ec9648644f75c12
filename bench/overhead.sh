#!/bin/sh
# bench/overhead.sh: what sampled recording costs a malloc-heavy program, in CPU time.
#
# Runs bench/alloc_bench (THREADS x ALLOCS allocations) RUNS times in each configuration,
# interleaved: no profiler, a bare interposer that only forwards malloc and free
# (bench/bare_shim.c: the cost of interposition itself), and memprof sampled at 512 KiB.
# Prints the median CPU time (user + system, all threads) and wall time of each, and the
# ratios to no profiler. CPU time is the steadier figure on a shared 2-core machine.
#
#   THREADS=2 ALLOCS=2000000 RUNS=9 bench/overhead.sh
set -eu
. "$(dirname "$0")/common.sh"
threads=${THREADS:-2}
allocs=${ALLOCS:-2000000}
runs=${RUNS:-9}
bench_start overhead
bench="$build/bench/alloc_bench"

i=1
while [ "$i" -le "$runs" ]; do
	measure none.txt env MEMPROF_NONE=1 "$bench" "$threads" "$allocs"
	measure shim.txt env LD_PRELOAD="$build/bench/bare_shim.so" "$bench" "$threads" "$allocs"
	rm -f ./*.trace
	measure sampled.txt env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/sampled.trace" \
		MEMPROF_SAMPLE_BYTES=512k LD_PRELOAD="$build/libmemprof.so" "$bench" "$threads" "$allocs"
	i=$((i + 1))
done

none_cpu=$(cut -d' ' -f3 none.txt | median)
none_wall=$(cut -d' ' -f1 none.txt | median)
echo "alloc_bench: $threads threads x $allocs allocations, median of $runs interleaved runs"
for config in none shim sampled; do
	cpu=$(cut -d' ' -f3 "$config.txt" | median)
	wall=$(cut -d' ' -f1 "$config.txt" | median)
	case $config in
	none) name="no profiler" ;;
	shim) name="bare interposer" ;;
	sampled) name="memprof, 512 KiB" ;;
	esac
	printf '  %-17s CPU %8.1f ms (%+5.1f%%)   wall %8.1f ms (%+5.1f%%)\n' "$name" \
		"$(echo "$cpu / 1000000" | bc -l)" "$(echo "($cpu / $none_cpu - 1) * 100" | bc -l)" \
		"$(echo "$wall / 1000000" | bc -l)" "$(echo "($wall / $none_wall - 1) * 100" | bc -l)"
done
