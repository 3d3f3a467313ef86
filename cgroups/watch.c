/* The OOM watcher: one small process per container, asleep in epoll_wait
 * until the kernel has something to say.
 *
 * It holds what the hook opened for it before the container ran (watch.h,
 * WATCH_FD_*): the cgroup dir; v1: an eventfd registered through
 * cgroup.event_control on memory.oom_control (it also fires when the
 * cgroup is removed: cgroup.event_control then no longer exists, conmon's
 * test); a pidfd on the main process; /dev/kmsg positioned at its end.
 * v2: its own inotify on memory.events and cgroup.events.  No
 * timer runs while nothing happens; /dev/kmsg is read only after an OOM
 * notification, with a short bounded wait because the kernel's "Killed
 * process" line can trail the counter.
 *
 * It ends by itself once the main process is gone and the cgroup is empty
 * or removed, writing watch.json with ended_cleanly, and ends the run with
 * its verdict (state/finish.c) unless memhook-runtime run does that. */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgfile.h"
#include "cleanup.h"
#include "events.h"
#include "finish.h"
#include "oom.h"
#include "path.h"
#include "statedir.h"
#include "watch_grow.h"

/* How long the kernel's kill line may trail the counter, and how long a
 * v1 notification (sent before the kill) may precede the kill. */
#define KMSG_TRAIL_MS 100
#define V1_NOTIFY_WAIT_MS 250
#define KMSG_BATCH 32
#define KMSG_STEP_US 250
#define WATCH_NICE 10

enum source
{
  SRC_NOTIFY = 1,
  SRC_PIDFD = 2,
  SRC_RECORDS = 3,
};

/* memhook-init's records in process mode (shim/inject_init.h): written
 * inside the container, so untrusted; only restart lines are forwarded. */
#define INIT_RECORDS_FILE "init-records.jsonl"
#define INIT_RECORD_MAX 1024
#define INIT_RECORDS_READ_MAX (1024 * 1024)

struct watcher
{
  /* From the command line. */
  const char *state_dir;
  const char *id;
  const char *memcg; /* relative to the controller's root, as the kernel prints it */
  const char *name, *pod, *ns;
  const char *metrics_dir;
  bool exit_by_runtime;
  struct restart_policy grow; /* --grow: process mode's io.memhook.oom.grow */
  enum cg_version version;
  pid_t main_pid;
  int64_t limit;
  int64_t baseline;
  bool bench;
  /* Held open. */
  int cgfd, statefd, cdirfd, epfd, notifyfd, ocfd, pidfd, kmsgfd;
  int recfd, recnotifyfd; /* init-records.jsonl, -1 when not in process mode */
  off_t recoff;           /* how far it was forwarded */
  /* What it saw. */
  struct kmsg_match match;
  struct watch_report rep;
  int64_t counter; /* last oom_kill value read, -1 unknown */
  bool cgroup_gone;
  bool dirty;
  int64_t read_at; /* when the last kmsg record was read (bench mode's "read_us") */
  char kbuf[8192];
};

static int64_t
mono_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An event for this container with the names the hook passed on (the
 * watcher holds no annotations, only these three). */
static struct json *
watch_event_new (const struct watcher *w, const char *event)
{
  struct json *e = event_new (event, w->id, NULL);
  int rc = 0;

  if (e == NULL)
    return NULL;
  if (w->name)
    rc |= json_object_set (e, "name", json_new_string (w->name), NULL);
  if (w->pod)
    rc |= json_object_set (e, "pod", json_new_string (w->pod), NULL);
  if (w->ns)
    rc |= json_object_set (e, "namespace", json_new_string (w->ns), NULL);
  if (rc < 0)
    {
      json_free (e);
      return NULL;
    }
  return e;
}

/* ---- arguments ---- */

static int
parse_i64 (const char *s, const char *what, int64_t *out, mh_error_t *err)
{
  char *end;

  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno != 0 || *s == '\0' || *end != '\0')
    return mh_error_make (err, 0, "%s: not a number: %s", what, s);
  *out = v;
  return 0;
}

