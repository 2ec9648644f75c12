#!/bin/sh
# fork_storm.sh: fork() never deadlocks, whichever allocator serves the program: 8 threads
# allocate while a thread forks 20 times (tests/progs/fork_storm.c), under jemalloc and
# tcmalloc loaded after libmemprof.so and under glibc's malloc, each run under timeout.
# Then the loader's lock: 100 forks while two threads allocate from code no object covers,
# so that memprof's unwinding is inside dl_iterate_phdr most of the time
# (tests/progs/fork_unwinding.c); every child must exit (before loader_gate.c, one hung
# within 50 forks).
# STORM_RUNS runs per allocator (default: 100 with jemalloc, whose fork handlers once
# deadlocked against ours, 20 with the others; `make check-fork-storm` runs 100 of each).
# An allocator that is not installed is skipped with a note (Debian: libjemalloc2,
# libtcmalloc-minimal4).
set -u
build="$MEMPROF_BUILD"
lib="$build/libmemprof.so"
prog="$build/tests/progs/fork_storm"
failures=0
libdir=/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=/usr/lib

# storm NAME RUNS ALLOCATOR: RUNS runs in a row; stops at the first that fails or hangs.
storm() {
	name=$1 runs=$2 allocator=$3
	start=$(date +%s)
	for run in $(seq "$runs"); do
		rm -rf traces && mkdir traces
		# Only the fork matters here: the children's exit work is left out to keep
		# each run short.
		timeout 20 env LD_PRELOAD="$lib${allocator:+ $allocator}" \
			MEMPROF_OUTPUT="$(pwd)/traces/t.%p.trace" MEMPROF_QUIET=1 \
			MEMPROF_SNAPSHOT_EXIT=0 MEMPROF_SNAPSHOT_PEAK=0 MEMPROF_LEAK_CHECK=0 \
			"$prog" 20
		code=$?
		if [ "$code" -ne 0 ]; then
			echo "FAIL $name: run $run of $runs: exit $code$( [ "$code" -eq 124 ] &&
				echo ' (hung: timeout)')"
			failures=$((failures + 1))
			return
		fi
	done
	count=$(ls traces | wc -l)
	[ "$count" -eq 21 ] || {
		echo "FAIL $name: the last run left $count traces, want 21 (parent and 20 children)"
		failures=$((failures + 1))
	}
	"$build/memprof" report traces/* >/dev/null 2>report.err || {
		echo "FAIL $name: a trace of the last run does not read: $(head -3 report.err)"
		failures=$((failures + 1))
	}
	echo "$name: $runs runs in $(($(date +%s) - start)) s"
}

# The loader's lock: every child exits within a second, and each has its trace.
rm -rf traces && mkdir traces
timeout 60 env LD_PRELOAD="$lib" MEMPROF_OUTPUT="$(pwd)/traces/t.%p.trace" MEMPROF_QUIET=1 \
	"$build/tests/progs/fork_unwinding" 100
code=$?
count=$(ls traces | wc -l)
if [ "$code" -ne 0 ] || [ "$count" -ne 101 ]; then
	echo "FAIL fork during unwinding: exit $code, $count traces (want 0 and 101)"
	failures=$((failures + 1))
else
	echo "fork during unwinding: 100 children, none hung"
fi

storm glibc "${STORM_RUNS:-20}" ""
for allocator in jemalloc:libjemalloc.so.2:100 tcmalloc:libtcmalloc_minimal.so.4:20; do
	name=${allocator%%:*}
	file=${allocator#*:}
	runs=${file#*:}
	file=$libdir/${file%:*}
	if [ -e "$file" ]; then
		storm "$name" "${STORM_RUNS:-$runs}" "$file"
	else
		echo "SKIP fork_storm.sh: $name: $file is not installed"
	fi
done

[ "$failures" -eq 0 ]
