#!/usr/bin/env bats
# The check that matters most to users: "limit 64m, swap 128m" means 64 MiB
# of memory and 64 MiB of swap on cgroup v1 (memsw = 128 MiB) and on v2
# (memory.max = 64 MiB, memory.swap.max = swap - limit = 64 MiB).  A workload
# needing 100 MiB survives by swapping, one needing 200 MiB is OOM-killed,
# on both.  Needs active swap (the VMs have zram); skipped without it.
# bats file_tags=vm

load ../lib/common

setup() {
	mh_setup
	cg_has_swap_accounting || skip "no per-cgroup swap accounting on this kernel"
}
teardown() { mh_teardown; }

swap_bundle() { # MIB to touch
	mh_bundle
	mh_hooks
	mh_mem limit $((64 * MIB))
	mh_mem swap $((128 * MIB))
	mh_args /bin/sh -c "$(mh_read_script limit swap) touchmem $1; echo rc=\$?"
}

@test "limit 64m swap 128m gives 64 MiB of memory and 64 MiB of swap" {
	swap_bundle 1
	run mh_run_container
	assert_success
	assert_line "limit=$((64 * MIB))"
	if [ "$MH_CGVER" = 1 ]; then
		assert_line "swap=$((128 * MIB))"
	else
		assert_line "swap=$((64 * MIB))"
	fi
	assert_equal "$(mh_plan_value "$(basename "$(cg_swap_file)")")" \
		"$([ "$MH_CGVER" = 1 ] && echo $((128 * MIB)) || echo $((64 * MIB)))"
}

@test "a workload needing 100 MiB survives in limit 64m swap 128m by swapping" {
	mh_swap_on || skip "no active swap on this machine (the VM suites have zram)"
	swap_bundle 100
	run mh_run_container
	assert_success
	assert_line "rc=0"
}

@test "a workload needing 200 MiB in limit 64m swap 128m is OOM-killed" {
	mh_swap_on || skip "no active swap on this machine (the VM suites have zram)"
	swap_bundle 200
	run mh_run_container
	assert_line "rc=137"
	refute_line "rc=0"
}
