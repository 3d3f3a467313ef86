#!/usr/bin/env bats
# memhook-runtime is a drop-in for runc: runc's whole command line through
# the wrapper gives what runc itself gives (output modulo ids, pids,
# paths and times; exit codes exactly), and create/run refuse an invalid
# config before runc runs, where the engine's user sees it.
#
# Environment as tests/lib/common.bash (MEMHOOK_BUILD…).  Containers are
# memhook-r-*, cgroups /memhook-r/<id>, runc's state in a private --root.

load ../lib/common
bats_require_minimum_version 1.5.0

RT_PREFIX=memhook-r

setup() {
	load_bats_libs
	[ "$(id -u)" = 0 ] || skip "needs root (runs real containers)"
	command -v runc >/dev/null || skip "runc not installed (apt-get install runc)"
	command -v jq >/dev/null || skip "jq not installed (apt-get install jq)"
	MH_CGVER=$(cg_version)
	[ "$MH_CGVER" != 0 ] || skip "no memory cgroup controller"
	RUNTIME=$BUILD/shim/memhook-runtime
	[ -x "$RUNTIME" ] || fail "$RUNTIME missing: build with 'ninja -C $BUILD'"
	[ -x "$MEMHOOK" ] || fail "$MEMHOOK missing: build with 'ninja -C $BUILD'"
	[ -x "$HELPERS_DIR/touchmem" ] || fail "helpers missing: build with 'ninja -C $BUILD'"
	mh_rootfs || fail "cannot make the rootfs in $MH_ROOTFS"
	RUNC=$(command -v runc)
	R=$(mktemp -d "/run/$RT_PREFIX-cli.XXXXXX")
	ROOT=$R/runc
	STATE=$R/state
	IDS=()
	NB=0
	# The wrapper's own settings: private state dir, the built hook, no
	# host config file, runc found on PATH as an engine's wrapper would.
	export MEMHOOK_STATE_DIR=$STATE MEMHOOK_HOOK_PATH=$MEMHOOK MEMHOOK_CONFIG=$R/no-memhook.json
	unset MEMHOOK_REAL_RUNTIME MEMHOOK_UNSUPPORTED MEMHOOK_DEFAULT_LIMIT MEMHOOK_MAX_LIMIT MEMHOOK_ON_FAULT
}

teardown() {
	[ -n "${R:-}" ] || return 0
	local id d
	for id in "${IDS[@]}"; do
		"$RUNC" --root "$ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in "${IDS[@]}"; do
		for d in /sys/fs/cgroup/*/"$RT_PREFIX/$id" /sys/fs/cgroup/"$RT_PREFIX/$id"; do
			[ -d "$d" ] && { rmdir "$d" 2>/dev/null || { sleep 0.2; rmdir "$d" 2>/dev/null; }; }
		done
	done
	for d in /sys/fs/cgroup/*/"$RT_PREFIX" /sys/fs/cgroup/"$RT_PREFIX"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	rm -rf "$R"
	return 0
}

