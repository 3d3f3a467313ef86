/* memhook-init: a small static supervisor, PID 1 of a container (like tini),
 * that restarts the workload in place per memhook's restart policy.
 *
 *   memhook-init [--policy P] [--backoff B] [--grow G] [--verdict-dir DIR]
 *                [--events-file PATH | --events-fd N] [--] PROG [ARG]...
 *
 * It runs PROG as its child, reaps every zombie, forwards signals, passes the
 * exit status on exactly (death by signal S → 128+S, as a shell says it) and
 * raises the child's oom_score_adj so a memory-cgroup OOM picks the workload,
 * never the supervisor.  After a run ends it decides with the policy
 * (oci/policy.c), waits the backoff, and runs PROG again.
 *
 * Its only evidence of an OOM kill is the watcher's answer (init/answer.h):
 * a SIGKILL with no answer is Killed.  The killed child is kept as a zombie
 * (waitid WNOWAIT) while the answer is awaited, so /proc/<host pid>/status
 * stays readable to the watcher, which needs it to translate the kernel's
 * host pid into ours.
 *
 * No stdio: every line is built in a fixed buffer and written with one
 * write(), which keeps the resident set small. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "error.h"
#include "memhook-build.h"
#include "policy.h"

/* How long a SIGKILLed child's verdict may wait for the watcher's answer. */
#define VERDICT_WAIT_MS 200
/* How long leftovers of a run may take to die before the next run anyway. */
#define LEFTOVER_WAIT_MS 1000
/* The workload's oom_score_adj is ours + this.  In a memory-cgroup OOM it is
 * worth OOM_ADJ_RAISE/1000 of the limit in the kernel's badness score: at
 * 100, a 2 MiB limit already outweighs the whole of memhook-init (< 200 KiB),
 * while a workload's standing in a host-wide OOM moves only a little. */
#define OOM_ADJ_RAISE 100
#define EXIT_USAGE 2

struct options
{
  const char *policy, *backoff, *grow;
  const char *verdict_dir;
  const char *events_file;
  int events_fd;
  char **argv; /* the workload */
};

/* How one run of the workload ended. */
struct run_end
{
  enum restart_verdict verdict;
  int exit_code; /* as a shell reports it */
  int signal;    /* 0 when it exited */
  int64_t duration_ms;
};

struct supervisor
{
  struct restart_policy policy;
  char **argv;
  sigset_t child_mask; /* the mask we were started with, for the workload */
  int sigfd;
  int events_fd; /* -1 when no records are wanted */
  struct answer_channel answers;
  bool leader;   /* PID 1 of a pid namespace */
  pid_t child;   /* 0 when no run is going on */
  bool child_done;
  siginfo_t child_info;
  int64_t started_ms;
  unsigned restarts;
  struct restart_backoff backoff;
  bool stop; /* SIGTERM or SIGINT: no more runs */
};

/* ---- output without stdio ---- */

struct line
{
  char buf[1024];
  size_t len;
};

static void
put (struct line *l, const char *s)
{
  size_t n = strlen (s);

  if (n > sizeof (l->buf) - 1 - l->len)
    n = sizeof (l->buf) - 1 - l->len;
  memcpy (l->buf + l->len, s, n);
  l->len += n;
}

static void
put_num (struct line *l, int64_t v)
{
  char digits[24];
  size_t i = sizeof (digits);
  uint64_t u = v < 0 ? -(uint64_t) v : (uint64_t) v;

  digits[--i] = '\0';
  do
    digits[--i] = (char) ('0' + u % 10);
  while ((u /= 10) != 0);
  if (v < 0)
    digits[--i] = '-';
  put (l, digits + i);
}

/* One write() for the whole line, so concurrent writers never interleave. */
static void
send_line (struct line *l, int fd)
{
  ssize_t n;

  if (fd < 0)
    return;
  l->buf[l->len++] = '\n';
  do
    n = write (fd, l->buf, l->len);
  while (n < 0 && errno == EINTR);
  l->len = 0;
}

static void
say (const char *a, const char *b, const char *c)
{
  struct line l = { .len = 0 };

  put (&l, "memhook-init: ");
  put (&l, a);
  if (b)
    put (&l, b);
  if (c)
    put (&l, c);
  send_line (&l, STDERR_FILENO);
}

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- command line ---- */

