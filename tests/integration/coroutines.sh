#!/bin/sh
# coroutines.sh: programs that run code on stacks of their own (makecontext, as coroutine
# and fiber libraries do) run under memprof as without it, and their leak checks see the
# threads' own stacks.
#  - tests/progs/coroutine_alloc.c: a coroutine on a 16 KiB stack allocating 48 levels of
#    256 bytes down, 4 KiB left. A stack other than the thread's is walked by libunwind,
#    which ran there and took ~10 KiB: the program crashed from 20 levels. libunwind walks
#    on memprof's own stack now: every allocation with its whole stack.
#  - tests/progs/stack_held.c: a thread whose only pointer to a block is on its own stack,
#    while it runs a coroutine. The exit check found its stack pointer on the coroutine's
#    stack and took the thread's own stack for a dead thread's: the block was "definitely
#    lost". It is still reachable.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"

#  - the same with the coroutine's stack mapped 256 MiB below the main thread's (`near`):
#    memprof took it for the main stack grown down and read /proc/self/maps to learn it,
#    with a 4 KiB buffer on the coroutine's 4 KiB left: the program crashed (one run in a
#    few hundred of the first case, where ASLR puts the mmap area that close). A stack
#    pointer beyond RLIMIT_STACK from the main stack's top is not the main stack's.
#    And the same in a thread of the program's (`thread`) whose first event is the
#    coroutine's: memprof learned the thread's stack there, and read the maps on the
#    coroutine's stack as well when the pointer was outside the thread's own. And on a
#    buffer in main's own frame (`onstack`): the main thread's stack, grown down past
#    what memprof knew of it, where it read the maps and learned rules, over main's frames
#    below the buffer; those slow paths run on memprof's own stack now.
for placement in "" near thread onstack; do
	rm -f co.trace
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/co.trace" LD_PRELOAD="$lib" \
		"$MEMPROF_BUILD/tests/progs/coroutine_alloc" 16384 48 $placement >co.out 2>&1
	status=$?
	name="coroutine_alloc${placement:+ $placement}"
	[ "$status" -eq 0 ] || fail "$name: status $status: $(cat co.out)"
	grep -q '^done 100$' co.out || fail "$name: $(cat co.out)"
	"$memprof" flamegraph --metric calls co.trace >co.folded 2>/dev/null ||
		fail "$name: flamegraph failed"
	whole=$(awk -F';' '/;coroutine;/ && $NF ~ /^allocate / {
		n = 0
		for (i = 1; i <= NF; i++) if ($i == "descend") n++
		if (n == 48) { split($NF, last, " "); whole += last[2] } } END { print whole + 0 }' \
		co.folded)
	[ "$whole" -eq 100 ] ||
		fail "$name: $whole allocations with 48 levels under coroutine, want 100"
done

for run in 1 2 3; do
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/held.trace" LD_PRELOAD="$lib" \
		"$MEMPROF_BUILD/tests/progs/stack_held" >held.out 2>&1
	status=$?
	[ "$status" -eq 0 ] || fail "stack_held: status $status: $(cat held.out)"
	"$memprof" leaks held.trace >held.txt 2>&1 || fail "stack_held: leaks failed: $(cat held.txt)"
	# The 7777-byte block and stdout's buffer (4096), both reachable; nothing lost. The
	# coroutine's block of 24 bytes too if the check stopped it between its malloc and
	# its free (CI's make check, once).
	reachable='^  still reachable: (11,873 bytes \(11.6 KiB\) in 2|11,897 bytes \(11.6 KiB\) in 3) '
	grep -q '^  definitely lost: 0 bytes in 0 blocks$' held.txt &&
		grep -Eq "${reachable}blocks " held.txt ||
		fail "stack_held run $run: $(head -6 held.txt)"
	rm -f held.trace
done
[ "$failures" -eq 0 ]
