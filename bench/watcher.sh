#!/bin/bash
# bench/watcher.sh: what the OOM watcher costs, on real runc containers.
#
#   memory   private memory per watcher (Private_Clean + Private_Dirty from
#            /proc/<pid>/smaps_rollup) and its Pss, with N watchers running
#            at once (conmon, one per podman container: about 476 KiB here)
#   wake-ups voluntary + involuntary context switches of every watcher over
#            IDLE seconds while nothing happens in the containers: must be 0
#   latency  from the kernel's timestamp of the "Killed process" line to the
#            watcher's oom_kill event (bench mode: MEMHOOK_WATCH_BENCH=1 in
#            the hook's env adds "lat_us"), over K OOM kills; target < 5 ms
#
# Not a test: prints figures.  Needs root, runc, busybox-static, jq, python3,
# a built tree.  Usage:
#   sudo bench/watcher.sh [-b BUILD_DIR] [-n N] [-k K] [-i IDLE_SECONDS]
# Resources: cgroups under /$PREFIX, runc root /run/$PREFIX-runc, containers
# $PREFIX-*; PREFIX defaults to memhook-bench (env BENCH_PREFIX).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=$(cd "$HERE/.." && pwd)
BUILD=$PROJECT/build
N=20
K=10
IDLE=10
PREFIX=${BENCH_PREFIX:-memhook-bench}
while getopts b:n:k:i: o; do
	case $o in
	b) BUILD=$(cd "$OPTARG" && pwd) ;;
	n) N=$OPTARG ;;
	k) K=$OPTARG ;;
	i) IDLE=$OPTARG ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-n N] [-k K] [-i IDLE_SECONDS]" >&2; exit 2 ;;
	esac
done

