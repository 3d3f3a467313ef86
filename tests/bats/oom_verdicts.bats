#!/usr/bin/env bats
# The truth about exit 137: memhook's verdicts against real OOM kills on
# real runc containers (cgroup v1 here, v2 in the VM).  Each test names
# the scenario a user would describe.

load ../lib/common
load ../lib/engines

setup_file() { eng_setup_file memhook-w podman; }
teardown_file() { eng_teardown_file; }

setup() {
	mh_setup
	# This file's resources: cgroups under /memhook-w, containers memhook-w-*.
	MH_CG_PARENT=memhook-w
	RUNC_OUT=$MH_TW/out
	mkdir -p "$RUNC_OUT"
}

teardown() {
	w_podman_teardown
	mh_teardown
}

# w_bundle [--stress]: mh_bundle with this file's names, 64 MiB and no swap,
# memhook's hooks registered.
w_bundle() {
	mh_bundle "$@"
	local id=${CID/#memhook-t-/memhook-w-}
	MH_CIDS[${#MH_CIDS[@]} - 1]=$id
	CID=$id
	mh_jq --arg cg "/$MH_CG_PARENT/$CID" '.linux.cgroupsPath = $cg'
	mh_no_swap $((64 * MIB))
	mh_hooks
}

# The record's field (jq path) once poststop gave the verdict.
w_verdict_given() {
	[ -f "$STATE/$CID/record.json" ] && [ "$(jq -r '.verdict // empty' "$STATE/$CID/record.json")" != "" ]
}
w_field() {
	jq -r "$1" "$STATE/$CID/record.json"
}
w_stopped() {
	[ "$(mh_runc state "$CID" 2>/dev/null | jq -r .status)" = stopped ]
}
# The kernel's oom_kill counter of the container's cgroup, from the host.
w_counter() {
	local d f
	d=$(cg_host_memory_dir "$CID")
	if [ "$MH_CGVER" = 1 ]; then f=$d/memory.oom_control; else f=$d/memory.events; fi
	awk '$1 == "oom_kill" {print $2}' "$f"
}
w_start_detached() {
	mh_create_container
	mh_runc start "$CID"
}
w_delete() {
	mh_wait_for w_stopped
	mh_runc delete "$CID"
	mh_wait_for w_verdict_given
}

# bats test_tags=vm
@test "main process over its limit: exit 137, OOMKilled, the oom_kill event names it" {
	w_bundle
	mh_args /bin/touchmem 100
	run mh_run_container
	assert_equal "$status" 137
	mh_wait_for w_verdict_given
	assert_equal "$(w_field .verdict)" OOMKilled
	assert_equal "$(w_field .main_oom_killed)" true
	assert_equal "$(w_field .oom_kills)" 1
	assert_equal "$(w_field .exit_code)" 137
	run mh_events oom_kill
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .pid <<<"${lines[0]}")" "$(w_field .pid)"
	assert_equal "$(jq -r .comm <<<"${lines[0]}")" touchmem
	assert_equal "$(jq -r .main <<<"${lines[0]}")" true
	assert_equal "$(jq -r .limit <<<"${lines[0]}")" $((64 * MIB))
	# The kernel's own figure for the victim; memory.stat at that moment
	# (v1 notifies before the kill, v2 after it: the memory may be freed).
	[ "$(jq -r .anon_rss <<<"${lines[0]}")" -gt $((32 * MIB)) ]
	[ "$(jq -r '.stat.anon | type' <<<"${lines[0]}")" = number ]
	run mh_events exit
	assert_equal "$(jq -r .verdict <<<"$output")" OOMKilled
}

@test "main process over its limit: the kernel's counter rose by exactly one, as recorded" {
	w_bundle
	mh_args /bin/touchmem 100
	w_start_detached
	mh_wait_for w_stopped
	# Detached: runc keeps the cgroup until delete, so the counter is readable.
	assert_equal "$(w_counter)" $(($(w_field .baseline.oom_kill) + 1))
	w_delete
	assert_equal "$(w_field .verdict)" OOMKilled
	assert_equal "$(w_field .oom_kills)" 1
}

@test "a malformed io.memhook.oom.grow (nothing restarts under a hook alone) does not stop the watcher" {
	w_bundle
	mh_annotate io.memhook.oom.grow bogus
	mh_args /bin/touchmem 100
	run mh_run_container
	assert_equal "$status" 137
	mh_wait_for w_verdict_given
	assert_equal "$(w_field .verdict)" OOMKilled
	assert_equal "$(w_field .watcher_ended_cleanly)" true
}

@test "runc kill KILL on a healthy container: not OOMKilled, no oom_kill event" {
	w_bundle
	mh_args /bin/sleep 100
	w_start_detached
	mh_runc kill "$CID" KILL
	w_delete
	assert_equal "$(w_field .verdict)" Ended
	assert_equal "$(w_field .main_oom_killed)" false
	assert_equal "$(w_field .oom_kills)" 0
	run mh_events oom_kill
	assert_output ""
}

# bats test_tags=vm
@test "a child OOM-killed while the main process exits 0: not OOMKilled, the victim named" {
	w_bundle
	mh_args /bin/oomkids 1 100
	run mh_run_container
	assert_equal "$status" 0
	mh_wait_for w_verdict_given
	assert_equal "$(w_field .verdict)" Ended
	assert_equal "$(w_field .main_oom_killed)" false
	assert_equal "$(w_field .oom_kills)" 1
	run mh_events oom_kill
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .comm <<<"${lines[0]}")" oomkids
	assert_equal "$(jq -r .main <<<"${lines[0]}")" false
	[ "$(jq -r .pid <<<"${lines[0]}")" != "$(w_field .pid)" ]
	# The timeline says it the way people read it.
	run "$MEMHOOK" events --state-dir "$STATE" "$CID"
	assert_success
	assert_output --partial "one child OOM-killed: oomkids, pid"
}

# bats test_tags=vm
@test "Debian's stress --vm 1 --vm-bytes 100M in 64 MiB exits 1: not OOMKilled, stress named" {
	command -v stress >/dev/null || skip "stress not installed (apt-get install stress)"
	w_bundle --stress
	mh_args /usr/bin/stress --vm 1 --vm-bytes 100M --timeout 20
	run mh_run_container
	assert_equal "$status" 1
	mh_wait_for w_verdict_given
	assert_equal "$(w_field .verdict)" Ended
	assert_equal "$(w_field .main_oom_killed)" false
	assert_equal "$(w_field .oom_kills)" 1
	run mh_events oom_kill
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .comm <<<"${lines[0]}")" stress
	assert_equal "$(jq -r .main <<<"${lines[0]}")" false
}

