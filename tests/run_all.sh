#!/bin/sh
# Runs every test given on the command line, each in its own scratch directory, and
# prints one line per test; exits 1 if any failed. Output of a failing test is shown.
# Each test gets TEST_TIMEOUT seconds (default 300): a deadlock fails, it does not hang.
# A test that exits 77 could not run here (not root, a package missing): it is listed as
# SKIP with the lines of its output that start with "SKIP", which say why.
set -u
top=$(pwd)
failed=0
skipped=0
count=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/memprof-tests.XXXXXX")
for test in "$@"; do
	count=$((count + 1))
	name=$(basename "$test")
	dir="$scratch/$count-$name"
	mkdir -p "$dir"
	case "$test" in
	*.sh) cmd="sh $top/$test" ;;
	*) cmd="$top/$test" ;;
	esac
	# A debug cache of its own (debug_cache.h), not the user's.
	(cd "$dir" && MEMPROF_TOP="$top" MEMPROF_BUILD="$top/${BUILD:-build}" \
		MEMPROF_DEBUG_CACHE="$dir/debug-cache" \
		timeout "${TEST_TIMEOUT:-300}" $cmd >"$dir/log" 2>&1)
	code=$?
	if [ "$code" -eq 0 ]; then
		echo "PASS $test"
		grep '^SKIP' "$dir/log" | sed 's/^/    /'
	elif [ "$code" -eq 77 ]; then
		echo "SKIP $test"
		grep '^SKIP' "$dir/log" | sed 's/^/    /'
		skipped=$((skipped + 1))
	else
		echo "FAIL $test"
		sed 's/^/    /' "$dir/log" | tail -n 60
		failed=$((failed + 1))
	fi
done
echo "$((count - failed))/$count test programs passed$( [ "$skipped" -eq 0 ] || echo " ($skipped skipped)")"
[ "$failed" -eq 0 ] && rm -rf "$scratch"
[ "$failed" -eq 0 ]
