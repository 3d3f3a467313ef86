#!/usr/bin/env bats
# memhook through podman's hooks.d (--hooks-dir): podman puts the hooks
# into config.json, runc runs createRuntime and poststart, podman itself
# runs poststop.

load ../lib/common
load ../lib/engines

# A private podman (tests/lib/engines.bash); containers and cgroups under
# /memhook-t, as the runc tests'.
setup_file() { eng_setup_file memhook-t podman; }
teardown_file() { eng_teardown_file; }
setup() {
	mh_setup
	mh_podman_setup
}
teardown() {
	mh_podman_teardown
	mh_teardown
}

@test "podman --memory 64m with memhook's hooks.d: applied, verified inside, recorded" {
	mh_podman_hooks
	mh_podman_name
	run mh_podman_run --memory 64m -- /bin/sh -c "$(mh_read_script limit)"
	assert_success
	assert_line "limit=$((64 * MIB))"
	CID=$(mh_podman_cid)
	mh_has_event apply || fail "no apply event for $CID: $(cat "$STATE/events.jsonl" 2>&1)"
	[ -f "$STATE/$CID/record.json" ]
}

@test "podman without --memory gets the operator's --default-limit from the hooks.d args" {
	mh_podman_hooks --default-limit=48m
	mh_podman_name
	run mh_podman_run -- /bin/sh -c "$(mh_read_script limit)"
	assert_success
	assert_line "limit=$((48 * MIB))"
	CID=$(mh_podman_cid)
	run mh_events apply
	assert_output --partial "default-limit"
}

@test "podman: a 64m container touching 100 MiB exits 137 with memhook's hooks" {
	mh_podman_hooks
	mh_podman_name
	local swap=()
	cg_has_swap_accounting && swap=(--memory-swap 64m)
	run mh_podman_run --memory 64m "${swap[@]}" -- touchmem 100
	assert_equal "$status" 137
	CID=$(mh_podman_cid)
	mh_has_event apply
}

@test "podman's poststop finishes memhook's record with an exit event" {
	mh_podman_hooks
	mh_podman_name
	run mh_podman_run --memory 64m -- /bin/sh -c 'exit 3'
	assert_equal "$status" 3
	CID=$(mh_podman_cid)
	# podman runs poststop itself, during its cleanup.
	mh_wait_for mh_has_event exit || fail "no exit event: $(mh_events)"
}
