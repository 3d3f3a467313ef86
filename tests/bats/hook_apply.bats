#!/usr/bin/env bats
# shellcheck disable=SC2034  # MH_STDIN is read by mh_hook (tests/lib/common.bash)
# memhook as an OCI hook under real runc: every memory field is applied and
# read back from INSIDE the container (runc mounts the container's own
# cgroup at /sys/fs/cgroup), on cgroup v1 and v2 with the same tests.

load ../lib/common

setup() { mh_setup; }
teardown() { mh_teardown; }

# assert_planned NAME VALUE…: memhook's apply event planned the cgroup file
# for NAME (a cg_file name) with one of the VALUEs.  Proves memhook, not
# only runc, handled the field.
assert_planned() {
	local name=$1 file got v
	shift
	file=$(basename "$(cg_file "$name")")
	got=$(mh_plan_value "$file")
	for v in "$@"; do
		[ "$got" = "$v" ] && return 0
	done
	fail "apply event planned '$got' for $file, expected one of: $* (events: $(mh_events apply))"
}

# A bundle with memhook's hooks whose process prints the given cgroup files.
hooked_reader() { # hook-args… -- names…
	local hook_args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do hook_args+=("$1"); shift; done
	shift
	mh_bundle
	mh_hooks "${hook_args[@]}"
	mh_args_read "$@"
}

# ---------------------------------------------------------------- fields

# bats test_tags=vm
@test "a memory limit from config.json is applied and read back inside the container" {
	hooked_reader -- limit
	mh_mem limit $((64 * MIB))
	run mh_run_container
	assert_success
	assert_line "limit=$((64 * MIB))"
	mh_has_event apply
	run mh_events apply
	assert_output --partial "\"version\":$MH_CGVER"
	assert_equal "$(mh_plan_value "$(basename "$(cg_limit_file)")")" "$((64 * MIB))"
	# runc had already written it: verified, not rewritten.
	assert_equal "$(mh_correction "$(basename "$(cg_limit_file)")")" ""
	[ -f "$STATE/$CID/record.json" ]
}

@test "a limit that is not a page multiple is applied rounded to the page size" {
	hooked_reader -- limit
	mh_mem limit $((64 * MIB + 1000))
	run mh_run_container
	assert_success
	assert_line "limit=$(cg_bytes $((64 * MIB + 1000)))"
	assert_planned limit $((64 * MIB + 1000)) "$(cg_bytes $((64 * MIB + 1000)))"
	# Rounding is not a verification failure.
	run mh_events warning
	refute_output --partial "does not match"
}

@test "an unlimited limit (-1) leaves the container unlimited" {
	hooked_reader -- limit
	mh_mem limit -1
	run mh_run_container
	assert_success
	assert_line "limit=$(cg_unlimited)"
	assert_planned limit -1 max
}

# bats test_tags=vm
@test "swap is memory+swap: memsw on v1, memory.swap.max = swap - limit on v2" {
	cg_has_swap_accounting || skip "this kernel does not account swap per cgroup"
	hooked_reader -- limit swap
	mh_mem limit $((64 * MIB))
	mh_mem swap $((128 * MIB))
	run mh_run_container
	assert_success
	assert_line "limit=$((64 * MIB))"
	if [ "$MH_CGVER" = 1 ]; then
		assert_line "swap=$((128 * MIB))"
		assert_planned swap $((128 * MIB))
	else
		assert_line "swap=$((64 * MIB))"
		assert_planned swap $((64 * MIB))
	fi
}

@test "swap equal to the limit means no swap at all" {
	cg_has_swap_accounting || skip "this kernel does not account swap per cgroup"
	hooked_reader -- limit swap
	mh_mem limit $((64 * MIB))
	mh_mem swap $((64 * MIB))
	run mh_run_container
	assert_success
	if [ "$MH_CGVER" = 1 ]; then
		assert_line "swap=$((64 * MIB))"
		assert_planned swap $((64 * MIB))
	else
		assert_line "swap=0"
		assert_planned swap 0
	fi
}

