#!/bin/sh
# mmap_reserved.sh: address space a program reserves (mapped PROT_NONE, as JavaScript
# engines and JVMs reserve their heaps) is told apart from the rest of what it maps. node
# printing a line mapped 567 MiB at its peak, 566 MiB of it PROT_NONE: the report said
# "Peak mmap: 567.2 MiB" and nothing more. tests/progs/reserve_map.c reserves 64 MiB
# (opening 1 MiB of it with mprotect, which is not traced), maps 2 MiB read-write, then
# unmaps 48 MiB of the reservation.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/rm.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$MEMPROF_BUILD/tests/progs/reserve_map" >out.txt 2>&1 || fail "status $?: $(cat out.txt)"
"$memprof" report --json rm.trace >report.json 2>&1 || fail "report --json failed: $(cat report.json)"
for want in '"peak_mmap_bytes": 69206016' '"peak_mmap_reserved_bytes": 67108864' \
	'"mmap_live_bytes": 18874368' '"mmap_live_reserved_bytes": 16777216'; do
	grep -q "$want" report.json || fail "want $want: $(grep mmap report.json)"
done
"$memprof" report rm.trace >report.txt 2>&1 || fail "report failed: $(cat report.txt)"
grep -q '^Peak mmap:    69,206,016 bytes (66.0 MiB) at ' report.txt &&
	grep -q '^              mapped PROT_NONE (reserved address space, which mprotect may open later: not traced):$' report.txt &&
	grep -q '^              67,108,864 bytes (64.0 MiB) of the peak, 16,777,216 bytes (16.0 MiB) at the end$' report.txt ||
	fail "text: $(grep -A2 '^Peak mmap' report.txt)"
[ "$failures" -eq 0 ]
