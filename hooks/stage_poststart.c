/* poststart: the container runs; is its OOM watcher still there?  A dead
 * one means the verdict will be Unknown: say so now, while someone may
 * still act (a `warning` event with stage "poststart", stderr, syslog). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "finish.h"
#include "record.h"
#include "stage.h"
#include "statedir.h"
#include "watch.h"

int
stage_poststart (struct hook_ctx *ctx, mh_error_t *err)
{
  cleanup_close int cfd = -1;
  cleanup_json struct json *rec = NULL;
  int rc;
  struct watch_report rep;
  bool found = false;
  char msg[512];
  pid_t watcher;

  if (ctx->state_dirfd < 0)
    return 0;
  if ((rc = hook_load_record (ctx, &cfd, &rec, err)) != 0)
    return rc < 0 ? rc : 0;
  if (rec == NULL)
    {
      hook_warning (ctx, "stage", "poststart",
                    "no record of this container: the createRuntime (or prestart) stage did not run; "
                    "register memhook for createRuntime");
      return 0;
    }
  watcher = (pid_t) json_get_int64_or (rec, "watcher_pid", 0);
  if (watcher <= 0)
    {
      hook_warning (ctx, "stage", "poststart",
                    "no OOM watcher runs for this container (it could not start at create; see the warning "
                    "then): OOM kills go unrecorded and the verdict will be Unknown");
      return 0;
    }
  if (run_watcher_alive (rec, cfd, &rep, &found))
    return 0;
  if (found && rep.ended_cleanly)
    return 0; /* the container was over before poststart ran */
  snprintf (msg, sizeof (msg),
            "the OOM watcher (pid %d) is not running: OOM kills of this container go unrecorded and its "
            "verdict will be Unknown; look for a killed memhook-watch process",
            (int) watcher);
  hook_warning (ctx, "stage", "poststart", msg);
  return 0;
}
