#!/bin/sh
# Install what the VM harness needs on the host (Debian 12), idempotently.
# qemu runs the guest, cpio packs the initramfs, busybox-static is the guest's
# /init userland, xz decompresses the kernel modules, crun is the second
# runtime the v2 guest checks. The kernel itself is fetched, never installed:
# see fetch-kernel.sh.
set -eu

PKGS="qemu-system-x86 cpio busybox-static xz-utils crun"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# An old or empty package list makes install fail to find the names.
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -qq --no-install-recommends $missing
