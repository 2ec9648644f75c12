#!/bin/sh
# rust_names.sh: stacks through functions with Rust's symbol names, v0 (_R...) and legacy
# (_ZN...17h<hash>E), are shown with Rust's names (tests/progs/rust_names.c, built
# without DWARF, so that the symbol table names them). They were shown mangled (v0), or
# with the hash as a last path element (legacy, demangled as C++). The text report's
# short names keep a method's type (`<demo::inner::Holder>::new`, which was `<>::new`)
# and drop generic arguments as they drop C++ template arguments.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/rn.trace" LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" \
	"$MEMPROF_BUILD/tests/progs/rust_names" >rn.out 2>&1 || fail "status $?: $(cat rn.out)"
grep -q '^ok 5$' rn.out || fail "$(cat rn.out)"
"$memprof" flamegraph --metric calls rn.trace >rn.folded 2>/dev/null || fail "flamegraph failed"
grep -qx 'main;demo::outer::call;<demo::inner::Holder>::new;demo::inner::allocate 3' rn.folded ||
	fail "no Holder::new stack: $(grep demo rn.folded)"
grep -qx 'main;demo::outer::call;demo::generic::<usize>;demo::inner::allocate 2' rn.folded ||
	fail "no generic stack: $(grep demo rn.folded)"
"$memprof" report rn.trace >rn.txt 2>&1 || fail "report failed"
# The stack of 3 allocations, innermost first: allocate, then Holder::new, then call.
awk '/^Call stacks by calls/ { on = 1 } on && /in rust_names$/ { print; if (++n == 3) exit }' \
	rn.txt >rn.frames
printf '       demo::inner::allocate in rust_names\n       <demo::inner::Holder>::new in rust_names\n       demo::outer::call in rust_names\n' >rn.want
cmp -s rn.frames rn.want || fail "report's first stack by calls: $(cat rn.frames)"
grep -q '^       demo::generic::<> in rust_names$' rn.txt || fail "no short generic name in the report"
"$memprof" report --long-names rn.trace >rn.long 2>&1 || fail "report --long-names failed"
grep -q '^       demo::generic::<usize> in rust_names$' rn.long || fail "no long generic name in the report"
[ "$failures" -eq 0 ]
