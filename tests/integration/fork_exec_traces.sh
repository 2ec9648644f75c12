#!/bin/sh
# fork_exec_traces.sh: with `memprof run --output FILE` (no %p), a parent, a fork child
# that leaks and a fork child that execs ls (tests/progs/family.c) each keep their own
# trace, FILE, FILE.1, FILE.2, and `run` lists all three; the child's leaks say what a
# fork child's check cannot see.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

"$memprof" run --output out.trace -- "$MEMPROF_BUILD/tests/progs/family" >/dev/null 2>err.txt
code=$?
[ "$code" -eq 0 ] || fail "exit status $code"
sed 's/^/    /' err.txt
# run's table: one row per process, the trace file last.
for name in out.trace out.1.trace out.2.trace; do
	grep -q " $name$" err.txt || fail "run does not list $name"
done
grep -q "^memprof: 3 traces written in $(pwd)/" err.txt || fail "run lists other than 3 traces"
for name in out.trace out.1.trace out.2.trace; do
	"$memprof" report "$name" >"$name.txt" 2>/dev/null || fail "$name does not read"
done
grep -q "tests/progs/family (pid" out.trace.txt || fail "out.trace is not the parent's"
grep -q "tests/progs/family (pid" out.1.trace.txt || fail "out.1.trace is not the fork child's"
grep -q "Not freed:    4,242 bytes" out.1.trace.txt || fail "out.1.trace misses the child's leak"
grep -q "/ls (pid" out.2.trace.txt || fail "out.2.trace is not ls's"
# The fork child's leak is real, and the check says what a fork child's cannot see; the
# parent's says nothing of the kind.
"$memprof" leaks out.1.trace >child_leaks.txt 2>/dev/null
grep -q "^  This process is a fork child: the blocks it inherited" child_leaks.txt ||
	fail "the child's leaks do not say it is a fork child"
"$memprof" leaks --json out.1.trace 2>/dev/null | grep -q '"fork_child": true' ||
	fail "the child's leaks --json has no fork_child"
"$memprof" leaks out.trace 2>/dev/null | grep -q "fork child" && fail "the parent is called a fork child"
"$memprof" leaks --json out.trace 2>/dev/null | grep -q '"fork_child"' && fail "the parent's JSON has fork_child"
[ "$failures" -eq 0 ]
