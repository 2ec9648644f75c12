#!/bin/sh
# cli_help.sh: every command's --help prints its usage on stdout and exits 0 (also after
# other arguments, but never when it belongs to the program run); --version names the
# trace format version; an option without its value is refused by name with exit 2;
# every value is accepted as --option=value; the man page renders cleanly and is
# installed.
set -u
memprof="$MEMPROF_BUILD/memprof"
top="$MEMPROF_TOP"
failures=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

# help NAME PREFIX ARGS...: exit 0, the usage (its first line starting with PREFIX) on
# stdout, kept in help.txt, and nothing on stderr.
help() {
	name=$1 prefix=$2
	shift 2
	"$memprof" "$@" >help.txt 2>err.txt
	code=$?
	[ "$code" -eq 0 ] || fail "$name: exit $code"
	[ -s err.txt ] && fail "$name: stderr: $(cat err.txt)"
	case "$(head -n 1 help.txt)" in
	"$prefix"*) ;;
	*) fail "$name: first line '$(head -n 1 help.txt)'" ;;
	esac
}

for command in run report leaks flamegraph memory; do
	help "$command --help" "usage: memprof $command [" "$command" --help
	mv help.txt "$command.help"
	[ "$(wc -l <"$command.help")" -ge 5 ] || fail "$command --help: too short"
	for form in "$command -h" "help $command"; do
		# shellcheck disable=SC2086
		help "$form" "usage: memprof $command [" $form
		cmp -s help.txt "$command.help" || fail "$form differs from $command --help"
	done
done
help "--help after a trace" "usage: memprof leaks [" leaks no-such.trace --help
help "memprof --help" "usage: memprof run [" --help
grep -q "memprof COMMAND --help | memprof --version" help.txt || fail "memprof --help: no --version"
help "memprof help" "usage: memprof run [" help
"$memprof" help bogus >out.txt 2>err.txt
[ $? -eq 2 ] || fail "help bogus: not refused"

format=$(sed -n 's/^#define MP_TRACE_VERSION \([0-9]*\)u$/\1/p' "$top/include/memprof/trace_format.h")
[ -n "$format" ] || fail "MP_TRACE_VERSION not found"
"$memprof" --version >out.txt 2>err.txt || fail "--version: exit $?"
grep -qx "memprof [0-9][0-9.]* (trace format version $format)" out.txt ||
	fail "--version: '$(cat out.txt)'"
grep -q "\"memprof $(sed 's/^memprof \([^ ]*\) .*/\1/' out.txt)\"" "$top/docs/memprof.1" ||
	fail "the man page does not name version $(cat out.txt)"

# After the program, --help is the program's own.
cat >prog.c <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	free(malloc(10));
	for (int i = 1; i < argc; i++)
		printf("%s\n", argv[i]);
	return 0;
}
C
cc -O0 -g -o prog prog.c || exit 1
"$memprof" run ./prog --help >out.txt 2>err.txt || fail "run ./prog --help: exit $?"
[ "$(cat out.txt)" = "--help" ] || fail "run ./prog --help: the program got '$(cat out.txt)'"
grep -q "^memprof: trace written to" err.txt || fail "run ./prog --help: no trace"

# refused NAME WANT ARGS...: exit 2, one stderr line holding WANT, nothing on stdout.
refused() {
	name=$1 want=$2
	shift 2
	"$memprof" "$@" >out.txt 2>err.txt
	code=$?
	if [ "$code" -ne 2 ] || [ "$(wc -l <err.txt)" -ne 1 ] || [ -s out.txt ] ||
		! grep -qF -- "$want" err.txt; then
		fail "$name: exit $code, stderr '$(cat err.txt)'"
	fi
}
trace=$(ls memprof.prog.*.trace | head -n 1)
refused "run --output" "run: --output needs a file name pattern" run --output
refused "run --output --sample" "run: --output needs a file name pattern" run --output --sample 1k -- ./prog
refused "run --output=" "run: --output needs a file name pattern" run --output= -- ./prog
refused "run --sample" "run: --sample needs a size in bytes" run --sample
refused "run --follow" "run: --follow needs an executable name" run --follow
refused "run --bogus" "run: unknown option '--bogus'" run --bogus ./prog
refused "report --top" "report: --top takes a count of call stacks (0: all), not ''" report "$trace" --top
refused "report --top abc" "report: --top takes a count of call stacks (0: all), not 'abc'" report --top abc "$trace"
refused "report --top=-1" "report: --top takes a count of call stacks (0: all), not '-1'" report --top=-1 "$trace"
refused "leaks --suppressions" "leaks: --suppressions needs a file" leaks "$trace" --suppressions
refused "flamegraph --metric" "flamegraph: unknown metric ''" flamegraph "$trace" --metric
refused "memory --snapshot" "memory: --snapshot needs exit, peak or a number" memory "$trace" --snapshot
refused "memory --top x" "memory: --top takes a count of call stacks (0: all), not 'x'" memory --top x "$trace"
refused "report --show-reachable" "report: unknown option '--show-reachable'" report --show-reachable "$trace"
refused "--quiet-children with --follow" "run: --quiet-children and --follow prog exclude each other" \
	run --quiet-children --follow prog ./prog

# --option=value everywhere, with the same result as --option value.
printf 'function:nothing_matches_this\n' >rules.supp
for pair in "report --top=1|report --top 1" "leaks --suppressions=rules.supp|leaks --suppressions rules.supp" \
	"flamegraph --metric=calls|flamegraph --metric calls" \
	"memory --snapshot=exit --top=0|memory --snapshot exit --top 0"; do
	joined=${pair%|*} split=${pair#*|}
	# shellcheck disable=SC2086
	"$memprof" $joined "$trace" >joined.txt 2>/dev/null || fail "$joined: exit $?"
	# shellcheck disable=SC2086
	"$memprof" $split "$trace" >split.txt 2>/dev/null || fail "$split: exit $?"
	cmp -s joined.txt split.txt || fail "'$joined' and '$split' differ"
	[ -s joined.txt ] || fail "$joined: no output"
done
mkdir -p traces
"$memprof" run --output=traces/t.%p.trace --sample=512k --follow=prog -- ./prog >/dev/null 2>err.txt ||
	fail "run with --option=value: exit $?"
grep -q "^memprof: trace written to $(pwd)/traces/t\.[0-9]*\.trace$" err.txt || fail "run --output=: $(cat err.txt)"
grep -q "^memprof: sampled every 524,288 bytes (512.0 KiB) on average" err.txt || fail "run --sample=: not sampled"

# The man page: no groff warning (groff comes with Debian's groff-base), and `make install`
# puts it in man1.
if command -v groff >/dev/null 2>&1; then
	warnings=$(groff -man -ww -z "$top/docs/memprof.1" 2>&1)
	[ -z "$warnings" ] || fail "memprof.1: $warnings"
else
	fail "groff is needed to check the man page (apt-get install groff-base)"
fi
make -s -C "$top" install DESTDIR="$(pwd)/root" PREFIX=/usr >/dev/null 2>err.txt || fail "make install: $(cat err.txt)"
cmp -s root/usr/share/man/man1/memprof.1 "$top/docs/memprof.1" || fail "the man page is not installed"
[ -x root/usr/bin/memprof ] || fail "memprof is not installed"

[ "$failures" -eq 0 ]
