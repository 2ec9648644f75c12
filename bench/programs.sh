#!/bin/sh
# bench/programs.sh: what memprof costs real programs: sqlite3, gcc's cc1 and cc1plus
# (Debian's).
#
# sqlite3 builds a 200000-row table in memory, indexes it and queries it (bench/sqlite.sql:
# about a million mallocs, as many frees and 400000 reallocs, stacks of 16 frames); cc1
# compiles analyzer/symbolize.c, preprocessed, at -O2 (133000 allocations, 19 frames on
# average, 12000 distinct stacks), and, LONG_RUNS times (default 5), cc1plus compiles
# bench/compile.cc at -O2 (5-7 s, 3.8M allocations: a long run). Each of the first two
# runs RUNS times in each configuration, interleaved:
# no profiler, memprof, memprof without the exit leak check (MEMPROF_LEAK_CHECK=0), and
# with BEFORE_LIB set (a libmemprof.so built from an older tree) that library too, and
# heaptrack where it is installed (HEAPTRACK=0: not). Prints median CPU (user + system) and
# wall times and their ratios to no profiler, and memprof's wall time against heaptrack's.
#
#   RUNS=7 BEFORE_LIB=/path/to/old/libmemprof.so bench/programs.sh
set -eu
. "$(dirname "$0")/common.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-7}
before=${BEFORE_LIB:-}
bench_start programs
bench_host
cc1=/usr/lib/gcc/x86_64-linux-gnu/12/cc1
cc1plus=/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus

configs="none memprof nocheck"
[ -n "$before" ] && configs="$configs before beforenocheck"
# heaptrack's own figures in the same rounds (the long compile's first only): the
# yardstick issue 11 states its ratios against. Its wall time includes its interpreter
# and the trace's compression, as a user waits for them.
if [ "${HEAPTRACK:-1}" != 0 ] && command -v heaptrack >/dev/null 2>&1; then
	configs="$configs heaptrack"
fi

