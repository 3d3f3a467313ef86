/* memhook inspect ID [--json] [--state-dir DIR]: the container's live
 * memory (usage, limit, peak, swap, OOM counters: from its cgroup while it
 * exists) beside what memhook recorded (last verdict, victims, history). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgfile.h"
#include "cleanup.h"
#include "commands.h"
#include "mode.h"
#include "oom.h"
#include "options.h"
#include "path.h"
#include "finish.h"
#include "record.h"
#include "state.h"
#include "statedir.h"
#include "timeline.h"
#include "watch.h"

/* Live values; -2 = the file does not exist here, -1 = unlimited. */
struct live
{
  bool present;
  int version;
  int64_t usage, limit, peak, swap, swap_limit;
  struct cg_oom_counters oom;
};

#define ABSENT (-2)

static void
usage (FILE *out)
{
  fputs ("usage: memhook inspect ID [--json] [--state-dir DIR]\n", out);
}

static const char *
rec_str (const struct json *o, const char *key)
{
  const struct json *v = json_get (o, key);
  return v != NULL && v->type == JSON_STRING ? v->u.string.data : NULL;
}

static bool
rec_int (const struct json *o, const char *key, int64_t *out)
{
  const struct json *v = json_get (o, key);
  cleanup_error mh_error_t e = NULL;
  return v != NULL && v->type == JSON_NUMBER && json_number_int64 (v, key, out, &e) == 0;
}

static int64_t
read_or_absent (int fd, const char *file)
{
  cleanup_error mh_error_t e = NULL;
  int64_t v;

  if (cg_read_i64 (fd, file, &v, &e) < 0)
    return ABSENT;
  return v;
}

/* The cgroup named in the record, opened without leaving the memory
 * root; gone once the container is deleted. */
static void
read_live (const struct json *rec, struct live *l)
{
  struct cg_host host = { 0 };
  cleanup_error mh_error_t e = NULL;
  cleanup_close int fd = -1;
  const char *cgroup = rec_str (rec, "cgroup");
  int64_t version = 0;

  memset (l, 0, sizeof (*l));
  if (cgroup == NULL || !rec_int (rec, "version", &version))
    return;
  if (cg_host_detect ("/sys/fs/cgroup", &host, &e) < 0 || (int64_t) host.memory_version != version
      || cg_open_dir (&host, cgroup, &fd, &e) < 0)
    {
      cg_host_free (&host);
      return;
    }
  cg_host_free (&host);
  l->version = (int) version;
  if (version == 1)
    {
      int64_t memsw = read_or_absent (fd, "memory.memsw.usage_in_bytes");
      l->usage = read_or_absent (fd, "memory.usage_in_bytes");
      l->limit = read_or_absent (fd, "memory.limit_in_bytes");
      l->peak = read_or_absent (fd, "memory.max_usage_in_bytes");
      l->swap = memsw >= 0 && l->usage >= 0 ? memsw - l->usage : ABSENT;
      l->swap_limit = read_or_absent (fd, "memory.memsw.limit_in_bytes");
    }
  else
    {
      l->usage = read_or_absent (fd, "memory.current");
      l->limit = read_or_absent (fd, "memory.max");
      l->peak = read_or_absent (fd, "memory.peak");
      l->swap = read_or_absent (fd, "memory.swap.current");
      l->swap_limit = read_or_absent (fd, "memory.swap.max");
    }
  if (l->usage == ABSENT)
    return; /* removed between open and read */
  if (cg_oom_read (fd, (enum cg_version) version, &l->oom, &e) < 0)
    l->oom.oom_kill = l->oom.oom = ABSENT;
  l->present = true;
}

static struct json *
i64_or_null (int64_t v)
{
  return v == ABSENT ? json_new_null () : json_new_int (v);
}

