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
