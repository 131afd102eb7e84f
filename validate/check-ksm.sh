#!/bin/bash
# check-ksm.sh: the shortened KSM validation (`make check-ksm`, part of
# `make check`). First validate/test-ksmpredict.sh checks the prediction
# model on hand-made traces; then one configuration, two identical idle
# guests, measured as
# validate/validate-ksm.sh does; fails unless the prediction is within the
# bounds docs/accuracy.md states on its "check-ksm bounds:" line, which are
# the worst errors `make validate-ksm` measured, rounded up.
#
# KSM is host-wide: when other QEMU guests (or any process with mergeable
# memory) run at the same time and do not end within KSM_WAIT seconds
# (default 600), pages_sharing includes their merging; the run then says so
# and the actual figure is KSM's saving computed from our guests' own page
# tables (validate/ksm-pagemap.py), which equals pages_sharing on a quiet
# host. Needs root and KSM on the host.
#
# With HOSTD (mb-hostd; make check-ksm sets it) the guests' QEMUs are also
# traced from the host, and the prediction from those traces must be within
# +-HOSTD_KSM_BOUND % (default 1) of the same actual figure
# (tests/hostd/ksm-compare.py, docs/hostd.md).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
doc=$top/docs/accuracy.md
out=$top/build/validate/check
line=$(grep -m1 '^check-ksm bounds:' "$doc" 2>/dev/null) || {
	echo "check-ksm: FAIL: no 'check-ksm bounds:' line in $doc"; exit 1; }
bound() { echo "$line" | sed -n "s/.*$1 ±\([0-9.]*\) %.*/\1/p"; }
refined=$(bound refined) exact=$(bound exact) guest=$(bound "per guest") bloom=$(bound Bloom)
ram=$(bound "guest RAM")
[ -n "$refined" ] && [ -n "$exact" ] && [ -n "$guest" ] && [ -n "$bloom" ] && [ -n "$ram" ] || {
	echo "check-ksm: FAIL: cannot read the bounds from: $line"; exit 1; }
echo "check-ksm: two idle guests; bounds from docs/accuracy.md: refined ±$refined %, exact ±$exact %, Bloom ±$bloom %, guest RAM ±$ram %, per guest ±$guest %"
start=$(date +%s)
# The model first, on hand-made traces (no guest needed).
"$here/test-ksmpredict.sh" "${KSMPREDICT:-$BUILD/validate/ksmpredict}" "${MBUDDY:-$BUILD/mbuddy}" || {
	echo "check-ksm: FAIL: the prediction model is wrong on hand-made traces"; exit 1; }
if ! "$here/ksm-run.sh" -n 2 -l idle -w "${KSM_WAIT:-600}" "$out"; then
	echo "check-ksm: FAIL: the experiment did not complete (consoles in $out)"
	exit 1
fi
python3 "$here/ksm-report.py" table "$out/result.json" | sed -n 1,3p
python3 "$here/ksm-report.py" check --bound "$refined" --exact-bound "$exact" \
	--bloom-bound "$bloom" --guest-bound "$guest" --ram-bound "$ram" "$out/result.json"
rc=$?
# The same configuration predicted from mb-hostd's host-side traces
# (docs/hostd.md), next to the guest traces' prediction.
if [ -s "$out/predict-host.json" ]; then
	python3 "$top/tests/hostd/ksm-compare.py" --bound "${HOSTD_KSM_BOUND:-1}" "$out" || rc=1
fi
echo "check-ksm: $([ $rc = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $rc