static struct json *
live_json (const struct live *l)
{
  struct json *o;
  int rc = 0;

  if (!l->present)
    return json_new_null ();
  o = json_new_object ();
  if (o == NULL)
    return NULL;
  rc |= json_object_set (o, "usage", i64_or_null (l->usage), NULL);
  rc |= json_object_set (o, "limit", i64_or_null (l->limit), NULL);
  rc |= json_object_set (o, "peak", i64_or_null (l->peak), NULL);
  rc |= json_object_set (o, "swap", i64_or_null (l->swap), NULL);
  rc |= json_object_set (o, "swap_limit", i64_or_null (l->swap_limit), NULL);
  rc |= json_object_set (o, "oom_kill", i64_or_null (l->oom.oom_kill), NULL);
  if (l->version == 2)
    rc |= json_object_set (o, "oom", i64_or_null (l->oom.oom), NULL);
  else
    rc |= json_object_set (o, "under_oom", json_new_bool (l->oom.under_oom), NULL);
  if (rc < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}

static const char *
size_or (int64_t v, char *buf, size_t len)
{
  if (v == ABSENT)
    return "not available here";
  return timeline_size (v, buf, len);
}

static void
print_victims (const struct json *victims)
{
  for (size_t i = 0; victims != NULL && victims->type == JSON_ARRAY && i < victims->u.array.len; i++)
    {
      const struct json *v = victims->u.array.items[i];
      const char *comm = rec_str (v, "comm");
      int64_t pid, anon;
      char sz[32];

      printf ("%-12s", i == 0 ? "victims" : "");
      if (rec_int (v, "pid", &pid))
        printf ("pid %" PRId64 " %s", pid, comm ? comm : "?");
      else
        printf ("not named by the kernel's log");
      if (rec_int (v, "anon_rss", &anon))
        printf (", %s anon", timeline_size (anon, sz, sizeof (sz)));
      const struct json *m = json_get (v, "main");
      if (m != NULL && m->type == JSON_BOOL && m->u.boolean)
        printf (" (the main process)");
      putchar ('\n');
    }
}

static void
print_verdict (const struct json *o, const char *label)
{
  const char *verdict = rec_str (o, "verdict");
  const char *sig = rec_str (o, "signal");
  const char *reason = rec_str (o, "verdict_reason");
  const char *ended = rec_str (o, "ended");
  int64_t code, kills;

  printf ("%-12s%s", label, verdict ? verdict : "none yet (running, or poststop did not run)");
  if (verdict != NULL && rec_int (o, "exit_code", &code))
    printf (", exit %" PRId64, code);
  if (verdict != NULL && sig != NULL)
    printf (", %s", sig);
  if (verdict != NULL && rec_int (o, "oom_kills", &kills))
    printf (", %" PRId64 " OOM kill%s", kills, kills == 1 ? "" : "s");
  if (ended != NULL)
    printf (" at %s", ended);
  putchar ('\n');
  if (reason != NULL)
    printf ("%-12s%s\n", "", reason);
}

static void
print_human (const char *id, const struct json *rec, const struct live *l, const struct watch_report *rep,
             bool rep_found, bool watcher_alive)
{
  const struct json *history = json_get (rec, "history");
  const char *cgroup = rec_str (rec, "cgroup");
  int64_t version = 0, limit, base = 0;
  char a[32], b[32];

  rec_int (rec, "version", &version);
  printf ("%-12s%s\n", "container", id);
  printf ("%-12s%s (cgroup v%" PRId64 ")\n", "cgroup", cgroup ? cgroup : "?", version);
  if (rep->watcher_pid > 0)
    printf ("%-12spid %d, %s\n", "watcher", (int) rep->watcher_pid,
            watcher_alive ? "running" : rep->ended_cleanly ? "finished" : "gone without finishing (evidence lost)");
  if (l->present)
    {
      printf ("%-12s%s\n", "usage", size_or (l->usage, a, sizeof (a)));
      printf ("%-12s%s\n", "limit", size_or (l->limit, a, sizeof (a)));
      printf ("%-12s%s\n", "peak", size_or (l->peak, a, sizeof (a)));
      printf ("%-12s%s (limit %s%s)\n", "swap", size_or (l->swap, a, sizeof (a)), size_or (l->swap_limit, b, sizeof (b)),
              l->version == 1 ? ", memory+swap" : "");
      rec_int (json_get (rec, "baseline"), "oom_kill", &base);
      printf ("%-12s%" PRId64 " in this run (counter %" PRId64 ", %" PRId64 " at create)\n", "oom kills",
              l->oom.oom_kill - base, l->oom.oom_kill, base);
    }
  else
    {
      printf ("%-12sits cgroup is gone (the container was deleted): no live values\n", "live");
      if (rec_int (rec, "limit", &limit))
        printf ("%-12s%s (as applied)\n", "limit", timeline_size (limit, a, sizeof (a)));
      if (rep_found && rec_str (rec, "verdict") == NULL)
        printf ("%-12s%" PRId64 " seen by the watcher\n", "oom kills", rep->oom_kills);
    }
  print_verdict (rec, "verdict");
  print_victims (json_get (rec, "victims"));
  for (size_t i = 0; history != NULL && history->type == JSON_ARRAY && i < history->u.array.len; i++)
    print_verdict (history->u.array.items[i], i == 0 ? "history" : "");
}

int
cmd_inspect (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "json", no_argument, NULL, 'j' }, { "state-dir", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
  };
  struct options_cli cli = { 0 };
  struct options opts = { 0 };
  cleanup_error mh_error_t err = NULL;
  cleanup_close int sfd = -1, cfd = -1;
  cleanup_json struct json *rec = NULL;
  struct watch_report rep;
  struct live live;
  bool json = false, found = false, alive = false;
  const char *id;
  char text[2048];
  int c, status = 1;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'j': json = true; break;
      case 's': cli.state_dir = optarg; break;
      case 'h': usage (stdout); return 0;
      case ':':
        fprintf (stderr, "memhook: inspect: %s needs a value\n", argv[optind - 1]);
        return 2;
      default:
        fprintf (stderr, "memhook: inspect: unknown option '%s'\n", argv[optind - 1]);
        usage (stderr);
        return 2;
      }
  if (argc - optind != 1)
    {
      usage (stderr);
      return 2;
    }
  id = argv[optind];
  if (oci_id_check (id, &err) < 0)
    {
      fprintf (stderr, "memhook: inspect: %s\n", mh_error_text (err, text, sizeof (text)));
      return 2;
    }
  if (options_resolve (&cli, NULL, &opts, &err) < 0 || statedir_open (opts.state_dir, false, &sfd, &err) < 0)
    {
      fprintf (stderr, "memhook: inspect: %s\n", mh_error_text (err, text, sizeof (text)));
      goto out;
    }
  if (statedir_open_container (sfd, id, false, &cfd, &err) < 0 || record_load (cfd, &rec, &err) < 0 || rec == NULL)
    {
      if (err != NULL && err->errnum != ENOENT)
        fprintf (stderr, "memhook: inspect: %s: %s\n", id, mh_error_text (err, text, sizeof (text)));
      else
        fprintf (stderr, "memhook: inspect: %s: no record in %s; is the hook registered with this --state-dir?\n",
                 id, opts.state_dir);
      goto out;
    }
  mh_error_free (&err);
  alive = run_watcher_alive (rec, cfd, &rep, &found);
  read_live (rec, &live);
  if (json)
    {
      cleanup_json struct json *o = json_new_object ();
      cleanup_free char *out = NULL;
      size_t len = 0;
      if (o == NULL || json_object_set (o, "id", json_new_string (id), NULL) < 0
          || json_object_set (o, "live", live_json (&live), NULL) < 0
          || json_object_set (o, "watcher_alive", json_new_bool (alive), NULL) < 0
          || json_object_set (o, "watch", found ? watch_report_to_json (&rep) : json_new_null (), NULL) < 0
          || json_object_set (o, "record", json_copy (rec), NULL) < 0 || json_serialize (o, &out, &len, &err) < 0)
        {
          fprintf (stderr, "memhook: inspect: out of memory\n");
          goto out;
        }
      fwrite (out, 1, len, stdout);
      putchar ('\n');
    }
  else
    print_human (id, rec, &live, &rep, found, alive);
  status = 0;
out:
  options_free (&opts);
  return status;
}
