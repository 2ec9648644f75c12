#!/bin/sh
# short_threads.sh: a program that makes many short threads, one after another
# (tests/progs/short_threads.c, 300 threads of 50 allocations each), costs the trace about
# a page per thread, not the 16 KiB chunk each thread started with before; and its stacks
# are exact although each thread may take over the memo the thread before left: the
# leaks are the program's 30 blocks, grouped by their three depths of recursion. And
# valgrind can run the program under memprof (bench/cache_model.sh does so): small chunks
# mapped with a plain mmap made valgrind 3.19's address space manager fail an assertion.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

threads=300
env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/short.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$MEMPROF_BUILD/tests/progs/short_threads" "$threads" || fail "exit status"
[ -f short.trace ] || fail "no trace"
size=$(wc -c <short.trace)
echo "  $threads threads: a trace of $size bytes"
# A page each, and the main thread's chunks (its stacks, the modules): 2 pages each at most.
[ "$size" -le $((threads * 8192)) ] || fail "trace of $size bytes for $threads threads"

"$memprof" report --json short.trace >report.json || fail "report"
json_number() { # json_number KEY FILE: the first "KEY": N
	sed -n "s/^ *\"$1\": \([0-9]*\).*/\1/p" "$2" | head -n 1
}
# 50 a thread, and the 30 leaked; glibc's own (a thread's TLS) come on top.
allocations=$(json_number allocations report.json)
[ "${allocations:-0}" -ge $((threads * 50 + 30)) ] || fail "$allocations allocations"
[ "$(json_number frees report.json)" = $((threads * 50)) ] || fail "frees"

"$memprof" leaks --json short.trace >leaks.json || fail "leaks"
[ "$(json_number leaked_blocks leaks.json)" = 30 ] || fail "leaked blocks"
[ "$(json_number leaked_bytes leaks.json)" = 34350 ] || fail "leaked bytes"
# Each leak: its bytes and the descend frames of its stack, in order of the JSON.
awk 'inleaks && /"bytes":/ { sub(/,/, "", $2); bytes = $2 }
     /"leaks": \[/ { inleaks = 1 }
     inleaks && /"function": "descend"/ { n[bytes]++ }
     END { for (b in n) print b, n[b] }' leaks.json | sort >depths.txt
printf '%s\n' "11350 3" "11450 7" "11550 5" >want.txt
cmp -s depths.txt want.txt || { fail "leaks' stacks:"; sed 's/^/    /' depths.txt; }
if command -v valgrind >/dev/null 2>&1; then
	env MEMPROF_QUIET=1 MEMPROF_LEAK_CHECK=0 MEMPROF_OUTPUT="$(pwd)/vg.trace" \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" valgrind --tool=none --trace-children=yes \
		"$MEMPROF_BUILD/tests/progs/short_threads" 50 >vg.txt 2>&1 || fail "under valgrind"
	if grep -q "FATAL" vg.txt; then
		fail "valgrind failed:"
		grep -A2 FATAL vg.txt | sed 's/^/    /'
	fi
else
	echo "SKIP valgrind check: valgrind not installed"
fi
[ "$failures" -eq 0 ]
