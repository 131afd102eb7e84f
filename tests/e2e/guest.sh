#!/bin/bash
# guest.sh - mb-guestd inside real guests: two QEMU TCG guests boot
# Debian's kernel with memtrace.ko and mb-guestd (plus its shared-library
# closure) in a busybox initramfs (tests/guest/mkinitrd.sh). Each runs
# mb-guestd --once, which loads the module, scans, and uploads through
# QEMU user networking to mb-controld on the host (10.0.2.2 from inside,
# the host's 127.0.0.1). Checks: both uploads succeed, each stored trace
# parses, its page count equals what the guest's module reported
# (/sys/class/misc/memtrace/last_pages), both VMs are in the catalogue
# under their SMBIOS uuids and hostnames, with the guest's MemTotal.
. "$(dirname "$0")/lib.sh"

MKINITRD=$ROOT/tests/guest/mkinitrd.sh
BOOT=$ROOT/tests/guest/boot.sh
KO=$ROOT/kmod/memtrace.ko
for need in "$MKINITRD" "$BOOT"; do
	[ -x "$need" ] || { fail "the guest test bed is present" "$need" "missing"; finish; }
done
[ -f "$KO" ] || make -C "$ROOT" --no-print-directory kmod >/dev/null 2>&1
[ -f "$KO" ] || make -C "$ROOT/kmod" --no-print-directory >/dev/null 2>&1
[ -f "$KO" ] || { fail "memtrace.ko is built (make kmod)" "$KO" "missing"; finish; }
command -v qemu-system-x86_64 >/dev/null || { fail "QEMU is installed" qemu-system-x86_64 missing; finish; }

G1=6d62756c-6775-4000-8000-0000000000a1
G2=6d62756c-6775-4000-8000-0000000000a2
mkdir -p "$WORK/img/tokens"
add_token admin "$ADMIN_TOKEN"
for g in "$G1" "$G2"; do
	t=tok-guest-$RANDOM$RANDOM
	add_token "$g" "$t"
	echo "$t" > "$WORK/img/tokens/$g"
done
cat > "$WORK/img/test.sh" <<'T'
#!/bin/sh
# Runs inside the guest. mbport= comes from the kernel command line.
uuid=$(cat /sys/class/dmi/id/product_uuid | tr 'A-F' 'a-f')
echo "MB-UUID $uuid"
/bin/mb-guestd --once --server "http://10.0.2.2:$mbport" --module /memtrace.ko \
	--token-file "/tokens/$uuid" --retries 3 --retry-max-delay 2 --verbose
echo "MB-GUESTD-EXIT $?"
echo "MB-PAGES $(cat /sys/class/misc/memtrace/last_pages 2>/dev/null)"
T
chmod +x "$WORK/img/test.sh"
"$MKINITRD" "$WORK/initrd.gz" "$KO:/memtrace.ko" "$GUESTD:/bin/mb-guestd" \
	"$WORK/img/test.sh:/test.sh" "$WORK/img/tokens:/tokens" > "$WORK/mkinitrd.log" 2>&1 ||
	{ fail "the initramfs is built" "mkinitrd.sh exits 0" "$(tail -3 "$WORK/mkinitrd.log")"; finish; }

# QEMU's user network takes the guest's connections to 10.0.2.2 to the
# host's loopback, so controld listens on 127.0.0.1 only.
start_controld "$WORK/data" --listen 127.0.0.1 || exit 1
bpids=()
for n in 1 2; do
	g=G$n
	"$BOOT" -m 256 -u "${!g}" -t 240 -a "mbhost=guest$n mbport=$CD_PORT" \
		"$WORK/initrd.gz" > "$WORK/guest$n.log" 2>&1 &
	bpids+=($!)
	STARTED_PIDS+=($!)
done
for p in "${bpids[@]}"; do wait "$p"; done

admin_get /v1/vms "$WORK/vms.json" >/dev/null
for n in 1 2; do
	g=G$n
	u=${!g}
	log=$WORK/guest$n.log
	if ! grep -q GUEST-BOOTED "$log"; then
		fail "guest $n boots" "GUEST-BOOTED on its console" "$(tail -5 "$log")"
		continue
	fi
	check_eq "guest $n sees its SMBIOS uuid" "$u" "$(sed -n 's/^MB-UUID \([0-9a-f-]*\).*/\1/p' "$log")"
	check_eq "guest $n: mb-guestd --once exits 0" 0 "$(sed -n 's/^MB-GUESTD-EXIT \([0-9]*\).*/\1/p' "$log")"
	pages=$(sed -n 's/^MB-PAGES \([0-9]*\).*/\1/p' "$log")
	if [ -n "$pages" ] && [ "$pages" -gt 0 ]; then
		pass "guest $n's module reports its scan ($pages pages)"
	else
		fail "guest $n's module reports its scan" "last_pages > 0" "'$pages'"
	fi
	f=$WORK/data/vms/$u/1.mbt
	if "$MBUDDY" trace info --json "$f" > "$WORK/info$n.json" 2>"$WORK/info$n.err"; then
		pass "guest $n's stored trace parses"
	else
		fail "guest $n's stored trace parses" "a valid trace at $f" "$(cat "$WORK/info$n.err")"
	fi
	check_eq "guest $n: stored page count equals the module's last_pages" \
		"$pages" "$(jget "$WORK/info$n.json" 'j["pages"]')"
	check_eq "guest $n is catalogued under its hostname" "guest$n" \
		"$(jget "$WORK/vms.json" '[v["name"] for v in j["vms"] if v["uuid"] == "'"$u"'"][0]')"
	mt=$(jget "$WORK/vms.json" '[v["latest"]["stats"]["mem_total_kb"] for v in j["vms"] if v["uuid"] == "'"$u"'"][0]')
	if [ -n "$mt" ] && [ "$mt" -gt 100000 ] && [ "$mt" -le 262144 ]; then
		pass "guest $n's MemTotal ($mt KiB of a 256 MiB guest) is catalogued"
	else
		fail "guest $n's MemTotal is catalogued" "100000..262144 KiB" "'$mt'"
	fi
	bad=$(grep -E 'BUG:|WARNING:|Oops|Call Trace' "$log")
	check_eq "guest $n's kernel reported no errors" "" "$bad"
done
check_eq "two VMs in the catalogue" 2 "$(jget "$WORK/vms.json" 'len(j["vms"])')"
stop_controld TERM
finish
