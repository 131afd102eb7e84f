#!/bin/bash
# hardening.sh - the data-safety findings of the attack runs against
# mb-controld (docs/security.md), each checked against the real daemon:
#   1. a second daemon on a data directory in use refuses to start, and
#      the first one's acknowledged versions stay as they were;
#   2. the databases are 0600 (their -wal and -shm too); a tokens file
#      or TLS key that every user can read is refused;
#   3. VM names: invalid UTF-8 (header or trace) is refused with 400 and
#      nothing stored; a newline in a URL or a name cannot forge a log
#      line; mbuddy status escapes terminal control sequences;
#   4. HTTP framing: two different Content-Length headers, Content-Length
#      with chunked, and a NUL byte in the path get 400; an unauthenticated
#      PUT that asks for "100 Continue" hears 401 before sending its body;
#      a chunked body over twice --max-upload gets 413;
#   5. one upload in flight per VM (429 for a second), and uploads reserve
#      their space on the disk before they start (507 at once).
. "$(dirname "$0")/lib.sh"

DATA=$WORK/data
U=$(new_uuid)
TOK=tok-hard-$RANDOM$RANDOM
add_token "$U" "$TOK"
add_token admin "$ADMIN_TOKEN"
make_trace "$WORK/t.mbt" 3000 5 "$U" vm-hard

# raw PORT: send stdin's Python bytes expression as one request and print
# the answer's status line and body ("000" when no answer comes in 3 s).
raw() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
s.sendall(eval(sys.argv[2]))
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
except (socket.timeout, ConnectionError):
    pass
head, _, body = data.partition(b"\r\n\r\n")
line = head.split(b"\r\n")[0].decode(errors="replace")
print((line.split(" ")[1] if line.startswith("HTTP/") else "000"), body.decode(errors="replace"))
PY
}

# ---- 1. one daemon per data directory ----
start_controld "$DATA" || exit 1
FIRST_PID=$CD_PID FIRST_URL=$CD_URL FIRST_LOG=$CD_LOG
check_eq "the first daemon stores version 1" 201 "$(put_trace "$U" "$WORK/t.mbt" "$TOK")"
snap=$(store_snapshot "$DATA")
CD_LOG=$WORK/second.log
"$CONTROLD" --datadir "$DATA" --tokens "$WORK/tokens" --port 0 \
	--port-file "$WORK/ports2" > "$CD_LOG" 2>&1 &
second=$!
STARTED_PIDS+=("$second")
for i in $(seq 1 40); do kill -0 "$second" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$second" 2>/dev/null; then
	fail "a second daemon on the same data directory exits" "exit status 1" "still running"
	kill -9 "$second"
else
	wait "$second"
	check_eq "a second daemon on the same data directory exits with status 1" 1 "$?"
fi
check_contains "... naming the directory and the holder's pid" \
	"data directory $DATA is in use by another mb-controld (pid $FIRST_PID" "$(cat "$CD_LOG")"
CD_URL=$FIRST_URL CD_LOG=$FIRST_LOG
check_eq "the first daemon stores version 2" 201 "$(put_trace "$U" "$WORK/t.mbt" "$TOK")"
check_eq "... as version 2" 2 "$(jget "$WORK/body" 'j["version"]')"
check_contains "version 1 is untouched" "$(echo "$snap" | head -2)" "$(store_snapshot "$DATA")"

# ---- 2. file modes ----
for f in catalogue.db catalogue.db-wal catalogue.db-shm control.db control.db-wal control.db-shm lock; do
	if [ -e "$DATA/$f" ]; then
		check_eq "$f is readable by its owner only" 600 "$(stat -c %a "$DATA/$f")"
	else
		fail "$f exists" "a file" "missing"
	fi
done
check_eq "trace files are readable by their owner only" 600 "$(stat -c %a "$DATA/vms/$U/1.mbt")"
stop_controld TERM

cp "$WORK/tokens" "$WORK/open-tokens"
chmod 644 "$WORK/open-tokens"
out=$("$CONTROLD" --datadir "$DATA" --tokens "$WORK/open-tokens" -n 2>&1); status=$?
check_eq "a world-readable tokens file is refused (exit 1)" 1 "$status"
check_contains "... saying why and how to fix it" \
	"tokens file $WORK/open-tokens is readable by every user (mode 0644): refusing it" "$out"
