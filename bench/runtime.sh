#!/usr/bin/env bash
# memhook-runtime's own cost: `memhook-runtime run` against `runc run` of
# the same /bin/true bundle that already carries memhook's hooks (so the
# wrapper plans, finds nothing to change, and execs runc).  Runs PAIRS
# pairs, alternating which side goes first, and prints the median of the
# per-pair ratios wrapper/runc (target <= 1.03) with the medians of both.
#
#   bench/runtime.sh [--pairs N] [--stub-hooks] [BUILD_DIR]
#
# --stub-hooks: the hooks in the bundle are /bin/true installed as
# "memhook" (still recognised as memhook's, so nothing is rewritten): the
# runtime's hook time drops out and the wrapper's share is measured against
# the smallest `runc run` there is.  Default: the built memhook hook.
# Needs root, runc, jq, busybox.  Containers memhook-r-bench-*, cgroup
# /memhook-r/bench-<pid>; everything is removed at exit.
set -euo pipefail

pairs=200
stub=0
build=
while [ $# -gt 0 ]; do
	case $1 in
	--pairs) pairs=$2; shift 2 ;;
	--stub-hooks) stub=1; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) build=$1; shift ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
build=${build:-${MEMHOOK_BUILD:-$(dirname "$here")/build}}
build=$(cd "$build" && pwd) || { echo "runtime.sh: no build dir" >&2; exit 2; }
wrapper=$build/shim/memhook-runtime
memhook=$build/hooks/memhook
runc=$(command -v runc) || { echo "runtime.sh: runc not installed" >&2; exit 2; }
for f in "$wrapper" "$memhook"; do
	[ -x "$f" ] || { echo "runtime.sh: $f missing; build first (ninja -C $build)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "runtime.sh: needs root" >&2; exit 2; }

work=$(mktemp -d /run/memhook-r-bench.XXXXXX)
cg=memhook-r/bench-$$
cleanup() {
	"$runc" --root "$work/runc" delete -f "memhook-r-bench-$$" >/dev/null 2>&1 || true
	rmdir /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg" /sys/fs/cgroup/*/memhook-r /sys/fs/cgroup/memhook-r 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# A busybox rootfs and a bundle running /bin/true.
mkdir -p "$work/b/rootfs/bin" "$work/state" "$work/hookbin"
chmod 700 "$work/state"
cp "$(command -v busybox)" "$work/b/rootfs/bin/busybox"
ln -s busybox "$work/b/rootfs/bin/true"
(cd "$work/b" && "$runc" spec)
hook=$memhook
if [ "$stub" = 1 ]; then
	cp /bin/true "$work/hookbin/memhook"
	hook=$work/hookbin/memhook
fi
jq --arg cg "/$cg" --arg hook "$hook" --arg state "$work/state" '
	def h(stage): {path: $hook, args: ["memhook", "hook", stage, "--state-dir=\($state)"]};
	.process.terminal = false | .process.args = ["/bin/true"]
	| .linux.cgroupsPath = $cg | .linux.resources.memory = {limit: 67108864}
	| .hooks = {createRuntime: [h("createRuntime")], poststart: [h("poststart")], poststop: [h("poststop")]}' \
	"$work/b/config.json" >"$work/c" && mv "$work/c" "$work/b/config.json"
sum_before=$(sha256sum <"$work/b/config.json")

export MEMHOOK_STATE_DIR=$work/state MEMHOOK_HOOK_PATH=$hook MEMHOOK_CONFIG=$work/no-memhook.json
unset MEMHOOK_REAL_RUNTIME MEMHOOK_DEFAULT_LIMIT MEMHOOK_MAX_LIMIT MEMHOOK_UNSUPPORTED MEMHOOK_ON_FAULT

# one RUNTIME: nanoseconds of one `run` of the bundle.
one() {
	local t0 t1
	t0=$(date +%s%N)
	"$1" --root "$work/runc" run --bundle "$work/b" "memhook-r-bench-$$" </dev/null >/dev/null 2>"$work/err" ||
		{ echo "runtime.sh: $1 run failed: $(cat "$work/err")" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $((t1 - t0))
}

# Warm the page cache and the binaries.
for _ in 1 2 3; do one "$runc" >/dev/null; one "$wrapper" >/dev/null; done

: >"$work/pairs"
for i in $(seq "$pairs"); do
	if [ $((i % 2)) = 0 ]; then
		a=$(one "$runc"); b=$(one "$wrapper")
	else
		b=$(one "$wrapper"); a=$(one "$runc")
	fi
	echo "$a $b" >>"$work/pairs"
done

[ "$(sha256sum <"$work/b/config.json")" = "$sum_before" ] ||
	{ echo "runtime.sh: the wrapper rewrote a bundle that already had memhook's hooks" >&2; exit 1; }

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
runc_ms=$(awk '{print $1 / 1e6}' "$work/pairs" | median)
wrap_ms=$(awk '{print $2 / 1e6}' "$work/pairs" | median)
ratio=$(awk '{printf "%.6f\n", $2 / $1}' "$work/pairs" | median)
hooks=$([ "$stub" = 1 ] && echo "stub hooks (/bin/true as memhook)" || echo "memhook's hooks ($memhook)")
printf 'pairs: %d, %s\n' "$pairs" "$hooks"
printf 'runc run:            median %.2f ms\n' "$runc_ms"
printf 'memhook-runtime run: median %.2f ms\n' "$wrap_ms"
printf 'median ratio wrapper/runc: %.4f (target <= 1.03)\n' "$ratio"
awk -v r="$ratio" 'BEGIN {exit !(r <= 1.03)}'
