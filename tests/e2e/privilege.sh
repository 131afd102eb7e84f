#!/bin/bash
# privilege.sh - least privilege for the daemons (docs/security.md):
#   1. systemd-analyze security --offline=yes rates the units: mb-controld's
#      exposure at most 2.0, mb-guestd's at most 5.0;
#   2. every system call each daemon makes in a session of real work
#      (traced with strace -f) is one its unit's SystemCallFilter= allows,
#      so the filter stops nothing the daemon needs;
#   3. mb-controld runs as a user of its own with no capabilities, on a
#      read-only root file system except its data directory (what the
#      unit's User=, CapabilityBoundingSet=, ProtectSystem=strict and
#      StateDirectory= give it): it serves, stores files owned by that
#      user, and says clearly what it cannot read or write.
# This machine has no systemd as PID 1, so the units themselves are not
# started: (2) and (3) apply what they would apply, with strace, setpriv
# and a private mount namespace.
. "$(dirname "$0")/lib.sh"

# ---- 1. the units' exposure ----
for unit in controld/mb-controld.service:2.0 guestd/mb-guestd.service:5.0 \
	    hostd/mb-hostd.service:4.0; do
	file=$ROOT/${unit%%:*} goal=${unit#*:}
	out=$(systemd-analyze security --offline=yes --threshold="${goal%.*}0" "$file" 2>&1)
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$score" ] && [ "$(echo "$score <= $goal" | bc)" = 1 ]; then
		pass "$(basename "$file"): exposure $score, at most $goal"
	else
		fail "$(basename "$file") is sandboxed" "exposure <= $goal" "${score:-no score: $out}"
	fi
done

# mb-controld's own user: a uid no /etc/passwd entry has, owning $D.
ID=64123
D=$WORK/own
mkdir -p "$D/data" "$D/traced"
# unprivileged ARGS...: run ARGS as $ID without capabilities, with / read-only
# but for $D (User=, CapabilityBoundingSet=, NoNewPrivileges=,
# ProtectSystem=strict and StateDirectory= of the unit).
unprivileged() {
	unshare --mount --propagation private sh -c '
		mount --bind "$1" "$1" && mount -o remount,bind,ro / && shift &&
		exec setpriv --reuid="'"$ID"'" --regid="'"$ID"'" --clear-groups \
			--inh-caps=-all --bounding-set=-all --no-new-privs "$@"' sh "$D" "$@"
}

# ---- 2. the system calls each daemon makes are allowed ----
# expand, allowed and used: tests/e2e/lib.sh.

# The certificate of a test CA, for the HTTPS part of the session.
certtool --generate-privkey --key-type ecdsa --outfile "$WORK/ca.key" 2>/dev/null
printf 'cn = "test CA"\nca\ncert_signing_key\nexpiration_days = 2\n' > "$WORK/ca.tmpl"
certtool --generate-self-signed --load-privkey "$WORK/ca.key" --template "$WORK/ca.tmpl" \
	--outfile "$WORK/ca.pem" 2>/dev/null
certtool --generate-privkey --key-type ecdsa --outfile "$WORK/server.key" 2>/dev/null
printf 'cn = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nsigning_key\nexpiration_days = 2\n' > "$WORK/server.tmpl"
certtool --generate-certificate --load-privkey "$WORK/server.key" --load-ca-certificate "$WORK/ca.pem" \
	--load-ca-privkey "$WORK/ca.key" --template "$WORK/server.tmpl" --outfile "$WORK/server.pem" 2>/dev/null
chmod 600 "$WORK/server.key"

U=11111111-1111-4111-8111-000000000001
TOK=tok-priv-$RANDOM$RANDOM
add_token "$U" "$TOK" tenant-a
add_token admin "$ADMIN_TOKEN"
echo "$TOK" > "$WORK/token"
make_trace "$WORK/t.mbt" 3000 3 "$U" g1
cat > "$WORK/a.xml" <<T
<node><cpu><mhz>2000</mhz><model>i686</model><active>2</active><nodes>1</nodes>
<sockets>1</sockets><cores>2</cores><threads>1</threads></cpu><memory>4194304</memory>
<domain type='test'><name>g1</name><uuid>$U</uuid><memory>262144</memory>
<currentMemory>262144</currentMemory><vcpu>1</vcpu><os><type arch='i686'>hvm</type></os></domain>
</node>
T
# A session of mb-controld's work under strace: HTTPS uploads and
# listings, a guest's report, a legacy upload, a plan on libvirt's test
# driver, a tokens reload, a clean stop.
cp "$WORK/tokens" "$WORK/server.pem" "$WORK/server.key" "$WORK/a.xml" "$D/"
chown -R "$ID:$ID" "$D"
chmod 755 "$WORK"
# strace runs as the daemon's user too, so only the daemon is traced.
unprivileged strace -f -qq -o "$D/controld.strace" "$CONTROLD" --datadir "$D/traced" \
	--tokens "$D/tokens" --port 0 --port-file "$D/ports" --legacy-port 0 \
	--tls-cert "$D/server.pem" --tls-key "$D/server.key" \
	--host "a,test://$D/a.xml" --plan-interval 0 > "$WORK/controld.log" 2>&1 &
spid=$!
STARTED_PIDS+=("$spid")
for i in $(seq 1 200); do [ -s "$D/ports" ] && break; sleep 0.05; done
P=$(awk '$1 == "http" { print $2 }' "$D/ports")
LP=$(awk '$1 == "legacy" { print $2 }' "$D/ports")
rm -f "$D/ports"
dpid=$(pgrep -n -x mb-controld -U "$ID")
S=https://127.0.0.1:$P
"$GUESTD" --once --server "$S" --ca-file "$WORK/ca.pem" --device "$WORK/t.mbt" \
	--vm-uuid "$U" --token-file "$WORK/token" > "$WORK/v1" 2>/dev/null
code=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $TOK" --data-binary @"$WORK/t.mbt" "$S/v1/vms/$U/traces")
for p in /v1/vms /metrics "/v1/vms/$U/traces/1"; do
	curl -s --cacert "$WORK/ca.pem" -o /dev/null -H "Authorization: Bearer $ADMIN_TOKEN" "$S$p"
done
curl -s --cacert "$WORK/ca.pem" -o /dev/null -X POST -H "Authorization: Bearer $TOK" \
	-d '{"name":"g1","mem_total_kb":1048576,"mem_available_kb":524288}' "$S/v1/vms/$U/stats"
plan=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $ADMIN_TOKEN" "$S/v1/plan")
printf '1\n2\n3\n' | python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR); s.recv(100)' "$LP"
kill -HUP "$dpid"
sleep 0.3
kill -TERM "$dpid"
wait "$spid"
check_eq "the traced session worked (guestd's upload, an upload, a plan)" "1 201 200" "$(cat "$WORK/v1") $code $plan"
# libnuma (loaded with libvirt) probes set_mempolicy at start and copes
# with the EPERM the filter answers: the only call the filter may refuse.
bad=$(comm -23 <(used "$D/controld.strace") <(allowed "$ROOT/controld/mb-controld.service") | grep -vx set_mempolicy)
check_eq "every system call mb-controld made ($(used "$D/controld.strace" | wc -l) kinds) is allowed by its unit" "" "$(echo $bad)"

