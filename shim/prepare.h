/* create/run: the bundle's config.json made ready before the real runtime
 * judges it: refused when invalid, normalized for this host, operator
 * defaults written in, memhook's hooks added; rewritten atomically and
 * only when something changed. */
#ifndef MEMHOOK_SHIM_PREPARE_H
#define MEMHOOK_SHIM_PREPARE_H

#include <stdbool.h>
#include <sys/types.h>

#include "args.h"
#include "error.h"
#include "options.h"
#include "policy.h"

struct shim_prepared
{
  struct restart_policy restart;
  bool rewritten; /* config.json was replaced */
};

/* Returns < 0 when the container must not be created; *err then holds the
 * whole line for the user ("memhook: <id>: <what>: <why>; <fix>").
 * Warnings (fields dropped, faults let pass by --on-fault=pass) are
 * reported here through shim_report and recorded as `warning` events. */
int shim_prepare (const struct shim_args *args, const struct options *opts, struct shim_prepared *out,
                  mh_error_t *err);

/* Opens the bundle dir and checks its config.json is a regular file (it is
 * replaced atomically; no symlink is followed); *mode is its permission bits. */
int shim_bundle_open (const char *dir, int *dirfd, mode_t *mode, mh_error_t *err);

#endif
