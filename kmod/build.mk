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
	       lib/mbt_algorithms.h
KMOD_STYLE_FILES := kmod/memtrace_main.c $(KMOD_SHARED)
# The guest test program is static (busybox initramfs, no libc inside), so
# it is built outside $(BUILD) and never with the sanitizers.
GUEST_TOOL := build/guest/mtguest
GUEST_TOOL_SRCS := tests/guest/mtguest.c lib/digest.c lib/superfasthash.c \
		   lib/digest_avx2.c lib/digest_avx512.c

kmod: $(KMOD_KO)

$(KMOD_KO): kmod/memtrace_main.c kmod/Kbuild kmod/Makefile $(KMOD_SHARED) | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -C kmod

$(GUEST_TOOL): $(GUEST_TOOL_SRCS) lib/digest.h lib/digest_simd.h lib/digest_simd_body.h $(KMOD_SHARED) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -std=gnu11 $(WARN) -D_GNU_SOURCE -Ilib -o $@ $(GUEST_TOOL_SRCS) -lxxhash

.PHONY: check-kmod-style check-guest bench-kmod memtraces
check-kmod-style: | $(DEPS_STAMP)
	@kmod/checkpatch.sh $(KMOD_STYLE_FILES)

check-guest: $(KMOD_KO) $(GUEST_TOOL) $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) tests/guest/run-tests.sh

bench-kmod: $(KMOD_KO) $(GUEST_TOOL)
	@tests/guest/bench-scan.sh

memtraces: $(KMOD_KO) $(GUEST_TOOL) $(MBUDDY)
	@tests/guest/capture-memtraces.sh

CHECKS += check-kmod-style check-guest
BENCHES += bench-kmod
