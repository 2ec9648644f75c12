# bench/common.sh: what every benchmark script starts with; sourced, never run.
#
#   . "$(dirname "$0")/common.sh"; bench_start NAME
# sets build (the absolute build directory, $BUILD or build), runner (build/bench/runner),
# and work (a fresh directory, removed on exit, made the current one), and defines:
#   median           the median of the numbers on stdin, one per line
#   paired A B       the median and quartiles of B's wall times over A's, round by round
#   measure FILE CMD appends runner's "wall_ns maxrss_kib cpu_ns" for one run of CMD
#   bench_host       prints a line naming the CPU, cores, kernel and load
#   exit_wait TRACE  what the traced program's exit waited for: ns from the exit
#                    snapshot's start to the end of the trace

bench_start() {
	build=$(cd "${BUILD:-build}" && pwd)
	runner="$build/bench/runner"
	# Run by hand on a tree built with `make` alone, a missing runner would make every
	# figure 0 and bc's errors the only output: say what to build instead.
	if [ ! -x "$runner" ] || [ ! -f "$build/libmemprof.so" ]; then
		echo "bench: $runner or $build/libmemprof.so is missing: run 'make bench' (or 'make build/bench/runner') first" >&2
		exit 1
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/memprof-$1.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cd "$work"
}

# The host the figures come from: ratios move with the CPU (the TSC read, the caches), the
# kernel and the load, and two hosts' figures are not comparable without it.
bench_host() {
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	printf 'host: %s, %s cores, Linux %s, load %s\n' "${model:-unknown CPU}" \
		"$(getconf _NPROCESSORS_ONLN)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# paired A B: the wall-time ratios of B's runs to A's, round by round (line by line of
# the two files), as "median q1 q3". The host's speed moves between rounds far more than
# within one, and a ratio taken within a round does not see that.
paired() {
	paste -d' ' "$1" "$2" | awk '{ print $4 / $1 }' | sort -n | awk '{ v[NR] = $1 }
		END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)],
		      v[int((3 * NR + 1) / 4)] }'
}

measure() {
	out=$1
	shift
	"$runner" "$@" 2>/dev/null | tail -n 1 >>"$out"
}

# The times are copied as text: mawk prints a number past 2^31 as 2.25585e+09, which a
# run of more than 2.1 s reaches.
exit_wait() {
	snapshot=$("$build/memprof" memory --json "$1" |
		sed -n '/^  "snapshot": {/,/"time_ns"/ s/.*"time_ns": \([0-9]*\).*/\1/p' | head -n 1)
	end=$("$build/memprof" report --json "$1" |
		sed -n 's/.*"run_time_ns": \([0-9]*\).*/\1/p' | head -n 1)
	echo $((end - snapshot))
}