# bats test_tags=vm
@test "ten children OOM-killed one after another: exactly ten events, in order" {
	w_bundle
	mh_args /bin/oomkids 10 100
	run mh_run_container
	assert_equal "$status" 0
	mh_wait_for w_verdict_given
	assert_equal "$(w_field .verdict)" Ended
	assert_equal "$(w_field .oom_kills)" 10
	run mh_events oom_kill
	assert_equal "${#lines[@]}" 10
	local i unnamed=0
	for i in $(seq 0 9); do
		assert_equal "$(jq -r .oom_kills <<<"${lines[$i]}")" $((i + 1))
		assert_equal "$(jq -r .main <<<"${lines[$i]}")" false
		# The kernel rate-limits the line naming a victim's cgroup (10 per
		# 5 s): a victim reaped before the watcher saw it stays unnamed,
		# never misnamed.
		case $(jq -r .comm <<<"${lines[$i]}") in
		oomkids) ;;
		null) unnamed=$((unnamed + 1)) ;;
		*) fail "event $i names $(jq -r .comm <<<"${lines[$i]}")" ;;
		esac
	done
	echo "# $unnamed of 10 victims unnamed (rate-limited kernel summary)" >&3
	# Their times never go backwards.
	assert_equal "$(mh_events oom_kill | jq -r .time)" "$(mh_events oom_kill | jq -r .time | sort)"
}

