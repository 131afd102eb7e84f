#!/bin/bash
# faults.sh - mb-controld under faults:
#   1. SIGKILL in the middle of 50 concurrent uploads (50 VMs: one upload
#      in flight per VM is the rule), then a restart: every
#      version a client saw acknowledged is present and byte-identical,
#      every visible file is a complete, valid trace that some client sent,
#      no temporary file survives, the catalogue lists exactly the files;
#   2. mb-guestd keeps retrying while controld is down and succeeds once it
#      is back;
#   3. SIGTERM lets an upload in flight finish; one that outlasts
#      --shutdown-timeout is dropped without a trace;
#   4. a full disk (a 3 MiB tmpfs as DATADIR) answers 507 and the traces
#      already stored stay intact.
. "$(dirname "$0")/lib.sh"

DATA=$WORK/data
add_token admin "$ADMIN_TOKEN"
declare -a VMS TOKS
for v in $(seq 0 49); do
	VMS[$v]=$(new_uuid)
	TOKS[$v]=tok-$v-$RANDOM$RANDOM
	add_token "${VMS[$v]}" "${TOKS[$v]}"
done
mkdir -p "$WORK/up" "$WORK/res"
for i in $(seq 0 49); do
	make_trace "$WORK/up/$i.mbt" 60000 "$((1000 + i))" "${VMS[$i]}" "vm-$i"
done

# ---- 1. SIGKILL during 50 concurrent uploads ----
start_controld "$DATA" --keep 100 || exit 1
pids=()
for i in $(seq 0 49); do
	v=$i
	# A fifth go at full speed (done before the kill), the rest at
	# 50 KB/s (about 5 s each), so the kill lands mid-body.
	rate=()
	[ $((i % 5)) -ne $((i / 10)) ] && rate=(--limit-rate 50K)
	# Each guest from its own loopback address, as guests are.
	curl -s -o "$WORK/res/$i.body" -w '%{http_code}' -X PUT \
		--interface "127.0.0.$((10 + i))" \
		-H "Authorization: Bearer ${TOKS[$v]}" "${rate[@]}" \
		--data-binary @"$WORK/up/$i.mbt" \
		"$CD_URL/v1/vms/${VMS[$v]}/traces" > "$WORK/res/$i.code" 2>/dev/null &
	pids+=($!)
done
# Kill once the fast tenth are acknowledged (at most 10 s).
for t in $(seq 1 200); do
	[ "$(grep -l 201 "$WORK"/res/*.code 2>/dev/null | wc -l)" -ge 10 ] && break
	sleep 0.05
done
sleep 0.2
temps_at_kill=$(temp_files "$DATA")
stop_controld KILL
for p in "${pids[@]}"; do wait "$p"; done
acked=0 cut=0
for i in $(seq 0 49); do
	case $(cat "$WORK/res/$i.code") in
	201) acked=$((acked + 1)) ;;
	*) cut=$((cut + 1)) ;;
	esac
done
echo "at SIGKILL: $acked uploads acknowledged, $cut cut off, $temps_at_kill temporary files in the store"
if [ "$acked" -gt 0 ] && [ "$cut" -gt 0 ] && [ "$temps_at_kill" -gt 0 ]; then
	pass "the kill landed while uploads were in flight"
else
	fail "the kill lands mid-upload" "some acknowledged, some cut, temporaries present" \
		"$acked acknowledged, $cut cut, $temps_at_kill temporaries"
fi
start_controld "$DATA" --keep 100 || exit 1
missing=0
for i in $(seq 0 49); do
	[ "$(cat "$WORK/res/$i.code")" = 201 ] || continue
	v=$i
	ver=$(jget "$WORK/res/$i.body" 'j["version"]')
	cmp -s "$WORK/up/$i.mbt" "$DATA/vms/${VMS[$v]}/$ver.mbt" || {
		missing=$((missing + 1))
		echo "  acknowledged upload $i (vm $v version $ver) is missing or differs"
	}
done
check_eq "every acknowledged version is present and identical after restart" 0 "$missing"
bad=0 visible=0
for f in "$DATA"/vms/*/*.mbt; do
	visible=$((visible + 1))
	if ! "$MBUDDY" trace info "$f" >/dev/null 2>&1; then
		bad=$((bad + 1)); echo "  $f is not a valid trace"; continue
	fi
	sum=$(md5sum < "$f")
	found=0
	for u in "$WORK"/up/*.mbt; do
		[ "$(md5sum < "$u")" = "$sum" ] && { found=1; break; }
	done
	[ "$found" = 1 ] || { bad=$((bad + 1)); echo "  $f matches no upload"; }
done
echo "visible after restart: $visible versions ($acked acknowledged)"
check_eq "every visible version is a complete trace some client sent" 0 "$bad"
check_eq "no temporary file is left after the restart" 0 "$(temp_files "$DATA")"
files=$(cd "$DATA/vms" && ls */*.mbt | sed 's|/| |; s|\.mbt$||' | sort)
rows=$(sqlite3 "$DATA/catalogue.db" "SELECT uuid || ' ' || version FROM traces" | sort)
check_eq "the catalogue lists exactly the files" "$files" "$rows"
api=$(for v in $(seq 0 49); do
	admin_get "/v1/vms/${VMS[$v]}/traces" "$WORK/t.json" >/dev/null
	jget "$WORK/t.json" '"\n".join(j["uuid"] + " " + str(t["version"]) for t in j["traces"])'
done | grep . | sort)
check_eq "the API lists exactly the files" "$files" "$api"