# mb-guestd: a trace and a statistics report, as root (its unit's user).
strace -f -qq -o "$WORK/guestd.strace" "$GUESTD" --once --server "http://127.0.0.1:1" \
	--device "$WORK/t.mbt" --vm-uuid "$U" --token-file "$WORK/token" --retries 0 >/dev/null 2>&1
strace -f -qq -o "$WORK/guestd2.strace" "$GUESTD" --stats-once --server "http://127.0.0.1:1" \
	--vm-uuid "$U" --token-file "$WORK/token" >/dev/null 2>&1
cat "$WORK/guestd2.strace" >> "$WORK/guestd.strace"
bad=$(comm -23 <(used "$WORK/guestd.strace") <(allowed "$ROOT/guestd/mb-guestd.service"))
check_eq "every system call mb-guestd made ($(used "$WORK/guestd.strace" | wc -l) kinds) is allowed by its unit" "" "$(echo $bad)"

# ---- 3. mb-controld as a user of its own, no capabilities ----
unprivileged "$CONTROLD" --datadir "$D/data" --tokens "$D/tokens" --port 0 \
	--port-file "$D/ports" > "$WORK/own.log" 2>&1 &
upid=$!
STARTED_PIDS+=("$upid")
for i in $(seq 1 100); do [ -s "$D/ports" ] && break; sleep 0.05; done
CD_URL=http://127.0.0.1:$(awk '$1 == "http" { print $2 }' "$D/ports")
dpid=$(pgrep -n -x mb-controld -U "$ID")
check_eq "mb-controld runs as uid $ID" "$ID $ID $ID $ID" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$dpid/status")"
check_eq "... with no capability at all" "0000000000000000 0000000000000000" \
	"$(awk '/^CapEff:/ { e = $2 } /^CapBnd:/ { b = $2 } END { print e, b }' "/proc/$dpid/status")"
check_eq "... and no way to gain any (no_new_privs)" 1 "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$dpid/status")"
check_eq "it stores an upload (201)" 201 "$(put_trace "$U" "$WORK/t.mbt" "$TOK")"
check_eq "... in files its user owns" "$ID" "$(stat -c %u "$D/data/vms/$U/1.mbt")"
check_eq "... readable by that user only" 600 "$(stat -c %a "$D/data/vms/$U/1.mbt")"
check_eq "it lists the VM" "$U" "$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$CD_URL/v1/vms" | python3 -c 'import json, sys; print(json.load(sys.stdin)["vms"][0]["uuid"])')"
kill -TERM "$dpid"
wait "$upid"
check_eq "it stops cleanly (exit 0)" 0 "$?"
# What it may not touch, it says so.
cp "$WORK/tokens" "$WORK/root-tokens"
out=$(unprivileged "$CONTROLD" --datadir "$D/data" --tokens "$WORK/root-tokens" -n 2>&1)
check_contains "a root-only tokens file: refused with the reason" "tokens file $WORK/root-tokens: Permission denied" "$out"
mkdir -p "$D/rootdata"
chown root:root "$D/rootdata"
out=$(unprivileged "$CONTROLD" --datadir "$D/rootdata" --tokens "$D/tokens" --port 0 2>&1)
check_contains "a data directory it cannot write: refused with the reason" "lock file $D/rootdata/lock: Permission denied" "$out"
out=$(unprivileged "$CONTROLD" --datadir "$WORK/elsewhere" --tokens "$D/tokens" --port 0 2>&1)
check_contains "... and nothing outside its directory is writable" "$WORK/elsewhere: Read-only file system" "$out"
finish
