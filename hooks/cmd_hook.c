/* memhook hook STAGE: the OCI hook.  Parses the options and the state on
 * stdin, opens the state dir, runs the stage, prints one error line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "events.h"
#include "record.h"
#include "stage.h"
#include "statedir.h"

static const struct
{
  const char *name;
  int (*run) (struct hook_ctx *, mh_error_t *);
} stages[] = {
  { "createRuntime", stage_create },
  { "prestart", stage_create },
  { "poststart", stage_poststart },
  { "poststop", stage_poststop },
};

static void
usage (FILE *out)
{
  fputs ("usage: memhook hook STAGE [--state-dir DIR] [--unsupported=error|warn|ignore]\n"
         "                          [--default-limit SIZE] [--max-limit SIZE] [--on-fault=pass|fail]\n"
         "                          [--metrics-dir DIR] [--exit-by=watcher|runtime]\n"
         "\n"
         "STAGE is createRuntime or prestart (register one), poststart, or poststop.\n"
         "The runtime passes the container's state JSON on stdin.  See memhook(1).\n",
         out);
}

static const char *
shown_id (const struct hook_ctx *ctx)
{
  return ctx->state.id ? ctx->state.id : "(no id)";
}

/* One line on stderr, one in syslog: runc shows a hook's stderr only when
 * the hook fails, syslog keeps what a passing hook had to say. */
static void
say (const struct hook_ctx *ctx, int priority, const char *kind, const char *text)
{
  fprintf (stderr, "memhook: %s: %s%s\n", shown_id (ctx), kind, text);
  syslog (priority, "%s: %s%s", shown_id (ctx), kind, text);
}

void
hook_warning (struct hook_ctx *ctx, const char *field_key, const char *field, const char *message)
{
  cleanup_error mh_error_t e = NULL;
  char line[2048];

  if (field)
    snprintf (line, sizeof (line), "%s: %s", field, message);
  else
    snprintf (line, sizeof (line), "%s", message);
  say (ctx, LOG_WARNING, "warning: ", line);
  if (ctx->state_dirfd >= 0 && ctx->state.id)
    events_warning (ctx->state_dirfd, ctx->state.id, &ctx->state.annotations, field_key, field, message, &e);
}

int
hook_fault (struct hook_ctx *ctx, mh_error_t *err)
{
  char text[2048];

  if (ctx->opts.on_fault == ON_FAULT_FAIL)
    return STAGE_FAULT;
  mh_error_text (*err, text, sizeof (text));
  hook_warning (ctx, "stage", ctx->stage, text);
  mh_error_free (err);
  return 0;
}

int
hook_load_record (struct hook_ctx *ctx, int *container_dirfd, struct json **rec, mh_error_t *err)
{
  *rec = NULL;
  if (ctx->state_dirfd < 0)
    return 0;
  if (statedir_open_container (ctx->state_dirfd, ctx->state.id, false, container_dirfd, err) < 0)
    {
      if ((*err)->errnum != ENOENT)
        return hook_fault (ctx, err) < 0 ? STAGE_FAULT : 1;
      mh_error_free (err);
      return 0;
    }
  if (record_load (*container_dirfd, rec, err) < 0)
    return hook_fault (ctx, err) < 0 ? STAGE_FAULT : 1;
  return 0;
}

static int
find_stage (const char *name)
{
  for (size_t i = 0; i < sizeof (stages) / sizeof (stages[0]); i++)
    if (strcmp (stages[i].name, name) == 0)
      return (int) i;
  return -1;
}

/* --exit-by=runtime: memhook-runtime run, the container's parent, ends
 * the run with the exit status it saw (it adds this to the hooks it
 * injects when it supervises restarts). */
static int
parse_exit_by (const char *v, bool *by_runtime)
{
  if (strcmp (v, "runtime") != 0 && strcmp (v, "watcher") != 0)
    {
      fprintf (stderr, "memhook: hook: --exit-by: 'watcher' or 'runtime', not '%s'\n", v);
      return 2;
    }
  *by_runtime = strcmp (v, "runtime") == 0;
  return -1;
}

