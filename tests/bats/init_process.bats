#!/usr/bin/env bats
# memhook-init as PID 1 of a real runc container, bind-mounted read-only at
# /.memhook/init in front of process.args, as memhook-runtime sets it up for
# process mode: signals reach the workload, orphans are reaped, exit codes
# pass through, and restarts follow the policy, with the watcher's answers
# (played here by the test) as the only evidence of an OOM kill.

load ../lib/common

setup() {
	mh_setup
	# this suite's containers and cgroups: memhook-i-…, /memhook-i/<id>
	MH_CG_PARENT=memhook-i
	INIT=$BUILD/init/memhook-init
	[ -x "$INIT" ] || fail "$INIT missing: build with 'ninja -C $BUILD'"
}

teardown() {
	[ -z "${WATCHER:-}" ] || { kill "$WATCHER" 2>/dev/null; wait "$WATCHER" 2>/dev/null; }
	[ -z "${RUNNER:-}" ] || { kill "$RUNNER" 2>/dev/null; wait "$RUNNER" 2>/dev/null; }
	mh_teardown
}

# init_bundle [memhook-init options…] -- PROG [ARG…]: a bundle whose process
# is memhook-init running PROG, with the verdict dir ($VERDICTS on the host,
# read-only inside) and the records file ($RECORDS, writable) mounted.
init_bundle() {
	mh_bundle || return 1
	CID=memhook-i-${CID#memhook-t-}
	MH_CIDS[-1]=$CID
	VERDICTS=$MH_TR/verdicts
	RECORDS=$MH_TR/records.jsonl
	mkdir -p "$VERDICTS"
	: >"$RECORDS"
	mh_jq --arg cg "/$MH_CG_PARENT/$CID" --arg init "$INIT" --arg v "$VERDICTS" --arg r "$RECORDS" '
		.linux.cgroupsPath = $cg
		| .mounts += [
			{destination: "/.memhook/init", type: "bind", source: $init, options: ["bind", "ro", "nosuid", "nodev"]},
			{destination: "/.memhook/verdicts", type: "bind", source: $v, options: ["bind", "ro", "nosuid", "nodev", "noexec"]},
			{destination: "/.memhook/records", type: "bind", source: $r, options: ["bind", "rw", "nosuid", "nodev", "noexec"]}]'
	mh_args /.memhook/init --verdict-dir /.memhook/verdicts --events-file /.memhook/records "$@"
}

# Run the container in the background; its output goes to $OUT.
start_container() {
	OUT=$MH_TW/$CID.out
	: >"$OUT"
	mh_run_container >"$OUT" 2>&1 &
	RUNNER=$!
}

# Wait for the container to end; sets status to its exit status.
wait_container() {
	local rc=0
	wait "$RUNNER" || rc=$?
	RUNNER=
	status=$rc
	output=$(cat "$OUT")
	mapfile -t lines <"$OUT"
}

wait_output() { # TEXT
	local i
	for i in $(seq 100); do
		grep -qF -- "$1" "$OUT" && return 0
		sleep 0.05
	done
	fail "no \"$1\" in the output: $(cat "$OUT")"
}

# Play the watcher: every child of memhook-init gets an "oom_kill <pid in
# the container>" answer as soon as it is seen (alive or as the zombie
# memhook-init keeps while it waits for the answer).
start_answering_watcher() {
	(
		set +e # a process vanishing under us is the normal case here
		local seen=" " ipid="" c nspid i
		for i in $(seq 600); do
			[ -n "$ipid" ] || ipid=$(mh_runc state "$CID" 2>/dev/null | jq -r '.pid // empty' 2>/dev/null) || true
			if [ -n "$ipid" ] && [ "$ipid" != 0 ]; then
				for c in $(cat "/proc/$ipid/task/$ipid/children" 2>/dev/null); do
					nspid=$(awk '$1 == "NSpid:" { print $NF }' "/proc/$c/status" 2>/dev/null)
					[ -n "$nspid" ] || continue
					# pids inside the container are not reused within a test
					case $seen in *" $nspid "*) continue ;; esac
					seen="$seen$nspid "
					echo "oom_kill $nspid" >>"$VERDICTS/oom_kills"
				done
			fi
			sleep 0.02
		done
	) &
	WATCHER=$!
}

