/* `run` under a restart policy: memhook-runtime stays the container's
 * parent instead of exec'ing the runtime (SPEC.md, io.memhook.restart). */
#ifndef MEMHOOK_SHIM_SUPERVISE_H
#define MEMHOOK_SHIM_SUPERVISE_H

#include <stdbool.h>

#include "args.h"
#include "config.h"
#include "error.h"
#include "options.h"
#include "policy.h"

/* Grace between `kill ID TERM` and `kill ID KILL` on a stop. */
#define SHIM_STOP_GRACE_MS 10000
/* How long to wait for the watcher's last word after a run. */
#define SHIM_RECORD_WAIT_MS 2000

/* The restart policy from the config's annotations, or from process.env
 * where an annotation is absent (oci_restart_sources); a malformed value
 * is an error naming its annotation or variable (on create and run alike). */
int shim_restart_policy (const struct oci_config *config, struct restart_policy *out, mh_error_t *err);

/* Whether this call supervises: `run` in the foreground with a policy
 * other than "no" (a detached run goes to process mode instead). */
bool shim_supervises (const struct shim_args *args, const struct restart_policy *policy);

/* Runs `runtime run` (argv as given) as a child, again and again as the
 * policy says, and returns the exit code of the last run (1 when the
 * first run could not even start).  SIGTERM/SIGINT stop the container
 * (`runtime kill ID TERM`, KILL after SHIM_STOP_GRACE_MS) and end restarts. */
int shim_supervise_run (const struct shim_args *args, const struct options *opts, const char *runtime,
                        char **argv, const struct restart_policy *policy);

#endif
