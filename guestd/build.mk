# guestd/: mb-guestd, the guest daemon (scan with memtrace.ko, upload with
# libcurl, statistics reports from a thread of their own). Shares daemon/
# (config files, logging) with mb-controld.
GUESTD_SRCS := $(wildcard guestd/*.c)
GUESTD_OBJS := $(GUESTD_SRCS:%.c=$(BUILD)/%.o)
GUESTD_LIBS := -lcurl -ljansson -lpthread
GUESTD := $(BUILD)/mb-guestd

$(BUILD)/guestd/%.o: PART_CFLAGS += -Idaemon -Iguestd -Wno-format-truncation

$(GUESTD): $(GUESTD_OBJS) $(DAEMON_OBJS) $(DAEMON_UPLOAD_OBJS) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $^ $(GUESTD_LIBS) $(LIBMB_LIBS)

PROGRAMS += $(GUESTD)

# Unit tests of mb-guestd link its objects (everything but main.o), and
# libmicrohttpd for the HTTP server on loopback that receives the reports.
$(BUILD)/tests/test_guestd_%: $(BUILD)/tests/unit/test_guestd_%.o $(filter-out $(BUILD)/guestd/main.o,$(GUESTD_OBJS)) $(DAEMON_OBJS) $(DAEMON_UPLOAD_OBJS) $(LIBMB)
	@mkdir -p $(dir $@)
	$(CC) $(MB_LDFLAGS) -o $@ $^ -lcmocka -lmicrohttpd $(GUESTD_LIBS) $(LIBMB_LIBS)

# Fuzz target of the /proc parsers (tests/fuzz/fuzz_guestd_proc.c), rebuilt
# when they change.
FUZZ_SRCS_guestd_proc = guestd/procfs.c $(LIBMB_SRCS)
FUZZ_CFLAGS_guestd_proc = -Idaemon
build/fuzz/fuzz_guestd_proc: guestd/procfs.c guestd/guestd.h

# Fuzz target of the key answer (tests/fuzz/fuzz_guestd_key.c, --keyed).
FUZZ_SRCS_guestd_key = guestd/keyed.c $(LIBMB_SRCS)
FUZZ_CFLAGS_guestd_key = -Idaemon -Iguestd
FUZZ_LIBS_guestd_key = -ljansson
build/fuzz/fuzz_guestd_key: guestd/keyed.c guestd/guestd.h
