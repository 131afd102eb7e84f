#!/bin/bash
# run-unit.sh BIN...: run cmocka test binaries, then print the total.
set -u
passed=0 failed=0
for bin in "$@"; do
	out=$("$bin" 2>&1); status=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	if [ "$status" -ne 0 ] && [ -z "$f" ]; then f=1; echo "$bin: exited with status $status"; fi
	failed=$((failed + ${f:-0}))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
