#!/usr/bin/env bats
# Process mode (issue 8): `memhook-runtime create` of a container with
# io.memhook.restart puts memhook-init in front of process.args, with the
# verdict dir the watcher answers in; the container stays up through the
# workload's restarts.  Real runc in a private --root; containers are
# memhook-p-*, cgroups /memhook-p/<id>.

# shellcheck disable=SC2034  # MH_CG_PARENT is read by mh_teardown
# shellcheck disable=SC2016  # jq filters are single-quoted on purpose

load ../lib/common
load ../lib/engines
bats_require_minimum_version 1.5.0

setup_file() { eng_setup_file memhook-p podman containerd docker; }
teardown_file() { eng_teardown_file; }

setup() {
	mh_setup
	MH_CG_PARENT=memhook-p
	MH_RUNC_ROOT=$MH_TR/runc
	mkdir -p "$MH_RUNC_ROOT"
	RUNTIME=$BUILD/shim/memhook-runtime
	[ -x "$RUNTIME" ] || fail "$RUNTIME missing: build with 'ninja -C $BUILD'"
	[ -x "$BUILD/init/memhook-init" ] || fail "memhook-init missing: build with 'ninja -C $BUILD'"
	export MEMHOOK_STATE_DIR=$STATE MEMHOOK_HOOK_PATH=$MEMHOOK MEMHOOK_CONFIG=$MH_TR/no-memhook.json
	MEMHOOK_REAL_RUNTIME=$(command -v runc)
	export MEMHOOK_REAL_RUNTIME
	unset MEMHOOK_UNSUPPORTED MEMHOOK_DEFAULT_LIMIT MEMHOOK_MAX_LIMIT MEMHOOK_ON_FAULT MEMHOOK_INIT_PATH
}

teardown() {
	mh_teardown
}

# rp_bundle POLICY ARG…: a bundle running ARG… under io.memhook.restart=POLICY,
# 64 MiB without swap, backoff 100ms doubling.
rp_bundle() {
	local policy=$1
	shift
	mh_bundle
	unset 'MH_CIDS[-1]'
	CID=memhook-p-$MH_TNAME-$MH_NBUNDLE-$$
	MH_CIDS+=("$CID")
	mh_jq --arg cg "/memhook-p/$CID" '.linux.cgroupsPath = $cg'
	mh_args "$@"
	mh_no_swap 67108864
	mh_annotate io.memhook.restart "$policy"
	mh_annotate io.memhook.restart.backoff 100ms,1s,10s
}

rp_create() { # as engines call it: create, then start
	"$RUNTIME" --root "$MH_RUNC_ROOT" create --bundle "$BUNDLE" "$CID" </dev/null >"$MH_TW/$CID.stdio" 2>&1
}

# Wait (up to 30 s) until runc says the container stopped.
rp_wait_stopped() {
	local i
	for i in $(seq 300); do
		[ "$(mh_runc state "$CID" 2>/dev/null | jq -r .status)" = stopped ] && return 0
		sleep 0.1
	done
	fail "container $CID did not stop: $(mh_runc state "$CID" 2>&1); $(cat "$MH_TW/$CID.stdio")"
}

# rp_records EVENT: memhook-init's records of that event (host side).
rp_records() {
	jq -c --arg ev "$1" 'select(.event == $ev)' "$STATE/$CID/init-records.jsonl"
}

@test "create: memhook-init goes in front of process.args, with its mounts; a second create changes nothing" {
	rp_bundle on-oom:2 /bin/true
	mh_annotate io.memhook.oom.grow 1.5,256m
	run rp_create
	assert_success
	run jq -c '.process.args' "$CONFIG"
	assert_output '["/.memhook/init","--policy","on-oom:2","--backoff","100ms,1s,10s","--grow","1.5,256m","--verdict-dir","/.memhook/verdicts","--events-file","/.memhook/records","--","/bin/true"]'
	run jq -r '.mounts[] | select(.destination | startswith("/.memhook/")) | "\(.destination) \(.source) \(.options | join(","))"' "$CONFIG"
	assert_line "/.memhook/init $BUILD/init/memhook-init bind,ro,nosuid,nodev"
	assert_line "/.memhook/verdicts $STATE/$CID/verdicts bind,ro,nosuid,nodev,noexec"
	assert_line "/.memhook/records $STATE/$CID/init-records.jsonl bind,rw,nosuid,nodev,noexec"
	assert_equal "$(stat -c %a "$STATE/$CID/verdicts")" 700
	# Idempotent: the rewritten config is left as it is.
	cp "$CONFIG" "$MH_TW/first.json"
	mh_runc delete -f "$CID"
	run rp_create
	assert_success
	run cmp "$CONFIG" "$MH_TW/first.json"
	assert_success
}

