#!/bin/bash
# run-suites.sh TARGET...: run each make target as a test suite, keep going
# after a failure, and close with one "N passed, N failed" line.
set -u
passed=0 failed=0 failures=()
for target in "$@"; do
	echo "=== suite $target"
	start=$(date +%s)
	if ${MAKE:-make} --no-print-directory "$target"; then
		passed=$((passed + 1)); verdict=PASS
	else
		failed=$((failed + 1)); verdict=FAIL; failures+=("$target")
	fi
	echo "=== suite $target: $verdict ($(( $(date +%s) - start )) s)"
done
[ ${#failures[@]} -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