chmod 640 "$WORK/open-tokens"
out=$("$CONTROLD" --datadir "$DATA" --tokens "$WORK/open-tokens" -n 2>&1)
check_eq "a tokens file readable by its group (0640) is accepted" "mb-controld: configuration ok" "$out"
chgrp nogroup "$WORK/open-tokens"
out=$("$CONTROLD" --datadir "$DATA" --tokens "$WORK/open-tokens" -n 2>&1); status=$?
check_eq "a tokens file readable by a group the daemon is not in is accepted (exit 0)" 0 "$status"
check_contains "... with a warning naming the group and the fix" \
	"tokens file $WORK/open-tokens is readable by group $(getent group nogroup | cut -d: -f3), which this daemon is not in (mode 0640): chmod 0600 it" "$out"
chgrp "$(id -g)" "$WORK/open-tokens"
printf -- '-----BEGIN CERTIFICATE-----\n' > "$WORK/c.pem"
printf -- '-----BEGIN PRIVATE KEY-----\n' > "$WORK/k.pem"
chmod 644 "$WORK/k.pem"
out=$("$CONTROLD" --datadir "$DATA" --tokens "$WORK/tokens" --tls-cert "$WORK/c.pem" \
	--tls-key "$WORK/k.pem" -n 2>&1)
check_contains "a world-readable TLS key is refused" "TLS key $WORK/k.pem is readable by every user" "$out"
chmod 600 "$DATA/catalogue.db"
chmod 644 "$DATA/control.db"
start_controld "$DATA" || exit 1
check_eq "a database left 0644 is made 0600 at start" 600 "$(stat -c %a "$DATA/control.db")"
stop_controld TERM

# ---- 3. VM names ----
start_controld "$DATA" --max-upload 100000 --verbose || exit 1
snap=$(store_snapshot "$DATA")
code=$(put_trace "$U" "$WORK/t.mbt" "$TOK" -H $'X-MB-VM-Name: bad\xff\xfename')
check_eq "an X-MB-VM-Name that is not UTF-8 is refused (400)" 400 "$code"
check_contains "... saying so" "X-MB-VM-Name is not valid UTF-8" "$(jget "$WORK/body" 'j["error"]')"
check_eq "... and nothing is stored" "$snap" "$(store_snapshot "$DATA")"
make_trace "$WORK/bad-name.mbt" 3000 6 "$U" $'vm\xc3\x28-bad'
code=$(put_trace "$U" "$WORK/bad-name.mbt" "$TOK")
check_eq "a trace whose vm_name is not UTF-8 is refused (400)" 400 "$code"
check_contains "... saying so" "vm_name is not valid UTF-8" "$(jget "$WORK/body" 'j["error"]')"
check_eq "... and nothing is stored" "$snap" "$(store_snapshot "$DATA")"
check_eq "... and no temporary file is left" 0 "$(temp_files "$DATA")"

curl -s -o /dev/null -H "Authorization: Bearer $ADMIN_TOKEN" \
	"$CD_URL/v1/vms/x%0amb-controld:%20FORGED%20line"
put_trace "$U" "$WORK/t.mbt" "$TOK" -H $'X-MB-VM-Name: n\x1b[2Jame' >/dev/null
if grep -q '^mb-controld: FORGED' "$CD_LOG"; then
	fail "a newline in a URL does not start a log line" "one escaped line" "$(grep -n FORGED "$CD_LOG")"
else
	pass "a newline in a URL does not start a log line"
fi
check_contains "... it is logged escaped" 'GET /v1/vms/x\nmb-controld: FORGED line' "$(cat "$CD_LOG")"
make_trace "$WORK/esc.mbt" 3000 7 "$U" $'evil\e]0;owned\a\e[31m'
check_eq "a name with terminal escapes is stored (it is valid UTF-8)" 201 \
	"$(put_trace "$U" "$WORK/esc.mbt" "$TOK")"
