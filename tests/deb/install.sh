#!/bin/bash
# install.sh DEBDIR WORKDIR: the Debian packages of DEBDIR (make deb)
# installed, used and purged in a throwaway root (make check-deb,
# docs/packaging.md).
#
# The root is Debian 12 made by mmdebstrap from Debian's mirror with the
# packages' dependencies already in it (kept as WORKDIR/root-*.tar, keyed
# by that list, so later runs need no download). Then, in a chroot:
#   - apt installs the five packages; every file of theirs is where the
#     table in docs/packaging.md says, and the table lists nothing else;
#   - the units are enabled, mb-controld's user is a system user without
#     a login, the tokens file is made with a random admin token, 0640
#     root:mb-controld, the configuration files are conffiles;
#   - mb-controld -n accepts the packaged configuration, as the unit's
#     user; the daemon runs with it and answers (health, the dashboard,
#     the API with the generated token, mbuddy status, the completion);
#   - DKMS knows memtrace 1.0, and the packaged source builds memtrace.ko
#     against this machine's linux-headers-amd64 without the checkout;
#   - purge leaves the root as it was before, file for file, but for the
#     system user (kept, as Debian keeps system users) and the package
#     manager's own records.
set -u
DEBS=$(cd "${1:?usage: install.sh DEBDIR WORKDIR}" && pwd)
WORKDIR=${2:?usage: install.sh DEBDIR WORKDIR}
mkdir -p "$WORKDIR" && WORKDIR=$(cd "$WORKDIR" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
R=$WORKDIR/root
PKGS="mb-controld mb-guestd mb-hostd mbuddy memtrace-dkms"
passed=0 failed=0
MOUNTED=()
CD_PID=

pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { printf 'FAIL: %s\n    expected: %s\n    got:      %s\n' "$1" "$2" "$3"; failed=$((failed + 1)); }
check_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "$2" "$3"; fi; }
finish() { echo "deb: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
cleanup() {
	local m
	[ -n "$CD_PID" ] && kill "$CD_PID" 2>/dev/null
	for m in "${MOUNTED[@]}"; do umount -l "$m" 2>/dev/null; done
	[ "$failed" -eq 0 ] && rm -rf "$R"
}
trap cleanup EXIT
in_root() { chroot "$R" "$@"; }

[ "$(id -u)" -eq 0 ] || { fail "check-deb runs as root (chroot, mounts)" "uid 0" "uid $(id -u)"; finish; }
for p in $PKGS; do
	ls "$DEBS/${p}"_*.deb >/dev/null 2>&1 || { fail "make deb built $p" "$DEBS/${p}_*.deb" "missing"; finish; }
done

# ---- the throwaway root ----
deps=$(for p in $PKGS; do dpkg-deb -f "$DEBS/${p}"_*.deb Depends; echo ,; done |
	tr ',' '\n' | sed 's/(.*//; s/|.*//; s/[[:space:]]//g' | grep -v '^$' | sort -u | tr '\n' , | sed 's/,$//')
tarball=$WORKDIR/root-$(echo "$deps" | md5sum | cut -c1-12).tar
if [ ! -s "$tarball" ]; then
	echo "deb: making a Debian 12 root with $deps (mmdebstrap, Debian's mirror)"
	rm -f "$WORKDIR"/root-*.tar
	# (mmdebstrap tells the output's format by its name: a .tar file.)
	mmdebstrap --variant=apt --include="$deps" bookworm "$WORKDIR/new-root.tar" \
		> "$WORKDIR/mmdebstrap.log" 2>&1 && mv "$WORKDIR/new-root.tar" "$tarball" ||
		{ fail "mmdebstrap makes a Debian 12 root" "success" "$(tail -3 "$WORKDIR/mmdebstrap.log")"; finish; }
fi
rm -rf "$R" && mkdir -p "$R" && tar -xf "$tarball" -C "$R" ||
	{ fail "the root unpacks" "success" "tar failed"; finish; }
for m in proc dev; do
	mount --bind "/$m" "$R/$m" && MOUNTED=("$R/$m" "${MOUNTED[@]}")
done
# snapshot: every path with its type, mode, owner and (files) checksum,
# but for the package manager's and the logs' own records.
snapshot() {
	local prune=(\( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./var/lib/dpkg -o -path ./var/log
		-o -path ./var/cache -o -path ./var/lib/apt \) -prune -o)
	(cd "$R" && find . -xdev "${prune[@]}" -printf '%y %m %u:%g %p\n' | sort -k4
	 find . -xdev "${prune[@]}" -type f -print0 | xargs -0 md5sum | sort -k2)
}
snapshot > "$WORKDIR/before.txt"

# ---- install ----
mkdir -p "$R/tmp/debs" && cp "$DEBS"/*.deb "$R/tmp/debs/"
debs=$(for p in $PKGS; do ls "$R/tmp/debs/${p}"_*.deb | sed "s|^$R||"; done)
# shellcheck disable=SC2086
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $debs \
	> "$WORKDIR/install.log" 2>&1; then
	pass "apt installs the five packages in a Debian 12 root"
else
	fail "apt installs the five packages" "exit 0" "$(tail -5 "$WORKDIR/install.log")"
	finish
fi
check_eq "... and pulls in nothing more (the root had their dependencies)" "" \
	"$(sed -n 's/^Unpacking \([^ ]*\) .*/\1/p' "$WORKDIR/install.log" | grep -vxF -f <(echo "$PKGS" | tr ' ' '\n') | tr '\n' ' ')"

# Where docs/packaging.md says each file lands: its table's rows
# "| `PATH` | PACKAGE ... |"; a PATH ending in / stands for the files in it.
documented=$(sed -n 's/^| `\(\/[^`]*\)` | \([a-z-]*\).*/\2 \1/p' "$ROOT/docs/packaging.md" | sort)
dirs=$(echo "$documented" | awk '$2 ~ /\/$/ { print $2 }')
installed=$(for p in $PKGS; do in_root dpkg -L "$p" | while read -r f; do
	[ -d "$R$f" ] && continue
	case $f in /usr/share/doc/*) continue ;; esac
	for d in $dirs; do case $f in "$d"*) f=$d ;; esac; done
	echo "$p $f"; done; done | sort -u)
check_eq "every file of the packages is where docs/packaging.md's table says (and the table lists no other)" \
	"$(echo "$documented" | grep -v ' /etc/memory-buddies/tokens$')" "$installed"
for f in $(echo "$documented" | awk '{ print $2 }'); do
	[ -e "$R$f" ] || fail "$f exists after installation" exists missing
done

check_eq "the units are enabled by the packaging" "mb-controld.service mb-guestd.service mb-hostd.service" \
	"$(ls "$R/etc/systemd/system/multi-user.target.wants/" | grep '^mb-' | tr '\n' ' ' | sed 's/ $//')"
user=$(in_root getent passwd mb-controld)
uid=$(echo "$user" | cut -d: -f3)
check_eq "mb-controld is a system user with no login ($user)" "yes /usr/sbin/nologin" \
	"$([ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$uid" -gt 0 ] && echo yes || echo no) $(echo "$user" | cut -d: -f7)"
check_eq "the tokens file is made, 0640 root:mb-controld" "640 root:mb-controld" \
	"$(in_root stat -c '%a %U:%G' /etc/memory-buddies/tokens 2>&1)"
TOKEN=$(awk '$1 == "admin" { print $2 }' "$R/etc/memory-buddies/tokens")
check_eq "... with a random admin token of 48 hex digits" 48 "$(printf %s "$TOKEN" | tr -cd 0-9a-f | wc -c)"
check_eq "the configuration files are conffiles" \
	"/etc/memory-buddies/mb-controld.conf /etc/memory-buddies/mb-guestd.conf /etc/memory-buddies/mb-hostd.conf" \
	"$(for p in mb-controld mb-guestd mb-hostd; do in_root dpkg-query -W -f='${Conffiles}\n' "$p"; done | awk 'NF { print $1 }' | tr '\n' ' ' | sed 's/ $//')"
want=$(make -s -C "$ROOT/kmod" -f Makefile -f <(echo 'dkms-files: ; @echo Kbuild Makefile dkms.conf memtrace_main.c $(SHARED)') \
	dkms-files | tr ' ' '\n' | sort)
check_eq "the DKMS tree holds what kmod/Makefile puts in one" "$want" "$(ls "$R/usr/src/memtrace-1.0" | sort)"
check_eq "DKMS knows memtrace 1.0" yes \
	"$(in_root dkms status 2>/dev/null | grep -q '^memtrace/1.0' && echo yes || in_root dkms status 2>&1 | tr '\n' ' ')"

# ---- the packaged configuration, and the daemon running with it ----
as_user=(setpriv --reuid mb-controld --regid mb-controld --init-groups)
out=$(in_root "${as_user[@]}" /usr/sbin/mb-controld --config /etc/memory-buddies/mb-controld.conf -n 2>&1)
check_eq "mb-controld -n accepts the packaged configuration, as its user" "mb-controld: configuration ok" "$out"
# What the unit's StateDirectory= makes.
install -d -m 0750 -o "$uid" -g "$(in_root getent group mb-controld | cut -d: -f3)" "$R/var/lib/memory-buddies"
in_root "${as_user[@]}" /usr/sbin/mb-controld --config /etc/memory-buddies/mb-controld.conf \
	--port 0 --port-file /tmp/ports > "$WORKDIR/controld.log" 2>&1 &
CD_PID=$!
for _ in $(seq 100); do [ -s "$R/tmp/ports" ] && break; sleep 0.05; done
port=$(awk '$1 == "http" { print $2 }' "$R/tmp/ports" 2>/dev/null)
url=http://127.0.0.1:${port:-0}
check_eq "the packaged daemon answers GET /v1/health" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/health")"
check_eq "... serves the dashboard" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$url/ui/")"
check_eq "... refuses a read without the token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/vms")"
check_eq "... and accepts the generated admin token" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url/v1/vms")"
check_eq "the packaged mbuddy status talks to it" 0 \
	"$(in_root /usr/bin/mbuddy status --url "$url" --token "$TOKEN" >/dev/null 2>&1; echo $?)"
kill "$CD_PID"; wait "$CD_PID" 2>/dev/null; CD_PID=
check_eq "the packaged completion completes mbuddy's commands" "sharing" \
	"$(in_root bash -c '. /usr/share/bash-completion/completions/mbuddy; COMP_WORDS=(mbuddy shar); COMP_CWORD=1; _mbuddy; echo "${COMPREPLY[*]}"')"

# ---- the DKMS source builds ----
kver=$(make -s -C "$ROOT/kmod" kver 2>/dev/null)
if [ -n "$kver" ] && [ -d "/lib/modules/$kver/build" ]; then
	rm -rf "$WORKDIR/dkms-src" && mkdir -p "$WORKDIR/dkms-src"
	dpkg-deb -x "$DEBS"/memtrace-dkms_*.deb "$WORKDIR/dkms-src"
	src=$WORKDIR/dkms-src/usr/src/memtrace-1.0
	make -C "$src" KVER="$kver" modules > "$WORKDIR/dkms-build.log" 2>&1
	check_eq "the packaged module source builds memtrace.ko for $kver on its own" "$kver" \
		"$(modinfo -F vermagic "$src/memtrace.ko" 2>/dev/null | awk '{ print $1 }')"
else
	fail "kernel headers to build the DKMS source against (linux-headers-amd64)" "a kernel with headers" "none"
fi

# ---- purge ----
# shellcheck disable=SC2086
if in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PKGS > "$WORKDIR/purge.log" 2>&1; then
	pass "apt purges the five packages"
else
	fail "apt purges the five packages" "exit 0" "$(tail -5 "$WORKDIR/purge.log")"
fi
rm -rf "$R/tmp/debs" "$R/tmp/ports"
snapshot > "$WORKDIR/after.txt"
# The user and its group stay (docs/packaging.md): the account files differ
# by them, and systemd-sysusers keeps backups ("-" files) of them.
left=$(diff "$WORKDIR/before.txt" "$WORKDIR/after.txt" | grep '^[<>]' |
	grep -vE ' \./etc/(passwd|group|shadow|gshadow)-?$')
check_eq "purge leaves the root as it was (but for the system user)" "" "$left"
check_eq "... and the system user mb-controld stays, as Debian keeps system users" yes \
	"$(in_root getent passwd mb-controld >/dev/null && echo yes || echo no)"
finish
