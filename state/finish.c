#include "finish.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "metrics.h"
#include "record.h"

static bool
string_is (const struct json *rec, const char *key, const char *want)
{
  const struct json *v = json_get (rec, key);

  return v != NULL && v->type == JSON_STRING && strcmp (v->u.string.data, want) == 0;
}

bool
run_finished (const struct json *rec)
{
  const struct json *v = json_get (rec, "verdict");

  return string_is (rec, "status", "stopped") && v != NULL && v->type == JSON_STRING;
}

bool
run_exit_by_runtime (const struct json *rec)
{
  return string_is (rec, RECORD_EXIT_BY, RECORD_EXIT_BY_RUNTIME);
}

/* This run's watch.json: a previous run's file says nothing about this one.
 * *rep is zeroed when there is none. */
static bool
load_run_report (const struct json *rec, int container_dirfd, struct watch_report *rep)
{
  cleanup_error mh_error_t err = NULL;
  pid_t watcher = (pid_t) json_get_int64_or (rec, "watcher_pid", 0);
  pid_t main_pid = (pid_t) json_get_int64_or (rec, "pid", 0);
  bool found = false;

  if (watcher > 0 && watch_report_load (container_dirfd, rep, &found, &err) == 0 && found
      && (rep->watcher_pid != watcher || (main_pid > 0 && rep->main_pid != main_pid)))
    found = false;
  if (!found)
    memset (rep, 0, sizeof (*rep));
  return found;
}

void
run_evidence (const struct json *rec, int container_dirfd, struct verdict_evidence *ev, struct watch_report *rep)
{
  ev->watch_found = load_run_report (rec, container_dirfd, rep);
  ev->ended_cleanly = rep->ended_cleanly;
  ev->main_exited = rep->main_exited;
  ev->main_oom_killed = rep->main_oom_killed;
  ev->oom_kills = rep->oom_kills;
  ev->unattributed = rep->unattributed;
  ev->log_complete = rep->kmsg_complete;
}

bool
run_watcher_alive (const struct json *rec, int container_dirfd, struct watch_report *rep, bool *found)
{
  pid_t watcher = (pid_t) json_get_int64_or (rec, "watcher_pid", 0);

  *found = load_run_report (rec, container_dirfd, rep);
  if (watcher <= 0)
    return false;
  if (!*found)
    rep->watcher_pid = watcher;
  return watch_process_alive (watcher, *found ? rep->watcher_start : 0);
}

/* Has the watcher of this record more to say? */
static bool
watcher_pending (int cfd)
{
  cleanup_error mh_error_t e = NULL;
  cleanup_json struct json *rec = NULL;
  struct watch_report rep;
  bool found = false;

  if (record_load (cfd, &rec, &e) < 0 || rec == NULL || run_finished (rec))
    return false;
  /* A killed watcher writes nothing more. */
  return run_watcher_alive (rec, cfd, &rep, &found) && !(found && rep.ended_cleanly);
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
run_await_watcher (int container_dirfd, int timeout_ms)
{
  cleanup_close int in = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  int64_t until = now_ms () + timeout_ms;
  char path[64];

  /* Both files are renamed into place: wake on that, and re-check
   * liveness on a short timeout. */
  snprintf (path, sizeof (path), "/proc/self/fd/%d", container_dirfd);
  if (in >= 0)
    inotify_add_watch (in, path, IN_MOVED_TO);
  while (watcher_pending (container_dirfd) && now_ms () < until)
    {
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
               const struct watch_report *rep, mh_error_t *err)
{
  char now[40];

  /* Fields of an earlier decision are replaced whole. */
  json_object_remove (rec, "exit_code");
  json_object_remove (rec, "signal");
  if (verdict_to_json (r, e, rec, err) < 0)
    return -1;
  if (json_object_set (rec, "status", json_new_string ("stopped"), err) < 0
      || json_object_set (rec, "ended", json_new_string (events_time_now (now, sizeof (now))), err) < 0
      || json_object_set (rec, "verdict_reason", json_new_string (r->why), err) < 0
      || json_object_set (rec, "unattributed_kills", json_new_int (e->unattributed), err) < 0
      || json_object_set (rec, "victims", victims_json (rep), err) < 0
      || json_object_set (rec, "watcher_ended_cleanly", json_new_bool (e->ended_cleanly), err) < 0)
    return -1;
  return 0;
}

static int
finish_locked (const struct run_end *end, bool *done, mh_error_t *err)
{
  cleanup_json struct json *rec = NULL;
  struct verdict_evidence ev = { .status_known = end->status_known, .wait_status = end->wait_status };
  struct verdict_result r;
  struct watch_report rep;

  if (record_load (end->container_dirfd, &rec, err) < 0)
    return -1;
  if (rec == NULL || run_finished (rec))
    return 0;
  if (end->watcher > 0 && json_get_int64_or (rec, "watcher_pid", 0) != end->watcher)
    return 0;
  run_evidence (rec, end->container_dirfd, &ev, &rep);
  verdict_decide (&ev, &r);
  if (finish_record (rec, &r, &ev, &rep, err) < 0 || record_store (end->container_dirfd, rec, err) < 0)
    return -1;
  *done = true;
  if (verdict_to_json (&r, &ev, end->event, err) < 0
      || json_object_set (end->event, "reason", json_new_string (r.why), err) < 0
      || json_object_set (end->event, "victims", victims_json (&rep), err) < 0
      || events_append (end->state_dirfd, end->event, err) < 0)
    return -1;
  if (end->metrics_dir != NULL && metrics_write (end->state_dirfd, end->metrics_dir, err) < 0)
    return -1;
  return 0;
}

int
run_finish (const struct run_end *end, bool *done, mh_error_t *err)
{
  int rc;

  *done = false;
  /* The watcher, poststop and memhook-runtime may come at once. */
  while (flock (end->container_dirfd, LOCK_EX) < 0)
    if (errno != EINTR)
      return mh_error_make (err, errno, "lock the container's state folder");
  rc = finish_locked (end, done, err);
  flock (end->container_dirfd, LOCK_UN);
  return rc;
}
