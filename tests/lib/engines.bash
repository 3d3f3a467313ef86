# Private container engines for the tests: podman, containerd and docker,
# each with its own store, state, sockets and configuration under one
# directory of the .bats file's own (ENG_DIR = /run/PREFIX-eng.XXXXXX),
# daemons started in the background and stopped by the pid we kept, all of
# it removed at teardown_file.  Nothing of the host's engines is read or
# written.  See /work/shared/ENGINES.md for why each setting is there.
#
# Load after common.bash:
#   setup_file()    { eng_setup_file PREFIX ENGINE…; }   # podman containerd docker
#   teardown_file() { eng_teardown_file; }
#   and in setup() or a test: eng_skip_unless ENGINE
# eng_setup_file never skips (bats 1.8.2 fails a file whose setup_file
# skips): it writes why an engine cannot run to $ENG_DIR/skip-ENGINE and
# eng_skip_unless skips on it.  docker needs containerd (it is started
# whenever docker is asked for).
#
# Names, all from PREFIX (which starts with memhook): the image
# localhost/PREFIX-busybox:latest (the test rootfs of common.bash, every
# helper in /bin), containerd namespace PREFIX, docker's containerd
# namespaces PREFIX-moby and PREFIX-plugins, cgroup parent /PREFIX for
# docker (give podman and ctr --cgroup-parent / --cgroup yourself).
#
# memhook-runtime, whoever starts it (the shims of containerd and docker,
# podman's conmon), runs with ENG_STATE as its state dir (root's, 0700),
# the built memhook hook, $ENG_DIR/memhook.json as its config file (absent
# unless a test writes one) and runc as the real runtime.
#
# shellcheck disable=SC2034  # variables are used by the .bats files

# docker.io's client; another docker CLI may sit earlier on PATH.
ENG_DOCKER_CLI=/usr/bin/docker
ENG_RUNTIME=$BUILD/shim/memhook-runtime

eng_log() { echo "$*" >>"$ENG_DIR/setup.log"; }

# eng_wait_for SECONDS CMD…: retry CMD (quietly) every 0.1 s.
eng_wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# The environment memhook-runtime runs with, as NAME=VALUE words.
eng_env() {
	echo "MEMHOOK_STATE_DIR=$ENG_STATE MEMHOOK_HOOK_PATH=$MEMHOOK MEMHOOK_CONFIG=$ENG_DIR/memhook.json" \
		"MEMHOOK_REAL_RUNTIME=$(command -v runc)"
}

eng_skip_unless() { # ENGINE
	[ -n "${ENG_DIR:-}" ] || fail "eng_setup_file was not called from setup_file"
	[ ! -e "$ENG_DIR/skip-all" ] || skip "$(cat "$ENG_DIR/skip-all")"
	[ ! -e "$ENG_DIR/skip-$1" ] || skip "$(cat "$ENG_DIR/skip-$1")"
}

# ---------------------------------------------------------------- the image

# The test rootfs (mh_rootfs) as a docker-archive, which docker load, ctr
# image import and podman load all take: $ENG_DIR/image.tar.
eng_image() {
	local a=$ENG_DIR/img diff cfg
	mh_rootfs || return 1
	mkdir -p "$a"
	tar -C "$MH_ROOTFS" --owner=0 --group=0 --exclude ./.complete --exclude ./.used --exclude ./.config.json \
		-cf "$a/layer.tar" . || return 1
	diff=$(sha256sum "$a/layer.tar" | cut -d' ' -f1)
	mkdir "$a/$diff" && mv "$a/layer.tar" "$a/$diff/layer.tar"
	jq -nc --arg d "sha256:$diff" '{architecture: "amd64", os: "linux",
		config: {Cmd: ["/bin/sh"], Env: ["PATH=/bin"]}, rootfs: {type: "layers", diff_ids: [$d]}}' >"$a/config"
	cfg=$(sha256sum "$a/config" | cut -d' ' -f1)
	mv "$a/config" "$a/$cfg.json"
	jq -nc --arg c "$cfg.json" --arg l "$diff/layer.tar" --arg t "$ENG_IMAGE" \
		'[{Config: $c, RepoTags: [$t], Layers: [$l]}]' >"$a/manifest.json"
	tar -C "$a" -cf "$ENG_DIR/image.tar" manifest.json "$cfg.json" "$diff" && rm -rf "$a"
}