static int
parse_args (struct watcher *w, int argc, char **argv, mh_error_t *err)
{
  int64_t v;

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      const char *val = i + 1 < argc ? argv[i + 1] : NULL;

      if (strcmp (a, "--bench") == 0 || strcmp (a, "--exit-by-runtime") == 0)
        {
          w->bench |= strcmp (a, "--bench") == 0;
          w->exit_by_runtime |= strcmp (a, "--exit-by-runtime") == 0;
          continue;
        }
      if (val == NULL)
        return mh_error_make (err, 0, "%s: missing value", a);
      i++;
      if (strcmp (a, "--state-dir") == 0)
        w->state_dir = val;
      else if (strcmp (a, "--id") == 0)
        w->id = val;
      else if (strcmp (a, "--memcg") == 0)
        w->memcg = val;
      else if (strcmp (a, "--name") == 0)
        w->name = val;
      else if (strcmp (a, "--pod") == 0)
        w->pod = val;
      else if (strcmp (a, "--namespace") == 0)
        w->ns = val;
      else if (strcmp (a, "--metrics-dir") == 0)
        w->metrics_dir = val;
      else if (strcmp (a, "--grow") == 0)
        {
          if (restart_parse_grow (val, &w->grow, err) < 0)
            return -1;
        }
      else if (strcmp (a, "--cgroup-version") == 0)
        {
          if (parse_i64 (val, a, &v, err) < 0)
            return -1;
          if (v != 1 && v != 2)
            return mh_error_make (err, 0, "%s: 1 or 2, not %s", a, val);
          w->version = (enum cg_version) v;
        }
      else if (strcmp (a, "--pid") == 0)
        {
          if (parse_i64 (val, a, &v, err) < 0)
            return -1;
          if (v <= 0 || v > 0x3fffffff)
            return mh_error_make (err, 0, "%s: not a pid: %s", a, val);
          w->main_pid = (pid_t) v;
        }
      else if (strcmp (a, "--limit") == 0)
        {
          if (parse_i64 (val, a, &w->limit, err) < 0)
            return -1;
        }
      else if (strcmp (a, "--baseline") == 0)
        {
          if (parse_i64 (val, a, &w->baseline, err) < 0)
            return -1;
        }
      else
        return mh_error_make (err, 0, "unknown argument %s", a);
    }
  if (w->state_dir == NULL || w->id == NULL || w->memcg == NULL || w->main_pid == 0 || w->version == 0)
    return mh_error_make (err, 0, "needs --state-dir, --id, --memcg, --cgroup-version and --pid "
                          "(the watcher is started by 'memhook hook createRuntime', not by hand)");
  return 0;
}

/* ---- what the cgroup says ---- */

static bool
read_counter (struct watcher *w, int64_t *out)
{
  struct cg_oom_counters c;
  cleanup_error mh_error_t err = NULL;

  if (w->cgroup_gone || cg_oom_read (w->cgfd, w->version, &c, &err) < 0)
    return false;
  *out = c.oom_kill;
  return true;
}

static int64_t
stat_value (const char *text, const char *key, const char *fallback)
{
  bool found = false;
  int64_t v = 0;

  if (text != NULL && cg_keyed_get (text, key, &found, &v) == 0 && found)
    return v;
  if (fallback != NULL && text != NULL && cg_keyed_get (text, fallback, &found, &v) == 0 && found)
    return v;
  return -1;
}

static struct json *
int_or_null (int64_t v)
{
  return v >= 0 ? json_new_int (v) : json_new_null ();
}

/* memory.stat at this moment: v1 has hierarchical total_* keys (the
 * container may have sub-cgroups), v2's keys are hierarchical already and
 * swap lives in memory.swap.current. */
