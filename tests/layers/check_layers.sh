#!/bin/sh
# check_layers.sh: the house stays straight. For each program (preload/, analyzer/), reads
# the layer of every source file from docs/architecture.md, the symbols every object
# defines and uses from nm(1), and fails when:
#  - a source file has no line in docs/architecture.md, or a line names no file;
#  - an object uses a symbol of an object in a higher layer;
#  - objects use each other's symbols in a circle, whatever their layers;
#  - a file of one program includes a file of the other (what both share is in include/).
#
#   tests/layers/check_layers.sh [BUILD [DOC [SRCROOT]]]    (defaults: $MEMPROF_BUILD or
#   build, SRCROOT/docs/architecture.md, $MEMPROF_TOP or .); prints one line per problem,
#   exits 1 if there is any.
#
# In the map, a program's section has a line "Layers, top to bottom: a, b, c." and a table
# row per file: "| layer | `file.c` | what it holds |".
set -u
build=${1:-${MEMPROF_BUILD:-build}}
root=${3:-${MEMPROF_TOP:-.}}
doc=${2:-$root/docs/architecture.md}
status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "check_layers: $*"
	status=1
}

# Prints "file layer rank" for the section of `dir` in the map (rank 1 = top layer).
layers_of() {
	awk -v dir="$1/" '
		/^#/ { in_section = index($0, dir) > 0; next }
		in_section && /^Layers, top to bottom:/ {
			line = $0
			sub(/^Layers, top to bottom: */, "", line)
			sub(/\.? *$/, "", line)
			n = split(line, names, / *, */)
			for (i = 1; i <= n; i++)
				rank[names[i]] = i
			next
		}
		in_section && /^\| *[a-z]+ *\| *`[^`]+` *\|/ {
			split($0, cells, "|")
			layer = cells[2]; gsub(/ /, "", layer)
			file = cells[3]; gsub(/[ `]/, "", file)
			if (!(layer in rank)) {
				print "BAD " file " " layer
				next
			}
			print file, layer, rank[layer]
		}' "$doc"
}

# Prints "user provider symbol" for every symbol an object of `dir` uses from another.
edges_of() {
	for src in "$root/$1"/*.c; do
		[ -e "$src" ] || continue
		name=$(basename "$src" .c)
		obj="$build/$1/$name.o"
		[ -f "$obj" ] || { echo "MISSING $name"; continue; }
		nm "$obj" | awk -v who="$name" '
			$1 == "U" { print "U", who, $2; next }
			NF == 3 && $2 ~ /^[TDBRVWCG]$/ { print "D", who, $3 }'
	done | awk '
		$1 == "D" { owner[$3] = $2; next }
		{ use[++n] = $2 " " $3 }
		END {
			for (i = 1; i <= n; i++) {
				split(use[i], part, " ")
				if ((part[2] in owner) && owner[part[2]] != part[1])
					print part[1], owner[part[2]], part[2]
			}
		}' | sort -u
}

check_program() {
	dir=$1
	layers_of "$dir" >"$work/layers"
	grep '^BAD ' "$work/layers" | while read -r _ file layer; do
		echo "check_layers: $dir/$file: layer '$layer' is not in the section's 'Layers' line"
	done
	grep -q '^BAD ' "$work/layers" && status=1
	for src in "$root/$dir"/*.c "$root/$dir"/*.h; do
		[ -e "$src" ] || continue
		file=$(basename "$src")
		grep -q "^$file " "$work/layers" ||
			fail "$dir/$file has no line in $doc"
	done
	while read -r file _; do
		[ "$file" = BAD ] && continue
		[ -f "$root/$dir/$file" ] || fail "$doc lists $dir/$file, which does not exist"
	done <"$work/layers"

	edges_of "$dir" >"$work/edges"
	grep '^MISSING ' "$work/edges" | while read -r _ name; do
		echo "check_layers: no object $build/$dir/$name.o (build first)"
	done
	grep -q '^MISSING ' "$work/edges" && status=1
	grep -v '^MISSING ' "$work/edges" >"$work/edges.ok"

	# Calls upwards: the provider's rank must not be above (smaller than) the user's.
	awk 'NR == FNR { sub(/\.c$/, "", $1); rank[$1] = $3; layer[$1] = $2; next }
	     ($1 in rank) && ($2 in rank) && rank[$2] < rank[$1] {
		printf "check_layers: %s.c (%s) calls up into %s.c (%s): %s\n",
			$1, layer[$1], $2, layer[$2], $3
	     }' "$work/layers" "$work/edges.ok" | sed "s|^check_layers: |check_layers: $dir/|" \
		>"$work/up"
	[ -s "$work/up" ] && { cat "$work/up"; status=1; }

	# Circles: two objects that reach each other through uses.
	awk '{ adj[$1] = adj[$1] " " $2; node[$1] = 1; node[$2] = 1 }
	     END {
		for (a in node) {
			delete seen; top = 0; stack[++top] = a
			while (top > 0) {
				x = stack[top--]
				n = split(adj[x], next_nodes, " ")
				for (i = 1; i <= n; i++)
					if (!(next_nodes[i] in seen)) {
						seen[next_nodes[i]] = 1
						stack[++top] = next_nodes[i]
					}
			}
			for (b in seen) reach[a, b] = 1
		}
		for (a in node) for (b in node)
			if (a < b && ((a, b) in reach) && ((b, a) in reach))
				printf "check_layers: %s.c and %s.c use each other (a circle)\n", a, b
	     }' "$work/edges.ok" | sort | sed "s|^check_layers: |check_layers: $dir/|" >"$work/circles"
	[ -s "$work/circles" ] && { cat "$work/circles"; status=1; }
}

# Includes across programs: a quoted include names a file of the program's own directory
# ("chunk.h") or a path under include/ ("memprof/varint.h"), nothing else.
check_includes() {
	dir=$1
	grep -H '^#include "' "$root/$dir"/*.c "$root/$dir"/*.h 2>/dev/null |
		sed 's/^\([^:]*\):#include "\([^"]*\)".*/\1 \2/' |
		while read -r src inc; do
			case $inc in
			*..*) found=0 ;;
			*/*) [ -f "$root/include/$inc" ] && found=1 || found=0 ;;
			*) [ -f "$root/$dir/$inc" ] && found=1 || found=0 ;;
			esac
			[ "$found" = 1 ] ||
				echo "check_layers: $src includes \"$inc\", which is neither in $dir/ nor in include/"
		done >"$work/includes"
	[ -s "$work/includes" ] && { cat "$work/includes"; status=1; }
}

for program in preload analyzer; do
	check_program "$program"
	check_includes "$program"
done
exit $status
