# guestd/: mb-guestd, the guest daemon (scan with memtrace.ko, upload with
# libcurl). Shares daemon/ (config files, logging) with mb-controld.
GUESTD_SRCS := $(wildcard guestd/*.c)
GUESTD_OBJS := $(GUESTD_SRCS:%.c=$(BUILD)/%.o)
GUESTD_LIBS := -lcurl -ljansson
GUESTD := $(BUILD)/mb-guestd

$(BUILD)/guestd/%.o: PART_CFLAGS += -Idaemon -Iguestd -Wno-format-truncation

$(GUESTD): $(GUESTD_OBJS) $(DAEMON_OBJS) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $^ $(GUESTD_LIBS) $(LIBMB_LIBS)

PROGRAMS += $(GUESTD)

# Unit tests of mb-guestd link its objects (everything but main.o).
$(BUILD)/tests/test_guestd_%: $(BUILD)/tests/unit/test_guestd_%.o $(filter-out $(BUILD)/guestd/main.o,$(GUESTD_OBJS)) $(DAEMON_OBJS) $(LIBMB)
	@mkdir -p $(dir $@)
	$(CC) $(MB_LDFLAGS) -o $@ $^ -lcmocka -lcurl -ljansson $(LIBMB_LIBS)