# ---------------------------------------------------------------- podman

# podman with the private store and configuration.
eng_podman() {
	local d=$ENG_DIR/podman
	# From our own folder: conmon drops an "oom" file into its working
	# directory when the container is OOM-killed.
	(cd "$d" && CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf \
		podman --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file "$@")
}

eng_setup_podman() {
	command -v podman >/dev/null || {
		echo "podman not installed (apt-get install --no-install-recommends podman)" >"$ENG_DIR/skip-podman"
		return 0
	}
	local d=$ENG_DIR/podman
	mkdir -p "$d"/{root,runroot,tmp}
	# vfs needs no overlay mounts, so cleanup is an rm; hooks_dir is empty
	# so only a test's --hooks-dir adds hooks.
	cat >"$d/containers.conf" <<-EOF
		[containers]
		netns = "none"
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
		# conmon gives the runtime only these variables (podman's env is not passed on).
		conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", $(eng_env | sed 's/\([^ ]*\)/"\1"/g; s/ /, /g')]
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
	eng_podman load -i "$ENG_DIR/image.tar" >>"$ENG_DIR/setup.log" 2>&1 ||
		echo "podman load failed: $(tail -3 "$ENG_DIR/setup.log")" >"$ENG_DIR/skip-podman"
}

eng_teardown_podman() {
	[ -d "$ENG_DIR/podman" ] && command -v podman >/dev/null || return 0
	local id
	for id in $(eng_podman ps -aq --no-trunc 2>/dev/null); do
		echo "libpod-$id" >>"$ENG_DIR/cgroups"
	done
	echo conmon >>"$ENG_DIR/cgroups"
	eng_podman rm -af >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- containerd

eng_ctr() {
	ctr -a "$ENG_DIR/ctd/containerd.sock" -n "$ENG_PREFIX" "$@"
}

eng_start_containerd() {
	command -v containerd >/dev/null && command -v ctr >/dev/null || {
		echo "containerd not installed (apt-get install containerd)" >"$ENG_DIR/skip-containerd"
		return 0
	}
	local d=$ENG_DIR/ctd
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
	# shellcheck disable=SC2046  # eng_env is a word list
	env $(eng_env) setsid containerd --config "$d/config.toml" >"$d/log" 2>&1 </dev/null &
	echo $! >"$d/pid"
	if ! eng_wait_for 20 ctr -a "$d/containerd.sock" version; then
		echo "private containerd did not start: $(tail -3 "$d/log")" >"$ENG_DIR/skip-containerd"
		return 0
	fi
	eng_ctr image import "$ENG_DIR/image.tar" >>"$ENG_DIR/setup.log" 2>&1 ||
		echo "ctr image import failed: $(tail -3 "$ENG_DIR/setup.log")" >"$ENG_DIR/skip-containerd"
}

eng_teardown_containerd() {
	[ -S "$ENG_DIR/ctd/containerd.sock" ] || return 0
	local c
	for c in $(eng_ctr containers ls -q 2>/dev/null); do
		echo "$c" >>"$ENG_DIR/cgroups"
		eng_ctr task kill -s KILL "$c" >/dev/null 2>&1
		eng_ctr task rm -f "$c" >/dev/null 2>&1
		eng_ctr containers rm "$c" >/dev/null 2>&1
	done
}

# ---------------------------------------------------------------- docker

eng_docker() {
	"$ENG_DOCKER_CLI" -H "unix://$ENG_DIR/docker/docker.sock" "$@"
}

eng_start_docker() {
	[ -x "$ENG_DOCKER_CLI" ] && command -v dockerd >/dev/null || {
		echo "docker not installed (apt-get install --no-install-recommends docker.io)" >"$ENG_DIR/skip-docker"
		return 0
	}
	[ ! -e "$ENG_DIR/skip-containerd" ] || {
		echo "docker needs the private containerd: $(cat "$ENG_DIR/skip-containerd")" >"$ENG_DIR/skip-docker"
		return 0
	}
	local d=$ENG_DIR/docker
	mkdir -p "$d"
	jq -n --arg d "$d" --arg ctd "$ENG_DIR/ctd/containerd.sock" --arg rt "$ENG_RUNTIME" --arg p "$ENG_PREFIX" '{
		"data-root": "\($d)/data", "exec-root": "\($d)/exec", "pidfile": "\($d)/docker.pid",
		"hosts": ["unix://\($d)/docker.sock"], "containerd": $ctd,
		"containerd-namespace": "\($p)-moby", "containerd-plugins-namespace": "\($p)-plugins",
		"bridge": "none", "iptables": false, "ip-forward": false, "ip-masq": false, "userland-proxy": false,
		"exec-opts": ["native.cgroupdriver=cgroupfs"], "cgroup-parent": "/\($p)",
		"storage-driver": "vfs",
		"runtimes": {"memhook": {"path": $rt}}}' >"$d/daemon.json"
	setsid dockerd --config-file "$d/daemon.json" >"$d/log" 2>&1 </dev/null &
	echo $! >"$d/pid"
	if ! eng_wait_for 30 eng_docker version; then
		echo "private dockerd did not start: $(tail -3 "$d/log")" >"$ENG_DIR/skip-docker"
		return 0
	fi
	eng_docker load -i "$ENG_DIR/image.tar" >>"$ENG_DIR/setup.log" 2>&1 ||
		echo "docker load failed: $(tail -3 "$ENG_DIR/setup.log")" >"$ENG_DIR/skip-docker"
}

