#!/bin/sh
# cli_run_tree.sh: `memprof run` on a shell script summarizes its traces as one table per
# process tree (pid, parent, executable indented under its parent, calls, not freed,
# leaked, how it ended, trace), not a block per trace; --quiet-children and --follow
# select rows; report names the parent pid and the trace that continues an exec'd image.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

cat >prog.c <<'C'
#include <stdlib.h>
int main(int argc, char **argv)
{
	char *keep = malloc(123);
	keep[0] = 1;
	for (int i = 0; i < 10; i++)
		free(malloc(100));
	return argc > 1 ? atoi(argv[1]) : 0;
}
C
cc -O0 -g -o prog prog.c || exit 1
# The shell starts two children, one after the other, then becomes the third prog.
# (A child started with & would write a trace of its own as the shell it is at first.)
cat >script.sh <<'SH'
#!/bin/sh
./prog 1
./prog 0
exec ./prog 3
SH
chmod +x script.sh
shell=$(basename "$(readlink -f /bin/sh)")

"$memprof" run -- ./script.sh >out.txt 2>err.txt
code=$?
sed 's/^/    /' err.txt
[ "$code" -eq 3 ] || fail "exit status $code, want the exec'd prog's 3"
[ "$(ls memprof.*.trace | wc -l)" -eq 4 ] || fail "traces: $(ls memprof.*.trace)"
root=$(ls memprof."$shell".*.trace | sed 's/^memprof\.[^.]*\.\([0-9]*\)\.trace$/\1/')
children=$(ls memprof.prog.*.trace | sed 's/^memprof\.prog\.\([0-9]*\)\.trace$/\1/' | grep -vx "$root")
[ "$(echo "$children" | wc -l)" -eq 2 ] || fail "child traces: $children"
[ -f "memprof.prog.$root.trace" ] || fail "no trace of the exec'd prog"

# 4 traces: a heading, the tree's heading, the column names, 4 rows, the totals.
[ "$(wc -l <err.txt)" -eq 8 ] || fail "$(wc -l <err.txt) lines of summary, want 8"
grep -qx "memprof: 4 traces written in $(pwd)/, 1 process tree:" err.txt || fail "heading"
grep -qx "memprof: process tree of pid $root ($shell):" err.txt || fail "tree heading"
grep -Eqx "memprof: +pid +parent +executable +calls +not freed +leaked +ended +trace" err.txt ||
	fail "column names"
parent=$(sed -n "s/^memprof: *$root *\([0-9]*\)  $shell .*/\1/p" err.txt)
[ -n "$parent" ] || fail "no row for the shell"
# Rows in the order things happened: the shell, its children (indented), its exec.
rows=$(grep -E '^memprof: +[0-9]+ +[0-9]+ ' err.txt)
first=$(echo "$children" | head -n 1) second=$(echo "$children" | tail -n 1)
row() { # PID PARENT EXE_COLUMN ENDED TRACE: the extended regex of a row
	echo "^memprof: +$1 +$2  $3 +[0-9,]+ +123 B +[0-9.]+ [KMG]?i?B +$4 +$5\$"
}
echo "$rows" | sed -n 1p | grep -Eq "^memprof: +$root +$parent  $shell +[0-9,]+ .* exec +memprof\.$shell\.$root\.trace$" ||
	fail "row 1: $(echo "$rows" | sed -n 1p)"
echo "$rows" | sed -n 2p | grep -Eq "$(row "$first" "$root" "  prog" "exit 1" "memprof\.prog\.$first\.trace")" ||
	fail "row 2: $(echo "$rows" | sed -n 2p)"
echo "$rows" | sed -n 3p | grep -Eq "$(row "$second" "$root" "  prog" "exit 0" "memprof\.prog\.$second\.trace")" ||
	fail "row 3: $(echo "$rows" | sed -n 3p)"
echo "$rows" | sed -n 4p | grep -Eq "$(row "$root" "$parent" "prog" "exit 3" "memprof\.prog\.$root\.trace")" ||
	fail "row 4: $(echo "$rows" | sed -n 4p)"
grep -Eq "^memprof: total: [0-9,]+ calls, [0-9.]+ [KMG]?i?B not freed, [0-9.]+ [KMG]?i?B leaked$" err.txt ||
	fail "totals"

# report: the parent pid, and the trace that continues the shell after its exec.
"$memprof" report "memprof.$shell.$root.trace" >report.txt 2>/dev/null || fail "report: exit $?"
grep -Eq "^Process: +.*/$shell \(pid $root, parent $parent\), replaced itself by execve: continued in 'memprof\.prog\.$root\.trace'$" \
	report.txt || fail "report: $(grep '^Process' report.txt)"
"$memprof" report --json "memprof.$shell.$root.trace" >report.json 2>/dev/null
grep -q "\"continued_in\": \"memprof.prog.$root.trace\"" report.json || fail "report --json: continued_in"
grep -q "\"ppid\": $parent," report.json || fail "report --json: ppid"
"$memprof" report "memprof.prog.$first.trace" 2>/dev/null | grep -q "(pid $first, parent $root), exited with status 1$" ||
	fail "report of a child: no parent"

# --quiet-children: the started process alone, both its images.
rm -f memprof.*.trace
"$memprof" run --quiet-children -- ./script.sh >/dev/null 2>err.txt
sed 's/^/    /' err.txt
root=$(ls memprof."$shell".*.trace | sed 's/^memprof\.[^.]*\.\([0-9]*\)\.trace$/\1/')
grep -qx "memprof: 2 traces of pid $root, the process memprof started:" err.txt || fail "--quiet-children: heading"
[ "$(grep -Ec '^memprof: +[0-9]+ +[0-9]+ ' err.txt)" -eq 2 ] || fail "--quiet-children: rows"
[ "$(grep -Ec "^memprof: +$root " err.txt)" -eq 2 ] || fail "--quiet-children: another pid"
grep -qx "memprof: 2 traces of child processes not shown (--quiet-children)" err.txt ||
	fail "--quiet-children: what was left out"

# --follow prog: three processes ran prog; --follow with one match: the short summary.
rm -f memprof.*.trace
"$memprof" run --follow prog -- ./script.sh >/dev/null 2>err.txt
grep -qx "memprof: 3 traces of processes running 'prog':" err.txt || fail "--follow: heading"
[ "$(grep -Ec '^memprof: +[0-9]+ +[0-9]+ +prog ' err.txt)" -eq 3 ] || fail "--follow: rows"
grep -qx "memprof: 1 trace of other executables not shown (--follow)" err.txt || fail "--follow: rest"
rm -f memprof.*.trace
"$memprof" run --follow "$shell" -- ./script.sh >/dev/null 2>err.txt
grep -q "^memprof: trace written to $(pwd)/memprof\.$shell\.[0-9]*\.trace$" err.txt || fail "--follow one"
grep -q "^memprof: not freed at the end: " err.txt || fail "--follow one: no summary"
grep -qx "memprof: 3 traces of other executables not shown (--follow)" err.txt || fail "--follow one: rest"

[ "$failures" -eq 0 ]
