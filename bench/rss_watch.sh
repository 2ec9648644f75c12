#!/bin/sh
# bench/rss_watch.sh: what the RSS watch and access snapshots cost (bench/README.md).
#
#  1. The watch's own CPU: `sleep 3` (nothing but the watch runs), MEMPROF_RSS_WATCH=0
#     against the default, RUNS interleaved runs; the difference of median CPU per second.
#  2. Short programs' run time, watch on and off, interleaved: coreutils `true` (no tick:
#     the thread's start and end), sort of a 1 MB file, resident_bench 256 0 (RSS climbs
#     to 256 MiB in ~0.1 s: rss-peak snapshots), and a shell running /bin/true 100 times
#     (a thread per process, and per fork child).
#  3. A snapshot's cost per resident GiB: resident_bench 1024 2 (1 GiB written, then read
#     page by page for 2 s) with MEMPROF_SNAPSHOT_MS=250, with and without
#     MEMPROF_SNAPSHOT_ACCESS=1: the interval snapshots' CPU (cost_ns from the trace), and
#     the program's own speed through its memory (ns per page read).
#
#   RUNS=11 bench/rss_watch.sh
set -eu
. "$(dirname "$0")/common.sh"
runs=${RUNS:-11}
bench_start rss
lib="$build/libmemprof.so"
rb="$build/bench/resident_bench"
head -c 700000 /dev/urandom | base64 >in.txt

# run NAME WATCH CMD...: one measured run under memprof, the watch on (1) or off (0).
run() {
	name=$1 watch=$2
	shift 2
	rm -f ./*.trace
	if [ "$watch" = 1 ]; then
		measure "$name.on.txt" env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/t.%p.trace" \
			LD_PRELOAD="$lib" "$@"
	else
		measure "$name.off.txt" env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/t.%p.trace" \
			MEMPROF_RSS_WATCH=0 LD_PRELOAD="$lib" "$@"
	fi
}

i=1
while [ "$i" -le "$runs" ]; do
	for watch in 0 1; do
		run sleep "$watch" sleep 3
		run true "$watch" true
		run sort "$watch" sort -o /dev/null in.txt
		run fill "$watch" "$rb" 256 0
		run shell "$watch" sh -c 'i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done'
	done
	i=$((i + 1))
done

ms() { echo "$1 / 1000000" | bc -l; }
echo "RSS watch, median of $runs interleaved runs (watch off -> on)"
off=$(cut -d' ' -f3 sleep.off.txt | median)
on=$(cut -d' ' -f3 sleep.on.txt | median)
printf '  sleep 3: CPU %.2f -> %.2f ms: the watch costs %.1f us of CPU per second\n' \
	"$(ms "$off")" "$(ms "$on")" "$(echo "($on - $off) / 3000" | bc -l)"
for name in true sort fill shell; do
	off=$(cut -d' ' -f1 "$name.off.txt" | median)
	on=$(cut -d' ' -f1 "$name.on.txt" | median)
	coff=$(cut -d' ' -f3 "$name.off.txt" | median)
	con=$(cut -d' ' -f3 "$name.on.txt" | median)
	printf '  %-6s wall %8.2f -> %8.2f ms (%+5.1f%%)   CPU %8.2f -> %8.2f ms (%+5.1f%%)\n' "$name" \
		"$(ms "$off")" "$(ms "$on")" "$(echo "($on / $off - 1) * 100" | bc -l)" \
		"$(ms "$coff")" "$(ms "$con")" "$(echo "($con / $coff - 1) * 100" | bc -l)"
done

# Snapshots of a process with 1 GiB resident.
for access in 0 1; do
	j=1
	while [ "$j" -le 3 ]; do
		rm -f ./*.trace
		env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/s.trace" MEMPROF_SNAPSHOT_MS=250 \
			MEMPROF_SNAPSHOT_ACCESS=$access LD_PRELOAD="$lib" "$rb" 1024 2 >>"pages.$access.txt"
		"$build/memprof" memory --json s.trace | tr -d ' \n' | grep -o '"reason":"interval","time_ns":[0-9]*,"rss_bytes":[0-9]*,"virt_bytes":[0-9]*,"heap_live_bytes":[0-9]*,"heap_live_blocks":[0-9]*,"cost_ns":[0-9]*' |
			sed 's/.*"rss_bytes":\([0-9]*\).*"cost_ns":\([0-9]*\)/\1 \2/' >>"snap.$access.txt"
		j=$((j + 1))
	done
done
echo "Snapshots of resident_bench 1024 2 (1 GiB resident), every 250 ms, 3 runs each"
for access in 0 1; do
	cost=$(cut -d' ' -f2 "snap.$access.txt" | median)
	rss=$(cut -d' ' -f1 "snap.$access.txt" | median)
	page=$(sed 's/.*ns_per_page \([0-9.]*\).*/\1/' "pages.$access.txt" | median)
	printf '  MEMPROF_SNAPSHOT_ACCESS=%s: %d snapshots, median CPU %.2f ms at RSS %.0f MiB (%.2f ms per GiB); program %.2f ns per page read\n' \
		"$access" "$(wc -l <"snap.$access.txt")" "$(ms "$cost")" "$(echo "$rss / 1048576" | bc -l)" \
		"$(echo "$cost / 1000000 / ($rss / 1073741824)" | bc -l)" "$page"
done