# rp_env NAME=VALUE…: add to the bundle's process.env.
rp_env() {
	mh_jq --argjson e "$(mh_json_array "$@")" '.process.env += $e'
}

@test "create: the restart settings from process.env (MEMHOOK_RESTART…) when there is no annotation" {
	rp_bundle no /bin/true
	mh_jq 'del(.annotations)'
	rp_env MEMHOOK_RESTART=on-oom:3 MEMHOOK_RESTART_BACKOFF=200ms,2s,20s MEMHOOK_OOM_GROW=1.5,256m
	run rp_create
	assert_success
	assert_equal "$(jq -c '.process.args[0:8]' "$CONFIG")" '["/.memhook/init","--policy","on-oom:3","--backoff","200ms,2s,20s","--grow","1.5,256m","--verdict-dir"]'
}

@test "create: an annotation wins over its MEMHOOK_* variable" {
	rp_bundle on-oom:2 /bin/true
	rp_env MEMHOOK_RESTART=always MEMHOOK_RESTART_BACKOFF=5s MEMHOOK_OOM_GROW=2
	run rp_create
	assert_success
	# restart and backoff from the annotations, grow (no annotation) from the environment
	assert_equal "$(jq -c '.process.args[0:7]' "$CONFIG")" '["/.memhook/init","--policy","on-oom:2","--backoff","100ms,1s,10s","--grow","2"]'
}

@test "create: a malformed MEMHOOK_* variable is refused naming it, and nothing is created" {
	rp_bundle no /bin/true
	mh_jq 'del(.annotations)'
	rp_env MEMHOOK_RESTART=sometimes
	run -1 "$RUNTIME" --root "$MH_RUNC_ROOT" create --bundle "$BUNDLE" "$CID" </dev/null
	assert_output "memhook: $CID: process.env MEMHOOK_RESTART: \"sometimes\" is not a policy; use no, on-oom[:N], on-failure[:N] or always"
	run ! mh_container_exists "$CID"
	mh_jq '.process.env = [.process.env[] | select(startswith("MEMHOOK_") | not)] + ["MEMHOOK_RESTART=on-oom", "MEMHOOK_RESTART_BACKOFF=1s,0.5s"]'
	run -1 "$RUNTIME" --root "$MH_RUNC_ROOT" create --bundle "$BUNDLE" "$CID" </dev/null
	assert_output --partial "memhook: $CID: process.env MEMHOOK_RESTART_BACKOFF: MAX \"0.5s\" is below INITIAL \"1s\""
	run ! mh_container_exists "$CID"
	# the config was left as it was
	assert_equal "$(jq -c '.process.args' "$CONFIG")" '["/bin/true"]'
}

@test "create without a restart policy: process.args untouched" {
	rp_bundle no /bin/true
	run rp_create
	assert_success
	assert_equal "$(jq -c '.process.args' "$CONFIG")" '["/bin/true"]'
}

@test "create+start, on-oom:2, a workload that always OOMs: two restarts inside, then exit 137" {
	rp_bundle on-oom:2 /bin/touchmem 100
	rp_create || fail "create: $(cat "$MH_TW/$CID.stdio")"
	mh_runc start "$CID"
	rp_wait_stopped
	run rp_records restart
	assert_equal "${#lines[@]}" 2
	assert_equal "$(jq -s -c 'map(.mode) | unique' <<<"$output")" '["process"]'
	assert_equal "$(jq -s -c 'map(.after) | unique' <<<"$output")" '["OOMKilled"]'
	assert_equal "$(jq -s -c 'map(.attempt)' <<<"$output")" '[1,2]'
	run rp_records exit
	assert_equal "${#lines[@]}" 3
	assert_equal "$(jq -s -c 'map(.verdict) | unique' <<<"$output")" '["OOMKilled"]'
	assert_equal "$(jq -s -c 'last | .exit_code' <<<"$output")" 137
	# Answers came from the watcher, one per OOM kill of the workload.
	assert_equal "$(grep -c '^oom_kill [0-9]*$' "$STATE/$CID/verdicts/oom_kills")" 3
	# The watcher forwarded the restarts to events.jsonl.
	run mh_wait_for sh -c '[ "$(jq -c "select(.id == \"$1\" and .event == \"restart\")" "$2" | wc -l)" = 2 ]' _ "$CID" "$STATE/events.jsonl"
	assert_success
	run mh_events restart
	assert_equal "$(jq -s -c 'map([.mode, .attempt, .after, .delay_ms])' <<<"$output")" '[["process",1,"OOMKilled",100],["process",2,"OOMKilled",200]]'
}

