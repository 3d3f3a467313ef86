#!/usr/bin/env bash
# The hook's cost: `runc run` of a /bin/true bundle with memhook in
# createRuntime, poststart and poststop, against the same bundle with a
# do-nothing static hook (tests/helpers/nothing) in the same stages.  One
# run, PAIRS pairs (default 400: one `runc run` varies by +-30% here, so
# fewer pairs move the median by +-0.02) alternating which side goes
# first; prints the median of the per-pair ratios memhook/nothing (target
# <= 1.05).
#
#   bench/hook.sh [--pairs N] [BUILD_DIR]
# Needs root, runc, jq, busybox.  Containers memhook-b-*, cgroups
# /memhook-b/*; everything is removed at exit.
set -euo pipefail

pairs=400
build=
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) pairs=$2; shift 2 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) build=$1; shift ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${build:-${MEMHOOK_BUILD:-$(dirname "$here")/build}}" && pwd)
memhook=$build/hooks/memhook
nothing=$build/tests/helpers/nothing
for f in "$memhook" "$nothing"; do
	[ -x "$f" ] || { echo "hook.sh: $f missing; build first (ninja -C $build)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "hook.sh: needs root" >&2; exit 2; }

work=$(mktemp -d /run/memhook-b-bench.XXXXXX)
# memhook's state dir where a host keeps it: /run/memhook, on tmpfs as
# systemd mounts /run.  Here /run may be on disk, so use /dev/shm (tmpfs)
# when /run is not tmpfs: a file created on a busy ext4 waited ~1.5 ms for
# its journal, which measured the disk, not memhook.
statedir=$work/state
if [ "$(stat -f -c %T /run)" != tmpfs ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	statedir=$(mktemp -d /dev/shm/memhook-b-state.XXXXXX)
fi
cleanup() {
	local id
	for id in $(runc --root "$work/runc" list -q 2>/dev/null); do
		runc --root "$work/runc" delete -f "$id" >/dev/null 2>&1 || true
	done
	rmdir /sys/fs/cgroup/*/memhook-b/* /sys/fs/cgroup/memhook-b/* /sys/fs/cgroup/*/memhook-b /sys/fs/cgroup/memhook-b 2>/dev/null || true
	rm -rf "$work" "$statedir"
}
trap cleanup EXIT

mkdir -p "$work/rootfs/bin" "$statedir"
chmod 700 "$statedir"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
bundle() { # NAME HOOK
	mkdir -p "$work/$1"
	(cd "$work/$1" && runc spec)
	jq --arg cg "/memhook-b/$1-$$" --arg hook "$2" --arg state "$statedir" --arg root "$work/rootfs" '
		def h(stage): {path: $hook, args: ["memhook", "hook", stage, "--state-dir=\($state)"],
		               env: ["MEMHOOK_CONFIG=/nonexistent/memhook-bench.json"]};
		.root.path = $root | .process.terminal = false | .process.args = ["/bin/true"]
		| .linux.cgroupsPath = $cg | .linux.resources.memory = {limit: 67108864}
		| .hooks = {createRuntime: [h("createRuntime")], poststart: [h("poststart")], poststop: [h("poststop")]}' \
		"$work/$1/config.json" >"$work/c" && mv "$work/c" "$work/$1/config.json"
}
bundle memhook "$memhook"
bundle nothing "$nothing"

# A new container id each run (SUFFIX), as engines give: a reused id would
# grow one record's history instead.
one() { # NAME SUFFIX → nanoseconds of one `runc run`
	local t0 t1
	t0=$(date +%s%N)
	runc --root "$work/runc" run --bundle "$work/$1" "memhook-b-$1-$$-$2" </dev/null >/dev/null 2>"$work/err" ||
		{ echo "hook.sh: runc run ($1) failed: $(cat "$work/err")" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $((t1 - t0))
}

for i in 1 2 3; do one memhook "w$i" >/dev/null; one nothing "w$i" >/dev/null; done
: >"$work/pairs"
for i in $(seq "$pairs"); do
	if [ $((i % 2)) = 0 ]; then
		a=$(one nothing "$i"); b=$(one memhook "$i")
	else
		b=$(one memhook "$i"); a=$(one nothing "$i")
	fi
	echo "$a $b" >>"$work/pairs"
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf 'pairs: %d; state dir on %s\n' "$pairs" "$(stat -f -c %T "$statedir")"
printf 'runc run, do-nothing static hook x3: median %.2f ms\n' "$(awk '{print $1 / 1e6}' "$work/pairs" | median)"
printf 'runc run, memhook hook x3:           median %.2f ms\n' "$(awk '{print $2 / 1e6}' "$work/pairs" | median)"
ratio=$(awk '{printf "%.6f\n", $2 / $1}' "$work/pairs" | median)
printf 'median ratio memhook/nothing: %.4f (target <= 1.05)\n' "$ratio"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.05)}'
