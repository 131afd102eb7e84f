# heuristics/: the analysis library (libmbheur.a) and the mbuddy CLI.
# Library sources: every heuristics/*.c except mbuddy.c and cmd_*.c.
# The CLI's own files (dispatch, subcommands, the controld client) stay out
# of the library, which controld links too.
HEUR_CLI_ONLY := heuristics/mbuddy.c heuristics/ctl_client.c
HEUR_LIB_SRCS := $(filter-out $(HEUR_CLI_ONLY) heuristics/cmd_%.c,$(wildcard heuristics/*.c))
HEUR_LIB_OBJS := $(HEUR_LIB_SRCS:%.c=$(BUILD)/%.o)
HEUR_CLI_SRCS := $(HEUR_CLI_ONLY) $(wildcard heuristics/cmd_*.c)
HEUR_CLI_OBJS := $(HEUR_CLI_SRCS:%.c=$(BUILD)/%.o)
LIBHEUR := $(BUILD)/heuristics/libmbheur.a
# Libraries mbuddy links besides libmbcore (parts may append, e.g. libcurl).
MBUDDY_LIBS := -ljansson -lpthread -lm
MBUDDY := $(BUILD)/mbuddy

$(BUILD)/heuristics/%.o: PART_CFLAGS += -Iheuristics

$(LIBHEUR): $(HEUR_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# --as-needed: only the libraries mbuddy calls into are loaded at start;
# libcurl, which the controld commands dlopen() (ctl_client.c), is not one.
$(MBUDDY): $(HEUR_CLI_OBJS) $(LIBHEUR) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -Wl,--as-needed -o $@ $(HEUR_CLI_OBJS) $(LIBHEUR) $(LIBMB) $(MBUDDY_LIBS) $(LIBMB_LIBS)

PROGRAMS += $(LIBHEUR) $(MBUDDY)

# ---- sharing and placement: benchmarks, shell tests, fuzzing ----
# Benchmark sizes (the issue's by default; smaller for a quick look, e.g.
# make bench-sharing-exact BENCH_VMS=100).
BENCH_VMS ?= 1000
BENCH_PAGES ?= 262144
BENCH_BIG_VMS ?= 10000
BENCH_BITS ?= 4
BENCH_SHARING := $(BUILD)/bench/bench_sharing

$(BUILD)/bench/bench_sharing.o: PART_CFLAGS += -Iheuristics

$(BENCH_SHARING): $(BUILD)/bench/bench_sharing.o $(LIBHEUR) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $< $(LIBHEUR) $(LIBMB) -lpthread -lm $(LIBMB_LIBS)

.PHONY: bench-sharing-real bench-sharing-exact bench-sharing-bloom \
	bench-sharing-bloom-big bench-pack bench-best-match check-heuristics
bench-sharing-real: $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) bench/bench_sharing_real.sh memtraces

bench-sharing-exact: $(BENCH_SHARING)
	@$(BENCH_SHARING) --mode exact --vms $(BENCH_VMS) --pages $(BENCH_PAGES)

bench-sharing-bloom: $(BENCH_SHARING)
	@$(BENCH_SHARING) --mode bloom --vms $(BENCH_VMS) --pages $(BENCH_PAGES) --bits $(BENCH_BITS)

bench-sharing-bloom-big: $(BENCH_SHARING)
	@$(BENCH_SHARING) --mode bloom --vms $(BENCH_BIG_VMS) --pages $(BENCH_PAGES) --bits $(BENCH_BITS)

bench-pack: $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) bench/bench_pack.sh memtraces

# best-match on six real traces of ~240,000 pages, captured once in QEMU
# guests (the rule is kmod/build.mk's, beside `make memtraces`).
LARGE_TRACES := $(BUILD)/bench/large-traces

bench-best-match: $(MBUDDY) $(LARGE_TRACES)/.captured
	@MBUDDY=$(abspath $(MBUDDY)) bench/bench_best_match.sh $(LARGE_TRACES)

BENCHES += bench-sharing-real bench-sharing-exact bench-sharing-bloom \
	   bench-sharing-bloom-big bench-pack bench-best-match

# Shell tests of mbuddy sharing / best-match / pack.
check-heuristics: $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) tests/heuristics/run.sh

CHECKS += check-heuristics

# The scenario parser's fuzz target needs the heuristics library and jansson.
FUZZ_SRCS_scenario = $(LIBMB_SRCS) $(HEUR_LIB_SRCS)
FUZZ_LIBS_scenario = -ljansson -lpthread

# ---- balance-sim: the memory-balancing simulator (docs/balancing.md) ----
# sim_load.c reads .xz page traces through liblzma; everything that links
# the heuristics sources directly needs it too.
MBUDDY_LIBS += -llzma
UNIT_TEST_LIBS += -llzma
FUZZ_LIBS_scenario += -llzma
# The .dat and page-trace readers' fuzz targets link the readers (and the
# .dat one the simulators) without the file loader.
FUZZ_SRCS_simdat = heuristics/sim_input.c heuristics/synth.c heuristics/sim.c \
	heuristics/sim_faithful.c heuristics/lru.c heuristics/mrc.c \
	heuristics/balance.c $(LIBMB_SRCS)
FUZZ_LIBS_simdat = -lm
FUZZ_SRCS_pagetrace = heuristics/sim_input.c heuristics/synth.c $(LIBMB_SRCS)
FUZZ_LIBS_pagetrace = -lm

# Speed of the O(1) LRU and of the stack-distance curves against seed-style
# list versions, measured in the same run (ratios, never pass/fail).
BENCH_BALANCE_SIM := $(BUILD)/bench/bench_balance_sim
BENCH_SIM_TRACE ?= $(wildcard memtraces/lackey/*.pages.xz)

$(BUILD)/bench/bench_balance_sim.o: PART_CFLAGS += -Iheuristics

$(BENCH_BALANCE_SIM): $(BUILD)/bench/bench_balance_sim.o $(LIBHEUR) $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $< $(LIBHEUR) $(LIBMB) -llzma -lpthread -lm $(LIBMB_LIBS)

.PHONY: bench-balance-sim check-balance-sim validate-balance-sim
bench-balance-sim: $(BENCH_BALANCE_SIM)
	@$(BENCH_BALANCE_SIM) $(BENCH_SIM_TRACE)

BENCHES += bench-balance-sim

# The CLI on the seed's files, the real traces (cut short) and synthetic
# phases, in seconds; the full runs on every real trace are
# validate-balance-sim (minutes, not part of make check).
check-balance-sim: $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) tests/heuristics/balance_sim.sh

validate-balance-sim: $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) tests/heuristics/balance_sim_validate.sh

CHECKS += check-balance-sim

# ---- hotspots: Sandpiper's replay (docs/hotspots.md) ----
# The recordings of memtraces/hotspots/ replayed through the real binary;
# make memtraces-hotspots records them again (tests/libvirt/sandpiper.sh,
# real guests, about four minutes).
.PHONY: check-hotspots memtraces-hotspots
check-hotspots: $(MBUDDY)
	@MBUDDY=$(abspath $(MBUDDY)) tests/heuristics/hotspots.sh

memtraces-hotspots: $(E2E_DEPS)
	@BUILD=$(BUILD) tests/libvirt/sandpiper.sh --record memtraces/hotspots

CHECKS += check-hotspots

FUZZ_SRCS_hotspot_replay = $(LIBMB_SRCS) $(HEUR_LIB_SRCS)
FUZZ_LIBS_hotspot_replay = -ljansson -lpthread -llzma
