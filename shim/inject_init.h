/* Process mode of the restart policy (issue 8): when the engine owns the
 * container's life (create) or nobody waits for it (run -d, run
 * --console-socket), memhook-init is bind-mounted read-only into
 * the container and put in front of process.args, with the verdict dir
 * the watcher answers in and the records file it writes. */
#ifndef MEMHOOK_SHIM_INJECT_INIT_H
#define MEMHOOK_SHIM_INJECT_INIT_H

#include <stdbool.h>

#include "config.h"
#include "error.h"
#include "json.h"
#include "policy.h"

#define INJECT_INIT_DEST "/.memhook/init"
#define INJECT_VERDICTS_DEST "/.memhook/verdicts"
#define INJECT_RECORDS_DEST "/.memhook/records"
#define INJECT_VERDICTS_NAME "verdicts"
#define INJECT_RECORDS_NAME "init-records.jsonl"

/* memhook-init on the host: MEMHOOK_INIT_PATH env, then next to this
 * binary, ../init/memhook-init (build tree), ../libexec/memhook/memhook-init,
 * then the installed MEMHOOK_INIT_PATH.  *out is malloc'd. */
int inject_init_find (char **out, mh_error_t *err);

/* Whether process.args[0] is memhook-init's mount path already. */
bool inject_init_present (const struct json *root);

/* Refuses memory.oom.group=1 in linux.resources.unified: the kernel kills
 * the whole cgroup, memhook-init included. */
int inject_init_check_oom_group (const struct oci_config *config, mh_error_t *err);

/* Whether inject_init can change this config: the id is safe as a path,
 * process.args is a non-empty list, mounts a list or absent.  A refusal
 * names the field: invalid input, never a fault of memhook's own. */
int inject_init_check (const struct json *root, const char *id, mh_error_t *err);

/* Under a policy that restarts (not "no") and unless memhook-init is in
 * front already: creates <state_dir>/<id>/verdicts (0700) and the records
 * file, adds the three mounts and prefixes process.args with memhook-init
 * and the restart settings of config (annotations, else process.env).
 * Sets *changed when it changed root.  A config it cannot change
 * (process.args empty, mounts not a list, a bad id) is refused naming the
 * field, before anything is touched. */
int inject_init (struct json *root, const char *init_path, const char *state_dir, const char *id,
                 const struct oci_config *config, const struct restart_policy *policy, bool *changed,
                 mh_error_t *err);

#endif