# rt_bundle [ARG…]: a new bundle in $B for container $ID running ARG… (default
# sleep 1000), 64 MiB limit, cgroupsPath /memhook-r/<id>.
rt_bundle() {
	NB=$((NB + 1))
	ID=$RT_PREFIX-cli-$NB-$$
	B=$R/b$NB
	IDS+=("$ID")
	mkdir -p "$B"
	(cd "$B" && "$RUNC" spec) || return 1
	local args
	if [ $# -gt 0 ]; then args=$(jq -n '$ARGS.positional' --args -- "$@"); else args='["/bin/sleep","1000"]'; fi
	jq --arg root "$MH_ROOTFS" --arg cg "/$RT_PREFIX/$ID" --argjson a "$args" '
		.root = {path: $root, readonly: true}
		| .process.terminal = false
		| .process.args = $a
		| .process.env = ["PATH=/bin"]
		| .linux.cgroupsPath = $cg
		| .linux.resources.memory = {limit: 67108864}' "$B/config.json" >"$B/c" && mv "$B/c" "$B/config.json"
}

rt_jq() { # FILTER [jq args…] on $B/config.json
	local filter=${*: -1}
	jq "${@:1:$#-1}" "$filter" "$B/config.json" >"$B/c" && mv "$B/c" "$B/config.json"
}

# One step of a CLI session: "== NAME rc=N" then the normalized output.
step() { # NAME CMD…
	local name=$1 out rc
	shift
	rc=0
	out=$("$@" 2>&1 </dev/null) || rc=$?
	printf '== %s rc=%s\n%s\n' "$name" "$rc" "$(printf '%s' "$out" | normalize)" >>"$LOG"
}

normalize() {
	sed -e "s#$ID#<ID>#g" -e "s#$B#<BUNDLE>#g" -e "s#$R#<R>#g" \
		-e 's/time="[^"]*"/time="<T>"/' -e 's/[0-9]\{4\}-[0-9-]*T[0-9:.]*Z/<T>/g'
}

# The same session of runc commands against container $ID with runtime $1;
# the transcript goes to $LOG.
cli_session() {
	local rt=$1
	: >"$LOG"
	"$rt" --root "$ROOT" create --bundle "$B" "$ID" </dev/null >"$R/$ID.stdio" 2>&1
	echo "== create rc=$? $(normalize <"$R/$ID.stdio")" >>"$LOG"
	step state sh -c "'$rt' --root '$ROOT' state '$ID' | jq -c 'del(.pid, .created, .bundle, .rootfs)'"
	step list-q sh -c "'$rt' --root '$ROOT' list -q | grep -x '$ID'"
	step list-json sh -c "'$rt' --root '$ROOT' list --format json | jq -c '.[] | select(.id == \"$ID\") | del(.pid, .created, .bundle, .rootfs)'"
	step ps-created sh -c "'$rt' --root '$ROOT' ps '$ID' | awk '{print \$1, \$(NF-1), \$NF}'"
	step start "$rt" --root "$ROOT" start "$ID"
	step state-running sh -c "'$rt' --root '$ROOT' state '$ID' | jq -r .status"
	step ps sh -c "'$rt' --root '$ROOT' ps '$ID' | awk '{print \$1, \$(NF-1), \$NF}'"
	step ps-json sh -c "'$rt' --root '$ROOT' ps --format json '$ID' | jq length"
	step exec "$rt" --root "$ROOT" exec "$ID" /bin/echo hello from exec
	step exec-exit3 "$rt" --root "$ROOT" exec "$ID" /bin/sh -c 'exit 3'
	step exec-missing "$rt" --root "$ROOT" exec "$ID" /bin/no-such-binary
	step events-stats sh -c "'$rt' --root '$ROOT' events --stats '$ID' | jq -c '[.type, .data.memory.usage.limit]'"
	step update "$rt" --root "$ROOT" update --memory 128m "$ID"
	step events-after-update sh -c "'$rt' --root '$ROOT' events --stats '$ID' | jq -c '[.type, .data.memory.usage.limit]'"
	step update-bad "$rt" --root "$ROOT" update --memory 1x "$ID"
	step pause "$rt" --root "$ROOT" pause "$ID"
	step state-paused sh -c "'$rt' --root '$ROOT' state '$ID' | jq -r .status"
	step resume "$rt" --root "$ROOT" resume "$ID"
	step state-resumed sh -c "'$rt' --root '$ROOT' state '$ID' | jq -r .status"
	step delete-running "$rt" --root "$ROOT" delete "$ID"
	step kill "$rt" --root "$ROOT" kill "$ID" KILL
	for _ in $(seq 50); do
		[ "$("$rt" --root "$ROOT" state "$ID" | jq -r .status)" = stopped ] && break
		sleep 0.1
	done
	step state-stopped sh -c "'$rt' --root '$ROOT' state '$ID' | jq -r .status"
	step kill-stopped "$rt" --root "$ROOT" kill "$ID" KILL
	step delete "$rt" --root "$ROOT" delete "$ID"
	step state-deleted "$rt" --root "$ROOT" state "$ID"
	step delete-again "$rt" --root "$ROOT" delete "$ID"
	step list-empty "$rt" --root "$ROOT" list -q
	step version "$rt" --version
	step unknown-command "$rt" frobnicate "$ID"
	step unknown-option "$rt" --frobnicate list
	step create-usage "$rt" --root "$ROOT" create
	step spec-help "$rt" spec --help
}

@test "runc's CLI through memhook-runtime gives runc's output and exit codes" {
	LOG=$R/runc.log
	rt_bundle
	cli_session "$RUNC"
	LOG=$R/wrapper.log
	rt_bundle
	cli_session "$RUNTIME"
	# Not vacuous: the session really ran a container.
	run cat "$R/runc.log"
	assert_line '== start rc=0'
	assert_line 'running'
	assert_line 'paused'
	assert_line 'hello from exec'
	assert_line '== exec-exit3 rc=3'
	assert_line '["stats",134217728]'
	assert_line '== state-deleted rc=1'
	run diff -u "$R/runc.log" "$R/wrapper.log"
	assert_success
	# And memhook was there: hooks injected, the limit applied and verified.
	jq -e '.hooks.createRuntime[0].args[0:3] == ["memhook", "hook", "createRuntime"]' "$B/config.json"
	jq -e '.hooks.poststop[0].path == env.MEMHOOK_HOOK_PATH' "$B/config.json"
	run jq -c --arg id "$ID" 'select(.id == $id and .event == "apply") | .plan[] | select(.file == "memory.limit_in_bytes" or .file == "memory.max") | .value' "$STATE/events.jsonl"
	assert_output '"67108864"'
}

@test "run passes the container's exit status through, 137 included" {
	local rt
	for rt in "$RUNC" "$RUNTIME"; do
		rt_bundle /bin/sh -c 'echo out; echo err >&2; exit 7'
		run "$rt" --root "$ROOT" run --bundle "$B" "$ID" </dev/null
		assert_equal "$status" 7
		assert_line out
		assert_line err
		# Killed from outside (a container's init ignores its own SIGKILL).
		rt_bundle /bin/sleep 1000
		"$rt" --root "$ROOT" run --bundle "$B" "$ID" </dev/null >/dev/null 2>&1 &
		local pid=$! st=0 i
		for i in $(seq 50); do
			[ "$("$RUNC" --root "$ROOT" state "$ID" 2>/dev/null | jq -r .status)" = running ] && break
			sleep 0.1
		done
		"$RUNC" --root "$ROOT" kill "$ID" KILL
		wait "$pid" || st=$?
		assert_equal "$st" 137
	done
	# An OOM kill: 64 MiB limit and no swap (the VM has some), 200 MiB touched.
	rt_bundle /bin/touchmem 200
	rt_jq '.linux.resources.memory.swap = 67108864'
	run "$RUNTIME" --root "$ROOT" run --bundle "$B" "$ID" </dev/null
	assert_equal "$status" 137
	# memhook's verdict on it (poststop finishes the record).
	local verdict=
	for _ in $(seq 50); do
		verdict=$(jq -r --arg id "$ID" 'select(.id == $id and .event == "exit") | .verdict' "$STATE/events.jsonl")
		[ -n "$verdict" ] && break
		sleep 0.1
	done
	assert_equal "$verdict" OOMKilled
}

@test "the bundle is found from -b, -b=, --bundle=, and the current directory" {
	local form
	for form in "-b X" "-b=X" "--bundle=X" "--bundle X" cwd; do
		rt_bundle /bin/true
		case $form in
		cwd) (cd "$B" && "$RUNTIME" --root "$ROOT" run "$ID" </dev/null) ;;
		*X) "$RUNTIME" --root "$ROOT" run ${form%X}"$B" "$ID" </dev/null ;;
		esac
		jq -e '.hooks.createRuntime | length == 1' "$B/config.json" || fail "form $form: no hook injected"
	done
}

