/* The restart supervisor of `memhook-runtime run` (container mode, issue 7).
 *
 * memhook-runtime stays the parent of `runtime run` so it knows the exit
 * status; the kernel's word on an OOM kill comes from the watcher's
 * watch.json, final once `runtime run` returned (poststop runs inside it).
 * Signals are taken through a signalfd so a stop asked during a run or
 * during the backoff is seen at once, without async-signal handlers. */
#include "prepare.h"
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "events.h"
#include "fsutil.h"
#include "json.h"
#include "finish.h"
#include "record.h"
#include "rewrite.h"
#include "runlog.h"
#include "runtime.h"
#include "size.h"
#include "statedir.h"
#include "verdict.h"
#include "watch.h"

#define CONFIG_NAME "config.json"

/* What one supervision holds across runs. */
struct supervisor
{
  const struct shim_args *args;
  const struct options *opts;
  const char *runtime;
  char **argv;
  const struct restart_policy *policy;
  sigset_t old_mask;
  int sfd;
  bool stop; /* SIGTERM/SIGINT seen: no more restarts */
};

int
shim_restart_policy (const struct oci_config *config, struct restart_policy *out, mh_error_t *err)
{
  struct restart_sources src;

  oci_restart_sources (config, &src);
  return restart_policy_parse_sources (&src, out, err);
}

bool
shim_supervises (const struct shim_args *args, const struct restart_policy *policy)
{
  return args->command == SHIM_CMD_RUN && !shim_args_process_mode (args) && policy->mode != RESTART_NO;
}

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
say (const struct supervisor *s, const char *fmt, const char *detail)
{
  cleanup_free char *line = NULL;

  if (asprintf (&line, fmt, s->args->container_id, detail) >= 0)
    shim_report (s->args, SHIM_LEVEL_WARNING, line);
}

/* `runtime <global options> VERB ID [EXTRA]`, quietly, waited for. */
static int
runtime_call (const struct supervisor *s, const char *verb, const char *extra)
{
  int n = s->args->command_index;
  cleanup_free char **av = calloc ((size_t) n + 5, sizeof (char *));
  int st = 0, k = 0;
  pid_t pid;

  if (av == NULL)
    return -1;
  av[k++] = (char *) s->runtime;
  for (int i = 1; i < n; i++)
    av[k++] = s->argv[i];
  av[k++] = (char *) verb;
  if (strcmp (verb, "delete") == 0)
    av[k++] = (char *) "-f";
  av[k++] = (char *) s->args->container_id;
  if (extra)
    av[k++] = (char *) extra;
  pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR);
      sigprocmask (SIG_SETMASK, &s->old_mask, NULL);
      if (null >= 0)
        {
          dup2 (null, 1);
          dup2 (null, 2);
        }
      execv (s->runtime, av);
      _exit (127);
    }
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED (st) && WEXITSTATUS (st) == 0 ? 0 : -1;
}

static pid_t
spawn_run (const struct supervisor *s)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      cleanup_error mh_error_t err = NULL;

      sigprocmask (SIG_SETMASK, &s->old_mask, NULL);
      shim_runtime_exec (s->runtime, s->argv, &err);
      _exit (127);
    }
  return pid;
}

/* Drains the signalfd; returns true when a stop was asked now. */
static bool
take_signals (struct supervisor *s)
{
  struct signalfd_siginfo si;
  bool stop = false;

  while (read (s->sfd, &si, sizeof si) == sizeof si)
    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
      stop = true;
  if (stop && !s->stop)
    {
      s->stop = true;
      return true;
    }
  return false;
}

static void
stop_container (const struct supervisor *s, pid_t run_pid, const char *sig)
{
  /* Before the container exists `kill` fails: runc run itself forwards
   * the signal to the container once it has one. */
  if (runtime_call (s, "kill", sig) < 0)
    kill (run_pid, strcmp (sig, "KILL") == 0 ? SIGKILL : SIGTERM);
}

/* Waits for one run; returns its wait status. */
static int
wait_run (struct supervisor *s, pid_t pid)
{
  int64_t kill_at = -1;
  int st;

  for (;;)
    {
      struct pollfd p = { .fd = s->sfd, .events = POLLIN };
      int timeout = kill_at < 0 ? -1 : (int) (kill_at > now_ms () ? kill_at - now_ms () : 0);
      pid_t r = waitpid (pid, &st, WNOHANG);

      if (r == pid)
        return st;
      if (poll (&p, 1, timeout) == 0 && kill_at >= 0)
        {
          stop_container (s, pid, "KILL");
          kill_at = now_ms () + SHIM_STOP_GRACE_MS;
          continue;
        }
      if (take_signals (s))
        {
          stop_container (s, pid, "TERM");
          kill_at = now_ms () + SHIM_STOP_GRACE_MS;
        }
    }
}

/* The run's exit code as `runtime run` passed it on (128+N for a signal). */
static int
exit_code_of (int st)
{
  if (WIFEXITED (st))
    return WEXITSTATUS (st);
  return WIFSIGNALED (st) ? 128 + WTERMSIG (st) : 1;
}