records() { # EVENT: jq over the records memhook-init wrote
	jq -c --arg e "$1" 'select(.event == $e)' "$RECORDS"
}

@test "SIGTERM, SIGINT, SIGHUP and SIGUSR1 sent to the container reach the workload" {
	init_bundle -- sigreport 30
	start_container
	wait_output "sigreport: ready"
	mh_runc kill "$CID" HUP
	wait_output "sigreport: got 1"
	mh_runc kill "$CID" USR1
	wait_output "sigreport: got 10"
	mh_runc kill "$CID" INT
	wait_container
	assert_equal "$status" 0
	assert_line "sigreport: got 1"
	assert_line "sigreport: got 10"
	assert_line "sigreport: got 2"

	init_bundle --policy always -- sigreport 30
	start_container
	wait_output "sigreport: ready"
	mh_runc kill "$CID" TERM
	wait_container
	# a stop: the workload ended, and "always" does not bring it back
	assert_equal "$status" 0
	assert_line "sigreport: got 15"
	refute_output --partial "restarting"
}

@test "orphans of the workload are reaped: no zombie is left" {
	# three orphans (their parent subshell exits at once) die after 0.3 s;
	# at 0.1 s they must have memhook-init (pid 1) as parent, at 1.5 s no
	# process may be a zombie.
	init_bundle -- /bin/sh -c '
		for i in 1 2 3; do (sleep 0.3 &); done
		sleep 0.1
		for f in /proc/[0-9]*/stat; do read -r pid comm st ppid rest <"$f"; [ "$comm" = "(sleep)" ] && echo "orphan ppid=$ppid"; done
		sleep 1.5
		z=0; for f in /proc/[0-9]*/stat; do read -r pid comm st rest <"$f"; [ "$st" = Z ] && z=$((z + 1)); done
		echo "zombies=$z"'
	run mh_run_container
	assert_success
	assert_equal "$(grep -c '^orphan ppid=1$' <<<"$output")" 3
	assert_line "zombies=0"
}

@test "exit codes 0, 3 and 137 pass through unchanged when no restart applies" {
	init_bundle -- /bin/true
	run mh_run_container
	assert_equal "$status" 0

	init_bundle -- /bin/sh -c 'exit 3'
	run mh_run_container
	assert_equal "$status" 3

	init_bundle --policy on-oom:2 -- /bin/sh -c 'kill -9 $$'
	run mh_run_container
	assert_equal "$status" 137
	assert_output --partial "not restarting /bin/sh after SIGKILL: no OOM kill was reported"

	init_bundle --policy on-oom -- /bin/sh -c 'kill -TERM $$'
	run mh_run_container
	assert_equal "$status" 143
	refute_output --partial "restarting"
}

@test "the workload's oom_score_adj is raised above memhook-init's" {
	init_bundle -- /bin/sh -c 'echo "init=$(cat /proc/1/oom_score_adj) workload=$(cat /proc/self/oom_score_adj)"'
	run mh_run_container
	assert_success
	local init workload
	init=$(sed -n 's/^init=\(-*[0-9]*\) .*/\1/p' <<<"$output")
	workload=$(sed -n 's/.* workload=\(-*[0-9]*\)$/\1/p' <<<"$output")
	[ -n "$init" ] && [ -n "$workload" ] || fail "no values: $output"
	[ "$workload" -gt "$init" ] || fail "workload $workload not above memhook-init $init"
}

@test "on-oom:2 without the watcher's answer: an OOM-killed workload counts as Killed and is not restarted" {
	init_bundle --policy on-oom:2 -- touchmem 100
	mh_no_swap $((64 * MIB))
	run mh_run_container
	assert_equal "$status" 137
	assert_output --partial "not restarting touchmem after SIGKILL"
	refute_output --partial "memhook-init: restarting"
	assert_equal "$(records exit | wc -l)" 1
	assert_equal "$(records exit | jq -r .verdict)" Killed
}

