#!/bin/sh
# bench/rss_watch.sh: what the RSS watch and access snapshots cost (bench/README.md).
#
#  1. The watch's own CPU: `sleep 3` (nothing but the watch runs), MEMPROF_RSS_WATCH=0
#     against the default, RUNS interleaved runs; the difference of median CPU per second.
#  2. Short programs' run time, watch off (A) and on (B), paired (bench/spawn_pair.c:
#     A and B alternate, and the median of the differences B - A is what a busy 2-core
#     machine can still tell): coreutils `true` (ends before the first tick: starting and
#     ending the thread), sort of a 1 MB file, resident_bench 256 0 (RSS climbs to 256 MiB
#     in ~0.1 s: rss-peak snapshots), a shell running /bin/true 20 times (a thread per
#     process and per fork child). PAIRS pairs each.
#  3. A snapshot's cost per resident GiB: resident_bench 1024 2 (1 GiB written, then read
#     page by page for 2 s) with MEMPROF_SNAPSHOT_MS=250, with and without
#     MEMPROF_SNAPSHOT_ACCESS=1: the CPU of the interval snapshots taken once the whole GiB
#     is resident (cost_ns from the trace; with access, the clear included), and
#     the program's own speed through its memory (ns per page read).
#
#   RUNS=11 PAIRS=200 bench/rss_watch.sh
set -eu
. "$(dirname "$0")/common.sh"
runs=${RUNS:-11}
pairs=${PAIRS:-200}
bench_start rss
lib="$build/libmemprof.so"
rb="$build/bench/resident_bench"
head -c 700000 /dev/urandom | base64 >in.txt

i=1
while [ "$i" -le "$runs" ]; do
	for watch in 0 1; do
		rm -f ./*.trace
		measure "sleep.$watch.txt" env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/t.%p.trace" \
			MEMPROF_RSS_WATCH=$watch LD_PRELOAD="$lib" sleep 3
	done
	i=$((i + 1))
done

ms() { echo "$1 / 1000000" | bc -l; }
echo "RSS watch, off -> on"
off=$(cut -d' ' -f3 sleep.0.txt | median)
on=$(cut -d' ' -f3 sleep.1.txt | median)
printf '  sleep 3, median of %d interleaved runs: CPU %.2f -> %.2f ms: the watch costs %.0f us of CPU per second\n' \
	"$runs" "$(ms "$off")" "$(ms "$on")" "$(echo "($on - $off) / 3000" | bc -l)"

# pair NAME PAIRS COMMAND...: the command's wall time, watch off against on.
pair() {
	name=$1 count=$2
	shift 2
	rm -f ./*.trace
	common="PATH=$PATH MEMPROF_QUIET=1 MEMPROF_OUTPUT=$work/t.%p.trace LD_PRELOAD=$lib"
	# shellcheck disable=SC2086
	set -- $("$build/bench/spawn_pair" "$count" $common MEMPROF_RSS_WATCH=0 -- \
		$common MEMPROF_RSS_WATCH=1 -- "$@")
	printf '  %-6s wall %9.2f -> %9.2f ms, paired difference %+8.3f ms (%+5.1f%%), %d pairs\n' \
		"$name" "$(echo "$1 / 1000" | bc -l)" "$(echo "$2 / 1000" | bc -l)" \
		"$(echo "$3 / 1000" | bc -l)" "$(echo "$3 / $1 * 100" | bc -l)" "$count"
}
pair true "$pairs" true
pair sort "$((pairs / 2))" sort -o /dev/null "$work/in.txt"
pair fill "$((pairs / 10))" "$rb" 256 0
pair shell "$((pairs / 10))" sh -c 'i=0; while [ $i -lt 20 ]; do /bin/true; i=$((i+1)); done'

# Snapshots of a process with 1 GiB resident: none (the program's own speed), every
# 250 ms, every 250 ms with access.
for access in none 0 1; do
	j=1
	while [ "$j" -le 3 ]; do
		rm -f ./*.trace
		if [ "$access" = none ]; then
			env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/s.trace" LD_PRELOAD="$lib" \
				"$rb" 1024 2 >>"pages.$access.txt"
		else
			env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/s.trace" MEMPROF_SNAPSHOT_MS=250 \
				MEMPROF_SNAPSHOT_ACCESS=$access LD_PRELOAD="$lib" "$rb" 1024 2 >>"pages.$access.txt"
			"$build/memprof" memory --json s.trace | tr -d ' \n' |
				grep -o '"reason":"interval","time_ns":[0-9]*,"rss_bytes":[0-9]*,"virt_bytes":[0-9]*,"heap_live_bytes":[0-9]*,"heap_live_blocks":[0-9]*,"cost_ns":[0-9]*' |
				sed 's/.*"rss_bytes":\([0-9]*\).*"cost_ns":\([0-9]*\)/\1 \2/' |
				awk '$1 >= 1000 * 1048576' >>"snap.$access.txt"
		fi
		j=$((j + 1))
	done
done
echo "resident_bench 1024 2 (1 GiB written, then read page by page for 2 s), 3 runs each"
printf '  no interval snapshot: the program reads %.2f ns per page\n' \
	"$(sed 's/.*ns_per_page \([0-9.]*\).*/\1/' pages.none.txt | median)"
for access in 0 1; do
	cost=$(cut -d' ' -f2 "snap.$access.txt" | median)
	rss=$(cut -d' ' -f1 "snap.$access.txt" | median)
	page=$(sed 's/.*ns_per_page \([0-9.]*\).*/\1/' "pages.$access.txt" | median)
	printf '  every 250 ms, MEMPROF_SNAPSHOT_ACCESS=%s: %d snapshots once the GiB was resident, median CPU %.2f ms at RSS %.0f MiB (%.2f ms per GiB); the program reads %.2f ns per page\n' \
		"$access" "$(wc -l <"snap.$access.txt")" "$(ms "$cost")" "$(echo "$rss / 1048576" | bc -l)" \
		"$(echo "$cost / 1000000 / ($rss / 1073741824)" | bc -l)" "$page"
done
