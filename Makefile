# invar build. Sources are discovered by directory so adding a file needs no edit here.
#   make            build/invard and build/invarctl
#   make run        install build deps (Debian), build, start the embedded default target
#   make check      install test deps (Debian), build, run unit + integration tests
#   make unit       unit tests only
#   make golden     build/invar-golden, the golden-corpus tool (needs libiscsi-dev)
#   make layer-check  every #include within the layer matrix (tools/layer-check.sh)
#   make abi-check  handler ABI: ring layout and libinvar-handler against tests/abi baselines
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS (tests/fuzz/fuzz.mk)
#   make vm-guest   build/vm/: the QEMU test guest (Debian kernel + image, once per machine)
#   make crash-test CUTS=N [CONFIG="ext4 xfs user"]  the power-cut loop (docs/design/durability.md)
#   SAN=1 make ...  AddressSanitizer + UndefinedBehaviorSanitizer build (into build-san/)
#   make man        build/man/invard.8 and invarctl.8 from docs/man/*.scd (scdoc)
#   make install    programs, libinvar-handler, headers, man pages, unit, completion into
#                   $(DESTDIR)$(PREFIX) (debian/rules uses it; see "Installing" below)

CC      ?= cc
BUILD   ?= build
ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

PKGS    := liburing jansson libcrypto libmicrohttpd libsystemd
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
           -Wstrict-prototypes -Wmissing-prototypes -fno-strict-aliasing \
           -D_GNU_SOURCE -pthread -Iinclude -Isrc $(SANFLAGS) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS += -pthread $(SANFLAGS)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -luring -ljansson -lcrypto -lmicrohttpd -lsystemd) -lisal
# The rbd backstore (src/backstore/rbd): librbd and librados (Debian: librbd-dev, librados-dev).
LDLIBS  += -lrbd -lrados

