#!/bin/sh
# cli_pprof.sh: the way out to a fleet's profiler. The profile `memprof pprof` writes
# decodes with protoc against Debian's profile.proto and opens in Go's pprof with the
# report's totals; `memprof push` sends it to a local stand-in for a Pyroscope server
# (pyroscope_sink.py), which saves what it receives for this script to decode, and fails
# with one line naming the URL against a server that answers 500, one that is down and
# one that does not answer in time; `memprof run --push` with a 1 s interval on a program
# that runs 3 s (and forks a child that does too) pushes at least twice during the run
# for each process, labelled with its pid, each a valid profile of its window, and the
# windows add up to the whole trace, with and without --sample.
set -u
memprof="$MEMPROF_BUILD/memprof"
sink="$MEMPROF_TOP/tests/integration/pyroscope_sink.py"
proto_dir=/usr/share/gocode/src/github.com/google/pprof/proto
# Debian's interpreter by its full path: a `python3` on PATH may be a version manager's shim.
python=/usr/bin/python3
failures=0
sink_pids=""
trap 'for pid in $sink_pids; do kill "$pid" 2>/dev/null; done' EXIT

fail() {
	echo "FAIL $*"
	failures=$((failures + 1))
}

decode() {
	gzip -dc "$1" | protoc --decode perftools.profiles.Profile -I"$proto_dir" profile.proto
}

