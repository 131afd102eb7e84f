#!/bin/bash
# validate.sh: the long runs of mb-hostd (make validate-hostd, about a
# quarter of an hour on a quiet host):
#   - the page equality of tests/hostd/equality.sh with four 512 MiB guests;
#   - KSM's real merging against the prediction from host-side traces, next
#     to the guest traces' one, for idle, shared and private guests, two and
#     three of each (validate/ksm-run.sh with HOSTD set), as a table
#     (tests/hostd/ksm-compare.py) into build/validate/hostd/.
# Needs root, KSM on the host, `make kmod`, ksmpredict, ksmload, mb-hostd.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
export BUILD HOSTD=${HOSTD:-$BUILD/mb-hostd}
export KSMPREDICT=${KSMPREDICT:-$BUILD/validate/ksmpredict} MBUDDY=${MBUDDY:-$BUILD/mbuddy}
out=$top/build/validate/hostd
mkdir -p "$out"
rc=0
"$here/equality.sh" -n 4 -m 512 | tee "$out/equality.txt" || rc=1
runs=()
for cfg in idle:2 idle:3 shared:2 shared:3 private:2 private:3; do
	load=${cfg%%:*} n=${cfg#*:}
	echo "validate-hostd: KSM, $n guests, $load"
	"$top/validate/ksm-run.sh" -n "$n" -l "$load" -w "${KSM_WAIT:-600}" "$out/$load-$n" \
		> "$out/$load-$n.log" 2>&1 || { echo "validate-hostd: FAIL: $load x$n (log $out/$load-$n.log)"; rc=1; continue; }
	runs+=("$out/$load-$n")
done
if [ ${#runs[@]} -gt 0 ]; then
	python3 "$here/ksm-compare.py" --bound "${HOSTD_KSM_BOUND:-1}" "${runs[@]}" > "$out/ksm.txt" || rc=1
	cat "$out/ksm.txt"
	python3 "$here/ksm-compare.py" --json "${runs[@]}" > "$out/ksm.json"
fi
echo "validate-hostd: $([ $rc = 0 ] && echo PASS || echo FAIL)"
exit $rc
