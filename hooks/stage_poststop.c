/* poststop: make sure the run ends with a verdict.  The watcher normally
 * wrote it already (it sees the main process exit before the runtime even
 * removes the cgroup): then this is one read.  Otherwise wait briefly for
 * it, and end the run here when the watcher is gone or stuck
 * (state/finish.c).  memhook-runtime run ends its own runs.  Then prune
 * old records. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "finish.h"
#include "prune.h"
#include "record.h"
#include "stage.h"
#include "statedir.h"
#include "watch.h"

/* The watcher ends within milliseconds of the main process; this only
 * bounds a stuck one. */
#define WATCH_WAIT_MS 2000

static int64_t
elapsed_ms (const struct timespec *start)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Is the run still the watcher's to end?  Not once it has ended it, nor
 * when it is dead (a killed watcher writes nothing). */
static bool
watcher_owes_end (int cfd, pid_t watcher)
{
  cleanup_error mh_error_t e = NULL;
  cleanup_json struct json *rec = NULL;
  struct watch_report rep;
  bool found = false;

  if (record_load (cfd, &rec, &e) < 0 || rec == NULL || run_finished (rec))
    return false;
  if (watch_report_load (cfd, &rep, &found, &e) < 0 || (found && rep.watcher_pid != watcher))
    found = false;
  return watch_process_alive (watcher, found ? rep.watcher_start : 0);
}

/* Waits, on the record's atomic rename, while the watcher owes the end. */
static void
await_watcher (int cfd, pid_t watcher)
{
  cleanup_close int in = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  struct timespec start;
  char path[64];

  clock_gettime (CLOCK_MONOTONIC, &start);
  snprintf (path, sizeof (path), "/proc/self/fd/%d", cfd);
  if (in >= 0)
    inotify_add_watch (in, path, IN_MOVED_TO);
  while (watcher_owes_end (cfd, watcher) && elapsed_ms (&start) < WATCH_WAIT_MS)
    {
      /* The timeout re-checks liveness. */
      struct pollfd p = { .fd = in, .events = POLLIN };
      poll (&p, in >= 0 ? 1 : 0, 20);
      if (in >= 0)
        {
          char buf[4096] __attribute__ ((aligned (8)));
          while (read (in, buf, sizeof (buf)) > 0)
            ;
        }
    }
}

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
      pid_t watcher = (pid_t) json_get_int64_or (rec, "watcher_pid", 0);
      struct run_end end = { .state_dirfd = ctx->state_dirfd, .container_dirfd = cfd,
                             .metrics_dir = ctx->opts.metrics_dir };

      if (watcher > 0)
        await_watcher (cfd, watcher);
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
  if (records_prune (ctx->state_dirfd, ctx->state.id, PRUNE_MAX_RECORDS, PRUNE_MAX_AGE_S, &pruned, err) < 0)
    return hook_fault (ctx, err);
  return 0;
}
