#!/bin/sh
# shared_stacks.sh: stacks written as STACK_SHARED records (a new stack's outermost frames
# taken from the thread's last one, trace format 2) come back whole and exact.
#
# tests/progs/many_stacks makes 2^17 distinct stacks of 17 levels, each level's function
# (left<n> or right<n>) chosen by one bit of a value. In the order of the values the
# outermost level changes at every stack (little to share); in the order of the values'
# bits reversed the innermost one does (each stack shares all but a few levels with the
# one before). For both, `memprof flamegraph --metric calls` must list each of the 131072
# values exactly once, with one call, its levels in order, nothing else; and with sharing
# the trace must be far smaller than the same stacks written whole (about 12 MB).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"
prog="$MEMPROF_BUILD/tests/progs/many_stacks"

# check NAME [ARG]: one run into NAME.trace, then its stacks checked.
check() {
	name=$1
	shift
	env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$name.trace" LD_PRELOAD="$lib" "$prog" "$@" ||
		fail "$name: the program failed"
	"$memprof" flamegraph --metric calls "$name.trace" >"$name.folded" ||
		fail "$name: flamegraph failed"
	# Each line: frames outermost first, ';'-separated, then the count. The levels are
	# step16 X16 step15 X15 ... step0 X0 leaf, X being left or right: the value's bit n
	# is 1 for left<n> (step<n> takes left on a set bit), counted from the outermost.
	awk -v name="$name" '
		/;leaf/ {
			count = $NF
			line = $0
			sub(/ [0-9]+$/, "", line)
			n = split(line, f, ";")
			seq = ""
			for (i = 1; i <= n; i++)
				if (f[i] ~ /^(step|left|right)[0-9]+$/ || f[i] == "leaf")
					seq = seq " " f[i]
			want = ""
			value = 0
			for (level = 16; level >= 0; level--) {
				side = ""
				if (index(seq, " step" level " left" level " ")) side = "left"
				else if (index(seq, " step" level " right" level " ")) side = "right"
				if (side == "") { bad++; next }
				want = want " step" level " " side level
				if (side == "left") value += 2 ^ (16 - level)
			}
			want = want " leaf"
			if (seq != want) { bad++; next }
			if (count != 1) { wrong_count++ }
			if (value in seen) { twice++ }
			seen[value] = 1
			lines++
		}
		END {
			printf "%s: %d stacks, %d malformed, %d repeated, %d with a count other than 1\n",
				name, lines, bad, twice, wrong_count
			exit !(lines == 131072 && bad == 0 && twice == 0 && wrong_count == 0)
		}' "$name.folded" || fail "$name: the stacks are not the 131072 values, once each"
}

check sequential
check reversed yes
sequential=$(stat -c %s sequential.trace)
reversed=$(stat -c %s reversed.trace)
echo "trace bytes: $sequential in the order of the values, $reversed with the bits reversed"
# The same events and stacks: only the sharing differs. In the order of the values a new
# stack shares only the frames above the outermost level (main and libc's), and its 34
# others take about 80 bytes; reversed, 5 or 6 frames are written. The files grow a chunk
# (1 MiB) at a time: 10-11 MiB against 4-5.
[ "$reversed" -le $((sequential * 6 / 10)) ] ||
	fail "the shared stacks' trace ($reversed bytes) is not under 60% of the other ($sequential)"

[ "$failures" -eq 0 ] || exit 1
echo "shared stacks: all checks passed"