@test "swap -1 with a limit means unlimited swap" {
	cg_has_swap_accounting || skip "this kernel does not account swap per cgroup"
	hooked_reader -- limit swap
	mh_mem limit $((64 * MIB))
	mh_mem swap -1
	run mh_run_container
	assert_success
	assert_line "limit=$((64 * MIB))"
	assert_line "swap=$(cg_unlimited)"
	assert_planned swap -1 max
}

# bats test_tags=vm
@test "a reservation becomes soft_limit_in_bytes on v1 and memory.low on v2" {
	hooked_reader -- reservation
	mh_mem limit $((128 * MIB))
	mh_mem reservation $((32 * MIB))
	run mh_run_container
	assert_success
	assert_line "reservation=$((32 * MIB))"
	assert_planned reservation $((32 * MIB))
}

# ---------------------------------------------------------------- --unsupported

# unsupported_case FIELD JSON MODE: run a container with FIELD set under
# --unsupported=MODE, printing the v1 files the field maps to.
unsupported_case() {
	hooked_reader "--unsupported=$3" -- swappiness oom kernel use_hierarchy
	mh_mem limit $((64 * MIB))
	mh_mem "$1" "$2"
	run mh_run_container
}

# A field this host cannot honour (v2 has no file; recent v1 kernels no
# longer enforce it): error refuses the container naming the field, warn
# starts it with a warning event, ignore starts it silently.
assert_unsupported() { # FIELD MODE
	local field=linux.resources.memory.$1
	case $2 in
	error)
		assert_failure
		assert_output --partial "memhook: $CID: $field"
		refute_output --partial "swappiness="
		! mh_container_exists "$CID" || fail "container $CID was left behind"
		;;
	warn)
		assert_success
		[ -n "$(mh_warning_for "$field")" ] || fail "no warning event for $field: $(mh_events)"
		;;
	ignore)
		assert_success
		[ -z "$(mh_warning_for "$field")" ] || fail "a warning for $field under --unsupported=ignore"
		;;
	esac
}

# bats test_tags=vm
@test "swappiness is applied on v1 and handled by --unsupported on v2" {
	local mode
	for mode in error warn ignore; do
		unsupported_case swappiness 30 "$mode"
		if [ "$MH_CGVER" = 1 ]; then
			assert_success
			assert_line "swappiness=30"
			assert_planned swappiness 30
		else
			assert_unsupported swappiness "$mode"
		fi
	done
}

# bats test_tags=vm
@test "disableOOMKiller is applied on v1 and handled by --unsupported on v2" {
	local mode
	for mode in error warn ignore; do
		unsupported_case disableOOMKiller true "$mode"
		if [ "$MH_CGVER" = 1 ]; then
			assert_success
			assert_line "oom.oom_kill_disable=1"
			assert_planned oom 1
		else
			assert_unsupported disableOOMKiller "$mode"
		fi
	done
}

@test "a kernel memory limit is applied on old v1 kernels and handled by --unsupported where it is not enforced" {
	local mode
	for mode in error warn ignore; do
		unsupported_case kernel $((64 * MIB)) "$mode"
		if [ "$MH_CGVER" = 1 ] && ! mh_kernel_at_least 5 16; then
			assert_success
			assert_line "kernel=$((64 * MIB))"
			assert_planned kernel $((64 * MIB))
		else
			# v2 has no file; Linux 5.16+ accepts a write to
			# kmem.limit_in_bytes and ignores it.
			assert_unsupported kernel "$mode"
		fi
	done
}

@test "useHierarchy false is applied on old v1 kernels and handled by --unsupported where cgroups are always hierarchical" {
	local mode
	for mode in error warn ignore; do
		unsupported_case useHierarchy false "$mode"
		if [ "$MH_CGVER" = 1 ] && ! mh_kernel_at_least 5 11; then
			assert_success
			assert_line "use_hierarchy=0"
			assert_planned use_hierarchy 0
		else
			assert_unsupported useHierarchy "$mode"
		fi
	done
}