@test "the watcher SIGKILLed mid-life: the verdict is Unknown" {
	w_bundle
	mh_args /bin/sleep 100
	w_start_detached
	local watcher
	watcher=$(w_field .watcher_pid)
	[ "$watcher" -gt 0 ]
	kill -KILL "$watcher"
	mh_runc kill "$CID" KILL
	w_delete
	assert_equal "$(w_field .verdict)" Unknown
	assert_equal "$(w_field .watcher_ended_cleanly)" false
	run mh_events exit
	assert_equal "$(jq -r .verdict <<<"$output")" Unknown
	refute_output --partial '"exit_code"'
}

@test "a dead watcher at poststart: a poststart warning" {
	w_bundle
	mh_args /bin/sleep 100
	mh_create_container
	kill -KILL "$(w_field .watcher_pid)"
	# runc 1.1 runs poststart inside `runc create`, before anyone could
	# kill the watcher: run the stage as a runtime would, by hand.
	MH_STDIN=$(mh_state_json)
	run mh_hook poststart
	assert_success
	assert_output --partial "the OOM watcher (pid $(w_field .watcher_pid)) is not running"
	run mh_warning_for poststart
	assert_output --partial "OOM watcher"
	mh_runc start "$CID"
	mh_runc kill "$CID" KILL
	w_delete
	assert_equal "$(w_field .verdict)" Unknown
}

@test "twenty containers started at once, each OOM-killed: twenty right verdicts, every line parses" {
	[ "${MEMHOOK_IN_VM:-0}" != 1 ] || skip "runs on the host: twenty containers at once take minutes under the VM's emulation"
	local ids=() i
	for i in $(seq 20); do
		w_bundle
		mh_args /bin/touchmem 100
		ids+=("$CID:$BUNDLE")
	done
	for i in "${ids[@]}"; do
		(
			rc=0
			runc --root "$MH_RUNC_ROOT" run --bundle "${i#*:}" "${i%%:*}" </dev/null >/dev/null 2>&1 || rc=$?
			echo $rc >"$RUNC_OUT/${i%%:*}.rc"
		) &
	done
	wait
	for i in "${ids[@]}"; do
		CID=${i%%:*}
		assert_equal "$(cat "$RUNC_OUT/$CID.rc")" 137
		mh_wait_for w_verdict_given
		assert_equal "$CID $(w_field .verdict) $(w_field .oom_kills)" "$CID OOMKilled 1"
		assert_equal "$(mh_events oom_kill | wc -l)" 1
	done
	# Appended whole by concurrent writers: every line is one JSON object.
	local n
	n=$(wc -l <"$STATE/events.jsonl")
	assert_equal "$(jq -c . "$STATE/events.jsonl" | wc -l)" "$n"
	[ "$n" -ge 60 ]
}

@test "metrics: a Prometheus textfile with limit, OOM kills and the last verdict" {
	w_bundle
	mh_args /bin/touchmem 100
	mkdir -p "$MH_TR/metrics"
	mh_hooks --metrics-dir "$MH_TR/metrics"
	run mh_run_container
	assert_equal "$status" 137
	mh_wait_for w_verdict_given
	run cat "$MH_TR/metrics/memhook.prom"
	assert_line "memhook_container_memory_limit_bytes{id=\"$CID\"} $((64 * MIB))"
	assert_line "memhook_container_oom_kills_total{id=\"$CID\"} 1"
	assert_line "memhook_container_last_verdict{id=\"$CID\",verdict=\"OOMKilled\"} 1"
}

