#!/usr/bin/env bash
# memhook's demo on a new machine (run as root): installs what it needs,
# builds, then runs real containers through runc with memhook registered as
# their OCI hook: limits applied and verified, an OOM kill, and the verdicts.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" || true; }

say "installing Debian packages and building"
scripts/install-deps.sh demo
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
memhook=$top/build/hooks/memhook

say "memhook validate: one config.json (limit 64m, swap 128m, swappiness 30), planned for v1 and for v2"
show "$memhook" validate --config examples/bundles/swap/config.json --cgroup v1
show "$memhook" validate --config examples/bundles/swap/config.json --cgroup v2
say "an invalid config is refused with the field and the fix (exit 1)"
show "$memhook" validate --config examples/bundles/invalid-swap/config.json --cgroup v1

# The integration tests' helpers make the busybox rootfs (with our static
# helpers) and the bundles; nothing outside the demo's own dirs is touched.
export MEMHOOK_BUILD=$top/build
export MEMHOOK_TEST_WORK=$top/tests/work/demo
export MEMHOOK_TEST_RUN=/run/memhook-demo
# shellcheck source=../tests/lib/common.bash
source tests/lib/common.bash
MH_CGVER=$(cg_version)
MH_TNAME=demo
MH_TW=$MH_WORK/t/demo
MH_TR=$MH_RUN/demo
STATE=$MH_TR/state
MH_CIDS=()
MH_NBUNDLE=0
rm -rf "$MH_TW" "$MH_TR"
mkdir -p "$MH_TW" "$MH_TR" "$MH_RUNC_ROOT"
trap 'mh_teardown; rm -rf "$MEMHOOK_TEST_WORK" "$MEMHOOK_TEST_RUN"' EXIT
mh_rootfs

say "a container with limit 64m and reservation 32m, run by runc with memhook as its hook (cgroup v$MH_CGVER)"
mh_bundle
mh_hooks
mh_mem limit $((64 * MIB))
mh_mem reservation $((32 * MIB))
mh_args_read limit reservation
show jq -c .hooks.createRuntime "$CONFIG"
printf '$ runc run %s   # the container prints its own cgroup files\n' "$CID"
mh_run_container
say "memhook's record of it: the plan applied, every value read back"
show "$memhook" events --state-dir "$STATE" "$CID"
show jq -c 'select(.event == "apply") | {cgroup, version, plan, corrections}' "$STATE/events.jsonl"

say "the operator's --default-limit 48m reaches a container that set no limit"
mh_bundle
mh_hooks --default-limit 48m
mh_args_read limit
mh_run_container
show "$memhook" events --state-dir "$STATE" "$CID"

say "a 64 MiB container touching 100 MiB: the OOM killer strikes the main process"
mh_bundle
mh_hooks
mh_no_swap $((64 * MIB))
mh_args touchmem 100
set +e
mh_run_container
echo "runc run: exit status $?"
set -e
show "$memhook" events --state-dir "$STATE" "$CID"

if command -v stress >/dev/null; then
  say "Debian's stress --vm 1 --vm-bytes 100M in 64 MiB: its worker is OOM-killed, stress exits 1"
  mh_bundle --stress
  mh_hooks
  mh_no_swap $((64 * MIB))
  mh_args stress --vm 1 --vm-bytes 100M --timeout 20
  set +e
  mh_run_container
  echo "runc run: exit status $? (not 137: the main process was not the victim)"
  set -e
  show "$memhook" events --state-dir "$STATE" "$CID"
  show "$memhook" inspect --state-dir "$STATE" "$CID"
fi
