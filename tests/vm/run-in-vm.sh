#!/bin/bash
# Run one command in a throw-away VM booted from Debian's own kernel, with the
# host's root read-only (plus a tmpfs overlay) and the project folder
# read-write at its host path. Used for the cgroup v2 (and pure v1) scenarios
# this host cannot show: it has hybrid cgroups and no swap.
#
# Usage: tests/vm/run-in-vm.sh [OPTIONS] -- COMMAND [ARG...]
#   --cgroup v1|v2     cgroup layout in the guest (default v2)
#   --timeout SECONDS  kill the guest after this long, exit 124 (default 600)
#   --swap MIB         zram swap in the guest, 0 for none (default 512)
#   --mem MIB          guest memory (default 2048)
#   --env NAME=VALUE   set a variable for COMMAND (repeatable)
#   --follow           stream the command's output while it runs
# Environment (debugging): MEMHOOK_VM_ACCEL=kvm|tcg,... forces the
# accelerator, MEMHOOK_VM_CPU the -cpu model (default max),
# MEMHOOK_VM_SMP the vCPU count (default 2), MEMHOOK_VM_QEMU_ARGS adds qemu
# arguments, MEMHOOK_VM_APPEND kernel ones.
# Prints COMMAND's output (stdout and stderr together) and exits with its
# status. Exit 124: the guest hung (the console tail is printed); exit 125:
# the harness failed before COMMAND ran; exit 126: the guest kernel locked
# up (soft lockup, which panics it) or panicked. Each run keeps its files
# (cmd.sh, output, status, console.log) in tests/vm/work/<run>/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)

cgroup=v2
timeout_s=600
swap_mib=512
mem_mib=2048
follow=0
envs=()

usage() {
	# The usage block of the header comment above.
	sed -n '/^# Usage:/,/^# (cmd.sh/s/^# \{0,1\}//p' "$0" >&2
	exit "${1:-125}"
}
die() { echo "run-in-vm: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
	case $1 in
	--cgroup) cgroup=${2:-}; shift 2 ;;
	--timeout) timeout_s=${2:-}; shift 2 ;;
	--swap) swap_mib=${2:-}; shift 2 ;;
	--mem) mem_mib=${2:-}; shift 2 ;;
	--env) envs+=("${2:-}"); shift 2 ;;
	--follow) follow=1; shift ;;
	--) shift; break ;;
	-h|--help) usage 0 ;;
	*) echo "run-in-vm: unknown option '$1'" >&2; usage ;;
	esac
done
[ $# -gt 0 ] || { echo "run-in-vm: no command given after --" >&2; usage; }
case $cgroup in v1|v2) ;; *) die "--cgroup '$cgroup': use v1 or v2" ;; esac
for n in "$timeout_s" "$swap_mib" "$mem_mib"; do
	[[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a whole number (--timeout, --swap and --mem take one)"
done
for e in "${envs[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env '$e': use NAME=VALUE"
done
# The kernel command line carries the paths and splits on spaces.
[[ $project =~ ^[A-Za-z0-9_./+-]+$ ]] || die "project path '$project' has characters the kernel command line cannot carry"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run tests/vm/deps.sh"

# Kernel and initramfs, built once and shared by parallel runs.
mkdir -p "$here/cache" "$here/work"
exec 9>"$here/cache/.lock"
flock 9
kdir=$("$here/fetch-kernel.sh" "$here/cache") || die "could not fetch the kernel"
initrd=$("$here/build-initramfs.sh" "$kdir") || die "could not build the initramfs"
flock -u 9
exec 9>&-
kernel=$(find "$kdir" -maxdepth 1 -name "vmlinuz-*" | head -1)

# Keep the latest runs for post-mortems, drop older ones.
{ ls -1dt "$here"/work/run-* 2>/dev/null || true; } | tail -n +31 | xargs -r rm -rf

run=$(mktemp -d "$here/work/run-$(date +%Y%m%d-%H%M%S)-XXXX")
chmod 755 "$run"
{
	echo '#!/bin/bash'
	printf 'export PATH=%q HOME=/root\n' "$PATH"
	if [ -n "${LANG:-}" ]; then printf 'export LANG=%q\n' "$LANG"; fi
	for e in "${envs[@]}"; do
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
	# The host's working directory exists in the guest too (same root).
	printf 'cd %q 2>/dev/null || cd %q || exit 125\n' "$PWD" "$project"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} > "$run/cmd.sh"

# KVM here can be a nested software hypervisor that hangs a stock kernel:
# only trust it when the CPU shows hardware virtualisation too.
accel=tcg,thread=multi
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accel=kvm
fi
accel=${MEMHOOK_VM_ACCEL:-$accel}

append="console=ttyS0 panic=-1 quiet loglevel=3 memhook.run=$run memhook.project=$project"
append+=" memhook.cgroup=$cgroup memhook.swap=$swap_mib ${MEMHOOK_VM_APPEND:-}"
# A guest whose CPUs lock up (seen once in CI under multi-threaded TCG: both
# vCPUs stuck in the kernel for 25 minutes) panics at once and ends the run
# instead of waiting for the timeout; exit 126 tells the caller.
append+=" softlockup_panic=1"

qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none
	-accel "$accel" -cpu "${MEMHOOK_VM_CPU:-max}" -smp "${MEMHOOK_VM_SMP:-2}" -m "$mem_mib" -no-reboot
	-serial "file:$run/console.log"
	-kernel "$kernel" -initrd "$initrd" -append "$append"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$project,mount_tag=project,security_model=none,multidevs=remap")
# Debugging aid: extra qemu arguments, split on spaces.
read -r -a extra <<< "${MEMHOOK_VM_QEMU_ARGS:-}"
qemu+=("${extra[@]}")

tail_pid=
if [ "$follow" = 1 ]; then
	: > "$run/output"
	tail -n +1 -F "$run/output" 2>/dev/null &
	tail_pid=$!
fi

start=$(date +%s.%N)
set +e
timeout -k 10 "$timeout_s" "${qemu[@]}" < /dev/null > "$run/qemu.log" 2>&1
qemu_rc=$?
set -e
elapsed=$(echo "$start $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')
echo "$elapsed" > "$run/seconds"

if [ -n "$tail_pid" ]; then
	sleep 0.3
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
elif [ -f "$run/output" ]; then
	cat "$run/output"
fi

console_tail() {
	echo "run-in-vm: last console lines ($run/console.log):" >&2
	tail -n 30 "$run/console.log" >&2 2>/dev/null || true
	[ -s "$run/qemu.log" ] && { echo "run-in-vm: qemu said:" >&2; cat "$run/qemu.log" >&2; }
	return 0
}

if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	echo "run-in-vm: guest killed after ${timeout_s}s timeout" >&2
	console_tail
	exit 124
fi
if [ ! -f "$run/status" ] && grep -qE 'soft lockup|Kernel panic' "$run/console.log" 2>/dev/null; then
	echo "run-in-vm: the guest kernel locked up or panicked (qemu exit $qemu_rc, ${elapsed}s)" >&2
	console_tail
	exit 126
fi
if [ ! -f "$run/status" ]; then
	echo "run-in-vm: the guest ended without running the command (qemu exit $qemu_rc, ${elapsed}s)" >&2
	console_tail
	exit 125
fi
exit "$(cat "$run/status")"