@test "create+start, on-oom:2: the container's verdict and exit event are the workload's (OOMKilled), not memhook-init's" {
	rp_bundle on-oom:2 /bin/touchmem 100
	rp_create || fail "create: $(cat "$MH_TW/$CID.stdio")"
	mh_runc start "$CID"
	rp_wait_stopped
	mh_runc delete "$CID"
	mh_wait_for sh -c '[ "$(jq -r .verdict "$1")" != null ]' _ "$STATE/$CID/record.json"
	run mh_events exit
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r '[.verdict, .main_oom_killed, .oom_kills] | join(" ")' <<<"$output")" "OOMKilled true 3"
	# Each oom_kill event names the workload as the main process.
	run mh_events oom_kill
	assert_equal "$(jq -s -c 'map(.main) | unique' <<<"$output")" '[true]'
	assert_equal "$(jq -s -c 'map(.comm) | unique' <<<"$output")" '["touchmem"]'
}

# bats test_tags=vm
@test "create+start, on-oom:2 with io.memhook.oom.grow: the watcher raises the limit before each restart" {
	rp_bundle on-oom:2 /bin/touchmem 100
	mh_annotate io.memhook.oom.grow 1.25,90m
	rp_create || fail "create: $(cat "$MH_TW/$CID.stdio")"
	mh_runc start "$CID"
	rp_wait_stopped
	# 64 MiB -> 80 MiB -> 90 MiB (the ceiling): 100 MiB never fits.
	run mh_wait_for sh -c '[ "$(jq -c "select(.id == \"$1\" and .event == \"restart\")" "$2" | wc -l)" = 2 ]' _ "$CID" "$STATE/events.jsonl"
	assert_success
	run mh_events restart
	assert_equal "$(jq -s -c 'map(.limit)' <<<"$output")" "[$((80 * MIB)),$((90 * MIB))]"
	local f=memory.limit_in_bytes
	[ "$MH_CGVER" = 1 ] || f=memory.max
	assert_equal "$(cat "$(cg_host_memory_dir "$CID")/$f")" $((90 * MIB))
	run rp_records exit
	assert_equal "$(jq -s -c 'map(.verdict)' <<<"$output")" '["OOMKilled","OOMKilled","OOMKilled"]'
}

@test "create+start, on-oom:2: kill -9 of the workload's host pid is no OOM kill, no restart" {
	rp_bundle on-oom:2 /bin/sleep 1000
	rp_create || fail "create: $(cat "$MH_TW/$CID.stdio")"
	mh_runc start "$CID"
	local ipid wpid="" i
	ipid=$(mh_runc state "$CID" | jq -r .pid)
	for i in $(seq 50); do
		wpid=$(awk '{print $1}' "/proc/$ipid/task/$ipid/children" 2>/dev/null) || true
		[ -n "$wpid" ] && break
		sleep 0.1
	done
	[ -n "$wpid" ] || fail "no workload under memhook-init ($ipid)"
	kill -KILL "$wpid"
	rp_wait_stopped
	run rp_records restart
	assert_output ""
	run rp_records exit
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .verdict <<<"$output")" Killed
	assert_equal "$(jq -r .exit_code <<<"$output")" 137
	assert_equal "$(mh_events restart)" ""
	[ ! -s "$STATE/$CID/verdicts/oom_kills" ] || fail "an OOM answer for a kill -9: $(cat "$STATE/$CID/verdicts/oom_kills")"
}

