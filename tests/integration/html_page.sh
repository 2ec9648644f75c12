#!/bin/sh
# html_page.sh: memprof html's pages rendered by headless Chromium (Debian's chromium):
# no script error, the DOM after the scripts ran names the functions and exact figures of
# known programs, the metric switch and a range dragged across the timeline change what
# the flame graph shows (tests/html/drive.html drives them), a differential page shows a
# known growth, C++ and threaded programs show demangled names, and 131072 distinct
# stacks stay within the size bound (10 MiB). The programs are tests/progs/phases.c,
# grow.c, leaks_cxx.cc, threads.c and many_stacks.c.
set -u
memprof="$MEMPROF_BUILD/memprof"
progs="$MEMPROF_BUILD/tests/progs"
failures=0

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

if ! command -v chromium >/dev/null 2>&1; then
	echo "FAIL chromium is not installed (apt-get install chromium)"
	exit 1
fi

# Headless as in CI: the network is closed, so nothing may try to reach it.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
browse() {
	chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" --enable-logging=stderr --virtual-time-budget=5000 \
		--allow-file-access-from-files --window-size=1300,1500 "$@"
}

# A trace of one program run under the preload: trace NAME PROG ARGS...
trace() {
	name=$1
	shift
	MEMPROF_QUIET=1 MEMPROF_OUTPUT="$PWD/$name.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
		"$@" >/dev/null || fail "$name: the program failed"
}

# page NAME ARGS...: memprof html ARGS -o NAME.html, then its DOM after the scripts ran
# (NAME.dom) and Chromium's log (NAME.log), which must hold no script error.
page() {
	name=$1
	shift
	"$memprof" html "$@" -o "$name.html" 2>"$name.err" || { fail "$name: memprof html failed"; cat "$name.err"; }
	browse --dump-dom "file://$PWD/$name.html" >"$name.dom" 2>"$name.log"
	grep -q 'data-ready="1"' "$name.dom" || fail "$name: the page's script did not finish"
	grep -q '<p id="errors"></p>' "$name.dom" || fail "$name: the page reported a script error"
	if grep -E 'Uncaught|CONSOLE\(.*[Ee]rror' "$name.log"; then
		fail "$name: Chromium logged a script error"
	fi
}

expect() { # expect NAME WHAT PATTERN: grep -E PATTERN in NAME's file WHAT
	grep -Eq -- "$3" "$1.$2" || fail "$1: no '$3' in $1.$2"
}
refuse() {
	if grep -Eq -- "$3" "$1.$2"; then fail "$1: '$3' in $1.$2"; fi
}

# 1. Allocations in three phases: the driver's steps, each a JSON line of what it saw.
trace phases "$progs/phases"
page phases phases.trace
browse --dump-dom "file://$(cd "$MEMPROF_TOP" && pwd)/tests/html/drive.html?file://$PWD/phases.html" \
	>drive.dom 2>drive.log
sed -n '/<pre id="result">/,/<\/pre>/p' drive.dom >drive.txt
step() { grep "\"step\":\"$1\"" drive.txt >"step.$1" || fail "driver: no step $1 ($(head -c 300 drive.txt))"; }
for s in loaded calls leaked range-start range-start-live range-middle range-all-live search; do
	step "$s"
done
site='tests/progs/phases.c:[0-9]+ in phases'
expect step loaded "early_alloc \| $site \| 40960 bytes \| 80.0%"
expect step loaded "late_alloc \| $site \| 10240 bytes \| 20.0%"
expect step calls '"metric":"calls"'
expect step calls "early_alloc \| $site \| 10 calls"
expect step leaked "late_alloc \| $site \| 10240 bytes \| 100.0%"
refuse step leaked 'early_alloc \|'
expect step range-start '"metric":"range-allocated"'
expect step range-start "early_alloc \| $site \| 40960 bytes"
refuse step range-start 'late_alloc \|'
expect step range-start-live "early_alloc \| $site \| 40960 bytes"
expect step range-middle "late_alloc \| $site \| 10240 bytes"
refuse step range-middle 'early_alloc \|'
# Over the whole run the early blocks were freed by its end: only the late ones are live.
expect step range-all-live "late_alloc \| $site \| 10240 bytes"
refuse step range-all-live 'early_alloc \|'
expect step search 'search \\"late\\": 1 matches, 10.0 KiB \(100.0%\)'
refuse drive txt 'DRIVER ERROR|Script error'
# Without JavaScript: the plain tables hold the functions and the exact figures.
expect phases html '<span title="40960 bytes">40.0 KiB</span>'
expect phases html 'early_alloc <span class="loc">at tests/progs/phases.c:'
expect phases html 'id="leaks"'
# Offline: nothing to fetch.
refuse phases html '<(script|link|img)[^>]+(src|href)='

# 2. A differential page: grow leaks 2 blocks of 1000 bytes, grow_padded 5 and one of 5000.
trace base "$progs/grow" 2
trace new "$progs/grow_padded" 5
page diff --base base.trace new.trace
expect diff dom '"diff":true'
expect diff dom '<td>only_new</td>'
expect diff dom 'title="\+5000 bytes">\+4.9 KiB'
expect diff dom '<td class="n grow">\+?<span title="3000 bytes">'
expect diff html '<span class="grow" title="\+8000 bytes">\+7.8 KiB</span>'

# 3. Names: a C++ method demangled, threads' start routines.
trace cxx "$progs/leaks_cxx"
page cxx cxx.trace
expect cxx dom 'ns::Widget::make\(int\)'
trace threads "$progs/threads"
page threads threads.trace
expect threads dom '<title>worker'
expect threads html 'worker <span class="loc">at tests/progs/threads.c:'

# 4. 131072 distinct stacks: within the size bound, and still drawn.
trace many "$progs/many_stacks"
page many many.trace
size=$(stat -c %s many.html)
[ "$size" -le 10485760 ] || fail "many: the page is $size bytes, over 10 MiB"
stacks=$(grep -o '[0-9]* stacks in [0-9]* boxes' many.html | cut -d' ' -f1)
[ "${stacks:-0}" -ge 100000 ] || fail "many: ${stacks:-no} stacks in the page, not 131072"
expect many dom '<title>\[other\]'

[ "$failures" -eq 0 ] || exit 1
echo "html pages: all checks passed"
