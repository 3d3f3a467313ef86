#!/usr/bin/env bats
# memhook-runtime under the real engines: docker (--runtime), containerd
# (ctr run --runc-binary) and podman (--runtime), each started privately
# (own root, state, sockets under one temp dir; stopped by pid).  For each:
# a --memory 64m container is planned, applied and verified by memhook; a
# setting the engine lets through but memhook refuses is refused with
# memhook's message where the engine's user sees it; an OOM kill exits 137.
#
# Engines come from Debian: apt-get install --no-install-recommends
# docker.io containerd podman (with a /usr/sbin/policy-rc.d that exits 101
# so nothing starts on install).  A missing engine skips its tests.
# Containers, images and cgroups are named memhook-r-*.

load ../lib/common
bats_require_minimum_version 1.5.0

E_PREFIX=memhook-r
E_IMAGE=localhost/memhook-r-busybox:latest
E_NS=memhook-r
# docker.io's client; another docker CLI may sit earlier on PATH.
E_DOCKER=/usr/bin/docker

# ---------------------------------------------------------------- private engines

e_log() { echo "$*" >>"$EW/setup.log"; }

# The busybox rootfs with touchmem, packed as a docker-archive image that
# docker load, ctr image import and podman load all take.
e_image() {
	local r=$EW/rootfs a=$EW/img diff cfg
	mkdir -p "$r"/{bin,proc,sys,dev,tmp,etc} "$a"
	cp "$(command -v busybox)" "$r/bin/busybox" || return 1
	for x in $("$r/bin/busybox" --list); do
		[ -e "$r/bin/$x" ] || ln -s busybox "$r/bin/$x"
	done
	cp "$HELPERS_DIR/touchmem" "$r/bin/touchmem" || return 1
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	echo 'root:x:0:' >"$r/etc/group"
	chmod 1777 "$r/tmp"
	tar -C "$r" --owner=0 --group=0 -cf "$a/layer.tar" . || return 1
	diff=$(sha256sum "$a/layer.tar" | cut -d' ' -f1)
	mkdir "$a/$diff" && mv "$a/layer.tar" "$a/$diff/layer.tar"
	jq -nc --arg d "sha256:$diff" '{architecture: "amd64", os: "linux",
		config: {Cmd: ["/bin/sh"], Env: ["PATH=/bin"]}, rootfs: {type: "layers", diff_ids: [$d]}}' >"$a/config"
	cfg=$(sha256sum "$a/config" | cut -d' ' -f1)
	mv "$a/config" "$a/$cfg.json"
	jq -nc --arg c "$cfg.json" --arg l "$diff/layer.tar" --arg t "$E_IMAGE" \
		'[{Config: $c, RepoTags: [$t], Layers: [$l]}]' >"$a/manifest.json"
	tar -C "$a" -cf "$EW/image.tar" manifest.json "$cfg.json" "$diff"
}

# The environment memhook-runtime runs with, whoever starts it.
e_env() {
	echo "MEMHOOK_STATE_DIR=$EW/state MEMHOOK_HOOK_PATH=$MEMHOOK MEMHOOK_CONFIG=$EW/memhook.json"
}

e_wait_for() { # SECONDS CMD…
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

e_start_containerd() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || {
		echo "containerd not installed (apt-get install containerd)" >"$EW/skip-containerd"
		return 0
	}
	local d=$EW/ctd
	mkdir -p "$d"
	cat >"$d/config.toml" <<-EOF
		version = 2
		root = "$d/root"
		state = "$d/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$d/containerd.sock"
		[ttrpc]
		  address = "$d/containerd.sock.ttrpc"
	EOF
	# The shims containerd starts inherit this environment, and from them
	# memhook-runtime: that is how docker's and ctr's runtime calls get it.
	env $(e_env) setsid containerd --config "$d/config.toml" >"$d/log" 2>&1 </dev/null &
	echo $! >"$d/pid"
	if ! e_wait_for 20 ctr -a "$d/containerd.sock" version; then
		echo "private containerd did not start: $(tail -3 "$d/log")" >"$EW/skip-containerd"
		return 0
	fi
	ctr -a "$d/containerd.sock" -n "$E_NS" image import "$EW/image.tar" >>"$EW/setup.log" 2>&1 ||
		echo "ctr image import failed" >"$EW/skip-containerd"
}

