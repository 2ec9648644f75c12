#!/bin/sh
# other_allocators.sh: jemalloc and tcmalloc beside memprof. Loaded before libmemprof.so,
# the other allocator's malloc is the program's: memprof says so in one stderr line and
# in the trace, and `leaks --fail-on-leak` fails with an error rather than pass on a heap
# it never saw. Loaded after it, the mmaps and munmaps the allocator makes for its own
# arenas are not the program's: `report` counts only the program's own, and `memory`
# blames no allocator frame. Needs Debian's libjemalloc2 and libtcmalloc-minimal4; an
# allocator that is not installed is skipped with a note.
set -u
build="$MEMPROF_BUILD"
memprof="$build/memprof"
lib="$build/libmemprof.so"
prog="$build/tests/progs/arena_maps"
failures=0 tried=0
libdir=/usr/lib/x86_64-linux-gnu
[ -d "$libdir" ] || libdir=/usr/lib

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

"$prog" >plain.out 2>plain.err
plain=$?
for allocator in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
	file="$libdir/$allocator"
	if [ ! -e "$file" ]; then
		echo "SKIP other_allocators.sh: $file is not installed"
		continue
	fi
	tried=$((tried + 1))
	name=${allocator%%.so*}

	# Before memprof: said once, written down, and --fail-on-leak cannot pass.
	LD_PRELOAD="$file $lib" MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$name.first.trace" \
		"$prog" >first.out 2>first.err
	code=$?
	[ "$code" -eq "$plain" ] || fail "$name first: exit status $code, want $plain"
	cmp -s plain.out first.out || fail "$name first: stdout differs"
	grep -v '^memprof: ' first.err | cmp -s plain.err - || fail "$name first: stderr differs"
	[ "$(grep -c '^memprof: ' first.err)" -eq 1 ] || fail "$name first: not one memprof line"
	grep -q "^memprof: the program calls the malloc of '$file', loaded before libmemprof.so" \
		first.err || fail "$name first: the line: $(cat first.err)"
	"$memprof" leaks --fail-on-leak "$name.first.trace" >leaks.out 2>leaks.err
	code=$?
	[ "$code" -eq 2 ] || fail "$name first: leaks --fail-on-leak exit $code, want 2"
	grep -q "cannot check leaks in '$name.first.trace': the program's malloc was not memprof's" \
		leaks.err || fail "$name first: leaks message: $(cat leaks.err)"
	grep -q "No leak kinds in this trace (the program's malloc was not memprof's" leaks.out ||
		fail "$name first: leaks reason: $(grep 'leak kinds' leaks.out)"

	# After memprof: the allocator's own arenas are its own.
	LD_PRELOAD="$lib $file" MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/$name.after.trace" \
		"$prog" >after.out 2>after.err
	[ $? -eq "$plain" ] && cmp -s plain.out after.out && [ ! -s after.err ] ||
		fail "$name after: the program's output or status differs"
	"$memprof" report "$name.after.trace" >report.txt 2>/dev/null || fail "$name after: report"
	grep -q " 1 mmap$" report.txt && grep -q "^ *1 munmap," report.txt ||
		fail "$name after: not the program's one mmap and munmap: $(grep -A1 '^Calls' report.txt)"
	grep -q "4,321 bytes (4.2 KiB) in 1 block" report.txt || fail "$name after: the leak is missing"
	"$memprof" memory "$name.after.trace" >memory.txt 2>&1 || fail "$name after: memory"
	grep -qF "$allocator" memory.txt &&
		fail "$name after: memory blames the allocator: $(grep -F "$allocator" memory.txt | head -2)"
done

# An executable built without -fPIC that takes malloc's address (Debian's python3) has a
# canonical PLT entry for it: dlsym finds malloc there, but its calls reach memprof's.
# That is no other allocator: no line, and leak kinds at exit.
if [ -x /usr/bin/python3 ]; then
	PYTHONMALLOC=malloc LD_PRELOAD="$lib" MEMPROF_QUIET=1 MEMPROF_OUTPUT="$(pwd)/py.trace" \
		/usr/bin/python3 -c "x = [str(i) for i in range(1000)]" 2>py.err
	[ -s py.err ] && fail "python3: stderr: $(cat py.err)"
	"$memprof" leaks py.trace >py.leaks 2>&1
	grep -q "definitely lost:" py.leaks && ! grep -q "not memprof's" py.leaks ||
		fail "python3 taken for another allocator: $(head -3 py.leaks)"
fi
[ "$tried" -gt 0 ] || exit 77
[ "$failures" -eq 0 ]
