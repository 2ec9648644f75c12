#!/bin/sh
# bench/sampling.sh: how close sampled estimates come to the truth, and how big a long
# sampled trace grows.
#
# 1. tests/progs/sample_mix allocates TOTAL_MIB from three sites (60/30/10% of the bytes,
#    mixed sizes) and prints the exact bytes per site; it runs RUNS times sampled at 512 KiB
#    (each run has its own random seed) and the script prints each site's estimate error
#    and share, with the spread over the runs.
# 2. bench/alloc_bench runs for about SECONDS seconds sampled at 512 KiB; the trace size
#    per minute is printed.
#
#   TOTAL_MIB=16384 RUNS=10 SECONDS_LONG=60 bench/sampling.sh
set -eu
. "$(dirname "$0")/common.sh"
total=${TOTAL_MIB:-16384}
runs=${RUNS:-10}
long=${SECONDS_LONG:-60}
bench_start sampling

echo "sample_mix: $total MiB from three sites, sampled at 512 KiB, $runs runs"
i=1
while [ "$i" -le "$runs" ]; do
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/mix.$i.trace" MEMPROF_SAMPLE_BYTES=512k \
		LD_PRELOAD="$build/libmemprof.so" "$build/tests/progs/sample_mix" "$total" 524288 \
		>truth.txt
	"$build/memprof" flamegraph "mix.$i.trace" 2>/dev/null |
		awk -v run="$i" 'NR == FNR { truth[$1] = $2; next }
			{ n = split($1, frames, ";"); site = frames[n]
			  if (site in truth) est[site] += $2 }
			END { for (s in truth) { t += truth[s]; e += est[s] }
			      for (s in truth)
				printf "%s %d %.3f %.3f %.3f\n", s, run, 100 * (est[s] / truth[s] - 1),
					100 * truth[s] / t, 100 * est[s] / e
			      printf "total %d %.3f 100 100\n", run, 100 * (e / t - 1) }' \
			truth.txt - >>errors.txt
	i=$((i + 1))
done
sort errors.txt | awk '{ key = $1; err = $3; n[key]++; sum[key] += err; sq[key] += err * err
		if (!(key in lo) || err < lo[key]) lo[key] = err
		if (!(key in hi) || err > hi[key]) hi[key] = err
		share[key] = $4; eshare[key] += $5 }
	END { printf "  %-7s %14s %16s %20s %16s\n", "site", "true share", "mean est. share",
		"error: mean (sd)", "min .. max"
	      for (k in n) { m = sum[k] / n[k]; sd = sqrt(sq[k] / n[k] - m * m)
		printf "  %-7s %13.2f%% %15.2f%% %11.2f%% (%4.2f%%) %7.2f%% .. %5.2f%%\n", k,
			share[k], eshare[k] / n[k], m, sd, lo[k], hi[k] } }'

echo "alloc_bench sampled at 512 KiB for about $long s:"
"$build/bench/alloc_bench" 2 1000000 >/dev/null # warm up, and size one round
start=$(date +%s%N)
"$build/bench/alloc_bench" 2 1000000 >/dev/null
round_ns=$(($(date +%s%N) - start))
allocs=$((1000000 * long * 1000000000 / round_ns))
"$runner" env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/long.trace" \
	MEMPROF_SAMPLE_BYTES=512k LD_PRELOAD="$build/libmemprof.so" "$build/bench/alloc_bench" 2 \
	"$allocs" >run.txt
wall_ns=$(tail -n 1 run.txt | cut -d' ' -f1)
# The file is sparse (chunks are reserved ahead and written as they fill): its length is
# an upper bound, the blocks on disk what was written.
size=$(stat -c %s long.trace)
disk=$(($(stat -c %b long.trace) * $(stat -c %B long.trace)))
"$build/memprof" report --json long.trace 2>/dev/null >long.json
samples=$(awk -F'[:,]' '/"samples"/ { print $2 + 0; exit }' long.json)
counted=$(awk -F'[:,]' '/"window_samples"/ { print $2 + 0; exit }' long.json)
allocated=$(awk -F'[:,]' '/^  "allocated_bytes"/ { printf "%.0f\n", $2; exit }' long.json)
printf '  %d allocations per thread in %.1f s (%.1f GB/s estimated): %d samples, %d of them freed within the window\n' \
	"$allocs" "$(echo "$wall_ns / 1000000000" | bc -l)" "$(echo "$allocated / $wall_ns" | bc -l)" \
	"$samples" "$counted"
printf '  trace %d bytes long, %d on disk = %.1f KiB per minute (target < 1024)\n' \
	"$size" "$disk" "$(echo "$size / 1024 * 60000000000 / $wall_ns" | bc -l)"
