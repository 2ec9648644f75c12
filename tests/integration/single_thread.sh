#!/bin/sh
# single_thread.sh: calls that need a process of one thread (tests/progs/single_thread.c:
# unshare(CLONE_THREAD), unshare(CLONE_SIGHAND) through syscall(), setns() into a mount
# namespace, as `unshare -U` and nsenter make them). memprof's leak thread made each fail
# with EINVAL. They must succeed as alone (same output, same status), the trace be whole
# (100 blocks before, 20000 churned after, the 777-byte block lost found by the exit
# check), and memprof's thread be back once the process allocates a while later (the
# program counts its threads on stderr: 1 alone, 2 under memprof). Then the change of user
# and group a program keeping its capabilities makes (`ids`): glibc aborted it under memprof
# (setresgid failed on memprof's thread, which had not got the capabilities back); it must
# run as alone, its trace whole with the lost block (that part needs root). Before it, a
# program that counts its own threads (`count`).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"
prog="$MEMPROF_BUILD/tests/progs/single_thread"

"$prog" resume 20000 >plain.out 2>plain.err
plain=$?
rm -f alone.trace
timeout -s KILL 30 env MEMPROF_OUTPUT="$(pwd)/alone.trace" LD_PRELOAD="$lib" \
	"$prog" resume 20000 >alone.out 2>alone.err
status=$?
[ "$plain" -eq 0 ] || fail "status $plain without memprof: $(cat plain.out plain.err)"
grep -q '^unshare_thread OK$' plain.out || fail "unshare fails without memprof: $(cat plain.out)"
[ "$status" -eq 0 ] || fail "status $status under memprof: $(cat alone.err)"
cmp -s plain.out alone.out || fail "output under memprof: $(cat alone.out)"
grep -q '^threads 1$' plain.err || fail "alone: $(cat plain.err)"
grep -q '^threads 2$' alone.err || fail "memprof's thread not back: $(cat alone.err)"
"$memprof" report --json alone.trace >alone.json 2>/dev/null || fail "report failed"
grep -q '"complete": true' alone.json || fail "trace not complete"
[ "$(calls alone.trace before_calls)" -eq 100 ] ||
	fail "$(calls alone.trace before_calls) of the 100 blocks before the calls"
[ "$(calls alone.trace churn)" -eq 20000 ] ||
	fail "$(calls alone.trace churn) of 20000 allocations after the calls"
"$memprof" leaks alone.trace >leaks.txt 2>&1
grep -q 'definitely lost: 777 bytes in 1 block' leaks.txt || fail "leaks: $(cat leaks.txt)"
grep -q 'lose' leaks.txt || fail "the lost block's stack: $(cat leaks.txt)"
# as_alone MODE LINE: MODE runs under memprof as alone (status 0, the same output, LINE
# in it), its trace whole with the 20000 churned allocations and the lost block.
as_alone() {
	"$prog" "$1" 20000 >plain.out 2>plain.err
	plain=$?
	rm -f "$1.trace"
	timeout -s KILL 30 env MEMPROF_OUTPUT="$(pwd)/$1.trace" LD_PRELOAD="$lib" \
		"$prog" "$1" 20000 >"$1.out" 2>"$1.err"
	status=$?
	[ "$plain" -eq 0 ] && grep -q "^$2\$" plain.out ||
		fail "$1: status $plain without memprof: $(cat plain.out plain.err)"
	[ "$status" -eq 0 ] || fail "$1: status $status under memprof: $(cat "$1.err")"
	cmp -s plain.out "$1.out" || fail "$1: output under memprof: $(cat "$1.out")"
	"$memprof" report --json "$1.trace" 2>/dev/null | grep -q '"complete": true' ||
		fail "$1: trace not complete"
	[ "$(calls "$1.trace" churn)" -eq 20000 ] ||
		fail "$1: $(calls "$1.trace" churn) of 20000 allocations"
	"$memprof" leaks "$1.trace" 2>&1 | grep -q 'definitely lost: 777 bytes in 1 block' ||
		fail "$1: the lost block not found"
}

# A program counting its threads by the links of /proc/self/task (stat as Firefox does,
# fstatat from /proc as Chromium's zygote does, statx; a process each, since the first
# call sends memprof's threads away): 4 under memprof, and Chromium's zygote stopped on
# it. Each must count 3 as alone, the trace be whole, memprof's thread be back.
for call in stat fstatat statx; do
	as_alone "count-$call" 'task_links 3'
done
grep -q '^threads 2$' count-fstatat.err ||
	fail "count-fstatat: memprof's thread not back: $(cat count-fstatat.err)"
if [ "$(id -u)" -eq 0 ]; then
	as_alone ids 'ids 65534 65534'
else
	echo "SKIP ids: needs root (uid $(id -u))"
fi
[ "$failures" -eq 0 ]
