# lib.sh - two libvirt "hosts" on this machine and guests with memtrace.ko
# and mb-guestd on them; sourced by tests/libvirt/*.sh and
# scripts/demo-cluster.sh, after tests/e2e/lib.sh (ROOT, BUILD, WORK).
#
# Each host is an unprivileged session-mode libvirtd running as nobody,
# with its own XDG directories under a short base directory $LV (QEMU's
# monitor socket path must fit in 108 bytes), its own host_uuid (libvirt
# refuses to migrate between hosts with the same one), stdio_handler =
# "file" (no virtlogd) and a kept QEMU capabilities cache ($LV_CACHE), so
# the second run starts in a second instead of probing QEMU again.
# Domains are type 'qemu' (TCG), boot Debian's kernel with an initramfs
# built by tests/guest/mkinitrd.sh, use QEMU user networking (the guest
# reaches controld on the host's 127.0.0.1 as 10.0.2.2) and
# <nosharepages/>, so host KSM does not merge them.
# lv_cleanup destroys every domain before stopping the daemons.

LV=$(mktemp -d /tmp/lv.XXXX)
LV_CACHE=${LV_CACHE:-/var/tmp/mb-libvirt-cache}
LV_HOSTS=()
LV_DOMAINS=()		# "host name" pairs to destroy at the end
LV_HOSTNO=0

lv_uri() { echo "qemu+unix:///session?socket=$LV/$1/runtime/libvirt/libvirt-sock"; }
lv_virsh() { local h=$1; shift; virsh -q -c "$(lv_uri "$h")" "$@"; }

# lv_host_start NAME: start (or restart) host NAME's libvirtd.
lv_host_start() {
	local d=$LV/$1 i
	if [ ! -d "$d" ]; then
		LV_HOSTNO=$((LV_HOSTNO + 1))
		mkdir -p "$d"/{home,config/libvirt,runtime,data} "$LV_CACHE/$1"
		chmod 700 "$d/runtime"
		printf 'host_uuid = "%s"\nlog_outputs = "2:file:%s/libvirtd.log"\n' \
			"$(printf '%08x-1111-4111-8111-%012x' "$LV_HOSTNO" "$LV_HOSTNO")" "$d" \
			> "$d/config/libvirt/libvirtd.conf"
		echo 'stdio_handler = "file"' > "$d/config/libvirt/qemu.conf"
		chown -R nobody:nogroup "$d" "$LV_CACHE/$1"
		chmod 755 "$LV"
		mkdir -p "$LV/cons"
		chown nobody:nogroup "$LV/cons"
		LV_HOSTS+=("$1")
	fi
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$d/home" \
		XDG_CONFIG_HOME="$d/config" XDG_CACHE_HOME="$LV_CACHE/$1" \
		XDG_RUNTIME_DIR="$d/runtime" XDG_DATA_HOME="$d/data" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		libvirtd >> "$d/stdout" 2>&1 &
	echo $! > "$d/pid"
	for i in $(seq 300); do
		[ -S "$d/runtime/libvirt/libvirt-sock" ] &&
			lv_virsh "$1" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "libvirtd $1 did not start:"; tail -5 "$d/stdout" "$d/libvirtd.log"
	return 1
}

# lv_host_stop NAME: stop host NAME's libvirtd (its QEMUs keep running).
lv_host_stop() {
	local d=$LV/$1 pid i
	[ -f "$d/pid" ] || return 0
	pid=$(cat "$d/pid")
	kill "$pid" 2>/dev/null
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$d/pid" "$d/runtime/libvirt/libvirt-sock"
}

