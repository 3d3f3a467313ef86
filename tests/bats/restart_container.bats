#!/usr/bin/env bats
# Container mode (issue 7): `memhook-runtime run` in the foreground stays
# the container's parent and restarts it as io.memhook.restart says, with
# the backoff of io.memhook.restart.backoff and the limit growth of
# io.memhook.oom.grow.  Real runc in a private --root; containers are
# memhook-c-*, cgroups /memhook-c/<id>.

# shellcheck disable=SC2034  # MH_CG_PARENT is read by mh_teardown
# shellcheck disable=SC2016  # jq filters are single-quoted on purpose

load ../lib/common
bats_require_minimum_version 1.5.0

setup() {
	mh_setup
	MH_CG_PARENT=memhook-c
	MH_RUNC_ROOT=$MH_TR/runc
	mkdir -p "$MH_RUNC_ROOT"
	RUNTIME=$BUILD/shim/memhook-runtime
	[ -x "$RUNTIME" ] || fail "$RUNTIME missing: build with 'ninja -C $BUILD'"
	export MEMHOOK_STATE_DIR=$STATE MEMHOOK_HOOK_PATH=$MEMHOOK MEMHOOK_CONFIG=$MH_TR/no-memhook.json
	MEMHOOK_REAL_RUNTIME=$(command -v runc)
	export MEMHOOK_REAL_RUNTIME
	unset MEMHOOK_UNSUPPORTED MEMHOOK_DEFAULT_LIMIT MEMHOOK_MAX_LIMIT MEMHOOK_ON_FAULT
}

teardown() {
	mh_teardown
}

# rc_bundle POLICY ARG…: a bundle running ARG… under io.memhook.restart=POLICY,
# 64 MiB without swap, backoff 100ms doubling.
rc_bundle() {
	local policy=$1
	shift
	mh_bundle
	unset 'MH_CIDS[-1]'
	CID=memhook-c-$MH_TNAME-$MH_NBUNDLE-$$
	MH_CIDS+=("$CID")
	mh_jq --arg cg "/memhook-c/$CID" '.linux.cgroupsPath = $cg'
	mh_args "$@"
	mh_no_swap 67108864
	mh_annotate io.memhook.restart "$policy"
	mh_annotate io.memhook.restart.backoff 100ms,1s,10s
}

rc_run() { # memhook-runtime run in the foreground
	exec "$RUNTIME" --root "$MH_RUNC_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null
}

