#!/bin/sh
# cli_bad_input.sh: every class of unreadable trace gives exactly one
# "memprof: cannot read 'PATH': reason" line on stderr, nothing on stdout, and exit 2;
# usage errors exit 2 too.
set -u
memprof="$MEMPROF_BUILD/memprof"
failures=0

# check NAME EXPECTED_CODE ARGS...: runs memprof, checks the code and a one-line stderr.
check() {
	name=$1 expected=$2
	shift 2
	"$memprof" "$@" >out.txt 2>err.txt
	code=$?
	lines=$(wc -l <err.txt)
	if [ "$code" -ne "$expected" ] || [ "$lines" -ne 1 ] || [ -s out.txt ]; then
		echo "FAIL $name: exit $code (want $expected), $lines stderr lines, stdout $(wc -c <out.txt) bytes"
		sed 's/^/    /' err.txt
		failures=$((failures + 1))
	else
		echo "ok   $name: $(cat err.txt)"
	fi
}

# check_read NAME FILE: the bad-trace form for every command.
check_read() {
	for command in report leaks flamegraph; do
		check "$1 ($command)" 2 "$command" "$2"
		if ! grep -q "^memprof: cannot read '$2': ." err.txt; then
			echo "FAIL $1 ($command): message format"
			failures=$((failures + 1))
		fi
	done
	check "$1 (--json)" 2 report --json "$2"
}

check_read "missing file" does-not-exist.trace
: >empty.trace
check_read "empty file" empty.trace
printf 'this is not a memprof trace, just some text that is long enough\n' >text.trace
check_read "not a trace" text.trace
mkdir -p dir.trace
check_read "a directory" dir.trace
# Right magic, then a version from the future.
printf 'MEMPROF\032\143\000\000\000' >version.trace
head -c 200 /dev/zero >>version.trace
check_read "unknown version" version.trace
# Right magic and version, header cut short.
printf 'MEMPROF\032\001\000\000\000' >short.trace
check_read "truncated header" short.trace
head -c 100000 /dev/urandom >random.trace
check_read "random bytes" random.trace

check "unknown command" 2 frobnicate x.trace
check "unknown option" 2 report --bogus x.trace
check "unknown metric" 2 flamegraph --metric bytes x.trace
check "no trace" 2 report
check "run without program" 2 run --

[ "$failures" -eq 0 ]
