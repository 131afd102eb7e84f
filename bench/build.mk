# bench/: benchmarks of the foundation (digests, trace tools). Other parts
# add their own to BENCHES.
BENCH_DIGEST := $(BUILD)/bench/bench_digest
BENCH_DIGEST_MIB ?= 512

$(BUILD)/bench/bench_digest: $(BUILD)/bench/bench_digest.o $(LIBMB)
	$(CC) $(MB_LDFLAGS) -o $@ $< $(LIBMB) $(LIBMB_LIBS)

.PHONY: bench-digest bench-trace-tools
bench-digest: $(BENCH_DIGEST)
	@$(BENCH_DIGEST) $(BENCH_DIGEST_MIB) 3

bench-trace-tools: $(MBUDDY)
	@bench/trace_tools.sh $(MBUDDY)

BENCHES += bench-digest bench-trace-tools
