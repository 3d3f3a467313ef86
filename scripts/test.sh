#!/usr/bin/env bash
# The whole test suite on a new machine (run as root):
#   installs Debian packages, builds (normal + ASan/UBSan), runs the unit
#   tests under ASan+UBSan and valgrind, the bats suite on the host (cgroup v1
#   here) with both builds, then the bats scenarios in a cgroup v2 VM and a
#   cgroup v1-with-swap VM.  One "N passed, N failed" line per part and a total.
#
#   MEMHOOK_SKIP_VM=1     skip the VM suites (they are also skipped with a
#                         reason when qemu cannot run here)
#   MEMHOOK_SKIP_ENGINES=1 skip podman/containerd/docker tests
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

total_pass=0
total_fail=0
failed_parts=()

count() { # part passed failed
  echo "$1: $2 passed, $3 failed"
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  [ "$3" -eq 0 ] || failed_parts+=("$1")
}

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh test || { echo "dependencies: 0 passed, 1 failed"; exit 1; }

step "build"
build() { # dir [meson options…]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { tail -50 "$dir.ninja.log"; return 1; }
}
if ! build build || ! build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dseccomp=false; then
  echo "build: 0 passed, 1 failed"
  exit 1
fi
rm -f build*.log

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)," per
# program; a program that died before its summary counts as one failure.
unit_counts() { # testlog meson-summary
  local p f died
  p=$(grep -ahoE '\[  PASSED  \] [0-9]+ test' "$1" | awk '{s+=$4} END {print s+0}')
  f=$(grep -ahoE '\[  FAILED  \] [0-9]+ test' "$1" | awk '{s+=$4} END {print s+0}')
  died=$(awk '/^Fail:/ {print $2}' "$2")
  [ "$f" -ge "${died:-1}" ] || f=${died:-1}
  echo "$p $f"
}

step "unit tests (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs >build-asan/unit.summary 2>&1
tail -25 build-asan/unit.summary
read -r p f < <(unit_counts build-asan/meson-logs/testlog.txt build-asan/unit.summary)
count "unit" "$p" "$f"

step "unit tests (valgrind)"
meson test -C build --wrapper 'valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite -q' \
  --timeout-multiplier 5 --print-errorlogs >build/unit.summary 2>&1
tail -8 build/unit.summary
read -r p f < <(unit_counts build/meson-logs/testlog-valgrind.txt build/unit.summary)
count "valgrind" "$p" "$f"

bats_counts() { # log → "passed failed"
  local line
  line=$(grep -aE '^bats: [0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -z "$line" ]; then echo "0 1"; return; fi
  echo "$line" | awk '{print $2, $4}' | tr -d ','
}

step "integration tests on the host (bats, real runc)"
MEMHOOK_BUILD=$top/build tests/run-bats.sh 2>&1 | tee build/bats-host.log
read -r p f < <(bats_counts build/bats-host.log)
count "host" "$p" "$f"

step "integration tests on the host with ASan+UBSan"
MEMHOOK_BUILD=$top/build-asan MEMHOOK_SKIP_ENGINES=1 tests/run-bats.sh 2>&1 | tee build-asan/bats-host.log
read -r p f < <(bats_counts build-asan/bats-host.log)
count "host-asan" "$p" "$f"

if [ "${MEMHOOK_SKIP_VM:-0}" != 1 ] && [ -x tests/vm/run-suites.sh ]; then
  for layout in v2 v1; do
    step "integration tests in a cgroup $layout VM"
    tests/vm/run-suites.sh "$layout" 2>&1 | tee "build/bats-vm-$layout.log"
    read -r p f < <(bats_counts "build/bats-vm-$layout.log")
    count "vm-$layout" "$p" "$f"
  done
fi

echo
[ ${#failed_parts[@]} -eq 0 ] || echo "failed parts: ${failed_parts[*]}"
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
