/* poststop: make sure the run ends with a verdict.  The watcher normally
 * wrote it already (it sees the main process exit before the runtime even
 * removes the cgroup): then this is one read.  Otherwise wait briefly for
 * it, and end the run here when the watcher is gone or stuck
 * (state/finish.c).  memhook-runtime run ends its own runs.  Then prune
 * old records. */
#include <errno.h>

#include "cleanup.h"
#include "events.h"
#include "finish.h"
#include "prune.h"
#include "stage.h"
#include "watch.h"

/* The watcher ends within milliseconds of the main process; this only
 * bounds a stuck one. */
#define WATCH_WAIT_MS 2000

int
stage_poststop (struct hook_ctx *ctx, mh_error_t *err)
{
  cleanup_close int cfd = -1;
  cleanup_json struct json *rec = NULL;
  cleanup_json struct json *event = NULL;
  int rc;
  bool done = false;
  size_t pruned = 0;

  if (ctx->state_dirfd < 0)
    return 0;
  if ((rc = hook_load_record (ctx, &cfd, &rec, err)) != 0)
    return rc < 0 ? rc : 0;
  if (rec == NULL)
    {
      hook_warning (ctx, "stage", "poststop",
                    "no record of this container: the createRuntime (or prestart) stage did not run; no verdict");
      return 0;
    }
  /* Some engines run poststop twice (the runtime, then the engine). */
  if (!run_finished (rec) && !run_exit_by_runtime (rec))
    {
      struct run_end end = { .state_dirfd = ctx->state_dirfd, .container_dirfd = cfd,
                             .metrics_dir = ctx->opts.metrics_dir };

      run_await_watcher (cfd, WATCH_WAIT_MS);
      event = event_new ("exit", ctx->state.id, &ctx->state.annotations);
      if (event == NULL)
        {
          mh_error_make (err, ENOMEM, "exit event");
          return hook_fault (ctx, err);
        }
      end.event = event;
      if (run_finish (&end, &done, err) < 0)
        return hook_fault (ctx, err);
    }
  if (records_prune_due (ctx->state_dirfd, PRUNE_INTERVAL_S)
      && records_prune (ctx->state_dirfd, ctx->state.id, PRUNE_MAX_RECORDS, PRUNE_MAX_AGE_S, &pruned, err) < 0)
    return hook_fault (ctx, err);
  return 0;
}
