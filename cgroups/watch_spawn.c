/* Starting the watcher from the hook.
 *
 * exec, not fork alone: a forked hook would keep every page the hook ever
 * dirtied (its parsed config, libraries' relocations) as the watcher's
 * private memory once the hook exits.  A fresh small static binary
 * (memhook-watch, next to memhook or in ../libexec/memhook/) costs a
 * fraction; memhook itself (`memhook __watch`) is the fallback.
 *
 * Detached as runc needs it: runc waits for the hook's stdout/stderr to
 * close, so the watcher gets /dev/null, its own session (double fork: it
 * is not a session leader and can never get a terminal) and no other fd
 * than the cgroup dir (3) and the readiness pipe (4). */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "fsutil.h"
#include "path.h"

#define READY_TIMEOUT_MS 5000
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
build_argv (struct argv_buf *a, const struct watch_params *p, const char *exe_is_self, const char *memcg)
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
  arg (a, "--memcg", memcg);
  arg (a, "--pid", a->nums[1]);
  arg (a, "--limit", a->nums[2]);
  arg (a, "--baseline", a->nums[3]);
  arg (a, "--name", events_annotation_name (an));
  arg (a, "--pod", events_annotation_pod (an));
  arg (a, "--namespace", events_annotation_namespace (an));
  /* MEMHOOK_WATCH_BENCH in the hook's env (hooks.env in config.json):
   * the benchmark's latency field. */
  const char *bench = getenv ("MEMHOOK_WATCH_BENCH");
  if (bench != NULL && strcmp (bench, "1") == 0)
    a->argv[a->n++] = (char *) "--bench";
  a->argv[a->n] = NULL;
}

static void
child_fail (int fd, const char *what, int errnum)
{
  char msg[512];
  int n = snprintf (msg, sizeof (msg), "error %s: %s\n", what, strerror (errnum));
  if (n > 0)
    (void) write_all (fd, msg, (size_t) n);
  _exit (127);
}

/* In the grandchild: the fd layout, a clean signal state, exec. */
static void __attribute__ ((noreturn))
exec_watcher (const char *exe, char **argv, int cgroup_fd, int ready_fd)
{
  static char *const empty_env[] = { NULL };
  sigset_t all;
  int cg, rd, null;

  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);
  /* Out of the way of the targets 0..4 first. */
  cg = fcntl (cgroup_fd, F_DUPFD_CLOEXEC, 10);
  rd = fcntl (ready_fd, F_DUPFD_CLOEXEC, 10);
  if (cg < 0 || rd < 0)
    child_fail (ready_fd, "dup", errno);
  null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    child_fail (rd, "open /dev/null", errno);
  if (dup2 (null, 0) < 0 || dup2 (null, 1) < 0 || dup2 (null, 2) < 0 || dup2 (cg, 3) < 0 || dup2 (rd, 4) < 0)
    child_fail (rd, "dup2", errno);
  if (syscall (SYS_close_range, 5, ~0U, 0) < 0)
    for (int fd = 5; fd < 4096; fd++)
      close (fd);
  if (chdir ("/") < 0)
    child_fail (4, "chdir /", errno);
  umask (077);
  execve (exe, argv, empty_env);
  child_fail (4, exe, errno);
  _exit (127);
}

/* "ok PID\n" or "error MESSAGE\n" from the watcher, or EOF if it died. */
static int
await_ready (int fd, pid_t *pid, mh_error_t *err)
{
  char buf[1024];
  size_t used = 0;
  struct timespec start, now;

  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      clock_gettime (CLOCK_MONOTONIC, &now);
      long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (waited >= READY_TIMEOUT_MS)
        return mh_error_make (err, ETIMEDOUT, "the watcher did not report ready within %d ms", READY_TIMEOUT_MS);
      int r = poll (&p, 1, (int) (READY_TIMEOUT_MS - waited));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return mh_error_make (err, errno, "wait for the watcher");
      if (r == 0)
        continue;
      ssize_t n = read (fd, buf + used, sizeof (buf) - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return mh_error_make (err, errno, "read from the watcher");
      used += (size_t) n;
      buf[used] = '\0';
      if (n == 0 || strchr (buf, '\n') != NULL || used == sizeof (buf) - 1)
        break;
    }
  buf[strcspn (buf, "\n")] = '\0';
  if (strncmp (buf, "ok ", 3) == 0)
    {
      *pid = (pid_t) strtol (buf + 3, NULL, 10);
      if (*pid > 0)
        return 0;
    }
  if (strncmp (buf, "error ", 6) == 0)
    return mh_error_make (err, 0, "%s", buf + 6);
  return mh_error_make (err, 0, "the watcher exited before it was ready");
}

int
watch_spawn (const struct watch_params *p, pid_t *watcher_pid, mh_error_t *err)
{
  cleanup_free char *memcg = NULL;
  cleanup_free char *exe = find_watcher ();
  cleanup_close int rd = -1;
  struct argv_buf a;
  int pipefd[2];
  pid_t child;
  int status;

  /* The kernel names cgroups relative to the controller's root, which is
   * what /proc/<pid>/cgroup says (the hook runs in the host's namespaces). */
  if (cg_path_of_pid (p->main_pid, p->version, &memcg, err) < 0)
    return mh_error_wrap (err, "cgroup of pid %d", (int) p->main_pid);
  build_argv (&a, p, exe == NULL ? "self" : NULL, memcg);
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return mh_error_make (err, errno, "pipe");
  rd = pipefd[0];
  child = fork ();
  if (child < 0)
    {
      close (pipefd[1]);
      return mh_error_make (err, errno, "fork");
    }
  if (child == 0)
    {
      close (pipefd[0]);
      if (setsid () < 0)
        child_fail (pipefd[1], "setsid", errno);
      pid_t grandchild = fork ();
      if (grandchild < 0)
        child_fail (pipefd[1], "fork", errno);
      if (grandchild == 0)
        exec_watcher (exe ? exe : "/proc/self/exe", a.argv, p->cgroup_dirfd, pipefd[1]);
      _exit (0);
    }
  close (pipefd[1]);
  while (waitpid (child, &status, 0) < 0 && errno == EINTR)
    ;
  return await_ready (rd, watcher_pid, err);
}
