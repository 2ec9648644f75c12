#!/bin/sh
# rust_program.sh: a Rust program (tests/progs/rust_leak.rs, built by Debian's rustc)
# under memprof: its threads run as without it, its leak verdict is memcheck's, and its
# stacks read as Rust with the inlined frames: leak_list, inlined into each thread's
# closure, was missing with everything else inlined (elfutils' dwarf_getscopes finds no
# scope where rustc nests a function in its module's namespaces), and so was every
# function's name but the symbol table's. Its threads' first allocations come after
# glibc's pthread_getattr_np with this rustc: getattr_first.sh has the hang they had with
# newer ones, which ask glibc about their stack first.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
prog="$MEMPROF_BUILD/tests/progs/rust_leak"

timeout 60 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/rl.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$prog" >rl.out 2>&1
status=$?
[ "$status" -eq 0 ] || fail "status $status under memprof: $(cat rl.out)"
grep -qx 'ok 4000' rl.out || fail "output: $(cat rl.out)"
"$memprof" leaks rl.trace >rl.txt 2>&1 || fail "leaks failed: $(head -3 rl.txt)"
# Four lists of 3 to 6 nodes of 64 bytes: each head lost, the rest through it.
grep -q '^  definitely lost: 256 bytes in 4 blocks$' rl.txt &&
	grep -q '^  indirectly lost: 896 bytes in 14 blocks$' rl.txt ||
	fail "verdict: $(sed -n 2,4p rl.txt)"
# memcheck's verdict on the same program.
valgrind --leak-check=full "$prog" >vg.out 2>vg.txt || fail "valgrind failed: $(tail -3 vg.txt)"
for kind in definitely indirectly; do
	theirs=$(sed -n "s/^==[0-9]*== *$kind lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks$/\1 \2/p" vg.txt)
	ours=$(sed -n "s/^  $kind lost: *\([0-9,]*\) bytes.* in \([0-9,]*\) blocks$/\1 \2/p" rl.txt)
	[ -n "$theirs" ] && [ "$ours" = "$theirs" ] || fail "$kind lost: memprof '$ours', memcheck '$theirs'"
done
# Each leaked list's stack, innermost first: make_list (a frame of its own), then
# leak_list inlined into the thread's closure, with their lines in rust_leak.rs.
awk '/^[0-9,]+ bytes in [0-9]+ blocks? (definitely|indirectly) lost$/ { records++; state = 0; next }
	state == 0 && /^    rust_leak::make_list at .*rust_leak\.rs:[0-9]+ in rust_leak$/ { state = 1; next }
	state == 1 && /^    rust_leak::leak_list at .*rust_leak\.rs:[0-9]+ in rust_leak \(inlined\)$/ { state = 2; whole++; next }
	END { print records + 0, whole + 0 }' rl.txt >rl.stacks
[ "$(cat rl.stacks)" = "2 2" ] ||
	fail "records, and those through make_list and inlined leak_list: $(cat rl.stacks); $(sed -n 10,22p rl.txt)"

# A chain inlined 70 deep (tests/progs/rust_inline_deep.rs): the allocation's stack is
# allocate, then the 32 innermost of the chain, f70 first, as one address's frames are
# shown for any program; then the frames of the callers' addresses.
deep="$MEMPROF_BUILD/tests/progs/rust_inline_deep"
timeout 60 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/deep.trace" \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" "$deep" >deep.out 2>&1 ||
	fail "rust_inline_deep under memprof: $(cat deep.out)"
grep -qx 'ok 111' deep.out || fail "rust_inline_deep's output: $(cat deep.out)"
"$memprof" report deep.trace >deep.txt 2>&1 || fail "report failed: $(head -3 deep.txt)"
awk '$1 == "rust_inline_deep::deep::allocate" && / in rust_inline_deep$/ {
		if (!seen) { seen = 1; want = 70 }
		next
	}
	want && $1 == "rust_inline_deep::deep::f" want && / \(inlined\)$/ { want--; next }
	want { chain = 70 - want; want = 0 }
	END { print chain + 0 }' deep.txt >deep.chain
[ "$(cat deep.chain)" = 32 ] ||
	fail "frames f70 down after allocate: $(cat deep.chain); $(grep -A4 'deep::allocate' deep.txt)"
[ "$failures" -eq 0 ]
