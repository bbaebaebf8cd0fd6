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
	$(CC) $(HANDLER_CFLAGS) -c -o $@ $<

$(HANDLER_LIB): $(BUILD)/lib/handler/handler.o lib/handler/invar-handler.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libinvar-handler.so.$(HANDLER_SOMAJOR) \
		-Wl,--version-script=lib/handler/invar-handler.map -o $@ $< -pthread
	ln -sf libinvar-handler.so.$(HANDLER_SOMAJOR) $(BUILD)/libinvar-handler.so

$(BUILD)/invar-handler-%: tools/handlers/invar-handler-%.c $(HANDLER_LIB) include/invar/handler.h
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $< -L$(BUILD) -linvar-handler \
		-Wl,-rpath,'$$ORIGIN'

handlers: $(HANDLER_BINS)

.PHONY: handlers abi-check