@test "an invalid config is refused before runc runs, on stderr and in the --log json file" {
	rt_bundle
	rt_jq '.linux.resources.memory.swap = 33554432'
	cp "$B/config.json" "$R/before.json"
	run --separate-stderr "$RUNTIME" --root "$ROOT" --log "$R/log.json" --log-format json create --bundle "$B" "$ID"
	assert_equal "$status" 1
	local msg="memhook: $ID: linux.resources.memory.swap: 32 MiB is below the memory limit 64 MiB (swap counts memory+swap); set swap >= limit or -1"
	assert_equal "$stderr" "$msg"
	assert_equal "$output" ""
	# runc never ran: no container, config.json untouched.
	run "$RUNC" --root "$ROOT" state "$ID"
	assert_failure
	cmp "$B/config.json" "$R/before.json"
	# The log line is what docker and containerd read.
	run jq -r '.level' "$R/log.json"
	assert_output error
	run jq -r '.msg' "$R/log.json"
	assert_output "$msg"
	run jq -r '.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$R/log.json"
	assert_output true
	# Text log format: logrus's line.
	run "$RUNTIME" --root "$ROOT" --log "$R/log.txt" run --bundle "$B" "$ID"
	assert_equal "$status" 1
	run cat "$R/log.txt"
	assert_output --regexp '^time="[^"]+" level=error msg="memhook: '"$ID"': linux.resources.memory.swap: 32 MiB is below'
}

