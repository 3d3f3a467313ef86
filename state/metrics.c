#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "prune.h"
#include "record.h"
#include "watch.h"

/* Label values escape backslash, double quote and newline (text format 0.0.4). */
static void
put_label (FILE *f, const char *s)
{
  for (; *s; s++)
    {
      if (*s == '\\' || *s == '"')
        fprintf (f, "\\%c", *s);
      else if (*s == '\n')
        fputs ("\\n", f);
      else
        fputc (*s, f);
    }
}

static void
family (FILE *f, const char *name, const char *type, const char *help)
{
  fprintf (f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int
metrics_render (const struct metrics_row *rows, size_t n, char **out, size_t *len, mh_error_t *err)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&buf, &size);

  if (f == NULL)
    return mh_error_make (err, errno, "metrics");
  family (f, "memhook_container_memory_limit_bytes", "gauge",
          "Memory limit the container's cgroup holds after memhook applied and verified it (+Inf: unlimited).");
  for (size_t i = 0; i < n; i++)
    {
      if (rows[i].limit == INT64_MIN)
        continue;
      fputs ("memhook_container_memory_limit_bytes{id=\"", f);
      put_label (f, rows[i].id);
      if (rows[i].limit < 0)
        fputs ("\"} +Inf\n", f);
      else
        fprintf (f, "\"} %" PRId64 "\n", rows[i].limit);
    }
  family (f, "memhook_container_oom_kills_total", "counter", "OOM kills in the container's current or last run.");
  for (size_t i = 0; i < n; i++)
    {
      if (rows[i].oom_kills < 0)
        continue;
      fputs ("memhook_container_oom_kills_total{id=\"", f);
      put_label (f, rows[i].id);
      fprintf (f, "\"} %" PRId64 "\n", rows[i].oom_kills);
    }
  family (f, "memhook_container_last_verdict", "gauge",
          "1 for the verdict on the container's last exit (OOMKilled, Killed, Exited, Ended, Unknown).");
  for (size_t i = 0; i < n; i++)
    {
      if (rows[i].verdict == NULL)
        continue;
      fputs ("memhook_container_last_verdict{id=\"", f);
      put_label (f, rows[i].id);
      fputs ("\",verdict=\"", f);
      put_label (f, rows[i].verdict);
      fputs ("\"} 1\n", f);
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return mh_error_make (err, ENOMEM, "metrics");
    }
  *out = buf;
  *len = size;
  return 0;
}

/* One container's row; strings point into *rec. */
static bool
load_row (int state_dirfd, const char *id, struct json **rec, struct metrics_row *row)
{
  cleanup_close int cfd = openat (state_dirfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_error mh_error_t e = NULL;
  const struct json *v;

  if (cfd < 0 || record_load (cfd, rec, &e) < 0 || *rec == NULL)
    return false;
  row->id = id;
  row->limit = json_get_int64_or (*rec, "limit", INT64_MIN);
  row->oom_kills = json_get_int64_or (*rec, "oom_kills", -1);
  v = json_get (*rec, "verdict");
  row->verdict = v != NULL && v->type == JSON_STRING ? v->u.string.data : NULL;
  if (row->oom_kills < 0)
    {
      /* Running: the watcher's count so far. */
      struct watch_report rep;
      bool found = false;
      if (watch_report_load (cfd, &rep, &found, &e) == 0 && found)
        row->oom_kills = rep.oom_kills;
      else
        row->oom_kills = 0;
    }
  return true;
}

int
metrics_write (int state_dirfd, const char *metrics_dir, mh_error_t *err)
{
  struct record_entry *list = NULL;
  size_t n = 0, used = 0;
  struct metrics_row *rows = NULL;
  struct json **recs = NULL;
  cleanup_free char *text = NULL;
  cleanup_close int mfd = -1;
  size_t len = 0;
  int rc = -1;

  mfd = open (metrics_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0)
    return mh_error_make (err, errno, "--metrics-dir %s", metrics_dir);
  /* Scan and write under one lock: a later writer's scan sees an earlier
   * writer's record, so the last file written is never staler. */
  while (flock (mfd, LOCK_EX) < 0)
    if (errno != EINTR)
      return mh_error_make (err, errno, "lock %s", metrics_dir);
  if (records_list (state_dirfd, &list, &n, err) < 0)
    return -1;
  rows = calloc (n ? n : 1, sizeof (*rows));
  recs = calloc (n ? n : 1, sizeof (*recs));
  if (rows == NULL || recs == NULL)
    {
      mh_error_make (err, ENOMEM, "metrics");
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    if (load_row (state_dirfd, list[i].id, &recs[used], &rows[used]))
      used++;
  if (metrics_render (rows, used, &text, &len, err) < 0)
    goto out;
  rc = write_file_replace (mfd, METRICS_FILE, text, len, 0644, err);
  if (rc < 0)
    mh_error_wrap (err, "%s/%s", metrics_dir, METRICS_FILE);
out:
  for (size_t i = 0; recs != NULL && i < n; i++)
    json_free (recs[i]);
  free (recs);
  free (rows);
  records_list_free (list, n);
  return rc;
}
