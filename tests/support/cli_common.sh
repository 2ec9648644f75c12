# cli_common.sh: what the command-line tests (tests/integration/*.sh) start with; sourced,
# never run:  . "$MEMPROF_TOP/tests/support/cli_common.sh"
# Sets memprof (the command under test, from $MEMPROF_BUILD) and failures (0), and
# defines fail, which prints "FAIL <what>" and counts it; a test ends with
# [ "$failures" -eq 0 ].
memprof="$MEMPROF_BUILD/memprof"
failures=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}
