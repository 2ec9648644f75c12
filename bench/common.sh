# bench/common.sh: what every benchmark script starts with; sourced, never run.
#
#   . "$(dirname "$0")/common.sh"; bench_start NAME
# sets build (the absolute build directory, $BUILD or build), runner (build/bench/runner),
# and work (a fresh directory, removed on exit, made the current one), and defines:
#   median           the median of the numbers on stdin, one per line
#   measure FILE CMD appends runner's "wall_ns maxrss_kib cpu_ns" for one run of CMD

bench_start() {
	build=$(cd "${BUILD:-build}" && pwd)
	runner="$build/bench/runner"
	work=$(mktemp -d "${TMPDIR:-/tmp}/memprof-$1.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cd "$work"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

measure() {
	out=$1
	shift
	"$runner" "$@" 2>/dev/null | tail -n 1 >>"$out"
}