static struct json *
stat_snapshot (struct watcher *w)
{
  cleanup_free char *text = NULL;
  cleanup_error mh_error_t err = NULL;
  struct json *o = json_new_object ();
  int64_t anon, file, shmem, swap = -1;
  int rc = 0;

  if (o == NULL)
    return NULL;
  if (cg_read_text (w->cgfd, "memory.stat", &text, &err) < 0)
    text = NULL;
  if (w->version == CG_V1)
    {
      anon = stat_value (text, "total_rss", "rss");
      file = stat_value (text, "total_cache", "cache");
      shmem = stat_value (text, "total_shmem", "shmem");
      swap = stat_value (text, "total_swap", "swap");
    }
  else
    {
      anon = stat_value (text, "anon", NULL);
      file = stat_value (text, "file", NULL);
      shmem = stat_value (text, "shmem", NULL);
      if (cg_read_i64 (w->cgfd, "memory.swap.current", &swap, &err) < 0)
        swap = -1;
    }
  rc |= json_object_set (o, "anon", int_or_null (anon), NULL);
  rc |= json_object_set (o, "file", int_or_null (file), NULL);
  rc |= json_object_set (o, "shmem", int_or_null (shmem), NULL);
  rc |= json_object_set (o, "swap", int_or_null (swap), NULL);
  if (rc < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}

static int64_t
current_limit (struct watcher *w)
{
  cleanup_error mh_error_t err = NULL;
  int64_t v;

  if (!w->cgroup_gone && cg_read_i64 (w->cgfd, w->version == CG_V1 ? "memory.limit_in_bytes" : "memory.max", &v, &err) == 0)
    return v;
  return w->limit;
}

/* ---- reporting ---- */

static void
save (struct watcher *w)
{
  cleanup_error mh_error_t err = NULL;

  /* Nobody to tell about a failure: poststop finds the file stale or
   * missing and says Unknown, which is the truth. */
  if (watch_report_store (w->cdirfd, &w->rep, &err) == 0)
    w->dirty = false;
}

static void
emit_event (struct watcher *w, const struct kmsg_victim *v, bool main)
{
  cleanup_error mh_error_t err = NULL;
  cleanup_json struct json *e = watch_event_new (w, "oom_kill");
  int rc = 0;

  if (e == NULL)
    return;
  rc |= json_object_set (e, "pid", v ? json_new_int (v->pid) : json_new_null (), NULL);
  rc |= json_object_set (e, "comm", v ? json_new_string (v->comm) : json_new_null (), NULL);
  rc |= json_object_set (e, "anon_rss", int_or_null (v ? v->anon_rss : -1), NULL);
  rc |= json_object_set (e, "limit", json_new_int (current_limit (w)), NULL);
  rc |= json_object_set (e, "oom_kills", json_new_int (w->rep.oom_kills), NULL);
  rc |= json_object_set (e, "main", json_new_bool (main), NULL);
  rc |= json_object_set (e, "stat", stat_snapshot (w), NULL);
  if (rc < 0)
    return;
  /* Bench mode only: from the kernel's timestamp of the kill line (its
   * clock, local_clock) to the moment the event is ready to be appended,
   * and to the moment the line was read. */
  if (w->bench && v != NULL)
    {
      json_object_set (e, "lat_us", json_new_int (mono_us () - (int64_t) v->ts_us), NULL);
      json_object_set (e, "read_us", json_new_int (w->read_at - (int64_t) v->ts_us), NULL);
    }
  events_append (w->statefd, e, &err);
}

/* The last number on the line of /proc/<pid>/status that starts with key
 * (a zombie's entry is still there); 0 when gone or unreadable. */
static pid_t
status_pid (pid_t pid, const char *key)
{
  char path[64], line[256];
  cleanup_file FILE *f = NULL;
  size_t klen = strlen (key);
  long last = 0;

  snprintf (path, sizeof (path), "/proc/%d/status", (int) pid);
  f = fopen (path, "re");
  while (f != NULL && fgets (line, sizeof (line), f) != NULL)
    {
      char *p = line + klen, *end;
      if (strncmp (line, key, klen) != 0)
        continue;
      for (;;)
        {
          long v = strtol (p, &end, 10);
          if (end == p)
            break;
          last = v;
          p = end;
        }
      break;
    }
  return last > 0 && last <= INT_MAX ? (pid_t) last : 0;
}

/* The pid inside the container's pid namespace: NSpid's last field (the
 * victim is a zombie memhook-init holds). */
static pid_t
ns_pid (pid_t pid)
{
  return status_pid (pid, "NSpid:");
}

/* Process mode (issue 8): memhook-init cannot tell an OOM kill from
 * kill -9; when the container has a verdict dir, answer it there with the
 * victim's pid as memhook-init knows it, in one write(2). */
static void
answer_init (struct watcher *w, pid_t host_pid)
{
  cleanup_close int dfd = -1;
  cleanup_close int fd = -1;
  char line[48];
  pid_t nspid;
  int n;

  if (host_pid <= 0 || w->cdirfd < 0)
    return;
  dfd = openat (w->cdirfd, "verdicts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return;
  nspid = ns_pid (host_pid);
  if (nspid <= 0)
    return;
  fd = openat (dfd, "oom_kills", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  n = snprintf (line, sizeof (line), "oom_kill %d\n", (int) nspid);
  if (write (fd, line, (size_t) n) < 0)
    return; /* no answer means Killed to memhook-init: nothing else to do */
}

/* The container's main process: its init, or in process mode (memhook-init
 * is the init) the workload, memhook-init's child.  memhook-init holds the
 * victim unreaped until it has the answer, so its parent is still known. */
static bool
is_main (struct watcher *w, pid_t pid)
{
  if (pid == w->main_pid)
    return true;
  return w->recfd >= 0 && pid > 0 && status_pid (pid, "PPid:") == w->main_pid;
}

static void
record_kill (struct watcher *w, const struct kmsg_victim *v)
{
  struct watch_victim wv = { .anon_rss = -1 };
  bool main = v != NULL && is_main (w, v->pid);

  w->rep.oom_kills++;
  if (v != NULL)
    {
      wv.pid = v->pid;
      snprintf (wv.comm, sizeof (wv.comm), "%s", v->comm);
      wv.anon_rss = v->anon_rss;
    }
  else
    w->rep.unattributed++;
  wv.main = main;
  if (main)
    w->rep.main_oom_killed = true;
  if (v != NULL && v->pid != w->main_pid)
    answer_init (w, v->pid);
  events_time_now (wv.time, sizeof (wv.time));
  watch_report_add_victim (&w->rep, &wv);
  w->dirty = true;
  emit_event (w, v, main);
}

/* A kill line that came after we had counted its kill as unattributed:
 * the name is added to the evidence, the count stays. */
static void
claim_late (struct watcher *w, const struct kmsg_victim *v)
{
  struct watch_victim wv = { .pid = v->pid, .anon_rss = v->anon_rss, .main = is_main (w, v->pid) };

  w->rep.unattributed--;
  if (v->pid != w->main_pid)
    answer_init (w, v->pid);
  snprintf (wv.comm, sizeof (wv.comm), "%s", v->comm);
  events_time_now (wv.time, sizeof (wv.time));
  watch_report_add_victim (&w->rep, &wv);
  if (wv.main)
    w->rep.main_oom_killed = true;
  w->dirty = true;
}

/* The processes in the cgroup when an OOM notification arrived (v1: before
 * the kill, so the victim is among them; v2: just after).  A kill line
 * whose summary the kernel rate-limited away is ours when it names one of
 * them, or when the process is still there to say it is in our cgroup. */
struct procs_snapshot
{
  size_t n;
  pid_t pids[512];
};

static bool
snapshot_has (const struct procs_snapshot *s, pid_t pid)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->pids[i] == pid)
      return true;
  return false;
}

/* Adds the cgroup's current processes: taken again on every round of the
 * wait, so a process forked and killed while we wait is in it too. */
static void
snapshot_procs (struct watcher *w, struct procs_snapshot *s)
{
  cleanup_free char *text = NULL;
  cleanup_error mh_error_t err = NULL;

  if (w->cgroup_gone || cg_read_text (w->cgfd, "cgroup.procs", &text, &err) < 0)
    return;
  for (char *p = text; *p && s->n < sizeof (s->pids) / sizeof (s->pids[0]);)
    {
      char *end;
      long v = strtol (p, &end, 10);
      if (end == p)
        break;
      if (v > 0 && !snapshot_has (s, (pid_t) v))
        s->pids[s->n++] = (pid_t) v;
      p = end;
    }
}

static bool
pid_ours (struct watcher *w, const struct procs_snapshot *s, pid_t pid)
{
  cleanup_free char *path = NULL;
  cleanup_error mh_error_t err = NULL;

  if (snapshot_has (s, pid))
    return true;
  if (cg_path_of_pid (pid, w->version, &path, &err) < 0)
    return false;
  return kmsg_memcg_under (path, strlen (path), w->memcg);
}

/* Reads every record there is now; returns how many victims were ours. */
static size_t
drain_kmsg (struct watcher *w, const struct procs_snapshot *snap, struct kmsg_victim *out, size_t max)
{
  cleanup_error mh_error_t err = NULL;
  struct kmsg_record rec;
  size_t n = 0;

  if (w->kmsgfd < 0)
    return 0;
  bool lost = false;

  while (n < max && kmsg_read (w->kmsgfd, w->kbuf, sizeof (w->kbuf), &rec, &lost, &err) > 0)
    {
      w->read_at = mono_us ();
      switch (kmsg_match_feed (&w->match, &rec, &out[n]))
        {
        case KMSG_OURS:
          n++;
          break;
        case KMSG_UNATTRIBUTED:
          if (pid_ours (w, snap, out[n].pid))
            n++;
          break;
        default:
          break;
        }
    }
  if (lost)
    w->rep.kmsg_complete = false;
  return n;
}

/* After an OOM notification: name every kill the counter shows, waiting
 * briefly for the kernel's lines; a kill still unnamed after that is
 * recorded as unattributed, never guessed. */
static void
check_oom (struct watcher *w, bool expect_kill)
{
  int64_t deadline = mono_us () + (expect_kill ? V1_NOTIFY_WAIT_MS : KMSG_TRAIL_MS) * 1000;
  int64_t start_kills = w->rep.oom_kills, start_counter = w->counter;
  int64_t counter = -1, missing = 0;
  bool have = read_counter (w, &counter);

  /* Only a rise (or a v1 notification, which comes before the rise, or
   * the cgroup's removal) is worth reading the kernel log for. */
  if (!expect_kill && have && counter == w->counter && counter - w->baseline <= w->rep.oom_kills)
    return;
  struct procs_snapshot snapshot = { .n = 0 };
  const struct procs_snapshot *snap = &snapshot;
  for (;;)
    {
      struct kmsg_victim v[KMSG_BATCH];
      snapshot_procs (w, &snapshot);
      size_t n = drain_kmsg (w, snap, v, KMSG_BATCH);

      /* The counter rises before the kernel prints the kill line: read it
       * after the lines, so every line read is already counted. */
      have = read_counter (w, &counter);
      for (size_t i = 0; i < n; i++)
        {
          if (have && w->rep.unattributed > 0 && counter - w->baseline <= w->rep.oom_kills)
            claim_late (w, &v[i]);
          else
            record_kill (w, &v[i]);
        }
      if (n == KMSG_BATCH)
        continue;
      missing = have ? counter - w->baseline - w->rep.oom_kills : 0;
      bool progressed = w->rep.oom_kills > start_kills || (have && counter > start_counter);
      if (missing <= 0 && !(expect_kill && !progressed))
        break;
      if (mono_us () >= deadline)
        break;
      /* The kernel stores records at once but defers waking /dev/kmsg's
       * readers until the OOM report is out (measured: ~5 ms here), so
       * look again every KMSG_STEP_US rather than only on POLLIN; this
       * runs only within the bounded window after an OOM notification. */
      struct pollfd p = { .fd = w->kmsgfd, .events = POLLIN };
      struct timespec step = { .tv_sec = 0, .tv_nsec = KMSG_STEP_US * 1000 };
      ppoll (&p, w->kmsgfd >= 0 ? 1 : 0, &step, NULL);
    }
  for (; have && missing > 0; missing--)
    record_kill (w, NULL);
  if (have)
    w->counter = counter;
}

/* ---- the end ---- */

static bool
cgroup_empty (struct watcher *w)
{
  cleanup_free char *text = NULL;
  cleanup_error mh_error_t err = NULL;

  if (w->cgroup_gone)
    return true;
  if (w->version == CG_V1)
    {
      if (cg_read_text (w->cgfd, "cgroup.procs", &text, &err) < 0)
        return err->errnum == ENOENT || err->errnum == ENODEV;
      return text[strspn (text, " \n")] == '\0';
    }
  bool found = false;
  int64_t populated = 1;
  if (cg_read_text (w->cgfd, "cgroup.events", &text, &err) < 0)
    return err->errnum == ENOENT || err->errnum == ENODEV;
  if (cg_keyed_get (text, "populated", &found, &populated) < 0 || !found)
    return false;
  return populated == 0;
}

static bool
cgroup_removed (struct watcher *w)
{
  if (w->version == CG_V1)
    return faccessat (w->cgfd, "cgroup.event_control", F_OK, 0) < 0 && errno == ENOENT;
  return faccessat (w->cgfd, "cgroup.events", F_OK, 0) < 0 && errno == ENOENT;
}

static void
drain_fd (int fd)
{
  char buf[4096] __attribute__ ((aligned (8)));

  while (read (fd, buf, sizeof (buf)) > 0)
    ;
}

static void
on_notify (struct watcher *w)
{
  drain_fd (w->notifyfd);
  if (cgroup_removed (w))
    {
      w->cgroup_gone = true;
      w->rep.cgroup_removed = true;
      w->dirty = true;
      /* The kill lines may still be unread; the counter is gone with the cgroup. */
      check_oom (w, false);
      return;
    }
  /* v1 notifies before the OOM killer picks its victim. */
  check_oom (w, w->version == CG_V1);
}

static void
on_main_exit (struct watcher *w)
{
  epoll_ctl (w->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
  close (w->pidfd);
  w->pidfd = -1;
  /* A kill of the main process counts before it can exit, while v2's
   * inotify is delivered from a work queue: look now. */
  check_oom (w, false);
  w->rep.main_exited = true;
  w->dirty = true;
}

/* ---- setup ---- */

static int
watch_v2 (struct watcher *w, mh_error_t *err)
{
  static const char *const files[] = { "memory.events", "cgroup.events" };

  w->notifyfd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (w->notifyfd < 0)
    return mh_error_make (err, errno, "inotify_init1");
  for (size_t i = 0; i < 2; i++)
    {
      char path[64];
      snprintf (path, sizeof (path), "/proc/self/fd/%d/%s", w->cgfd, files[i]);
      if (inotify_add_watch (w->notifyfd, path, IN_MODIFY) < 0)
        return mh_error_make (err, errno, "watch %s", files[i]);
    }
  return 0;
}

static int
add_epoll (struct watcher *w, int fd, enum source src, mh_error_t *err)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

  if (epoll_ctl (w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    return mh_error_make (err, errno, "epoll_ctl");
  return 0;
}

static void open_records (struct watcher *w);

/* An inherited fd, or -1 when the hook left its slot closed. */
static int
inherited (int fd)
{
  return fcntl (fd, F_GETFD) < 0 ? -1 : fd;
}

static int
setup (struct watcher *w, mh_error_t *err)
{
  w->cgfd = WATCH_FD_CGROUP;
  if (inherited (w->cgfd) < 0)
    return mh_error_make (err, EBADF, "no cgroup directory on fd %d (the watcher is started by "
                          "'memhook hook createRuntime', not by hand)", WATCH_FD_CGROUP);
  if (statedir_open (w->state_dir, false, &w->statefd, err) < 0)
    return -1;
  if (statedir_open_container (w->statefd, w->id, true, &w->cdirfd, err) < 0)
    return -1;
  w->kmsgfd = inherited (WATCH_FD_KMSG);
  w->rep.kmsg = w->kmsgfd >= 0;
  w->rep.kmsg_complete = w->rep.kmsg;
  w->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (w->epfd < 0)
    return mh_error_make (err, errno, "epoll_create1");
  if (w->version == CG_V1)
    {
      w->notifyfd = inherited (WATCH_FD_NOTIFY);
      w->ocfd = inherited (WATCH_FD_OOM_CONTROL);
      if (w->notifyfd < 0)
        return mh_error_make (err, EBADF, "no OOM eventfd on fd %d", WATCH_FD_NOTIFY);
    }
  else if (watch_v2 (w, err) < 0)
    return -1;
  if (add_epoll (w, w->notifyfd, SRC_NOTIFY, err) < 0)
    return -1;
  w->pidfd = inherited (WATCH_FD_PIDFD);
  if (w->pidfd < 0)
    w->rep.main_exited = true;
  else if (add_epoll (w, w->pidfd, SRC_PIDFD, err) < 0)
    return -1;
  open_records (w);
  /* Kills between the hook's baseline and now are caught up on below. */
  w->counter = w->baseline;
  w->match.memcg = w->memcg;
  w->match.main_pid = w->main_pid;
  w->rep.watcher_pid = getpid ();
  w->rep.watcher_start = watch_process_start (w->rep.watcher_pid);
  w->rep.main_pid = w->main_pid;
  events_time_now (w->rep.started, sizeof (w->rep.started));
  /* watch.json is first written when there is something to say (a kill,
   * the end): a file written now would compete with the container's start
   * and say nothing that the record's watcher_pid does not. */
  return 0;
}

/* What is left to do needs no privilege: the state dir and the files the
 * watcher writes are its euid's, the cgroup files are open or world-readable. */
static void
drop_privileges (void)
{
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2];

  memset (d, 0, sizeof (d));
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  syscall (SYS_capset, &h, d);
}

/* Nobody waits for the watcher to start: a failure is told where the
 * operator looks, and poststart and the Unknown verdict say the rest. */
static void
tell_failure (struct watcher *w, mh_error_t err)
{
  cleanup_error mh_error_t e = NULL;
  char text[900], msg[1024];

  snprintf (msg, sizeof (msg), "the OOM watcher could not start: %s", mh_error_text (err, text, sizeof (text)));
  if (w->statefd >= 0)
    events_warning (w->statefd, w->id, NULL, "stage", "watch", msg, &e);
}

/* The verdict, unless memhook-runtime run gives it with the exit status. */
static void
end_run (struct watcher *w)
{
  cleanup_error mh_error_t err = NULL;
  cleanup_json struct json *e = NULL;
  struct run_end end = { .state_dirfd = w->statefd, .container_dirfd = w->cdirfd,
                         .watcher = getpid (), .metrics_dir = w->metrics_dir };
  bool done = false;

  if (w->exit_by_runtime)
    return;
  e = watch_event_new (w, "exit");
  end.event = e;
  if (e != NULL)
    run_finish (&end, &done, &err);
}

/* After the workload's OOM kill, before memhook-init's backoff is over. */
static void
grow_limit (struct watcher *w)
{
  cleanup_error mh_error_t err = NULL;
  int64_t limit;

  if (!w->grow.grow || w->cgroup_gone)
    return;
  if (watch_grow (w->cgfd, w->version, &w->grow, &limit, &err) < 0)
    {
      char text[512], msg[640];
      snprintf (msg, sizeof (msg), "io.memhook.oom.grow: cannot raise the limit: %s",
                mh_error_text (err, text, sizeof (text)));
      cleanup_error mh_error_t e = NULL;
      events_warning (w->statefd, w->id, NULL, "field", RESTART_GROW_ANNOTATION, msg, &e);
    }
}

/* One record line: a restart event when it is a well-formed one
 * ({"event":"restart","mode":"process",attempt,delay_ms,after}). */
static void
forward_record (struct watcher *w, const char *line, size_t len)
{
  cleanup_error mh_error_t err = NULL;
  cleanup_json struct json *rec = NULL;
  cleanup_json struct json *e = NULL;
  const char *ev = NULL, *mode = NULL, *after = NULL;
  int64_t attempt = -1, delay = -1;
  bool present = false;
  int rc = 0;

  if (json_parse (line, len, INIT_RECORDS_FILE, &rec, &err) < 0 || rec->type != JSON_OBJECT)
    return;
  if (json_get_string (rec, "event", "event", &ev, &err) < 0 || ev == NULL || strcmp (ev, "restart") != 0
      || json_get_string (rec, "mode", "mode", &mode, &err) < 0 || mode == NULL || strcmp (mode, "process") != 0
      || json_get_string (rec, "after", "after", &after, &err) < 0 || after == NULL
      || json_get_int64 (rec, "attempt", "attempt", &present, &attempt, &err) < 0 || attempt < 1
      || json_get_int64 (rec, "delay_ms", "delay_ms", &present, &delay, &err) < 0 || delay < 0)
    return;
  if (strcmp (after, "OOMKilled") != 0 && strcmp (after, "Killed") != 0 && strcmp (after, "Exited") != 0)
    return;
  /* The workload runs again: its next end is what the verdict is about. */
  w->rep.main_oom_killed = false;
  w->dirty = true;
  if (strcmp (after, "OOMKilled") == 0)
    grow_limit (w);
  e = watch_event_new (w, "restart");
  if (e == NULL)
    return;
  rc |= json_object_set (e, "mode", json_new_string ("process"), NULL);
  rc |= json_object_set (e, "attempt", json_new_int (attempt), NULL);
  rc |= json_object_set (e, "delay_ms", json_new_int (delay), NULL);
  rc |= json_object_set (e, "after", json_new_string (after), NULL);
  rc |= json_object_set (e, "limit", json_new_int (current_limit (w)), NULL);
  if (rc == 0)
    events_append (w->statefd, e, &err);
}

/* Forwards the complete lines appended since the last call. */
static void
forward_records (struct watcher *w)
{
  char buf[INIT_RECORD_MAX + 1];
  char drain[256];

  if (w->recfd < 0)
    return;
  while (read (w->recnotifyfd, drain, sizeof drain) > 0)
    ;
  while (w->recoff < INIT_RECORDS_READ_MAX)
    {
      ssize_t n = pread (w->recfd, buf, INIT_RECORD_MAX, w->recoff);
      char *nl;
      if (n <= 0)
        return;
      nl = memchr (buf, '\n', (size_t) n);
      if (nl == NULL)
        {
          if (n == INIT_RECORD_MAX) /* an overlong line: skip what there is of it */
            w->recoff += n;
          return;
        }
      forward_record (w, buf, (size_t) (nl - buf));
      w->recoff += nl - buf + 1;
    }
}

/* Process mode only: the file is there when memhook-runtime injected
 * memhook-init.  Not being able to follow it costs only the events. */
static void
open_records (struct watcher *w)
{
  char path[64];

  w->recfd = openat (w->cdirfd, INIT_RECORDS_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (w->recfd < 0)
    return;
  w->recnotifyfd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  snprintf (path, sizeof (path), "/proc/self/fd/%d", w->recfd);
  if (w->recnotifyfd < 0 || inotify_add_watch (w->recnotifyfd, path, IN_MODIFY) < 0
      || add_epoll (w, w->recnotifyfd, SRC_RECORDS, NULL) < 0)
    {
      close (w->recfd);
      w->recfd = -1;
    }
}

/* Returns false when it could not go on watching. */
static bool
loop (struct watcher *w)
{
  for (;;)
    {
      struct epoll_event ev[4];
      bool notified = false, exited = false, records = false;
      int n = epoll_wait (w->epfd, ev, 4, -1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return false;
      for (int i = 0; i < n; i++)
        {
          notified |= ev[i].data.u32 == SRC_NOTIFY;
          exited |= ev[i].data.u32 == SRC_PIDFD;
          records |= ev[i].data.u32 == SRC_RECORDS;
        }
      if (records)
        forward_records (w);
      if (notified)
        on_notify (w);
      if (exited)
        on_main_exit (w);
      if ((w->rep.main_exited && cgroup_empty (w)) || w->cgroup_gone)
        return true;
      if (w->dirty)
        save (w);
    }
}

int
watch_main (int argc, char **argv)
{
  cleanup_error mh_error_t err = NULL;
  struct watcher w = { .cgfd = -1, .statefd = -1, .cdirfd = -1, .epfd = -1, .notifyfd = -1, .ocfd = -1,
                       .pidfd = -1, .kmsgfd = -1, .limit = -1, .recfd = -1, .recnotifyfd = -1 };

  restart_policy_init (&w.grow);
  /* Asleep but for OOM kills and the end: it must not compete with the
   * container's start for the CPU.  Its files are private. */
  setpriority (PRIO_PROCESS, 0, WATCH_NICE);
  umask (077);

  if (parse_args (&w, argc, argv, &err) < 0 || setup (&w, &err) < 0)
    {
      tell_failure (&w, err);
      return 1;
    }
  drop_privileges ();
  check_oom (&w, false);
  /* Already over before we looked (a container that exits at once). */
  if (!(w.rep.main_exited && cgroup_empty (&w)) && !loop (&w))
    {
      save (&w);
      return 1;
    }
  check_oom (&w, false);
  forward_records (&w);
  w.rep.ended_cleanly = true;
  events_time_now (w.rep.ended, sizeof (w.rep.ended));
  save (&w);
  end_run (&w);
  return 0;
}
