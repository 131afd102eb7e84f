#!/bin/bash
# tls.sh - HTTPS: the test makes its own CA and a server certificate for
# 127.0.0.1 with certtool (GnuTLS); mb-guestd uploads over HTTPS trusting
# only that CA; plain HTTP to the TLS port gets no HTTP answer; a client
# without the CA refuses the server. Then the priority string: TLS 1.0,
# 1.1, suites without forward secrecy and CBC suites are refused, TLS 1.2
# with ECDHE and AEAD and TLS 1.3 accepted (openssl s_client), and
# --tls-priority replaces the default.
. "$(dirname "$0")/lib.sh"

command -v certtool >/dev/null || { fail "certtool is installed (gnutls-bin)" "certtool" "missing"; finish; }
cd "$WORK" || exit 1
make_test_certs "$WORK"
[ -s server.pem ] || { fail "the test CA signs a server certificate" "server.pem" "certtool failed"; finish; }

U=$(new_uuid)
TOK=tok-tls-$RANDOM$RANDOM
add_token "$U" "$TOK"
add_token admin "$ADMIN_TOKEN"
echo "$TOK" > token
make_trace "$WORK/t.mbt" 5000 21 "$U" vm-tls
start_controld "$WORK/data" --tls-cert server.pem --tls-key server.key || exit 1
HTTPS=https://127.0.0.1:$CD_PORT

out=$("$GUESTD" --once --server "$HTTPS" --ca-file ca.pem --device t.mbt \
	--vm-uuid "$U" --token-file token 2>guestd.err)
check_eq "mb-guestd uploads over HTTPS with the test CA (version 1)" 1 "$out"
code=$(curl -s --cacert ca.pem -o got.mbt -w '%{http_code}' \
	-H "Authorization: Bearer $ADMIN_TOKEN" "$HTTPS/v1/vms/$U/traces/1")
if [ "$code" = 200 ] && cmp -s got.mbt t.mbt; then
	pass "the trace reads back over HTTPS byte for byte"
else
	fail "the trace reads back over HTTPS" "200 and identical bytes" "status $code"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$CD_PORT/v1/health")
check_eq "plain HTTP to the TLS port gets no HTTP answer" 000 "$code"
"$GUESTD" --once --server "$HTTPS" --device t.mbt --vm-uuid "$U" \
	--token-file token --retries 0 >/dev/null 2>guestd.err
status=$?
check_eq "without the CA, mb-guestd refuses the server (exit 5)" 5 "$status"
check_contains "... and says why" "certificate" "$(cat guestd.err)"
admin_get_tls() { curl -s --cacert ca.pem -o "$2" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "$HTTPS$1"; }
admin_get_tls /v1/vms vms.json >/dev/null
check_eq "GET /v1/vms over HTTPS lists the VM" "$U" "$(jget vms.json 'j["vms"][0]["uuid"]')"
stop_controld TERM
check_eq "mb-controld (TLS) exits 0 on SIGTERM" 0 "$CD_STATUS"

# The protocol versions and suites, tried with openssl s_client against an
# RSA certificate (with RSA keys, suites without forward secrecy exist).
certtool --generate-privkey --key-type rsa --bits 2048 --outfile rsa.key 2>/dev/null
certtool --generate-certificate --load-privkey rsa.key --load-ca-certificate ca.pem \
	--load-ca-privkey ca.key --template server.tmpl --outfile rsa.pem 2>/dev/null
start_controld "$WORK/data" --tls-cert rsa.pem --tls-key rsa.key || exit 1
# handshake ARGS...: "ok PROTOCOL CIPHER" or "refused".
handshake() {
	local out
	out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$CD_PORT" \
		-CAfile ca.pem "$@" 2>&1)
	out=$(printf '%s\n' "$out" | sed -n 's/^New, \(TLSv[0-9.]*\), Cipher is \([A-Z0-9_-]*\)$/ok \1 \2/p')
	echo "${out:-refused}"
}
check_eq "TLS 1.0 is refused" refused "$(handshake -tls1 -cipher 'DEFAULT:@SECLEVEL=0')"
check_eq "TLS 1.1 is refused" refused "$(handshake -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')"
check_eq "TLS 1.2 with RSA key exchange (no forward secrecy) is refused" refused \
	"$(handshake -tls1_2 -cipher 'AES128-GCM-SHA256:AES256-SHA:@SECLEVEL=0')"
check_eq "TLS 1.2 with a CBC suite is refused" refused \
	"$(handshake -tls1_2 -cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0')"
check_eq "TLS 1.2 with ECDHE and AES-GCM is accepted" "ok TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256" \
	"$(handshake -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)"
check_contains "TLS 1.3 is accepted" "ok TLSv1.3" "$(handshake -tls1_3)"
stop_controld TERM
start_controld "$WORK/data" --tls-cert rsa.pem --tls-key rsa.key \
	--tls-priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' || exit 1
check_eq "--tls-priority is in force (TLS 1.3 only: 1.2 refused)" refused \
	"$(handshake -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)"
check_contains "... and TLS 1.3 accepted" "ok TLSv1.3" "$(handshake -tls1_3)"
stop_controld TERM
out=$("$CONTROLD" --datadir "$WORK/data" --tokens "$WORK/tokens" --port 0 \
	--tls-cert rsa.pem --tls-key rsa.key --tls-priority 'NORMAL:+NO-SUCH-THING' 2>&1)
status=$?
check_eq "an invalid --tls-priority stops the daemon at start (exit 1)" 1 "$status"
check_contains "... saying so" "TLS priority string valid" "$out"
finish
