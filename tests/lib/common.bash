# Shared library for memhook's integration tests: real runc, real
# containers, the built memhook hook.  The same files run on cgroup v1 (the
# development host) and on cgroup v2 (the VM in tests/vm/): everything that
# differs between the two goes through the cg_* functions below.
#
# Load it from a .bats file with:   load ../lib/common
# and call mh_setup from setup() and mh_teardown from teardown().
#
# Environment:
#   MEMHOOK_BUILD      build dir (default $PROJECT/build)
#   MEMHOOK_BIN        the memhook binary (default $MEMHOOK_BUILD/hooks/memhook)
#   MEMHOOK_TEST_WORK  work dir for the rootfs and bundles (default
#                      $PROJECT/tests/work: inside the project because the VM
#                      shares only the project folder)
#   MEMHOOK_TEST_RUN   where runc's state and memhook's state dirs live
#                      (default /run/memhook-t-runc; a local fs, never 9p)

# shellcheck disable=SC2034  # variables are used by the .bats files
# shellcheck disable=SC2016  # jq filters and in-container scripts are single-quoted on purpose

MH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=$(cd "$MH_LIB_DIR/../.." && pwd)
BUILD=${MEMHOOK_BUILD:-$PROJECT/build}
MEMHOOK=${MEMHOOK_BIN:-$BUILD/hooks/memhook}
HELPERS_DIR=$BUILD/tests/helpers
MH_WORK=${MEMHOOK_TEST_WORK:-$PROJECT/tests/work}
MH_RUN=${MEMHOOK_TEST_RUN:-/run/memhook-t-runc}
MH_RUNC_ROOT=$MH_RUN/runc
MH_HELPERS="touchmem oomkids sigreport nothing"
# Test cgroups live under this parent, in every hierarchy runc uses.
MH_CG_PARENT=memhook-t
MIB=1048576

load_bats_libs() {
	load /usr/lib/bats/bats-support/load.bash
	load /usr/lib/bats/bats-assert/load.bash
}

# ---------------------------------------------------------------- cgroups

# 1 or 2: where the memory controller lives.  A hybrid host (v1 memory,
# cgroup2 at /sys/fs/cgroup/unified without memory) counts as 1.
cg_version() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo 2
	elif [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		echo 1
	else
		echo 0
	fi
}

# Files as seen from INSIDE a container whose own cgroup is mounted at
# /sys/fs/cgroup (v1: one dir per controller).  On v2 without a cgroup
# namespace runc 1.1 mounts the whole hierarchy there instead: read files
# through mh_read_script, which finds the container's own directory.
cg_dir_in_container() {
	if [ "$MH_CGVER" = 1 ]; then echo /sys/fs/cgroup/memory; else echo /sys/fs/cgroup; fi
}
cg_file() { # cg_file limit|swap|reservation|swappiness|oom|kernel|kernel_tcp|use_hierarchy|usage|events
	local v1 v2
	case $1 in
	limit) v1=memory.limit_in_bytes v2=memory.max ;;
	swap) v1=memory.memsw.limit_in_bytes v2=memory.swap.max ;;
	reservation) v1=memory.soft_limit_in_bytes v2=memory.low ;;
	swappiness) v1=memory.swappiness v2= ;;
	oom) v1=memory.oom_control v2=memory.events ;;
	kernel) v1=memory.kmem.limit_in_bytes v2= ;;
	kernel_tcp) v1=memory.kmem.tcp.limit_in_bytes v2= ;;
	use_hierarchy) v1=memory.use_hierarchy v2= ;;
	usage) v1=memory.usage_in_bytes v2=memory.current ;;
	events) v1=memory.oom_control v2=memory.events ;;
	*) echo "cg_file: unknown name $1" >&2; return 1 ;;
	esac
	local f
	if [ "$MH_CGVER" = 1 ]; then f=$v1; else f=$v2; fi
	[ -n "$f" ] || return 1
	echo "$(cg_dir_in_container)/$f"
}
cg_limit_file() { cg_file limit; }
cg_swap_file() { cg_file swap; }
cg_reservation_file() { cg_file reservation; }
cg_oom_file() { cg_file oom; }