@test "malformed config.json and restart annotation are refused naming the problem" {
	rt_bundle
	echo '{"ociVersion": "1.0.2", "linux": ' >"$B/config.json"
	run --separate-stderr "$RUNTIME" --root "$ROOT" create --bundle "$B" "$ID"
	assert_equal "$status" 1
	[[ $stderr == "memhook: $ID: config.json"* ]] || fail "stderr: $stderr"
	rt_bundle
	rt_jq '.annotations["io.memhook.restart"] = "sometimes"'
	run --separate-stderr "$RUNTIME" --root "$ROOT" create --bundle "$B" "$ID"
	assert_equal "$status" 1
	[[ $stderr == "memhook: $ID: io.memhook.restart: "* ]] || fail "stderr: $stderr"
	run "$RUNC" --root "$ROOT" state "$ID"
	assert_failure
}

@test "operator defaults are written into config.json, and a second pass changes nothing" {
	rt_bundle /bin/cat "$(cg_limit_file)"
	rt_jq 'del(.linux.resources.memory.limit)'
	MEMHOOK_DEFAULT_LIMIT=96m run "$RUNTIME" --root "$ROOT" run --bundle "$B" "$ID" </dev/null
	assert_success
	assert_output "$((96 * MIB))"
	run jq '.linux.resources.memory.limit' "$B/config.json"
	assert_output "$((96 * MIB))"
	# Same settings again: the file is not even replaced.
	local ino
	ino=$(stat -c %i "$B/config.json")
	cp "$B/config.json" "$R/first.json"
	MEMHOOK_DEFAULT_LIMIT=96m run "$RUNTIME" --root "$ROOT" run --bundle "$B" "$ID" </dev/null
	assert_success
	cmp "$B/config.json" "$R/first.json"
	assert_equal "$(stat -c %i "$B/config.json")" "$ino"
}

@test "fields this host cannot honour are dropped with a warning, or refused under --unsupported=error" {
	[ "$MH_CGVER" = 1 ] || skip "the v1 case (unified on a v1 host); v2 runs in the VM"
	rt_bundle /bin/true
	rt_jq '.linux.resources.unified = {"memory.high": "50000000"} | .linux.resources.memory.kernel = 0'
	# runc alone refuses unified on v1.
	cp "$B/config.json" "$R/orig.json"
	run "$RUNC" --root "$ROOT" run --bundle "$B" "$ID-runc" </dev/null
	assert_failure
	IDS+=("$ID-runc")
	run --separate-stderr "$RUNTIME" --root "$ROOT" run --bundle "$B" "$ID" </dev/null
	assert_success
	[[ $stderr == *"memhook: $ID: linux.resources.unified.memory.high: "*"dropped"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"memhook: $ID: linux.resources.memory.kernel: 0 means not set"* ]] || fail "stderr: $stderr"
	jq -e '.linux.resources | has("unified") | not' "$B/config.json"
	jq -e '.linux.resources.memory | has("kernel") | not' "$B/config.json"
	run jq -r --arg id "$ID" 'select(.id == $id and .event == "warning") | .field' "$STATE/events.jsonl"
	assert_line linux.resources.unified.memory.high
	assert_line linux.resources.memory.kernel
	# --unsupported=error: refused, nothing changed.
	rt_bundle /bin/true
	cp "$R/orig.json" "$B/config.json"
	rt_jq --arg cg "/$RT_PREFIX/$ID" '.linux.cgroupsPath = $cg'
	cp "$B/config.json" "$R/orig2.json"
	MEMHOOK_UNSUPPORTED=error run --separate-stderr "$RUNTIME" --root "$ROOT" run --bundle "$B" "$ID" </dev/null
	assert_equal "$status" 1
	[[ $stderr == "memhook: $ID: linux.resources.unified.memory.high: "* ]] || fail "stderr: $stderr"
	cmp "$B/config.json" "$R/orig2.json"
}

