#!/bin/sh
# fork_join.sh: a fork child whose first recorded event is a free that glibc makes
# holding the lock of its cache of thread stacks (tests/progs/fork_join.c) runs to its
# end: memprof started the child's leak thread at that event, whose pthread_create waited
# for the same lock, and the child hung for good. Its trace is whole and its exit check
# finds the block it leaked.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

if ! timeout 30 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/fj.%p.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$MEMPROF_BUILD/tests/progs/fork_join" 6 \
	>out.txt 2>err.txt; then
	fail "the program did not end (status $?)"
	pkill -9 -f "$MEMPROF_BUILD/tests/progs/fork_join" 2>/dev/null
fi
grep -q "child: exit 0" out.txt || fail "child: $(cat out.txt)"
set -- fj.*.trace
[ "$#" -eq 2 ] || fail "2 traces expected, got $#"
found=0
for trace in "$@"; do
	"$memprof" leaks --json "$trace" >"$trace.json" 2>/dev/null || fail "$trace does not read"
	grep -q '"complete": true' "$trace.json" || fail "$trace is not complete"
	if grep -q '"bytes": 555,' "$trace.json"; then
		found=1
		grep -q '"state": "scanned"' "$trace.json" || fail "the child's exit check did not run"
		grep -q '"definite": {' "$trace.json" || fail "no leak kinds"
		[ "$(sed -n 's/^  "leaked_bytes": \([0-9]*\).*/\1/p' "$trace.json")" = 555 ] ||
			fail "the child leaked $(sed -n 's/^  "leaked_bytes": \([0-9]*\).*/\1/p' "$trace.json") bytes, want 555"
	fi
done
[ "$found" = 1 ] || fail "no trace has the child's 555-byte block"
[ "$failures" -eq 0 ]