@test "useHierarchy true is honoured everywhere, even under --unsupported=error" {
	unsupported_case useHierarchy true error
	assert_success
	[ "$MH_CGVER" = 2 ] || assert_line "use_hierarchy=1"
	[ -z "$(mh_warning_for linux.resources.memory.useHierarchy)" ]
}

# ---------------------------------------------------------------- operator policy

@test "the operator's --default-limit reaches a container that set no limit" {
	hooked_reader --default-limit=48m -- limit
	run mh_run_container
	assert_success
	assert_line "limit=$((48 * MIB))"
	run mh_events apply
	assert_output --partial "default-limit"
	# Policy reaches the cgroup only: memhook wrote it over runc's unlimited.
	run mh_correction "$(basename "$(cg_limit_file)")"
	assert_output --regexp " $((48 * MIB))\$"
}

@test "--default-limit does not override the container's own limit, nor an explicit -1" {
	hooked_reader --default-limit=48m -- limit
	mh_mem limit $((96 * MIB))
	run mh_run_container
	assert_success
	assert_line "limit=$((96 * MIB))"
	assert_planned limit $((96 * MIB))

	hooked_reader --default-limit=48m -- limit
	mh_mem limit -1
	run mh_run_container
	assert_success
	assert_line "limit=$(cg_unlimited)"
}

@test "a limit above --max-limit is refused with memhook's message and the container never starts" {
	mh_bundle
	mh_hooks --max-limit=128m
	mh_mem limit $((256 * MIB))
	mh_args /bin/sh -c 'echo WORKLOAD-STARTED'
	run mh_run_container
	assert_failure
	refute_output --partial WORKLOAD-STARTED
	assert_output --partial "memhook: $CID: linux.resources.memory.limit"
	assert_output --regexp "max-limit|128 MiB"
	! mh_container_exists "$CID" || fail "container $CID was left behind"
	# runc removes the cgroup; on a slow VM it may give up while the killed
	# init is still exiting, but nothing may be left running in it.
	mh_wait_for cg_no_process "$CID" || fail "processes left in $(cg_host_dirs "$CID")"
	[ ! -e "$STATE/$CID/record.json" ] || [ -z "$(mh_events exit)" ]
}

@test "an unlimited container is refused when the operator set --max-limit" {
	mh_bundle
	mh_hooks --max-limit=128m
	mh_mem limit -1
	mh_args /bin/sh -c 'echo WORKLOAD-STARTED'
	run mh_run_container
	assert_failure
	refute_output --partial WORKLOAD-STARTED
	assert_output --partial "memhook: $CID: linux.resources.memory.limit"
}

# ---------------------------------------------------------------- corrections

# bats test_tags=vm
@test "a limit changed behind the runtime's back before the hook runs is corrected" {
	hooked_reader -- limit
	mh_mem limit $((64 * MIB))
	# A createRuntime hook ahead of memhook's leaves the cgroup different
	# from config.json, as a runtime that ignored the field would.
	local dir
	dir=$(cg_host_memory_dir "$CID")
	mh_jq --arg cmd "echo $((96 * MIB)) > $dir/$(basename "$(cg_limit_file)")" \
		'.hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", $cmd]}] + .hooks.createRuntime'
	run mh_run_container
	assert_success
	assert_line "limit=$((64 * MIB))"
	assert_equal "$(mh_plan_value "$(basename "$(cg_limit_file)")")" "$((64 * MIB))"
	assert_equal "$(mh_correction "$(basename "$(cg_limit_file)")")" "$((96 * MIB)) $((64 * MIB))"
}