# bats test_tags=vm
@test "on cgroup v2, swappiness is dropped with a warning so crun runs the container" {
	[ "$MH_CGVER" = 2 ] || skip "needs cgroup v2 (run in the VM: tests/vm/run-in-vm.sh)"
	command -v crun >/dev/null || skip "crun not installed"
	rt_bundle /bin/true
	rt_jq '.linux.resources.memory.swappiness = 60 | .linux.resources.memory.disableOOMKiller = false'
	# crun alone refuses swappiness on v2.
	run crun --root "$R/crun" run --bundle "$B" "$ID-crun" </dev/null
	assert_failure
	MEMHOOK_REAL_RUNTIME=crun run --separate-stderr "$RUNTIME" --root "$R/crun" run --bundle "$B" "$ID" </dev/null
	assert_success
	[[ $stderr == *"memhook: $ID: linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness"* ]] ||
		fail "stderr: $stderr"
	jq -e '.linux.resources.memory | (has("swappiness") or has("disableOOMKiller")) | not' "$B/config.json"
	run jq -r --arg id "$ID" 'select(.id == $id and .event == "warning") | .field' "$STATE/events.jsonl"
	assert_line linux.resources.memory.swappiness
	# --unsupported=ignore drops it too, silently.
	rt_bundle /bin/true
	rt_jq '.linux.resources.memory.swappiness = 60'
	MEMHOOK_REAL_RUNTIME=crun MEMHOOK_UNSUPPORTED=ignore run --separate-stderr "$RUNTIME" --root "$R/crun" run --bundle "$B" "$ID" </dev/null
	assert_success
	assert_equal "$stderr" ""
	jq -e '.linux.resources.memory | has("swappiness") | not' "$B/config.json"
}

@test "the real runtime is never memhook-runtime itself" {
	mkdir -p "$R/bin"
	ln -s "$RUNTIME" "$R/bin/runc"
	# A wrapper installed as "runc" first on PATH still finds the real one.
	PATH=$R/bin:$PATH run "$R/bin/runc" --version
	assert_success
	assert_output --partial "runc version"
	MEMHOOK_REAL_RUNTIME=$R/bin/runc run "$RUNTIME" --version
	assert_equal "$status" 1
	assert_output --partial "is memhook-runtime itself"
	MEMHOOK_REAL_RUNTIME=$R/nothing-here run "$RUNTIME" --version
	assert_equal "$status" 1
	assert_output --partial "not an executable file"
	# A runtime given by name is searched like the default.
	MEMHOOK_REAL_RUNTIME=runc run "$RUNTIME" --version
	assert_success
	assert_output --partial "runc version"
	# The config file's "runtime" when the environment says nothing.
	echo "{\"runtime\": \"$RUNC\"}" >"$R/memhook.json"
	MEMHOOK_CONFIG=$R/memhook.json PATH=$R/bin run "$RUNTIME" --version
	assert_success
	assert_output --partial "runc version"
}

# SIGKILL at random points of the rewrite: readers see the old or the new
# config.json, never a truncated or missing one.  A large config (many env
# entries) widens the window; the real runtime is /bin/true so nothing runs.
@test "SIGKILL during the rewrite leaves the old or the new config.json, 200 times" {
	[ "${MEMHOOK_IN_VM:-0}" != 1 ] || skip "runs on the host: not version-specific, and 200 kills take minutes under the VM's emulation"
	rt_bundle /bin/true
	jq -n '[range(0; 40000) | "VAR_\(.)=\("x" * 40)"]' >"$R/env.json"
	rt_jq --slurpfile e "$R/env.json" '.process.env += $e[0]'
	cp "$B/config.json" "$R/old.json"
	local size
	size=$(stat -c %s "$R/old.json")
	[ "$size" -gt 2000000 ] || fail "config only $size bytes"
	# The new file, and how long one rewrite takes.
	local t0 t1
	t0=$(date +%s%N)
	MEMHOOK_REAL_RUNTIME=/bin/true "$RUNTIME" create --bundle "$B" "$ID"
	t1=$(date +%s%N)
	cp "$B/config.json" "$R/new.json"
	! cmp -s "$R/old.json" "$R/new.json" || fail "the rewrite changed nothing"
	local span_us=$(((t1 - t0) / 1000 + 2000))
	local i pid delay old=0 new=0
	for i in $(seq 200); do
		cp "$R/old.json" "$B/config.json"
		MEMHOOK_REAL_RUNTIME=/bin/true "$RUNTIME" create --bundle "$B" "$ID" &
		pid=$!
		delay=$((RANDOM * 32768 + RANDOM))
		delay=$((delay % span_us))
		sleep "$(printf '0.%06d' "$delay")"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		if cmp -s "$B/config.json" "$R/old.json"; then
			old=$((old + 1))
		elif cmp -s "$B/config.json" "$R/new.json"; then
			new=$((new + 1))
		else
			fail "iteration $i (killed after ${delay}us): config.json is neither old nor new ($(stat -c %s "$B/config.json" 2>&1) bytes)"
		fi
		rm -f "$B"/.config.json.*.tmp
	done
	echo "# old=$old new=$new over 200 kills in a ${span_us}us window" >&3
	# Both outcomes happened: the kills really landed inside the rewrite.
	[ "$old" -gt 0 ] && [ "$new" -gt 0 ]
}