static void
usage (void)
{
  say ("usage: memhook-init [--policy no|on-oom[:N]|on-failure[:N]|always] [--backoff INITIAL[,MAX[,RESET]]]"
       " [--grow FACTOR[,MAX]] [--verdict-dir DIR] [--events-file PATH | --events-fd N] [--] PROG [ARG]...",
       NULL, NULL);
}

/* "--name VALUE" or "--name=VALUE"; *i is advanced past what was used. */
static bool
take_value (int argc, char **argv, int *i, const char *name, const char **value)
{
  size_t n = strlen (name);

  if (strncmp (argv[*i], name, n) != 0)
    return false;
  if (argv[*i][n] == '=')
    {
      *value = argv[*i] + n + 1;
      return true;
    }
  if (argv[*i][n] != '\0')
    return false;
  if (*i + 1 >= argc)
    {
      say (name, " needs a value", NULL);
      exit (EXIT_USAGE);
    }
  *value = argv[++*i];
  return true;
}

static bool
parse_fd (const char *s, int *fd)
{
  long v = 0;

  if (*s == '\0')
    return false;
  for (; *s; s++)
    {
      if (*s < '0' || *s > '9')
        return false;
      v = v * 10 + (*s - '0');
      if (v > INT_MAX)
        return false;
    }
  *fd = (int) v;
  return true;
}

static void
parse_options (int argc, char **argv, struct options *o)
{
  const char *fd_text = NULL;
  int i;

  memset (o, 0, sizeof (*o));
  o->events_fd = -1;
  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          usage ();
          exit (0);
        }
      if (strcmp (argv[i], "--version") == 0)
        {
          say ("version ", MEMHOOK_VERSION, NULL);
          exit (0);
        }
      if (take_value (argc, argv, &i, "--policy", &o->policy)
          || take_value (argc, argv, &i, "--backoff", &o->backoff)
          || take_value (argc, argv, &i, "--grow", &o->grow)
          || take_value (argc, argv, &i, "--verdict-dir", &o->verdict_dir)
          || take_value (argc, argv, &i, "--events-file", &o->events_file)
          || take_value (argc, argv, &i, "--events-fd", &fd_text))
        continue;
      if (argv[i][0] == '-' && argv[i][1] == '-')
        {
          say ("unknown option ", argv[i], "; put -- before a program whose name starts with --");
          usage ();
          exit (EXIT_USAGE);
        }
      break;
    }
  if (i >= argc)
    {
      say ("no program to run", NULL, NULL);
      usage ();
      exit (EXIT_USAGE);
    }
  if (fd_text && (!parse_fd (fd_text, &o->events_fd) || o->events_fd <= STDERR_FILENO))
    {
      say ("--events-fd \"", fd_text, "\" is not a file descriptor above 2; give the number of an open fd");
      exit (EXIT_USAGE);
    }
  if (fd_text && o->events_file)
    {
      say ("--events-fd and --events-file both given; give one", NULL, NULL);
      exit (EXIT_USAGE);
    }
  o->argv = argv + i;
}

static int
open_events (const struct options *o)
{
  int fd;

  if (o->events_fd >= 0)
    {
      /* the workload must not inherit our record stream */
      if (fcntl (o->events_fd, F_SETFD, FD_CLOEXEC) < 0)
        {
          say ("--events-fd: not an open file descriptor; records are not written", NULL, NULL);
          return -1;
        }
      return o->events_fd;
    }
  if (o->events_file == NULL)
    return -1;
  fd = open (o->events_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0)
    say ("--events-file ", o->events_file, ": cannot open it; records are not written");
  return fd;
}

/* ---- the workload ---- */

