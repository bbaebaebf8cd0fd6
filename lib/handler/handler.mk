# libinvar-handler and the shipped handlers (included by the top-level Makefile).
#   build/libinvar-handler.so.1   exports only invar_handler_* (invar-handler.map)
#   build/invar-handler-file      the file backstore through the ring
#   build/invar-handler-ram       the example: a RAM disk
#   make abi-check                ring layout + abidiff against tests/abi baselines
HANDLER_SOMAJOR := 1
HANDLER_LIB     := $(BUILD)/libinvar-handler.so.$(HANDLER_SOMAJOR)
HANDLER_BINS    := $(BUILD)/invar-handler-file $(BUILD)/invar-handler-ram
HANDLER_CFLAGS  := $(filter-out -Isrc,$(CFLAGS)) -fPIC -fvisibility=hidden

$(BUILD)/lib/handler/%.o: lib/handler/%.c include/invar/handler.h include/invar/handler-ring.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(HANDLER_CFLAGS) -c -o $@ $<

$(HANDLER_LIB): $(BUILD)/lib/handler/handler.o lib/handler/invar-handler.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libinvar-handler.so.$(HANDLER_SOMAJOR) \
		-Wl,--version-script=lib/handler/invar-handler.map -o $@ $< -pthread
	ln -sf libinvar-handler.so.$(HANDLER_SOMAJOR) $(BUILD)/libinvar-handler.so

$(BUILD)/invar-handler-%: tools/handlers/invar-handler-%.c $(HANDLER_LIB) include/invar/handler.h
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $< -L$(BUILD) -linvar-handler \
		-Wl,-rpath,'$$ORIGIN'

handlers: $(HANDLER_BINS)

.PHONY: handlers abi-check

# Test programs that speak the raw ring protocol (no library).
$(BUILD)/tests/hostile-handler: tests/integration/hostile_handler.c include/invar/handler-ring.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $<

# The ABI compatibility test (t_68): libinvar-handler and the RAM example built against the
# first released ring header, tests/abi/handler-ring-v1.h, never against the current one.
$(BUILD)/tests/abi-v1/handler.o: lib/handler/handler.c tests/abi/handler-ring-v1.h include/invar/handler.h
	@mkdir -p $(@D)
	$(CC) $(HANDLER_CFLAGS) -DINVAR_HANDLER_RING_HEADER='"../../tests/abi/handler-ring-v1.h"' \
		-c -o $@ $<

$(BUILD)/tests/invar-handler-ram-v1: tools/handlers/invar-handler-ram.c $(BUILD)/tests/abi-v1/handler.o
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $^ -pthread

handler-tests: $(BUILD)/tests/hostile-handler $(BUILD)/tests/invar-handler-ram-v1
.PHONY: handler-tests

$(BUILD)/tests/ring-layout: tests/abi/ring_layout.c include/invar/handler-ring.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) -o $@ $<

abi-check: $(HANDLER_LIB) $(BUILD)/tests/ring-layout
	@BUILD=$(BUILD) ./tests/abi/check.sh
