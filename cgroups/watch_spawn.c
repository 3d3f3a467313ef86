/* Starting the watcher from the hook.
 *
 * exec, not fork alone: a forked hook would keep every page the hook ever
 * dirtied (its parsed config, libraries' relocations) as the watcher's
 * private memory once the hook exits.  A fresh small static binary
 * (memhook-watch, next to memhook or in ../libexec/memhook/) costs a
 * fraction; memhook itself (`memhook __watch`) is the fallback.
 *
 * Detached as runc needs it: runc waits for the hook's stdout/stderr to
 * close, so the watcher gets /dev/null and its own session.
 *
 * The hook does not wait for the watcher: everything that must be in place
 * before the container's process runs is opened here, in the hook, and
 * handed over (WATCH_FD_*): /dev/kmsg positioned at its end, v1's OOM
 * eventfd already registered, a pidfd on the main process.  What the
 * watcher sets up later (v2's inotify) it catches up on from the baseline
 * counter.  Waiting for a "ready" from a freshly exec'd process cost each
 * container start milliseconds. */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "fsutil.h"
#include "kmsg.h"
#include "path.h"

#define MAX_ARGS 32

/* memhook-watch beside our own binary (build dir, bindir), then in
 * <prefix>/libexec/memhook/; NULL = use our own binary. */
static char *
find_watcher (void)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  char *dir;
  char *cand = NULL;

  if (n <= 0)
    return NULL;
  self[n] = '\0';
  dir = strrchr (self, '/');
  if (dir == NULL)
    return NULL;
  *dir = '\0';
  if (asprintf (&cand, "%s/%s", self, WATCH_BINARY) >= 0 && access (cand, X_OK) == 0)
    return cand;
  free (cand);
  cand = NULL;
  if (asprintf (&cand, "%s/../libexec/memhook/%s", self, WATCH_BINARY) >= 0 && access (cand, X_OK) == 0)
    return cand;
  free (cand);
  return NULL;
}

struct argv_buf
{
  char *argv[MAX_ARGS];
  size_t n;
  char nums[4][32];
};

static void
arg (struct argv_buf *a, const char *key, const char *value)
{
  if (value == NULL || a->n + 3 > MAX_ARGS)
    return;
  a->argv[a->n++] = (char *) key;
  a->argv[a->n++] = (char *) value;
}

static void
build_argv (struct argv_buf *a, const struct watch_params *p, const char *exe_is_self)
{
  const struct oci_kv_list *an = p->annotations;

  a->n = 0;
  if (exe_is_self)
    {
      a->argv[a->n++] = (char *) "memhook";
      a->argv[a->n++] = (char *) "__watch";
    }
  else
    a->argv[a->n++] = (char *) WATCH_BINARY;
  snprintf (a->nums[0], sizeof (a->nums[0]), "%d", (int) p->version);
  snprintf (a->nums[1], sizeof (a->nums[1]), "%d", (int) p->main_pid);
  snprintf (a->nums[2], sizeof (a->nums[2]), "%" PRId64, p->limit);
  snprintf (a->nums[3], sizeof (a->nums[3]), "%" PRId64, p->baseline.oom_kill < 0 ? 0 : p->baseline.oom_kill);
  arg (a, "--state-dir", p->state_dir);
  arg (a, "--id", p->id);
  arg (a, "--cgroup-version", a->nums[0]);
  arg (a, "--memcg", p->memcg);
  arg (a, "--pid", a->nums[1]);
  arg (a, "--limit", a->nums[2]);
  arg (a, "--baseline", a->nums[3]);
  arg (a, "--name", events_annotation_name (an));
  arg (a, "--pod", events_annotation_pod (an));
  arg (a, "--namespace", events_annotation_namespace (an));
  arg (a, "--metrics-dir", p->metrics_dir);
  arg (a, "--grow", p->grow);
  if (p->exit_by_runtime)
    a->argv[a->n++] = (char *) "--exit-by-runtime";
  /* MEMHOOK_WATCH_BENCH in the hook's env (hooks.env in config.json):
   * the benchmark's latency field. */
  const char *bench = getenv ("MEMHOOK_WATCH_BENCH");
  if (bench != NULL && strcmp (bench, "1") == 0)
    a->argv[a->n++] = (char *) "--bench";
  a->argv[a->n] = NULL;
}

/* What the watcher inherits, opened by the hook; -1 = not there. */
struct watch_fds
{
  int kmsg, notify, oom_control, pidfd;
};

static void
watch_fds_close (struct watch_fds *f)
{
  int *all[] = { &f->kmsg, &f->notify, &f->oom_control, &f->pidfd };

  for (size_t i = 0; i < sizeof (all) / sizeof (all[0]); i++)
    if (*all[i] >= 0)
      {
        close (*all[i]);
        *all[i] = -1;
      }
}

