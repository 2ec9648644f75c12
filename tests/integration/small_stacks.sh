#!/bin/sh
# small_stacks.sh: threads on small fixed stacks (tests/progs/small_stacks.c) run under
# memprof as they run without it. memprof's recording runs on the program's stack, and
# its slow paths (learning unwind rules, the memo) need several KiB: near the end of a
# thread's stack it records the allocation with no stack instead of walking. 16 KiB
# stacks (PTHREAD_STACK_MIN) 24 levels deep: every allocation recorded, none with a
# stack (within 12 KiB of the end); 64 KiB stacks 24 levels deep: every allocation with
# its whole stack. A signal handler on an alternate stack, likewise (tests/progs/
# altstack_alloc.c); coroutines' stacks: coroutines.sh. At the session before this test
# the 16 KiB threads overflowed (past 14 levels), and so did a handler allocating on a
# stack of SIGSTKSZ (8 KiB). The 16 KiB case again with MEMPROF_LEAK_CHECK=0 and sampled,
# and with a heap peak's snapshot at the bottom.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

prog="$MEMPROF_BUILD/tests/progs/small_stacks"

# traced STACK DEPTH: runs it under memprof; the trace is ss.STACK.trace.
traced() {
	"$prog" "$1" "$2" >plain.out 2>&1 || fail "stack $1: without memprof: status $?"
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/ss.$1.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
		"$prog" "$1" "$2" >traced.out 2>&1
	status=$?
	[ "$status" -eq 0 ] || fail "stack $1, $2 levels: status $status with memprof: $(cat traced.out)"
	grep -q '^ok$' traced.out || fail "stack $1: $(cat traced.out)"
	"$memprof" flamegraph --metric calls "ss.$1.trace" >"ss.$1.folded" 2>/dev/null ||
		fail "stack $1: flamegraph failed"
}

traced 16384 24
nostack=$(awk '/^\[no stack\] / { print $NF }' ss.16384.folded)
[ "${nostack:-0}" -eq 4000 ] || fail "16 KiB: ${nostack:-0} allocations without a stack, want 4000"

# Without the leak thread (which used to bind what a thread's first capture needs, as it
# started): the same 16 KiB threads overflowed every run with MEMPROF_LEAK_CHECK=0, one in
# five sampled. Each must run as alone.
for config in MEMPROF_LEAK_CHECK=0 MEMPROF_SAMPLE_BYTES=4096; do
	env "$config" MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/ss.config.trace" \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" 16384 24 >config.out 2>&1
	status=$?
	[ "$status" -eq 0 ] || fail "16 KiB, $config: status $status: $(cat config.out)"
	grep -q '^ok$' config.out || fail "16 KiB, $config: $(cat config.out)"
done

# A new heap peak deep in a 16 KiB thread (small_stacks.c's `peak`: 8 MiB at the bottom):
# memprof takes the peak's snapshot inside that malloc, and took 5-6 KiB of the thread's
# stack for it there: the program crashed every run. It runs on memprof's own stack now,
# and the snapshot is in the trace.
MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/peak.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$prog" 16384 24 peak >peak.out 2>&1
status=$?
[ "$status" -eq 0 ] || fail "16 KiB with a heap peak: status $status: $(cat peak.out)"
grep -q '^ok$' peak.out || fail "16 KiB with a heap peak: $(cat peak.out)"
"$memprof" memory peak.trace >peak.txt 2>&1 || fail "16 KiB with a heap peak: memory failed"
grep -Eq '^ +1 +[0-9.]+ s +heap-peak ' peak.txt ||
	fail "16 KiB with a heap peak: no heap-peak snapshot first: $(grep -A3 '^Timeline' peak.txt)"

traced 65536 24
nostack=$(awk '/^\[no stack\] / { print $NF }' ss.65536.folded)
[ -z "$nostack" ] || fail "64 KiB: $nostack allocations without a stack, want none"
# Each thread's 1000: work, then 25 levels of descend (the outermost first).
full=$(awk -F';' '/^work;/ && NF == 26 { split($NF, last, " "); n += last[2] } END { print n + 0 }' \
	ss.65536.folded)
[ "$full" -eq 4000 ] || fail "64 KiB: $full allocations with their whole stack, want 4000"
# A handler allocating on an alternate signal stack of SIGSTKSZ (8 KiB) or of 32 KiB: its
# stacks through the signal frame to main, walked by libunwind on memprof's own stack (on
# the handler's, 8 KiB overflowed; then such allocations were recorded with no stack).
for size in 8192 32768; do
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/alt.$size.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
		"$MEMPROF_BUILD/tests/progs/altstack_alloc" "$size" >alt.out 2>&1
	status=$?
	[ "$status" -eq 0 ] || fail "altstack $size: status $status: $(cat alt.out)"
	grep -q '^handled 100$' alt.out || fail "altstack $size: $(cat alt.out)"
	"$memprof" flamegraph --metric calls "alt.$size.trace" >"alt.$size.folded" 2>/dev/null ||
		fail "altstack $size: flamegraph failed"
done
for size in 8192 32768; do
	handler=$(awk -F';' '/^main;.*;handler / { split($NF, last, " "); n += last[2] } END { print n + 0 }' \
		"alt.$size.folded")
	[ "$handler" -eq 100 ] || fail "altstack $size: $handler allocations under main and handler, want 100"
done
[ "$failures" -eq 0 ]
