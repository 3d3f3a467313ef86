/* poststop: the verdict.  The runtime has deleted the cgroup already, so
 * nothing here reads it: the evidence is what the watcher wrote in
 * watch.json.  Wait briefly for the watcher to finish writing, decide
 * (state/verdict.c), finish the record, append the `exit` event, refresh
 * the metrics, prune old records. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "metrics.h"
#include "prune.h"
#include "record.h"
#include "stage.h"
#include "statedir.h"
#include "verdict.h"
#include "watch.h"

/* The watcher ends within milliseconds of the cgroup's removal; this only
 * bounds a stuck one. */
#define WATCH_WAIT_MS 2000

static int64_t
elapsed_ms (const struct timespec *start)
{
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* watch.json of this run (same watcher, same main pid), once the watcher
 * says it is done or cannot say more (dead, or out of time). */
static void
await_watcher (int cfd, pid_t watcher, pid_t main_pid, struct watch_report *rep, bool *found)
{
  cleanup_close int in = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  struct timespec start;
  char path[64];

  clock_gettime (CLOCK_MONOTONIC, &start);
  snprintf (path, sizeof (path), "/proc/self/fd/%d", cfd);
  if (in >= 0)
    inotify_add_watch (in, path, IN_MOVED_TO | IN_CLOSE_WRITE);
  for (;;)
    {
      cleanup_error mh_error_t e = NULL;
      bool alive;

      *found = false;
      if (watch_report_load (cfd, rep, found, &e) == 0 && *found
          && (rep->watcher_pid != watcher || (main_pid > 0 && rep->main_pid != main_pid)))
        *found = false; /* a previous run's file */
      if (*found && rep->ended_cleanly)
        return;
      alive = watch_process_alive (watcher, *found ? rep->watcher_start : 0);
      if (!alive || elapsed_ms (&start) >= WATCH_WAIT_MS)
        {
          /* It may have finished between the read and the check. */
          if (!alive && watch_report_load (cfd, rep, found, &e) == 0 && *found && rep->watcher_pid != watcher)
            *found = false;
          return;
        }
      /* Wake on the atomic rename; the timeout re-checks liveness (a
       * killed watcher writes nothing). */
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

static struct json *
victims_json (const struct watch_report *rep)
{
  cleanup_json struct json *w = watch_report_to_json (rep);
  const struct json *v = json_get (w, "victims");

  return v ? json_copy (v) : json_new_array ();
}

static int
finish_record (struct json *rec, const struct verdict_result *r, const struct verdict_evidence *e,
               const struct watch_report *rep, bool found, mh_error_t *err)
{
  char now[40];

  /* A previous poststop of this run (some engines call it twice) left its
   * fields: the new decision replaces them whole. */
  json_object_remove (rec, "exit_code");
  json_object_remove (rec, "signal");
  if (verdict_to_json (r, e, rec, err) < 0)
    return -1;
  if (json_object_set (rec, "status", json_new_string ("stopped"), err) < 0
      || json_object_set (rec, "ended", json_new_string (events_time_now (now, sizeof (now))), err) < 0
      || json_object_set (rec, "verdict_reason", json_new_string (r->why), err) < 0
      || json_object_set (rec, "unattributed_kills", json_new_int (e->unattributed), err) < 0
      || json_object_set (rec, "victims", found ? victims_json (rep) : json_new_array (), err) < 0
      || json_object_set (rec, "watcher_ended_cleanly", json_new_bool (found && rep->ended_cleanly), err) < 0)
    return -1;
  return 0;
}

static int
exit_event (struct hook_ctx *ctx, const struct verdict_result *r, const struct verdict_evidence *e,
            const struct watch_report *rep, bool found, mh_error_t *err)
{
  cleanup_json struct json *ev = event_new ("exit", ctx->state.id, &ctx->state.annotations);

  if (ev == NULL)
    return mh_error_make (err, ENOMEM, "exit event");
  if (verdict_to_json (r, e, ev, err) < 0
      || json_object_set (ev, "reason", json_new_string (r->why), err) < 0
      || json_object_set (ev, "victims", found ? victims_json (rep) : json_new_array (), err) < 0)
    return -1;
  return events_append (ctx->state_dirfd, ev, err);
}

int
stage_poststop (struct hook_ctx *ctx, mh_error_t *err)
{
  cleanup_close int cfd = -1;
  cleanup_json struct json *rec = NULL;
  int rc;
  struct watch_report rep;
  struct verdict_evidence ev = { 0 };
  struct verdict_result r;
  bool found = false;
  size_t pruned = 0;

  memset (&rep, 0, sizeof (rep));
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

  /* Some engines run poststop twice (the runtime, then the engine): one
   * verdict and one exit event per run. */
  const struct json *status = json_get (rec, "status");
  const struct json *verdict = json_get (rec, "verdict");
  if (status != NULL && status->type == JSON_STRING && strcmp (status->u.string.data, "stopped") == 0
      && verdict != NULL && verdict->type == JSON_STRING)
    return 0;

  pid_t watcher = (pid_t) json_get_int64_or (rec, "watcher_pid", 0);
  if (watcher > 0)
    await_watcher (cfd, watcher, (pid_t) json_get_int64_or (rec, "pid", 0), &rep, &found);
  ev.watch_found = found;
  ev.ended_cleanly = found && rep.ended_cleanly;
  ev.main_exited = found && rep.main_exited;
  ev.main_oom_killed = found && rep.main_oom_killed;
  ev.oom_kills = found ? rep.oom_kills : 0;
  ev.unattributed = found ? rep.unattributed : 0;
  ev.log_complete = found && rep.kmsg_complete;
  verdict_decide (&ev, &r);

  if (finish_record (rec, &r, &ev, &rep, found, err) < 0 || record_store (cfd, rec, err) < 0)
    return hook_fault (ctx, err);
  if (exit_event (ctx, &r, &ev, &rep, found, err) < 0)
    return hook_fault (ctx, err);
  if (ctx->opts.metrics_dir != NULL && metrics_write (ctx->state_dirfd, ctx->opts.metrics_dir, err) < 0)
    return hook_fault (ctx, err);
  if (records_prune (ctx->state_dirfd, ctx->state.id, PRUNE_MAX_RECORDS, PRUNE_MAX_AGE_S, &pruned, err) < 0)
    return hook_fault (ctx, err);
  return 0;
}