# ms since the epoch of each event's time (RFC 3339 with ms, UTC)
ev_ms() {
	jq -r '.time' | while read -r t; do
		local ms=${t##*.}
		echo $(($(date -u -d "${t%.*}Z" +%s) * 1000 + 10#${ms%Z}))
	done
}

@test "on-oom:3 with a workload that always OOMs: 3 restarts, backoff doubling, exit 137" {
	rc_bundle on-oom:3 /bin/touchmem 100
	run -137 rc_run
	assert_equal "$(grep -c 'restarting after OOM kill' <<<"$output")" 3
	assert_output --partial "restarting after OOM kill (attempt 2/3) in 200 ms; limit 64 MiB"
	run mh_events restart
	assert_equal "${#lines[@]}" 3
	assert_equal "$(jq -s -c 'map(.delay_ms)' <<<"$output")" "[100,200,400]"
	assert_equal "$(jq -s -c 'map(.attempt)' <<<"$output")" "[1,2,3]"
	assert_equal "$(jq -s -c 'map(.mode) | unique' <<<"$output")" '["container"]'
	assert_equal "$(jq -s -c 'map(.limit) | unique' <<<"$output")" "[67108864]"
	run mh_events exit
	assert_equal "${#lines[@]}" 4
	assert_equal "$(jq -s -c 'map(.verdict) | unique' <<<"$output")" '["OOMKilled"]'
	# Each restart waited its delay: the next run's apply comes at least
	# delay_ms after the restart event.
	local r a i
	mapfile -t r < <(mh_events restart | ev_ms)
	mapfile -t a < <(mh_events apply | ev_ms)
	assert_equal "${#a[@]}" 4
	for i in 0 1 2; do
		local want=$((100 << i)) got=$((a[i + 1] - r[i]))
		[ "$got" -ge "$want" ] || fail "restart $((i + 1)): gap $got ms < $want ms"
	done
}

@test "on-oom: a kill from outside is no OOM kill, no restart" {
	rc_bundle on-oom /bin/sleep 1000
	rc_run &
	local pid=$!
	mh_wait_for mh_has_event apply
	mh_wait_for mh_runc kill "$CID" KILL
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 137
	run mh_events restart
	assert_output ""
	# memhook-runtime, the parent, saw the status: Killed by SIGKILL, not
	# the hook's "Ended", and never OOMKilled.
	run mh_events exit
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r .verdict <<<"$output")" Killed
	assert_equal "$(jq -r .signal <<<"$output")" SIGKILL
	assert_equal "$(jq -r .exit_code <<<"$output")" 137
	assert_equal "$(jq -r .main_oom_killed <<<"$output")" false
	assert_equal "$(mh_record | jq -r '[.verdict, .exit_by] | join(" ")')" "Killed runtime"
}

@test "on-oom: a child OOM kill with exit 0 is no restart" {
	rc_bundle on-oom /bin/oomkids 1 100
	run -0 rc_run
	run mh_events restart
	assert_output ""
	run mh_events exit
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r '[.verdict, .exit_code] | join(" ")' <<<"$output")" "Exited 0"
	assert_equal "$(jq -r .main_oom_killed <<<"$output")" false
	assert_equal "$(jq -r .oom_kills <<<"$output")" 1
}

@test "on-failure:2 with exit 3: two restarts, exit 3" {
	rc_bundle on-failure:2 /bin/sh -c "exit 3"
	run -3 rc_run
	assert_output --partial "restarting after exit 3 (attempt 2/2) in 200 ms"
	run mh_events restart
	assert_equal "$(jq -s -c 'map([.attempt, .delay_ms])' <<<"$output")" "[[1,100],[2,200]]"
	# One exit event a run, each with the exact code the parent saw.
	run mh_events exit
	assert_equal "${#lines[@]}" 3
	assert_equal "$(jq -s -c 'map([.verdict, .exit_code])' <<<"$output")" '[["Exited",3],["Exited",3],["Exited",3]]'
}

@test "always with a healthy exit: restarts until SIGTERM, then stops promptly" {
	rc_bundle always /bin/sh -c "sleep 0.2"
	"$RUNTIME" --root "$MH_RUNC_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null 2>"$MH_TR/err" &
	local pid=$!
	# two restarts seen, then ask for the stop
	mh_wait_for eval '[ "$(mh_events restart | wc -l)" -ge 2 ]'
	local t0
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" || true
	local took=$((($(date +%s%N) - t0) / 1000000))
	[ "$took" -lt 3000 ] || fail "stop took $took ms"
	local n
	n=$(mh_events restart | wc -l)
	sleep 1
	assert_equal "$(mh_events restart | wc -l)" "$n"
	run ! mh_container_exists "$CID"
}

@test "a stop during a run that ignores TERM: KILL after the grace, no restart" {
	# sleep as the container's pid 1 has no handler: TERM does nothing to it
	rc_bundle always /bin/sleep 1000
	"$RUNTIME" --root "$MH_RUNC_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null 2>"$MH_TR/err" &
	local pid=$! rc=0 t0
	mh_wait_for mh_has_event apply
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	local took=$((($(date +%s%N) - t0) / 1000000))
	assert_equal "$rc" 137
	[ "$took" -ge 9500 ] && [ "$took" -lt 14000 ] || fail "stop took $took ms (grace 10 s)"
	run mh_events restart
	assert_output ""
	run ! mh_container_exists "$CID"
}

# bats test_tags=vm
@test "grow: an OOM-killed workload gets a larger limit until it fits" {
	rc_bundle on-oom:4 /bin/touchmem 100
	mh_annotate io.memhook.oom.grow 1.5,256m
	run -0 rc_run
	run mh_events restart
	# 64 MiB x 1.5 = 96 MiB, x 1.5 = 144 MiB: fits 100 MiB
	assert_equal "$(jq -s -c 'map(.limit)' <<<"$output")" "[100663296,150994944]"
	assert_equal "$(jq .linux.resources.memory.limit "$CONFIG")" 150994944
	assert_equal "$(jq .linux.resources.memory.swap "$CONFIG")" 150994944
	run mh_events exit
	assert_equal "$(jq -s -c 'map(.verdict)' <<<"$output")" '["OOMKilled","OOMKilled","Exited"]'
}

@test "grow: never above its ceiling" {
	rc_bundle on-oom:3 /bin/touchmem 100
	mh_annotate io.memhook.oom.grow 1.5,80m
	run -137 rc_run
	assert_output --partial "(attempt 3/3) in 400 ms; limit 80 MiB"
	run mh_events restart
	assert_equal "$(jq -s -c 'map(.limit)' <<<"$output")" "[83886080,83886080,83886080]"
	assert_equal "$(jq .linux.resources.memory.limit "$CONFIG")" 83886080
}

@test "reset: a run longer than RESET before its OOM starts again after INITIAL, not the doubled delay" {
	rc_bundle on-oom:3 /bin/sh -c 'n=$(cat /var/runs 2>/dev/null || echo 0); echo $((n + 1)) >/var/runs
		[ "$n" -lt 2 ] || sleep 4; exec /bin/touchmem 100'
	mh_annotate io.memhook.restart.backoff 300ms,10s,3s
	# The run count survives the restarts in a host dir (the rootfs is read-only).
	mkdir -p "$MH_TW/var"
	mh_jq --arg d "$MH_TW/var" '.mounts += [{destination: "/var", type: "bind", source: $d, options: ["rbind", "rw"]}]'
	run -137 rc_run
	# runs 1 and 2 OOM at once: 300 ms, then doubled to 600 ms; run 3 ran
	# 4 s (> RESET 3 s) before its OOM: back to 300 ms, not 1200 ms.
	assert_output --partial "restarting after OOM kill (attempt 3/3) in 300 ms"
	assert_equal "$(cat "$MH_TW/var/runs")" 4
	run mh_events restart
	assert_equal "$(jq -s -c 'map(.delay_ms)' <<<"$output")" "[300,600,300]"
	run mh_events exit
	assert_equal "$(jq -s -c 'map(.verdict) | unique' <<<"$output")" '["OOMKilled"]'
	# and it waited that long, not the doubled delay: the fourth run's
	# apply comes 300 ms (plus runc's start) after the third restart event.
	local r a gap
	mapfile -t r < <(mh_events restart | ev_ms)
	mapfile -t a < <(mh_events apply | ev_ms)
	assert_equal "${#a[@]}" 4
	gap=$((a[3] - r[2]))
	[ "$gap" -ge 300 ] && [ "$gap" -lt 1200 ] || fail "restart 3: gap $gap ms, want 300 ms (< 1200 ms, the doubled delay)"
}

@test "run -d with a restart policy: memhook-init injected (process mode), two restarts inside, then 137" {
	rc_bundle on-oom:2 /bin/touchmem 100
	# runc run -d keeps the container's stdio: give it a file, not bats' pipes.
	"$RUNTIME" --root "$MH_RUNC_ROOT" run -d --bundle "$BUNDLE" "$CID" </dev/null >"$MH_TW/stdio" 2>&1 ||
		fail "run -d: $(cat "$MH_TW/stdio")"
	assert_equal "$(jq -r '.process.args[0:3] | join(" ")' "$CONFIG")" "/.memhook/init --policy on-oom:2"
	local i
	for i in $(seq 300); do
		[ "$(mh_runc state "$CID" 2>/dev/null | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	assert_equal "$(mh_runc state "$CID" | jq -r .status)" stopped
	# memhook-init's records: three OOM-killed runs, the last one's 137 passed on
	run jq -s -c 'map(select(.event == "exit") | [.verdict, .exit_code])' "$STATE/$CID/init-records.jsonl"
	assert_output '[["OOMKilled",137],["OOMKilled",137],["OOMKilled",137]]'
	# the watcher forwarded both restarts to events.jsonl, as process mode
	mh_wait_for eval '[ "$(mh_events restart | wc -l)" = 2 ]'
	run mh_events restart
	assert_equal "$(jq -s -c 'map([.mode, .attempt])' <<<"$output")" '[["process",1],["process",2]]'
	grep -q "restarting /bin/touchmem after OOM kill (attempt 2/2)" "$MH_TW/stdio" || fail "stdio: $(cat "$MH_TW/stdio")"
	# No container-mode supervisor was involved.
	refute_output --partial '"container"'
}

@test "run --console-socket with a restart policy: memhook-init injected, then runc's own answer" {
	rc_bundle on-oom /bin/true
	# No socket listens there: runc fails, after memhook-runtime prepared the bundle.
	run "$RUNTIME" --root "$MH_RUNC_ROOT" run --console-socket "$MH_TW/none.sock" --bundle "$BUNDLE" "$CID" </dev/null
	assert_failure
	refute_output --partial "memhook-runtime:"
	assert_equal "$(jq -r '.process.args[0:3] | join(" ")' "$CONFIG")" "/.memhook/init --policy on-oom"
	run jq -r '.mounts[] | select(.destination == "/.memhook/init") | .source' "$CONFIG"
	assert_output "$BUILD/init/memhook-init"
}