# lv_images: kernel and the guest initramfs (memtrace.ko, mb-guestd with
# its libraries, mbfill, virtio_balloon.ko, /test.sh) in $LV, readable by
# the daemons. Kernel parameters /test.sh knows: mbport, mbint (mb-guestd's
# --interval), mbfill=SEED:MIB, mbballoon=1 (load virtio_balloon),
# mbburn=1 (keep a vCPU busy; mbburn=go: once http://10.0.2.2:MBGO/
# burn-NAME answers), mbnet=PORT (send zeros to the host's 127.0.0.1:PORT
# with nc, once MBGO's /net-NAME answers), mbswap=1 (swap on the virtio disk vda, see
# LV_SWAP_MB), mbwork=PHASES with mbgo=PORT (run mbwork PHASES once
# http://10.0.2.2:PORT/go answers: lv_go PORT starts it; phase k > 1
# waits for /phase-k, each phase ends by fetching /done-NAME-k: lv_phases
# keeps several guests in step).
lv_images() {
	local img=$WORK/lvimg
	mkdir -p "$img"
	cc -O2 -o "$img/mbfill" "$ROOT/tests/libvirt/fill.c" || return 1
	cc -O2 -Wall -Werror -o "$img/mbwork" "$ROOT/tests/libvirt/work.c" || return 1
	cat > "$img/test.sh" <<'T'
#!/bin/sh
# Inside the guest; mbport, mbint, mbfill come from the kernel command line.
echo "MB-UUID $(cat /sys/class/dmi/id/product_uuid)"
[ -n "${mbballoon:-}" ] && insmod /virtio_balloon.ko
if [ -n "${mbswap:-}" ]; then
	insmod /virtio_blk.ko
	for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
	mkswap /dev/vda >/dev/null && swapon /dev/vda && echo "MB-SWAP on"
fi
if [ -n "${mbwork:-}" ]; then
	(until wget -q -O /tmp/go "http://10.0.2.2:$mbgo/go" 2>/dev/null; do sleep 0.5; done
	 echo "MB-GO"
	 MBWORK_BARRIER="until wget -q -O /dev/null http://10.0.2.2:$mbgo/phase-%d 2>/dev/null; do sleep 0.2; done" \
	 MBWORK_DONE="wget -q -O /dev/null http://10.0.2.2:$mbgo/done-$mbhost-%d 2>/dev/null; true" \
	 /bin/mbwork "$mbwork"
	 echo "MB-VMSTAT $(grep -E '^(pswpin|pswpout|pgmajfault) ' /proc/vmstat | tr '\n' ' ')") &
fi
[ -n "${mbfill:-}" ] && /bin/mbfill "${mbfill%%:*}" "${mbfill##*:}" &
if [ "${mbburn:-}" = go ]; then
	(until wget -q -O /dev/null "http://10.0.2.2:$mbgo/burn-$mbhost" 2>/dev/null; do sleep 0.5; done
	 echo "MB-BURN"; while :; do :; done) &
elif [ -n "${mbburn:-}" ]; then
	(while :; do :; done) &
fi
if [ -n "${mbnet:-}" ]; then
	(until wget -q -O /dev/null "http://10.0.2.2:$mbgo/net-$mbhost" 2>/dev/null; do sleep 0.5; done
	 echo "MB-NET"; while :; do nc 10.0.2.2 "$mbnet" < /dev/zero; sleep 0.2; done) &
fi
sleep 2
/bin/mb-guestd --server "http://10.0.2.2:$mbport" --module /memtrace.ko \
	--interval "${mbint:-10}" --retries 1000 --retry-max-delay 2 --timeout 60 &
i=0
while true; do i=$((i + 1)); echo "tick $i"; sleep 1; done
T
	chmod +x "$img/test.sh"
	local kernel kver
	kernel=$(ls /boot/vmlinuz-* | sort -V | tail -1)
	kver=${kernel#/boot/vmlinuz-}
	"$ROOT/tests/guest/mkinitrd.sh" "$LV/initrd.gz" "$ROOT/kmod/memtrace.ko:/memtrace.ko" \
		"$BUILD/mb-guestd:/bin/mb-guestd" "$img/mbfill:/bin/mbfill" \
		"$img/mbwork:/bin/mbwork" \
		"/lib/modules/$kver/kernel/drivers/virtio/virtio_balloon.ko:/virtio_balloon.ko" \
		"/lib/modules/$kver/kernel/drivers/block/virtio_blk.ko:/virtio_blk.ko" \
		"$img/test.sh:/test.sh" > "$WORK/mkinitrd.log" 2>&1 || return 1
	cp "$kernel" "$LV/vmlinuz"
	chmod 644 "$LV/vmlinuz" "$LV/initrd.gz"
}

# lv_domain HOST NAME UUID MIB FILL(SEED:MIB or "") PORT: create a transient
# domain; its serial console goes to $LV/cons/NAME.console (appended to by
# the QEMU on whichever host runs it; $LV/cons is the daemons', they run
# as nobody). With LV_BALLOON=1 the domain has a virtio balloon device;
# with LV_SWAP_MB=N a raw N MiB disk image as virtio disk vda (for
# mbswap=1); LV_CMDLINE adds kernel parameters (mbballoon=1 mbburn=1 ...).
lv_domain() {
	local host=$1 name=$2 uuid=$3 mib=$4 fill=$5 port=$6 xml=$LV/$2.xml disk=""
	if [ -n "${LV_SWAP_MB:-}" ]; then
		rm -f "$LV/$name.swap"
		truncate -s "${LV_SWAP_MB}M" "$LV/$name.swap"
		chown nobody:nogroup "$LV/$name.swap"
		disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$LV/$name.swap'/><target dev='vda' bus='virtio'/></disk>"
	fi
	cat > "$xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>$mib</memory>
  <memoryBacking><nosharepages/></memoryBacking>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$LV/vmlinuz</kernel><initrd>$LV/initrd.gz</initrd>
    <cmdline>console=ttyS0 loglevel=3 panic=-1 mbhost=$name mbport=$port mbint=${LV_GUESTD_INTERVAL:-8} ${fill:+mbfill=$fill} ${LV_CMDLINE:-}</cmdline></os>
  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    $disk
    <serial type='file'><source path='$LV/cons/$name.console' append='on'/><target port='0'/></serial>
    <console type='file'><source path='$LV/cons/$name.console' append='on'/><target type='serial' port='0'/></console>
    <interface type='user'><model type='virtio'/></interface>
    <memballoon model='$([ "${LV_BALLOON:-}" = 1 ] && echo virtio || echo none)'/>
  </devices>
</domain>
XML
	chown nobody:nogroup "$xml"
	LV_DOMAINS+=("$name")
	lv_virsh "$host" create "$xml" >/dev/null
}

# lv_go_server PORT: serve $LV/go-dir on 127.0.0.1:PORT (a guest's mbgo
# polls it); lv_go makes /go answer. Stopped by lv_cleanup.
LV_GO_PID=
lv_go_server() {
	mkdir -p "$LV/go-dir"
	python3 -m http.server "$1" --bind 127.0.0.1 --directory "$LV/go-dir" \
		>> "$LV/go-server.log" 2>&1 &
	LV_GO_PID=$!
}
lv_go() { echo go > "$LV/go-dir/go"; }
# lv_phases N NAME...: let phase k + 1 start once every NAME fetched
# /done-NAME-k, for k < N; returns when all have done phase N.
lv_phases() {
	local n=$1 k name all _
	shift
	for k in $(seq "$n"); do
		for _ in $(seq 7200); do
			all=yes
			for name in "$@"; do
				grep -q "GET /done-$name-$k " "$LV/go-server.log" || all=no
			done
			[ $all = yes ] && break
			sleep 0.25
		done
		[ "$k" -lt "$n" ] && echo go > "$LV/go-dir/phase-$((k + 1))"
	done
}

# lv_booted NAME...: until each guest's console shows its third tick (its
# mb-guestd has started), at most two minutes each.
lv_booted() {
	local n _
	for n in "$@"; do
		for _ in $(seq 240); do
			grep -q "tick 3" "$LV/cons/$n.console" 2>/dev/null && break
			sleep 0.5
		done
	done
}

# lv_where NAME: the hosts on which domain NAME is running.
lv_where() {
	local h out=""
	for h in "${LV_HOSTS[@]}"; do
		[ -S "$LV/$h/runtime/libvirt/libvirt-sock" ] || continue
		[ "$(lv_virsh "$h" domstate "$1" 2>/dev/null | head -1)" = running ] &&
			out="$out${out:+ }$h"
	done
	echo "$out"
}

lv_cleanup() {
	local h n pid
	[ -n "$LV_GO_PID" ] && kill "$LV_GO_PID" 2>/dev/null
	for h in "${LV_HOSTS[@]}"; do
		# A stopped daemon is restarted so it can destroy its domains.
		[ -f "$LV/$h/pid" ] || lv_host_start "$h" >/dev/null 2>&1
		for n in "${LV_DOMAINS[@]}"; do
			lv_virsh "$h" destroy "$n" >/dev/null 2>&1
		done
	done
	for h in "${LV_HOSTS[@]}"; do lv_host_stop "$h"; done
	# QEMUs a daemon could not reattach to: ours by their unique paths.
	for pid in $(pgrep -f -- "-name guest=.*$LV/" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	rm -rf "$LV"
}
