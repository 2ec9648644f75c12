# Fuzzing the trace reader with libFuzzer (clang): make fuzz [FUZZ_SECONDS=60] [FUZZ_ARGS=...]
# and the debug-file inflater (analyzer/debug_inflate.c): make fuzz-debug, seeded with the
# compressed test program of tests/tests.mk.
#   tests/fuzz/corpus/     seed traces (make fuzz-corpus rewrites them from trace_builder)
#   tests/fuzz/crashers/   every input that ever crashed the reader, minimized; replayed by
#                          tests/unit/analyzer/test_fuzz_regressions.c
# New corpus entries and crash artifacts go to build/fuzz/, never into the source tree.

FUZZ_CC ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Iinclude -Ianalyzer -Itests/support -D_GNU_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_READER_SRC := analyzer/trace_read.c analyzer/trace_index.c analyzer/trace_merge.c \
	analyzer/trace_tables.c analyzer/freed_samples.c analyzer/leak_kinds.c
# Fuzzers are built from several sources in one command, so they depend on every header.
FUZZ_HEADERS := $(wildcard include/memprof/*.h analyzer/*.h tests/support/*.h)

$(BUILD)/fuzz/fuzz_trace_read: tests/fuzz/fuzz_trace_read.c $(FUZZ_READER_SRC) $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_trace_read.c $(FUZZ_READER_SRC)

$(BUILD)/fuzz/fuzz_debug_inflate: tests/fuzz/fuzz_debug_inflate.c analyzer/debug_inflate.c $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_debug_inflate.c analyzer/debug_inflate.c -ldeflate

$(BUILD)/fuzz/make_corpus: tests/fuzz/make_corpus.c $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -MF $@.d -Itests/support -o $@ tests/fuzz/make_corpus.c $(TEST_SUPPORT_OBJ) \
		-lelf $(TEST_LIBS)

fuzz-corpus: $(BUILD)/fuzz/make_corpus
	@mkdir -p tests/fuzz/corpus
	$(BUILD)/fuzz/make_corpus tests/fuzz/corpus

fuzz: $(BUILD)/fuzz/fuzz_trace_read
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz_trace_read -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)/fuzz/ \
		-max_len=65536 $(FUZZ_ARGS) $(BUILD)/fuzz/corpus tests/fuzz/corpus

fuzz-debug: $(BUILD)/fuzz/fuzz_debug_inflate $(TEST_COMPRESSED_ELF)
	@mkdir -p $(BUILD)/fuzz/corpus_debug
	cp $(TEST_COMPRESSED_ELF) $(BUILD)/fuzz/corpus_debug/seed
	$(BUILD)/fuzz/fuzz_debug_inflate -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(BUILD)/fuzz/debug- -max_len=131072 $(FUZZ_ARGS) $(BUILD)/fuzz/corpus_debug

.PHONY: fuzz fuzz-corpus fuzz-debug