# bats test_tags=vm
@test "inspect: live usage and counters while running, the verdict after" {
	w_bundle
	mh_args /bin/sleep 100
	w_start_detached
	run "$MEMHOOK" inspect --state-dir "$STATE" "$CID"
	assert_success
	assert_line --regexp '^limit +64 MiB$'
	assert_line --regexp '^oom kills +0 in this run'
	assert_line --regexp '^watcher +pid [0-9]+, running$'
	run "$MEMHOOK" inspect --json --state-dir "$STATE" "$CID"
	assert_success
	assert_equal "$(jq -r .live.limit <<<"$output")" $((64 * MIB))
	assert_equal "$(jq -r .watcher_alive <<<"$output")" true
	mh_runc kill "$CID" KILL
	w_delete
	run "$MEMHOOK" inspect --state-dir "$STATE" "$CID"
	assert_success
	assert_line --regexp '^verdict +Ended'
	run "$MEMHOOK" inspect --state-dir "$STATE" memhook-w-no-such-container
	assert_failure 1
}

@test "a new run of the same id keeps the previous verdict in history" {
	w_bundle
	mh_args /bin/touchmem 100
	run mh_run_container
	assert_equal "$status" 137
	mh_wait_for w_verdict_given
	mh_args /bin/sh -c true
	run mh_run_container
	assert_success
	mh_wait_for w_verdict_given
	assert_equal "$(w_field .verdict)" Ended
	assert_equal "$(w_field '.history[-1].verdict')" OOMKilled
}

# ---------------------------------------------------------------- podman

# A private podman (tests/lib/engines.bash) with memhook in --hooks-dir.
w_podman_setup() {
	eng_skip_unless podman
	PW=$MH_TW/podman
	mkdir -p "$PW/hooks"
	jq -n --arg p "$MEMHOOK" --arg s "$STATE" '{version: "1.0.0",
		hook: {path: $p, args: ["memhook", "hook", "createRuntime", "--state-dir", $s]},
		when: {always: true}, stages: ["createRuntime"]}' >"$PW/hooks/memhook-create.json"
	jq -n --arg p "$MEMHOOK" --arg s "$STATE" '{version: "1.0.0",
		hook: {path: $p, args: ["memhook", "hook", "poststop", "--state-dir", $s]},
		when: {always: true}, stages: ["poststop"]}' >"$PW/hooks/memhook-poststop.json"
}
w_podman() {
	eng_podman --hooks-dir "$PW/hooks" "$@"
}
w_podman_teardown() {
	[ -n "${PW:-}" ] || return 0
	local n id d
	for n in memhook-w-main memhook-w-child; do
		id=$(eng_podman inspect --format '{{.Id}}' "$n" 2>/dev/null) || continue
		eng_podman rm -f "$n" >/dev/null 2>&1
		for d in $(cg_host_dirs "libpod-$id"); do
			rmdir "$d" 2>/dev/null
		done
	done
	# podman puts conmon in a cgroup beside the containers'.
	for d in /sys/fs/cgroup/*/"$MH_CG_PARENT"/conmon /sys/fs/cgroup/"$MH_CG_PARENT"/conmon; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

# w_podman_case NAME ARGS…: run, then print podman's OOMKilled beside memhook's verdict.
w_podman_case() {
	local name=$1 rc podman_oom
	shift
	CID=
	run w_podman run --name "$name" --memory 64m --memory-swap 64m --cgroup-parent /memhook-w \
		"$ENG_IMAGE" "$@"
	rc=$status
	podman_oom=$(w_podman inspect --format '{{.State.OOMKilled}}' "$name")
	CID=$(w_podman inspect --format '{{.Id}}' "$name")
	mh_wait_for w_verdict_given
	printf '# %-28s exit %-3s  podman OOMKilled=%-5s  memhook %s (oom_kills %s)\n' "$name" "$rc" "$podman_oom" \
		"$(w_field .verdict)" "$(w_field .oom_kills)" >&3
}

@test "podman --hooks-dir: memhook's verdict beside podman's OOMKilled" {
	w_podman_setup
	w_podman_case memhook-w-main /bin/touchmem 100
	assert_equal "$(w_field .verdict)" OOMKilled
	w_podman_case memhook-w-child /bin/oomkids 1 100
	assert_equal "$(w_field .verdict)" Ended
	assert_equal "$(w_field .oom_kills)" 1
}
