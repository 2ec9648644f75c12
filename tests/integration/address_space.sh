#!/bin/sh
# address_space.sh: the address space (VIRT) memprof adds to a process. The leak thread's
# first call of pthread_getattr_np allocated, and glibc gave the thread an arena of its own:
# 64 MiB of address space, which counts against `ulimit -v` and the limit of mlockall
# (MCL_CURRENT): a small program went from 2.5 MiB to 74 MiB. memprof's threads now
# allocate from its boot arena. Then 4 MiB were the threads' heap counters, reserved for
# 65536 threads at start; they are mapped 1024 threads at a time now (heap_peak.c).
# tests/progs/address_space.c prints its VmSize after its allocations, alone and under
# memprof with the leak and snapshot threads running: memprof may add its library and
# libunwind's, its threads' stacks, its tables and the trace's chunks, less than 6 MiB
# (3.8 MiB on Debian 12; 7.8 with the counters reserved whole).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/address_space"

plain=$("$prog" | awk '{ print $2 }')
traced=$(MEMPROF_QUIET=1 MEMPROF_SNAPSHOT_MS=20 MEMPROF_OUTPUT="$(pwd)/as.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" | awk '{ print $2 }')
[ -n "$plain" ] && [ "$plain" -gt 0 ] || fail "VmSize alone: '$plain'"
[ -n "$traced" ] && [ "$traced" -gt 0 ] || fail "VmSize under memprof: '$traced'"
added=$((traced - plain))
[ "$added" -lt 6144 ] || fail "memprof added $added KiB of address space (alone $plain KiB)"
"$memprof" report --json as.trace 2>/dev/null | grep -q '"complete": true' ||
	fail "trace not complete"
[ "$failures" -eq 0 ]