static void
raise_oom_score_adj (void)
{
  char buf[16];
  struct line l = { .len = 0 };
  long adj = 0;
  ssize_t n;
  int fd = open ("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return;
  n = read (fd, buf, sizeof (buf) - 1);
  if (n > 0)
    {
      buf[n] = '\0';
      adj = strtol (buf, NULL, 10);
    }
  adj = adj + OOM_ADJ_RAISE > 1000 ? 1000 : adj + OOM_ADJ_RAISE;
  put_num (&l, adj);
  /* raising needs no privilege; a failure only weakens a preference */
  if (pwrite (fd, l.buf, l.len, 0) < 0)
    say ("cannot raise the workload's oom_score_adj; an OOM kill may pick memhook-init", NULL, NULL);
  close (fd);
}

static void __attribute__ ((noreturn))
exec_workload (struct supervisor *s)
{
  int saved;

  /* Own process group, in the terminal's foreground if there is one (as
   * tini does): ^C reaches the workload alone, and the leftovers of a run
   * can be killed as a group. */
  setpgid (0, 0);
  if (isatty (STDIN_FILENO))
    tcsetpgrp (STDIN_FILENO, getpid ());
  raise_oom_score_adj ();
  sigprocmask (SIG_SETMASK, &s->child_mask, NULL);
  execvp (s->argv[0], s->argv);
  saved = errno;
  say ("cannot run ", s->argv[0], saved == ENOENT ? ": no such file" : ": permission denied or not executable");
  _exit (saved == ENOENT ? 127 : 126);
}

static int
spawn (struct supervisor *s)
{
  pid_t pid;

  answer_mark (&s->answers);
  pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    exec_workload (s);
  /* set it here too: the child may not have run yet when we kill its group */
  setpgid (pid, pid);
  s->child = pid;
  s->child_done = false;
  s->started_ms = now_ms ();
  return 0;
}

/* Reap every zombie but a SIGKILLed child awaiting its verdict. */
static void
reap (struct supervisor *s)
{
  for (;;)
    {
      siginfo_t si;

      memset (&si, 0, sizeof (si));
      if (waitid (P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
        return;
      if (s->child && si.si_pid == s->child)
        {
          if (!s->child_done)
            {
              s->child_done = true;
              s->child_info = si;
            }
          if (si.si_code == CLD_KILLED && si.si_status == SIGKILL && s->answers.dirfd >= 0)
            return; /* held until verdict() */
        }
      waitpid (si.si_pid, NULL, WNOHANG);
    }
}

static bool
is_stop (int sig)
{
  return sig == SIGTERM || sig == SIGINT;
}

/* Read the pending signals: forward them to a live child, note a stop. */
static void
handle_signals (struct supervisor *s)
{
  struct signalfd_siginfo info;

  while (read (s->sigfd, &info, sizeof (info)) == (ssize_t) sizeof (info))
    {
      int sig = (int) info.ssi_signo;

      if (sig == SIGCHLD)
        reap (s);
      else if (sig == SIGTTIN || sig == SIGTTOU || sig == SIGPIPE)
        continue; /* about our own terminal or pipes, not the workload's */
      else
        {
          if (is_stop (sig))
            s->stop = true;
          if (s->child && !s->child_done)
            kill (s->child, sig);
        }
    }
  reap (s); /* SIGCHLDs coalesce: look anyway */
}

/* Wait for signals (and the answer channel) until `deadline` (-1: forever)
 * or `done` says so. */
static void
wait_events (struct supervisor *s, int64_t deadline, bool (*done) (struct supervisor *))
{
  while (!done (s))
    {
      struct pollfd fds[2] = { { .fd = s->sigfd, .events = POLLIN },
                               { .fd = s->answers.inotify_fd, .events = POLLIN } };
      int timeout = -1;

      if (deadline >= 0)
        {
          int64_t left = deadline - now_ms ();
          if (left <= 0)
            return;
          timeout = (int) left;
          /* without inotify the answer is looked for every 20 ms */
          if (s->answers.dirfd >= 0 && s->answers.inotify_fd < 0 && timeout > 20)
            timeout = 20;
        }
      if (poll (fds, 2, timeout) < 0 && errno != EINTR)
        return;
      if (fds[1].revents & POLLIN)
        answer_drain (&s->answers);
      handle_signals (s);
    }
}

static bool
child_ended (struct supervisor *s)
{
  return s->child_done;
}

static bool
answered_or_stopped (struct supervisor *s)
{
  return s->stop || answer_oom_killed (&s->answers, s->child);
}

static bool
stopped (struct supervisor *s)
{
  return s->stop;
}

/* How the run ended; a SIGKILL is an OOM kill only when the watcher says so. */
static struct run_end
verdict (struct supervisor *s)
{
  const siginfo_t *si = &s->child_info;
  struct run_end end = { .verdict = RESTART_VERDICT_EXITED };

  end.duration_ms = now_ms () - s->started_ms;
  if (si->si_code == CLD_EXITED)
    end.exit_code = si->si_status;
  else
    {
      end.signal = si->si_status;
      end.exit_code = 128 + si->si_status;
      if (si->si_status == SIGKILL)
        {
          end.verdict = RESTART_VERDICT_KILLED;
          if (s->answers.dirfd >= 0)
            {
              wait_events (s, now_ms () + VERDICT_WAIT_MS, answered_or_stopped);
              if (answer_oom_killed (&s->answers, s->child))
                end.verdict = RESTART_VERDICT_OOMKILLED;
            }
        }
    }
  waitpid (s->child, NULL, 0);
  return end;
}

/* The rest of a run dies with it, as in a container restart: everything in
 * the pid namespace when we are its init, the run's process group otherwise. */
static void
kill_leftovers (struct supervisor *s)
{
  pid_t group = s->child;
  int64_t deadline = now_ms () + LEFTOVER_WAIT_MS;

  if (s->leader)
    kill (-1, SIGKILL);
  else
    kill (-group, SIGKILL);
  s->child = 0;
  for (;;)
    {
      siginfo_t si;
      int64_t left;

      memset (&si, 0, sizeof (si));
      if (waitid (s->leader ? P_ALL : P_PGID, s->leader ? 0 : (id_t) group, &si, WEXITED | WNOHANG) < 0)
        return; /* ECHILD: all gone */
      if (si.si_pid != 0)
        continue;
      left = deadline - now_ms ();
      if (left <= 0)
        return;
      struct pollfd fd = { .fd = s->sigfd, .events = POLLIN };
      poll (&fd, 1, (int) (left < 10 ? left : 10));
      handle_signals (s);
    }
}

/* ---- records and messages ---- */

static void
record_exit (struct supervisor *s, const struct run_end *end)
{
  struct line l = { .len = 0 };

  put (&l, "{\"event\":\"exit\",\"mode\":\"process\",\"attempt\":");
  put_num (&l, s->restarts);
  put (&l, ",\"pid\":");
  put_num (&l, s->child);
  put (&l, ",\"verdict\":\"");
  put (&l, restart_verdict_name (end->verdict));
  put (&l, "\",\"exit_code\":");
  put_num (&l, end->exit_code);
  if (end->signal)
    {
      put (&l, ",\"signal\":");
      put_num (&l, end->signal);
    }
  put (&l, ",\"main_oom_killed\":");
  put (&l, end->verdict == RESTART_VERDICT_OOMKILLED ? "true" : "false");
  put (&l, ",\"run_ms\":");
  put_num (&l, end->duration_ms);
  put (&l, "}");
  send_line (&l, s->events_fd);
}

static void
record_restart (struct supervisor *s, const struct run_end *end, int64_t delay)
{
  struct line l = { .len = 0 };

  put (&l, "{\"event\":\"restart\",\"mode\":\"process\",\"attempt\":");
  put_num (&l, s->restarts);
  put (&l, ",\"delay_ms\":");
  put_num (&l, delay);
  put (&l, ",\"after\":\"");
  put (&l, restart_verdict_name (end->verdict));
  put (&l, "\"}");
  send_line (&l, s->events_fd);
}

static void
put_cause (struct line *l, const struct run_end *end)
{
  switch (end->verdict)
    {
    case RESTART_VERDICT_OOMKILLED:
      put (l, "OOM kill");
      return;
    case RESTART_VERDICT_KILLED:
      put (l, "SIGKILL");
      return;
    default:
      if (end->signal)
        {
          put (l, "signal ");
          put_num (l, end->signal);
        }
      else
        {
          put (l, "exit code ");
          put_num (l, end->exit_code);
        }
    }
}

/* memhook-init: restarting PROG after OOM kill (attempt 2/3) in 200 ms */
static void
say_restart (struct supervisor *s, const struct run_end *end, int64_t delay)
{
  struct line l = { .len = 0 };

  put (&l, "memhook-init: restarting ");
  put (&l, s->argv[0]);
  put (&l, " after ");
  put_cause (&l, end);
  put (&l, " (attempt ");
  put_num (&l, s->restarts);
  if (s->policy.max_restarts)
    {
      put (&l, "/");
      put_num (&l, s->policy.max_restarts);
    }
  put (&l, ") in ");
  put_num (&l, delay);
  put (&l, " ms");
  send_line (&l, STDERR_FILENO);
}

/* Only the ends a user could expect a restart after are explained. */
static void
say_no_restart (struct supervisor *s, const struct run_end *end, enum restart_decision decision)
{
  struct line l = { .len = 0 };

  if (decision == RESTART_STOP_SPENT)
    {
      put (&l, "memhook-init: not restarting ");
      put (&l, s->argv[0]);
      put (&l, " after ");
      put_cause (&l, end);
      put (&l, ": all ");
      put_num (&l, s->policy.max_restarts);
      put (&l, " restarts of ");
      put (&l, restart_mode_name (s->policy.mode));
      put (&l, " are spent");
    }
  else if (decision == RESTART_STOP_POLICY && s->policy.mode == RESTART_ON_OOM
           && end->verdict == RESTART_VERDICT_KILLED)
    {
      put (&l, "memhook-init: not restarting ");
      put (&l, s->argv[0]);
      put (&l, " after SIGKILL: no OOM kill was reported for it, and on-oom restarts after OOM kills only");
    }
  else
    return;
  send_line (&l, STDERR_FILENO);
}

/* ---- main ---- */

static int
setup_signals (struct supervisor *s)
{
  static const int synchronous[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };
  sigset_t all;

  /* Every signal that can be blocked is read from the signalfd: as PID 1 a
   * signal we do not handle would otherwise be dropped or kill us. */
  sigfillset (&all);
  for (size_t i = 0; i < sizeof (synchronous) / sizeof (synchronous[0]); i++)
    sigdelset (&all, synchronous[i]);
  if (sigprocmask (SIG_SETMASK, &all, &s->child_mask) < 0)
    return -1;
  signal (SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would auto-reap */
  s->sigfd = signalfd (-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
  return s->sigfd;
}

int
main (int argc, char **argv)
{
  cleanup_error mh_error_t err = NULL;
  struct supervisor s;
  struct options o;
  struct run_end end;
  char buf[512];

  memset (&s, 0, sizeof (s));
  parse_options (argc, argv, &o);
  if (restart_policy_parse (o.policy, o.backoff, o.grow, &s.policy, &err) < 0)
    {
      say (mh_error_text (err, buf, sizeof (buf)), NULL, NULL);
      return EXIT_USAGE;
    }
  s.argv = o.argv;
  s.answers.dirfd = s.answers.inotify_fd = -1;
  if (o.verdict_dir && answer_open (&s.answers, o.verdict_dir) < 0)
    say ("--verdict-dir ", o.verdict_dir, ": cannot open it; every SIGKILL will count as Killed, not OOMKilled");
  s.events_fd = open_events (&o);
  s.leader = getpid () == 1;
  if (!s.leader)
    prctl (PR_SET_CHILD_SUBREAPER, 1); /* orphans of the workload come to us */
  if (setup_signals (&s) < 0)
    {
      say ("cannot set up signal handling: ", strerror (errno), NULL);
      return 1;
    }
  for (;;)
    {
      enum restart_decision decision;
      int64_t delay;

      if (spawn (&s) < 0)
        {
          say ("cannot start ", s.argv[0], ": fork failed");
          return 1;
        }
      wait_events (&s, -1, child_ended);
      end = verdict (&s);
      record_exit (&s, &end);
      decision = restart_decide (&s.policy, end.verdict, end.exit_code, s.restarts, s.stop);
      if (decision != RESTART_GO)
        {
          say_no_restart (&s, &end, decision);
          return end.exit_code;
        }
      delay = restart_next_delay (&s.policy, &s.backoff, end.duration_ms);
      s.restarts++;
      say_restart (&s, &end, delay);
      record_restart (&s, &end, delay);
      kill_leftovers (&s);
      /* a stop during the wait ends it at once with the last status */
      wait_events (&s, s.stop ? 0 : now_ms () + delay, stopped);
      if (s.stop)
        return end.exit_code;
    }
}
