#!/bin/sh
# debian_programs.sh: Debian's own programs, several of them threaded, under memprof as a
# user would run them: each writes byte for byte what it writes without memprof and ends
# the same way, and each of its processes leaves a whole trace that accounts for every
# block: an exit with the program's status, no event dropped, no free of a block the
# trace never saw allocated, none allocated twice. A program whose threads hung under
# memprof (every multi-threaded Rust program did, session 35) or whose allocator path
# memprof missed fails here, not at a user's.
#
# The programs: xz compressing on two threads, sort merging on two threads through
# temporary files, gcc compiling a file (its driver spawns cc1 and as: three traces),
# python3 running four threads, perl building a hash (its allocations counted exactly,
# its leaks found as memcheck finds them).
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"
# Python's output must not depend on its hash seed.
PYTHONHASHSEED=0
export PYTHONHASHSEED

# 200000 lines in a scrambled order, for xz and sort.
awk 'BEGIN { for (i = 0; i < 200000; i++)
	printf "%d %d line %d\n", (i * 7919) % 200003, i, i * i % 997 }' >in.txt
cat >node.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
struct node { struct node *next; int value; };
int main(void)
{
	struct node *head = NULL;
	for (int i = 0; i < 1000; i++) {
		struct node *n = malloc(sizeof *n);
		n->value = i;
		n->next = head;
		head = n;
	}
	long sum = 0;
	for (; head; head = head->next)
		sum += head->value;
	printf("%ld\n", sum);
	return 0;
}
EOF
cat >threads.py <<'EOF'
import json, threading
results = []
def work(n):
    text = json.dumps([{"key": i, "value": str(i) * 3} for i in range(n)])
    results.append(len(text))
threads = [threading.Thread(target=work, args=(40000 + k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sorted(results))
EOF

# check NAME TRACES CMD...: CMD without memprof (output NAME.plain) and under it (output
# NAME.out, traces NAME.*.trace); compares status and output; each trace must end as
# described at the top; TRACES is how many processes CMD makes.
check() {
	name=$1
	traces=$2
	shift 2
	"$@" >"$name.plain" 2>"$name.plain.err"
	plain_status=$?
	timeout 120 env MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$name.%p.trace" LD_PRELOAD="$lib" \
		"$@" >"$name.out" 2>"$name.err"
	status=$?
	[ "$status" -eq "$plain_status" ] ||
		fail "$name: status $status under memprof, $plain_status without: $(head -3 "$name.err")"
	cmp -s "$name.plain" "$name.out" || fail "$name: output differs under memprof"
	cmp -s "$name.plain.err" "$name.err" || fail "$name: errors differ: $(head -3 "$name.err")"
	count=$(ls "$name".*.trace 2>/dev/null | wc -l)
	[ "$count" -eq "$traces" ] || fail "$name: $count traces, expected $traces"
	for trace in "$name".*.trace; do
		[ -e "$trace" ] || continue
		"$memprof" report --json "$trace" >"$trace.json" 2>"$trace.err" ||
			{ fail "$trace: report failed: $(head -1 "$trace.err")"; continue; }
		/usr/bin/python3 - "$trace.json" <<'EOF' || fail "$trace: $(cat "$trace.why")"
import json, sys
path = sys.argv[1]
report = json.load(open(path))
wanted = {"complete": True, "end_state": "exit", "exit_status": 0, "dropped_events": 0,
          "unknown_frees": 0, "replaced_blocks": 0}
wrong = ["%s %r" % (k, report.get(k)) for k, v in wanted.items() if report.get(k) != v]
if report.get("allocations", 0) == 0:
    wrong.append("no allocation recorded")
open(path.replace(".json", ".why"), "w").write(report.get("exe", "?") + ": " + ", ".join(wrong))
sys.exit(1 if wrong else 0)
EOF
	done
}

check xz 1 xz -T2 --block-size=512KiB -c in.txt
# xz's two encoder threads allocated: the trace counts the main thread and them at least.
threads=$(sed -n 's/.*"threads": *\([0-9]*\).*/\1/p' xz.*.trace.json | head -1)
[ "${threads:-0}" -ge 3 ] || fail "xz -T2: ${threads:-no} threads in its trace"
check sort 1 sort --parallel=2 -S 1M in.txt
# The object goes to standard output (a regular file here): compared like the others.
check gcc 3 gcc -O2 -c node.c -o /dev/stdout
for trace in gcc.*.trace; do
	sed -n 's/.*"exe": *"\([^"]*\)".*/\1/p' "$trace.json"
done | sed 's,.*/,,' | sort >gcc.processes
# The driver (its name is Debian's versioned one), the compiler proper and the assembler.
[ "$(grep -c -e '^cc1$' -e 'as$' -e 'gcc' gcc.processes)" -eq 3 ] ||
	fail "gcc's processes: $(tr '\n' ' ' <gcc.processes)"
check python 1 /usr/bin/python3 threads.py
perl_script='my %h; $h{$_} = [$_] for 1 .. 20000; print scalar(keys %h), "\n"'
check perl 1 perl -e "$perl_script"
# Each anonymous array's element list is one malloc of 8 bytes in av_make: exactly one
# per array, on one stack.
/usr/bin/python3 - perl.*.trace.json <<'EOF' ||
	fail "perl: av_make's allocations: $(cat perl.why)"
import json, sys
report = json.load(open(sys.argv[1]))
found = [(e["allocations"], e["allocated_bytes"]) for e in report["top_calls"]
         if [f["function"] for f in e["stack"][:3]] ==
            ["Perl_safesysmalloc", "Perl_av_make", "Perl_pp_anonlist"]]
open("perl.why", "w").write(repr(found))
sys.exit(0 if found == [(20000, 160000)] else 1)
EOF
# perl leaves its arenas to the exit: memprof's verdict on what is lost is memcheck's.
"$memprof" leaks perl.*.trace >perl.leaks 2>&1 ||
	fail "perl: leaks failed: $(head -3 perl.leaks)"
valgrind --leak-check=full perl -e "$perl_script" >perl.vg.out 2>perl.vg ||
	fail "perl: valgrind failed: $(tail -3 perl.vg)"
for kind in definitely indirectly; do
	theirs=$(sed -n \
		"s/^==[0-9]*== *$kind lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks$/\1 \2/p" perl.vg)
	ours=$(sed -n "s/^  $kind lost: *\([0-9,]*\) bytes.* in \([0-9,]*\) blocks$/\1 \2/p" \
		perl.leaks)
	[ -n "$theirs" ] && [ "$ours" = "$theirs" ] ||
		fail "perl: $kind lost: memprof '$ours', memcheck '$theirs'"
done
[ "$failures" -eq 0 ]