/* The bundle's config.json, parsed, with what rewriting it needs. */
struct bundle_config
{
  int dirfd;
  mode_t mode;
  struct json *root;
  struct oci_config config;
  bool parsed;
};

static void
bundle_config_free (struct bundle_config *b)
{
  if (b->dirfd >= 0)
    close (b->dirfd);
  json_free (b->root);
  if (b->parsed)
    oci_config_free (&b->config);
}

static int
bundle_config_load (const struct supervisor *s, struct bundle_config *b, mh_error_t *err)
{
  const char *dir = s->args->bundle ? s->args->bundle : ".";
  cleanup_free char *text = NULL;
  size_t len;

  if (shim_bundle_open (dir, &b->dirfd, &b->mode, err) < 0)
    return -1;
  if (read_file_at (b->dirfd, CONFIG_NAME, JSON_MAX_INPUT, &text, &len, err) < 0
      || json_parse (text, len, CONFIG_NAME, &b->root, err) < 0
      || oci_config_from_json (b->root, &b->config, err) < 0)
    return mh_error_wrap (err, "bundle %s", dir);
  b->parsed = true;
  return 0;
}

/* The run's end in its record and its exit event, with the status only
 * we saw (the hooks we injected say --exit-by=runtime). */
static void
end_run (const struct supervisor *s, int sfd, int cfd, int wait_status)
{
  struct bundle_config b = { .dirfd = -1 };
  cleanup_error mh_error_t err = NULL;
  cleanup_json struct json *ev = NULL;
  struct run_end end = { .state_dirfd = sfd, .container_dirfd = cfd, .status_known = true,
                         .wait_status = wait_status, .metrics_dir = s->opts->metrics_dir };
  bool done = false;
  char buf[1024];

  ev = event_new ("exit", s->args->container_id, bundle_config_load (s, &b, &err) == 0 ? &b.config.annotations : NULL);
  mh_error_free (&err);
  end.event = ev;
  if (ev == NULL || run_finish (&end, &done, &err) < 0)
    say (s, "memhook-runtime: %s: cannot record the end of the run: %s",
         err ? mh_error_text (err, buf, sizeof buf) : "out of memory");
  bundle_config_free (&b);
}

/* Waits for the watcher's last word, ends the run, and decides on it. */
static enum restart_verdict
run_verdict (const struct supervisor *s, int code)
{
  struct verdict_evidence e = { .status_known = true };
  struct verdict_result r;
  cleanup_close int sfd = -1;
  cleanup_close int cfd = -1;
  cleanup_error mh_error_t err = NULL;
  cleanup_json struct json *rec = NULL;
  struct watch_report rep;

  /* A status above 128 is how `runtime run` passes on a death by signal. */
  e.wait_status = code > 128 && code < 128 + 65 ? code - 128 : code << 8;
  if (statedir_open (s->opts->state_dir, false, &sfd, &err) == 0
      && statedir_open_container (sfd, s->args->container_id, false, &cfd, &err) == 0)
    {
      run_await_watcher (cfd, SHIM_RECORD_WAIT_MS);
      end_run (s, sfd, cfd, e.wait_status);
      if (record_load (cfd, &rec, &err) == 0 && rec != NULL)
        run_evidence (rec, cfd, &e, &rep);
    }
  verdict_decide (&e, &r);
  /* The two enums list the verdicts in the same order (policy.h). */
  return (enum restart_verdict) r.verdict;
}


/* Raises the limit in config.json after an OOM kill (io.memhook.oom.grow),
 * swap allowance kept; *limit is the limit the next run gets. */
static int
grow_limit (const struct supervisor *s, struct bundle_config *b, int64_t *limit, mh_error_t *err)
{
  struct oci_memory mem = b->config.memory;
  struct rewrite_result res = { 0 };
  cleanup_free char *out = NULL;
  int64_t nl, ns;
  size_t len;

  if (!restart_grow (s->policy, mem.limit.present ? mem.limit.value : 0, mem.swap.present ? mem.swap.value : 0,
                     &nl, &ns))
    return 0;
  mem.limit.present = true;
  mem.limit.value = nl;
  if (mem.swap.present)
    mem.swap.value = ns;
  if (rewrite_memory (b->root, &mem, &res, err) < 0 || json_serialize (b->root, &out, &len, err) < 0
      || write_file_atomic (b->dirfd, CONFIG_NAME, out, len, b->mode, err) < 0)
    return mh_error_wrap (err, "grow the memory limit in %s", CONFIG_NAME);
  *limit = nl;
  return 0;
}

