#!/usr/bin/env bash
# Container mode's restart latency: a workload that is OOM-killed on every
# run (touchmem 100 MiB under a 32 MiB limit) under io.memhook.restart=
# on-oom:N with a constant 100 ms backoff, through `memhook-runtime run`.
# Per restart: from the oom_kill event to the next run's apply event, minus
# the restart's delay_ms = what memhook and runc add (reap, verdict,
# delete, rewrite, a new `runc run` up to the hook's apply).  Prints each
# restart and the median and max.
#
#   bench/restart.sh [--restarts N] [BUILD_DIR]      (N = 10 by default)
#
# Needs root, runc, jq, busybox.  Container memhook-c-bench-<pid>, cgroup
# /memhook-c/bench-<pid>; everything is removed at exit.
set -euo pipefail

restarts=10
build=
while [ $# -gt 0 ]; do
	case $1 in
	--restarts) restarts=$2; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) build=$1; shift ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
build=${build:-${MEMHOOK_BUILD:-$(dirname "$here")/build}}
build=$(cd "$build" && pwd) || { echo "restart.sh: no build dir" >&2; exit 2; }
wrapper=$build/shim/memhook-runtime
memhook=$build/hooks/memhook
touchmem=$build/tests/helpers/touchmem
runc=$(command -v runc) || { echo "restart.sh: runc not installed" >&2; exit 2; }
for f in "$wrapper" "$memhook" "$touchmem"; do
	[ -x "$f" ] || { echo "restart.sh: $f missing; build first (ninja -C $build)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "restart.sh: needs root" >&2; exit 2; }

work=$(mktemp -d /run/memhook-c-bench.XXXXXX)
id=memhook-c-bench-$$
cg=memhook-c/bench-$$
cleanup() {
	"$runc" --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || true
	rmdir /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg" /sys/fs/cgroup/*/memhook-c /sys/fs/cgroup/memhook-c 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/b/rootfs/bin" "$work/state"
chmod 700 "$work/state"
cp "$(command -v busybox)" "$work/b/rootfs/bin/busybox"
cp "$touchmem" "$work/b/rootfs/bin/touchmem"
(cd "$work/b" && "$runc" spec)
jq --arg cg "/$cg" --arg n "on-oom:$restarts" '
	.process.terminal = false | .process.args = ["/bin/touchmem", "100"]
	| .linux.cgroupsPath = $cg | .linux.resources.memory = {limit: 33554432}
	| .annotations = {"io.memhook.restart": $n, "io.memhook.restart.backoff": "100ms,100ms,10s"}' \
	"$work/b/config.json" >"$work/c" && mv "$work/c" "$work/b/config.json"
if [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
	jq '.linux.resources.memory.swap = 33554432' "$work/b/config.json" >"$work/c" && mv "$work/c" "$work/b/config.json"
fi

export MEMHOOK_STATE_DIR=$work/state MEMHOOK_HOOK_PATH=$memhook MEMHOOK_CONFIG=$work/no-memhook.json
export MEMHOOK_REAL_RUNTIME=$runc
unset MEMHOOK_DEFAULT_LIMIT MEMHOOK_MAX_LIMIT MEMHOOK_UNSUPPORTED MEMHOOK_ON_FAULT

rc=0
"$wrapper" --root "$work/runc" run --bundle "$work/b" "$id" </dev/null >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 137 ] || { echo "restart.sh: expected exit 137 after $restarts restarts, got $rc: $(cat "$work/err")" >&2; exit 1; }

# ms since the epoch of each selected event's time.
times() {
	jq -r --arg e "$1" 'select(.event == $e) | .time' "$work/state/events.jsonl" | while read -r t; do
		ms=${t##*.}
		echo $(($(date -u -d "${t%.*}Z" +%s) * 1000 + 10#${ms%Z}))
	done
}
mapfile -t kill_t < <(times oom_kill)
mapfile -t apply_t < <(times apply)
mapfile -t delay < <(jq -r 'select(.event == "restart") | .delay_ms' "$work/state/events.jsonl")
[ "${#delay[@]}" = "$restarts" ] || { echo "restart.sh: ${#delay[@]} restart events, expected $restarts" >&2; exit 1; }
[ "${#kill_t[@]}" -ge "$restarts" ] || { echo "restart.sh: ${#kill_t[@]} oom_kill events" >&2; exit 1; }

: >"$work/lat"
for i in $(seq 0 $((restarts - 1))); do
	lat=$((apply_t[i + 1] - kill_t[i] - delay[i]))
	printf 'restart %2d: oom_kill -> apply %4d ms, delay %d ms, latency %4d ms\n' $((i + 1)) \
		$((apply_t[i + 1] - kill_t[i])) "${delay[i]}" "$lat"
	echo "$lat" >>"$work/lat"
done
sort -n "$work/lat" | awk '{v[NR] = $1} END {
	m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "restarts: %d, latency median %.1f ms, max %d ms (OOM kill to the next run'"'"'s apply, backoff excluded)\n", NR, m, v[NR]
}'
