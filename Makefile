# Memory Buddies — top-level build.
#
#   make deps        install the Debian packages every part needs (idempotent)
#   make             build the user-space programs and libraries into build/
#   make kmod        build memtrace.ko against Debian's linux-headers-amd64
#   make check       run every test suite (prints "N passed, N failed")
#   make bench       run the benchmarks
#   make demo        run the main job on the traces in memtraces/
#
# Each part adds its rules in its own <dir>/build.mk, appending to PROGRAMS
# (binaries `make` builds), CHECKS (test-suite targets `make check` runs, in
# order) and BENCHES (benchmark targets). Objects go to $(BUILD)/<dir>/;
# `make SAN=1` builds everything with AddressSanitizer and UBSan into
# build/san instead.

SAN ?=
ifeq ($(SAN),1)
BUILD ?= build/san
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS =
endif

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror
MB_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Ilib -MMD -MP $(SAN_FLAGS)
MB_LDFLAGS = $(SAN_FLAGS)

# The package lists live in scripts/packages.d/*.txt; the stamp is shared by
# every build variant and redone when a list changes.
DEPS_STAMP = build/.deps-ok
PACKAGE_LISTS = $(wildcard scripts/packages.d/*.txt)

PROGRAMS :=
CHECKS :=
BENCHES :=

.PHONY: all deps check bench demo clean kmod
all: programs

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh $(PACKAGE_LISTS)
	@scripts/deps.sh
	@mkdir -p $(dir $@) && touch $@

# Compile rule shared by every part; a part adds flags for its objects with
# a target-specific PART_CFLAGS.
$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(MB_CFLAGS) $(PART_CFLAGS) $(CFLAGS) -c $< -o $@

# lib/ and heuristics/ first (others link their libraries), tests/ last
# (it collects what the others appended to UNIT_TESTS and friends).
FIRST_PARTS := lib/build.mk heuristics/build.mk
LAST_PARTS := tests/build.mk
include $(FIRST_PARTS)
include $(filter-out $(FIRST_PARTS) $(LAST_PARTS),$(sort $(wildcard */build.mk)))
include $(LAST_PARTS)

.PHONY: programs
programs: $(PROGRAMS)

# The quick suites first, so a broken build is reported in seconds.
QUICK_CHECKS := check-unit check-cli check-san
check: $(DEPS_STAMP)
	@scripts/run-suites.sh $(filter $(QUICK_CHECKS),$(CHECKS)) \
		$(filter-out $(QUICK_CHECKS),$(CHECKS))

bench: $(DEPS_STAMP)
	@scripts/run-suites.sh $(BENCHES)

# The main job: first offline over the real traces in memtraces/, then the
# whole system live (two libvirt hosts, guests with the module and
# mb-guestd, controld planning and migrating) when run as root.
demo: programs kmod
	@scripts/demo.sh $(MBUDDY)
	@if [ "$$(id -u)" -eq 0 ]; then scripts/demo-cluster.sh $(BUILD); \
	else echo; echo "(the live part, scripts/demo-cluster.sh, needs root: run 'sudo make demo')"; fi

clean:
	rm -rf build
	$(MAKE) -C kmod clean >/dev/null 2>&1 || true

# (Not under $(BUILD)/deb*: the package build and its test root have
# their own .d files and directories, debian/build.mk.)
-include $(shell find $(BUILD) -path '$(BUILD)/deb*' -prune -o -name '*.d' -type f -print 2>/dev/null)
