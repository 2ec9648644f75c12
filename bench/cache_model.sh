#!/bin/sh
# bench/cache_model.sh: what memprof adds to gcc's cc1, counted instead of timed.
#
# On a shared 2-core VM the same binaries give cc1 1.22x in one run and 1.57x in the
# next, so a change worth 1% cannot be seen in wall time. valgrind's callgrind counts
# instructions and, with its cache model, the misses they cause: the same for the same
# binaries, run after run, within a few million instructions (cc1's own count moves that
# much). The model: L1 of 32 KiB (data and instructions, 8 ways) and a last level of
# 1 MiB (16 ways), this host's L2 per core; its L3, shared with the neighbours, is left
# out. cc1 compiles analyzer/symbolize.c at -O2 as in bench/programs.sh, without
# memprof, with it, and with BEFORE_LIB if set. Under memprof, what valgrind would make
# meaningless or run-dependent is off: the exit leak check (its marking would read
# valgrind's own mappings as roots, hundreds of MB) and the snapshots that depend on time
# (the RSS watch and the heap-peak ones: valgrind slows the program fiftyfold, their
# limits are in real time). Without the RSS watch every event reads the clock (clock.c),
# about 30 instructions an event more than in a real run. Prints, per configuration, the
# counts of the compiler's own code, of libc, of memprof and of the whole process, then
# what memprof adds to the whole. About a minute a configuration.
#
#   BEFORE_LIB=/path/to/old/libmemprof.so bench/cache_model.sh
set -eu
. "$(dirname "$0")/common.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
before=${BEFORE_LIB:-}
bench_start cachemodel
bench_host
cc1=/usr/lib/gcc/x86_64-linux-gnu/12/cc1
if ! command -v valgrind >/dev/null 2>&1 || [ ! -x "$cc1" ]; then
	echo "cache model: needs valgrind and $cc1; skipped"
	exit 0
fi
cc -E -D_GNU_SOURCE -I"$top/include" -I"$top/analyzer" "$top/analyzer/symbolize.c" >symbolize.i

events="Ir,I1mr,D1mr,ILmr,DLmr"

# model NAME [LIB]: one cc1 run under callgrind; its costs by object in NAME.objects
# ("object Ir I1mr D1mr ILmr DLmr") and the whole process's in NAME.total.
model() {
	name=$1
	lib=${2:-}
	mkdir "$name.out"
	if [ -n "$lib" ]; then
		set -- env MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 MEMPROF_RSS_WATCH=0 \
			MEMPROF_SNAPSHOT_PEAK=0 MEMPROF_OUTPUT="$work/$name.trace" LD_PRELOAD="$lib"
	else
		set -- env
	fi
	# --trace-children: with LD_PRELOAD set, valgrind itself starts under the preload's
	# constructor's eye; the compiler's own file is the largest of those written.
	"$@" valgrind --tool=callgrind --trace-children=yes --cache-sim=yes \
		--D1=32768,8,64 --I1=32768,8,64 --LL=1048576,16,64 \
		--callgrind-out-file="$work/$name.out/callgrind.%p" \
		"$cc1" -fpreprocessed symbolize.i -quiet -O2 -o /dev/null 2>"$name.err"
	# A valgrind that failed (its own assertions) leaves a partial profile: say so.
	if grep -q "FATAL" "$name.err"; then
		echo "cache model: valgrind failed on $name:" >&2
		grep -A2 "FATAL" "$name.err" >&2
		exit 1
	fi
	out=$(ls -S "$name.out"/callgrind.* | head -n 1)
	callgrind_annotate --show="$events" --show-percs=no --threshold=100 "$out" 2>/dev/null |
		awk '/^ *[0-9,]+ .*\[.*\]$/ {
			obj = $NF; gsub(/[][]/, "", obj); n = split(obj, part, "/"); obj = part[n]
			for (i = 1; i <= 5; i++) { v = $i; gsub(",", "", v); sum[obj, i] += v }
			seen[obj] = 1
		} END { for (o in seen) print o, sum[o, 1], sum[o, 2], sum[o, 3], sum[o, 4], sum[o, 5] }' \
		>"$name.objects"
	callgrind_annotate --show="$events" --show-percs=no "$out" 2>/dev/null |
		awk '/PROGRAM TOTALS/ { for (i = 1; i <= 5; i++) { v = $i; gsub(",", "", v); printf "%s ", v } print "" }' \
		>"$name.total"
}

# row LABEL N1 N2 N3 N4 N5: counts in millions.
row() {
	printf '  %-22s %9.1f %9.3f %9.3f %9.3f %9.3f\n' "$1" \
		"$(echo "$2 / 1000000" | bc -l)" "$(echo "$3 / 1000000" | bc -l)" \
		"$(echo "$4 / 1000000" | bc -l)" "$(echo "$5 / 1000000" | bc -l)" \
		"$(echo "$6 / 1000000" | bc -l)"
}

# show NAME LABEL: the object rows and the total of one configuration.
show() {
	echo "$2:"
	for obj in cc1 libc.so.6 "$(basename "${3:-none}")"; do
		line=$(awk -v o="$obj" '$1 == o { print $2, $3, $4, $5, $6 }' "$1.objects")
		[ -n "$line" ] && row "$obj" $line
	done
	row "whole process" $(cat "$1.total")
}

model plain
model memprof "$build/libmemprof.so"
[ -n "$before" ] && model before "$before"

echo "cc1 -O2 analyzer/symbolize.c under callgrind's cache model (millions; no leak check, no timed snapshots):"
printf '  %-22s %9s %9s %9s %9s %9s\n' "" "instr" "L1i miss" "L1d miss" "LLi miss" "LLd miss"
show plain "no profiler"
show memprof "memprof" "$build/libmemprof.so"
[ -n "$before" ] && show before "before (BEFORE_LIB)" "$before"
for name in memprof ${before:+before}; do
	set -- $(cat plain.total) $(cat "$name.total")
	row "$name adds" $(( $6 - $1 )) $(( $7 - $2 )) $(( $8 - $3 )) $(( $9 - $4 )) $(( ${10} - $5 ))
done
