# cli_common.sh: what the command-line tests (tests/integration/*.sh) start with; sourced,
# never run:  . "$MEMPROF_TOP/tests/support/cli_common.sh"
# Sets memprof (the command under test, from $MEMPROF_BUILD) and failures (0), and
# defines fail, which prints "FAIL <what>" and counts it; a test ends with
# [ "$failures" -eq 0 ]; wait_for_line, for a program under test to say it is ready; and
# calls, the allocations a trace holds from one function.
memprof="$MEMPROF_BUILD/memprof"
failures=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

# wait_for_line FILE TEXT [SECONDS]: waits (5 s by default) for FILE, a program's output,
# to hold TEXT; non-zero if it never does.
wait_for_line() {
	waits=$(( ${3:-5} * 100 ))
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ "$waits" -gt 0 ] || return 1
		sleep 0.01
		waits=$((waits - 1))
	done
}

# calls TRACE FUNCTION: the calls recorded with FUNCTION innermost but one (its malloc),
# from `memprof flamegraph --metric calls`; 0 if none.
calls() {
	"$memprof" flamegraph --metric calls "$1" 2>/dev/null |
		awk -v f="$2" '$1 ~ ("(^|;)" f "$") { n += $2 } END { print n + 0 }'
}
