#!/bin/bash
# run-fuzz.sh NAME...: run each libFuzzer target build/fuzz/fuzz_NAME for
# $FUZZ_SECONDS seconds (two at a time) on a copy of its seed corpus
# tests/fuzz/corpus/NAME. A crash, leak or sanitizer report fails the run;
# the crashing input is kept in build/fuzz/artifacts/.
set -u
secs=${FUZZ_SECONDS:-60}
mkdir -p build/fuzz/artifacts
run_one() {
	local name=$1 work=build/fuzz/work-$1
	rm -rf "$work"; mkdir -p "$work"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	if build/fuzz/fuzz_"$name" -max_total_time="$secs" -max_len=1100000 -rss_limit_mb=2048 \
		-timeout=20 -artifact_prefix=build/fuzz/artifacts/"$name"- -print_final_stats=1 \
		"$work" > build/fuzz/"$name".log 2>&1; then
		echo "fuzz $name: PASS ($(grep -o 'stat::number_of_executed_units: *[0-9]*' build/fuzz/$name.log | grep -o '[0-9]*$') runs in ${secs} s)"
		return 0
	fi
	echo "fuzz $name: FAIL"; tail -40 build/fuzz/"$name".log
	return 1
}
passed=0 failed=0 pids=() names=()
for name in "$@"; do
	run_one "$name" > build/fuzz/"$name".verdict &
	pids+=($!); names+=("$name")
	if [ ${#pids[@]} -ge 2 ]; then
		wait "${pids[0]}" && passed=$((passed + 1)) || failed=$((failed + 1))
		cat build/fuzz/"${names[0]}".verdict; pids=("${pids[@]:1}"); names=("${names[@]:1}")
	fi
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" && passed=$((passed + 1)) || failed=$((failed + 1))
	cat build/fuzz/"${names[$i]}".verdict
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
