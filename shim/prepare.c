#include "prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "config.h"
#include "events.h"
#include "fsutil.h"
#include "inject_init.h"
#include "json.h"
#include "mode.h"
#include "plan.h"
#include "rewrite.h"
#include "runlog.h"
#include "runtime.h"
#include "statedir.h"
#include "supervise.h"

#define CONFIG_NAME "config.json"
#define UNIFIED_PREFIX "linux.resources.unified."

/* Everything one preparation holds; freed in one place. */
struct bundle
{
  const struct shim_args *args;
  const struct options *opts;
  const char *id;
  int dirfd;
  char *text; /* config.json as read */
  size_t len;
  mode_t mode;
  struct json *root;
  struct oci_config config;
  bool config_parsed;
  struct cg_host host;
  struct plan plan;
  bool planned;
  int state_dirfd; /* opened on the first warning */
};

static void
bundle_free (struct bundle *b)
{
  if (b->dirfd >= 0)
    close (b->dirfd);
  if (b->state_dirfd >= 0)
    close (b->state_dirfd);
  free (b->text);
  json_free (b->root);
  if (b->config_parsed)
    oci_config_free (&b->config);
  cg_host_free (&b->host);
  if (b->planned)
    plan_free (&b->plan);
}

/* "memhook: <id>: " in front of the message, as the hook's lines have. */
static int
refuse (struct bundle *b, mh_error_t *err)
{
  return mh_error_wrap (err, "memhook: %s", b->id);
}

/* A fault of memhook's own environment: --on-fault decides.  Returns 0
 * when the container may go on without that part of memhook. */
static int
fault (struct bundle *b, mh_error_t *err)
{
  char buf[1024];
  cleanup_free char *line = NULL;

  if (b->opts->on_fault == ON_FAULT_FAIL)
    return -1;
  if (asprintf (&line, "memhook: %s: %s; going on without it (--on-fault=pass)", b->id,
                mh_error_text (*err, buf, sizeof buf)) >= 0)
    shim_report (b->args, SHIM_LEVEL_WARNING, line);
  mh_error_free (err);
  return 0;
}

static int
record_warning (struct bundle *b, const char *field, const char *message, mh_error_t *err)
{
  if (b->state_dirfd < 0 && statedir_open (b->opts->state_dir, true, &b->state_dirfd, err) < 0)
    {
      b->state_dirfd = -1;
      return -1;
    }
  if (events_warning (b->state_dirfd, b->id, &b->config.annotations, "field", field, message, err) < 0)
    return mh_error_wrap (err, "record a warning event");
  return 0;
}

/* Every warning goes to stderr (and the --log file) and into the event
 * log: runc's callers show a runtime's stderr only on failure. */
static int
warn (struct bundle *b, const char *field, const char *message, mh_error_t *err)
{
  cleanup_free char *line = NULL;

  if (asprintf (&line, "memhook: %s: %s: %s", b->id, field, message) >= 0)
    shim_report (b->args, SHIM_LEVEL_WARNING, line);
  if (record_warning (b, field, message, err) < 0)
    return fault (b, err);
  return 0;
}