# Library of everything but the program entry points, shared by programs and unit tests.
LIB_SRCS  := $(shell find src -name '*.c' ! -name 'main.c' | sort)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(BUILD)/src/main.o
CTL_SRCS  := $(shell find tools/invarctl -name '*.c' 2>/dev/null | sort)
CTL_OBJS  := $(CTL_SRCS:%.c=$(BUILD)/%.o)
# The golden-corpus tool (tools/golden): needs libiscsi-dev, a test dependency.
GOLDEN_SRCS := $(shell find tools/golden -name '*.c' 2>/dev/null | sort)
GOLDEN_OBJS := $(GOLDEN_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Small clients the integration tests drive (tests/tools/*.c): libiscsi ones, and raw-PDU ones
# on tests/tools/rawini.c, the initiator library built on the product's PDU codec.
RAWINI_OBJ := $(BUILD)/tests/tools/rawini.o
TOOL_SRCS := $(filter-out tests/tools/rawini.c,$(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

.PHONY: all golden run check unit integration layer-check deps-build deps-test clean format vm-guest \
        programs man install crash-test

all: $(BUILD)/invard $(BUILD)/invarctl handlers handler-tests

golden: $(BUILD)/invar-golden

$(BUILD)/libinvar.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/invard: $(DAEMON_OBJ) $(BUILD)/libinvar.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/invarctl: $(CTL_OBJS) $(BUILD)/libinvar.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/invar-golden: $(GOLDEN_OBJS) $(BUILD)/libinvar.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -liscsi

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libinvar.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libinvar.a $(LDFLAGS) $(LDLIBS) -lcmocka

$(RAWINI_OBJ): tests/tools/rawini.c tests/tools/rawini.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h) $(RAWINI_OBJ) $(BUILD)/libinvar.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(RAWINI_OBJ) $(BUILD)/libinvar.a $(LDFLAGS) $(LDLIBS) -liscsi

# bench/iscsi-blast on rawini (bench/run.sh builds its own copy from the same sources).
$(BUILD)/bench/iscsi-blast: bench/iscsi-blast.c $(RAWINI_OBJ) $(BUILD)/libinvar.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/tools -o $@ $< $(RAWINI_OBJ) $(BUILD)/libinvar.a $(LDFLAGS) $(LDLIBS)

# Fuzz targets (make fuzz, make fuzz-smoke) and benchmarks live beside their sources.
-include tests/fuzz/fuzz.mk
-include lib/handler/handler.mk

-include $(LIB_OBJS:.o=.d) $(DAEMON_OBJ:.o=.d) $(CTL_OBJS:.o=.d) $(GOLDEN_OBJS:.o=.d)

deps-build:
	@./tools/install-deps.sh build

deps-test:
	@./tools/install-deps.sh test

run: deps-build
	$(MAKE) all
	$(BUILD)/invard

unit: $(UNIT_BINS)
	@./tests/run-unit.sh $(UNIT_BINS)

layer-check:
	@./tools/layer-check.sh

# TESTS: a subset of tests/integration/t_*.sh (default: all of them).
integration: all $(TOOL_BINS) $(BUILD)/invar-golden vm-guest
	@BUILD=$(BUILD) ./tests/run-integration.sh $(TESTS)

# What make check runs once, on the normal build only: the kernel-initiator tests (each boots a
# QEMU guest, 2-4 minutes under TCG) and the package and sandbox tests (they test the normal
# build's binaries as installed), and the power-cut test (a guest running invard; a few minutes).
# `SAN=1 make integration` still runs (or skips) everything.
ONCE_TESTS = _kernel_ _package _unit_sandbox _crash_
SAN_TESTS = $(foreach t,$(sort $(wildcard tests/integration/t_*.sh)),\
	$(if $(strip $(foreach o,$(ONCE_TESTS),$(findstring $(o),$(t)))),,$(t)))

# The guest the kernel-initiator tests boot (tests/vm, docs/design/vm-harness.md): built from
# Debian packages into build/vm/ once per machine (about a minute), reused while unchanged.
vm-guest:
	@nice -n 10 ./tests/vm/build-guest.sh >/dev/null

# The power-cut loop, long (docs/design/durability.md): CUTS cuts of the configurations in
# CONFIG (default all: ext4 xfs user), a summary line each. make check runs a few (t_138).
CUTS ?= 20
crash-test: all $(BUILD)/tests/tools/crashini vm-guest
	@BUILD=$(BUILD) ./tests/vm/crash-loop.sh $(CUTS) $(CONFIG)

# The full suite: unit + integration on the normal build, both again under ASan/UBSan (the
# kernel-initiator guests once only, above), then
# every fuzz target replays its corpus and fuzzes briefly (clang is installed if missing).
check: deps-test
	$(MAKE) layer-check
	$(MAKE) all unit
	$(MAKE) abi-check
	$(MAKE) integration
	$(MAKE) SAN=1 all unit
	$(MAKE) SAN=1 integration TESTS="$(SAN_TESTS)"
	$(MAKE) fuzz-smoke

# ---- Installing (what the Debian package ships; debian/rules sets the directories) ----
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
LIBDIR        ?= $(PREFIX)/lib
INCLUDEDIR    ?= $(PREFIX)/include
MANDIR        ?= $(PREFIX)/share/man
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL       ?= install
MAN_PAGES     := $(BUILD)/man/invard.8 $(BUILD)/man/invarctl.8
PUBLIC_HEADERS := include/invar/handler.h include/invar/handler-ring.h include/invar/version.h
VERSION       := $(shell sed -n 's/^\#define INVAR_VERSION_STRING "\(.*\)"/\1/p' include/invar/version.h)

programs: $(BUILD)/invard $(BUILD)/invarctl $(HANDLER_LIB)

man: $(MAN_PAGES)

$(BUILD)/man/%.8: docs/man/%.8.scd
	@mkdir -p $(@D)
	scdoc <$< >$@

# The unit names /usr/sbin/invard; another SBINDIR is written into the installed copy.
install: programs man
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/invar $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	$(INSTALL) -m 0755 $(BUILD)/invard $(DESTDIR)$(SBINDIR)/invard
	$(INSTALL) -m 0755 $(BUILD)/invarctl $(DESTDIR)$(BINDIR)/invarctl
	$(INSTALL) -m 0644 $(HANDLER_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libinvar-handler.so.$(HANDLER_SOMAJOR) $(DESTDIR)$(LIBDIR)/libinvar-handler.so
	$(INSTALL) -m 0644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/invar/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' lib/handler/invar-handler.pc.in \
		>$(DESTDIR)$(LIBDIR)/pkgconfig/invar-handler.pc
	$(INSTALL) -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 dist/bash-completion/invarctl $(DESTDIR)$(BASHCOMPDIR)/invarctl
	sed 's|/usr/sbin/invard|$(SBINDIR)/invard|' dist/systemd/invard.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/invard.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/invard.service

format:
	clang-format -i $$(find src tools include tests -name '*.[ch]')

clean:
	rm -rf build build-san