# "types T alloc_space A inuse_space I time_nanos S duration_nanos D" of a profile;
# alloc_space is the second sample type and inuse_space the last (pprof.h).
summary() {
	decode "$1" | awk '
		/^sample_type \{/ { types++ }
		/^sample \{/ { in_sample = 1; n = 0; next }
		in_sample && /^  value:/ {
			if (n == 1) alloc += $2
			if (n == types - 1) inuse += $2
			n++
		}
		in_sample && /^\}/ { in_sample = 0 }
		/^time_nanos:/ { start = $2 }
		/^duration_nanos:/ { duration = $2 }
		# proto3 leaves out a field that is 0: a window pushed within the same
		# nanosecond as the one before has no duration_nanos (strings, not awk numbers:
		# times in ns need all 64 bits).
		END { printf "types %d alloc_space %d inuse_space %d time_nanos %s duration_nanos %s\n",
			types, alloc, inuse, start == "" ? "0" : start, duration == "" ? "0" : duration }'
}

field() { # field NAME SUMMARY
	echo "$2" | awk -v name="$1" '{ for (i = 1; i < NF; i++) if ($i == name) print $(i + 1) }'
}

json_number() { # json_number KEY FILE: the first "KEY": N
	sed -n "s/^ *\"$1\": \([0-9]*\),*$/\1/p" "$2" | head -n 1
}

# start_sink DIR MODE: a server in DIR answering as MODE; its port is then in DIR/port.
start_sink() {
	mkdir -p "$1"
	"$python" "$sink" "$1" "$2" 120 &
	last_sink=$!
	sink_pids="$sink_pids $last_sink"
	for _ in $(seq 50); do
		[ -s "$1/port" ] && return 0
		sleep 0.1
	done
	fail "the $2 server did not start"
	return 1
}

cat >busy.c <<'C'
/* busy SECONDS TIMES [fork]: allocates about 100 blocks a second for SECONDS, keeping the
 * last thousand, then writes its start and end (UNIX seconds) to TIMES. With "fork", a
 * child does the same alongside (and writes nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void *kept[1000];
static double now(clockid_t clock)
{
	struct timespec at;
	clock_gettime(clock, &at);
	return at.tv_sec + at.tv_nsec / 1e9;
}
int main(int argc, char **argv)
{
	double start = now(CLOCK_MONOTONIC), wall = now(CLOCK_REALTIME);
	struct timespec tick = { 0, 10000000 };
	pid_t child = argc > 3 ? fork() : -1;
	for (unsigned i = 0; now(CLOCK_MONOTONIC) - start < atof(argv[1]); i++) {
		free(kept[i % 1000]);
		kept[i % 1000] = malloc(1000 + i % 50);
		nanosleep(&tick, NULL);
	}
	if (child == 0)
		return 0;
	if (child > 0)
		waitpid(child, NULL, 0);
	FILE *out = fopen(argv[2], "w");
	fprintf(out, "%.3f %.3f\n", wall, now(CLOCK_REALTIME));
	return fclose(out) != 0;
}
C
cc -O0 -g -o busy busy.c || exit 1

# ---- memprof pprof: the schema and Go's pprof ----
"$memprof" run --output once.trace -- ./busy 0.2 times.txt 2>/dev/null || fail "run busy"
"$memprof" pprof once.trace -o once.pb.gz || fail "pprof exit code"
decode once.pb.gz >once.txt || fail "protoc cannot decode the profile"
"$memprof" report --json once.trace >report.json
allocated=$(json_number allocated_bytes report.json)
unfreed=$(json_number unfreed_bytes report.json)
got=$(summary once.pb.gz)
[ "$(field alloc_space "$got")" = "$allocated" ] ||
	fail "alloc_space $(field alloc_space "$got"), report allocated_bytes $allocated"
[ "$(field inuse_space "$got")" = "$unfreed" ] ||
	fail "inuse_space $(field inuse_space "$got"), report unfreed_bytes $unfreed"
grep -q '^comment:' once.txt || fail "no comment in the profile"
"$memprof" pprof once.trace -o - >stdout.pb.gz || fail "pprof -o -"
cmp -s once.pb.gz stdout.pb.gz || fail "-o - wrote another profile"
"$memprof" pprof once.trace 2>err.txt && fail "pprof without -o succeeded"
grep -q "no output file" err.txt || fail "pprof without -o: $(cat err.txt)"

# Go's pprof, from Debian's golang-go, when it is installed.
go_pprof=""
for tool in /usr/lib/go*/pkg/tool/*/pprof; do
	[ -x "$tool" ] && go_pprof=$tool
done
if [ -n "$go_pprof" ]; then
	"$go_pprof" -raw once.pb.gz >raw.txt 2>&1 || fail "go pprof -raw: $(head -n 3 raw.txt)"
	grep -q "alloc_objects/count alloc_space/bytes" raw.txt || fail "go pprof: sample types"
	"$go_pprof" -sample_index=alloc_space -unit=byte -top once.pb.gz >top.txt 2>&1 ||
		fail "go pprof -top: $(head -n 3 top.txt)"
	grep -q "Type: alloc_space" top.txt || fail "go pprof -top: type"
	grep -q "of ${allocated}B total" top.txt || fail "go pprof total is not ${allocated}B: $(grep total top.txt)"
	grep -q " main$" top.txt || fail "go pprof: no main"
	"$go_pprof" -top once.pb.gz 2>/dev/null | grep -q "Type: inuse_space" ||
		fail "go pprof: the default type is not inuse_space"
else
	echo "SKIP go pprof: Debian's golang-go is not installed"
fi

# ---- memprof push ----
start_sink ok ok || exit 1
url="http://127.0.0.1:$(cat ok/port)"
"$memprof" push --url "$url/" --app shop.cart --label env=test --label region=eu-1 once.trace ||
	fail "push to a server that takes it: exit code $?"
[ -f ok/req-1.time ] || fail "the server received nothing"
grep -q '^name=shop.cart%7Benv%3Dtest%2Cregion%3Deu-1%7D&from=[0-9]*&until=[0-9]*&format=pprof' \
	ok/req-1.query || fail "query: $(cat ok/req-1.query)"
grep -qx "profile profile.pprof" ok/req-1.parts || fail "no profile file field"
grep -qx "sample_type_config sample_type_config.json" ok/req-1.parts || fail "no sample_type_config"
grep -q '"alloc_space":{"units":"bytes","aggregation":"sum"}' ok/req-1.config ||
	fail "sample_type_config: $(cat ok/req-1.config)"
cmp -s ok/req-1.profile once.pb.gz || fail "the server did not receive the profile of 'pprof'"
decode ok/req-1.profile >/dev/null || fail "what the server received does not decode"
from=$(sed 's/.*from=\([0-9]*\).*/\1/' ok/req-1.query)
until=$(sed 's/.*until=\([0-9]*\).*/\1/' ok/req-1.query)
read -r start end <times.txt
[ "$from" -le "${start%.*}" ] && [ "$until" -ge "${end%.*}" ] ||
	fail "from/until $from/$until do not hold the run $start..$end"
"$memprof" push --url "$url" --label 'bad label' once.trace 2>err.txt
[ $? -eq 2 ] || fail "a bad label is a usage error"

start_sink failing fail || exit 1
"$memprof" push --url "http://127.0.0.1:$(cat failing/port)" once.trace 2>err.txt
code=$?
[ "$code" -ne 0 ] || fail "a 500 answer gave exit code 0"
[ "$(wc -l <err.txt)" -eq 1 ] || fail "500: not one line: $(cat err.txt)"
grep -q "^memprof: push to 'http://127.0.0.1:[0-9]*/ingest': the server answered 500 Internal Server Error: ingester unavailable$" \
	err.txt || fail "500: $(cat err.txt)"

# A port nothing listens on, held so for the test's length (a sink's port, freed, went to
# the next sink started, which never answered the pushes meant to find no server).
start_sink gone closed || exit 1
down_port=$(cat gone/port)
"$memprof" push --url "http://127.0.0.1:$down_port" once.trace 2>err.txt
[ $? -ne 0 ] || fail "a server that is down gave exit code 0"
grep -q "^memprof: push to 'http://127.0.0.1:$down_port/ingest': cannot connect: Connection refused$" \
	err.txt || fail "down: $(cat err.txt)"

start_sink slow slow || exit 1
"$memprof" push --timeout 0.5 --url "http://127.0.0.1:$(cat slow/port)" once.trace 2>err.txt
[ $? -ne 0 ] || fail "a server that does not answer gave exit code 0"
grep -q "no answer within 0.5 s (timed out)" err.txt || fail "slow: $(cat err.txt)"
sed 's/^/    /' err.txt

# ---- memprof run --push ----
# check_run_push DIR TRACE: what DIR's server received for the process that wrote TRACE,
# labelled with its pid.
check_run_push() {
	read -r start end <times.txt
	during=0 windows=0 alloc_sum=0 last_inuse="" previous_end=""
	pid=$(echo "$2" | sed 's/.*\.\([0-9]*\)\.trace$/\1/')
	for time_file in $(ls "$1"/req-*.time | sort -t- -k2 -n); do
		request=${time_file%.time}
		grep -q "^name=busy%7Bpid%3D$pid%7D&" "$request.query" || continue
		windows=$((windows + 1))
		awk -v at="$(cat "$time_file")" -v end="$end" 'BEGIN { exit !(at < end) }' &&
			during=$((during + 1))
		got=$(summary "$request.profile") || fail "$request does not decode"
		[ "$(field types "$got")" -ge 4 ] || fail "$request: sample types: $got"
		alloc_sum=$((alloc_sum + $(field alloc_space "$got")))
		last_inuse=$(field inuse_space "$got")
		# Each window starts where the one before ended.
		[ -z "$previous_end" ] || [ "$(field time_nanos "$got")" = "$previous_end" ] ||
			fail "$request: window starts at $(field time_nanos "$got"), not $previous_end"
		previous_end=$(($(field time_nanos "$got") + $(field duration_nanos "$got")))
	done
	[ "$during" -ge 2 ] || fail "pid $pid: $during pushes during the run (of $windows)"
	"$memprof" report --json "$2" >report.json
	[ "$alloc_sum" = "$(json_number allocated_bytes report.json)" ] ||
		fail "pid $pid: windows add up to $alloc_sum bytes allocated, the trace $(json_number allocated_bytes report.json)"
	[ "$last_inuse" = "$(json_number unfreed_bytes report.json)" ] ||
		fail "pid $pid: the last window has $last_inuse bytes in use, the trace $(json_number unfreed_bytes report.json) not freed"
	echo "    $1, pid $pid: $windows pushes, $during during the run, $alloc_sum bytes allocated"
}

start_sink live ok || exit 1
"$memprof" run --output live.%p.trace --push "http://127.0.0.1:$(cat live/port)" \
	--push-interval 1 --app busy -- ./busy 3 times.txt fork 2>err.txt ||
	fail "run --push: exit code"
grep -q "profiles pushed to 'http://127.0.0.1:[0-9]*/ingest', 0 dropped" err.txt ||
	fail "run --push summary: $(cat err.txt)"
# The program and its fork child, each in its own series.
[ "$(ls live.*.trace | wc -l)" -eq 2 ] || fail "run --push: traces $(ls live.*.trace)"
for trace in live.*.trace; do
	check_run_push live "$trace"
done

start_sink sampled ok || exit 1
MEMPROF_SAMPLE_SEED=3 "$memprof" run --output sampled.%p.trace --sample 16k \
	--push "http://127.0.0.1:$(cat sampled/port)" --push-interval 1 -- ./busy 3 times.txt \
	2>err.txt || fail "run --sample --push: exit code"
check_run_push sampled "$(ls sampled.*.trace)"

# A server that is down costs the program nothing: the pushes are dropped, one line each.
"$memprof" run --output down.%p.trace --push "http://127.0.0.1:$down_port" \
	--push-interval 1 -- ./busy 1.5 times.txt 2>err.txt || fail "run --push to nothing: exit code"
read -r start end <times.txt
awk -v start="$start" -v end="$end" 'BEGIN { exit !(end - start < 2) }' ||
	fail "the program took $start..$end with the server down"
grep -q "dropped after 3 tries (pid [0-9]*, .* s window): cannot connect: Connection refused$" \
	err.txt || fail "run --push to nothing: $(cat err.txt)"
grep -q "^memprof: 0 profiles pushed to .*, [1-9][0-9]* dropped$" err.txt ||
	fail "run --push to nothing: summary"

[ "$failures" -eq 0 ] || exit 1
echo "cli_pprof: all checks passed"