# bats test_tags=vm
@test "create with memory.oom.group=1 (v2): refused, restart in place is impossible" {
	[ "$MH_CGVER" = 2 ] || skip "linux.resources.unified needs cgroup v2 (this host: v$MH_CGVER)"
	rp_bundle on-oom:2 /bin/true
	mh_unified memory.oom.group 1
	run "$RUNTIME" --root "$MH_RUNC_ROOT" create --bundle "$BUNDLE" "$CID" </dev/null
	assert_failure
	assert_output --partial "memory.oom.group"
	assert_output --partial "container mode"
	run mh_container_exists "$CID"
	assert_failure
}

# ---------------------------------------------------------------- podman
# (podman splits --annotation values at commas: no backoff annotation.)
# A private podman (tests/lib/engines.bash): memhook-runtime keeps its
# state in $ENG_STATE there, shared by this file's engine tests.

@test "podman: on-oom:2 with a workload that always OOMs: up through two restarts, then 137; restart count 0" {
	eng_skip_unless podman
	[ "$MH_CGVER" = 1 ] || [ "$(awk 'NR > 1' /proc/swaps | wc -l)" = 0 ] || skip "podman sets no swap limit here and this host has swap"
	STATE=$ENG_STATE
	run eng_podman run --cidfile "$MH_TW/p.cid" --runtime "$RUNTIME" --cgroup-parent "/$ENG_PREFIX" \
		--memory 64m --memory-swap 64m --annotation io.memhook.restart=on-oom:2 \
		"$ENG_IMAGE" touchmem 100
	local id rc=$status out=$output
	[ -s "$MH_TW/p.cid" ] || fail "podman run ($rc): $out"
	id=$(cat "$MH_TW/p.cid")
	local count
	count=$(eng_podman inspect -f '{{.RestartCount}}' "$id")
	eng_podman rm -f "$id" >/dev/null 2>&1
	[ "$rc" = 137 ] || fail "podman run exit $rc: $out"
	[[ $out == *"restarting"*"(attempt 2/2)"* ]] || fail "podman run's output: $out"
	assert_equal "$count" 0
	CID=$id
	run rp_records restart
	assert_equal "${#lines[@]}" 2
	assert_equal "$(jq -s -c 'map(.mode) | unique' <<<"$output")" '["process"]'
	run mh_wait_for sh -c '[ "$(jq -c "select(.id == \"$1\" and .event == \"restart\")" "$2" | wc -l)" = 2 ]' _ "$CID" "$STATE/events.jsonl"
	assert_success
}

# ---------------------------------------------------------------- docker
# docker 20.10 has no --annotation, and its labels never reach
# config.json: tried with a private dockerd, `docker run --label
# io.memhook.restart=on-oom:2` gives a config.json with no annotations at
# all.  The restart settings go in the container's environment instead
# (-e MEMHOOK_RESTART=…, process.env in config.json).

# rd_run [docker run options…] -- CMD…: docker run under memhook-runtime,
# 64 MiB without swap; the container id in CID.
rd_run() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	rm -f "$MH_TW/d.cid"
	eng_docker run --cidfile "$MH_TW/d.cid" --network none --runtime memhook --memory 64m --memory-swap 64m \
		"${opts[@]}" "$ENG_IMAGE" "$@" </dev/null
}
rd_cid() {
	CID=$(cat "$MH_TW/d.cid") || fail "docker made no container"
}

# The workload's host pid: memhook-init's (the container's pid 1) child.
rd_workload_pid() {
	local ipid wpid="" i
	ipid=$(eng_docker inspect -f '{{.State.Pid}}' "$CID")
	[ "$ipid" -gt 0 ] || return 1
	for i in $(seq 50); do
		wpid=$(awk '{print $1}' "/proc/$ipid/task/$ipid/children" 2>/dev/null) || true
		[ -n "$wpid" ] && break
		sleep 0.1
	done
	[ -n "$wpid" ] && echo "$wpid"
}

rd_skip() {
	eng_skip_unless docker
	[ "$MH_CGVER" = 1 ] || [ "$(awk 'NR > 1' /proc/swaps | wc -l)" = 0 ] ||
		skip "docker 20.10 sets no swap limit on cgroup v2 and this host has swap"
	STATE=$ENG_STATE
}

