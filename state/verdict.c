#include "verdict.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *const names[] = {
  [VERDICT_OOMKILLED] = "OOMKilled",
  [VERDICT_KILLED] = "Killed",
  [VERDICT_EXITED] = "Exited",
  [VERDICT_ENDED] = "Ended",
  [VERDICT_UNKNOWN] = "Unknown",
};

const char *
verdict_name (enum verdict v)
{
  if ((unsigned) v < sizeof (names) / sizeof (names[0]))
    return names[v];
  return "Unknown";
}

bool
verdict_from_name (const char *name, enum verdict *out)
{
  for (unsigned i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if (name != NULL && strcmp (name, names[i]) == 0)
      {
        *out = (enum verdict) i;
        return true;
      }
  return false;
}

static void
set (struct verdict_result *out, enum verdict v, const char *why)
{
  out->verdict = v;
  out->why = why;
}

/* A parent saw the status: it decides everything but an OOM kill, which
 * only the kernel's report can tell from any other SIGKILL. */
static void
decide_with_status (const struct verdict_evidence *e, struct verdict_result *out)
{
  int st = e->wait_status;

  if (WIFEXITED (st))
    {
      out->has_exit_code = true;
      out->exit_code = WEXITSTATUS (st);
      set (out, VERDICT_EXITED, "the main process exited");
      return;
    }
  if (!WIFSIGNALED (st))
    {
      set (out, VERDICT_UNKNOWN, "the exit status is neither an exit nor a signal");
      return;
    }
  out->has_exit_code = true;
  out->exit_code = 128 + WTERMSIG (st);
  out->signal = WTERMSIG (st);
  if (WTERMSIG (st) != SIGKILL)
    {
      set (out, VERDICT_EXITED, "the main process died of a signal");
      return;
    }
  /* SIGKILL: an OOM kill would have been named, unless the watcher's
   * evidence is incomplete. */
  if (!e->watch_found || !e->ended_cleanly)
    set (out, VERDICT_UNKNOWN, "SIGKILL, and the watcher's evidence is lost: OOM or not cannot be told");
  else if (e->unattributed > 0 && !e->log_complete)
    set (out, VERDICT_UNKNOWN, "SIGKILL, and an OOM kill had no named victim: OOM or not cannot be told");
  else
    set (out, VERDICT_KILLED, "SIGKILL from someone other than the OOM killer");
}

void
verdict_decide (const struct verdict_evidence *e, struct verdict_result *out)
{
  memset (out, 0, sizeof (*out));
  if (e->main_oom_killed)
    {
      /* The kernel's own report; it stands even if the watcher died later. */
      out->has_exit_code = true;
      out->exit_code = 128 + SIGKILL;
      out->signal = SIGKILL;
      if (e->status_known && !(WIFSIGNALED (e->wait_status) && WTERMSIG (e->wait_status) == SIGKILL))
        {
          /* Named as victim yet not dead of SIGKILL: the status wins, the
           * report stays in the record. */
          decide_with_status (e, out);
          return;
        }
      set (out, VERDICT_OOMKILLED, "the kernel's OOM killer named the main process");
      return;
    }
  if (e->status_known)
    {
      decide_with_status (e, out);
      return;
    }
  if (!e->watch_found)
    set (out, VERDICT_UNKNOWN, "no evidence: the watcher left no record");
  else if (!e->ended_cleanly)
    set (out, VERDICT_UNKNOWN, "the watcher was lost before the container ended");
  else if (!e->main_exited)
    set (out, VERDICT_UNKNOWN, "the watcher did not see the main process end");
  else if (e->unattributed > 0 && !e->log_complete)
    set (out, VERDICT_UNKNOWN, "an OOM kill had no named victim and the kernel's log was not read whole: "
                               "it may have been the main process");
  else
    set (out, VERDICT_ENDED, "the main process ended and was not OOM-killed; its status is not observable here");
}

int
verdict_to_json (const struct verdict_result *r, const struct verdict_evidence *e, struct json *obj,
                 mh_error_t *err)
{
  if (json_object_set (obj, "verdict", json_new_string (verdict_name (r->verdict)), err) < 0)
    return -1;
  if (r->has_exit_code && json_object_set (obj, "exit_code", json_new_int (r->exit_code), err) < 0)
    return -1;
  if (r->signal > 0)
    {
      char sig[32];
      const char *abbrev = sigabbrev_np (r->signal);
      if (abbrev != NULL)
        snprintf (sig, sizeof (sig), "SIG%s", abbrev);
      else
        snprintf (sig, sizeof (sig), "%d", r->signal);
      if (json_object_set (obj, "signal", json_new_string (sig), err) < 0)
        return -1;
    }
  if (json_object_set (obj, "oom_kills", json_new_int (e->oom_kills), err) < 0)
    return -1;
  return json_object_set (obj, "main_oom_killed", json_new_bool (e->main_oom_killed), err);
}
