#!/bin/sh
# test_check_layers.sh: check_layers.sh fails on each thing it must catch, on a small
# house built here: a call up a layer, a circle inside a layer, a file the map does not
# list, an include of the other program's file; and passes on the house kept straight.
set -u
check="$(cd "$(dirname "$0")" && pwd)/check_layers.sh"
cc=${CC:-cc}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# A house: preload/ with top.c -> low.c, analyzer/ with one file.
reset_house() {
	rm -rf "$root/preload" "$root/analyzer" "$root/include" "$root/build"
	mkdir -p "$root/preload" "$root/analyzer" "$root/include" "$root/build/preload" \
		"$root/build/analyzer"
	printf 'int low_value(void);\nint top_value(void) { return low_value() + 1; }\n' \
		>"$root/preload/top.c"
	printf 'int low_value(void) { return 41; }\n' >"$root/preload/low.c"
	printf 'int reader_value(void) { return 1; }\n' >"$root/analyzer/reader.c"
	cat >"$root/map.md" <<'MAP'
## preload/
Layers, top to bottom: high, base.

| layer | file | what it holds |
|---|---|---|
| high | `top.c` | the top |
| base | `low.c` | the bottom |

## analyzer/
Layers, top to bottom: reader.

| layer | file | what it holds |
|---|---|---|
| reader | `reader.c` | everything |
MAP
}

build_house() {
	for src in "$root"/preload/*.c "$root"/analyzer/*.c; do
		dir=$(basename "$(dirname "$src")")
		"$cc" -c -I"$root/include" -o "$root/build/$dir/$(basename "$src" .c).o" "$src" ||
			exit 2
	done
}

# expect NAME STATUS PATTERN: runs the check, compares its exit status and output.
expect() {
	output=$("$check" "$root/build" "$root/map.md" "$root" 2>&1)
	status=$?
	if [ "$status" -ne "$2" ]; then
		fail "$1: exit status $status, expected $2; output: $output"
	elif [ -n "$3" ] && ! printf '%s\n' "$output" | grep -q "$3"; then
		fail "$1: no line matching '$3' in: $output"
	else
		echo "ok: $1"
	fi
}

reset_house
build_house
expect "a straight house passes" 0 ""

reset_house
printf 'int top_value(void);\nint low_value(void) { return top_value() ? 41 : 0; }\n' \
	>"$root/preload/low.c"
build_house
expect "a call up a layer fails" 1 "preload/low.c (base) calls up into top.c (high): top_value"
expect "which is also a circle" 1 "preload/low.c and top.c use each other"

reset_house
sed -i 's/| high | `top.c`/| base | `top.c`/' "$root/map.md"
printf 'int top_value(void);\nint low_value(void) { return top_value() ? 41 : 0; }\n' \
	>"$root/preload/low.c"
build_house
expect "a circle within one layer fails" 1 "preload/low.c and top.c use each other"

reset_house
printf 'int extra(void) { return 2; }\n' >"$root/preload/extra.c"
build_house
expect "a file the map does not list fails" 1 "preload/extra.c has no line in"

reset_house
printf 'int reader_value(void);\n' >"$root/analyzer/reader.h"
printf '| reader | `reader.h` | its API |\n' >>"$root/map.md"
printf '#include "../analyzer/reader.h"\nint low_value(void) { return reader_value(); }\n' \
	>"$root/preload/low.c"
build_house
expect "an include of the other program fails" 1 "includes \"../analyzer/reader.h\""

reset_house
sed -i 's/| base | `low.c`/| middle | `low.c`/' "$root/map.md"
build_house
expect "a layer the section does not name fails" 1 "layer 'middle' is not in"

[ "$failures" -eq 0 ] || exit 1
