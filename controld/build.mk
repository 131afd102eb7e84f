# controld/: mb-controld, the trace store and HTTP API; daemon/: code both
# daemons share (config files, logging); guestd/: mb-guestd.
DAEMON_SRCS := $(wildcard daemon/*.c)
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
CONTROLD_SRCS := $(wildcard controld/*.c)
CONTROLD_LIB_OBJS := $(filter-out $(BUILD)/controld/main.o,$(CONTROLD_SRCS:%.c=$(BUILD)/%.o))
# libxenctrl and libxenstore: resizes on hosts given with balloon=xenctrl
# (controld/resize.c, xen.c).
CONTROLD_LIBS := -lmicrohttpd -ljansson -lsqlite3 -lvirt -lxenctrl -lxenstore -lpthread -lm
CONTROLD := $(BUILD)/mb-controld

$(BUILD)/daemon/%.o $(BUILD)/controld/%.o: PART_CFLAGS += -Idaemon -Icontrold -Iheuristics -Wno-format-truncation

# The planner (plan.c, snapshot.c, policy_*.c) uses the heuristics library.
$(CONTROLD): $(BUILD)/controld/main.o $(CONTROLD_LIB_OBJS) $(DAEMON_OBJS) $(LIBHEUR) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $^ $(CONTROLD_LIBS) $(LIBMB_LIBS)

PROGRAMS += $(CONTROLD)

# End-to-end tests with the real daemons on loopback (tests/e2e/).
E2E_DEPS = $(CONTROLD) $(GUESTD) $(MBUDDY)
.PHONY: check-e2e
check-e2e: $(E2E_DEPS)
	@BUILD=$(BUILD) tests/e2e/run.sh docs upload badinput stats legacy tls faults hardening flood tenants privilege

CHECKS += check-e2e

# mbuddy status (heuristics/cmd_status.c) talks to controld with libcurl.
# Target-specific, so it also holds though heuristics/build.mk sets
# MBUDDY_LIBS after this file is read.
$(BUILD)/mbuddy: MBUDDY_LIBS += -lcurl

# The guest upload test boots two QEMU TCG guests with memtrace.ko and
# mb-guestd (tests/guest/ test bed); a suite of its own since it is slow.
.PHONY: check-guest-upload
check-guest-upload: $(E2E_DEPS)
	@BUILD=$(BUILD) tests/e2e/run.sh guest

CHECKS += check-guest-upload

# Benchmark: 1,000 uploads of a 1 GiB VM's trace from 100 clients against
# writing+fsyncing the same bytes with no HTTP (bench/bench_ingest.c).
BENCH_INGEST := $(BUILD)/bench/bench_ingest
$(BUILD)/bench/%.o: PART_CFLAGS += -Wno-format-truncation
$(BENCH_INGEST): $(BUILD)/bench/bench_ingest.o $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $^ -lcurl -lpthread $(LIBMB_LIBS)

.PHONY: bench-ingest
bench-ingest: $(BENCH_INGEST) $(CONTROLD)
	@$(BENCH_INGEST) --controld $(CONTROLD) --dir $(BUILD)/bench-ingest

BENCHES += bench-ingest
PROGRAMS += $(BENCH_INGEST)

# Unit tests of the daemons' code link their objects (not libmbheur's).
CONTROLD_UNIT_LIBS := -lcmocka $(CONTROLD_LIBS) -lcurl
$(BUILD)/tests/unit/test_controld_%.o $(BUILD)/tests/unit/test_guestd_%.o $(BUILD)/tests/unit/test_config.o: \
	PART_CFLAGS += -Idaemon -Icontrold -Iguestd -Iheuristics -Wno-format-truncation
$(BUILD)/tests/test_controld_%: $(BUILD)/tests/unit/test_controld_%.o $(CONTROLD_LIB_OBJS) $(DAEMON_OBJS) $(LIBHEUR) $(LIBMB)
	@mkdir -p $(dir $@)
	$(CC) $(MB_LDFLAGS) -o $@ $^ $(CONTROLD_UNIT_LIBS) $(LIBMB_LIBS)
$(BUILD)/tests/test_config: $(BUILD)/tests/unit/test_config.o $(DAEMON_OBJS) $(LIBMB)
	@mkdir -p $(dir $@)
	$(CC) $(MB_LDFLAGS) -o $@ $^ -lcmocka $(LIBMB_LIBS)

# Allocation-failure tests (tests/unit/failalloc.h): the test binary's
# references to the allocators go through the injector, which makes the
# n-th allocation of the code under test fail.
FAILALLOC_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,--wrap=asprintf,--wrap=XXH64_createState
$(BUILD)/tests/test_controld_allocfail: $(BUILD)/tests/unit/failalloc.o
$(BUILD)/tests/test_controld_allocfail: MB_LDFLAGS += $(FAILALLOC_WRAP)
$(BUILD)/tests/unit/failalloc.o: PART_CFLAGS += -Idaemon -Icontrold

# Fuzz targets of the daemons' parsers (tests/fuzz/fuzz_daemon_conf.c,
# fuzz_controld_tokens.c, fuzz_controld_hostspec.c, fuzz_controld_stats.c);
# the .mbt and text readers are fuzzed by lib's.
FUZZ_SRCS_daemon_conf = daemon/conf.c $(LIBMB_SRCS)
FUZZ_SRCS_controld_tokens = controld/auth.c daemon/log.c $(LIBMB_SRCS)
FUZZ_CFLAGS_controld_tokens = -Idaemon
FUZZ_LIBS_controld_tokens = -lpthread
FUZZ_SRCS_controld_hostspec = controld/hostspec.c $(LIBMB_SRCS)
# The guests' statistics report (POST /v1/vms/{uuid}/stats).
FUZZ_SRCS_controld_stats = controld/stats.c controld/controldb.c controld/action.c daemon/log.c heuristics/json_alloc.c $(LIBMB_SRCS)
FUZZ_CFLAGS_controld_stats = -Icontrold -Idaemon -Iheuristics
FUZZ_LIBS_controld_stats = -ljansson -lsqlite3 -lpthread

# The same end-to-end tests against daemons built with ASan+UBSan: a memory
# error or leak in a request path makes a daemon exit non-zero, which the
# tests check at every stop.
.PHONY: check-e2e-san
check-e2e-san: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory SAN=1 build/san/mb-controld build/san/mb-guestd build/san/mbuddy >/dev/null
	@BUILD=build/san tests/e2e/run.sh upload badinput stats legacy tls hardening flood tenants

CHECKS += check-e2e-san

# The controller against real libvirt: two unprivileged session-mode
# libvirtd "hosts", three QEMU TCG guests with memtrace.ko and mb-guestd,
# plans, a failed and a live migration, a controld restart
# (tests/libvirt/cluster.sh); then one host with two guests with balloons
# for the live statistics and the resize action (controller.sh); then the
# balancer's emergency path and a short run of the balancing experiment
# (balance.sh, about seven minutes); then Sandpiper's CPU and network
# hotspots on two hosts (sandpiper.sh, about four minutes). A few minutes
# each.
.PHONY: check-libvirt
check-libvirt: $(E2E_DEPS)
	@rc=0; BUILD=$(BUILD) tests/libvirt/cluster.sh || rc=1; \
	BUILD=$(BUILD) tests/libvirt/controller.sh || rc=1; \
	BUILD=$(BUILD) tests/libvirt/balance.sh || rc=1; \
	BUILD=$(BUILD) tests/libvirt/sandpiper.sh || rc=1; exit $$rc

CHECKS += check-libvirt

# The balancing experiment in full: static, proportional and cagma with
# real guests, swap disks and a phased workload (tests/libvirt/balance.sh
# --full, about a quarter of an hour); docs/balancing.md has its results.
.PHONY: validate-balance
validate-balance: $(E2E_DEPS)
	@BUILD=$(BUILD) tests/libvirt/balance.sh --full