eng_teardown_docker() {
	[ -S "$ENG_DIR/docker/docker.sock" ] || return 0
	local ids
	ids=$(eng_docker ps -aq --no-trunc 2>/dev/null)
	[ -z "$ids" ] || printf '%s\n' $ids >>"$ENG_DIR/cgroups"
	# shellcheck disable=SC2086  # a list of ids
	[ -z "$ids" ] || eng_docker rm -f $ids >/dev/null 2>&1
}

# eng_stop NAME: SIGTERM the daemon whose pid is in $ENG_DIR/NAME/pid,
# SIGKILL after 20 s.
eng_stop() {
	local f=$ENG_DIR/$1/pid pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || return 0
	eng_wait_for 20 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
	return 0
}

# ---------------------------------------------------------------- file setup

# eng_setup_file PREFIX ENGINE…: from setup_file.
eng_setup_file() {
	local prefix=$1 e want_ctd=0
	shift
	export ENG_PREFIX=$prefix
	export ENG_IMAGE=localhost/$prefix-busybox:latest
	# podman wants a runroot path of at most 50 characters: keep it short.
	export ENG_DIR
	ENG_DIR=$(mktemp -d "/run/$prefix-eng.XXXXXX") || return 1
	export ENG_STATE=$ENG_DIR/state
	mkdir -m 0700 "$ENG_STATE"
	if [ "$(id -u)" != 0 ] || [ "$(cg_version)" = 0 ] || ! command -v runc >/dev/null || ! command -v jq >/dev/null; then
		echo "needs root, runc, jq and a memory cgroup" >"$ENG_DIR/skip-all"
		return 0
	fi
	if [ "${MEMHOOK_SKIP_ENGINES:-0}" = 1 ]; then
		echo "MEMHOOK_SKIP_ENGINES=1" >"$ENG_DIR/skip-all"
		return 0
	fi
	eng_image || { echo "cannot build the busybox image (see $BUILD and mh_rootfs)" >"$ENG_DIR/skip-all"; return 0; }
	for e in "$@"; do
		case $e in containerd | docker) want_ctd=1 ;; esac
	done
	[ "$want_ctd" = 0 ] || eng_start_containerd
	for e in "$@"; do
		case $e in
		podman) eng_setup_podman ;;
		docker) eng_start_docker ;;
		containerd) ;;
		*) echo "eng_setup_file: unknown engine $e" >&2; return 1 ;;
		esac
	done
	return 0
}

