#!/bin/sh
# sandboxed.sh: a program that forbids itself system calls with seccomp (tests/progs/
# sandboxed.c: 100 blocks, then a filter allowing what the program needs and killing it on
# anything else, then 20000 allocations). memprof's next chunk needed calls the filter
# forbids: the program, fine alone, died of SIGSYS under memprof (status 159). Each mode
# must now run as it does alone (same output, same status), the trace holding the 100
# blocks before the filter and nothing after, its reason saying why: the filter through
# prctl, through the seccomp system call for every thread while a second one allocates,
# and strict mode; under the filter the program stats its /proc/self/task from a
# descriptor, which the stat family (interpose_stat.c) once probed with calls of its own
# the filter forbids (SIGSYS again). libseccomp's probes (no filter given) change nothing:
# the trace is whole.
set -u
. "$MEMPROF_TOP/tests/support/cli_common.sh"
lib="$MEMPROF_BUILD/libmemprof.so"
prog="$MEMPROF_BUILD/tests/progs/sandboxed"

for mode in prctl tsync strict probe; do
	"$prog" "$mode" 20000 >plain.out 2>&1
	plain=$?
	rm -f sandboxed.trace
	timeout -s KILL 20 env MEMPROF_OUTPUT="$(pwd)/sandboxed.trace" LD_PRELOAD="$lib" \
		"$prog" "$mode" 20000 >sandboxed.out 2>sandboxed.err
	status=$?
	[ "$plain" -eq 0 ] || fail "$mode: status $plain without memprof: $(cat plain.out)"
	[ "$status" -eq "$plain" ] ||
		fail "$mode: status $status under memprof, $plain without: $(cat sandboxed.err)"
	cmp -s plain.out sandboxed.out || fail "$mode: output $(cat sandboxed.out)"
	[ "$(calls sandboxed.trace before_filter)" -eq 100 ] ||
		fail "$mode: $(calls sandboxed.trace before_filter) of the 100 blocks before the filter"
	"$memprof" report --json sandboxed.trace >sandboxed.json 2>/dev/null ||
		fail "$mode: report failed"
	churned=$(calls sandboxed.trace churn)
	if [ "$mode" = probe ]; then
		grep -q '"complete": true' sandboxed.json || fail "probe: trace not complete"
		[ "$churned" -eq 20000 ] || fail "probe: $churned of 20000 allocations recorded"
		! grep -q seccomp sandboxed.err || fail "probe: $(cat sandboxed.err)"
		continue
	fi
	grep -q 'seccomp filter on itself' sandboxed.err || fail "$mode: stderr $(cat sandboxed.err)"
	grep -q '"incomplete_reason": "recording stopped: the process put a seccomp filter' \
		sandboxed.json || fail "$mode: $(grep incomplete sandboxed.json)"
	# Strict mode's program churns once before it, to make its heap large enough.
	want=0
	[ "$mode" = strict ] && want=20000
	[ "$churned" -eq "$want" ] || fail "$mode: $churned allocations after the filter, want $want"
done
# A service started under systemd's hardening (sandboxed.c's `service`: a filter killing
# the process at any call outside @system-service or inside @privileged and @resources,
# then an exec with LD_PRELOAD set). memprof's start (libunwind's mincore) and its leak
# thread moving off a crowded CPU (sched_setaffinity) each killed it with SIGSYS. It must
# run as it does alone and its trace be whole: 100 blocks, 3 x 300000 churned.
"$prog" service 300000 >plain.out 2>&1
plain=$?
rm -f service.trace
timeout -s KILL 30 env MEMPROF_OUTPUT="$(pwd)/service.trace" SERVICE_PRELOAD="$lib" \
	"$prog" service 300000 >service.out 2>service.err
status=$?
[ "$plain" -eq 0 ] || fail "service: status $plain without memprof: $(cat plain.out)"
[ "$status" -eq 0 ] || fail "service: status $status under memprof: $(cat service.err)"
cmp -s plain.out service.out || fail "service: output $(cat service.out)"
"$memprof" report --json service.trace >service.json 2>/dev/null || fail "service: report failed"
grep -q '"complete": true' service.json || fail "service: trace not complete"
[ "$(calls service.trace before_filter)" -eq 100 ] ||
	fail "service: $(calls service.trace before_filter) of the 100 blocks"
[ "$(calls service.trace churn)" -eq 900000 ] ||
	fail "service: $(calls service.trace churn) of 900000 allocations recorded"
[ "$failures" -eq 0 ]