@test "on-oom:2 with the watcher's answers: two restarts with backoff, then exit 137" {
	init_bundle --policy on-oom:2 -- /bin/sh -c 'sleep 0.3; exec touchmem 100'
	mh_no_swap $((64 * MIB))
	start_answering_watcher
	run mh_run_container
	assert_equal "$status" 137
	assert_line "memhook-init: restarting /bin/sh after OOM kill (attempt 1/2) in 100 ms"
	assert_line "memhook-init: restarting /bin/sh after OOM kill (attempt 2/2) in 200 ms"
	assert_line "memhook-init: not restarting /bin/sh after OOM kill: all 2 restarts of on-oom are spent"
	assert_equal "$(records exit | jq -r .verdict | sort | uniq -c | awk '{print $1, $2}')" "3 OOMKilled"
	assert_equal "$(records restart | jq -r '[.attempt, .delay_ms, .mode] | join(" ")')" "1 100 process
2 200 process"
	# each run is a new process in the container's pid namespace
	assert_equal "$(records exit | jq -r .pid | sort -u | wc -l)" 3
}

@test "SIGTERM during a backoff wait ends the container at once with the last status" {
	init_bundle --policy on-oom --backoff 20s -- /bin/sh -c 'sleep 0.3; exec touchmem 100'
	mh_no_swap $((64 * MIB))
	start_answering_watcher
	start_container
	wait_output "restarting /bin/sh after OOM kill (attempt 1) in 20000 ms"
	local t0=$SECONDS
	mh_runc kill "$CID" TERM
	wait_container
	assert_equal "$status" 137
	[ $((SECONDS - t0)) -le 2 ] || fail "took $((SECONDS - t0)) s to stop"
	assert_equal "$(records restart | wc -l)" 1
}

@test "on-failure:2 with exit 3: two restarts, then exit 3" {
	init_bundle --policy on-failure:2 --backoff 10ms -- /bin/sh -c 'echo run; exit 3'
	run mh_run_container
	assert_equal "$status" 3
	assert_equal "$(grep -c '^run$' <<<"$output")" 3
	assert_line "memhook-init: restarting /bin/sh after exit code 3 (attempt 1/2) in 10 ms"
	assert_line "memhook-init: restarting /bin/sh after exit code 3 (attempt 2/2) in 20 ms"
	assert_equal "$(records exit | jq -r .verdict | sort -u)" Exited
}

@test "a malformed policy is refused before the workload runs" {
	init_bundle --policy on-oomm -- /bin/sh -c 'echo ran'
	run mh_run_container
	assert_equal "$status" 2
	assert_output --partial 'io.memhook.restart: "on-oomm" is not a policy; use no, on-oom[:N], on-failure[:N] or always'
	refute_output --partial ran
}

@test "memhook-init's own resident set as PID 1 of a container stays under 200 KiB" {
	init_bundle --policy on-oom:3 --backoff 100ms,1m,10s -- sleep 30
	start_container
	local ipid="" i rss
	for i in $(seq 100); do
		ipid=$(mh_runc state "$CID" 2>/dev/null | jq -r 'select(.status == "running") | .pid') && [ -n "$ipid" ] && break
		sleep 0.05
	done
	[ -n "$ipid" ] || fail "the container did not start: $(cat "$OUT")"
	# the workload runs: memhook-init is past its start-up
	for i in $(seq 100); do
		[ -n "$(cat "/proc/$ipid/task/$ipid/children" 2>/dev/null)" ] && break
		sleep 0.05
	done
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$ipid/status")
	echo "# memhook-init as PID 1: VmRSS $rss KiB" >&3
	mh_runc kill "$CID" TERM
	wait_container
	assert_equal "$status" 143
	[ "$rss" -lt 200 ] ||
		fail "VmRSS $rss KiB (a static glibc build maps ~650 KiB of libc: install musl-tools and rebuild)"
}
