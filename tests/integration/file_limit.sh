#!/bin/sh
# file_limit.sh: a program run under a file size limit (`ulimit -f`, RLIMIT_FSIZE) that its
# trace outgrows is not killed by SIGXFSZ, which a write past the limit sends: its stdout,
# stderr (beside memprof's one line) and exit status are those of a run without memprof,
# and the trace ends where the limit stopped it, saying so. A limit below the trace's
# header leaves no trace and the program untouched.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

prog="$MEMPROF_BUILD/tests/progs/full_disk"

# limited BLOCKS: full_disk 1000000 3 with and without memprof under `ulimit -f BLOCKS`.
limited() {
	rm -f x.trace
	(ulimit -f "$1" && "$prog" 1000000 3 >plain.out 2>plain.err)
	plain=$?
	(ulimit -f "$1" && MEMPROF_OUTPUT="$(pwd)/x.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
		"$prog" 1000000 3 >pre.out 2>pre.err)
	got=$?
	[ "$got" -eq "$plain" ] || fail "limit $1: exit status $got, without memprof $plain"
	cmp -s plain.out pre.out || fail "limit $1: stdout differs"
	grep -v '^memprof: ' pre.err >pre.err.own
	cmp -s plain.err pre.err.own || fail "limit $1: the program's stderr differs"
	grep '^memprof: ' pre.err >memprof.txt
	[ "$(wc -l <memprof.txt)" -eq 1 ] || fail "limit $1: $(wc -l <memprof.txt) memprof lines"
	sed "s/^/    limit $1: /" memprof.txt
}

# 2000 blocks of 1 KiB: the trace of a million events needs about 7 MB.
limited 2000
grep -q "cannot extend trace '.*x.trace': File too large, past the file size limit (ulimit -f); recording stopped" \
	memprof.txt || fail "limit 2000: the line does not name the limit"
size=$(stat -c %s x.trace)
[ "$size" -le 2048000 ] || fail "the trace is $size bytes, past the limit of 2048000"
"$memprof" report x.trace >report.txt 2>report.err
[ $? -eq 0 ] || fail "report: $(cat report.err)"
grep -q "INCOMPLETE: recording stopped: the trace file reached the process's file size limit (RLIMIT_FSIZE, ulimit -f)" \
	report.txt || fail "report: $(head -1 report.txt)"
grep -q "exited with status 3" report.txt || fail "report: $(sed -n 2p report.txt)"

# 1 block: not even the header fits.
limited 1
grep -q "cannot create trace '.*x.trace': File too large, past the file size limit (ulimit -f); not recording" \
	memprof.txt || fail "limit 1: the line does not say the trace was not made"
[ ! -e x.trace ] || fail "limit 1: a trace was left behind"
[ "$failures" -eq 0 ]
