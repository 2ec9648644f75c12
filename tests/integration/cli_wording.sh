#!/bin/sh
# cli_wording.sh: the words and numbers of the text reports on real programs: thousands
# separators and units beside exact figures (JSON keeps plain integers), nouns agreeing
# with their counts, a sampled trace's leaks saying it was not scanned (not that a scan
# failed), and C++ names with template arguments elided in text unless --long-names,
# whole in JSON.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"

cat >big.c <<'C'
#include <pthread.h>
#include <stdlib.h>
static void *idle(void *arg)
{
	return arg;
}
int main(void)
{
	static char *keep;
	keep = malloc(20002000);
	keep[0] = 1;
	/* A thread: glibc keeps its TLS block, which the built-in rule suppresses. */
	pthread_t thread;
	pthread_create(&thread, NULL, idle, NULL);
	pthread_join(thread, NULL);
	return 0;
}
C
cc -O0 -g -pthread -o big big.c || exit 1
MEMPROF_QUIET=1 MEMPROF_OUTPUT=big.trace LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" ./big ||
	fail "big: run"
"$memprof" report big.trace >report.txt 2>/dev/null || fail "report: exit $?"
grep -q "^  1\. 20,002,000 bytes (19\.1 MiB) in 1 allocation, 1 call$" report.txt ||
	fail "report: the big block: $(grep -m1 '^  1\.' report.txt)"
grep -q "^  1\. 20,002,000 bytes (19\.1 MiB) in 1 block not freed$" report.txt || fail "report: not freed"
grep -Eq "^Peak heap:    [0-9]{2},[0-9]{3},[0-9]{3} bytes \([0-9.]+ MiB\) in [0-9,]+ blocks at " report.txt ||
	fail "report: peak: $(grep '^Peak heap' report.txt)"
# Nothing says "1 blocks", "1 allocations", "1 calls", "1 stacks" or "chunk(s)".
grep -Eq "(^|[^0-9,])1 (blocks|allocations|calls|stacks|leaks|frees|reallocs|mmaps)" report.txt &&
	fail "report: a plural after 1: $(grep -E '(^|[^0-9,])1 (blocks|allocations|calls)' report.txt | head -n 1)"
"$memprof" report --json big.trace 2>/dev/null | grep -q '"allocated_bytes": 20002000,' ||
	fail "report --json: the plain integer"
"$memprof" leaks big.trace >leaks.txt 2>/dev/null || fail "leaks: exit $?"
grep -Eq "^    1 leak, [0-9,]+ bytes in 1 block by 'function:\*_dl_allocate_tls' \(\(built-in\):1\)$" leaks.txt ||
	fail "leaks: the suppression line: $(grep "by '" leaks.txt)"
grep -Eq "^memprof leaks for 'big.trace': 0 bytes leaked in 0 blocks from 0 call stacks$" leaks.txt ||
	fail "leaks: heading: $(head -n 1 leaks.txt)"

# Sampled: no scan ran, and that is said as such.
MEMPROF_QUIET=1 MEMPROF_OUTPUT=sampled.trace MEMPROF_SAMPLE_BYTES=4k \
	LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" ./big || fail "sampled: run"
"$memprof" leaks sampled.trace >sampled.txt 2>/dev/null || fail "sampled leaks: exit $?"
grep -qx "  No leak kinds: sampled traces are not scanned at exit (only the sampled blocks are known); every block not freed is listed" \
	sampled.txt || fail "sampled leaks: $(sed -n 2p sampled.txt)"
grep -q "Operation not supported\|scan failed" sampled.txt && fail "sampled leaks: says the scan failed"
"$memprof" leaks --json sampled.trace >sampled.json 2>/dev/null
grep -q '"state": "none",' sampled.json || fail "sampled leaks --json: state"
grep -q '"reason": "sampled traces are not scanned"' sampled.json || fail "sampled leaks --json: reason"
"$memprof" report sampled.trace 2>/dev/null | grep -q "^Leaked:       .*: every block not freed counts, sampled traces not being scanned for leaks" ||
	fail "sampled report: Leaked line"

# C++: template arguments elided in text, kept with --long-names and in JSON.
cat >cxx.cc <<'CXX'
#include <map>
#include <string>
#include <vector>
static std::map<std::string, std::vector<long>> *table;
int main()
{
	table = new std::map<std::string, std::vector<long>>;
	(*table)["key"].push_back(1);
	return 0;
}
CXX
c++ -O0 -g -o cxx cxx.cc || exit 1
MEMPROF_QUIET=1 MEMPROF_OUTPUT=cxx.trace LD_PRELOAD="$MEMPROF_BUILD/libmemprof.so" ./cxx ||
	fail "cxx: run"
"$memprof" leaks --show-reachable cxx.trace >short.txt 2>/dev/null || fail "cxx leaks: exit $?"
grep -q "^    std::vector<>::push_back(long&&) at " short.txt || fail "short name: $(grep push_back short.txt)"
grep -q "std::allocator<long>" short.txt && fail "short names keep template arguments"
"$memprof" leaks --show-reachable --long-names cxx.trace >long.txt 2>/dev/null || fail "--long-names: exit $?"
grep -q "^    std::vector<long, std::allocator<long> >::push_back(long&&) at " long.txt ||
	fail "--long-names: $(grep push_back long.txt)"
"$memprof" leaks --show-reachable --json cxx.trace 2>/dev/null |
	grep -q '"function": "std::vector<long, std::allocator<long> >::push_back(long&&)"' ||
	fail "JSON: the whole name"

[ "$failures" -eq 0 ]
