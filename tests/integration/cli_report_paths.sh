#!/bin/sh
# cli_report_paths.sh: `memprof report`, `leaks` and `flamegraph` print the same bytes
# whichever way the analysis goes: the events read on a second thread (the event pipe)
# or all on one core (taskset), the debug files inflated in memory, stored in the cache
# of inflated debug files, or read back from it (docs/usage.md, MEMPROF_DEBUG_CACHE).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

# Two threads, enough events for many batches of the pipe, and stdout's buffer left
# allocated under puts (libc frames, whose DWARF comes from libc6-dbg's compressed debug
# file).
cat >prog.c <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
static void *churn(void *arg)
{
	void *ring[64] = { 0 };
	for (int i = 0; i < 40000; i++) {
		free(ring[i % 64]);
		ring[i % 64] = malloc((size_t)(16 + i % 200));
	}
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	return arg;
}
int main(void)
{
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, churn, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	printf("done\n");
	return 0;
}
C
cc -O0 -g -pthread -o prog prog.c || exit 1
MEMPROF_QUIET=1 MEMPROF_OUTPUT=prog.trace LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" ./prog >/dev/null ||
	fail "profiled run"

for command in "report" "report --json" "leaks --json --show-reachable" "flamegraph"; do
	name=$(echo "$command" | tr -c 'a-z\n' '_')
	# shellcheck disable=SC2086
	MEMPROF_DEBUG_CACHE=0 "$memprof" $command prog.trace >"$name.memory" 2>/dev/null ||
		fail "$command: status"
	# shellcheck disable=SC2086
	MEMPROF_DEBUG_CACHE="$(pwd)/cache" "$memprof" $command prog.trace >"$name.stored" ||
		fail "$command (cache filled): status"
	# shellcheck disable=SC2086
	MEMPROF_DEBUG_CACHE="$(pwd)/cache" "$memprof" $command prog.trace >"$name.cached" ||
		fail "$command (cache read): status"
	# shellcheck disable=SC2086
	MEMPROF_DEBUG_CACHE=0 taskset -c 0 "$memprof" $command prog.trace >"$name.one_core" ||
		fail "$command (one core): status"
	for way in stored cached one_core; do
		cmp -s "$name.memory" "$name.$way" || fail "$command: $way output differs"
	done
done
grep -q '80,003 allocations, 80,000 frees' report.memory || fail "report: calls"
grep -q 'IO_file_doallocate' report.memory || fail "report: no libc frame for the stdout buffer"
# With libc6-dbg (CI installs it with valgrind) libc's frames have files and lines, and
# its debug file was inflated into the cache.
if [ -e "/usr/lib/debug/.build-id" ] && ls /usr/lib/debug/.build-id/*/*.debug >/dev/null 2>&1; then
	grep -q 'libio/filedoalloc.c:[0-9]' report.memory || fail "report: libc frame without a line"
	ls cache/*.debug >/dev/null 2>&1 || fail "nothing was stored in the debug cache"
fi

[ "$failures" -eq 0 ] || exit 1
echo "report, leaks and flamegraph agree across the event pipe, one core and the debug cache"