echo "$ADMIN_TOKEN" > "$WORK/admin.token"
out=$("$MBUDDY" status --url "$CD_URL" --token-file "$WORK/admin.token" 2>&1)
case $out in
*$'\e'*) fail "mbuddy status prints no raw escape character" "escaped text" "$(printf '%s' "$out" | od -c | head -3)" ;;
*) pass "mbuddy status prints no raw escape character" ;;
esac
check_contains "... it shows the name escaped" 'evil\x1b]0;owned\x07' "$out"
out=$("$MBUDDY" trace info "$WORK/esc.mbt" 2>&1)
check_contains "mbuddy trace info escapes the name too" 'evil\x1b]0;owned\x07\x1b[31m' "$out"
out=$("$MBUDDY" status --url "$CD_URL" --token-file "$WORK/admin.token" --json 2>&1)
check_contains "... while --json keeps the exact name (JSON-escaped)" 'evil\u001B]0;owned\u0007\u001B[31m' "$out"
stop_controld TERM

# ---- 4. HTTP framing ----
start_controld "$DATA" --max-upload 100000 || exit 1
P=$CD_PORT
snap=$(store_snapshot "$DATA")
req="PUT /v1/vms/$U/traces HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer $TOK\\r\\n"
out=$(raw "$P" "b'${req}Content-Length: 10\\r\\nContent-Length: 20\\r\\n\\r\\n' + b'x' * 20")
check_eq "two different Content-Length headers: 400" \
	'400 {"error":"two different Content-Length headers"}' "$out"
out=$(raw "$P" "b'${req}Content-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nxxxxx\\r\\n0\\r\\n\\r\\n'")
check_eq "Content-Length beside Transfer-Encoding: 400" \
	'400 {"error":"both Content-Length and Transfer-Encoding"}' "$out"
out=$(raw "$P" "b'PUT /v1/vms/$U%00/traces HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer $TOK\\r\\nContent-Length: 0\\r\\n\\r\\n'")
check_eq "a NUL byte (%00) in the path: 400" '400 {"error":"the URL holds a NUL byte (%00)"}' "$out"
out=$(raw "$P" "b'GET /v1/vms/$U%00x HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer $ADMIN_TOKEN\\r\\n\\r\\n'")
check_contains "... also where the cut path would name a route" '400 {"error":"the URL holds a NUL byte' "$out"
out=$(raw "$P" "b'PUT /v1/vms/$U/traces HTTP/1.1\\r\\nHost: x\\r\\nExpect: 100-continue\\r\\nContent-Length: 50000\\r\\n\\r\\n'")
check_contains "an unauthenticated PUT asking for 100 Continue hears 401 at once" \
	'401 {"error":"upload traces for this vm needs' "$out"
out=$(raw "$P" "b'PUT /v1/vms/$U/traces HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer wrong-token-123\\r\\nExpect: 100-continue\\r\\nContent-Length: 50000\\r\\n\\r\\n'")
check_eq "... as does one with an unknown token" '401 {"error":"unknown token"}' "$out"
make_trace "$WORK/big3.mbt" 80000 10 "$U" vm-hard
code=$(put_trace "$U" "$WORK/big3.mbt" "$TOK" -H 'Transfer-Encoding: chunked')
check_eq "a chunked body of 3 x --max-upload gets 413" 413 "$code"
check_contains "... saying so" "trace is over the limit of 100000 bytes" "$(jget "$WORK/body" 'j["error"]')"
check_eq "the store is unchanged by all of that" "$snap" "$(store_snapshot "$DATA")"
check_eq "... and holds no temporary file" 0 "$(temp_files "$DATA")"
stop_controld TERM

# ---- 5. one upload in flight per VM; space reserved up front ----
start_controld "$DATA" --max-upload 100000000 || exit 1
make_trace "$WORK/big.mbt" 200000 8 "$U" vm-hard
curl -s -o "$WORK/slow.body" -w '%{http_code}' -X PUT --limit-rate 200K \
	-H "Authorization: Bearer $TOK" --data-binary @"$WORK/big.mbt" \
	"$CD_URL/v1/vms/$U/traces" > "$WORK/slow.code" &
