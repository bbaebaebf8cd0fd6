# libFuzzer targets (included by the top-level Makefile). Each tests/fuzz/fuzz_*.c is one
# harness, linked against every library source compiled again with clang, ASan, UBSan and
# libFuzzer's coverage into $(FUZZ_BUILD)/ (never the gcc objects).
#   make fuzz         each harness for FUZZ_SECONDS (default 60), new inputs kept in
#                     $(FUZZ_BUILD)/corpus/<harness>/, crashes in $(FUZZ_BUILD)/artifacts/
#   make fuzz-smoke   replay the checked-in corpus, then each harness for FUZZ_SMOKE_SECONDS
#                     (default 15): what CI runs
#   make fuzz-build   just build the harnesses
# FUZZ=fuzz_conn (a space-separated list) limits either to some harnesses. Any crash, leak,
# sanitizer report or timeout exits non-zero. clang comes from Debian via install-clang.sh.

FUZZ_CC            ?= clang
FUZZ_BUILD         ?= build-fuzz
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_ALL           := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ               ?= $(FUZZ_ALL)

FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
FUZZ_CFLAGS   := -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
                 -D_GNU_SOURCE -pthread -Iinclude -Isrc -DINVAR_FUZZ $(FUZZ_SANFLAGS) \
                 $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS     := $(FUZZ:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-deps fuzz-clean

fuzz-deps:
	@./tests/fuzz/install-clang.sh

# The library objects only get coverage instrumentation; main() comes from libFuzzer at link.
$(FUZZ_LIB_OBJS): $(FUZZ_BUILD)/%.o: %.c | fuzz-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/libinvar.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libinvar.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libinvar.a \
		-pthread $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@./tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ)

fuzz-smoke: fuzz-build
	@./tests/fuzz/run.sh smoke $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

-include $(FUZZ_LIB_OBJS:.o=.d)
