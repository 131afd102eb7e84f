#!/bin/bash
# mkinitrd.sh OUT.gz [SRC[:DEST]]...: a busybox initramfs for Debian's kernel.
#
# Each SRC is copied into the image at DEST (default: /<basename of SRC>).
# A dynamically linked SRC brings its shared-library closure and loader (as
# ldd reports them) to the same paths inside the image, so programs such as
# mb-guestd run unchanged. A SRC that is a directory is copied recursively.
#
# The image's /init mounts proc, sys, dev (devtmpfs) and a tmpfs on /tmp,
# loads the virtio-net driver (Debian builds it as modules) and configures
# eth0 for QEMU user networking (guest 10.0.2.15, host loopback 10.0.2.2),
# sets the hostname from the kernel parameter mbhost=NAME, prints
# GUEST-BOOTED, runs /test.sh (with the kernel parameters as environment,
# e.g. mtsuite=NAME) if present, prints "GUEST-EXIT <status>" and powers off.
#
# Needs busybox-static, cpio, gzip and the linux-image-amd64 modules.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: mkinitrd.sh OUT.gz [SRC[:DEST]]..." >&2; exit 2; }
out=$1; shift
kver=${KVER:-$(basename "$(ls /boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')}
mods=/lib/modules/$kver/kernel
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,net-modules}
cp /bin/busybox "$root/bin/"

add() {	# add SRC DEST: copy one file (and its libraries) into the image
	local src=$1 dest=$2 lib
	mkdir -p "$root$(dirname "$dest")"
	cp -a "$src" "$root$dest"
	[ -d "$src" ] && return 0
	if file -L "$src" 2>/dev/null | grep -q 'dynamically linked'; then
		for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	fi
}

order="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
       drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci net/core/failover
       drivers/net/net_failover drivers/net/virtio_net"
n=0
for m in $order; do
	n=$((n + 1))
	[ -f "$mods/$m.ko" ] && cp "$mods/$m.ko" "$root/net-modules/$(printf %02d "$n")-$(basename "$m").ko"
done
for spec in "$@"; do
	src=${spec%%:*}
	if [ "$src" = "$spec" ]; then dest=/$(basename "$src"); else dest=${spec#*:}; fi
	[ -e "$src" ] || { echo "mkinitrd.sh: $src: no such file" >&2; exit 1; }
	add "$src" "$dest"
done
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null; mount -t tmpfs tmp /tmp
for m in /net-modules/*.ko; do [ -f "$m" ] && insmod "$m" 2>/dev/null; done
ip link set lo up
if ip link set eth0 up 2>/dev/null; then
	ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
fi
[ -n "${mbhost:-}" ] && hostname "$mbhost"
echo GUEST-BOOTED
if [ -x /test.sh ]; then /test.sh; echo "GUEST-EXIT $?"; fi
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$out"