/* v1 notifies through an eventfd registered in cgroup.event_control on
 * memory.oom_control; it also fires when the cgroup is removed. */
static int
register_v1 (int cgroup_fd, struct watch_fds *f, mh_error_t *err)
{
  cleanup_close int ecfd = -1;
  char line[64];

  f->notify = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (f->notify < 0)
    return mh_error_make (err, errno, "eventfd");
  f->oom_control = openat (cgroup_fd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
  if (f->oom_control < 0)
    return mh_error_make (err, errno, "open memory.oom_control");
  ecfd = openat (cgroup_fd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
  if (ecfd < 0)
    return mh_error_make (err, errno, "open cgroup.event_control");
  snprintf (line, sizeof (line), "%d %d", f->notify, f->oom_control);
  if (write (ecfd, line, strlen (line)) < 0)
    return mh_error_make (err, errno, "register for OOM notifications in cgroup.event_control");
  return 0;
}

static int
watch_fds_open (const struct watch_params *p, struct watch_fds *f, mh_error_t *err)
{
  cleanup_error mh_error_t kerr = NULL;

  /* Without the kernel's log the watcher still counts kills, unnamed. */
  if (kmsg_open_at_end (&f->kmsg, &kerr) < 0)
    f->kmsg = -1;
  if (p->version == CG_V1 && register_v1 (p->cgroup_dirfd, f, err) < 0)
    return -1;
  f->pidfd = (int) syscall (SYS_pidfd_open, p->main_pid, 0);
  if (f->pidfd < 0 && errno != ESRCH)
    return mh_error_make (err, errno, "pidfd_open %d", (int) p->main_pid);
  return 0;
}

/* posix_spawn's steps report an error number; the first one counts. */
static void
step (int *rc, int r)
{
  if (*rc == 0)
    *rc = r;
}

/* The fd layout of watch.h, stdio on /dev/null, its own session, default
 * signals, "/" as cwd: all done by posix_spawn in the child (a vfork, no
 * copy of the hook's page tables).  Sources are moved above the targets
 * first so that no dup2 overwrites a source still to come. */
static int
spawn_watcher (const char *exe, char **argv, int cgroup_fd, const struct watch_fds *f, pid_t *pid,
               mh_error_t *err)
{
  static char *const empty_env[] = { NULL };
  const int from[] = { cgroup_fd, f->kmsg, f->notify, f->oom_control, f->pidfd };
  int moved[5] = { -1, -1, -1, -1, -1 };
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t all, none;
  int rc = 0;

  sigfillset (&all);
  sigemptyset (&none);
  posix_spawn_file_actions_init (&fa);
  posix_spawnattr_init (&attr);
  step (&rc, posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
  step (&rc, posix_spawnattr_setsigdefault (&attr, &all));
  step (&rc, posix_spawnattr_setsigmask (&attr, &none));
  step (&rc, posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDWR, 0));
  step (&rc, posix_spawn_file_actions_adddup2 (&fa, 0, 1));
  step (&rc, posix_spawn_file_actions_adddup2 (&fa, 0, 2));
  for (int i = 0; i < 5; i++)
    {
      if (from[i] >= 0 && (moved[i] = fcntl (from[i], F_DUPFD_CLOEXEC, WATCH_FD_PIDFD + 1)) < 0)
        step (&rc, errno);
      if (moved[i] >= 0)
        step (&rc, posix_spawn_file_actions_adddup2 (&fa, moved[i], WATCH_FD_CGROUP + i));
      else
        step (&rc, posix_spawn_file_actions_addclose (&fa, WATCH_FD_CGROUP + i));
    }
  step (&rc, posix_spawn_file_actions_addclosefrom_np (&fa, WATCH_FD_PIDFD + 1));
  step (&rc, posix_spawn_file_actions_addchdir_np (&fa, "/"));
  if (rc == 0)
    rc = posix_spawn (pid, exe, &fa, &attr, argv, empty_env);
  for (int i = 0; i < 5; i++)
    if (moved[i] >= 0)
      close (moved[i]);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  if (rc != 0)
    return mh_error_make (err, rc, "start %s", exe);
  return 0;
}

int
watch_spawn (const struct watch_params *p, pid_t *watcher_pid, mh_error_t *err)
{
  cleanup_free char *exe = find_watcher ();
  struct watch_fds fds = { -1, -1, -1, -1 };
  struct argv_buf a;
  int rc;

  build_argv (&a, p, exe == NULL ? "self" : NULL);
  if (watch_fds_open (p, &fds, err) < 0)
    {
      watch_fds_close (&fds);
      return -1;
    }
  /* The hook exits without waiting: the watcher is re-parented like any
   * daemon, and reaped by init or the engine's subreaper. */
  rc = spawn_watcher (exe ? exe : "/proc/self/exe", a.argv, p->cgroup_dirfd, &fds, watcher_pid, err);
  watch_fds_close (&fds);
  return rc;
}
