# kmod/: memtrace.ko (Kbuild, against Debian's linux-headers-amd64), its
# style check, and the QEMU guest test bed in tests/guest/.
#
#   make kmod              build kmod/memtrace.ko (kmod/Makefile picks KVER)
#   make check-kmod-style  checkpatch.pl --no-tree -f on the module and the
#                          lib/ files it compiles
#   make check-guest       boot the module in QEMU TCG guests and test it
#   make bench-kmod        in-guest scan throughput against user space
#   make memtraces         recapture the traces in memtraces/
KMOD_KO := kmod/memtrace.ko
KMOD_SHARED := lib/superfasthash.c lib/superfasthash.h lib/mbt_format.h \
	       lib/mbt_algorithms.h lib/digest_simd.h lib/digest_simd_rows.h \
	       lib/digest_simd_body.h lib/digest_avx2.c lib/digest_avx512.c \
	       lib/memtrace_ioctl.h
KMOD_STYLE_FILES := kmod/memtrace_main.c $(KMOD_SHARED)
# The guest test program is static (busybox initramfs, no libc inside), so
# it is never built with the sanitizers; it and the guests' logs live in
# $(GUEST_DIR), build/guest for the default build.
GUEST_DIR := $(patsubst build/san,build,$(BUILD))/guest
GUEST_TOOL := $(GUEST_DIR)/mtguest
GUEST_TOOL_SRCS := tests/guest/mtguest.c lib/digest.c lib/superfasthash.c \
		   lib/digest_avx2.c lib/digest_avx512.c

kmod: $(KMOD_KO)

$(KMOD_KO): kmod/memtrace_main.c kmod/Kbuild kmod/Makefile $(KMOD_SHARED) | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -C kmod

$(GUEST_TOOL): $(GUEST_TOOL_SRCS) lib/digest.h $(KMOD_SHARED) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -std=gnu11 $(WARN) -D_GNU_SOURCE -Ilib -o $@ $(GUEST_TOOL_SRCS) -lxxhash

.PHONY: check-kmod-style check-guest bench-kmod memtraces
check-kmod-style: | $(DEPS_STAMP)
	@kmod/checkpatch.sh $(KMOD_STYLE_FILES)

check-guest: $(KMOD_KO) $(GUEST_TOOL) $(MBUDDY)
	@GUEST_BUILD=$(abspath $(GUEST_DIR)) MBUDDY=$(abspath $(MBUDDY)) tests/guest/run-tests.sh

bench-kmod: $(KMOD_KO) $(GUEST_TOOL)
	@GUEST_BUILD=$(abspath $(GUEST_DIR)) tests/guest/bench-scan.sh

memtraces: $(KMOD_KO) $(GUEST_TOOL) $(MBUDDY)
	@GUEST_BUILD=$(abspath $(GUEST_DIR)) tests/guest/capture-memtraces.sh

# The six large traces of bench-best-match (heuristics/build.mk), captured
# once: 960 MiB guests, every page hashed.
$(LARGE_TRACES)/.captured: | $(KMOD_KO) $(GUEST_TOOL) $(MBUDDY)
	@GUEST_BUILD=$(abspath $(GUEST_DIR)) MBUDDY=$(abspath $(MBUDDY)) \
		CAPTURE_SET=large tests/guest/capture-memtraces.sh $(LARGE_TRACES)
	@touch $@

CHECKS += check-kmod-style check-guest
BENCHES += bench-kmod
