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

# Unit tests of mb-hostd (tests/unit/test_hostd_*.c) link its objects.
$(BUILD)/tests/unit/test_hostd_%.o: PART_CFLAGS += -Idaemon -Ihostd
$(BUILD)/tests/test_hostd_%: $(BUILD)/tests/unit/test_hostd_%.o $(HOSTD_LIB_OBJS) $(DAEMON_OBJS) $(DAEMON_UPLOAD_OBJS) $(LIBMB)
	@mkdir -p $(dir $@)
	$(CC) $(MB_LDFLAGS) -o $@ $^ -lcmocka $(HOSTD_LIBS) $(LIBMB_LIBS)

# Fuzz targets of mb-hostd's parsers: QEMU's answers and the layout built
# from them (tests/fuzz/fuzz_hostd_qemu.c), the process's /proc files
# (fuzz_hostd_proc.c).
FUZZ_SRCS_hostd_qemu = hostd/qemu.c hostd/layout.c $(LIBMB_SRCS)
FUZZ_CFLAGS_hostd_qemu = -Idaemon -Ihostd
FUZZ_LIBS_hostd_qemu = -ljansson
build/fuzz/fuzz_hostd_qemu: hostd/qemu.c hostd/layout.c hostd/hostd.h
FUZZ_SRCS_hostd_proc = hostd/procfs.c $(LIBMB_SRCS)
FUZZ_CFLAGS_hostd_proc = -Idaemon -Ihostd
build/fuzz/fuzz_hostd_proc: hostd/procfs.c hostd/hostd.h

# QEMU TCG guests (tests/hostd/): the host-side trace of two guests
# against their module's, page by page (equality.sh, about 40 s), then
# mb-hostd through two real libvirt hosts into mb-controld, the wrong
# host's token refused (libvirt.sh, about a minute). The KSM comparison is
# part of check-ksm (validate/build.mk).
.PHONY: check-hostd validate-hostd bench-hostd
check-hostd: $(HOSTD) $(CONTROLD) $(GUESTD) $(MBUDDY) kmod/memtrace.ko
	@rc=0; BUILD=$(BUILD) tests/hostd/equality.sh || rc=1; \
	BUILD=$(BUILD) tests/hostd/libvirt.sh || rc=1; exit $$rc

CHECKS += check-hostd

# Pages hashed per second of host CPU: mb-hostd out of a 1 GiB QEMU guest
# against mbuddy trace hash on a memory image of it (bench/bench_hostd.sh).
bench-hostd: $(HOSTD) $(MBUDDY)
	@BUILD=$(BUILD) bench/bench_hostd.sh

BENCHES += bench-hostd

# The long runs: equality on four 512 MiB guests, and the KSM comparison
# for idle, shared and private guests, two and three of each
# (tests/hostd/validate.sh; docs/hostd.md has the results).
validate-hostd: $(HOSTD) $(MBUDDY) $(BUILD)/validate/ksmpredict build/validate/ksmload kmod/memtrace.ko
	@BUILD=$(BUILD) tests/hostd/validate.sh

# tests/e2e/docs.sh checks mb-hostd's --help, man page and config file.
check-e2e: $(HOSTD)
