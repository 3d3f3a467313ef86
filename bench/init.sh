#!/bin/bash
# bench/init.sh [BUILD_DIR]: memhook-init's own memory while its workload
# sleeps.  Prints VmRSS (/proc/PID/status) and the private part of the
# resident set (Private_Clean + Private_Dirty from /proc/PID/smaps_rollup),
# which is what each container pays; the target is VmRSS < 200 KiB.  Text pages
# of the binary count as private only while no other instance maps them;
# Anonymous is what every instance costs whatever the others do.  Measured in a
# supervising state (a restart policy, a verdict dir, an events file) and
# also as PID 1 of a new pid namespace when unshare(1) allows it.
set -euo pipefail

build=${1:-${MESON_BUILD_ROOT:-build}}
init=$build/init/memhook-init
[[ -x $init ]] || { echo "bench/init.sh: $init not built; give the build dir" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do stop "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/verdicts"

# Stop the memhook-init $1 we started: SIGTERM reaches its workload and
# ends restarts, so nothing is left behind.
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

over=0

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "$2"; }

# Report the memhook-init whose pid is $1; $2 names the case.
measure() {
  local pid=$1 name=$2 rss priv_clean priv_dirty anon
  rss=$(kib VmRSS "/proc/$pid/status")
  anon=$(kib Anonymous "/proc/$pid/smaps_rollup")
  priv_clean=$(kib Private_Clean "/proc/$pid/smaps_rollup")
  priv_dirty=$(kib Private_Dirty "/proc/$pid/smaps_rollup")
  printf '%-28s VmRSS %4s KiB   Private %4s KiB   Anonymous %4s KiB   %s\n' \
    "$name" "$rss" "$((priv_clean + priv_dirty))" "$anon" \
    "$([[ $rss -lt 200 ]] && echo ok || echo 'OVER 200 KiB')"
  [[ $rss -lt 200 ]] || over=1
}

# The pid of the first process whose parent is $1 and whose comm is $2.
child_named() {
  local parent=$1 comm=$2 c
  for _ in $(seq 1 100); do
    for c in $(cat /proc/"$parent"/task/*/children 2>/dev/null); do
      [[ $(cat /proc/"$c"/comm 2>/dev/null) == "$comm" ]] && { echo "$c"; return 0; }
    done
    sleep 0.02
  done
  return 1
}

"$init" --policy on-oom:3 --backoff 100ms,1m,10s --grow 1.5,1g \
  --verdict-dir "$work/verdicts" --events-file "$work/events" -- sleep 30 &
pid=$!
pids+=("$pid")
sleep 0.3
measure "$pid" "supervising (subreaper)"
stop "$pid"

if unshare --pid --fork --mount-proc true 2>/dev/null; then
  unshare --pid --fork --mount-proc "$init" --policy on-oom -- sleep 30 &
  pid=$!
  pids+=("$pid")
  if inner=$(child_named "$pid" memhook-init); then
    sleep 0.2
    measure "$inner" "PID 1 of a pid namespace"
    kill -TERM "$inner"
  fi
  stop "$pid"
fi

size "$init" | awk 'NR == 2 { printf "binary: text %d, data %d, bss %d bytes\n", $1, $2, $3 }'
# exit 1 when the resident set is over the target (a glibc build is)
exit "$over"
