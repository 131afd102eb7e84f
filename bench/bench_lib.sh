# bench_lib.sh: helpers the benchmark scripts source.

# best command...: the best wall time of 5 runs of the command, in seconds
# (its output discarded).
best() {
	local b=999999 i s e
	for i in 1 2 3 4 5; do
		s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
		b=$(python3 -c "print(min($b, $e - $s))")
	done
	echo "$b"
}