@test "docker: on-oom:2 from -e MEMHOOK_RESTART, a workload that always OOMs: up through two restarts, then 137; RestartCount 0" {
	rd_skip
	run rd_run -e MEMHOOK_RESTART=on-oom:2 -e MEMHOOK_RESTART_BACKOFF=100ms,1s,10s -- touchmem 100
	local rc=$status out=$output
	rd_cid
	assert_equal "$rc" 137
	[[ $out == *"restarting"*"(attempt 2/2)"* ]] || fail "docker run's output: $out"
	assert_equal "$(eng_docker inspect -f '{{.RestartCount}} {{.State.ExitCode}}' "$CID")" "0 137"
	# One container, created once: one apply by the hook.
	assert_equal "$(mh_events apply | wc -l)" 1
	run rp_records restart
	assert_equal "$(jq -s -c 'map([.mode, .attempt, .after, .delay_ms])' <<<"$output")" '[["process",1,"OOMKilled",100],["process",2,"OOMKilled",200]]'
	run rp_records exit
	assert_equal "$(jq -s -c 'map(.verdict)' <<<"$output")" '["OOMKilled","OOMKilled","OOMKilled"]'
	run mh_wait_for sh -c '[ "$(jq -c "select(.id == \"$1\" and .event == \"restart\")" "$2" | wc -l)" = 2 ]' _ "$CID" "$STATE/events.jsonl"
	assert_success
	eng_docker rm "$CID" >/dev/null
}

@test "docker: on-oom:2, kill -9 of the workload's host pid (not memhook-init's): Killed, no restart" {
	rd_skip
	run rd_run -d -e MEMHOOK_RESTART=on-oom:2 -- sleep 1000
	assert_success
	rd_cid
	local wpid ipid
	ipid=$(eng_docker inspect -f '{{.State.Pid}}' "$CID")
	wpid=$(rd_workload_pid) || fail "no workload under memhook-init ($ipid)"
	[ "$wpid" != "$ipid" ] || fail "the workload is the container's pid 1"
	# docker kill signals only the container's pid 1 (memhook-init): the
	# workload's own death is a kill from the host.
	kill -KILL "$wpid"
	run timeout 20 "$ENG_DOCKER_CLI" -H "unix://$ENG_DIR/docker/docker.sock" wait "$CID"
	assert_output 137
	assert_equal "$(eng_docker inspect -f '{{.RestartCount}} {{.State.OOMKilled}}' "$CID")" "0 false"
	run rp_records restart
	assert_output ""
	run rp_records exit
	assert_equal "$(jq -c '[.verdict, .exit_code]' <<<"$output")" '["Killed",137]'
	assert_equal "$(mh_events restart)" ""
	eng_docker rm "$CID" >/dev/null
}

@test "docker: docker stop during a backoff ends the container within 5 s with the last run's 137" {
	rd_skip
	run rd_run -d -e MEMHOOK_RESTART=on-oom -e MEMHOOK_RESTART_BACKOFF=60s -- touchmem 100
	assert_success
	rd_cid
	# memhook-init is waiting 60 s before the second run
	mh_wait_for eval '[ -n "$(rp_records restart 2>/dev/null)" ]' || fail "no restart record: $(eng_docker logs "$CID" 2>&1)"
	local t0 took
	t0=$(date +%s%N)
	eng_docker stop -t 10 "$CID" >/dev/null
	took=$((($(date +%s%N) - t0) / 1000000))
	[ "$took" -lt 5000 ] || fail "docker stop took $took ms"
	assert_equal "$(eng_docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$CID")" "exited 137 0"
	# no second run: one restart decided, never started
	assert_equal "$(rp_records restart | wc -l)" 1
	assert_equal "$(rp_records exit | wc -l)" 1
	eng_docker rm "$CID" >/dev/null
}

@test "docker: a malformed -e MEMHOOK_RESTART is refused at create naming the variable" {
	eng_skip_unless docker
	run --separate-stderr rd_run -e MEMHOOK_RESTART=sometimes -- true
	assert_failure
	rd_cid
	[[ $stderr == *"memhook: $CID: process.env MEMHOOK_RESTART: \"sometimes\" is not a policy"* ]] || fail "docker's stderr: $stderr"
	eng_docker rm -f "$CID" >/dev/null
}
