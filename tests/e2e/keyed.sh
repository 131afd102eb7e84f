#!/bin/bash
# keyed.sh - keyed digests end to end in real guests (docs/security.md):
# two QEMU TCG guests of one tenant boot Debian's kernel with memtrace.ko
# and mb-guestd (tests/guest/ test bed), each holding the same 2 MiB of
# known pages (a file of the initramfs, in its page cache). Each runs
# mb-guestd --once (a plain trace, version 1), then mb-guestd --once
# --keyed, which fetches the tenant's key from mb-controld on the host
# and uploads a keyed trace (version 2), then a plain one again (3).
#
# Checks: both keyed traces carry the tenant's key id (DATADIR/keys);
# both hold the keyed digests of every known page (computed on the host
# by tests/vectors/digests.py under the tenant's seed) and none of their
# plain digests, the plain traces the reverse; the sharing of the keyed
# pair is the sharing of the plain pairs before and after it (within
# what the guests changed between their plain scans, measured), the same
# in mbuddy and in GET /v1/sharing; and the seed is in no console, no log
# and no trace.
. "$(dirname "$0")/lib.sh"

MKINITRD=$ROOT/tests/guest/mkinitrd.sh
BOOT=$ROOT/tests/guest/boot.sh
KO=${MEMTRACE_KO:-$ROOT/kmod/memtrace.ko}
for need in "$MKINITRD" "$BOOT"; do
	[ -x "$need" ] || { fail "the guest test bed is present" "$need" "missing"; finish; }
done
[ -f "$KO" ] || make -C "$ROOT" --no-print-directory kmod >/dev/null 2>&1
[ -f "$KO" ] || { fail "memtrace.ko is built (make kmod)" "$KO" "missing"; finish; }
command -v qemu-system-x86_64 >/dev/null || { fail "QEMU is installed" qemu-system-x86_64 missing; finish; }

G1=6d62756c-6b79-4000-8000-0000000000b1
G2=6d62756c-6b79-4000-8000-0000000000b2
mkdir -p "$WORK/img/tokens"
add_token admin "$ADMIN_TOKEN"
for g in "$G1" "$G2"; do
	t=tok-keyed-$RANDOM$RANDOM
	add_token "$g" "$t" acme
	echo "$t" > "$WORK/img/tokens/$g"
done
# The known pages: 512 pages of a fixed pseudo-random sequence.
python3 -c '
import struct, sys
sys.path.insert(0, sys.argv[2])
from digests import splitmix64
g = splitmix64(0x6b6579)
open(sys.argv[1], "wb").write(b"".join(struct.pack("<Q", next(g)) for _ in range(512 * 512)))
' "$WORK/img/known.bin" "$ROOT/tests/vectors"
cat > "$WORK/img/test.sh" <<'T'
#!/bin/sh
# Runs inside the guest. mbport= comes from the kernel command line.
uuid=$(cat /sys/class/dmi/id/product_uuid | tr 'A-F' 'a-f')
echo "MB-UUID $uuid"
cat /known.bin > /dev/null
# Plain traces in xxh64 too, so plain and keyed digests of a page differ
# only by the key (the keyed scans are xxh64 whatever algo says).
insmod /memtrace.ko algo=xxh64
for mode in plain keyed plain2; do
	flag=; [ $mode = keyed ] && flag=--keyed
	/bin/mb-guestd --once $flag --server "http://10.0.2.2:$mbport" --module /memtrace.ko \
		--token-file "/tokens/$uuid" --retries 3 --retry-max-delay 2 --verbose
	echo "MB-$mode-EXIT $?"