# ---- 2. mb-guestd retries until controld is back ----
port=$CD_PORT
stop_controld KILL
echo "${TOKS[0]}" > "$WORK/tok0"
"$GUESTD" --once --server "http://127.0.0.1:$port" --device "$WORK/up/0.mbt" \
	--vm-uuid "${VMS[0]}" --token-file "$WORK/tok0" --retries 30 \
	--retry-max-delay 1 > "$WORK/guestd.out" 2> "$WORK/guestd.err" &
gpid=$!
STARTED_PIDS+=("$gpid")
sleep 2
start_controld "$DATA" --keep 100 --port "$port" || exit 1
wait "$gpid"
check_eq "mb-guestd exits 0 once controld is back" 0 "$?"
check_contains "mb-guestd logged its retries" "retry" "$(cat "$WORK/guestd.err")"
ver=$(cat "$WORK/guestd.out")
if [ -n "$ver" ] && cmp -s "$WORK/up/0.mbt" "$DATA/vms/${VMS[0]}/$ver.mbt"; then
	pass "the retried upload is stored (version $ver)"
else
	fail "the retried upload is stored" "a version whose bytes equal the upload" "version '$ver'"
fi

# ---- 3. SIGTERM: finish what is in flight, drop what outlasts the timeout ----
stop_controld TERM
start_controld "$DATA" --keep 100 --shutdown-timeout 10 || exit 1
before=$(ls "$DATA/vms/${VMS[1]}" | grep -c mbt)
curl -s -o "$WORK/slow.body" -w '%{http_code}' -X PUT --limit-rate 100K \
	-H "Authorization: Bearer ${TOKS[1]}" --data-binary @"$WORK/up/1.mbt" \
	"$CD_URL/v1/vms/${VMS[1]}/traces" > "$WORK/slow.code" &
cpid=$!
# A client connected before SIGTERM sends its request during the shutdown.
python3 - "$CD_PORT" "$ADMIN_TOKEN" > "$WORK/during.txt" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(0.9)
s.sendall(("GET /v1/vms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Connection: close\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
head, _, body = data.decode().partition("\r\n\r\n")
print(head.split("\r\n")[0].split(" ")[1], body)
PY
ppid=$!
sleep 0.5
kill -TERM "$CD_PID"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$CD_URL/v1/health")
check_eq "no new connection is accepted during the shutdown" 000 "$code"
wait "$ppid"
check_eq "a request on a connection opened before SIGTERM gets 503" \
	'503 {"error":"shutting down"}' "$(cat "$WORK/during.txt")"
stop_controld TERM
wait "$cpid"
check_eq "an upload in flight at SIGTERM completes (201)" 201 "$(cat "$WORK/slow.code")"
check_eq "mb-controld exits 0 after SIGTERM" 0 "$CD_STATUS"
check_eq "... and its version is stored" $((before + 1)) "$(ls "$DATA/vms/${VMS[1]}" | grep -c mbt)"

start_controld "$DATA" --keep 100 --shutdown-timeout 1 || exit 1
snap=$(store_snapshot "$DATA")
curl -s -o /dev/null -w '%{http_code}' -X PUT --limit-rate 40K \
	-H "Authorization: Bearer ${TOKS[2]}" --data-binary @"$WORK/up/2.mbt" \
	"$CD_URL/v1/vms/${VMS[2]}/traces" > "$WORK/slow.code" &
cpid=$!
sleep 0.5
stop_controld TERM
wait "$cpid"
check_eq "an upload outlasting --shutdown-timeout is cut (no answer)" 000 "$(cat "$WORK/slow.code")"
check_eq "... nothing of it is visible" "$snap" "$(store_snapshot "$DATA")"
check_eq "... and no temporary file remains" 0 "$(temp_files "$DATA")"
check_contains "... and the log says so" "dropping" "$(cat "$CD_LOG")"

# ---- 4. full disk ----
SMALL=$WORK/small
mkdir -p "$SMALL"
if mount -t tmpfs -o size=3m tmpfs "$SMALL" 2>/dev/null; then
	MOUNTS+=("$SMALL")
	start_controld "$SMALL/data" --keep 100 || exit 1
	stored=() status=201 n=0
	while [ "$status" = 201 ] && [ $n -lt 50 ]; do
		k=$((3 + n % 40))
		status=$(put_trace "${VMS[$k]}" "$WORK/up/$k.mbt" "${TOKS[$k]}")
		[ "$status" = 201 ] && stored+=("$k:$(jget "$WORK/body" 'j["version"]')")
		n=$((n + 1))
	done
	check_eq "a full disk answers 507" 507 "$status"
	check_contains "... with a message naming the cause" "No space left on device" "$(jget "$WORK/body" 'j["error"]')"
	intact=0
	for s in "${stored[@]}"; do
		cmp -s "$WORK/up/${s%%:*}.mbt" "$SMALL/data/vms/${VMS[${s%%:*}]}/${s#*:}.mbt" && intact=$((intact + 1))
	done
	check_eq "the ${#stored[@]} traces stored before the disk filled are intact" "${#stored[@]}" "$intact"
	check_eq "no temporary file is left on the full disk" 0 "$(temp_files "$SMALL/data")"
	check_eq "mb-controld still answers /v1/health" 200 \
		"$(curl -s -o /dev/null -w '%{http_code}' "$CD_URL/v1/health")"
	stop_controld TERM
else
	echo "NOTE: cannot mount a tmpfs here (not root?): the full-disk check did not run"
	fail "full-disk check can run" "a 3 MiB tmpfs mounted" "mount refused"
fi
finish
