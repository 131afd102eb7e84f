# bench_lib.sh: helpers the benchmark scripts source.

# best command...: the best wall time of 5 runs of the command, in seconds
# (its output discarded). The clock is bash's $EPOCHREALTIME, read without
# starting a process: timing with `date` would add the start of a `date`
# process (about 1 ms here) to every measurement, a tenth of a run of
# `mbuddy sharing` on the real traces.
best() {
	local b=-1 i s e t
	for i in 1 2 3 4 5; do
		s=${EPOCHREALTIME/[.,]/}; "$@" > /dev/null; e=${EPOCHREALTIME/[.,]/}
		t=$((e - s))
		if [ "$b" -lt 0 ] || [ "$t" -lt "$b" ]; then b=$t; fi
	done
	printf '%d.%06d\n' $((b / 1000000)) $((b % 1000000))
}
