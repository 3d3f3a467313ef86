#!/usr/bin/env bash
# Installs what memhook's build, demo and tests need, from Debian's packages
# only.  Idempotent: packages already present are not fetched again.
#   scripts/install-deps.sh [build|demo|test]   (default: test = everything)
set -euo pipefail

want=${1:-test}

build_pkgs=(gcc libc6-dev meson ninja-build pkg-config libyajl-dev libcap-dev libseccomp-dev
            libcmocka-dev scdoc musl-tools)
demo_pkgs=(runc busybox-static stress jq)
test_pkgs=(bats bats-assert bats-support valgrind podman containerd docker.io crun
           qemu-system-x86 cpio xz-utils)

case $want in
  build) pkgs=("${build_pkgs[@]}") ;;
  demo) pkgs=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${demo_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|demo|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

# No daemon may start on install (docker.io, containerd, podman's units):
# the tests start private ones and stop them by pid.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
