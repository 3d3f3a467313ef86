/* Starting the watcher from the hook.
 *
 * exec, not fork alone: a forked hook would keep every page the hook ever
 * dirtied (its parsed config, libc's and yajl's state) as the watcher's
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
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

/* In the child: the fd layout of watch.h, a clean signal state, exec.
 * Nobody reads a failure here: the watcher's absence is what poststart
 * reports and what makes the verdict Unknown.  A fork, not posix_spawn:
 * the hook goes on while the child execs on the other CPU, where a vfork
 * would hold it until the exec is done (measured: 0.65 against 0.35 ms). */
static void __attribute__ ((noreturn))
exec_watcher (const char *exe, char **argv, int cgroup_fd, const struct watch_fds *f)
{
  static char *const empty_env[] = { NULL };
  const int from[] = { cgroup_fd, f->kmsg, f->notify, f->oom_control, f->pidfd };
  int moved[5];
  sigset_t all;
  int null;

  if (setsid () < 0)
    _exit (127);
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);
  /* Out of the way of the targets 0..7 first. */
  for (int i = 0; i < 5; i++)
    {
      moved[i] = from[i] < 0 ? -1 : fcntl (from[i], F_DUPFD_CLOEXEC, 16);
      if (from[i] >= 0 && moved[i] < 0)
        _exit (127);
    }
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0)
    _exit (127);
  for (int i = 0; i < 5; i++)
    {
      if (moved[i] >= 0 && dup2 (moved[i], WATCH_FD_CGROUP + i) < 0)
        _exit (127);
      if (moved[i] < 0)
        close (WATCH_FD_CGROUP + i);
    }
  syscall (SYS_close_range, WATCH_FD_CGROUP + 5, ~0U, 0);
  if (chdir ("/") < 0)
    _exit (127);
  execve (exe, argv, empty_env);
  _exit (127);
}

int
watch_spawn (const struct watch_params *p, pid_t *watcher_pid, mh_error_t *err)
{
  cleanup_free char *exe = find_watcher ();
  struct watch_fds fds = { -1, -1, -1, -1 };
  struct argv_buf a;
  pid_t child;

  build_argv (&a, p, exe == NULL ? "self" : NULL);
  if (watch_fds_open (p, &fds, err) < 0)
    {
      watch_fds_close (&fds);
      return -1;
    }
  /* The hook exits without waiting: the watcher is re-parented like any
   * daemon, and reaped by init or the engine's subreaper. */
  child = fork ();
  if (child == 0)
    exec_watcher (exe ? exe : "/proc/self/exe", a.argv, p->cgroup_dirfd, &fds);
  watch_fds_close (&fds);
  if (child < 0)
    return mh_error_make (err, errno, "fork");
  *watcher_pid = child;
  return 0;
}