static int
parse_args (int argc, char **argv, struct options_cli *cli, const char **stage, bool *exit_by_runtime)
{
  static const struct option longopts[] = {
    { "state-dir", required_argument, NULL, 's' },   { "unsupported", required_argument, NULL, 'u' },
    { "default-limit", required_argument, NULL, 'd' }, { "max-limit", required_argument, NULL, 'm' },
    { "on-fault", required_argument, NULL, 'f' },    { "metrics-dir", required_argument, NULL, 'M' },
    { "exit-by", required_argument, NULL, 'x' },     { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":h", longopts, NULL)) != -1)
    switch (c)
      {
      case 's': cli->state_dir = optarg; break;
      case 'u': cli->unsupported = optarg; break;
      case 'd': cli->default_limit = optarg; break;
      case 'm': cli->max_limit = optarg; break;
      case 'f': cli->on_fault = optarg; break;
      case 'M': cli->metrics_dir = optarg; break;
      case 'x':
        if (parse_exit_by (optarg, exit_by_runtime) >= 0)
          return 2;
        break;
      case 'h': usage (stdout); return 0;
      case ':':
        fprintf (stderr, "memhook: hook: %s needs a value\n", argv[optind - 1]);
        return 2;
      default:
        fprintf (stderr, "memhook: hook: unknown option '%s'; run 'memhook hook --help'\n", argv[optind - 1]);
        return 2;
      }
  if (optind != argc - 1)
    {
      fputs (optind >= argc ? "memhook: hook: missing STAGE\n" : "memhook: hook: one STAGE only\n", stderr);
      usage (stderr);
      return 2;
    }
  *stage = argv[optind];
  if (find_stage (*stage) < 0)
    {
      fprintf (stderr, "memhook: hook: unknown stage '%s'; use createRuntime, prestart, poststart or poststop\n", *stage);
      return 2;
    }
  return -1;
}

/* The state dir is memhook's own environment: a failure to open it is a
 * fault, under pass the stage runs without records. */
static int
open_state_dir (struct hook_ctx *ctx, mh_error_t *err)
{
  if (statedir_open (ctx->opts.state_dir, true, &ctx->state_dirfd, err) == 0)
    return 0;
  ctx->state_dirfd = -1;
  return hook_fault (ctx, err);
}

static int
fail (struct hook_ctx *ctx, mh_error_t err)
{
  char text[4096];

  say (ctx, LOG_ERR, "", mh_error_text (err, text, sizeof (text)));
  return 1;
}

int
cmd_hook (int argc, char **argv)
{
  struct options_cli cli = { 0 };
  struct hook_ctx ctx = { .state_dirfd = -1 };
  cleanup_error mh_error_t err = NULL;
  const char *stage = NULL;
  int rc, status;

  rc = parse_args (argc, argv, &cli, &stage, &ctx.exit_by_runtime);
  if (rc >= 0)
    return rc;
  ctx.stage = stage;
  /* Connected on the first message only (most runs have none): the
   * seccomp allow-list has socket and connect for it. */
  openlog ("memhook", LOG_PID, LOG_DAEMON);
  if (options_resolve (&cli, NULL, &ctx.opts, &err) < 0)
    {
      /* A bad value on the command line is a usage error; one from the
       * environment or the config file is a failure (options.h names the
       * source first: "--max-limit: …"). */
      status = fail (&ctx, err);
      if (err->msg && strncmp (err->msg, "--", 2) == 0)
        status = 2;
      goto out;
    }
  if (oci_state_read_fd (STDIN_FILENO, &ctx.state, &err) < 0)
    {
      status = fail (&ctx, err);
      goto out;
    }
  if (open_state_dir (&ctx, &err) < 0)
    {
      status = fail (&ctx, err);
      goto out;
    }
  rc = stages[find_stage (stage)].run (&ctx, &err);
  /* Out of memory is a fault wherever it happens. */
  if (rc < 0 && rc != STAGE_FAULT && err != NULL && err->errnum == ENOMEM)
    rc = hook_fault (&ctx, &err);
  status = rc < 0 ? fail (&ctx, err) : 0;
out:
  if (ctx.state_dirfd >= 0)
    close (ctx.state_dirfd);
  oci_state_free (&ctx.state);
  options_free (&ctx.opts);
  closelog ();
  return status;
}