int
shim_bundle_open (const char *dir, int *dirfd, mode_t *mode, mh_error_t *err)
{
  struct stat st;

  *dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0)
    return mh_error_make (err, errno, "bundle %s", dir);
  if (fstatat (*dirfd, CONFIG_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return mh_error_make (err, errno, "bundle %s: %s", dir, CONFIG_NAME);
  if (!S_ISREG (st.st_mode))
    return mh_error_make (err, 0, "bundle %s: %s is not a regular file; memhook-runtime replaces it atomically "
                          "and follows no symlink: give the bundle a regular config.json", dir, CONFIG_NAME);
  *mode = st.st_mode & 07777;
  return 0;
}

static int
load (struct bundle *b, mh_error_t *err)
{
  const char *dir = b->args->bundle ? b->args->bundle : ".";

  if (shim_bundle_open (dir, &b->dirfd, &b->mode, err) < 0)
    return -1;
  if (read_file_at (b->dirfd, CONFIG_NAME, JSON_MAX_INPUT, &b->text, &b->len, err) < 0)
    return mh_error_wrap (err, "bundle %s", dir);
  if (json_parse (b->text, b->len, CONFIG_NAME, &b->root, err) < 0)
    return -1;
  if (oci_config_from_json (b->root, &b->config, err) < 0)
    return mh_error_wrap (err, CONFIG_NAME);
  b->config_parsed = true;
  return 0;
}

/* Returns 1 when planned, 0 when the host could not be read and
 * --on-fault=pass lets the container go on untouched. */
static int
plan_for_host (struct bundle *b, mh_error_t *err)
{
  struct plan_input in = {
    .config = &b->config,
    .unsupported = b->opts->unsupported,
    .has_default_limit = b->opts->has_default_limit,
    .default_limit = b->opts->default_limit,
    .has_max_limit = b->opts->has_max_limit,
    .max_limit = b->opts->max_limit,
    .current = { .known = false },
  };

  if (cg_host_detect ("/sys/fs/cgroup", &b->host, err) < 0)
    return fault (b, err) < 0 ? -1 : 0;
  in.version = b->host.memory_version;
  if (plan_build (&in, &b->plan, err) < 0)
    return -1;
  b->planned = true;
  if (b->plan.n_errors > 0)
    return mh_error_make (err, 0, "%s", plan_first_error (&b->plan));
  return 1;
}

static const char *
plan_warning_for (const struct plan *p, const char *field)
{
  for (size_t i = 0; i < p->n_warnings; i++)
    if (p->warnings[i].field && strcmp (p->warnings[i].field, field) == 0)
      return p->warnings[i].message;
  return NULL;
}

/* A field dropped from config.json is warned about when the plan says
 * why (present 0, --unsupported=warn); under --unsupported=ignore the
 * plan is silent and so is the wrapper. */
static int
warn_dropped (struct bundle *b, const struct rewrite_result *res, mh_error_t *err)
{
  for (size_t i = 0; i < res->n_dropped; i++)
    {
      const char *why = plan_warning_for (&b->plan, res->dropped[i]);
      if (why != NULL && warn (b, res->dropped[i], why, err) < 0)
        return -1;
    }
  if (!res->unified_dropped)
    return 0;
  for (size_t i = 0; i < b->plan.n_warnings; i++)
    if (strncmp (b->plan.warnings[i].field, UNIFIED_PREFIX, strlen (UNIFIED_PREFIX)) == 0
        && warn (b, b->plan.warnings[i].field, b->plan.warnings[i].message, err) < 0)
      return -1;
  return 0;
}

static int
normalize (struct bundle *b, struct rewrite_result *res, mh_error_t *err)
{
  if (rewrite_memory (b->root, &b->plan.effective, res, err) < 0)
    return mh_error_wrap (err, CONFIG_NAME);
  /* runc refuses linux.resources.unified on v1; the plan has refused it
   * already under --unsupported=error. */
  if (b->plan.version == CG_V1 && b->config.unified.len > 0 && rewrite_drop_unified (b->root, res, err) < 0)
    return mh_error_wrap (err, CONFIG_NAME);
  return warn_dropped (b, res, err);
}

/* The operator's options, and --exit-by=runtime when this call stays the
 * container's parent: it alone knows the exit status, so it ends each run. */
static char **
hook_args_for (const struct bundle *b, const struct restart_policy *policy)
{
  char **args = options_to_args (b->opts);
  size_t n = 0;
  char **grown;

  if (args == NULL || !shim_supervises (b->args, policy))
    return args;
  while (args[n] != NULL)
    n++;
  grown = calloc (n + 2, sizeof (char *));
  if (grown != NULL && (grown[n] = strdup ("--exit-by=runtime")) != NULL)
    {
      memcpy (grown, args, n * sizeof (char *));
      free (args);
      return grown;
    }
  free (grown);
  for (size_t i = 0; i < n; i++)
    free (args[i]);
  free (args);
  return NULL;
}

static int
inject_hooks (struct bundle *b, const struct restart_policy *policy, struct rewrite_result *res, mh_error_t *err)
{
  cleanup_free char *hook = NULL;
  char **hook_args = NULL;
  int r;

  if (rewrite_hooks_present (b->root))
    return 0;
  if (shim_hook_find (&hook, err) < 0)
    return fault (b, err);
  hook_args = hook_args_for (b, policy);
  if (hook_args == NULL)
    return mh_error_make (err, ENOMEM, "hook args");
  r = rewrite_hooks (b->root, hook, hook_args, res, err);
  for (size_t i = 0; hook_args[i]; i++)
    free (hook_args[i]);
  free (hook_args);
  return r < 0 ? mh_error_wrap (err, CONFIG_NAME) : 0;
}

/* Process mode (issue 8): the engine owns the container's life after
 * `create`, and nobody waits for a `run -d`/`--console-socket`, so
 * memhook-init restarts the workload inside the container. */
static int
inject_restart_init (struct bundle *b, const struct restart_policy *policy, struct rewrite_result *res,
                     mh_error_t *err)
{
  cleanup_free char *init = NULL;

  if (!shim_args_process_mode (b->args) || policy->mode == RESTART_NO)
    return 0;
  /* On v1 the unified keys are dropped (runc refuses them there). */
  if (!(b->planned && b->plan.version == CG_V1) && inject_init_check_oom_group (&b->config, err) < 0)
    return -1;
  if (inject_init_present (b->root))
    return 0;
  /* Invalid input is refused; only memhook's own environment is a fault. */
  if (inject_init_check (b->root, b->id, err) < 0)
    return -1;
  if (inject_init_find (&init, err) < 0)
    return fault (b, err);
  if (inject_init (b->root, init, b->opts->state_dir, b->id, &b->config, policy, &res->changed, err) < 0)
    return fault (b, err);
  return 0;
}

/* Byte comparison too: a change that serializes to the file as it is
 * (whitespace aside it cannot, but cheap to be sure) is no change. */
static int
write_back (struct bundle *b, bool *written, mh_error_t *err)
{
  cleanup_free char *out = NULL;
  size_t len = 0;

  *written = false;
  if (json_serialize (b->root, &out, &len, err) < 0)
    return mh_error_wrap (err, CONFIG_NAME);
  if (len == b->len && memcmp (out, b->text, len) == 0)
    return 0;
  if (write_file_atomic (b->dirfd, CONFIG_NAME, out, len, b->mode, err) < 0)
    return fault (b, err);
  *written = true;
  return 0;
}

int
shim_prepare (const struct shim_args *args, const struct options *opts, struct shim_prepared *out, mh_error_t *err)
{
  struct bundle b = { .args = args, .opts = opts, .id = args->container_id, .dirfd = -1, .state_dirfd = -1 };
  struct rewrite_result res = { .changed = false };
  int r;

  memset (out, 0, sizeof (*out));
  restart_policy_init (&out->restart);
  if (load (&b, err) < 0 || shim_restart_policy (&b.config, &out->restart, err) < 0)
    goto refused;
  r = plan_for_host (&b, err);
  if (r < 0)
    goto refused;
  if (r > 0 && normalize (&b, &res, err) < 0)
    goto refused;
  if (r > 0 && inject_hooks (&b, &out->restart, &res, err) < 0)
    goto refused;
  if (inject_restart_init (&b, &out->restart, &res, err) < 0)
    goto refused;
  if (res.changed && write_back (&b, &out->rewritten, err) < 0)
    goto refused;
  bundle_free (&b);
  return 0;
refused:
  refuse (&b, err);
  bundle_free (&b);
  return -1;
}