MEMHOOK=$BUILD/hooks/memhook
TOUCHMEM=$BUILD/tests/helpers/touchmem
RUNC_ROOT=/run/$PREFIX-runc
for f in "$MEMHOOK" "$TOUCHMEM"; do
	[ -x "$f" ] || { echo "missing $f: build first (ninja -C $BUILD)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for c in runc jq python3 busybox; do
	command -v $c >/dev/null || { echo "needs $c" >&2; exit 1; }
done

W=$(mktemp -d /tmp/$PREFIX.XXXXXX)
STATE=/run/$PREFIX-state-$$
IDS=()
cleanup() {
	local id
	for id in "${IDS[@]}"; do runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true; done
	# runc makes the cgroup in every v1 controller of a hybrid host.
	for id in "${IDS[@]}"; do rmdir /sys/fs/cgroup/*/"$PREFIX/$id" "/sys/fs/cgroup/$PREFIX/$id" 2>/dev/null || true; done
	rmdir /sys/fs/cgroup/*/"$PREFIX" "/sys/fs/cgroup/$PREFIX" 2>/dev/null || true
	rmdir "$RUNC_ROOT" 2>/dev/null || true
	rm -rf "$W" "$STATE"
}
trap cleanup EXIT

# A busybox rootfs with touchmem.
mkdir -p "$W/rootfs"/{bin,dev,proc,sys,tmp}
cp "$(command -v busybox)" "$W/rootfs/bin/busybox"
ln -s busybox "$W/rootfs/bin/sh"
ln -s busybox "$W/rootfs/bin/sleep"
cp "$TOUCHMEM" "$W/rootfs/bin/touchmem"

# bundle ID ARGS_JSON [BENCH]: a bundle with memhook's createRuntime and
# poststop hooks, 64 MiB memory (and memory+swap on v1).
bundle() {
	local id=$1 args=$2 bench=${3:-0} b=$W/b-$1
	mkdir -p "$b"
	(cd "$b" && runc spec)
	jq --arg root "$W/rootfs" --arg cg "/$PREFIX/$id" --argjson a "$args" --arg m "$MEMHOOK" --arg s "$STATE" \
		--arg bench "MEMHOOK_WATCH_BENCH=$bench" '
		.root = {path: $root, readonly: true} | .process.terminal = false | .process.args = $a
		| .linux.cgroupsPath = $cg | .linux.resources.memory = {limit: 67108864, swap: 67108864}
		| .hooks = {createRuntime: [{path: $m, args: ["memhook", "hook", "createRuntime", "--state-dir", $s], env: [$bench]}],
		            poststop: [{path: $m, args: ["memhook", "hook", "poststop", "--state-dir", $s]}]}' \
		"$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	echo "$b"
}

watcher_of() { jq -r .watcher_pid "$STATE/$1/record.json"; }

# ---------------------------------------------------------------- memory, wake-ups
echo "== $N watchers on sleeping busybox containers (runc $(runc --version | head -1 | awk '{print $3}'), $(uname -r))"
for i in $(seq "$N"); do
	id=$PREFIX-idle-$i
	IDS+=("$id")
	b=$(bundle "$id" '["/bin/sleep", "3600"]')
	runc --root "$RUNC_ROOT" run -d -b "$b" "$id" </dev/null >/dev/null 2>&1
done
PIDS=()
for i in $(seq "$N"); do PIDS+=("$(watcher_of "$PREFIX-idle-$i")"); done
exe=$(readlink "/proc/${PIDS[0]}/exe")
echo "watcher binary: $exe ($(stat -c %s "$exe") bytes)"

mem_report() {
	local p total=0 pss=0 min=999999 max=0 v
	for p in "${PIDS[@]}"; do
		v=$(awk '/^Private_(Clean|Dirty):/{s+=$2} END{print s}' "/proc/$p/smaps_rollup")
		total=$((total + v))
		[ "$v" -lt "$min" ] && min=$v
		[ "$v" -gt "$max" ] && max=$v
		pss=$((pss + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")))
	done
	echo "private memory per watcher: avg $((total / ${#PIDS[@]})) KiB (min $min, max $max; target < 256 KiB; conmon ~476 KiB)"
	echo "Pss per watcher:            avg $((pss / ${#PIDS[@]})) KiB (shared pages divided among their users)"
}
mem_report

switches() {
	local p s=0
	for p in "${PIDS[@]}"; do
		s=$((s + $(awk '/^(non)?voluntary_ctxt_switches:/{t+=$2} END{print t}' "/proc/$p/status")))
	done
	echo $s
}
before=$(switches)
sleep "$IDLE"
after=$(switches)
echo "context switches of all $N watchers over ${IDLE} s idle: $((after - before)) (target 0)"

for id in "${IDS[@]}"; do runc --root "$RUNC_ROOT" kill "$id" KILL >/dev/null 2>&1 || true; done
sleep 0.5
for id in "${IDS[@]}"; do runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true; done
IDS=()
left=0
for p in "${PIDS[@]}"; do
	st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null || echo gone)
	[ "$st" = Z ] || [ "$st" = gone ] || left=$((left + 1))
done
echo "watchers still running after their containers were deleted: $left (target 0)"

# ---------------------------------------------------------------- latency
# The printk clock (local_clock) against CLOCK_MONOTONIC: write a record,
# read its timestamp back.
offset=$(python3 - <<'EOF'
import os, time
fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
os.lseek(fd, 0, os.SEEK_END)
tag = "memhook-bench-calibration-%d" % os.getpid()
t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
with open("/dev/kmsg", "w") as w:
    w.write(tag + "\n")
t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
while True:
    try:
        rec = os.read(fd, 8192).decode(errors="replace")
    except BlockingIOError:
        time.sleep(0.001)
        continue
    if tag in rec:
        ts = int(rec.split(";")[0].split(",")[2])
        print(ts - (t0 + t1) // 2000)
        break
EOF
)
echo "== latency over $K OOM kills (printk clock - CLOCK_MONOTONIC: ${offset} us, subtracted)"
LAT=()
OWN=()
for i in $(seq "$K"); do
	id=$PREFIX-oom-$i
	IDS+=("$id")
	b=$(bundle "$id" '["/bin/touchmem", "100"]' 1)
	runc --root "$RUNC_ROOT" run -b "$b" "$id" </dev/null >/dev/null 2>&1 || true
	read -r l r < <(jq -r --arg id "$id" 'select(.id == $id and .event == "oom_kill") | "\(.lat_us) \(.read_us)"' "$STATE/events.jsonl" | head -1) || true
	v=$(jq -r --arg id "$id" 'select(.id == $id and .event == "exit") | .verdict' "$STATE/events.jsonl")
	if [ -n "${l:-}" ] && [ "$l" != null ]; then
		LAT+=($((l + offset)))
		OWN+=($((l - r)))
		echo "kill $i: line -> event $((l + offset)) us (line read after $((r + offset)) us), verdict $v"
	else
		echo "kill $i: no oom_kill event, verdict $v"
	fi
done
stats() { sort -n | awk -v what="$1" '{a[NR]=$1} END{if (NR) printf "%s: min %d us, median %d us, max %d us over %d kills\n", what, a[1], a[int((NR+1)/2)], a[NR], NR}'; }
printf '%s\n' "${LAT[@]}" | stats "latency kill line -> event (target < 5000 us)"
printf '%s\n' "${OWN[@]}" | stats "watcher's own work, line read -> event ready"
