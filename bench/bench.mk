# The overhead benchmark: `make bench` (see bench/README.md).
BENCH_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -pthread

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

bench: all $(BUILD)/bench/alloc_bench $(BUILD)/bench/runner $(BUILD)/bench/bare_shim.so \
		$(BUILD)/bench/unwind_bench $(BUILD)/bench/thread_churn
	@BUILD=$(BUILD) bench/run.sh
	@BUILD=$(BUILD) RUNS=$${PROGRAM_RUNS:-7} bench/programs.sh
	@echo "one stack capture (bench/unwind_bench.c):"
	@$(BUILD)/bench/unwind_bench
	@BUILD=$(BUILD) RUNS=$${OVERHEAD_RUNS:-15} bench/overhead.sh
	@BUILD=$(BUILD) RUNS=$${SCALE_RUNS:-3} bench/scale.sh
	@BUILD=$(BUILD) RUNS=$${PYTHON_RUNS:-5} bench/leak_python.sh
	@BUILD=$(BUILD) RUNS=$${THREAD_RUNS:-7} bench/threads.sh

# What memprof adds to cc1, counted by callgrind's cache model instead of timed
# (bench/cache_model.sh; BEFORE_LIB=... compares a build). Not part of `make bench`: it
# takes a few minutes and answers a developer's question, not a user's.
bench-cachemodel: all
	@BUILD=$(BUILD) bench/cache_model.sh

.PHONY: bench-cachemodel

# The exit leak check of python3 building a 2M-entry dict (bench/leak_python.sh).
bench-leakpython: all $(BUILD)/bench/runner
	@BUILD=$(BUILD) bench/leak_python.sh

.PHONY: bench-leakpython

# The exit of a program that frees a 4M- and a 16M-block heap as it ends (bench/teardown.sh).
bench-teardown: all $(BUILD)/bench/runner $(BUILD)/bench/teardown
	@BUILD=$(BUILD) bench/teardown.sh

.PHONY: bench-teardown

# Sampled estimates against the truth, and the size of a long sampled trace.
bench-sampling: all $(BUILD)/bench/alloc_bench $(BUILD)/bench/runner $(BUILD)/tests/progs/sample_mix
	@BUILD=$(BUILD) bench/sampling.sh

.PHONY: bench-sampling

# Sampled mode's CPU cost against no profiler and a bare interposer (bench/overhead.sh).
$(BUILD)/bench/bare_shim.so: bench/bare_shim.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared -o $@ $<

bench-overhead: all $(BUILD)/bench/alloc_bench $(BUILD)/bench/runner $(BUILD)/bench/bare_shim.so
	@BUILD=$(BUILD) bench/overhead.sh

.PHONY: bench-overhead

# The exit-time leak scan on a 1 GiB heap of small blocks (bench/leak_scan.sh).
bench-leakscan: all $(BUILD)/bench/leak_scan_bench $(BUILD)/memprof
	@BUILD=$(BUILD) bench/leak_scan.sh

.PHONY: bench-leakscan

# The analyzer on a big heap (a Python dict) and on a trace of a billion events
# (bench/scale.sh; about 7 GB of disk while it runs).
bench-scale: all $(BUILD)/bench/alloc_bench $(BUILD)/bench/runner
	@BUILD=$(BUILD) EVENTS=$${EVENTS:-1000000000} bench/scale.sh

.PHONY: bench-scale

# The RSS watch's cost and an access snapshot's per resident GiB (bench/rss_watch.sh).
bench-rss: all $(BUILD)/bench/resident_bench $(BUILD)/bench/runner $(BUILD)/bench/spawn_pair
	@BUILD=$(BUILD) bench/rss_watch.sh

.PHONY: bench-rss

# What each thread a program starts costs under memprof (bench/threads.sh).
bench-threads: all $(BUILD)/bench/runner $(BUILD)/bench/thread_churn
	@BUILD=$(BUILD) RUNS=$${THREAD_RUNS:-7} bench/threads.sh

.PHONY: bench-threads

# sqlite3, cc1 and cc1plus under memprof (bench/programs.sh).
bench-programs: all $(BUILD)/bench/runner
	@BUILD=$(BUILD) RUNS=$${PROGRAM_RUNS:-7} bench/programs.sh

.PHONY: bench-programs

# One stack capture: libunwind's against memprof's walk, with and without its memo.
$(BUILD)/bench/unwind_bench: bench/unwind_bench.c $(PRELOAD_TESTABLE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -MF $@.d -Ipreload -o $@ $< $(PRELOAD_TESTABLE_OBJ) $(PRELOAD_LIBS)

bench-unwind: $(BUILD)/bench/unwind_bench
	$(BUILD)/bench/unwind_bench

.PHONY: bench-unwind

# The leak thread's folding per record, on a saved trace (bench/fold_bench.c):
#   make build/bench/fold_bench && build/bench/fold_bench TRACE [REPEATS]
$(BUILD)/bench/fold_bench: bench/fold_bench.c $(PRELOAD_TESTABLE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -MF $@.d -Ipreload -o $@ $< $(PRELOAD_TESTABLE_OBJ) $(PRELOAD_LIBS)
