#!/usr/bin/env bats
# Runs INSIDE the test VM (tests/vm/selftest.sh starts it for each layout):
# proves the guest has the cgroup layout, swap and runtimes the memhook
# scenarios need. The bundle's rootfs was made on the host in the shared
# project folder (MHVM_ROOTFS).

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

MIB=$((1024 * 1024))

setup() {
	: "${MHVM_ROOTFS:?set by selftest.sh}"
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		layout=v2
	else
		layout=v1
	fi
	state=$BATS_TEST_TMPDIR/state
}

teardown() {
	rmdir /sys/fs/cgroup/mhvm-selftest /sys/fs/cgroup/memory/mhvm-selftest 2>/dev/null || true
}

# make_bundle DIR LIMIT_BYTES SWAP_BYTES ARGS...: config.json from runc spec,
# busybox root read-only, host /usr and /lib* bound read-only for stress.
make_bundle() {
	local dir=$1 limit=$2 swap=$3
	shift 3
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && runc spec)
	local args
	args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
	jq --arg root "$MHVM_ROOTFS" --argjson args "$args" \
		--argjson limit "$limit" --argjson swap "$swap" '
		.root = {path: $root, readonly: true}
		| .process.terminal = false
		| .process.args = $args
		| .mounts += [
			{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]},
			{destination: "/usr", type: "bind", source: "/usr", options: ["rbind", "ro"]},
			{destination: "/lib", type: "bind", source: "/usr/lib", options: ["rbind", "ro"]},
			{destination: "/lib64", type: "bind", source: "/usr/lib64", options: ["rbind", "ro"]}]
		| .linux.resources.memory = {limit: $limit, swap: $swap}
		| .linux.cgroupsPath = "/mhvm-selftest-ctr"
		' "$dir/config.json" > "$dir/config.new"
	mv "$dir/config.new" "$dir/config.json"
}

# run_ctr RUNTIME LIMIT SWAP ARGS...: run a container in the foreground.
run_ctr() {
	local rt=$1
	shift
	make_bundle "$BATS_TEST_TMPDIR/bundle" "$@"
	run "$rt" --root "$state" run -b "$BATS_TEST_TMPDIR/bundle" "mhvm-$BATS_TEST_NUMBER"
}

@test "layout: the cgroup layout asked for is mounted" {
	if [ "$layout" = v2 ]; then
		run cat /sys/fs/cgroup/cgroup.subtree_control
		assert_output --partial memory
		assert_output --partial pids
	else
		run stat -f -c %T /sys/fs/cgroup/memory
		assert_output cgroupfs
		[ -f /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]
		[ -L /sys/fs/cgroup/cpu ]
		run grep -c cgroup2 /proc/self/mountinfo
		assert_output 0
	fi
}

@test "zram swap is on and /dev/kmsg is readable" {
	run grep -c '^/dev/zram0' /proc/swaps
	assert_output 1
	run dd if=/dev/kmsg bs=8192 count=1 status=none
	assert_success
	[ -n "$output" ]
}

@test "a cgroup made by hand takes a 64 MiB limit" {
	if [ "$layout" = v2 ]; then
		mkdir /sys/fs/cgroup/mhvm-selftest
		echo 64M > /sys/fs/cgroup/mhvm-selftest/memory.max
		run cat /sys/fs/cgroup/mhvm-selftest/memory.max
	else
		mkdir /sys/fs/cgroup/memory/mhvm-selftest
		echo 64M > /sys/fs/cgroup/memory/mhvm-selftest/memory.limit_in_bytes
		run cat /sys/fs/cgroup/memory/mhvm-selftest/memory.limit_in_bytes
	fi
	assert_output $((64 * MIB))
}

@test "runc: the container sees its 64 MiB limit" {
	run_ctr runc $((64 * MIB)) $((128 * MIB)) /probe.sh 0
	assert_success
	assert_line "limit=$((64 * MIB))"
	if [ "$layout" = v2 ]; then
		assert_line "swap_limit=$((64 * MIB))"
	else
		assert_line "swap_limit=$((128 * MIB))"
	fi
}

@test "runc: 100 MiB under 64m limit + 128m swap survives by swapping" {
	run_ctr runc $((64 * MIB)) $((128 * MIB)) /probe.sh 100
	echo "$output"
	assert_success
	assert_line result=survived
	assert_line oom_kill=0
	local swap
	swap=$(sed -n 's/^swap_max=//p' <<< "$output")
	[ "$swap" -gt $((30 * MIB)) ]
}

@test "runc: 200 MiB under 64m limit + 128m swap is OOM-killed" {
	run_ctr runc $((64 * MIB)) $((128 * MIB)) /probe.sh 200
	echo "$output"
	assert_success
	assert_line result=killed
	refute_line oom_kill=0
}

@test "runc: OOM kill of the container's init gives exit 137" {
	# awk doubles a string until the 32 MiB (no swap) limit kills it.
	run_ctr runc $((32 * MIB)) $((32 * MIB)) awk 'BEGIN { s = "x"; while (1) s = s s }'
	assert_failure 137
}

@test "crun: 64 MiB limit, 100 MiB survives, 200 MiB is OOM-killed" {
	run_ctr crun $((64 * MIB)) $((128 * MIB)) /probe.sh 100
	echo "$output"
	assert_success
	assert_line "limit=$((64 * MIB))"
	assert_line result=survived
	assert_line oom_kill=0
	run_ctr crun $((64 * MIB)) $((128 * MIB)) /probe.sh 200
	echo "$output"
	assert_line result=killed
	refute_line oom_kill=0
}

@test "the project folder is writable at its host path" {
	local f=$BATS_TEST_DIRNAME/../work/mhvm-write-test
	echo "from the guest" > "$f"
	run cat "$f"
	rm -f "$f"
	assert_output "from the guest"
}

@test "the host root is read-only underneath, writable through the overlay" {
	run findmnt -no FSTYPE /
	assert_output overlay
	echo x > /etc/mhvm-overlay-test
	rm /etc/mhvm-overlay-test
}
