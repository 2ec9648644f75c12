# Tests: cmocka unit tests per module, programs run under the preload, integration checks.
#   tests/unit/preload/test_*.c   linked with the preload's objects minus the libc shim
#   tests/unit/analyzer/test_*.c  linked with the analyzer's objects, plain and ASan+UBSan
#   tests/progs/*.c, *.cc         small programs the integration tests run under LD_PRELOAD
#   tests/integration/test_*.c    cmocka programs that run progs and decode their traces
#   tests/integration/*.sh        command-line checks of `memprof`
#   tests/layers/*.sh             the layering rule of docs/architecture.md, from nm

CXX ?= g++
PRELOAD_TESTABLE_OBJ := $(filter-out $(BUILD)/preload/interpose.o $(BUILD)/preload/lifecycle.o \
	$(BUILD)/preload/recording.o $(BUILD)/preload/recording_sandbox.o $(BUILD)/preload/interpose_signals.o \
	$(BUILD)/preload/interpose_ids.o $(BUILD)/preload/interpose_stat.o \
	$(BUILD)/preload/interpose_getattr.o,$(PRELOAD_OBJ))

UNIT_PRELOAD_SRC := $(wildcard tests/unit/preload/test_*.c)
UNIT_PRELOAD_BIN := $(UNIT_PRELOAD_SRC:tests/unit/preload/%.c=$(BUILD)/tests/unit/%)
UNIT_ANALYZER_SRC := $(wildcard tests/unit/analyzer/test_*.c)
UNIT_ANALYZER_BIN := $(UNIT_ANALYZER_SRC:tests/unit/analyzer/%.c=$(BUILD)/tests/unit/%)
UNIT_ANALYZER_SAN_BIN := $(UNIT_ANALYZER_SRC:tests/unit/analyzer/%.c=$(BUILD)/san/tests/unit/%)
# Support shared by analyzer unit and integration tests: synthetic traces, loaded objects,
# the compressed ELF fixture. Compiled once per variant, like the analyzer's objects.
TEST_SUPPORT_SRC := tests/support/trace_builder.c tests/support/loaded_object.c \
	tests/support/elf_fixture.c
