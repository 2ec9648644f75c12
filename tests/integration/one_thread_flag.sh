#!/bin/sh
# one_thread_flag.sh: glibc's one-thread flag under memprof (preload/single_thread.c).
# memprof's leak thread cleared it, and a single-threaded program's every malloc and free
# then took the arena's lock. Under memprof a single-threaded program must see the flag
# set, in its executable's copy and in libc's, with the leak thread running, and cleared
# once it starts a thread of its own; its heap, churned with checked contents, must stay
# whole (tests/progs/one_thread_flag.c prints all that: the same lines as alone, except
# the count of threads).
# Then fork, forkpty and daemon: glibc's fork resets its count of threads in the child only
# when the flag is clear, so memprof clears it around them; a child whose main thread
# ends with pthread_exit must still run exit(0), whose flush writes its last line (lost
# without that: the child's count still had memprof's threads of its parent in it).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"
prog="$MEMPROF_BUILD/tests/progs/one_thread_flag"

# under OUT ARGS...: the program under memprof, its stdout in OUT.
under() {
	out=$1
	shift
	timeout -s KILL 30 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/t.%p.trace" \
		LD_PRELOAD="$lib" "$prog" "$@" >"$out" 2>"$out.err" ||
		fail "$* under memprof: status $? $(cat "$out.err")"
}

"$prog" flag 1 >alone.out 2>&1 || fail "alone: $(cat alone.out)"
grep -q '^alone: copy 1 libc 1$' alone.out || fail "the flag alone: $(cat alone.out)"
under traced.out flag 2
grep -q '^threads 2$' traced.out || fail "memprof's thread not running: $(cat traced.out)"
grep -v '^threads' alone.out >alone.lines
grep -v '^threads' traced.out >traced.lines
# Kept only on the glibc whose readers of the flag were checked (single_thread.c).
if [ "$(getconf GNU_LIBC_VERSION)" = "glibc 2.36" ]; then
	cmp -s alone.lines traced.lines ||
		fail "the flag under memprof: $(cat traced.out), alone: $(cat alone.out)"
else
	echo "SKIP $(getconf GNU_LIBC_VERSION): memprof leaves the flag as glibc sets it"
fi
[ "$(grep -c '^churn: 0 bad bytes$' traced.out)" -eq 2 ] || fail "heap: $(cat traced.out)"
set -- t.*.trace
[ "$#" -eq 1 ] || fail "$# traces, want the parent's only (the child allocates nothing)"
"$memprof" report --json "$1" >flag.json 2>/dev/null || fail "the trace does not read"
grep -q '"complete": true' flag.json || fail "the trace is not complete"
rm -f t.*.trace

under fork.out fork
grep -q '^fork child: its line written at its end$' fork.out ||
	fail "the fork child's last line: $(cat fork.out)"
grep -q '^fork child status 0$' fork.out || fail "the fork child: $(cat fork.out)"

under forkpty.out forkpty
grep -q '^read from the terminal: forkpty child: its line written at its end$' forkpty.out ||
	fail "the forkpty child's last line: $(cat forkpty.out)"
grep -q '^forkpty child status 0$' forkpty.out || fail "the forkpty child: $(cat forkpty.out)"

under daemon.parent daemon "$(pwd)/daemon.out"
wait_for_line daemon.out '^daemon: its line written at its end$' 10 ||
	fail "the daemon's last line: $(cat daemon.out 2>/dev/null)"
[ "$failures" -eq 0 ]