static void
restart_event (const struct supervisor *s, const struct bundle_config *b, unsigned attempt, int64_t delay_ms,
               int64_t limit)
{
  cleanup_error mh_error_t err = NULL;
  cleanup_close int sfd = -1;
  cleanup_json struct json *ev = event_new ("restart", s->args->container_id, &b->config.annotations);

  if (ev == NULL || statedir_open (s->opts->state_dir, true, &sfd, &err) < 0
      || json_object_set (ev, "attempt", json_new_uint (attempt), &err) < 0
      || json_object_set (ev, "delay_ms", json_new_int (delay_ms), &err) < 0
      || json_object_set (ev, "limit", limit > 0 ? json_new_int (limit) : json_new_null (), &err) < 0
      || json_object_set (ev, "mode", json_new_string ("container"), &err) < 0
      || events_append (sfd, ev, &err) < 0)
    {
      char buf[1024];
      say (s, "memhook-runtime: %s: cannot record the restart event: %s", err ? mh_error_text (err, buf, sizeof buf)
                                                                             : "out of memory");
    }
}

static const char *
why_text (enum restart_verdict v, int code, char *buf, size_t len)
{
  if (v == RESTART_VERDICT_OOMKILLED)
    return "OOM kill";
  if (v == RESTART_VERDICT_KILLED)
    return "kill";
  snprintf (buf, len, "exit %d", code);
  return buf;
}

static void
restart_line (const struct supervisor *s, enum restart_verdict v, int code, unsigned attempt, int64_t delay_ms,
              int64_t limit)
{
  char why[32], of[32] = "", size[64];

  if (s->policy->max_restarts > 0)
    snprintf (of, sizeof of, "/%u", s->policy->max_restarts);
  fprintf (stderr, "memhook-runtime: %s: restarting after %s (attempt %u%s) in %lld ms; limit %s\n",
           s->args->container_id, why_text (v, code, why, sizeof why), attempt, of, (long long) delay_ms,
           limit > 0 ? size_format (limit, size, sizeof size) : "unset");
}

/* Backoff: false when a stop came during it. */
static bool
sleep_interruptible (struct supervisor *s, int64_t delay_ms)
{
  int64_t until = now_ms () + delay_ms;

  while (!s->stop && now_ms () < until)
    {
      struct pollfd p = { .fd = s->sfd, .events = POLLIN };
      if (poll (&p, 1, (int) (until - now_ms ())) > 0)
        take_signals (s);
    }
  return !s->stop;
}

/* After a run that the policy restarts: state gone, limit grown, backoff
 * slept, event written.  false = stop instead. */
static bool
prepare_restart (struct supervisor *s, enum restart_verdict v, int code, unsigned attempt, int64_t delay_ms)
{
  struct bundle_config b = { .dirfd = -1 };
  cleanup_error mh_error_t err = NULL;
  int64_t limit = -1;
  bool ok = false;
  char buf[1024];

  runtime_call (s, "delete", NULL); /* runc run deletes already; make sure */
  if (bundle_config_load (s, &b, &err) < 0)
    goto out;
  limit = b.config.memory.limit.present ? b.config.memory.limit.value : -1;
  if (v == RESTART_VERDICT_OOMKILLED && s->policy->grow && grow_limit (s, &b, &limit, &err) < 0)
    goto out;
  restart_event (s, &b, attempt, delay_ms, limit);
  restart_line (s, v, code, attempt, delay_ms, limit);
  ok = sleep_interruptible (s, delay_ms);
out:
  if (err)
    say (s, "memhook-runtime: %s: no restart: %s", mh_error_text (err, buf, sizeof buf));
  bundle_config_free (&b);
  return ok;
}

static int
supervise_loop (struct supervisor *s)
{
  struct restart_backoff backoff = { 0 };
  unsigned restarts = 0;

  for (;;)
    {
      int64_t started = now_ms ();
      pid_t pid = spawn_run (s);
      int code;

      if (pid < 0)
        {
          say (s, "memhook-runtime: %s: cannot start the runtime: %s", strerror (errno));
          return 1;
        }
      code = exit_code_of (wait_run (s, pid));
      if (s->stop)
        return code;
      enum restart_verdict v = run_verdict (s, code);
      if (restart_decide (s->policy, v, code, restarts, s->stop) != RESTART_GO)
        return code;
      int64_t delay = restart_next_delay (s->policy, &backoff, now_ms () - started);
      restarts++;
      if (!prepare_restart (s, v, code, restarts, delay))
        return code;
    }
}

int
shim_supervise_run (const struct shim_args *args, const struct options *opts, const char *runtime, char **argv,
                    const struct restart_policy *policy)
{
  struct supervisor s = { .args = args, .opts = opts, .runtime = runtime, .argv = argv, .policy = policy };
  sigset_t mask;
  int code;

  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGCHLD);
  /* An ignored signal never reaches a signalfd, and SIGTERM is the stop
   * this supervisor promises; SIGINT keeps its disposition so a background
   * job (SIGINT ignored by the shell) is not stopped by the terminal's ^C. */
  signal (SIGTERM, SIG_DFL);
  if (sigprocmask (SIG_BLOCK, &mask, &s.old_mask) < 0
      || (s.sfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
    {
      say (&s, "memhook-runtime: %s: cannot supervise: signalfd: %s", strerror (errno));
      return 1;
    }
  code = supervise_loop (&s);
  close (s.sfd);
  sigprocmask (SIG_SETMASK, &s.old_mask, NULL);
  return code;
}
