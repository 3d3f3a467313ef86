# A private podman for the tests: its own store, run root, tmp dir,
# containers.conf and storage.conf under this run's dir, the busybox rootfs
# imported as localhost/memhook-t-busybox, containers under the cgroup
# parent /memhook-t.  Nothing of the host's podman state is read or written.
#
# shellcheck disable=SC2034  # variables are used by the .bats files
# Load after common.bash.  The store is made once per .bats file
# (mh_podman_setup_file from setup_file), shared by its tests, and removed
# by mh_podman_teardown_file.  Tests call mh_podman_setup from setup().

MH_PODMAN_IMAGE=localhost/memhook-t-busybox

# The store lives on a local filesystem (also in the VM, where the work dir
# is a 9p share); vfs needs no overlay mounts, so cleanup is an rm.
mh_podman_dir() {
	echo "$MH_RUN/podman-$(basename "$BATS_TEST_FILENAME" .bats)"
}

mh_podman_usable() {
	[ "$(id -u)" = 0 ] && command -v podman >/dev/null && command -v runc >/dev/null &&
		[ "${MEMHOOK_SKIP_ENGINES:-0}" != 1 ]
}

# podman with the private store and config.
mh_podman() {
	local d
	d=$(mh_podman_dir)
	CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf \
		podman --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp" \
		--storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"
}

# From setup_file: never skips (bats 1.8.2 fails a file whose setup_file
# skips); when podman cannot run here it does nothing and setup() skips.
mh_podman_setup_file() {
	mh_podman_usable || return 0
	local d
	d=$(mh_podman_dir)
	rm -rf "$d"
	mkdir -p "$d"/{root,runroot,tmp}
	cat >"$d/containers.conf" <<-EOF
		[containers]
		netns = "none"
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
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
	MH_CGVER=$(cg_version)
	mh_rootfs || return 1
	tar -C "$MH_ROOTFS" --exclude ./.complete --exclude ./.used --exclude ./.config.json -c . |
		mh_podman import --change 'CMD ["/bin/sh"]' - "$MH_PODMAN_IMAGE" >/dev/null
}

mh_podman_teardown_file() {
	mh_podman_usable || return 0
	local d
	d=$(mh_podman_dir)
	[ -d "$d" ] || return 0
	mh_podman rm -af >/dev/null 2>&1 || true
	# Anything podman left mounted under the private dir, deepest first.
	awk -v d="$d" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$d"
	rmdir "$MH_RUN" 2>/dev/null || true
	mh_podman_conmon_cgroups_cleanup
	mh_cg_parent_cleanup
}

# From setup(), after mh_setup.
mh_podman_setup() {
	mh_podman_usable || {
		[ "${MEMHOOK_SKIP_ENGINES:-0}" = 1 ] && skip "MEMHOOK_SKIP_ENGINES=1"
		skip "podman not installed (apt-get install --no-install-recommends podman)"
	}
	mh_podman image exists "$MH_PODMAN_IMAGE" || fail "the test image was not imported (see setup_file)"
	HOOKS_DIR=$MH_TW/hooks.d
	MH_PODMAN_NAMES=()
	MH_PODMAN_N=0
}

# mh_podman_hooks [EXTRA HOOK ARGS…]: hooks.d JSON files for createRuntime,
# poststart and poststop pointing at the built memhook.
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

# mh_podman_name: a new container name (memhook-t-…), set in PNAME and
# CID (memhook's records are keyed by podman's full container id, found
# with mh_podman_cid after the run).
mh_podman_name() {
	MH_PODMAN_N=$((MH_PODMAN_N + 1))
	PNAME=memhook-t-$MH_TNAME-p$MH_PODMAN_N-$$
	MH_PODMAN_NAMES+=("$PNAME")
}

# The full container id of PNAME (podman's OCI id).
mh_podman_cid() {
	mh_podman inspect --format '{{.Id}}' "$PNAME"
}

# mh_podman_run [podman run options…] -- CMD…: run PNAME in the foreground
# with the test's hooks dir and the /memhook-t cgroup parent.
mh_podman_run() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	mh_podman --hooks-dir "$HOOKS_DIR" run --name "$PNAME" --cgroup-parent "/$MH_CG_PARENT" \
		"${opts[@]}" "$MH_PODMAN_IMAGE" "$@" </dev/null
}

# From teardown(), before mh_teardown: remove the test's containers and
# their cgroups (podman names them libpod-<id> under the parent).
mh_podman_teardown() {
	local n id d
	for n in "${MH_PODMAN_NAMES[@]}"; do
		id=$(mh_podman inspect --format '{{.Id}}' "$n" 2>/dev/null) || id=
		mh_podman rm -f "$n" >/dev/null 2>&1 || true
		[ -n "$id" ] || continue
		MH_CIDS+=("libpod-$id")
		for d in $(cg_host_dirs "libpod-$id"); do
			rmdir "$d" 2>/dev/null || true
		done
	done
	mh_podman_conmon_cgroups_cleanup
}

# conmon runs in <parent>/conmon; it is empty once conmon exited.
mh_podman_conmon_cgroups_cleanup() {
	local d
	for d in /sys/fs/cgroup/*/"$MH_CG_PARENT"/conmon /sys/fs/cgroup/"$MH_CG_PARENT"/conmon; do
		[ -d "$d" ] && { rmdir "$d" 2>/dev/null || { sleep 0.3; rmdir "$d" 2>/dev/null; }; }
	done
	return 0
}