e_start_docker() {
	[ -x "$E_DOCKER" ] && command -v dockerd >/dev/null || {
		echo "docker not installed (apt-get install docker.io)" >"$EW/skip-docker"
		return 0
	}
	[ ! -e "$EW/skip-containerd" ] || {
		echo "docker needs the private containerd: $(cat "$EW/skip-containerd")" >"$EW/skip-docker"
		return 0
	}
	local d=$EW/docker
	mkdir -p "$d"
	jq -n --arg d "$d" --arg ctd "$EW/ctd/containerd.sock" --arg rt "$BUILD/shim/memhook-runtime" '{
		"data-root": "\($d)/data", "exec-root": "\($d)/exec", "pidfile": "\($d)/docker.pid",
		"hosts": ["unix://\($d)/docker.sock"], "containerd": $ctd,
		"containerd-namespace": "memhook-r-moby", "containerd-plugins-namespace": "memhook-r-plugins",
		"bridge": "none", "iptables": false, "ip-forward": false, "ip-masq": false, "userland-proxy": false,
		"exec-opts": ["native.cgroupdriver=cgroupfs"], "cgroup-parent": "/memhook-r",
		"storage-driver": "vfs",
		"runtimes": {"memhook": {"path": $rt}}}' >"$d/daemon.json"
	setsid dockerd --config-file "$d/daemon.json" >"$d/log" 2>&1 </dev/null &
	echo $! >"$d/pid"
	if ! e_wait_for 30 e_docker version; then
		echo "private dockerd did not start: $(tail -3 "$d/log")" >"$EW/skip-docker"
		return 0
	fi
	e_docker load -i "$EW/image.tar" >>"$EW/setup.log" 2>&1 || echo "docker load failed" >"$EW/skip-docker"
}

e_podman() {
	local d=$EW/podman
	env $(e_env) CONTAINERS_CONF="$d/containers.conf" CONTAINERS_STORAGE_CONF="$d/storage.conf" \
		podman --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file "$@"
}

e_setup_podman() {
	command -v podman >/dev/null || {
		echo "podman not installed (apt-get install podman)" >"$EW/skip-podman"
		return 0
	}
	local d=$EW/podman
	mkdir -p "$d"/{root,runroot,tmp}
	cat >"$d/containers.conf" <<-EOF
		[containers]
		netns = "none"
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		# conmon gives the runtime only these variables (podman's env is not passed on).
		conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", $(e_env | sed 's/\([^ ]*\)/"\1"/g; s/ /, /g')]
		events_logger = "file"
		events_logfile_path = "$d/events.log"
		hooks_dir = []
	EOF
	cat >"$d/storage.conf" <<-EOF
		[storage]
		driver = "vfs"
		graphroot = "$d/root"
		runroot = "$d/runroot"
	EOF
	e_podman load -i "$EW/image.tar" >>"$EW/setup.log" 2>&1 || echo "podman load failed" >"$EW/skip-podman"
}

e_docker() {
	"$E_DOCKER" -H "unix://$EW/docker/docker.sock" "$@"
}

e_ctr() {
	ctr -a "$EW/ctd/containerd.sock" -n "$E_NS" "$@"
}

e_stop() { # NAME: the daemon whose pid file is $EW/NAME/pid
	local f=$EW/$1/pid pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || return 0
	e_wait_for 20 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
	return 0
}

setup_file() {
	# Never skip here (bats 1.8.2 fails the file): record why, skip in setup().
	export EW
	EW=$(mktemp -d "/run/$E_PREFIX-eng.XXXXXX")
	mkdir -m 0700 "$EW/state"
	if [ "$(id -u)" != 0 ] || [ "${MEMHOOK_SKIP_ENGINES:-0}" = 1 ] || [ "$(cg_version)" = 0 ] ||
		[ ! -x "$BUILD/shim/memhook-runtime" ] || [ ! -x "$HELPERS_DIR/touchmem" ]; then
		echo "needs root, a memory cgroup and a build ($BUILD); MEMHOOK_SKIP_ENGINES=1 skips" >"$EW/skip-all"
		return 0
	fi
	e_image || { echo "cannot build the busybox image" >"$EW/skip-all"; return 0; }
	e_start_containerd
	e_start_docker
	e_setup_podman
}

teardown_file() {
	[ -n "${EW:-}" ] && [ -d "$EW" ] || return 0
	if [ -S "$EW/docker/docker.sock" ]; then
		e_docker ps -aq | xargs -r "$E_DOCKER" -H "unix://$EW/docker/docker.sock" rm -f >/dev/null 2>&1
	fi
	e_stop docker
	if [ -S "$EW/ctd/containerd.sock" ]; then
		local c
		for c in $(e_ctr containers ls -q 2>/dev/null); do
			e_ctr task kill -s KILL "$c" >/dev/null 2>&1
			e_ctr task rm -f "$c" >/dev/null 2>&1
			e_ctr containers rm "$c" >/dev/null 2>&1
		done
	fi
	e_stop ctd
	[ -d "$EW/podman" ] && e_podman rm -af >/dev/null 2>&1
	local d
	for d in /sys/fs/cgroup/*/"$E_PREFIX"/* /sys/fs/cgroup/*/"$E_PREFIX" /sys/fs/cgroup/*/libpod_parent/*/"$E_PREFIX"*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	# Whatever the engines left mounted under the private dir.
	grep -o " $EW[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$EW"
	return 0
}