# What the kernel shows for "unlimited" in a limit file.
cg_unlimited() {
	if [ "$MH_CGVER" = 1 ]; then echo 9223372036854771712; else echo max; fi
}

# Does this host account swap per cgroup?  v1: memsw files in the root;
# v2: memory.swap.max in a non-root cgroup (a probe cgroup of our own: the
# VM's root may have no children yet).
cg_has_swap_accounting() {
	if [ "$MH_CGVER" = 1 ]; then
		[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]
		return
	fi
	local probe=/sys/fs/cgroup/$MH_CG_PARENT-probe-$$ rc=1
	mkdir -p "$probe" 2>/dev/null || return 1
	[ -e "$probe/memory.swap.max" ] && rc=0
	rmdir "$probe" 2>/dev/null
	return $rc
}

# mh_kernel_at_least MAJOR MINOR: the running kernel is at least that.
mh_kernel_at_least() {
	local maj min
	IFS=. read -r maj min _ <<<"$(uname -r)"
	min=${min%%[!0-9]*}
	[ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# Is any swap device active?
mh_swap_on() {
	[ "$(awk 'NR > 1' /proc/swaps | wc -l)" -gt 0 ]
}

# Expected file content for a byte value after the kernel's page rounding
# (v1 rounds limits down to the page size; v2 the same).
cg_bytes() {
	local page
	page=$(getconf PAGESIZE)
	echo $(($1 / page * page))
}

# Every host path of the container's cgroup (v1: one per hierarchy).
cg_host_dirs() { # ID
	local id=$1
	if [ "$MH_CGVER" = 2 ]; then
		echo "/sys/fs/cgroup/$MH_CG_PARENT/$id"
	else
		local h
		for h in /sys/fs/cgroup/*/; do
			[ -d "$h$MH_CG_PARENT/$id" ] && echo "${h%/}/$MH_CG_PARENT/$id"
		done
	fi
	return 0
}

# ---------------------------------------------------------------- rootfs

# The busybox rootfs with the static helpers in /bin, shared read-only by
# every container.  Its directory is named for a checksum of its contents
# (busybox and the helpers): it is made once, never changed in place (a
# rebuild while another run uses it, or over the VM's 9p share, is never
# safe), and sets MH_ROOTFS.
mh_rootfs() {
	local busybox key dir
	busybox=$(command -v busybox) || { echo "busybox missing: apt-get install busybox-static" >&2; return 1; }
	# shellcheck disable=SC2086  # MH_HELPERS is a word list
	key=$( (cd "$HELPERS_DIR" && cat $MH_HELPERS) | cat - "$busybox" | cksum | cut -d' ' -f1) || return 1
	dir=$MH_WORK/rootfs-$key
	MH_ROOTFS=$dir
	if [ -f "$dir/.complete" ]; then
		# Marks it in use, for the cleanup below in other runs.
		printf x 2>/dev/null >"$dir/.used"
		return 0
	fi
	mkdir -p "$MH_WORK"
	# Everything in the work dir is made by the tests: keep it out of git.
	[ -e "$MH_WORK/.gitignore" ] || echo '*' >"$MH_WORK/.gitignore"
	(
		flock 9 2>/dev/null
		[ -f "$dir/.complete" ] && exit 0
		rm -rf "$dir"
		mkdir -p "$dir"/{bin,dev,proc,sys,tmp,etc,root,usr,lib,lib64,run,var}
		cp "$busybox" "$dir/bin/busybox" || exit 1
		local a
		for a in $("$busybox" --list); do
			[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
		done
		for a in $MH_HELPERS; do
			cp "$HELPERS_DIR/$a" "$dir/bin/$a" || exit 1
		done
		echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
		echo 'root:x:0:' >"$dir/etc/group"
		chmod 1777 "$dir/tmp"
		sync
		touch "$dir/.complete"
	) 9>"$MH_WORK/.rootfs.lock" || return 1
	# Rootfs dirs of other builds nobody used for an hour.
	local old
	for old in "$MH_WORK"/rootfs-*; do
		if [ "$old" = "$dir" ] || [ ! -d "$old" ]; then continue; fi
		[ -n "$(find "$old/.used" "$old/.complete" -maxdepth 0 -mmin -60 2>/dev/null)" ] || rm -rf "$old"
	done
	return 0
}

# ---------------------------------------------------------------- setup

# Call from setup(): skips (never fails) when the host cannot run the
# tests; fails when the build is incomplete.
mh_setup() {
	load_bats_libs
	[ "$(id -u)" = 0 ] || skip "needs root (runs real containers)"
	command -v runc >/dev/null || skip "runc not installed (apt-get install runc)"
	command -v jq >/dev/null || skip "jq not installed (apt-get install jq)"
	MH_CGVER=$(cg_version)
	[ "$MH_CGVER" != 0 ] || skip "no memory cgroup controller (neither v1 /sys/fs/cgroup/memory nor cgroup2)"
	if [ "$MH_CGVER" = 2 ]; then
		if ! grep -qw memory /sys/fs/cgroup/cgroup.subtree_control; then
			echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
		fi
		grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
			skip "cgroup v2: +memory is not in /sys/fs/cgroup/cgroup.subtree_control"
	fi
	local h
	for h in $MH_HELPERS; do
		[ -x "$HELPERS_DIR/$h" ] || fail "helper $HELPERS_DIR/$h missing: build with 'ninja -C $BUILD'"
	done
	[ -x "$MEMHOOK" ] || fail "$MEMHOOK missing: build with 'ninja -C $BUILD'"
	mh_rootfs || fail "cannot make the rootfs in $MH_ROOTFS"

	# One private dir per test, for bundles; one for runc state and the
	# memhook state dir (a local filesystem also in the VM).
	MH_TNAME=$(basename "$BATS_TEST_FILENAME" .bats | tr _ -)-$BATS_TEST_NUMBER
	MH_TW=$MH_WORK/t/$MH_TNAME-$$
	MH_TR=$MH_RUN/$MH_TNAME-$$
	STATE=$MH_TR/state
	rm -rf "$MH_TW" "$MH_TR"
	mkdir -p "$MH_TW" "$MH_TR" "$MH_RUNC_ROOT"
	MH_CIDS=()
	MH_NBUNDLE=0
}

# Call from teardown(): removes every container and cgroup the test made,
# and the test's files.  Never touches anything else.
mh_teardown() {
	[ -n "${MH_TW:-}" ] || return 0
	local id d
	for id in "${MH_CIDS[@]}"; do
		runc --root "$MH_RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in "${MH_CIDS[@]}"; do
		# A watcher or late process may hold the cgroup for a moment.
		for d in $(cg_host_dirs "$id" | sort -r); do
			rmdir "$d" 2>/dev/null || { sleep 0.2; rmdir "$d" 2>/dev/null || true; }
		done
	done
	mh_cg_parent_cleanup
	if [ -z "${MEMHOOK_TEST_KEEP:-}" ]; then
		rm -rf "$MH_TW" "$MH_TR"
	fi
	rmdir "$MH_WORK/t" "$MH_RUNC_ROOT" "$MH_RUN" 2>/dev/null || true
}

# rmdir the memhook-t parent in every hierarchy when it is empty (another
# test running at the same time keeps it: rmdir simply fails then).
mh_cg_parent_cleanup() {
	local p
	for p in /sys/fs/cgroup/*/"$MH_CG_PARENT" /sys/fs/cgroup/"$MH_CG_PARENT"; do
		[ -d "$p" ] && rmdir "$p" 2>/dev/null
	done
	return 0
}

# ---------------------------------------------------------------- bundles

# mh_json_str STRING: STRING as a JSON string literal, in bash alone
# (every jq or runc start costs ~0.1 s on a small VM; a suite makes hundreds).
mh_json_str() {
	local v=$1
	v=${v//\\/\\\\}
	v=${v//\"/\\\"}
	v=${v//$'\n'/\\n}
	v=${v//$'\t'/\\t}
	v=${v//$'\r'/\\r}
	printf '"%s"' "$v"
}

# mh_json_array ARG…: a JSON array of strings.
mh_json_array() {
	local a out="" sep=""
	for a in "$@"; do
		out+=$sep$(mh_json_str "$a")
		sep=,
	done
	printf '[%s]' "$out"
}

# The config.json every bundle starts from: `runc spec` edited once per
# rootfs (cached in it); @CGPATH@ is filled in per bundle.
mh_config_template() {
	local t=$MH_ROOTFS/.config.json
	MH_CONFIG_TEMPLATE=$t
	[ -s "$t" ] && return 0
	local d
	d=$(mktemp -d "$MH_WORK/spec.XXXXXX") || return 1
	(cd "$d" && runc spec) &&
		jq --arg root "$MH_ROOTFS" '
		.root = {path: $root, readonly: true}
		| .process.terminal = false
		| .process.args = ["/bin/sh", "-c", "true"]
		| .process.env = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"]
		| .hostname = "memhook-t"
		| .linux.cgroupsPath = "@CGPATH@"
		| .linux.resources = (.linux.resources // {})
		| .mounts += [{destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=64m"]}]' \
			"$d/config.json" >"$d/template.json" &&
		mv "$d/template.json" "$t"
	local rc=$?
	rm -rf "$d"
	return $rc
}

# mh_bundle [--stress]: a new bundle for a new container.  Sets BUNDLE,
# CID (the container id, memhook-t-…) and CONFIG.  The process is
# `sh -c true`, terminal off, cgroupsPath /$MH_CG_PARENT/<id>; /tmp is a
# tmpfs because the shared rootfs is read-only.  --stress bind-mounts the
# host's /usr, /lib and /lib64 read-only so Debian's binaries (stress) run.
mh_bundle() {
	MH_NBUNDLE=$((MH_NBUNDLE + 1))
	CID=memhook-t-$MH_TNAME-$MH_NBUNDLE-$$
	BUNDLE=$MH_TW/b$MH_NBUNDLE
	CONFIG=$BUNDLE/config.json
	MH_CIDS+=("$CID")
	mkdir -p "$BUNDLE"
	[ -s "${MH_CONFIG_TEMPLATE:-}" ] || mh_config_template || return 1
	local cfg
	cfg=$(<"$MH_CONFIG_TEMPLATE")
	printf '%s\n' "${cfg//@CGPATH@//$MH_CG_PARENT/$CID}" >"$CONFIG"
	if [ "${1:-}" = --stress ]; then
		local d dirs=()
		for d in /usr /lib /lib64; do
			[ -e "$d" ] && dirs+=("$d")
		done
		mh_jq --argjson dirs "$(mh_json_array "${dirs[@]}")" '.mounts += [$dirs[]
			| {destination: ., type: "bind", source: ., options: ["rbind", "ro", "nosuid", "nodev"]}]'
	fi
}

# mh_jq [jq args…] FILTER: edit the current bundle's config.json in place.
mh_jq() {
	local filter=${*: -1}
	local args=("${@:1:$#-1}")
	jq "${args[@]}" "$filter" "$CONFIG" >"$CONFIG.new" && mv "$CONFIG.new" "$CONFIG"
}

# mh_args ARG…: the container's process.
mh_args() {
	mh_jq --argjson a "$(mh_json_array "$@")" '.process.args = $a'
}

# mh_mem FIELD JSON: set linux.resources.memory.FIELD (value as JSON:
# 67108864, -1, true).
mh_mem() {
	mh_jq --arg f "$1" --argjson v "$2" '.linux.resources.memory[$f] = $v'
}

# mh_unified KEY VALUE: linux.resources.unified (v2 only in runc).
mh_unified() {
	mh_jq --arg k "$1" --arg v "$2" '.linux.resources.unified[$k] = $v'
}

# mh_annotate KEY VALUE
mh_annotate() {
	mh_jq --arg k "$1" --arg v "$2" '.annotations[$k] = $v'
}

# mh_hooks [EXTRA HOOK ARGS…]: register memhook for createRuntime,
# poststart and poststop with this test's private state dir.
mh_hooks() {
	mh_jq --arg p "$MEMHOOK" --arg s "$STATE" --argjson x "$(mh_json_array "$@")" '
		def h(stage): {path: $p, args: (["memhook", "hook", stage, "--state-dir", $s] + $x),
			env: ["MEMHOOK_CONFIG=/nonexistent/memhook-t.json", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 30};
		.hooks = {createRuntime: [h("createRuntime")], poststart: [h("poststart")], poststop: [h("poststop")]}'
}

# mh_read_script NAME…: shell text for the container's process that prints
# NAME=CONTENT for each cgroup file (cg_file names); keyed files
# (oom/events) print every line as NAME.KEY=VALUE; a missing file prints
# NAME=<missing>.  The container finds its own cgroup: v1 and v2 with a
# cgroup namespace mount it at /sys/fs/cgroup, but runc 1.1 on v2 without
# one mounts the whole hierarchy there, so the path comes from
# /proc/self/cgroup ("0::/memhook-t/<id>", or "0::/" inside a namespace).
mh_read_script() {
	local n f s=""
	if [ "$MH_CGVER" = 2 ]; then
		s+='d=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup); d=${d%/}; '
	else
		s+='d=/sys/fs/cgroup/memory; '
	fi
	for n in "$@"; do
		f=$(cg_file "$n") && f=\$d/$(basename "$f") || f=/nonexistent/$n
		s+="if [ -e $f ]; then while read -r k v; do if [ -n \"\$v\" ]; then echo $n.\$k=\$v; else echo $n=\$k; fi; done < $f; else echo $n='<missing>'; fi; "
	done
	echo "$s"
}

# mh_args_read NAME… (alias read_cg_in_container): the container's process
# prints those cgroup files (see mh_read_script) and exits 0.  Read them
# inside: runc deletes the cgroup as soon as the container ends.
mh_args_read() {
	mh_args /bin/sh -c "$(mh_read_script "$@")"
}
read_cg_in_container() { mh_args_read "$@"; }

# ---------------------------------------------------------------- running

mh_runc() {
	runc --root "$MH_RUNC_ROOT" "$@"
}

# mh_run_container: `runc run` the current bundle in the foreground; use as
# `run mh_run_container` (status = the container's exit status or runc's
# failure).  stdin is /dev/null: nothing may wait on the terminal.
mh_run_container() {
	runc --root "$MH_RUNC_ROOT" run --bundle "$BUNDLE" "$CID" </dev/null
}

# Is a container with this id still known to runc?
mh_container_exists() {
	runc --root "$MH_RUNC_ROOT" state "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------- state

# mh_events [EVENT]: this container's events (one JSON object a line).
mh_events() {
	local ev=${1:-}
	[ -f "$STATE/events.jsonl" ] || return 0
	jq -c --arg id "$CID" --arg ev "$ev" 'select(.id == $id and ($ev == "" or .event == $ev))' "$STATE/events.jsonl"
}

mh_record() {
	cat "$STATE/$CID/record.json"
}

# mh_wait_for CMD…: retry up to ~5 s (poststop and the watcher are
# asynchronous to `runc run` returning in some engines).
mh_wait_for() {
	local i
	for i in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# mh_has_event EVENT: this container has at least one such event.
mh_has_event() {
	[ -n "$(mh_events "$1")" ]
}

# mh_plan_value FILE: the value the apply event planned for a cgroup file
# (basename, e.g. memory.max); empty when the plan has no such step.
mh_plan_value() {
	mh_events apply | jq -r --arg f "$1" '.plan[]? | select(.file == $f) | .value' | tail -1
}

# mh_correction FILE: "WAS VALUE" of the apply event's correction for a
# cgroup file (a value the runtime left different from the plan, which
# memhook wrote); empty when memhook did not have to write that file.
mh_correction() {
	mh_events apply | jq -r --arg f "$1" '.corrections[]? | select(.file == $f) | "\(.was) \(.value)"' | tail -1
}

# mh_warning_for FIELD: the messages of this container's warning events for
# an OCI field (or option / stage).
mh_warning_for() {
	mh_events warning | jq -r --arg f "$1" 'select(.field == $f or .stage == $f) | .message'
}

# ---------------------------------------------------------------- the hook, directly

# mh_create_container: `runc create` the current bundle (the process waits
# for `start`), so a hook run by hand sees a real pid in a real cgroup.
# Sets CPID.  stdio goes to a file: the waiting init keeps it open.
mh_create_container() {
	runc --root "$MH_RUNC_ROOT" create --bundle "$BUNDLE" "$CID" </dev/null >"$MH_TW/$CID.stdio" 2>&1 || {
		cat "$MH_TW/$CID.stdio" >&2
		return 1
	}
	CPID=$(runc --root "$MH_RUNC_ROOT" state "$CID" | jq -r .pid)
}

# mh_state_json [ID [PID [BUNDLE]]]: the OCI state a runtime gives a hook.
mh_state_json() {
	jq -cn --arg id "${1:-$CID}" --argjson pid "${2:-${CPID:-0}}" --arg b "${3:-$BUNDLE}" \
		'{ociVersion: "1.0.2", id: $id, status: "created", pid: $pid, bundle: $b, annotations: {}}'
}

# mh_hook STAGE [ARGS…] with the state JSON in $MH_STDIN: run memhook as a
# runtime would, with this test's state dir and no host config file.
mh_hook() {
	local stage=$1
	shift
	printf '%s' "${MH_STDIN:-}" | MEMHOOK_CONFIG=$MH_TR/no-memhook.json \
		"$MEMHOOK" hook "$stage" --state-dir "$STATE" "$@"
}

# The container's memory cgroup directory on the host (exists only while
# the container does).
cg_host_memory_dir() {
	if [ "$MH_CGVER" = 1 ]; then
		echo "/sys/fs/cgroup/memory/$MH_CG_PARENT/$1"
	else
		echo "/sys/fs/cgroup/$MH_CG_PARENT/$1"
	fi
}

# cg_no_process ID: the container's cgroups are gone, or hold no process.
cg_no_process() {
	local d
	for d in $(cg_host_dirs "$1"); do
		# cgroup files report size 0: read the content.
		[ -z "$(cat "$d/cgroup.procs" 2>/dev/null)" ] || return 1
	done
	return 0
}

# cg_snapshot ID: every memory setting of the container's cgroup, from the
# host, one "file:value" a line: compare two to prove nothing changed.
cg_snapshot() {
	local d n f
	d=$(cg_host_memory_dir "$1")
	for n in limit swap reservation swappiness kernel kernel_tcp use_hierarchy; do
		f=$(cg_file "$n") || continue
		f=$d/$(basename "$f")
		[ -e "$f" ] && echo "$(basename "$f"):$(head -1 "$f")"
	done
	[ "$MH_CGVER" = 1 ] && echo "oom_control:$(head -1 "$d/memory.oom_control")"
	return 0
}

# mh_no_swap LIMIT: limit and memory+swap equal, so the container cannot
# escape an OOM by swapping (the VMs have swap; swap is left alone where
# the kernel does not account it).
mh_no_swap() {
	mh_mem limit "$1"
	if cg_has_swap_accounting; then
		mh_mem swap "$1"
	elif mh_swap_on; then
		skip "swap is on but not accounted per cgroup: the container would swap instead of being OOM-killed"
	fi
}
