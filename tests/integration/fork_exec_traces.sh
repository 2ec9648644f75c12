#!/bin/sh
# fork_exec_traces.sh: with `memprof run --output FILE` (no %p), a parent, a fork child
# that leaks and a fork child that execs ls (tests/progs/family.c) each keep their own
# trace, FILE, FILE.1, FILE.2, and `run` lists all three; a fork child's leak check sees
# the blocks it inherited from its parent (tests/progs/prefork.c).
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
# The fork child's leak is its own: definitely lost, and nothing said of inherited blocks
# (its check took its parent's live set along).
"$memprof" leaks out.1.trace >child_leaks.txt 2>/dev/null
grep -q "^  definitely lost: 4,242 bytes (4.1 KiB) in 1 block$" child_leaks.txt ||
	fail "the child's leak: $(grep 'definitely lost' child_leaks.txt)"
grep -q "fork child" child_leaks.txt && fail "the child's check did not take its parent's blocks"

# A prefork server's worker (tests/progs/prefork.c): the blocks it adds to its parent's
# tables are reachable through the blocks it inherited, folded before the fork by the
# parent's leak thread (early) or after it by the child from the parent's trace (late);
# its own leak is lost. The figures are memcheck's for the same program.
"$memprof" run --output pre.%p.trace -- "$MEMPROF_BUILD/tests/progs/prefork" >/dev/null \
	2>pre_err.txt || fail "prefork: exit status"
worker=""
for trace in pre.*.trace; do
	"$memprof" leaks "$trace" >"$trace.txt" 2>/dev/null
	# The worker made 16 allocations (15 stored, 1 lost), the parent 107.
	"$memprof" report --json "$trace" 2>/dev/null | grep -q '"allocations": 16,' &&
		worker=$trace
done
[ -n "$worker" ] || fail "prefork: no worker trace (16 allocations)"
if [ -n "$worker" ]; then
	grep -q "^  definitely lost: 777 bytes in 1 block$" "$worker.txt" ||
		fail "prefork worker: $(grep 'definitely lost' "$worker.txt")"
	grep -q "^  still reachable: 7,500 bytes (7.3 KiB) in 15 blocks" "$worker.txt" ||
		fail "prefork worker: $(grep 'still reachable' "$worker.txt")"
	grep -q "fork child" "$worker.txt" && fail "prefork worker: inherited blocks unseen"
	# It freed one block of its parent's: the report says whose it was.
	note="^Note: 1 free/realloc of an address not allocated while tracing (ignored): "
	"$memprof" report "$worker" 2>/dev/null | grep -q "${note}this process is a fork child" ||
		fail "prefork worker: the note on its parent's block"
fi
"$memprof" report out.trace 2>/dev/null | grep -q "this process is a fork child" &&
	fail "the parent's report calls it a fork child"
[ "$failures" -eq 0 ]