setup() {
	load_bats_libs
	[ ! -e "$EW/skip-all" ] || skip "$(cat "$EW/skip-all")"
	MH_CGVER=$(cg_version)
	LIMIT_FILE=$(cg_limit_file)
	rm -f "$EW/memhook.json"
}

teardown() {
	rm -f "$EW/memhook.json"
}

skip_unless() { # ENGINE
	[ ! -e "$EW/skip-$1" ] || skip "$(cat "$EW/skip-$1")"
}

# apply_limit ID: the limit memhook's apply event planned for container ID.
apply_limit() {
	jq -r --arg id "$1" 'select(.id == $id and .event == "apply") | .plan[]
		| select(.file == "memory.limit_in_bytes" or .file == "memory.max") | .value' "$EW/state/events.jsonl"
}

# verified_limit ID: the limit memhook read back from the cgroup (the
# record's steps, "found").
verified_limit() {
	jq -r '.steps[]? | select(.file == "memory.limit_in_bytes" or .file == "memory.max") | .found' \
		"$EW/state/$1/record.json"
}

# With swap on, a container whose swap the engine does not limit swaps
# instead of being OOM-killed (ctr has no swap option; docker 20.10 finds
# no swap limit support on a cgroup v2 host).
skip_if_swap() { # ENGINE
	if [ "$(awk 'NR > 1' /proc/swaps | wc -l)" -gt 0 ]; then
		skip "$1 sets no swap limit here and this host has swap: the container would swap, not OOM"
	fi
}

# verdict ID: memhook's verdict on container ID's end, waiting up to 10 s
# for the exit event (engines delete, and so run poststop, after the fact).
verdict() {
	local v= i
	for i in $(seq 100); do
		v=$(jq -r --arg id "$1" 'select(.id == $id and .event == "exit") | .verdict' "$EW/state/events.jsonl" 2>/dev/null)
		[ -n "$v" ] && break
		sleep 0.1
	done
	echo "$v"
}

MAX_LIMIT_MSG='linux.resources.memory.limit: 512 MiB is above --max-limit 256 MiB (operator policy); set a limit at or below 256 MiB'
RESTART_MSG='io.memhook.restart: "sometimes" is not a policy'

# ---------------------------------------------------------------- docker

@test "docker: --memory 64m is planned, applied and verified by memhook" {
	skip_unless docker
	run --separate-stderr e_docker run --cidfile "$EW/d1.cid" --network none --runtime memhook --memory 64m "$E_IMAGE" cat "$LIMIT_FILE"
	assert_success
	assert_output "$((64 * MIB))"
	local id
	id=$(cat "$EW/d1.cid")
	assert_equal "$(apply_limit "$id")" "$((64 * MIB))"
	assert_equal "$(verified_limit "$id")" "$((64 * MIB))"
	e_docker rm "$id" >/dev/null
}

@test "docker: a limit above the operator's --max-limit is refused with memhook's message" {
	skip_unless docker
	echo '{"max_limit": "256m"}' >"$EW/memhook.json"
	run --separate-stderr e_docker run --cidfile "$EW/d2.cid" --network none --runtime memhook --memory 512m "$E_IMAGE" true
	assert_equal "$status" 125
	local id
	id=$(cat "$EW/d2.cid")
	[[ $stderr == *"memhook: $id: $MAX_LIMIT_MSG"* ]] || fail "docker's stderr: $stderr"
	e_docker rm "$id" >/dev/null
}

@test "docker: an OOM-killing container exits 137 and docker sees the OOM kill" {
	skip_unless docker
	[ "$MH_CGVER" = 1 ] || skip_if_swap docker
	run e_docker run --cidfile "$EW/d3.cid" --network none --runtime memhook --memory 64m --memory-swap 64m "$E_IMAGE" touchmem 200
	assert_equal "$status" 137
	local id
	id=$(cat "$EW/d3.cid")
	run e_docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' "$id"
	assert_output "true 137"
	e_docker rm "$id" >/dev/null
	assert_equal "$(verdict "$id")" OOMKilled
}

# ---------------------------------------------------------------- containerd

