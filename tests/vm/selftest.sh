#!/bin/bash
# Prove the VM harness: make a busybox rootfs in the shared folder, then run
# tests/vm/selftest/guest.bats inside a v2 and a v1 guest.
#
# Usage: tests/vm/selftest.sh [v1|v2]...   (default: v2 v1)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
rootfs=$here/work/selftest/rootfs

make_rootfs() {
	rm -rf "$rootfs"
	mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp,usr,lib,lib64,etc}
	cp /bin/busybox "$rootfs/bin/busybox"
	"$rootfs/bin/busybox" --install -s "$rootfs/bin"
	# busybox --install links to the absolute host path; the container needs
	# its own copy.
	for l in "$rootfs"/bin/*; do
		[ -L "$l" ] && ln -sf busybox "$l"
	done
	cp "$here/selftest/probe.sh" "$rootfs/probe.sh"
	echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
}

make_rootfs
layouts=("$@")
[ ${#layouts[@]} -gt 0 ] || layouts=(v2 v1)
rc=0
for layout in "${layouts[@]}"; do
	echo "# cgroup $layout guest"
	"$here/run-in-vm.sh" --cgroup "$layout" --timeout 600 --env MHVM_ROOTFS="$rootfs" -- \
		bats --timing "$here/selftest/guest.bats" || rc=$?
done
exit $rc
