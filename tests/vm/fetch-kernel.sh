#!/bin/bash
# Fetch Debian's own kernel for the test VM without installing it, and cache
# the few files the guest needs: vmlinuz, config, and the modules for virtio-9p,
# overlayfs and zram (uncompressed, with a load order computed from each
# module's own "depends=" field, because the package ships no modules.dep:
# depmod writes it at install time).
#
# Usage: tests/vm/fetch-kernel.sh [CACHE_ROOT]
# Prints the kernel's cache directory (CACHE_ROOT/<kernel-version>) on stdout.
# Installing linux-image-amd64 is avoided on purpose: it pulls initramfs-tools
# and udev and upgrades packages on the host.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
cache_root=${1:-$here/cache}

# The modules the guest's /init loads; their dependencies are added and
# ordered below, so this list only names what /init needs directly.
wanted="virtio_pci 9pnet_virtio 9p overlay zram"

die() { echo "fetch-kernel: $*" >&2; exit 1; }

# Name of the image package linux-image-amd64 currently depends on.
resolve_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Newest complete cache entry, for when apt cannot answer (offline run).
cached_fallback() {
	local d
	for d in $(find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name ".*" | sort -rV); do
		[ -e "$d/complete" ] && { echo "${d%/}"; return 0; }
	done
	return 1
}

pkg=$(resolve_package || true)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	pkg=$(resolve_package || true)
fi
if [ -z "$pkg" ]; then
	cached_fallback && exit 0
	die "cannot resolve the package linux-image-amd64 depends on; run 'apt-get update'"
fi

kver=${pkg#linux-image-}
dest=$cache_root/$kver
if [ -e "$dest/complete" ]; then
	echo "$dest"
	exit 0
fi

echo "fetch-kernel: downloading $pkg" >&2
mkdir -p "$cache_root"
tmp=$(mktemp -d "$cache_root/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user cannot write into root's temp dirs; that is only a warning.
(cd "$tmp" && apt-get download "$pkg" >/dev/null 2>"$tmp/apt.err") ||
	{ cat "$tmp/apt.err" >&2; die "apt-get download $pkg failed"; }
deb=$(ls "$tmp"/*.deb)

mod_dir="lib/modules/$kver"
dpkg-deb --fsys-tarfile "$deb" > "$tmp/pkg.tar"
rm -f "$deb"
# Older packages keep modules under /lib, newer (merged-usr) under /usr/lib.
tar -tf "$tmp/pkg.tar" > "$tmp/list"
mod_prefix=$(grep -m1 -E "^\./(usr/)?$mod_dir/kernel/" "$tmp/list" | sed -E "s@($mod_dir)/kernel/.*@\1@")
[ -n "$mod_prefix" ] || die "no modules for $kver in $pkg"

# Path of module NAME inside the package, empty when it is not a module.
module_path() {
	grep -m1 -E "^$mod_prefix/kernel/.*/$1\.ko(\.xz|\.zst|\.gz)?$" "$tmp/list" || true
}

mkdir -p "$tmp/out/modules"
tar -xf "$tmp/pkg.tar" -C "$tmp/out" --strip-components=2 "./boot/vmlinuz-$kver" "./boot/config-$kver"
tar -xf "$tmp/pkg.tar" -C "$tmp" "./$mod_dir/modules.builtin" 2>/dev/null ||
	tar -xf "$tmp/pkg.tar" -C "$tmp" "./usr/$mod_dir/modules.builtin"
builtin_list=$(find "$tmp" -name modules.builtin | head -1)

# Extract one module uncompressed (busybox insmod reads plain .ko only).
extract_module() {
	local name=$1 path=$2 out=$tmp/out/modules/$1.ko
	tar -xOf "$tmp/pkg.tar" "$path" > "$out.raw"
	case $path in
	*.xz) xz -dc "$out.raw" > "$out" ;;
	*.zst) zstd -dqc "$out.raw" > "$out" ;;
	*.gz) gzip -dc "$out.raw" > "$out" ;;
	*) mv "$out.raw" "$out" ;;
	esac
	rm -f "$out.raw"
}

module_depends() {
	tr '\0' '\n' < "$tmp/out/modules/$1.ko" | sed -n 's/^depends=//p' | head -1 | tr ',' ' '
}

# Depth-first: dependencies are written before the module that needs them.
declare -A seen=()
order=()
visit() {
	local name=$1 path dep
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	path=$(module_path "$name")
	if [ -z "$path" ]; then
		grep -qE "/$name\.ko$" "$builtin_list" && return 0
		die "module $name is neither in $pkg nor built in"
	fi
	extract_module "$name" "$path"
	for dep in $(module_depends "$name"); do
		visit "$dep"
	done
	order+=("$name")
}
for m in $wanted; do
	visit "$m"
done
printf '%s\n' "${order[@]}" > "$tmp/out/modules/order"

echo "$pkg" > "$tmp/out/package"
date -u +%FT%TZ > "$tmp/out/complete"
rm -rf "$dest"
mv "$tmp/out" "$dest"
echo "fetch-kernel: cached $kver ($(du -sh "$dest" | cut -f1)) in $dest" >&2
echo "$dest"
