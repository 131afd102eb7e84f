#!/bin/bash
# legacy.sh - the old raw TCP upload (--legacy-port): a client that
# connects, writes one decimal digest per line and closes, exactly as the
# old guest uploader does, gets each trace stored as the next version of
# one VM; the stored .mbt exports back to the same text; the VM is named
# by --legacy-vm or, without it, by the peer address.
. "$(dirname "$0")/lib.sh"

add_token admin "$ADMIN_TOKEN"
# old_client PORT FILE: send FILE and close, like the old uploader.
old_client() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)
print(s.recv(4096).decode().strip())
PY
}
for i in 1 2; do
	awk -v s="$i" 'BEGIN { srand(s); for (k = 0; k < 3000; k++)
		printf "%u\n", int(rand() * 4294967295) }' > "$WORK/VM1.txt$i"
done

start_controld "$WORK/data" --legacy-port 0 --legacy-vm VM1 || exit 1
r1=$(old_client "$CD_LEGACY_PORT" "$WORK/VM1.txt1")
r2=$(old_client "$CD_LEGACY_PORT" "$WORK/VM1.txt2")
uuid=$(echo "$r1" | awk '{ print $2 }')
check_contains "first legacy upload is stored as version 1" "ok $uuid 1" "$r1"
check_contains "second legacy upload is version 2 of the same VM" "ok $uuid 2" "$r2"
admin_get /v1/vms "$WORK/vms.json" >/dev/null
check_eq "the VM is named by --legacy-vm" VM1 "$(jget "$WORK/vms.json" 'j["vms"][0]["name"]')"
check_eq "its versions are marked as legacy uploads" legacy \
	"$(jget "$WORK/vms.json" 'j["vms"][0]["latest"]["source"]')"
for i in 1 2; do
	"$MBUDDY" trace export "$WORK/data/vms/$uuid/$i.mbt" "$WORK/back$i.txt" 2>/dev/null
	if cmp -s "$WORK/back$i.txt" "$WORK/VM1.txt$i"; then
		pass "version $i exports back to the digests that were sent"
	else
		fail "version $i exports back to the sent digests" "identical text" "$(cmp "$WORK/back$i.txt" "$WORK/VM1.txt$i" 2>&1)"
	fi
done
stop_controld TERM

start_controld "$WORK/data2" --legacy-port 0 || exit 1
r=$(old_client "$CD_LEGACY_PORT" "$WORK/VM1.txt1")
admin_get /v1/vms "$WORK/vms.json" >/dev/null
check_contains "without --legacy-vm the upload is stored" "ok " "$r"
check_eq "... under a VM named by the peer address" legacy-127.0.0.1 \
	"$(jget "$WORK/vms.json" 'j["vms"][0]["name"]')"
admin_get /metrics "$WORK/metrics" >/dev/null
check_contains "/metrics counts legacy uploads" 'mb_controld_uploads_total{listener="legacy"} 1' "$(cat "$WORK/metrics")"
stop_controld TERM
finish
