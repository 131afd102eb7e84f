# lib.sh - helpers shared by the end-to-end tests; sourced, not run.
#
# Every test starts the real mb-controld (and mb-guestd, curl, mbuddy) on
# 127.0.0.1 with ports the kernel picks (--port 0 + --port-file), in a
# scratch directory that is removed when the test passes and kept (and
# named) when it fails. check_* helpers print "PASS: what" or
# "FAIL: what / expected: ... / got: ..."; finish prints the suite's
# "N passed, N failed" line and sets the exit status.
set -u
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CONTROLD=$BUILD/mb-controld
GUESTD=$BUILD/mb-guestd
MBUDDY=$BUILD/mbuddy
SUITE=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/mb-$SUITE.XXXXXX")
PASSED=0
FAILED=0
STARTED_PIDS=()
MOUNTS=()
ADMIN_TOKEN=admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

cleanup() {
	local pid m
	for pid in "${STARTED_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
	if [ "$FAILED" -eq 0 ]; then
		rm -rf "$WORK"
	else
		echo "$SUITE: scratch directory kept: $WORK"
	fi
}
trap cleanup EXIT

pass() { echo "PASS: $1"; PASSED=$((PASSED + 1)); }
fail() {
	echo "FAIL: $1"
	echo "    expected: $2"
	echo "    got:      $3"
	FAILED=$((FAILED + 1))
}
# check_eq WHAT EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "$2" "$3"; fi
}
# check_contains WHAT NEEDLE HAYSTACK
check_contains() {
	case $3 in
	*"$2"*) pass "$1" ;;
	*) fail "$1" "text containing '$2'" "$3" ;;
	esac
}
finish() {
	echo "$SUITE: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}

# jget FILE PYTHON-EXPRESSION-ON-j: print a value from a JSON file.
jget() {
	python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2" 2>/dev/null
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# make_trace OUT PAGES SEED [UUID] [NAME]: a synthetic .mbt with PAGES
# random 32-bit digests (a legacy text trace imported by mbuddy, the
# same reader and writer every tool uses). No UUID: the header's is zero.
make_trace() {
	local out=$1 pages=$2 seed=$3 uuid=${4:-} name=${5:-synthetic}
	awk -v n="$pages" -v s="$seed" 'BEGIN { srand(s);
		for (i = 0; i < n; i++) printf "%u\n", int(rand() * 4294967295) }' \
		> "$out.txt"
	if [ -n "$uuid" ]; then
		"$MBUDDY" trace import --vm "$name" --uuid "$uuid" "$out.txt" "$out" >/dev/null
	else
		"$MBUDDY" trace import --vm "$name" "$out.txt" "$out" >/dev/null
	fi
	rm -f "$out.txt"
}

# trace_uuid FILE: the vm_uuid in a trace's header.
trace_uuid() {
	"$MBUDDY" trace info --json "$1" > "$WORK/.info.json" &&
		jget "$WORK/.info.json" 'j["vm_uuid"] or "00000000-0000-0000-0000-000000000000"'
}

# real_traces: the captured traces in memtraces/, if any.
real_traces() {
	ls "$ROOT"/memtraces/*.mbt 2>/dev/null | sort
}

# add_token UUID|admin TOKEN [TENANT]: append to $WORK/tokens (mode 0600:
# mb-controld refuses a tokens file other users can read).
add_token() {
	(umask 077; printf '%s %s%s\n' "$1" "$2" "${3:+ tenant=$3}" >> "$WORK/tokens")
}

# start_controld DATADIR [ARGS...]: start mb-controld on a port the kernel
# picks (unless ARGS give --port); sets CD_PID, CD_PORT, CD_LEGACY_PORT,
# CD_URL, CD_LOG. Uses $WORK/tokens unless ARGS say otherwise.
start_controld() {
	local datadir=$1 i auth=()
	shift
	CD_LOG=$WORK/controld.log
	rm -f "$WORK/ports"
	case " $* " in
	*" --insecure-no-auth "*|*" --tokens "*) ;;
	*) auth=(--tokens "$WORK/tokens") ;;
	esac
	"$CONTROLD" --datadir "$datadir" --port 0 --port-file "$WORK/ports" \
		"${auth[@]}" "$@" >> "$CD_LOG" 2>&1 &
	CD_PID=$!
	STARTED_PIDS+=("$CD_PID")
	for i in $(seq 1 100); do
		[ -s "$WORK/ports" ] && break
		kill -0 "$CD_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$WORK/ports" ]; then
		echo "mb-controld did not start; its log:"; tail -20 "$CD_LOG"
		return 1
	fi
	CD_PORT=$(awk '$1 == "http" { print $2 }' "$WORK/ports")
	CD_LEGACY_PORT=$(awk '$1 == "legacy" { print $2 }' "$WORK/ports")
	CD_URL=http://127.0.0.1:$CD_PORT
}

# stop_controld [SIGNAL]: stop it and wait; its exit status goes to
# CD_STATUS (not printed: a $(...) subshell could not wait for it).
stop_controld() {
	local sig=${1:-TERM}
	kill -"$sig" "$CD_PID" 2>/dev/null
	wait "$CD_PID" 2>/dev/null
	CD_STATUS=$?
}

# put_trace UUID FILE TOKEN [CURL-ARGS...]: PUT a trace with curl; prints
# the HTTP status; the body goes to $WORK/body.
put_trace() {
	local uuid=$1 file=$2 token=$3
	shift 3
	curl -s -o "$WORK/body" -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $token" \
		-H 'Content-Type: application/x-mbt' \
		--data-binary @"$file" "$@" "$CD_URL/v1/vms/$uuid/traces"
}

# admin_get PATH OUT: GET with the admin token; prints the HTTP status.
admin_get() {
	curl -s -o "$2" -w '%{http_code}' \
		-H "Authorization: Bearer $ADMIN_TOKEN" "$CD_URL$1"
}

# store_snapshot DATADIR: every file under vms/ with its checksum, plus the
# catalogue's rows: equal snapshots mean an unchanged store.
store_snapshot() {
	(cd "$1" && find vms -type f -print0 | sort -z | xargs -0 -r md5sum)
	sqlite3 "$1/catalogue.db" \
		'SELECT uuid, version, size FROM traces ORDER BY 1, 2' 2>&1
}

# temp_files DATADIR: unfinished uploads left in the store.
temp_files() {
	find "$1/vms" -name '.upload-*' -o -name '.meta-*' | wc -l
}

# test_host FILE DOMAIN_MIB NAME:UUID...: a host for libvirt's test driver
# (test://FILE, an in-process hypervisor, no QEMU): 4 GiB, two cores, one
# running domain of DOMAIN_MIB MiB per NAME:UUID.
test_host() {
	local f=$1 kib=$(($2 * 1024)) d
	shift 2
	{
		echo "<node><cpu><mhz>2000</mhz><model>i686</model><active>2</active>"
		echo "<nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>"
		echo "<memory>4194304</memory>"
		for d in "$@"; do
			echo "<domain type='test'><name>${d%%:*}</name><uuid>${d#*:}</uuid>"
			echo "<memory>$kib</memory><currentMemory>$kib</currentMemory>"
			echo "<vcpu>1</vcpu><os><type arch='i686'>hvm</type></os></domain>"
		done
		echo "</node>"
	} > "$f"
}

# make_test_certs DIR: a test CA (ca.key, ca.pem) and a server certificate
# for 127.0.0.1 and localhost signed by it (server.key, server.pem, from
# the template server.tmpl), ECDSA keys, made with certtool (GnuTLS).
# Fails when certtool does.
make_test_certs() {
	local d=$1
	mkdir -p "$d" || return 1
	certtool --generate-privkey --key-type ecdsa --outfile "$d/ca.key" 2>/dev/null
	cat > "$d/ca.tmpl" <<'T'
cn = "Memory Buddies test CA"
ca
cert_signing_key
expiration_days = 2
T
	certtool --generate-self-signed --load-privkey "$d/ca.key" --template "$d/ca.tmpl" \
		--outfile "$d/ca.pem" 2>/dev/null
	certtool --generate-privkey --key-type ecdsa --outfile "$d/server.key" 2>/dev/null
	cat > "$d/server.tmpl" <<'T'
cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
encryption_key
expiration_days = 2
T
	certtool --generate-certificate --load-privkey "$d/server.key" --load-ca-certificate "$d/ca.pem" \
		--load-ca-privkey "$d/ca.key" --template "$d/server.tmpl" --outfile "$d/server.pem" 2>/dev/null
	[ -s "$d/server.pem" ]
}

# ui_browser SHOTS ARGS...: tests/e2e/ui_browser.py (the dashboard in
# Debian's headless Chromium, screenshots into SHOTS) with ARGS; its
# checks are added to this suite's.
ui_browser() {
	local shots=$1 out need
	shift
	for need in /usr/bin/chromium /usr/bin/chromedriver; do
		[ -x "$need" ] || { fail "$need is installed (scripts/packages.d/ui.txt)" "$need" "missing"; return 1; }
	done
	/usr/bin/python3 -c 'import selenium' 2>/dev/null ||
		{ fail "python3-selenium is installed" "module selenium" "missing"; return 1; }
	out=$(/usr/bin/python3 "$E2E_DIR/ui_browser.py" --shots "$shots" "$@" 2>&1)
	printf '%s\n' "$out" | grep -v '^ui_browser: '
	PASSED=$((PASSED + $(printf '%s\n' "$out" | grep -c '^PASS: ')))
	FAILED=$((FAILED + $(printf '%s\n' "$out" | grep -c '^FAIL: ')))
	printf '%s\n' "$out" | grep -q '^ui_browser: ' ||
		fail "ui_browser.py $* runs to its summary" "a summary line" "$(printf '%s\n' "$out" | tail -3)"
}

# System calls against a unit's filter (privilege.sh, tests/hostd/libvirt.sh).
# expand GROUP...: the system calls of the groups and names given.
expand() {
	local g
	for g in "$@"; do
		case $g in
		@*) systemd-analyze syscall-filter "$g" | awk 'NR > 1 && !/^ *#/ && NF { print $1 }' |
			while read -r s; do expand "$s"; done ;;
		*) echo "$g" ;;
		esac
	done
}
# allowed UNIT: what SystemCallFilter= lines of UNIT allow (allow lists,
# then the ~ deny lists).
allowed() {
	local allow=() deny=() line
	while IFS= read -r line; do
		case $line in
		SystemCallFilter=~*) read -ra w <<< "${line#SystemCallFilter=~}"; deny+=("${w[@]}") ;;
		SystemCallFilter=*) read -ra w <<< "${line#SystemCallFilter=}"; allow+=("${w[@]}") ;;
		esac
	done < "$1"
	comm -23 <(expand "${allow[@]}" | sort -u) <(expand "${deny[@]}" | sort -u)
}
# used TRACE: the system calls an strace -f log shows.
used() {
	sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$1" | sort -u
}
