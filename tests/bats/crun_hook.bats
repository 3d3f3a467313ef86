#!/usr/bin/env bats
# The hook works under crun as under runc (crun refuses hybrid hosts, so
# this runs in the cgroup v2 VM): the same fields applied and verified, the
# same OOM verdict.  crun's own state goes to a private --root; the
# teardown's `runc delete` does not know crun's containers, so delete here.

load ../lib/common

setup() {
	mh_setup
	[ "$MH_CGVER" = 2 ] || skip "crun refuses hybrid cgroup hosts: runs in the cgroup v2 VM"
	command -v crun >/dev/null || skip "crun not installed (apt-get install crun)"
	CRUN_ROOT=$MH_TR/crun
}
teardown() {
	local id
	for id in "${MH_CIDS[@]}"; do crun --root "$CRUN_ROOT" delete -f "$id" >/dev/null 2>&1 || true; done
	mh_teardown
}

crun_run() {
	crun --root "$CRUN_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null
}

# bats test_tags=vm
@test "under crun, limit, swap and reservation are applied and verified by the hook" {
	mh_bundle
	mh_hooks
	mh_mem limit $((64 * MIB))
	mh_mem swap $((128 * MIB))
	mh_mem reservation $((32 * MIB))
	mh_args_read limit swap reservation
	run crun_run
	assert_success
	assert_line "limit=$((64 * MIB))"
	assert_line "swap=$((64 * MIB))"
	assert_line "reservation=$((32 * MIB))"
	assert_equal "$(mh_plan_value memory.swap.max)" "$((64 * MIB))"
	assert_equal "$(mh_plan_value memory.low)" "$((32 * MIB))"
}

@test "under crun, the operator's --default-limit reaches a container without a limit" {
	mh_bundle
	mh_hooks --default-limit 48m
	mh_args_read limit
	run crun_run
	assert_success
	assert_line "limit=$((48 * MIB))"
}

# bats test_tags=vm
@test "under crun, a main process over its limit exits 137 and is OOMKilled" {
	mh_bundle
	mh_hooks
	mh_no_swap $((64 * MIB))
	mh_args touchmem 100
	run crun_run
	assert_equal "$status" 137
	mh_wait_for mh_has_event exit
	run mh_events exit
	assert_output --partial '"verdict":"OOMKilled"'
}