@test "kernelTCP that runc 1.1 ignores is applied by memhook on v1" {
	[ "$MH_CGVER" = 1 ] || skip "kernelTCP has no cgroup v2 file"
	hooked_reader -- kernel_tcp
	mh_mem limit $((64 * MIB))
	mh_mem kernelTCP $((16 * MIB))
	run mh_run_container
	assert_success
	# runc only warns "Kernel memory settings are ignored": without memhook
	# the file would stay unlimited.
	assert_line "kernel_tcp=$((16 * MIB))"
	assert_equal "$(mh_plan_value memory.kmem.tcp.limit_in_bytes)" "$((16 * MIB))"
	run mh_correction memory.kmem.tcp.limit_in_bytes
	assert_output --regexp " $((16 * MIB))\$"
	refute_output --regexp "^$((16 * MIB)) "
}

@test "without memhook runc 1.1 leaves kernelTCP unapplied (the case memhook corrects)" {
	[ "$MH_CGVER" = 1 ] || skip "kernelTCP has no cgroup v2 file"
	mh_bundle
	mh_args_read kernel_tcp
	mh_mem limit $((64 * MIB))
	mh_mem kernelTCP $((16 * MIB))
	run mh_run_container
	assert_success
	refute_line "kernel_tcp=$((16 * MIB))"
}

# ---------------------------------------------------------------- invalid input

@test "swap below the memory limit is refused with the documented message and nothing changes" {
	mh_bundle
	mh_mem limit $((64 * MIB))
	mh_create_container
	# The runtime itself refuses swap < limit before any hook runs, so
	# give the hook the bad config after runc created the container.
	mh_mem swap $((32 * MIB))
	local before
	before=$(cg_snapshot "$CID")
	MH_STDIN=$(mh_state_json)
	run mh_hook createRuntime
	assert_equal "$status" 1
	assert_output "memhook: $CID: linux.resources.memory.swap: 32 MiB is below the memory limit 64 MiB (swap counts memory+swap); set swap >= limit or -1"
	assert_equal "$(cg_snapshot "$CID")" "$before"
	[ ! -e "$STATE/$CID/record.json" ]
}

@test "malformed state JSON on stdin is refused with exit 1 and nothing is recorded" {
	MH_STDIN='{"ociVersion": "1.0.2", "id": "memhook-t-x", "pid": '
	run mh_hook createRuntime
	assert_equal "$status" 1
	assert_output --regexp "^memhook: .*(state|JSON|json)"
	[ -z "$(find "$STATE" -name record.json 2>/dev/null)" ]
	[ ! -s "$STATE/events.jsonl" ] || ! grep -q '"event":"apply"' "$STATE/events.jsonl"
}

@test "a container id with ../ is refused before it becomes a path" {
	mh_bundle
	mh_mem limit $((64 * MIB))
	mh_create_container
	mh_mem limit $((32 * MIB))
	local before
	before=$(cg_snapshot "$CID")
	mkdir -p "$STATE"
	MH_STDIN=$(mh_state_json "../memhook-t-escape")
	run mh_hook createRuntime
	assert_equal "$status" 1
	assert_output --partial "memhook: "
	assert_output --regexp "id"
	[ ! -e "$MH_TR/memhook-t-escape" ]
	[ -z "$(find "$STATE" -name record.json)" ]
	assert_equal "$(cg_snapshot "$CID")" "$before"
}

@test "an unknown hook stage is a usage error (exit 2)" {
	MH_STDIN='{}'
	run mh_hook prestop
	assert_equal "$status" 2
	assert_output --partial "prestop"
	run "$MEMHOOK" hook
	assert_equal "$status" 2
	[ -z "$(find "$STATE" -name record.json 2>/dev/null)" ]
}

@test "a config.json that is not JSON fails the stage and leaves the cgroup as it was" {
	mh_bundle
	mh_mem limit $((64 * MIB))
	mh_create_container
	local before
	before=$(cg_snapshot "$CID")
	echo '{"ociVersion": "1.0.2", "linux": {' >"$CONFIG"
	MH_STDIN=$(mh_state_json)
	run mh_hook createRuntime
	assert_equal "$status" 1
	assert_output --partial "memhook: $CID: "
	assert_output --partial "config.json"
	assert_equal "$(cg_snapshot "$CID")" "$before"
}
