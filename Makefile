# memprof: one Makefile, outputs in build/.
#   make            libmemprof.so and the memprof command
#   make check      unit tests (analyzer ones also under ASan+UBSan) and integration tests
#   make bench      the overhead benchmark (bench/README.md)
#   make install PREFIX=/usr/local

CC ?= gcc
PREFIX ?= /usr/local
BUILD := build

WARN := -std=gnu11 -Wall -Wextra -Werror
# -MMD -MP: the compiler lists the headers each object really includes (build/**/*.d),
# so changing a header rebuilds what uses it and nothing else.
DEPFLAGS := -MMD -MP
CFLAGS_COMMON := $(WARN) -O2 -g -Iinclude -D_GNU_SOURCE $(DEPFLAGS)
# The preload lives in other people's processes: hidden symbols, static TLS, no stack
# protector surprises in code that may run before libc is initialized.
PRELOAD_CFLAGS := $(CFLAGS_COMMON) -DMP_POISON -fPIC -fvisibility=hidden -ftls-model=initial-exec -flto \
	-fno-omit-frame-pointer
PRELOAD_LIBS := -lunwind -ldl -lm -pthread
# pprof's profile.proto, from Debian's golang-github-google-pprof-dev, compiled by protoc-c
# into build/gen/ at build time (never committed); the analyzer includes <profile.pb-c.h>.
PPROF_PROTO_DIR ?= /usr/share/gocode/src/github.com/google/pprof/proto
GEN := $(BUILD)/gen
ANALYZER_CFLAGS := $(CFLAGS_COMMON) -Ianalyzer -I$(GEN)
ANALYZER_LIBS := -ldw -lelf -ldeflate -ljansson -lprotobuf-c -liberty -lm -pthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TEST_LIBS := -lcmocka

PRELOAD_SRC := $(wildcard preload/*.c)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/%.o)
ANALYZER_SRC := $(wildcard analyzer/*.c)
ANALYZER_LIB_SRC := $(filter-out analyzer/main.c,$(ANALYZER_SRC))
ANALYZER_OBJ := $(ANALYZER_SRC:%.c=$(BUILD)/%.o) $(GEN)/profile.pb-c.o
ANALYZER_LIB_OBJ := $(ANALYZER_LIB_SRC:%.c=$(BUILD)/%.o) $(GEN)/profile.pb-c.o
ANALYZER_SAN_LIB_OBJ := $(ANALYZER_LIB_SRC:%.c=$(BUILD)/san/%.o) $(GEN)/san/profile.pb-c.o

all: $(BUILD)/libmemprof.so $(BUILD)/memprof

# The interposed functions run on every malloc and free of the program: without a frame
# pointer their fast paths need no prologue at all (libunwind reads the CFI, not frame
# pointers, so stacks are unaffected).
$(BUILD)/preload/interpose.o: PRELOAD_CFLAGS += -fomit-frame-pointer

$(BUILD)/preload/%.o: preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

# -z defs: a symbol of ours left undefined would otherwise surface only when a program
# loads the library.
$(BUILD)/libmemprof.so: $(PRELOAD_OBJ) preload/exports.map
	$(CC) -O2 -g -flto -shared -Wl,--version-script=preload/exports.map -Wl,-z,now -Wl,-z,defs \
		-o $@ $(PRELOAD_OBJ) $(PRELOAD_LIBS)

$(BUILD)/analyzer/%.o: analyzer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) -c $< -o $@

$(BUILD)/san/analyzer/%.o: analyzer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ANALYZER_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# Generated code is compiled without -Werror: its warnings are protoc-c's, not ours.
$(GEN)/profile.pb-c.c $(GEN)/profile.pb-c.h &: $(PPROF_PROTO_DIR)/profile.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(PPROF_PROTO_DIR) $<

$(GEN)/profile.pb-c.o: $(GEN)/profile.pb-c.c
	$(CC) -O2 -g -c $< -o $@

$(GEN)/san/profile.pb-c.o: $(GEN)/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(SAN_FLAGS) -I$(GEN) -c $< -o $@

# What includes the generated header needs it before it compiles.
$(BUILD)/analyzer/pprof_encode.o $(BUILD)/san/analyzer/pprof_encode.o: $(GEN)/profile.pb-c.h

$(BUILD)/memprof: $(ANALYZER_OBJ)
	$(CC) -o $@ $(ANALYZER_OBJ) $(ANALYZER_LIBS)

$(BUILD)/san/memprof: $(ANALYZER_SAN_LIB_OBJ) $(BUILD)/san/analyzer/main.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(ANALYZER_LIBS)

include tests/tests.mk
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
include bench/bench.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/memprof
	install -m 755 $(BUILD)/memprof $(DESTDIR)$(PREFIX)/bin/memprof
	install -m 644 $(BUILD)/libmemprof.so $(DESTDIR)$(PREFIX)/lib/memprof/libmemprof.so
	install -D -m 644 docs/memprof.1 $(DESTDIR)$(PREFIX)/share/man/man1/memprof.1

clean:
	rm -rf $(BUILD)

.PHONY: all check install clean bench
-include tests/fuzz/fuzz.mk

# The example of README.md: profile examples/leaky and report what leaked.
$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O0 -g -o $@ $<

demo: all $(BUILD)/examples/leaky
	cd $(BUILD)/examples && rm -f memprof.leaky.*.trace && ../memprof run -- ./leaky && \
		../memprof leaks memprof.leaky.*.trace

.PHONY: demo

# memprof html's page assets are copied into html_assets.o by the assembler (.incbin), which
# the compiler's dependency lists do not name.
$(BUILD)/analyzer/html_assets.o $(BUILD)/san/analyzer/html_assets.o: analyzer/html/page.css \
	analyzer/html/page.js
