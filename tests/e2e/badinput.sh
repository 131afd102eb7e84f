#!/bin/bash
# badinput.sh - every kind of bad upload gets the right status and a
# clear message, and leaves the store exactly as it was (same files, same
# bytes, same catalogue rows, no temporary files).
. "$(dirname "$0")/lib.sh"

DATA=$WORK/data
U=$(new_uuid)
U2=$(new_uuid)
TOK=tok-one-$RANDOM$RANDOM
TOK2=tok-two-$RANDOM$RANDOM
add_token "$U" "$TOK"
add_token "$U2" "$TOK2"
add_token admin "$ADMIN_TOKEN"
make_trace "$WORK/good.mbt" 4000 11 "$U" vm-one
make_trace "$WORK/big.mbt" 40000 12 "$U" vm-one
size=$(stat -c %s "$WORK/good.mbt")

start_controld "$DATA" --max-upload 100000 --legacy-port 0 || exit 1
check_eq "a good upload is stored (201)" 201 "$(put_trace "$U" "$WORK/good.mbt" "$TOK")"
before=$(store_snapshot "$DATA")

# expect WHAT STATUS MESSAGE-PART GOT-STATUS: check status, message, store.
expect() {
	local what=$1 want=$2 part=$3 got=$4 msg
	msg=$(jget "$WORK/body" 'j["error"]')
	check_eq "$what: status $want" "$want" "$got"
	check_contains "$what: message says '$part'" "$part" "$msg"
	check_eq "$what: store unchanged" "$before" "$(store_snapshot "$DATA")"
	check_eq "$what: no temporary file left" 0 "$(temp_files "$DATA")"
}

head -c $((size - 100)) "$WORK/good.mbt" > "$WORK/truncated.mbt"
expect "truncated body" 400 "needs" \
	"$(put_trace "$U" "$WORK/truncated.mbt" "$TOK")"
expect "truncated body sent chunked (no length)" 400 "truncated" \
	"$(put_trace "$U" "$WORK/truncated.mbt" "$TOK" -H 'Transfer-Encoding: chunked')"

{ printf 'X'; tail -c +2 "$WORK/good.mbt"; } > "$WORK/magic.mbt"
expect "wrong magic" 400 "byte 0" "$(put_trace "$U" "$WORK/magic.mbt" "$TOK")"

cp "$WORK/good.mbt" "$WORK/corrupt.mbt"
printf '\x5a' | dd of="$WORK/corrupt.mbt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect "corrupt byte in the digests" 400 "checksum mismatch" \
	"$(put_trace "$U" "$WORK/corrupt.mbt" "$TOK")"

expect "oversized body (Content-Length over --max-upload)" 413 "over the limit" \
	"$(put_trace "$U" "$WORK/big.mbt" "$TOK")"
expect "oversized body sent chunked" 413 "over the limit" \
	"$(put_trace "$U" "$WORK/big.mbt" "$TOK" -H 'Transfer-Encoding: chunked')"

expect "uuid in the URL differs from the trace header" 409 "trace header is for vm $U" \
	"$(put_trace "$U2" "$WORK/good.mbt" "$TOK2")"

expect "'..' as the uuid" 400 "is not a vm uuid" \
	"$(put_trace .. "$WORK/good.mbt" "$TOK" --path-as-is)"
expect "'/' inside the uuid" 400 "is not a vm uuid" \
	"$(put_trace "${U:0:8}/${U:9}" "$WORK/good.mbt" "$TOK")"
expect "'..' inside the uuid" 400 "is not a vm uuid" \
	"$(put_trace "../../${U:6}" "$WORK/good.mbt" "$TOK" --path-as-is)"
expect "escaped '/' (%2F) inside the uuid" 400 "is not a vm uuid" \
	"$(put_trace "${U:0:8}%2F${U:9}" "$WORK/good.mbt" "$TOK")"

expect "no token" 401 "Authorization: Bearer" \
	"$(curl -s -o "$WORK/body" -w '%{http_code}' -X PUT --data-binary @"$WORK/good.mbt" "$CD_URL/v1/vms/$U/traces")"
expect "unknown token" 401 "unknown token" \
	"$(put_trace "$U" "$WORK/good.mbt" not-a-real-token)"
expect "another VM's token" 403 "may not upload traces for this vm" \
	"$(put_trace "$U" "$WORK/good.mbt" "$TOK2")"
expect "a VM token reading the store" 403 "admin" \
	"$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" "$CD_URL/v1/vms")"
expect "bad statistics header" 400 "X-MB-MemTotal-KiB" \
	"$(put_trace "$U" "$WORK/good.mbt" "$TOK" -H 'X-MB-MemTotal-KiB: lots')"
expect "unknown route" 404 "no such resource" \
	"$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "$CD_URL/v2/everything")"
expect "unknown version" 404 "has no version 7" \
	"$(admin_get "/v1/vms/$U/traces/7" "$WORK/body")"

# The legacy listener: garbage instead of decimal digests.
reply=$(python3 - "$CD_LEGACY_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"1234\n5678\nthis is not a digest\n")
s.shutdown(socket.SHUT_WR)
print(s.recv(4096).decode().strip())
PY
)
check_contains "legacy garbage: answered with the failing line" "line 3" "$reply"
check_eq "legacy garbage: store unchanged" "$before" "$(store_snapshot "$DATA")"
check_contains "legacy garbage: logged with the reason" "legacy upload from 127.0.0.1" "$(cat "$CD_LOG")"

check_eq "after all that, a good upload still works (201)" 201 \
	"$(put_trace "$U" "$WORK/good.mbt" "$TOK")"
check_eq "... as version 2" 2 "$(jget "$WORK/body" 'j["version"]')"
admin_get /metrics "$WORK/metrics" >/dev/null
check_contains "/metrics counts the 400 answers" 'mb_controld_errors_total{status="400"} 9' "$(cat "$WORK/metrics")"

# SIGHUP reloads the tokens file; a broken file keeps the old tokens.
NEW=tok-new-$RANDOM$RANDOM
sed -i "s/ $TOK\$/ $NEW/" "$WORK/tokens"
kill -HUP "$CD_PID"; sleep 0.3
check_eq "after SIGHUP the replaced token is unknown (401)" 401 "$(put_trace "$U" "$WORK/good.mbt" "$TOK")"
check_eq "after SIGHUP the new token works (201)" 201 "$(put_trace "$U" "$WORK/good.mbt" "$NEW")"
cp "$WORK/tokens" "$WORK/tokens.good"
echo "garbage-line" >> "$WORK/tokens"
kill -HUP "$CD_PID"; sleep 0.3
check_contains "a broken tokens file is reported with its line" "tokens:4: no token after 'garbage-line' (keeping the previous tokens)" "$(cat "$CD_LOG")"
check_eq "... and the previous tokens stay in force" 201 "$(put_trace "$U" "$WORK/good.mbt" "$NEW")"
stop_controld TERM
finish