@test "containerd: --memory-limit 64 MiB is planned, applied and verified by memhook" {
	skip_unless containerd
	local id=$E_PREFIX-ctr1-$$ file
	# ctr mounts no cgroupfs in the container: read the limit from the host.
	e_ctr run -d --snapshotter native --runc-binary "$BUILD/shim/memhook-runtime" \
		--memory-limit $((64 * MIB)) --cgroup "/$E_PREFIX/$id" "$E_IMAGE" "$id" sleep 60
	if [ "$MH_CGVER" = 1 ]; then
		file=/sys/fs/cgroup/memory/$E_PREFIX/$id/memory.limit_in_bytes
	else
		file=/sys/fs/cgroup/$E_PREFIX/$id/memory.max
	fi
	run cat "$file"
	e_ctr task kill -s KILL "$id"
	e_wait_for 10 sh -c "! ctr -a '$EW/ctd/containerd.sock' -n '$E_NS' task ls | grep -q '^$id .*RUNNING'"
	e_ctr task rm -f "$id" >/dev/null 2>&1 || true
	e_ctr containers rm "$id"
	assert_output "$((64 * MIB))"
	assert_equal "$(apply_limit "$id")" "$((64 * MIB))"
	assert_equal "$(verified_limit "$id")" "$((64 * MIB))"
}

@test "containerd: a malformed memhook annotation ctr passes through is refused with memhook's message" {
	skip_unless containerd
	local id=$E_PREFIX-ctr2-$$
	run --separate-stderr e_ctr run --rm --snapshotter native --runc-binary "$BUILD/shim/memhook-runtime" \
		--memory-limit $((64 * MIB)) --annotation io.memhook.restart=sometimes --cgroup "/$E_PREFIX/$id" \
		"$E_IMAGE" "$id" true
	assert_failure
	[[ $stderr == *"memhook: $id: $RESTART_MSG"* ]] || fail "ctr's stderr: $stderr"
	e_ctr containers rm "$id" >/dev/null 2>&1 || true
	# And operator policy, the same way.
	echo '{"max_limit": "256m"}' >"$EW/memhook.json"
	run --separate-stderr e_ctr run --rm --snapshotter native --runc-binary "$BUILD/shim/memhook-runtime" \
		--memory-limit $((512 * MIB)) --cgroup "/$E_PREFIX/$id" "$E_IMAGE" "$id" true
	assert_failure
	[[ $stderr == *"memhook: $id: $MAX_LIMIT_MSG"* ]] || fail "ctr's stderr: $stderr"
	e_ctr containers rm "$id" >/dev/null 2>&1 || true
}

@test "containerd: an OOM-killing container exits 137" {
	skip_unless containerd
	skip_if_swap ctr
	local id=$E_PREFIX-ctr3-$$
	run e_ctr run --rm --snapshotter native --runc-binary "$BUILD/shim/memhook-runtime" \
		--memory-limit $((64 * MIB)) --cgroup "/$E_PREFIX/$id" "$E_IMAGE" "$id" touchmem 200
	assert_equal "$status" 137
	assert_equal "$(verdict "$id")" OOMKilled
}

# ---------------------------------------------------------------- podman

@test "podman: --memory 64m is planned, applied and verified by memhook" {
	skip_unless podman
	run e_podman run --cidfile "$EW/p1.cid" --runtime "$BUILD/shim/memhook-runtime" --cgroup-parent "/$E_PREFIX" \
		--memory 64m "$E_IMAGE" cat "$LIMIT_FILE"
	assert_success
	assert_output "$((64 * MIB))"
	local id
	id=$(cat "$EW/p1.cid")
	assert_equal "$(apply_limit "$id")" "$((64 * MIB))"
	assert_equal "$(verified_limit "$id")" "$((64 * MIB))"
	e_podman rm "$id" >/dev/null
}

@test "podman: a malformed memhook annotation podman passes through is refused with memhook's message" {
	skip_unless podman
	run --separate-stderr e_podman run --cidfile "$EW/p2.cid" --runtime "$BUILD/shim/memhook-runtime" \
		--cgroup-parent "/$E_PREFIX" --memory 64m --annotation io.memhook.restart=sometimes "$E_IMAGE" true
	assert_failure
	local id
	id=$(cat "$EW/p2.cid")
	[[ $stderr == *"memhook: $id: $RESTART_MSG"* ]] || fail "podman's stderr: $stderr"
	e_podman rm -f "$id" >/dev/null
}

@test "podman: an OOM-killing container exits 137" {
	skip_unless podman
	run e_podman run --rm --cidfile "$EW/p3.cid" --runtime "$BUILD/shim/memhook-runtime" --cgroup-parent "/$E_PREFIX" \
		--memory 64m --memory-swap 64m "$E_IMAGE" touchmem 200
	assert_equal "$status" 137
	assert_equal "$(verdict "$(cat "$EW/p3.cid")")" OOMKilled
}
