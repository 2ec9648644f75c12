#!/bin/sh
# quiet_child.sh: a fork child that records nothing before exit() still gets a whole trace
# (it starts at the fork, and holds its exit snapshot and leak check), and an exit check
# with no block left reads no roots (tests/progs/quiet_child.c: the parent holds 64 MiB
# of its own mapping, written, when it exits with every block freed).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

json_number() { # json_number KEY FILE: the first "KEY": N
	sed -n "s/^ *\"$1\": \([0-9]*\).*/\1/p" "$2" | head -n 1
}

"$memprof" run --output q.%p.trace -- "$MEMPROF_BUILD/tests/progs/quiet_child" \
	>/dev/null 2>err.txt || fail "exit status"
sed 's/^/    /' err.txt
set -- q.*.trace
[ "$#" -eq 2 ] || fail "2 traces expected, got $#"
parent="" child=""
for trace in "$@"; do
	"$memprof" report --json "$trace" >"$trace.json" || fail "$trace does not read"
	if [ "$(json_number allocations "$trace.json")" = 0 ]; then
		child=$trace
	else
		parent=$trace
	fi
done
[ -n "$child" ] && [ -n "$parent" ] || fail "no child trace without allocations"

# The child slept 200 ms after the fork: its trace starts at the fork, not at its exit.
run_ns=$(json_number run_time_ns "$child.json")
[ "${run_ns:-0}" -ge 200000000 ] || fail "child's run time $run_ns ns, want >= 200 ms"
"$memprof" memory "$child" >child_memory.txt 2>&1 || fail "child has no exit snapshot"
grep -q "(exit) at" child_memory.txt || fail "child's snapshot is not the exit one"
"$memprof" leaks --json "$child" >child_leaks.json || fail "child's leaks"
grep -q '"state": "scanned"' child_leaks.json || fail "child's exit check did not run"

# The parent's check: no block left, so no root read, 64 MiB of them notwithstanding.
"$memprof" leaks --json "$parent" >parent_leaks.json || fail "parent's leaks"
grep -q '"state": "scanned"' parent_leaks.json || fail "parent's exit check did not run"
[ "$(json_number unfreed_blocks parent_leaks.json)" = 0 ] || fail "parent has blocks left"
[ "$(json_number root_bytes parent_leaks.json)" = 0 ] ||
	fail "parent's check read $(json_number root_bytes parent_leaks.json) bytes of roots"
[ "$failures" -eq 0 ]
