# validate/: the KSM validation experiment (docs/accuracy.md).
#
#   make validate-ksm   boot 2, 3 and 4 guests in three configurations, let
#                       KSM merge them, compare with the prediction and
#                       rewrite the tables in docs/accuracy.md (~7 min on
#                       a host without other guests)
#   make check-ksm      the model on hand-made traces, then one 2-guest
#                       configuration; fails unless the prediction is
#                       within the bounds docs/accuracy.md states (~20 s;
#                       part of `make check`), and the prediction from
#                       mb-hostd's host-side traces within 1 %
#
# ksmpredict links the heuristics library; ksmload runs inside the guests
# and is linked statically (always into build/, sanitizers make no sense in
# a busybox guest).
KSMPREDICT := $(BUILD)/validate/ksmpredict
KSMLOAD := build/validate/ksmload

$(BUILD)/validate/%.o: PART_CFLAGS += -Iheuristics

$(KSMPREDICT): $(BUILD)/validate/ksmpredict.o $(LIBHEUR) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $< $(LIBHEUR) $(LIBMB) -ljansson -lpthread -lm $(LIBMB_LIBS)

$(KSMLOAD): validate/ksmload.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -static -o $@ $<

PROGRAMS += $(KSMPREDICT) $(KSMLOAD)

.PHONY: validate-ksm check-ksm
validate-ksm: $(KSMPREDICT) $(KSMLOAD) $(MBUDDY) kmod/memtrace.ko
	@BUILD=$(abspath $(BUILD)) MBUDDY=$(abspath $(MBUDDY)) validate/validate-ksm.sh

check-ksm: $(KSMPREDICT) $(KSMLOAD) $(MBUDDY) $(HOSTD) kmod/memtrace.ko
	@BUILD=$(abspath $(BUILD)) MBUDDY=$(abspath $(MBUDDY)) HOSTD=$(abspath $(HOSTD)) validate/check-ksm.sh

CHECKS += check-ksm
