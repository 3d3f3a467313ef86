#include "timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
timeline_size (int64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = (double) bytes;
  int u = -1;

  if (bytes < 0)
    {
      snprintf (buf, len, "unlimited");
      return buf;
    }
  if (bytes < 1024)
    {
      snprintf (buf, len, "%" PRId64 " %s", bytes, bytes == 1 ? "byte" : "bytes");
      return buf;
    }
  while (v >= 1024 && u < 4)
    {
      v /= 1024;
      u++;
    }
  /* One decimal, none when it would be ".0". */
  int tenths = (int) (v * 10 + 0.5);
  if (tenths % 10 == 0)
    snprintf (buf, len, "%d %s", tenths / 10, units[u]);
  else
    snprintf (buf, len, "%d.%d %s", tenths / 10, tenths % 10, units[u]);
  return buf;
}

/* ---- reading fields leniently: an odd line is shown, never fatal ---- */

static const char *
str (const struct json *o, const char *key)
{
  const struct json *v = json_get (o, key);
  return v != NULL && v->type == JSON_STRING ? v->u.string.data : NULL;
}

static bool
num (const struct json *o, const char *key, int64_t *out)
{
  const struct json *v = json_get (o, key);
  char *end;

  if (v == NULL || v->type != JSON_NUMBER)
    return false;
  errno = 0;
  long long x = strtoll (v->u.number, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = x;
  return true;
}

static bool
flag (const struct json *o, const char *key)
{
  const struct json *v = json_get (o, key);
  return v != NULL && v->type == JSON_BOOL && v->u.boolean;
}

/* ---- per event ---- */

static void
victim_text (FILE *f, const struct json *v)
{
  int64_t pid, anon;
  const char *comm = str (v, "comm");
  char sz[32];

  fprintf (f, "%s", comm ? comm : "(unnamed)");
  if (num (v, "pid", &pid))
    fprintf (f, ", pid %" PRId64, pid);
  if (num (v, "anon_rss", &anon))
    fprintf (f, ", %s anon", timeline_size (anon, sz, sizeof (sz)));
}

static void
fmt_oom_kill (FILE *f, const struct json *e)
{
  int64_t pid, anon, limit, kills;
  const char *comm = str (e, "comm");
  char sz[32];

  if (num (e, "pid", &pid))
    fprintf (f, "pid %" PRId64 " (%s)", pid, comm ? comm : "?");
  else
    fputs ("victim not named by the kernel's log", f);
  if (num (e, "anon_rss", &anon))
    fprintf (f, " anon %s", timeline_size (anon, sz, sizeof (sz)));
  if (num (e, "limit", &limit))
    fprintf (f, ", limit %s", timeline_size (limit, sz, sizeof (sz)));
  if (flag (e, "main"))
    fputs (", the main process", f);
  if (num (e, "oom_kills", &kills) && kills > 1)
    fprintf (f, " (kill %" PRId64 " of this run)", kills);
}

/* "; one child OOM-killed: stress, pid 12, 64 MiB anon" */
static void
child_kills (FILE *f, const struct json *e)
{
  const struct json *victims = json_get (e, "victims");
  const struct json *last = NULL;
  int64_t kills = 0;

  if (!num (e, "oom_kills", &kills) || kills <= 0)
    return;
  if (victims != NULL && victims->type == JSON_ARRAY)
    for (size_t i = victims->u.array.len; i-- > 0 && last == NULL;)
      if (!flag (victims->u.array.items[i], "main"))
        last = victims->u.array.items[i];
  if (kills == 1)
    fputs ("; one child OOM-killed", f);
  else
    fprintf (f, "; %" PRId64 " children OOM-killed", kills);
  if (last != NULL)
    {
      fputs (kills == 1 ? ": " : ", last: ", f);
      victim_text (f, last);
    }
}

static void
fmt_exit (FILE *f, const struct json *e)
{
  const char *verdict = str (e, "verdict");
  const char *reason = str (e, "reason");
  const char *sig = str (e, "signal");
  int64_t code;

  if (verdict == NULL)
    verdict = "?";
  if (strcmp (verdict, "OOMKilled") == 0)
    {
      const struct json *victims = json_get (e, "victims");
      fputs ("OOMKilled: the kernel's OOM killer killed the main process", f);
      for (size_t i = 0; victims != NULL && victims->type == JSON_ARRAY && i < victims->u.array.len; i++)
        if (flag (victims->u.array.items[i], "main"))
          {
            fputs (" (", f);
            victim_text (f, victims->u.array.items[i]);
            fputs (")", f);
            break;
          }
      return;
    }
  if (strcmp (verdict, "Exited") == 0)
    {
      if (sig != NULL)
        fprintf (f, "exited: died of %s", sig);
      else if (num (e, "exit_code", &code))
        fprintf (f, "exited %" PRId64, code);
      else
        fputs ("exited", f);
      child_kills (f, e);
      return;
    }
  if (strcmp (verdict, "Killed") == 0)
    {
      fprintf (f, "killed by %s, not by the OOM killer", sig ? sig : "SIGKILL");
      child_kills (f, e);
      return;
    }
  if (strcmp (verdict, "Ended") == 0)
    {
      fputs ("ended, not OOM-killed (exit status not observable by a hook)", f);
      child_kills (f, e);
      return;
    }
  fprintf (f, "%s", verdict);
  if (reason != NULL)
    fprintf (f, ": %s", reason);
  child_kills (f, e);
}

static void
fmt_apply (FILE *f, const struct json *e)
{
  const struct json *plan = json_get (e, "plan");
  const char *cgroup = str (e, "cgroup");
  int64_t version = 0;

  num (e, "version", &version);
  fprintf (f, "%s (v%" PRId64 ")", cgroup ? cgroup : "?", version);
  if (plan == NULL || plan->type != JSON_ARRAY || plan->u.array.len == 0)
    {
      fputs (": nothing to write", f);
      return;
    }
  for (size_t i = 0; i < plan->u.array.len; i++)
    {
      const struct json *s = plan->u.array.items[i];
      const char *file = str (s, "file"), *value = str (s, "value");
      char sz[32];
      fprintf (f, "%s%s=%s", i == 0 ? ": " : ", ", file ? file : "?", value ? value : "?");
      /* Byte values also for people: "=67108864 (64 MiB)". */
      if (value != NULL && strlen (value) >= 4 && strspn (value, "0123456789") == strlen (value) && strlen (value) < 19)
        fprintf (f, " (%s)", timeline_size (strtoll (value, NULL, 10), sz, sizeof (sz)));
    }
}

static void
fmt_warning (FILE *f, const struct json *e)
{
  const char *where = str (e, "field");
  const char *msg = str (e, "message");

  if (where == NULL)
    where = str (e, "stage");
  if (where != NULL)
    fprintf (f, "%s: ", where);
  fputs (msg ? msg : "", f);
}

static void
fmt_restart (FILE *f, const struct json *e)
{
  int64_t attempt = 0, delay = 0, limit;
  const char *mode = str (e, "mode");
  char sz[32];

  num (e, "attempt", &attempt);
  num (e, "delay_ms", &delay);
  fprintf (f, "attempt %" PRId64 " after %" PRId64 " ms", attempt, delay);
  if (num (e, "limit", &limit))
    fprintf (f, ", limit %s", timeline_size (limit, sz, sizeof (sz)));
  if (mode != NULL)
    fprintf (f, " (%s mode)", mode);
}

static int
fmt_other (FILE *f, const struct json *e, mh_error_t *err)
{
  static const char *const common[] = { "v", "time", "id", "event", "name", "pod", "namespace" };
  struct json *rest = json_copy (e);
  char *text = NULL;
  size_t len = 0;

  if (rest == NULL)
    return mh_error_make (err, ENOMEM, "event");
  for (size_t i = 0; i < sizeof (common) / sizeof (common[0]); i++)
    json_object_remove (rest, common[i]);
  int rc = json_serialize_compact (rest, &text, &len, err);
  json_free (rest);
  if (rc < 0)
    return -1;
  fputs (text, f);
  free (text);
  return 0;
}

int
timeline_format (const struct json *e, char **out, mh_error_t *err)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *f;
  const char *time = str (e, "time"), *id = str (e, "id"), *event = str (e, "event"), *name = str (e, "name");
  int rc = 0;

  if (e == NULL || e->type != JSON_OBJECT)
    return mh_error_make (err, 0, "event: not a JSON object");
  f = open_memstream (&buf, &size);
  if (f == NULL)
    return mh_error_make (err, errno, "event");
  /* "2026-11-23T09:30:00.123Z" → "2026-11-23 09:30:00.123Z" */
  if (time != NULL && strlen (time) > 10 && time[10] == 'T')
    fprintf (f, "%.10s %s", time, time + 11);
  else
    fputs (time ? time : "-", f);
  fprintf (f, "  %s", id ? id : "-");
  if (name != NULL)
    fprintf (f, " (%s)", name);
  fprintf (f, "  %s  ", event ? event : "-");
  if (event == NULL)
    rc = fmt_other (f, e, err);
  else if (strcmp (event, "oom_kill") == 0)
    fmt_oom_kill (f, e);
  else if (strcmp (event, "exit") == 0)
    fmt_exit (f, e);
  else if (strcmp (event, "apply") == 0)
    fmt_apply (f, e);
  else if (strcmp (event, "warning") == 0)
    fmt_warning (f, e);
  else if (strcmp (event, "restart") == 0)
    fmt_restart (f, e);
  else
    rc = fmt_other (f, e, err);
  if (fclose (f) != 0 && rc == 0)
    rc = mh_error_make (err, ENOMEM, "event");
  if (rc < 0)
    {
      free (buf);
      return -1;
    }
  *out = buf;
  return 0;
}
