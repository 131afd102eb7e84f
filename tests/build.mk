# tests/: unit tests (cmocka), sanitizer run, fuzzers.
#
# Unit tests: every tests/unit/test_<name>.c is one cmocka binary linked with
# libmbheur and libmbcore. A part whose tests need more libraries appends
# them to UNIT_TEST_LIBS, or adds its own binaries to UNIT_TESTS with a rule
# of its own.
#
# Fuzz targets: every tests/fuzz/fuzz_<name>.c is a libFuzzer target built
# by clang with ASan+UBSan from the sources listed in FUZZ_SRCS_<name>
# (default: lib/*.c), with FUZZ_CFLAGS_<name> and FUZZ_LIBS_<name> when it
# needs more; its seed corpus is tests/fuzz/corpus/<name>/.
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS += $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_TEST_LIBS += -lcmocka -ljansson -lpthread -lm

$(BUILD)/tests/unit/%.o: PART_CFLAGS += -Iheuristics -Itests/unit

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(LIBHEUR) $(LIBMB)
	@mkdir -p $(dir $@)
	$(CC) $(MB_LDFLAGS) -o $@ $< $(LIBHEUR) $(LIBMB) $(UNIT_TEST_LIBS) $(LIBMB_LIBS)

.PHONY: unit-tests check-unit check-san check-fuzz fuzzers
unit-tests: $(UNIT_TESTS) $(PROGRAMS)

# Each binary prints cmocka's summary; run-unit.sh adds the total.
check-unit: unit-tests
	@MBUDDY=$(abspath $(MBUDDY)) BUILD=$(BUILD) tests/run-unit.sh $(UNIT_TESTS)

check-san: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory SAN=1 check-unit

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_CFLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib -Iheuristics -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS_DEFAULT = $(LIBMB_SRCS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBMB_SRCS) $(HEUR_LIB_SRCS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(FUZZ_CFLAGS_$*) -o $@ $< $(or $(FUZZ_SRCS_$*),$(FUZZ_SRCS_DEFAULT)) $(LIBMB_LIBS) $(FUZZ_LIBS_$*)

fuzzers: $(FUZZ_BINS)

check-fuzz: fuzzers
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-fuzz.sh $(FUZZ_TARGETS)

# The CLI through the real binary: exit codes, messages, round trips;
# the bash completion it prints, loaded into bash.
.PHONY: check-cli
check-cli: $(MBUDDY)
	@rc=0; tests/cli/trace.sh $(MBUDDY) || rc=1; \
	tests/cli/completion.sh $(MBUDDY) || rc=1; exit $$rc

CHECKS += check-unit check-cli check-san check-fuzz
.SECONDARY:
