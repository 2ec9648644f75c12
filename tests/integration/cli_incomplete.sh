#!/bin/sh
# cli_incomplete.sh: a trace that lost its end is incomplete, whatever its header says.
# A real trace of a program that frees every block, cut at every 4 KiB boundary (inside
# its two-page header too, thanks to a long argument), must each time be reported
# INCOMPLETE with a reason, in text and JSON, and fail `leaks --fail-on-leak` with that
# reason on stderr; the whole trace passes. A killed program's trace fails the gate too,
# and so does a two-thread trace cut anywhere (the END record counts the chunks).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

cat >prog.c <<'C'
#include <signal.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
	for (int i = 0; i < 3000; i++) {
		char *block = malloc(16 + (size_t)i % 100);
		block[0] = 1;
		free(block);
	}
	if (argc > 1 && strcmp(argv[1], "kill") == 0)
		raise(SIGKILL);
	return 0;
}
C
cc -O0 -g -o prog prog.c || exit 1
long_arg=$(head -c 5000 /dev/zero | tr '\0' 'x')
MEMPROF_QUIET=1 MEMPROF_OUTPUT=whole.trace LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	./prog "$long_arg" || fail "profiled run"
size=$(stat -c %s whole.trace)
[ "$size" -ge 24576 ] || fail "trace of $size bytes: too small to cut in many places"

"$memprof" report --json whole.trace >whole.json 2>whole.err || fail "whole: report status"
grep -q '"complete": true' whole.json || fail "whole: not complete"
[ -s whole.err ] && fail "whole: warnings: $(cat whole.err)"
"$memprof" leaks --fail-on-leak whole.trace >/dev/null 2>&1 || fail "whole: the gate fails"

cuts=0
cut=4096
while [ "$cut" -lt "$size" ]; do
	head -c "$cut" whole.trace >cut.trace
	cuts=$((cuts + 1))
	"$memprof" report --json cut.trace >cut.json 2>cut.err || fail "cut at $cut: report status"
	grep -q '"complete": false' cut.json || fail "cut at $cut: complete"
	grep -q '"incomplete_reason": "..*"' cut.json || fail "cut at $cut: no reason"
	reason=$(sed -n 's/^  "incomplete_reason": "\(.*\)",$/\1/p' cut.json)
	"$memprof" report cut.trace 2>/dev/null | head -n 1 >first.txt
	[ "$(cat first.txt)" = "memprof report for 'cut.trace' (INCOMPLETE: $reason)" ] ||
		fail "cut at $cut: text says '$(cat first.txt)'"
	grep -q "^memprof: warning: trace 'cut.trace' is incomplete ($reason)" cut.err ||
		fail "cut at $cut: no warning"
	"$memprof" leaks --fail-on-leak cut.trace >/dev/null 2>gate.err
	code=$?
	[ "$code" -eq 1 ] || fail "cut at $cut: --fail-on-leak exit $code, want 1"
	grep -q "^memprof: leaks: --fail-on-leak fails: trace 'cut.trace' is incomplete ($reason)" \
		gate.err || fail "cut at $cut: the gate gave no reason"
	[ "$cut" -eq 4096 ] && [ "$reason" != "the file ends inside its header, before any record" ] &&
		fail "cut at 4096 (inside the 8 KiB header): reason '$reason'"
	cut=$((cut + 4096))
done
echo "checked $cuts cuts of a $size-byte trace"

# Two workers that allocate and end while main only starts and joins them, so their
# chunks come after main's first: the trace ends with an END record that counts the
# chunks, and a cut at any 4 KiB boundary (the workers' chunks gone whole, or the end
# records) is caught. With the leak check and the exit snapshot both off the whole trace
# is still complete: its END proves it.
cat >workers.c <<'C'
#include <pthread.h>
#include <stdlib.h>
static void *work(void *arg)
{
	for (int i = 0; i < 12000; i++) {
		char *block = malloc(16 + (size_t)i % 200);
		block[0] = (char)(long)arg;
		free(block);
	}
	return NULL;
}
int main(void)
{
	pthread_t threads[2];
	for (long i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, work, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
C
cc -O0 -g -pthread -o workers workers.c || exit 1
for ends in default off; do
	set --
	[ "$ends" = off ] && set -- MEMPROF_LEAK_CHECK=0 MEMPROF_SNAPSHOT_EXIT=0
	env "$@" MEMPROF_QUIET=1 MEMPROF_OUTPUT=workers.trace \
		LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" ./workers || fail "workers ($ends): run"
	size=$(stat -c %s workers.trace)
	"$memprof" leaks --fail-on-leak workers.trace >/dev/null 2>gate.err ||
		fail "workers ($ends): the whole trace fails the gate: $(cat gate.err)"
	caught=0 missed=""
	cut=8192
	while [ "$cut" -lt "$size" ]; do
		head -c "$cut" workers.trace >cut.trace
		if "$memprof" leaks --fail-on-leak cut.trace >/dev/null 2>gate.err; then
			missed="$missed $cut"
		elif grep -q "is incomplete (" gate.err; then
			caught=$((caught + 1))
		else
			missed="$missed $cut"
		fi
		cut=$((cut + 4096))
	done
	[ -z "$missed" ] && echo "workers ($ends): $caught cuts of $size bytes, every one caught" ||
		fail "workers ($ends): cuts not caught at:$missed"
done

# Killed: the header still says "running"; the trace has no end.
MEMPROF_QUIET=1 MEMPROF_OUTPUT=killed.trace LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	./prog kill 2>/dev/null
"$memprof" leaks --fail-on-leak killed.trace >/dev/null 2>gate.err
[ $? -eq 1 ] || fail "killed: the gate passed"
grep -q "incomplete (the process did not end (killed, crashed or still running), so the trace has no end)" \
	gate.err || fail "killed: reason $(cat gate.err)"

[ "$failures" -eq 0 ]
