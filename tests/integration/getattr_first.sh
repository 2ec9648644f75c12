#!/bin/sh
# getattr_first.sh: threads whose first allocation is glibc's own, inside
# pthread_getattr_np (tests/progs/getattr_first.c), run under memprof as without it.
# glibc reallocs there holding the lock of the thread asked about, and memprof, learning
# a thread's stack at its first capture, asked pthread_getattr_np about the thread too:
# a thread asking about itself waited for its own lock for good (every run hung), as a
# Rust program's threads would, which ask about themselves as they start; two threads
# asking about each other could wait for each other. memprof's captures inside the
# program's call walk with libunwind instead, and the allocations there keep their whole
# stacks (without memprof's frame of its wrapper).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/getattr_first"

"$prog" 4 4 >plain.out 2>&1 || fail "without memprof: status $?"
timeout 60 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/ga.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" 4 4 >traced.out 2>&1
status=$?
[ "$status" -ne 124 ] || fail "hung under memprof (timed out after 60 s)"
[ "$status" -eq 0 ] || fail "status $status under memprof: $(cat traced.out)"
cmp -s plain.out traced.out || fail "output $(cat traced.out), without memprof $(cat plain.out)"
"$memprof" flamegraph --metric calls ga.trace >ga.folded 2>/dev/null || fail "flamegraph failed"
# calls STACK_PREFIX: the allocations whose stack starts (outermost first) with it.
calls() {
	awk -v prefix="$1" 'index($0, prefix) == 1 { n += $NF } END { print n + 0 }' ga.folded
}
# Every thread's 10 blocks, under the function that started it.
[ "$(calls 'about_self;allocate ')" -eq 40 ] ||
	fail "$(calls 'about_self;allocate ') allocations under about_self;allocate, want 40"
[ "$(calls 'about_partner;allocate ')" -eq 80 ] ||
	fail "$(calls 'about_partner;allocate ') allocations under about_partner;allocate, want 80"
# glibc's own inside pthread_getattr_np, walked through it: as many a thread (three with
# Debian 12's glibc) whichever thread it asked about.
self=$(calls 'about_self;ask;')
partner=$(calls 'about_partner;ask;')
[ "$self" -gt 0 ] && [ $((self % 4)) -eq 0 ] && [ "$partner" -eq $((self * 2)) ] ||
	fail "$self allocations in 4 threads asking about themselves, $partner in 8 asking about another"
# ask's callee is glibc's pthread_getattr_np (named so, or __pthread_getattr_np with its
# debug symbols), not memprof's wrapper of it too: the profiler's frames are not written.
[ "$(grep -Ec ';ask;(__)?pthread_getattr_np[; ]' ga.folded)" -eq 6 ] ||
	fail "stacks through ask: $(grep ';ask;' ga.folded)"
grep -Eq ';ask;(__)?pthread_getattr_np;(__)?pthread_getattr_np' ga.folded &&
	fail "memprof's pthread_getattr_np in a stack: $(grep ';ask;' ga.folded)"
[ "$failures" -eq 0 ]