TEST_SUPPORT_OBJ := $(TEST_SUPPORT_SRC:%.c=$(BUILD)/%.o)
TEST_SUPPORT_SAN_OBJ := $(TEST_SUPPORT_SRC:%.c=$(BUILD)/san/%.o)
TEST_HARNESS_OBJ := $(BUILD)/tests/integration/harness.o $(BUILD)/tests/integration/memcheck.o
PROGS_C := $(wildcard tests/progs/*.c)
PROGS_CXX := $(wildcard tests/progs/*.cc)
PROGS_LIB := $(wildcard tests/progs/lib/*.c)
PROGS_RUST := $(wildcard tests/progs/*.rs)
PROGS_BIN := $(PROGS_C:tests/progs/%.c=$(BUILD)/tests/progs/%) \
	$(PROGS_CXX:tests/progs/%.cc=$(BUILD)/tests/progs/%) \
	$(PROGS_RUST:tests/progs/%.rs=$(BUILD)/tests/progs/%) \
	$(PROGS_LIB:tests/progs/lib/%.c=$(BUILD)/tests/progs/lib%.so)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)
INTEG_SH := $(wildcard tests/integration/*.sh)
# The layering of both programs (docs/architecture.md), and a test that the check can fail.
LAYER_SH := tests/layers/check_layers.sh tests/layers/test_check_layers.sh

# Test programs keep frame-rich, unoptimized code so stacks and line numbers are exact.
# -fno-builtin: the compiler must not turn realloc(NULL, n) into malloc(n) behind our back.
PROG_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O0 -g -fno-builtin -D_GNU_SOURCE -pthread

$(BUILD)/tests/support/%.o: tests/support/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -Itests/support -c $< -o $@

$(BUILD)/san/tests/support/%.o: tests/support/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) $(SAN_FLAGS) -Itests/support -c $< -o $@

$(TEST_HARNESS_OBJ): $(BUILD)/tests/integration/%.o: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -Itests/integration -Itests/support -c $< -o $@

# Each test program is one source file (its header dependencies land in $@.d) linked
# with the objects it tests.
$(BUILD)/tests/unit/%: tests/unit/preload/%.c $(PRELOAD_TESTABLE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -MF $@.d -Ipreload -o $@ $< $(PRELOAD_TESTABLE_OBJ) $(PRELOAD_LIBS) $(TEST_LIBS)

$(BUILD)/tests/unit/%: tests/unit/analyzer/%.c $(ANALYZER_LIB_OBJ) $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -MF $@.d -Itests/support -o $@ $< $(TEST_SUPPORT_OBJ) $(ANALYZER_LIB_OBJ) $(ANALYZER_LIBS) $(TEST_LIBS)

$(BUILD)/san/tests/unit/%: tests/unit/analyzer/%.c $(ANALYZER_SAN_LIB_OBJ) $(TEST_SUPPORT_SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) $(SAN_FLAGS) -MF $@.d -Itests/support -o $@ $< $(TEST_SUPPORT_SAN_OBJ) $(ANALYZER_SAN_LIB_OBJ) $(ANALYZER_LIBS) $(TEST_LIBS)

$(BUILD)/tests/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -MMD -MP -MF $@.d -o $@ $< -ldl -lm -rdynamic

# Without DWARF: its Rust names come from the symbol table, mangled (rust_names.sh).
$(BUILD)/tests/progs/rust_names: tests/progs/rust_names.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -g,$(PROG_CFLAGS)) -MMD -MP -MF $@.d -o $@ $< -ldl -lm -rdynamic

$(BUILD)/tests/progs/lib%.so: tests/progs/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/tests/progs/%: tests/progs/%.cc
	@mkdir -p $(dir $@)
	$(CXX) -Wall -Wextra -Werror -O0 -g -pthread -o $@ $<

# Rust programs (rust_program.sh), optimized as a release build is, with DWARF.
RUSTC ?= rustc
$(BUILD)/tests/progs/%: tests/progs/%.rs
	@mkdir -p $(dir $@)
	$(RUSTC) -D warnings -C opt-level=2 -g -o $@ $<

$(BUILD)/tests/integration/%: tests/integration/%.c $(TEST_HARNESS_OBJ) $(ANALYZER_LIB_OBJ) $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -MF $@.d -Itests/integration -Itests/support -o $@ $< $(TEST_HARNESS_OBJ) \
		$(TEST_SUPPORT_OBJ) $(ANALYZER_LIB_OBJ) $(ANALYZER_LIBS) $(TEST_LIBS)

# A program whose DWARF is zlib-compressed, as in Debian's debug packages
# (tests/unit/analyzer/test_debug_inflate.c); optimized, so that it has location lists.
TEST_COMPRESSED_ELF := $(BUILD)/tests/data/compressed_debug
$(TEST_COMPRESSED_ELF): tests/progs/allocs.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -g -gz=zlib -D_GNU_SOURCE -pthread -Wl,--build-id -o $@ $< -ldl -lm

test-programs: $(PROGS_BIN)

check: all $(UNIT_PRELOAD_BIN) $(UNIT_ANALYZER_BIN) $(UNIT_ANALYZER_SAN_BIN) $(BUILD)/san/memprof \
		$(PROGS_BIN) $(INTEG_BIN) $(TEST_COMPRESSED_ELF)
	@BUILD=$(BUILD) tests/run_all.sh $(UNIT_PRELOAD_BIN) $(UNIT_ANALYZER_BIN) \
		$(UNIT_ANALYZER_SAN_BIN) $(INTEG_BIN) $(INTEG_SH) $(LAYER_SH)

.PHONY: test-programs

# Objects that only pattern rules name would otherwise be deleted as intermediates.
.SECONDARY: $(TEST_SUPPORT_OBJ) $(TEST_SUPPORT_SAN_OBJ) $(TEST_HARNESS_OBJ)

# Programs whose stacks are mostly inlined calls: optimized (-O2 -g), so that the
# symbolizer's inline chains are checked against addr2line -i on real compiler output
# (tests/integration/test_inline_frames.c). These explicit rules take precedence over
# the -O0 pattern rules above.
$(BUILD)/tests/progs/inline_chain: tests/progs/inline_chain.cc
	@mkdir -p $(dir $@)
	$(CXX) -Wall -Wextra -Werror -O2 -g -o $@ $<

$(BUILD)/tests/progs/inline_levels: tests/progs/inline_levels.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -o $@ $<

# inline_levels without its symbol table, as Debian ships sqlite3 or git: stacks must still
# end at its (unnamed) main (tests/integration/test_stripped_stacks.c).
$(BUILD)/tests/progs/inline_levels_stripped: $(BUILD)/tests/progs/inline_levels
	strip -o $@ $<

check: $(BUILD)/tests/progs/inline_levels_stripped

# The pprof tests decode profiles with the code protoc-c generates from profile.proto.
$(BUILD)/tests/integration/test_pprof: $(GEN)/profile.pb-c.h
$(BUILD)/tests/unit/test_pprof_build $(BUILD)/san/tests/unit/test_pprof_build: $(GEN)/profile.pb-c.h
# grow.c again with 4 KiB of code before each function: every address moves, no line does
# (memprof diff matches stacks by frames; tests/integration/test_diff.c).
$(BUILD)/tests/progs/grow_padded: tests/progs/grow.c
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -DGROW_PAD -o $@ $< -ldl -lm -rdynamic

check: $(BUILD)/tests/progs/grow_padded

# reach_cxx.cc without RTTI, as node and V8 are built: its vtables have no typeinfo, and
# memprof's vtable heuristic must still know them (tests/integration/test_reachability.c).
$(BUILD)/tests/progs/reach_cxx_nortti: tests/progs/reach_cxx.cc
	@mkdir -p $(dir $@)
	$(CXX) -Wall -Wextra -Werror -O0 -g -fno-rtti -pthread -o $@ $<

check: $(BUILD)/tests/progs/reach_cxx_nortti

# The fork storm of tests/integration/fork_storm.sh with 100 runs under every allocator
# (make check runs 100 under jemalloc, 20 under glibc's malloc and tcmalloc).
check-fork-storm: all $(PROGS_BIN)
	@BUILD=$(BUILD) STORM_RUNS=100 tests/run_all.sh tests/integration/fork_storm.sh

.PHONY: check-fork-storm

# The stack walk's differential test (tests/unit/preload/test_unwind.c): shapes compiled
# with frame pointers and without, C++ with exceptions, and two variants of a library the
# test loads and unloads. -O2 as in the programs people profile.
UNWIND_SHAPES_DIR := tests/unit/preload/unwind
UNWIND_SHAPES_OBJ := $(BUILD)/tests/unit/unwind/shapes_fp.o $(BUILD)/tests/unit/unwind/shapes_nofp.o \
	$(BUILD)/tests/unit/unwind/shapes_cxx.o $(BUILD)/tests/unit/unwind/long_cfi.o
UNWIND_SHAPES_LIB := $(BUILD)/tests/unit/unwind/libshapes1.so $(BUILD)/tests/unit/unwind/libshapes2.so
UNWIND_SHAPES_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -MMD -MP

$(BUILD)/tests/unit/unwind/shapes_fp.o: $(UNWIND_SHAPES_DIR)/shapes_fp.c
	@mkdir -p $(dir $@)
	$(CC) $(UNWIND_SHAPES_CFLAGS) -fno-omit-frame-pointer -c $< -o $@

$(BUILD)/tests/unit/unwind/shapes_nofp.o: $(UNWIND_SHAPES_DIR)/shapes_nofp.c
	@mkdir -p $(dir $@)
	$(CC) $(UNWIND_SHAPES_CFLAGS) -fomit-frame-pointer -c $< -o $@

$(BUILD)/tests/unit/unwind/shapes_cxx.o: $(UNWIND_SHAPES_DIR)/shapes_cxx.cc
	@mkdir -p $(dir $@)
	$(CXX) -Wall -Wextra -Werror -O2 -g -MMD -MP -fomit-frame-pointer -c $< -o $@

# A function with a long FDE program (unwind_rules.c's checkpoints), generated.
$(BUILD)/tests/unit/unwind/long_cfi.c: $(UNWIND_SHAPES_DIR)/long_cfi.awk
	@mkdir -p $(dir $@)
	awk -f $< > $@

$(BUILD)/tests/unit/unwind/long_cfi.o: $(BUILD)/tests/unit/unwind/long_cfi.c
	$(CC) $(UNWIND_SHAPES_CFLAGS) -fomit-frame-pointer -c $< -o $@

$(BUILD)/tests/unit/unwind/libshapes%.so: $(UNWIND_SHAPES_DIR)/shapes_lib.c $(UNWIND_SHAPES_DIR)/shapes.h
	@mkdir -p $(dir $@)
	$(CC) $(UNWIND_SHAPES_CFLAGS) -fomit-frame-pointer -fPIC -shared -DSHAPES_LIB_VARIANT=$* -o $@ $<

$(BUILD)/tests/unit/test_unwind: tests/unit/preload/test_unwind.c $(PRELOAD_TESTABLE_OBJ) $(UNWIND_SHAPES_OBJ) \
		$(UNWIND_SHAPES_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -MF $@.d -Ipreload -Itests/unit/preload -o $@ $< $(UNWIND_SHAPES_OBJ) \
		$(PRELOAD_TESTABLE_OBJ) $(PRELOAD_LIBS) $(TEST_LIBS) -lstdc++ -ldl

# The self-checking library: every capture also made by unw_backtrace and compared
# (preload/unwind.c, MP_UNWIND_CHECK), for tests/integration/unwind_check.sh on real
# programs.
UNWIND_CHECK_LIB := $(BUILD)/tests/libmemprof-unwind-check.so

$(BUILD)/check/preload/unwind.o: preload/unwind.c
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -DMP_UNWIND_CHECK -c $< -o $@

$(UNWIND_CHECK_LIB): $(filter-out $(BUILD)/preload/unwind.o,$(PRELOAD_OBJ)) $(BUILD)/check/preload/unwind.o preload/exports.map
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -flto -shared -Wl,--version-script=preload/exports.map -Wl,-z,now -Wl,-z,defs \
		-o $@ $(filter %.o,$^) $(PRELOAD_LIBS)

check: $(UNWIND_CHECK_LIB)
