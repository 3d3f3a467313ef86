/* Editing a parsed config.json for memhook-runtime: put the effective
 * memory settings into linux.resources.memory and add memhook's hooks.
 * Only what must change is touched: a field whose value is already right
 * keeps its node (so its number text), other keys keep their order, and a
 * second pass over the result changes nothing. */
#ifndef MEMHOOK_OCI_REWRITE_H
#define MEMHOOK_OCI_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "json.h"

#define REWRITE_MEMORY_FIELDS 9
#define REWRITE_HOOK_STAGES 3

struct rewrite_result
{
  bool changed;
  /* OCI paths ("linux.resources.memory.swappiness"), static strings. */
  size_t n_dropped;
  const char *dropped[REWRITE_MEMORY_FIELDS];
  size_t n_set;
  const char *set[REWRITE_MEMORY_FIELDS];
  bool unified_dropped;
  size_t n_hooks;
  const char *hooks[REWRITE_HOOK_STAGES]; /* stages given a memhook hook */
};

/* Makes linux.resources.memory say what `effective` says: a field present
 * there is set (unless the config already has that value), a field absent
 * there but present (non-null) in the config is removed.  Objects on the
 * way are created only when a field must be set.  Adds to *res. */
int rewrite_memory (struct json *root, const struct oci_memory *effective,
                    struct rewrite_result *res, mh_error_t *err);

/* Removes linux.resources.unified altogether (runc refuses the key on a
 * cgroup v1 host, whatever it holds).  Sets res->unified_dropped. */
int rewrite_drop_unified (struct json *root, struct rewrite_result *res, mh_error_t *err);

/* Adds {"path": hook_path, "args": ["memhook", "hook", STAGE, options…]}
 * to hooks.createRuntime, hooks.poststart and hooks.poststop, each unless
 * that stage already has a memhook hook (createRuntime: unless prestart or
 * createRuntime has one, as the hook runs its create stage once).
 * options is NULL-terminated (may be NULL).  Adds to *res. */
int rewrite_hooks (struct json *root, const char *hook_path, char *const *options,
                   struct rewrite_result *res, mh_error_t *err);

/* Whether rewrite_hooks would add nothing (every stage has a memhook
 * hook); lets the caller skip looking for the hook binary. */
bool rewrite_hooks_present (const struct json *root);

/* A hook entry is memhook's when its path's last component is "memhook"
 * and args[1] is "hook", whatever its options. */
bool rewrite_is_memhook_hook (const struct json *hook);

#endif
