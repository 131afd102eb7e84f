#!/bin/bash
# run.sh TEST...: run tests/e2e/TEST.sh one after another and close with
# the total "e2e: N passed, N failed" line (counting checks).
set -u
dir=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 broken=()
for t in "$@"; do
	echo "--- e2e $t"
	out=$(bash "$dir/$t.sh" 2>&1); status=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E "^$t: [0-9]+ passed, [0-9]+ failed" | tail -1)
	p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		failed=$((failed + 1)); broken+=("$t")
		echo "e2e $t: exited with status $status before its summary"
	fi
done
[ ${#broken[@]} -eq 0 ] || echo "e2e: tests that stopped early: ${broken[*]}"
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
