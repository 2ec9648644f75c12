#!/bin/sh
# cli_memory.sh: `memprof memory` prints every frame of its call stacks (a 27-frame one
# whole, not cut at 8; the runtime's frames too with --full-stacks), marks inlined calls
# as the other commands do, lists 10 call stacks by default and says how many more there
# are, --top N (text and JSON) and --top 0 for all; its words: "call stack" for where a
# call was made, "thread stacks" for their memory, the cgroup figure said to be the
# whole cgroup's.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

cat >prog.c <<'C'
#include <stdlib.h>
#include <string.h>
static void *keep[32];
static int kept;
static inline __attribute__((always_inline)) void *inlined_alloc(size_t size)
{
	return malloc(size);
}
/* 25 frames of itself above main, then 2 MiB of which 1 MiB is written. */
__attribute__((noinline)) static void *deep(int level)
{
	if (level == 0) {
		char *block = malloc(2 << 20);
		memset(block, 1, 1 << 20);
		return block;
	}
	void *block = deep(level - 1);
	__asm__ volatile("" ::: "memory");
	return block;
}
#define SITE(i) keep[kept++] = inlined_alloc((size_t)(i) * 40960)
int main(void)
{
	keep[kept++] = deep(24);
	SITE(1); SITE(2); SITE(3); SITE(4); SITE(5); SITE(6); SITE(7);
	SITE(8); SITE(9); SITE(10); SITE(11); SITE(12); SITE(13); SITE(14);
	return 0;
}
C
cc -O0 -g -o prog prog.c || exit 1
MEMPROF_QUIET=1 MEMPROF_OUTPUT=prog.trace LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" ./prog ||
	fail "profiled run"

"$memprof" memory prog.trace >text.txt 2>err.txt || fail "memory: exit $?"
grep -qx "Call stacks by gap (committed - resident), 10 of 15 (5 more: --top 0 lists them all)" \
	text.txt || fail "heading: $(grep 'Call stacks by gap' text.txt)"
[ "$(grep -c ' committed, .* resident, .* swapped, gap ' text.txt)" -eq 10 ] || fail "10 call stacks"
# The deep one: 25 frames of deep, main; no "..." cut.
[ "$(grep -c '^    deep at .*prog.c:[0-9]* in prog$' text.txt)" -eq 25 ] ||
	fail "deep frames: $(grep -c '^    deep at' text.txt)"
grep -q '^    \.\.\.$' text.txt && fail "a stack was cut"
grep -q '^    inlined_alloc at .*prog.c:[0-9]* in prog (inlined)$' text.txt || fail "no (inlined) mark"
grep -q "^  Call stack deep (prog.c:[0-9]*) committed 2.0 MiB of which 1.0 MiB is resident" text.txt ||
	fail "verdict: $(grep 'committed' text.txt | head -n 1)"
grep -Eq "^  RSS .*% thread stacks" text.txt || fail "verdict: thread stacks"
grep -q "% stacks" text.txt && fail "verdict: 'stacks' for thread stacks"
if grep -q "^cgroup:" text.txt; then
	grep -q "^cgroup:       memory.current [0-9.]* [KMG]*i*B for the whole cgroup (every process in it, page cache included), limit " \
		text.txt || fail "cgroup line: $(grep '^cgroup:' text.txt)"
fi

"$memprof" memory --top 0 prog.trace >all.txt 2>/dev/null || fail "--top 0: exit $?"
grep -qx "Call stacks by gap (committed - resident), 15 of 15" all.txt || fail "--top 0 heading"
[ "$(grep -c ' committed, .* resident, .* swapped, gap ' all.txt)" -eq 15 ] || fail "--top 0: 15"
"$memprof" memory --top=3 prog.trace >three.txt 2>/dev/null || fail "--top=3: exit $?"
grep -qx "Call stacks by gap (committed - resident), 3 of 15 (12 more: --top 0 lists them all)" \
	three.txt || fail "--top 3 heading"

"$memprof" memory --full-stacks prog.trace >full.txt 2>/dev/null || fail "--full-stacks: exit $?"
grep -q "^    _start in prog$" full.txt || fail "--full-stacks: no _start"
grep -q "^    __libc_start_call_main" full.txt || fail "--full-stacks: no libc start code"
grep -q "^    _start" text.txt && fail "_start without --full-stacks"
[ "$(grep -c '^    deep at' full.txt)" -eq 25 ] || fail "--full-stacks: deep frames"

# JSON: every call stack unless --top is given.
"$memprof" memory --json prog.trace >all.json 2>/dev/null || fail "--json: exit $?"
[ "$(grep -c '"committed_bytes"' all.json)" -eq 15 ] || fail "--json: all 15 call stacks"
"$memprof" memory --json --top 2 prog.trace >two.json 2>/dev/null || fail "--json --top 2: exit $?"
[ "$(grep -c '"committed_bytes"' two.json)" -eq 2 ] || fail "--json --top 2"

[ "$failures" -eq 0 ]
