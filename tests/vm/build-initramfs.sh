#!/bin/bash
# Pack the test VM's initramfs: busybox-static, the cached kernel modules and
# tests/vm/init. Rebuilt only when one of those changed (a stamp of their
# checksums sits next to the image).
#
# Usage: tests/vm/build-initramfs.sh KERNEL_CACHE_DIR
# Prints the path of the initramfs (KERNEL_CACHE_DIR/initramfs.cpio.gz).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
kdir=${1:?usage: build-initramfs.sh KERNEL_CACHE_DIR}
busybox=/bin/busybox
image=$kdir/initramfs.cpio.gz

die() { echo "build-initramfs: $*" >&2; exit 1; }

[ -f "$kdir/modules/order" ] || die "$kdir has no modules/order: run fetch-kernel.sh"
# A dynamically linked busybox would find no libc in the initramfs.
[ -x "$busybox" ] || die "no $busybox: apt-get install busybox-static"
if command -v readelf >/dev/null && readelf -l "$busybox" | grep -q INTERP; then
	die "$busybox is not static: apt-get install busybox-static"
fi

stamp=$(cat "$here/init" "$busybox" "$kdir"/modules/* | sha256sum | cut -d' ' -f1)
if [ -f "$image" ] && [ "$(cat "$image.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$image"
	exit 0
fi

tmp=$(mktemp -d "$kdir/.initramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,mnt,newroot,lib/modules}
cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$kdir"/modules/*.ko "$kdir/modules/order" "$root/lib/modules/"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) |
	gzip -1 > "$tmp/image"
mv "$tmp/image" "$image"
echo "$stamp" > "$image.stamp"
echo "$image"
