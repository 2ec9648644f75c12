# The overhead benchmark: `make bench` (see bench/README.md).
BENCH_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -pthread

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

bench: all $(BUILD)/bench/alloc_bench $(BUILD)/bench/runner
	@BUILD=$(BUILD) bench/run.sh
