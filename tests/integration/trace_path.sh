#!/bin/sh
# trace_path.sh: the trace's path stops leading to the trace while the program runs
# (tests/progs/chroot_alloc.c).
#  - The program changes its root (a daemon's chroot) to an empty directory: each new
#    chunk opened the trace again by its path, found none and stopped the recording, and
#    the exit's leak check and snapshot read /proc, which the new root does not have.
#    memprof keeps the trace's descriptor and one of /proc: the trace is whole, checked
#    and snapshotted.
#  - The program gives up root (setuid) and the trace's directory is closed to it now:
#    opening the trace again failed (EACCES) and stopped the recording. (As root only.)
#  - The trace is moved (mv) meanwhile: it goes on in the moved file.
#  - The trace is removed meanwhile: recording stops, and says so.
# Changing the root needs privilege: run as root, or in a user namespace (unshare -r).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/chroot_alloc"
lib="$MEMPROF_BUILD/libmemprof.so"
as_root=
[ "$(id -u)" -eq 0 ] || as_root="unshare -r"

# whole TRACE LABEL: the trace holds both rounds of 50000 and stdout's buffer.
whole() {
	"$memprof" report "$1" >report.out 2>&1 || fail "$2: report failed: $(cat report.out)"
	grep -q "^memprof report for '$1'\$" report.out || fail "$2: trace not whole: $(head -1 report.out)"
	grep -q '^Calls: *100,002 allocations, 100,000 frees' report.out ||
		fail "$2: $(grep '^Calls' report.out)"
}

# chrooted: the program changes its root to an empty directory, with memprof and without.
chrooted() {
	mkdir -p jail
	echo go | $as_root "$prog" "$(pwd)/jail" 50000 >plain.out 2>&1 ||
		fail "chroot without memprof: $(cat plain.out)"
	echo go | MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/jail.trace" LD_PRELOAD="$lib" \
		$as_root "$prog" "$(pwd)/jail" 50000 >traced.out 2>traced.err
	status=$?
	[ "$status" -eq 0 ] || fail "chroot: status $status: $(cat traced.out traced.err)"
	cmp -s plain.out traced.out || fail "chroot: output differs: $(cat traced.out)"
	[ -s traced.err ] && fail "chroot: memprof said: $(cat traced.err)"
	whole jail.trace chroot
	"$memprof" leaks jail.trace >leaks.out 2>&1
	grep -q '^  definitely lost: 0 bytes in 0 blocks$' leaks.out &&
		grep -q '^  Reachability scanned at exit in ' leaks.out || fail "chroot: $(head -7 leaks.out)"
	"$memprof" memory jail.trace >memory.out 2>&1 || fail "chroot: memory failed: $(cat memory.out)"
	grep -q "snapshot 1 of 1 (exit)" memory.out || fail "chroot: no exit snapshot: $(head -2 memory.out)"
}

if [ -n "$as_root" ] && ! unshare -r true 2>/dev/null; then
	echo "trace_path.sh: neither root nor user namespaces here; the chroot case is not run"
else
	chrooted
fi

if [ "$(id -u)" -eq 0 ]; then
	mkdir -p private
	chmod 700 private
	echo go | MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/private/nobody.trace" LD_PRELOAD="$lib" \
		"$prog" nobody 50000 >nobody.out 2>nobody.err ||
		fail "setuid: status $?: $(cat nobody.out nobody.err)"
	[ -s nobody.err ] && fail "setuid: memprof said: $(cat nobody.err)"
	cp private/nobody.trace nobody.trace
	whole nobody.trace setuid
	"$memprof" leaks nobody.trace >leaks.out 2>&1
	grep -q '^  Reachability scanned at exit in ' leaks.out || fail "setuid: $(head -4 leaks.out)"
else
	echo "trace_path.sh: the setuid case needs root; not run"
fi

# moved_or_removed ACTION: the program waits on a fifo while the trace is moved or removed.
moved_or_removed() {
	rm -f fifo mr.trace moved.trace mr.out mr.err
	mkfifo fifo
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/mr.trace" LD_PRELOAD="$lib" \
		"$prog" - 50000 <fifo >mr.out 2>mr.err &
	pid=$!
	exec 3>fifo
	wait_for_line mr.out ready
	case $1 in
	move) mv mr.trace moved.trace ;;
	remove) rm mr.trace ;;
	esac
	echo go >&3
	exec 3>&-
	wait "$pid" || fail "$1: status $?: $(cat mr.out mr.err)"
	printf 'ready\ndone\n' | cmp -s - mr.out || fail "$1: output: $(cat mr.out)"
}

moved_or_removed move
[ -s mr.err ] && fail "moved: memprof said: $(cat mr.err)"
whole moved.trace moved

moved_or_removed remove
grep -q "^memprof: trace '$(pwd)/mr.trace' was removed or replaced; recording stopped, the trace ends here\$" \
	mr.err || fail "removed: memprof said: $(cat mr.err)"
[ "$failures" -eq 0 ]
