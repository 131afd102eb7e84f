# hostd/: mb-hostd, the host agent that hashes the guests' memory out of
# their QEMU processes (libvirt and libvirt-qemu for the domains and their
# monitors, libcurl through daemon/upload.c for the uploads).
HOSTD_SRCS := $(wildcard hostd/*.c)
HOSTD_OBJS := $(HOSTD_SRCS:%.c=$(BUILD)/%.o)
HOSTD_LIB_OBJS := $(filter-out $(BUILD)/hostd/main.o,$(HOSTD_OBJS))
HOSTD_LIBS := -lvirt -lvirt-qemu -lcurl -ljansson -lpthread
HOSTD := $(BUILD)/mb-hostd

$(BUILD)/hostd/%.o: PART_CFLAGS += -Idaemon -Ihostd -Wno-format-truncation

$(HOSTD): $(HOSTD_OBJS) $(DAEMON_OBJS) $(DAEMON_UPLOAD_OBJS) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $^ $(HOSTD_LIBS) $(LIBMB_LIBS)

PROGRAMS += $(HOSTD)
