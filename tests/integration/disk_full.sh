#!/bin/sh
# disk_full.sh: a trace on a file system that fills up never hurts the program: its
# stdout, stderr (beside memprof's one line) and exit status are those of a run without
# memprof, on a 2 MiB tmpfs, on an ext4 image and on a disk already full; the trace says
# why it ends early; and `memprof report` on a trace whose pages were never backed says so
# (exit 2) instead of dying of SIGBUS. Mounting needs root: otherwise the test is skipped.
set -u
build="$MEMPROF_BUILD"
memprof="$build/memprof"
prog="$build/tests/progs/full_disk"
lib="$build/libmemprof.so"
failures=0
mounted=""

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

cleanup() {
	for point in $mounted; do
		umount "$point" 2>/dev/null || umount -l "$point" 2>/dev/null
	done
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP disk_full.sh: mounting a small file system needs root (uid $(id -u))"
	exit 77
fi
mkdir -p tmpfs
if ! mount -t tmpfs -o size=2m memprof-test tmpfs; then
	echo "SKIP disk_full.sh: cannot mount a tmpfs here"
	exit 77
fi
mounted="$(pwd)/tmpfs"

# same_as_plain NAME DIR COUNT STATUS: runs the program with and without the preload
# (trace in DIR) and compares what the program shows; prints memprof's lines to memprof.txt.
same_as_plain() {
	name=$1 dir=$2 count=$3 status=$4
	"$prog" "$count" "$status" >plain.out 2>plain.err
	plain=$?
	LD_PRELOAD="$lib" MEMPROF_OUTPUT="$dir/x.trace" "$prog" "$count" "$status" \
		>pre.out 2>pre.err
	got=$?
	[ "$got" -eq "$plain" ] || fail "$name: exit status $got, without memprof $plain"
	cmp -s plain.out pre.out || fail "$name: stdout differs"
	grep -v '^memprof: ' pre.err >pre.err.own
	cmp -s plain.err pre.err.own || fail "$name: the program's stderr differs"
	grep '^memprof: ' pre.err >memprof.txt
	[ "$(wc -l <memprof.txt)" -eq 1 ] || fail "$name: $(wc -l <memprof.txt) memprof lines, want 1"
	sed "s/^/    $name: /" memprof.txt
}

# 1. The trace outgrows a 2 MiB tmpfs while the program runs.
same_as_plain "tmpfs" tmpfs 1000000 3
grep -q "cannot extend trace '.*/tmpfs/x.trace': No space left on device; recording stopped" \
	memprof.txt || fail "tmpfs: the line does not say the disk is full"
"$memprof" report tmpfs/x.trace >report.txt 2>report.err
[ $? -eq 0 ] || fail "tmpfs: report exit status"
grep -q "exited with status 3" report.txt || fail "tmpfs: report: exit status"
grep -q "INCOMPLETE" report.txt || fail "tmpfs: report: not marked INCOMPLETE"
grep -q "recording stopped: the disk was full (No space left on device)" report.err ||
	fail "tmpfs: report: no reason: $(cat report.err)"
"$memprof" leaks tmpfs/x.trace >leaks.txt 2>/dev/null
grep -q "No leak kinds in this trace (recording stopped early, the disk being full)" \
	leaks.txt || fail "tmpfs: leaks: wrong reason: $(grep 'No leak' leaks.txt)"
ls tmpfs | grep -q tmp && fail "tmpfs: a temporary file was left: $(ls tmpfs)"

# 2. `memprof run` passes the program's status through, not a crash.
rm -f tmpfs/*
"$memprof" run --output "$(pwd)/tmpfs/r.trace" -- "$prog" 1000000 4 >/dev/null 2>run.err
code=$?
[ "$code" -eq 4 ] || fail "run: exit status $code, want 4"
grep -q "killed by signal" run.err && fail "run: reported a crash"

# 3. The disk is full before the program starts: no trace, the program as without.
rm -f tmpfs/*
dd if=/dev/zero of=tmpfs/filler bs=64k 2>/dev/null
same_as_plain "full" tmpfs 10 5
grep -q "cannot create trace '.*/tmpfs/x.trace': No space left on device; not recording" \
	memprof.txt || fail "full: the line does not say the disk is full"
[ -e tmpfs/x.trace ] && fail "full: an empty trace was left"
ls tmpfs | grep -q tmp && fail "full: a temporary file was left: $(ls tmpfs)"

# 4. The reader: files whose pages a full tmpfs cannot back are read, not mapped.
truncate -s 4096 tmpfs/hole.trace 2>/dev/null || : >tmpfs/hole.trace
"$memprof" report tmpfs/hole.trace >out.txt 2>err.txt
code=$?
[ "$code" -eq 2 ] || fail "hole: report exit $code, want 2"
grep -q "^memprof: cannot read '.*hole.trace': not a memprof trace" err.txt ||
	fail "hole: message: $(cat err.txt)"
rm -f tmpfs/filler
LD_PRELOAD="$lib" MEMPROF_OUTPUT="$(pwd)/whole.trace" "$prog" 100 0 >/dev/null 2>&1
head -c 4096 whole.trace >tmpfs/cut.trace
dd if=/dev/zero of=tmpfs/filler bs=64k 2>/dev/null
truncate -s 1M tmpfs/cut.trace
"$memprof" report tmpfs/cut.trace >out.txt 2>err.txt
code=$?
[ "$code" -eq 0 ] || fail "cut: report exit $code, want 0 (a header and no chunk)"
rm -f tmpfs/*

# 5. An ext4 image, where fallocate is the file system's own.
if command -v mkfs.ext4 >/dev/null 2>&1 && dd if=/dev/zero of=ext4.img bs=1M count=8 2>/dev/null &&
	mkfs.ext4 -q -F ext4.img >/dev/null 2>&1 && mkdir -p ext4 &&
	mount -o loop ext4.img ext4 2>/dev/null; then
	mounted="$mounted $(pwd)/ext4"
	same_as_plain "ext4" ext4 3000000 6
	grep -q "No space left on device; recording stopped" memprof.txt ||
		fail "ext4: the line does not say the disk is full"
	"$memprof" report ext4/x.trace >report.txt 2>report.err ||
		fail "ext4: report exit status"
	grep -q "the disk was full" report.err || fail "ext4: report: no reason"
else
	echo "SKIP disk_full.sh: ext4 part: no mkfs.ext4 or loop device here (e2fsprogs)"
fi

[ "$failures" -eq 0 ]
