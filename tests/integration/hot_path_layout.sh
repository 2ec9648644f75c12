#!/bin/sh
# hot_path_layout.sh: the functions every recorded event runs through lie together in
# libmemprof.so (MP_HOT, preload/base.h). Spread over 150 KiB of text, an allocation ran
# through ten pages of memprof's code between calls where a big program's own code had
# taken the instruction cache and the TLB (bench/README.md, session 31). Read from nm(1):
# the exported entry points and the recorder's global functions on that path must all
# lie within HOT_SPAN_MAX bytes, in a library whose text is many times larger. (The
# static ones on the path, the walk's, may be renamed by the link and are not named.)
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"
HOT_SPAN_MAX=32768
path="malloc free calloc realloc mp_record_alloc_chosen mp_record_realloc mp_stacks_intern"
path="$path mp_unwind_capture mp_clock_event_read"

nm -S --defined-only "$lib" >symbols.txt 2>nm.err || fail "nm: $(cat nm.err)"
awk -v path="$path" '
	BEGIN { split(path, names, " "); for (i in names) on_path[names[i]] = 1 }
	# mawk has no strtonum.
	function hex(text,   i, value) {
		value = 0
		for (i = 1; i <= length(text); i++)
			value = value * 16 + index("0123456789abcdef", substr(tolower(text), i, 1)) - 1
		return value
	}
	$3 ~ /^[Tt]$/ && ($4 in on_path) {
		start = hex($1); end = start + hex($2)
		if (!(($4) in seen)) { seen[$4] = 1; count++ }
		if (low == "" || start < low) low = start
		if (end > high) high = end
	}
	$3 ~ /^[Tt]$/ {
		start = hex($1)
		if (text_low == "" || start < text_low) text_low = start
		if (start > text_high) text_high = start
	}
	END { printf "%d %d %d\n", count, high - low, text_high - text_low }
' symbols.txt >span.txt 2>awk.err || fail "awk: $(cat awk.err)"
read -r named span text <span.txt
set -- $path
[ "$named" -eq $# ] || fail "found $named of the $# functions on the path in $lib"
[ "$text" -ge $((4 * HOT_SPAN_MAX)) ] ||
	fail "the library's text spans $text bytes: too little for the layout to matter"
[ "$span" -le "$HOT_SPAN_MAX" ] ||
	fail "the event path spans $span bytes of text (at most $HOT_SPAN_MAX): MP_HOT lost?"
[ "$failures" -eq 0 ]
