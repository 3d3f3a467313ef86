#!/usr/bin/env bash
# Runs memhook's bats suites (real runc, real containers; as root).
#   tests/run-bats.sh [FILE.bats…]     default: every tests/bats/*.bats
# Prints each file's TAP stream, a per-file summary, and a last line
#   bats: N passed, N failed, N skipped
# Exits 1 when any test failed (or a file produced no plan), else 0.
# Environment: MEMHOOK_BUILD (default $PROJECT/build), MEMHOOK_TEST_WORK,
# MEMHOOK_TEST_RUN, MEMHOOK_BIN (see tests/lib/common.bash);
# MEMHOOK_BATS_FILTER=REGEX runs only the tests whose names match;
# MEMHOOK_BATS_TAGS=TAGS only those with bats tags TAGS (--filter-tags;
# the VM suites run the tests tagged "vm": those whose meaning differs
# between cgroup v1 and v2).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export MEMHOOK_BUILD=${MEMHOOK_BUILD:-$(dirname "$here")/build}

if [ $# -gt 0 ]; then
	files=("$@")
else
	files=("$here"/bats/*.bats)
fi

if ! command -v bats >/dev/null; then
	echo "run-bats: bats is not installed (apt-get install bats bats-assert bats-support)" >&2
	echo "bats: 0 passed, 1 failed"
	exit 1
fi

total_pass=0 total_fail=0 total_skip=0
summary=()
start=$SECONDS
for f in "${files[@]}"; do
	name=$(basename "$f")
	log=$(mktemp)
	t0=$SECONDS
	echo "# ---- $name"
	filter=()
	[ -z "${MEMHOOK_BATS_FILTER:-}" ] || filter=(-f "$MEMHOOK_BATS_FILTER")
	[ -z "${MEMHOOK_BATS_TAGS:-}" ] || filter+=(--filter-tags "$MEMHOOK_BATS_TAGS")
	bats --tap "${filter[@]}" "$f" 2>&1 | tee "$log"
	plan=$(grep -aE '^1\.\.[0-9]+' "$log" | head -1 | cut -d. -f3)
	skip=$(grep -acE '^ok [0-9]+ .*# skip' "$log")
	pass=$(($(grep -acE '^ok [0-9]+' "$log") - skip))
	fail=$(grep -acE '^not ok [0-9]+' "$log")
	# A file that died before its plan, or ran fewer tests than it
	# planned, counts the missing ones as failures.
	if [ -z "$plan" ]; then
		fail=$((fail + 1))
	elif [ $((pass + skip + fail)) -lt "$plan" ]; then
		fail=$((plan - pass - skip))
	fi
	rm -f "$log"
	summary+=("$(printf '%-24s %3d passed, %3d failed, %3d skipped  (%ds)' "$name" "$pass" "$fail" "$skip" $((SECONDS - t0)))")
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
done

echo
echo "# ---- summary (${MEMHOOK_BUILD}, $((SECONDS - start))s)"
printf '%s\n' "${summary[@]}"
echo "bats: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
