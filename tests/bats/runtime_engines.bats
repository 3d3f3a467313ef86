#!/usr/bin/env bats
# memhook-runtime under the real engines: docker (--runtime), containerd
# (ctr run --runc-binary) and podman (--runtime), each started privately
# by tests/lib/engines.bash (own root, state, sockets under one temp dir;
# stopped by pid).  For each:
# a --memory 64m container is planned, applied and verified by memhook; a
# setting the engine lets through but memhook refuses is refused with
# memhook's message where the engine's user sees it; an OOM kill exits 137.
#
# Engines come from Debian: apt-get install --no-install-recommends
# docker.io containerd podman (with a /usr/sbin/policy-rc.d that exits 101
# so nothing starts on install).  A missing engine skips its tests.
# Containers, images and cgroups are named memhook-r-*.

load ../lib/common
load ../lib/engines
bats_require_minimum_version 1.5.0

setup_file() { eng_setup_file memhook-r containerd docker podman; }
teardown_file() { eng_teardown_file; }

setup() {
	load_bats_libs
	[ ! -e "$ENG_DIR/skip-all" ] || skip "$(cat "$ENG_DIR/skip-all")"
	[ -x "$ENG_RUNTIME" ] || fail "$ENG_RUNTIME missing: build with 'ninja -C $BUILD'"
	MH_CGVER=$(cg_version)
	LIMIT_FILE=$(cg_limit_file)
	rm -f "$ENG_DIR/memhook.json"
}

teardown() {
	rm -f "$ENG_DIR/memhook.json"
}

# apply_limit ID: the limit memhook's apply event planned for container ID.
apply_limit() {
	jq -r --arg id "$1" 'select(.id == $id and .event == "apply") | .plan[]
		| select(.file == "memory.limit_in_bytes" or .file == "memory.max") | .value' "$ENG_STATE/events.jsonl"
}

# verified_limit ID: the limit memhook read back from the cgroup (the
# record's steps, "found").
verified_limit() {
	jq -r '.steps[]? | select(.file == "memory.limit_in_bytes" or .file == "memory.max") | .found' \
		"$ENG_STATE/$1/record.json"
}

# With swap on, a container whose swap the engine does not limit swaps
# instead of being OOM-killed (ctr has no swap option; docker 20.10 finds
# no swap limit support on a cgroup v2 host).
skip_if_swap() { # ENGINE
	if [ "$(awk 'NR > 1' /proc/swaps | wc -l)" -gt 0 ]; then
		skip "$1 sets no swap limit here and this host has swap: the container would swap, not OOM"
	fi
}

# verdict ID: memhook's verdict on container ID's end, waiting up to 10 s
# for the exit event (engines delete, and so run poststop, after the fact).
verdict() {
	local v= i
	for i in $(seq 100); do
		v=$(jq -r --arg id "$1" 'select(.id == $id and .event == "exit") | .verdict' "$ENG_STATE/events.jsonl" 2>/dev/null)
		[ -n "$v" ] && break
		sleep 0.1
	done
	echo "$v"
}

MAX_LIMIT_MSG='linux.resources.memory.limit: 512 MiB is above --max-limit 256 MiB (operator policy); set a limit at or below 256 MiB'
RESTART_MSG='io.memhook.restart: "sometimes" is not a policy'

# ---------------------------------------------------------------- docker

@test "docker: --memory 64m is planned, applied and verified by memhook" {
	eng_skip_unless docker
	run --separate-stderr eng_docker run --cidfile "$ENG_DIR/d1.cid" --network none --runtime memhook --memory 64m "$ENG_IMAGE" cat "$LIMIT_FILE"
	assert_success
	assert_output "$((64 * MIB))"
	local id
	id=$(cat "$ENG_DIR/d1.cid")
	assert_equal "$(apply_limit "$id")" "$((64 * MIB))"
	assert_equal "$(verified_limit "$id")" "$((64 * MIB))"
	eng_docker rm "$id" >/dev/null
}

@test "docker: a limit above the operator's --max-limit is refused with memhook's message" {
	eng_skip_unless docker
	echo '{"max_limit": "256m"}' >"$ENG_DIR/memhook.json"
	run --separate-stderr eng_docker run --cidfile "$ENG_DIR/d2.cid" --network none --runtime memhook --memory 512m "$ENG_IMAGE" true
	assert_equal "$status" 125
	local id
	id=$(cat "$ENG_DIR/d2.cid")
	[[ $stderr == *"memhook: $id: $MAX_LIMIT_MSG"* ]] || fail "docker's stderr: $stderr"
	eng_docker rm "$id" >/dev/null
}

@test "docker: an OOM-killing container exits 137 and docker sees the OOM kill" {
	eng_skip_unless docker
	[ "$MH_CGVER" = 1 ] || skip_if_swap docker
	run eng_docker run --cidfile "$ENG_DIR/d3.cid" --network none --runtime memhook --memory 64m --memory-swap 64m "$ENG_IMAGE" touchmem 200
	assert_equal "$status" 137
	local id
	id=$(cat "$ENG_DIR/d3.cid")
	run eng_docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' "$id"
	assert_output "true 137"
	eng_docker rm "$id" >/dev/null
	assert_equal "$(verdict "$id")" OOMKilled
}