done
echo "MB-KEY-ID $(cat /sys/class/misc/memtrace/last_key_id 2>/dev/null)"
T
chmod +x "$WORK/img/test.sh"
"$MKINITRD" "$WORK/initrd.gz" "$KO:/memtrace.ko" "$GUESTD:/bin/mb-guestd" \
	"$WORK/img/test.sh:/test.sh" "$WORK/img/tokens:/tokens" "$WORK/img/known.bin:/known.bin" \
	> "$WORK/mkinitrd.log" 2>&1 ||
	{ fail "the initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }

start_controld "$WORK/data" --listen 127.0.0.1 --verbose || exit 1
bpids=()
for n in 1 2; do
	g=G$n
	"$BOOT" -m 256 -c max -u "${!g}" -t 240 -a "mbhost=keyed$n mbport=$CD_PORT" \
		"$WORK/initrd.gz" > "$WORK/guest$n.log" 2>&1 &
	bpids+=($!)
	STARTED_PIDS+=($!)
done
for p in "${bpids[@]}"; do wait "$p"; done

KEYS=$WORK/data/keys
check_eq "controld made one key, for tenant acme" 1 "$(grep -c ' tenant=acme$' "$KEYS" 2>/dev/null)"
KEY_ID=$(awk '$3 == "tenant=acme" { print $1 }' "$KEYS")
SEED=$(awk '$3 == "tenant=acme" { print $2 }' "$KEYS")
python3 "$ROOT/tests/vectors/digests.py" --pages "$WORK/img/known.bin" "$SEED" > "$WORK/known.txt"
check_eq "the reference digests of the 512 known pages" 512 "$(wc -l < "$WORK/known.txt")"

# known TRACE: "PLAIN KEYED" - how many of the known pages' plain and
# keyed digests the trace holds (used pages).
known() {
	"$MBUDDY" trace dump --used "$1" 2>/dev/null | python3 -c '
import sys
plain, keyed = set(), set()
for line in open(sys.argv[1]):
    i, p, k = line.split()
    plain.add(int(p, 16)); keyed.add(int(k, 16))
seen = set(int(line.split()[1], 16) for line in sys.stdin if not line.startswith("#"))
print(len(plain & seen), len(keyed & seen))' "$WORK/known.txt"
}
for n in 1 2; do
	g=G$n
	u=${!g}
	log=$WORK/guest$n.log
	tr -d '\r' < "$log" > "$log.txt"
	if ! grep -q GUEST-BOOTED "$log.txt"; then
		fail "guest $n boots" "GUEST-BOOTED on its console" "$(tail -5 "$log.txt")"
		continue
	fi
	check_eq "guest $n: mb-guestd --once (plain) exits 0, twice" "0 0" \
		"$(sed -n 's/^MB-plain2*-EXIT \([0-9]*\).*/\1/p' "$log.txt" | tr '\n' ' ' | sed 's/ $//')"
	check_eq "guest $n: mb-guestd --once --keyed exits 0" 0 "$(sed -n 's/^MB-keyed-EXIT \([0-9]*\).*/\1/p' "$log.txt")"
	check_eq "guest $n: the module's last scan was plain again (a key lives in its open file only)" 00000000 \
		"$(sed -n 's/^MB-KEY-ID \([0-9a-f]*\).*/\1/p' "$log.txt")"
	"$MBUDDY" trace info --json "$WORK/data/vms/$u/1.mbt" > "$WORK/info$n-plain.json" 2>&1
	"$MBUDDY" trace info --json "$WORK/data/vms/$u/2.mbt" > "$WORK/info$n-keyed.json" 2>&1
	check_eq "guest $n: version 1 is a plain trace, xxh64" "None [] xxh64" \
		"$(jget "$WORK/info$n-plain.json" '"%s %s %s" % (j["key_id"], j["flags"], j["algorithm"])')"
	check_eq "guest $n: version 2 is keyed with acme's key, xxh64" "$KEY_ID ['keyed'] xxh64" \
		"$(jget "$WORK/info$n-keyed.json" '"%s %s %s" % (j["key_id"], j["flags"], j["algorithm"])')"
	check_eq "guest $n's keyed trace: the keyed digests of all 512 known pages, none of their plain ones" "0 512" \
		"$(known "$WORK/data/vms/$u/2.mbt")"
	check_eq "guest $n's plain trace: the plain digests of all 512 known pages, none of their keyed ones" "512 0" \
		"$(known "$WORK/data/vms/$u/1.mbt")"
	check_eq "guest $n's kernel reported no errors" "" "$(grep -E 'BUG:|WARNING:|Oops|Call Trace' "$log.txt")"
done

# The sharing of the pair, plain (versions 1 and 3) and keyed (2). The
# guests run between their scans (mb-guestd itself, its upload, the page
# cache), so the pairs can differ by the pages that changed between a
# guest's two plain scans, which the keyed one lies between: measured
# with mbuddy trace diff (pages changed, freed, allocated, appeared).
common() {
	"$MBUDDY" sharing --json "$WORK/data/vms/$G1/$1.mbt" "$WORK/data/vms/$G2/$1.mbt" > "$WORK/share-$1.json" &&
		jget "$WORK/share-$1.json" 'j["common"][0][1]'
}
before=$(common 1)
keyed=$(common 2)
after=$(common 3)
drift=0
for g in "$G1" "$G2"; do
	"$MBUDDY" trace diff --json "$WORK/data/vms/$g/1.mbt" "$WORK/data/vms/$g/3.mbt" > "$WORK/diff.json" 2>/dev/null
	d=$(jget "$WORK/diff.json" 'j["changed_pages"] + j["freed_pages"] + j["allocated_pages"] + j["only_old_pfns"] + j["only_new_pfns"]')
	drift=$((drift + ${d:-0}))
done
python3 - "$before" "$keyed" "$after" "$drift" <<'PY' && pass "the keyed pair shares what the plain pairs share: $keyed distinct digests against $before before and $after after, within the $drift pages the guests changed between their plain scans" || fail "the keyed pair shares what the plain pairs share" "$before and $after within $drift pages" "$keyed"
import sys
before, keyed, after, drift = (int(x) for x in sys.argv[1:])
sys.exit(0 if before > 1000 and abs(before - keyed) <= drift and abs(after - keyed) <= drift else 1)
PY
# The keyed traces again as the latest versions, for controld's view.
for g in "$G1" "$G2"; do
	put_trace "$g" "$WORK/data/vms/$g/2.mbt" "$ADMIN_TOKEN" > /dev/null
done
check_eq "GET /v1/sharing (the keyed traces latest)" 200 "$(admin_get /v1/sharing "$WORK/sharing.json")"
check_eq "... compares the two keyed traces, as mbuddy sharing does" "$keyed" \
	"$(jget "$WORK/sharing.json" 'j["common"][0][1]')"
leaks=$(grep -il "$SEED" "$WORK"/guest*.log.txt "$CD_LOG" "$WORK/sharing.json" "$WORK/data/vms"/*/* 2>/dev/null | wc -l)
check_eq "the seed is in no guest console (mb-guestd --verbose), no controld log (--verbose) and no stored trace" 0 "$leaks"
stop_controld TERM
finish
