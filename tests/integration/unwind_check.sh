#!/bin/sh
# unwind_check.sh: on real programs under the real preload, every stack memprof records is
# the one unw_backtrace returns from the same place.
#
# Runs programs under build/tests/libmemprof-unwind-check.so, the library built with
# MP_UNWIND_CHECK (preload/unwind.c): each capture, whether walked, found in the memo or
# left to libunwind, is also made by unw_backtrace and compared frame by frame, and every
# process says at exit how many were compared and how many differed. The programs: the
# C and C++ test programs (threads, short threads that take over the memos of ended ones,
# fork, exec, dlopen/dlclose, signals), and where they are installed sqlite3, gcc's cc1
# and python3 (deep stacks of code built without frame pointers, as Debian builds it). Fails if any capture differed, or if too few were made.
set -u
lib="$MEMPROF_BUILD/tests/libmemprof-unwind-check.so"
progs="$MEMPROF_BUILD/tests/progs"
failures=0
total=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

# check NAME MIN_CAPTURES CMD...: runs CMD under the checking library (stdin from
# ./input if present) and checks what each of its processes said.
check() {
	name=$1
	least=$2
	shift 2
	if [ -f input ]; then
		env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$name.%p.trace" LD_PRELOAD="$lib" "$@" \
			<input >/dev/null 2>"$name.err"
	else
		env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$name.%p.trace" LD_PRELOAD="$lib" "$@" \
			</dev/null >/dev/null 2>"$name.err"
	fi
	rm -f input ./*.trace
	compared=$(awk '/unwind check: [0-9]+ captures compared/ { n += $4 } END { print n + 0 }' "$name.err")
	differed=$(awk '/unwind check: [0-9]+ captures compared/ { n += $9 } END { print n + 0 }' "$name.err")
	echo "$name: $compared captures compared with unw_backtrace, $differed differed"
	[ "$differed" -eq 0 ] || { fail "$name: captures differ"; grep "differs" "$name.err" | head -3; }
	[ "$compared" -ge "$least" ] || fail "$name: only $compared captures compared (want >= $least)"
	total=$((total + compared))
}

check threads 3000 "$progs/threads"
check short_threads 3000 "$progs/short_threads"
check fork 10 "$progs/lifecycle" fork
check exec 10 "$progs/lifecycle" exec
check signal 10 "$progs/lifecycle" signal
check cxx 4 "$progs/cxx_new"
check dl 3 "$progs/dl" "$progs/libplugin.so"

if command -v sqlite3 >/dev/null 2>&1; then
	cat >input <<'SQL'
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO t SELECT i, printf('row %d %s', i, hex(randomblob(8))) FROM n;
CREATE INDEX tb ON t(b);
SELECT count(*) FROM t WHERE b LIKE 'row 1%';
SQL
	check sqlite3 50000 sqlite3 :memory:
else
	echo "sqlite3: not installed, skipped"
fi

cc1=/usr/lib/gcc/x86_64-linux-gnu/12/cc1
if [ -x "$cc1" ]; then
	cp "$MEMPROF_TOP/tests/progs/allocs.c" allocs.c
	cc -E -D_GNU_SOURCE allocs.c >allocs.i
	check cc1 2000 "$cc1" -fpreprocessed allocs.i -quiet -O2 -o /dev/null
else
	echo "cc1: not installed, skipped"
fi

if [ -x /usr/bin/python3 ]; then
	check python3 10000 /usr/bin/python3 -c '
import json, re
rows = [{"k": i, "v": str(i) * 3, "l": list(range(i % 17))} for i in range(5000)]
text = json.dumps(rows)
print(len(json.loads(text)), len(re.findall(r"\d+", text)))'
else
	echo "python3: not installed, skipped"
fi

echo "$total captures compared in all"
[ "$failures" -eq 0 ]