slow=$!
for i in $(seq 1 50); do [ "$(temp_files "$DATA")" -gt 0 ] && break; sleep 0.05; done
code=$(put_trace "$U" "$WORK/t.mbt" "$TOK" -D "$WORK/headers")
check_eq "a second upload of a VM while one is in flight: 429" 429 "$code"
check_contains "... saying why" "has an upload in flight already" "$(jget "$WORK/body" 'j["error"]')"
check_contains "... and when to come back" "Retry-After: 10" "$(tr -d '\r' < "$WORK/headers")"
U2=$(new_uuid); TOK2=tok-other-$RANDOM$RANDOM
add_token "$U2" "$TOK2"
kill -HUP "$CD_PID"; sleep 0.3
make_trace "$WORK/t2.mbt" 3000 9 "$U2" vm-other
check_eq "another VM uploads meanwhile (201)" 201 "$(put_trace "$U2" "$WORK/t2.mbt" "$TOK2")"
wait "$slow"
check_eq "the upload in flight completes (201)" 201 "$(cat "$WORK/slow.code")"
check_eq "after it, the VM uploads again (201)" 201 "$(put_trace "$U" "$WORK/t.mbt" "$TOK")"
free=$(df -B1 --output=avail "$DATA" | tail -1)
code=$(python3 - "$CD_PORT" "$U" "$TOK" "$((free * 2))" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
s.sendall(("PUT /v1/vms/%s/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Expect: 100-continue\r\nContent-Length: %s\r\n\r\n" % (sys.argv[2], sys.argv[3], sys.argv[4])).encode())
print(s.recv(4096).decode().split("\r\n")[0])
PY
)
check_contains "an upload larger than the free space is refused before its body" "413" "$code"
stop_controld TERM
start_controld "$DATA" --max-upload 1099511627776 || exit 1
code=$(python3 - "$CD_PORT" "$U" "$TOK" "$((free * 2))" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3)
s.sendall(("PUT /v1/vms/%s/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Expect: 100-continue\r\nContent-Length: %s\r\n\r\n" % (sys.argv[2], sys.argv[3], sys.argv[4])).encode())
head, _, body = s.recv(4096).decode().partition("\r\n\r\n")
print(head.split("\r\n")[0], body)
PY
)
check_contains "an upload the disk has no room for gets 507 before its body" "HTTP/1.1 507" "$code"
check_contains "... naming the free space and the reason" "bytes free, 0 reserved by uploads in flight (No space left on device)" "$code"
check_eq "... and leaves no temporary file" 0 "$(temp_files "$DATA")"
# One VM's upload in flight holds its space: another VM's that would fit
# the disk alone (3/4 of it) but not what is left beside it gets 507
# naming the reservation.
out=$(python3 - "$CD_PORT" "$U" "$TOK" "$U2" "$TOK2" "$free" <<'PY'
import socket, sys
port, u, tok, u2, tok2, free = sys.argv[1:]
free = int(free)
def put(uuid, token, size):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.settimeout(3)
    s.sendall(("PUT /v1/vms/%s/traces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (uuid, token, size)).encode())
    return s, s.recv(4096).decode()
a, first = put(u, tok, free // 2)
b, second = put(u2, tok2, free * 3 // 4)
print(first.split("\r\n")[0], "|", second.split("\r\n")[0], "|", second.partition("\r\n\r\n")[2])
a.close(); b.close()
PY
)
check_contains "an upload in flight that reserved half the disk goes on (100 Continue)" "HTTP/1.1 100 Continue |" "$out"
check_contains "... and another VM's upload that needs more than the rest gets 507" "| HTTP/1.1 507" "$out"
held=$(printf '%s' "$out" | sed -n 's/.*, \([0-9]*\) reserved by uploads in flight.*/\1/p')
check_eq "... naming what the upload in flight reserved (its size and a little for its metadata)" yes \
	"$([ -n "$held" ] && [ "$held" -ge $((free / 2)) ] && [ "$held" -le $((free / 2 + 65536)) ] && echo yes || echo "no: $out")"
stop_controld TERM
finish
