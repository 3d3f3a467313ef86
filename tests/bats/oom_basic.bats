#!/usr/bin/env bats
# The OOM basics every later verdict builds on: a container over its limit
# is OOM-killed (exit 137) with memhook's hooks in place, exactly as without
# them; a killed child is counted in the cgroup's oom_kill counter.

load ../lib/common

setup() { mh_setup; }
teardown() { mh_teardown; }

# The oom_kill counter as printed by mh_read_script for "oom":
# v1 memory.oom_control and v2 memory.events both have an oom_kill line.
oom_kills_in_output() {
	sed -n 's/^oom\.oom_kill=//p' <<<"$output" | tail -1
}

@test "without memhook a 64 MiB container touching 100 MiB exits 137 (baseline)" {
	mh_bundle
	mh_no_swap $((64 * MIB))
	mh_args touchmem 100
	run mh_run_container
	assert_equal "$status" 137
}

@test "a 64 MiB container touching 100 MiB exits 137 with memhook's hooks registered" {
	mh_bundle
	mh_hooks
	mh_no_swap $((64 * MIB))
	mh_args touchmem 100
	run mh_run_container
	assert_equal "$status" 137
	refute_output --partial "touchmem: done"
	mh_has_event apply
}

@test "a container that stays under its limit exits 0 with memhook's hooks registered" {
	mh_bundle
	mh_hooks
	mh_no_swap $((64 * MIB))
	mh_args touchmem 16
	run mh_run_container
	assert_success
	assert_output --partial "touchmem: done 16 MiB"
}

@test "stress with a 100 MiB worker in 64 MiB fails with exit 1 and the OOM kill is counted" {
	command -v stress >/dev/null || skip "stress not installed (apt-get install stress)"
	mh_bundle --stress
	mh_hooks
	mh_no_swap $((64 * MIB))
	# The cgroup is gone once runc run returns: read the counter inside,
	# after stress's worker was killed.
	mh_args /bin/sh -c "stress --vm 1 --vm-bytes 100M --timeout 10; echo rc=\$?; $(mh_read_script oom)"
	run mh_run_container
	assert_success
	assert_line "rc=1"
	local kills
	kills=$(oom_kills_in_output)
	[ -n "$kills" ] && [ "$kills" -ge 1 ] || fail "oom_kill did not rise: $output"
}

@test "children OOM-killed one after another do not end the container (oomkids exits 0)" {
	mh_bundle
	mh_hooks
	mh_no_swap $((64 * MIB))
	mh_args /bin/sh -c "oomkids 2 100; echo rc=\$?; $(mh_read_script oom)"
	run mh_run_container
	assert_success
	assert_line "oomkids: child 1 killed by signal 9"
	assert_line "oomkids: child 2 killed by signal 9"
	assert_line "rc=0"
	[ "$(oom_kills_in_output)" = 2 ] || fail "oom_kill is not 2: $output"
}