# run_config CONFIG FILE CMD...: one measured run of CMD in CONFIG, stdin from $input.
run_config() {
	config=$1
	file=$2
	shift 2
	case $config in
	none) set -- env MEMPROF_NONE=1 "$@" ;;
	memprof) set -- env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/p.trace" LD_PRELOAD="$build/libmemprof.so" "$@" ;;
	nocheck) set -- env MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 MEMPROF_OUTPUT="$work/p.trace" \
		LD_PRELOAD="$build/libmemprof.so" "$@" ;;
	before) set -- env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$work/p.trace" LD_PRELOAD="$before" "$@" ;;
	beforenocheck) set -- env MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 MEMPROF_OUTPUT="$work/p.trace" \
		LD_PRELOAD="$before" "$@" ;;
	heaptrack) set -- heaptrack -o "$work/ht.p" "$@" ;;
	esac
	# heaptrack's run leaves memprof's last trace for analyzer_times.
	if [ "$config" = heaptrack ]; then rm -f ./ht.p*; else rm -f ./*.trace; fi
	"$runner" "$@" <"$input" 2>/dev/null | tail -n 1 >>"$file"
}

report() {
	name=$1
	none_cpu=$(cut -d' ' -f3 "$name.none" | median)
	none_wall=$(cut -d' ' -f1 "$name.none" | median)
	for config in $configs; do
		cpu=$(cut -d' ' -f3 "$name.$config" | median)
		wall=$(cut -d' ' -f1 "$name.$config" | median)
		case $config in
		none) label="no profiler" ;;
		memprof) label="memprof" ;;
		nocheck) label="memprof, LEAK_CHECK=0" ;;
		before) label="before" ;;
		beforenocheck) label="before, LEAK_CHECK=0" ;;
		heaptrack) label="heaptrack" ;;
		esac
		printf '  %-22s CPU %7.1f ms %5.2fx   wall %7.1f ms %5.2fx\n' "$label" \
			"$(echo "$cpu / 1000000" | bc -l)" "$(echo "$cpu / $none_cpu" | bc -l)" \
			"$(echo "$wall / 1000000" | bc -l)" "$(echo "$wall / $none_wall" | bc -l)"
	done
	set -- $(paired "$name.none" "$name.memprof")
	printf '  memprof round by round (wall, each run against its round'"'"'s plain run): median %sx, middle half %s-%sx\n' \
		"$1" "$2" "$3"
	if [ -s "$name.heaptrack" ]; then
		printf '  memprof / heaptrack wall time: %.2f\n' "$(echo "$(cut -d' ' -f1 \
			"$name.memprof" | median) / $(cut -d' ' -f1 "$name.heaptrack" | median)" | bc -l)"
	fi
}

# analyzer_times NAME: what memprof's commands take on the trace the last run left (a
# program of NAME's), medians of 3 (wall): a program with a big symbol table once made
# `memprof report` ten times slower than the program itself (bench/README.md, session 36).
analyzer_times() {
	for command in report pprof html; do
		case $command in
		report) set -- report p.trace ;;
		pprof) set -- pprof -o p.pb.gz p.trace ;;
		html) set -- html -o p.html p.trace ;;
		esac
		: >"analyzer.$command"
		for i in 1 2 3; do
			measure "analyzer.$command" "$build/memprof" "$@"
		done
	done
	printf '  memprof on its trace (wall, median of 3): report %.0f ms, pprof %.0f ms, %s\n' \
		"$(cut -d' ' -f1 analyzer.report | median | awk '{ print $1 / 1e6 }')" \
		"$(cut -d' ' -f1 analyzer.pprof | median | awk '{ print $1 / 1e6 }')" \
		"$(cut -d' ' -f1 analyzer.html | median | awk '{ printf "html %.0f ms", $1 / 1e6 }')"
}

if command -v sqlite3 >/dev/null 2>&1; then
	input="$top/bench/sqlite.sql"
	i=1
	while [ "$i" -le "$runs" ]; do
		for config in $configs; do
			run_config "$config" "sqlite.$config" sqlite3 :memory:
		done
		i=$((i + 1))
	done
	echo "sqlite3 (bench/sqlite.sql), median of $runs interleaved runs (target <= 1.3x):"
	report sqlite
else
	echo "sqlite3: not installed (apt-get install sqlite3), skipped"
fi

if [ -x "$cc1" ]; then
	cc -E -D_GNU_SOURCE -I"$top/include" -I"$top/analyzer" "$top/analyzer/symbolize.c" >symbolize.i
	input=/dev/null
	i=1
	while [ "$i" -le "$runs" ]; do
		for config in $configs; do
			run_config "$config" "cc1.$config" "$cc1" -fpreprocessed symbolize.i -quiet -O2 \
				-o /dev/null
		done
		i=$((i + 1))
	done
	echo "cc1 -O2 analyzer/symbolize.c, median of $runs interleaved runs (target <= 1.3x):"
	report cc1
	analyzer_times cc1
else
	echo "cc1: $cc1 not found, skipped"
fi

# The long run: cc1plus on bench/compile.cc, 130k lines of the standard library's
# headers instantiated and optimized (5-7 s, 3.8M allocations): what a process costs to
# start, learn its unwind rules and end weighs little there, the recording much.
long_runs=${LONG_RUNS:-5}
if [ -x "$cc1plus" ] && [ "$long_runs" -gt 0 ]; then
	c++ -std=c++17 -E "$top/bench/compile.cc" >compile.ii
	input=/dev/null
	i=1
	while [ "$i" -le "$long_runs" ]; do
		for config in $configs; do
			# heaptrack takes a minute on this compile: the first round only.
			[ "$config" = heaptrack ] && [ "$i" -gt 1 ] && continue
			run_config "$config" "cc1plus.$config" "$cc1plus" -fpreprocessed compile.ii \
				-quiet -O2 -std=c++17 -o /dev/null
		done
		i=$((i + 1))
	done
	echo "cc1plus -O2 bench/compile.cc, median of $long_runs interleaved runs (target <= 1.3x):"
	report cc1plus
	analyzer_times cc1plus
else
	echo "cc1plus: $cc1plus not found (or LONG_RUNS=0), skipped"
fi
