/* watch.json: the watcher's evidence, and how poststop/poststart/inspect
 * read it back.  Also the process liveness checks they share. */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

#define WATCH_FILE_MAX (256 * 1024)

void
watch_report_add_victim (struct watch_report *r, const struct watch_victim *v)
{
  /* Keep the most recent: the last kills explain the end. */
  if (r->n_victims == WATCH_VICTIMS_MAX)
    {
      memmove (&r->victims[0], &r->victims[1], sizeof (r->victims[0]) * (WATCH_VICTIMS_MAX - 1));
      r->n_victims--;
    }
  r->victims[r->n_victims++] = *v;
}

static int
put (struct json *o, const char *key, struct json *v)
{
  return json_object_set (o, key, v, NULL);
}

static struct json *
victim_to_json (const struct watch_victim *v)
{
  struct json *o = json_new_object ();
  int rc = 0;

  if (o == NULL)
    return NULL;
  rc |= put (o, "pid", v->pid > 0 ? json_new_int (v->pid) : json_new_null ());
  rc |= put (o, "comm", v->comm[0] ? json_new_string (v->comm) : json_new_null ());
  rc |= put (o, "anon_rss", v->anon_rss >= 0 ? json_new_int (v->anon_rss) : json_new_null ());
  rc |= put (o, "main", json_new_bool (v->main));
  rc |= put (o, "time", json_new_string (v->time));
  if (rc < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}

struct json *
watch_report_to_json (const struct watch_report *r)
{
  struct json *o = json_new_object ();
  struct json *victims = json_new_array ();
  int rc = 0;

  if (o == NULL || victims == NULL)
    {
      json_free (o);
      json_free (victims);
      return NULL;
    }
  for (size_t i = 0; i < r->n_victims; i++)
    rc |= json_array_append (victims, victim_to_json (&r->victims[i]), NULL);
  rc |= put (o, "watcher_pid", json_new_int (r->watcher_pid));
  rc |= put (o, "watcher_start", json_new_uint (r->watcher_start));
  rc |= put (o, "main_pid", json_new_int (r->main_pid));
  rc |= put (o, "started", json_new_string (r->started));
  rc |= put (o, "kmsg", json_new_bool (r->kmsg));
  rc |= put (o, "kmsg_complete", json_new_bool (r->kmsg_complete));
  rc |= put (o, "oom_kills", json_new_int (r->oom_kills));
  rc |= put (o, "unattributed", json_new_int (r->unattributed));
  rc |= put (o, "main_oom_killed", json_new_bool (r->main_oom_killed));
  rc |= put (o, "main_exited", json_new_bool (r->main_exited));
  rc |= put (o, "cgroup_removed", json_new_bool (r->cgroup_removed));
  rc |= put (o, "victims", victims);
  rc |= put (o, "ended_cleanly", json_new_bool (r->ended_cleanly));
  rc |= put (o, "ended", r->ended[0] ? json_new_string (r->ended) : json_new_null ());
  if (rc < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}

int
watch_report_store (int container_dirfd, const struct watch_report *r, mh_error_t *err)
{
  cleanup_json struct json *j = watch_report_to_json (r);
  cleanup_free char *text = NULL;
  size_t len = 0;

  if (j == NULL)
    return mh_error_make (err, ENOMEM, "%s", WATCH_FILE);
  if (json_serialize_compact (j, &text, &len, err) < 0)
    return mh_error_wrap (err, "%s", WATCH_FILE);
  return write_file_replace (container_dirfd, WATCH_FILE, text, len, 0600, err);
}

/* Lenient getters (json_get_int64_or and these): watch.json is ours, but a damaged one must give
 * "no evidence", never a crash or a wrong value. */
static bool
get_bool (const struct json *o, const char *key)
{
  const struct json *v = json_get (o, key);
  return v != NULL && v->type == JSON_BOOL && v->u.boolean;
}

static void
get_str (const struct json *o, const char *key, char *buf, size_t len)
{
  const struct json *v = json_get (o, key);

  buf[0] = '\0';
  if (v != NULL && v->type == JSON_STRING)
    snprintf (buf, len, "%s", v->u.string.data);
}

int
watch_report_from_json (const struct json *j, struct watch_report *out, mh_error_t *err)
{
  const struct json *victims = json_get (j, "victims");
  const struct json *start = json_get (j, "watcher_start");

  memset (out, 0, sizeof (*out));
  if (j == NULL || j->type != JSON_OBJECT)
    return mh_error_make (err, 0, "%s: not a JSON object", WATCH_FILE);
  out->watcher_pid = (pid_t) json_get_int64_or (j, "watcher_pid", 0);
  out->main_pid = (pid_t) json_get_int64_or (j, "main_pid", 0);
  if (start != NULL && start->type == JSON_NUMBER)
    out->watcher_start = strtoull (start->u.number, NULL, 10);
  get_str (j, "started", out->started, sizeof (out->started));
  get_str (j, "ended", out->ended, sizeof (out->ended));
  out->kmsg = get_bool (j, "kmsg");
  out->kmsg_complete = get_bool (j, "kmsg_complete");
  out->oom_kills = json_get_int64_or (j, "oom_kills", 0);
  out->unattributed = json_get_int64_or (j, "unattributed", 0);
  out->main_oom_killed = get_bool (j, "main_oom_killed");
  out->main_exited = get_bool (j, "main_exited");
  out->cgroup_removed = get_bool (j, "cgroup_removed");
  out->ended_cleanly = get_bool (j, "ended_cleanly");
  if (out->watcher_pid <= 0)
    return mh_error_make (err, 0, "%s: no watcher_pid", WATCH_FILE);
  for (size_t i = 0; victims != NULL && victims->type == JSON_ARRAY && i < victims->u.array.len; i++)
    {
      const struct json *v = victims->u.array.items[i];
      struct watch_victim w = { 0 };
      w.pid = (pid_t) json_get_int64_or (v, "pid", 0);
      w.anon_rss = json_get_int64_or (v, "anon_rss", -1);
      w.main = get_bool (v, "main");
      get_str (v, "comm", w.comm, sizeof (w.comm));
      get_str (v, "time", w.time, sizeof (w.time));
      watch_report_add_victim (out, &w);
    }
  return 0;
}

int
watch_report_load (int container_dirfd, struct watch_report *out, bool *found, mh_error_t *err)
{
  cleanup_free char *text = NULL;
  cleanup_json struct json *j = NULL;
  size_t len = 0;

  *found = false;
  if (read_file_at (container_dirfd, WATCH_FILE, WATCH_FILE_MAX, &text, &len, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          mh_error_free (err);
          return 0;
        }
      return -1;
    }
  if (json_parse (text, len, WATCH_FILE, &j, err) < 0)
    return -1;
  if (watch_report_from_json (j, out, err) < 0)
    return -1;
  *found = true;
  return 0;
}

/* State (field 3) and start time (field 22) from /proc/<pid>/stat; the
 * comm in field 2 may hold spaces and ')' so fields count from the last ')'. */
static bool
proc_stat (pid_t pid, char *state, uint64_t *start)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;

  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  char *p = strrchr (buf, ')');
  if (p == NULL || p[1] != ' ')
    return false;
  p += 2;
  *state = *p;
  /* After ") " come fields 3, 4, …: skip to field 22. */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return false;
      p++;
    }
  *start = strtoull (p, NULL, 10);
  return true;
}

uint64_t
watch_process_start (pid_t pid)
{
  char state;
  uint64_t start;

  if (pid <= 0 || !proc_stat (pid, &state, &start))
    return 0;
  return start;
}

bool
watch_process_alive (pid_t pid, uint64_t start_ticks)
{
  char state;
  uint64_t start;

  if (pid <= 0 || !proc_stat (pid, &state, &start))
    return false;
  if (state == 'Z' || state == 'X' || state == 'x')
    return false;
  return start_ticks == 0 || start == start_ticks;
}