# From teardown_file: every container removed, the daemons stopped, the
# engines' cgroups (those that are empty) and the whole ENG_DIR removed.
eng_teardown_file() {
	[ -n "${ENG_DIR:-}" ] && [ -d "$ENG_DIR" ] || return 0
	: >>"$ENG_DIR/cgroups"
	eng_teardown_docker
	eng_stop docker
	eng_teardown_containerd
	eng_stop ctd
	eng_teardown_podman
	local id h
	sort -u "$ENG_DIR/cgroups" | while read -r id; do
		[ -n "$id" ] || continue
		for h in /sys/fs/cgroup/*/"$ENG_PREFIX"/"$id" /sys/fs/cgroup/"$ENG_PREFIX"/"$id"; do
			[ -d "$h" ] && { rmdir "$h" 2>/dev/null || { sleep 0.3; rmdir "$h" 2>/dev/null; }; }
		done
	done
	# podman's of containers a test removed already (runc deletes its
	# cgroups at delete, but not always the last one).
	for h in /sys/fs/cgroup/*/"$ENG_PREFIX"/libpod-* /sys/fs/cgroup/"$ENG_PREFIX"/libpod-*; do
		[ -d "$h" ] && rmdir "$h" 2>/dev/null
	done
	for h in /sys/fs/cgroup/*/"$ENG_PREFIX" /sys/fs/cgroup/"$ENG_PREFIX"; do
		[ -d "$h" ] && rmdir "$h" 2>/dev/null
	done
	# Whatever the engines left mounted under the private dir, deepest first.
	awk -v d="$ENG_DIR" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$ENG_DIR"
	return 0
}

# ---------------------------------------------------------------- podman with memhook's hooks.d

# From setup(), after mh_setup and eng_skip_unless podman: this test's
# hooks dir and container names.
mh_podman_setup() {
	eng_skip_unless podman
	HOOKS_DIR=$MH_TW/hooks.d
	MH_PODMAN_NAMES=()
	MH_PODMAN_N=0
}

# mh_podman_hooks [EXTRA HOOK ARGS…]: hooks.d JSON files for createRuntime,
# poststart and poststop pointing at the built memhook, with this test's
# state dir ($STATE).
mh_podman_hooks() {
	local extra stage
	extra=$(jq -n '$ARGS.positional' --args -- "$@")
	mkdir -p "$HOOKS_DIR"
	for stage in createRuntime poststart poststop; do
		jq -n --arg p "$MEMHOOK" --arg s "$STATE" --arg st "$stage" --argjson x "$extra" '{
			version: "1.0.0",
			hook: {path: $p, args: (["memhook", "hook", $st, "--state-dir", $s] + $x),
				env: ["MEMHOOK_CONFIG=/nonexistent/memhook-t.json", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
				timeout: 30},
			when: {always: true},
			stages: [$st]
		}' >"$HOOKS_DIR/memhook-t-$stage.json"
	done
}

# mh_podman_name: a new container name (PREFIX-…) in PNAME (memhook's
# records are keyed by podman's full container id: mh_podman_cid).
mh_podman_name() {
	MH_PODMAN_N=$((MH_PODMAN_N + 1))
	PNAME=$ENG_PREFIX-$MH_TNAME-p$MH_PODMAN_N-$$
	MH_PODMAN_NAMES+=("$PNAME")
}

# The full container id of PNAME (podman's OCI id).
mh_podman_cid() {
	eng_podman inspect --format '{{.Id}}' "$PNAME"
}

# mh_podman_run [podman run options…] -- CMD…: run PNAME in the foreground
# with the test's hooks dir, under the cgroup parent /$MH_CG_PARENT.
mh_podman_run() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	eng_podman --hooks-dir "$HOOKS_DIR" run --name "$PNAME" --cgroup-parent "/$MH_CG_PARENT" \
		"${opts[@]}" "$ENG_IMAGE" "$@" </dev/null
}

# From teardown(), before mh_teardown: remove the test's containers and
# their cgroups (podman names them libpod-<id> under the parent; conmon's
# is <parent>/conmon, empty once conmon exited).
mh_podman_teardown() {
	local n id d
	for n in "${MH_PODMAN_NAMES[@]}"; do
		id=$(eng_podman inspect --format '{{.Id}}' "$n" 2>/dev/null) || id=
		eng_podman rm -f "$n" >/dev/null 2>&1 || true
		[ -n "$id" ] || continue
		MH_CIDS+=("libpod-$id")
		for d in $(cg_host_dirs "libpod-$id"); do
			rmdir "$d" 2>/dev/null || true
		done
	done
	for d in /sys/fs/cgroup/*/"$MH_CG_PARENT"/conmon /sys/fs/cgroup/"$MH_CG_PARENT"/conmon; do
		[ -d "$d" ] && { rmdir "$d" 2>/dev/null || { sleep 0.3; rmdir "$d" 2>/dev/null; }; }
	done
	return 0
}