# ---------------------------------------------------------------- containerd

@test "containerd: --memory-limit 64 MiB is planned, applied and verified by memhook" {
	eng_skip_unless containerd
	local id=$ENG_PREFIX-ctr1-$$ file
	# ctr mounts no cgroupfs in the container: read the limit from the host.
	eng_ctr run -d --snapshotter native --runc-binary "$ENG_RUNTIME" \
		--memory-limit $((64 * MIB)) --cgroup "/$ENG_PREFIX/$id" "$ENG_IMAGE" "$id" sleep 60
	if [ "$MH_CGVER" = 1 ]; then
		file=/sys/fs/cgroup/memory/$ENG_PREFIX/$id/memory.limit_in_bytes
	else
		file=/sys/fs/cgroup/$ENG_PREFIX/$id/memory.max
	fi
	run cat "$file"
	eng_ctr task kill -s KILL "$id"
	eng_wait_for 10 sh -c "! ctr -a '$ENG_DIR/ctd/containerd.sock' -n '$ENG_PREFIX' task ls | grep -q '^$id .*RUNNING'"
	eng_ctr task rm -f "$id" >/dev/null 2>&1 || true
	eng_ctr containers rm "$id"
	assert_output "$((64 * MIB))"
	assert_equal "$(apply_limit "$id")" "$((64 * MIB))"
	assert_equal "$(verified_limit "$id")" "$((64 * MIB))"
}

@test "containerd: a malformed memhook annotation ctr passes through is refused with memhook's message" {
	eng_skip_unless containerd
	local id=$ENG_PREFIX-ctr2-$$
	run --separate-stderr eng_ctr run --rm --snapshotter native --runc-binary "$ENG_RUNTIME" \
		--memory-limit $((64 * MIB)) --annotation io.memhook.restart=sometimes --cgroup "/$ENG_PREFIX/$id" \
		"$ENG_IMAGE" "$id" true
	assert_failure
	[[ $stderr == *"memhook: $id: $RESTART_MSG"* ]] || fail "ctr's stderr: $stderr"
	eng_ctr containers rm "$id" >/dev/null 2>&1 || true
	# And operator policy, the same way.
	echo '{"max_limit": "256m"}' >"$ENG_DIR/memhook.json"
	run --separate-stderr eng_ctr run --rm --snapshotter native --runc-binary "$ENG_RUNTIME" \
		--memory-limit $((512 * MIB)) --cgroup "/$ENG_PREFIX/$id" "$ENG_IMAGE" "$id" true
	assert_failure
	[[ $stderr == *"memhook: $id: $MAX_LIMIT_MSG"* ]] || fail "ctr's stderr: $stderr"
	eng_ctr containers rm "$id" >/dev/null 2>&1 || true
}

@test "containerd: an OOM-killing container exits 137" {
	eng_skip_unless containerd
	skip_if_swap ctr
	local id=$ENG_PREFIX-ctr3-$$
	run eng_ctr run --rm --snapshotter native --runc-binary "$ENG_RUNTIME" \
		--memory-limit $((64 * MIB)) --cgroup "/$ENG_PREFIX/$id" "$ENG_IMAGE" "$id" touchmem 200
	assert_equal "$status" 137
	assert_equal "$(verdict "$id")" OOMKilled
}

# ---------------------------------------------------------------- podman

@test "podman: --memory 64m is planned, applied and verified by memhook" {
	eng_skip_unless podman
	run eng_podman run --cidfile "$ENG_DIR/p1.cid" --runtime "$ENG_RUNTIME" --cgroup-parent "/$ENG_PREFIX" \
		--memory 64m "$ENG_IMAGE" cat "$LIMIT_FILE"
	assert_success
	assert_output "$((64 * MIB))"
	local id
	id=$(cat "$ENG_DIR/p1.cid")
	assert_equal "$(apply_limit "$id")" "$((64 * MIB))"
	assert_equal "$(verified_limit "$id")" "$((64 * MIB))"
	eng_podman rm "$id" >/dev/null
}

@test "podman: a malformed memhook annotation podman passes through is refused with memhook's message" {
	eng_skip_unless podman
	run --separate-stderr eng_podman run --cidfile "$ENG_DIR/p2.cid" --runtime "$ENG_RUNTIME" \
		--cgroup-parent "/$ENG_PREFIX" --memory 64m --annotation io.memhook.restart=sometimes "$ENG_IMAGE" true
	assert_failure
	local id
	id=$(cat "$ENG_DIR/p2.cid")
	[[ $stderr == *"memhook: $id: $RESTART_MSG"* ]] || fail "podman's stderr: $stderr"
	eng_podman rm -f "$id" >/dev/null
}

@test "podman: an OOM-killing container exits 137" {
	eng_skip_unless podman
	run eng_podman run --rm --cidfile "$ENG_DIR/p3.cid" --runtime "$ENG_RUNTIME" --cgroup-parent "/$ENG_PREFIX" \
		--memory 64m --memory-swap 64m "$ENG_IMAGE" touchmem 200
	assert_equal "$status" 137
	assert_equal "$(verdict "$(cat "$ENG_DIR/p3.cid")")" OOMKilled
}
