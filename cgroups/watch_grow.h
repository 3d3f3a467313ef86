/* Process mode's io.memhook.oom.grow: memhook-init restarts the workload
 * in place and cannot write the cgroup, so the watcher raises the limit
 * before the next run, as memhook-runtime does in config.json in container
 * mode (restart_grow: limit × FACTOR capped at MAX, swap allowance kept). */
#ifndef MEMHOOK_WATCH_GROW_H
#define MEMHOOK_WATCH_GROW_H

#include <stdint.h>

#include "error.h"
#include "plan.h"
#include "policy.h"

/* Raises the cgroup's limit (v1: memsw first, by the same amount); *limit
 * is the limit the cgroup holds afterwards.  No grow configured, or an
 * unlimited limit: nothing changes. */
int watch_grow (int cgroup_dirfd, enum cg_version version, const struct restart_policy *policy, int64_t *limit,
                mh_error_t *err);

#endif
