#!/usr/bin/env bash
# The bats scenarios that differ between cgroup v1 and v2, run inside a VM
# of the given layout with the host's freshly built binaries (one boot per
# layout: under TCG every process start is ~30x slower, so the unit tests and
# the engine tests stay on the host).
#
#   tests/vm/run-suites.sh v2|v1 [BATS FILES…]
# Prints tests/run-bats.sh's "bats: N passed, N failed" line; exits like it.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)
layout=${1:?usage: $0 v2|v1 [BATS FILES…]}
shift
files=("$@")
# v2: the tests tagged "vm" (# bats test_tags=vm): one real container per
# translation or watcher path that differs between the versions.  The rest
# is the same code on both and runs on the host: under TCG here every
# fork+exec costs 20-60 ms and one bats test 15-25 s, so the VM runs only
# what the host cannot show.  v1 in the VM adds v1 with real swap.
tags=vm
if [ ${#files[@]} -eq 0 ]; then
  case $layout in
    v2) files=(tests/bats/hook_apply.bats tests/bats/swap_parity.bats tests/bats/oom_verdicts.bats
               tests/bats/crun_hook.bats tests/bats/runtime_cli.bats tests/bats/restart_container.bats
               tests/bats/restart_process.bats) ;;
    *) files=(tests/bats/swap_parity.bats) ;;
  esac
else
  tags=${MEMHOOK_BATS_TAGS:-}
fi

"$here/deps.sh" >/dev/null || { echo "vm-$layout: cannot install the VM's packages"; echo "bats: 0 passed, 1 failed"; exit 1; }

# The guest's /tmp is empty and only the project folder is shared: work
# files (rootfs, bundles) go there; runc state stays on the guest's tmpfs.
run_vm() {
  "$here/run-in-vm.sh" --cgroup "$layout" --timeout 1500 \
    --env MEMHOOK_BUILD="$top/build" \
    --env MEMHOOK_TEST_WORK="$top/tests/work/vm-$layout" \
    --env MEMHOOK_TEST_RUN=/run/memhook-t \
    --env MEMHOOK_SKIP_ENGINES=1 \
    --env MEMHOOK_IN_VM=1 \
    --env MEMHOOK_BATS_TAGS="$tags" \
    -- "$top/tests/run-bats.sh" "${files[@]/#/$top/}"
}
run_vm
rc=$?
# 126: the guest's kernel locked up (an emulator fault, not a test's): boot
# once more with one vCPU, where no cross-CPU deadlock can happen, and say so.
if [ "$rc" = 126 ]; then
  echo "vm-$layout: the guest kernel locked up; running the suites again with one vCPU"
  MEMHOOK_VM_SMP=1 run_vm
  rc=$?
fi
exit "$rc"
