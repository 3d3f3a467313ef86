#include "inject_init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "memhook-build.h"
#include "state.h"
#include "statedir.h"

#define OOM_GROUP_KEY "memory.oom.group"

static bool
is_executable (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

/* Canonical: the mount source in config.json reads as a plain path. */
static int
found (const char *path, char **out, mh_error_t *err)
{
  *out = realpath (path, NULL);
  if (*out == NULL)
    *out = strdup (path);
  return *out ? 0 : mh_error_make (err, ENOMEM, "memhook-init path");
}

int
inject_init_find (char **out, mh_error_t *err)
{
  static const char *const relative[] = { "memhook-init", "../init/memhook-init", "../libexec/memhook/memhook-init" };
  const char *env = getenv ("MEMHOOK_INIT_PATH");
  char exe[PATH_MAX], candidate[PATH_MAX + 64];
  ssize_t n;

  if (env != NULL && env[0] != '\0')
    {
      if (env[0] != '/' || !is_executable (env))
        return mh_error_make (err, 0, "MEMHOOK_INIT_PATH %s: not an absolute path to an executable file; "
                              "give memhook-init's absolute path", env);
      return found (env, out, err);
    }
  n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      char *slash = strrchr (exe, '/');
      if (slash != NULL)
        {
          *slash = '\0';
          for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++)
            {
              snprintf (candidate, sizeof candidate, "%s/%s", exe, relative[i]);
              if (is_executable (candidate))
                return found (candidate, out, err);
            }
        }
    }
  if (is_executable (MEMHOOK_INIT_PATH))
    return found (MEMHOOK_INIT_PATH, out, err);
  return mh_error_make (err, 0, "memhook-init is neither next to memhook-runtime nor at " MEMHOOK_INIT_PATH
                        "; install it or set MEMHOOK_INIT_PATH to its absolute path");
}

static const struct json *
process_args (const struct json *root)
{
  const struct json *process = root && root->type == JSON_OBJECT ? json_get (root, "process") : NULL;
  const struct json *args = process && process->type == JSON_OBJECT ? json_get (process, "args") : NULL;

  return args && args->type == JSON_ARRAY ? args : NULL;
}

bool
inject_init_present (const struct json *root)
{
  const struct json *args = process_args (root);
  const struct json *first = args && args->u.array.len > 0 ? args->u.array.items[0] : NULL;

  return first != NULL && first->type == JSON_STRING && strcmp (first->u.string.data, INJECT_INIT_DEST) == 0;
}

int
inject_init_check_oom_group (const struct oci_config *config, mh_error_t *err)
{
  const char *v = oci_kv_get (&config->unified, OOM_GROUP_KEY);

  if (v == NULL || strcmp (v, "1") != 0)
    return 0;
  return mh_error_make (err, 0, "linux.resources.unified.memory.oom.group: is 1, so an OOM kill kills the whole "
                        "cgroup, memhook-init included, and io.memhook.restart cannot restart the workload in place; "
                        "set memory.oom.group to 0, or let memhook-runtime run the container in the foreground "
                        "(`run` without -d: container mode), or drop io.memhook.restart");
}

/* <state_dir>/<id>/verdicts (0700) and the records file (0600). */
static int
make_host_side (const char *state_dir, const char *id, mh_error_t *err)
{
  cleanup_close int sfd = -1;
  cleanup_close int cfd = -1;
  cleanup_close int rfd = -1;
  struct stat st;

  if (oci_id_check (id, err) < 0)
    return -1;
  if (statedir_open (state_dir, true, &sfd, err) < 0 || statedir_open_container (sfd, id, true, &cfd, err) < 0)
    return -1;
  if (mkdirat (cfd, INJECT_VERDICTS_NAME, 0700) < 0 && errno != EEXIST)
    return mh_error_make (err, errno, "mkdir %s/%s/" INJECT_VERDICTS_NAME, state_dir, id);
  if (fstatat (cfd, INJECT_VERDICTS_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
    return mh_error_make (err, errno ? errno : ENOTDIR, "%s/%s/" INJECT_VERDICTS_NAME, state_dir, id);
  rfd = openat (cfd, INJECT_RECORDS_NAME, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (rfd < 0)
    return mh_error_make (err, errno, "%s/%s/" INJECT_RECORDS_NAME, state_dir, id);
  return 0;
}

static int
push_string (struct json *arr, const char *s, mh_error_t *err)
{
  struct json *str = json_new_string (s);

  if (str == NULL)
    return mh_error_make (err, ENOMEM, "config.json");
  return json_array_append (arr, str, err);
}

static int
add_mount (struct json *mounts, const char *dest, const char *source, const char *rw, bool noexec, mh_error_t *err)
{
  cleanup_json struct json *m = json_new_object ();
  struct json *opts = json_new_array ();
  struct json *d = json_new_string (dest), *t = json_new_string ("bind"), *s = json_new_string (source);
  int r = 0;

  if (m == NULL || opts == NULL || d == NULL || t == NULL || s == NULL)
    {
      json_free (opts);
      json_free (d);
      json_free (t);
      json_free (s);
      return mh_error_make (err, ENOMEM, "config.json");
    }
  /* json_object_set owns the value from here on, even when it fails. */
  if (json_object_set (m, "destination", d, err) < 0 || json_object_set (m, "type", t, err) < 0
      || json_object_set (m, "source", s, err) < 0)
    r = -1;
  if (r == 0)
    r = push_string (opts, "bind", err) < 0 || push_string (opts, rw, err) < 0 || push_string (opts, "nosuid", err) < 0
                || push_string (opts, "nodev", err) < 0 || (noexec && push_string (opts, "noexec", err) < 0)
            ? -1
            : 0;
  if (r < 0)
    {
      json_free (opts);
      return -1;
    }
  if (json_object_set (m, "options", opts, err) < 0)
    return -1;
  /* json_array_append owns the value, even when it fails. */
  struct json *owned = m;
  m = NULL;
  return json_array_append (mounts, owned, err);
}

static int
add_mounts (struct json *root, const char *init_path, const char *host_dir, mh_error_t *err)
{
  cleanup_free char *verdicts = NULL;
  cleanup_free char *records = NULL;
  struct json *mounts = json_get (root, "mounts");

  if (asprintf (&verdicts, "%s/" INJECT_VERDICTS_NAME, host_dir) < 0
      || asprintf (&records, "%s/" INJECT_RECORDS_NAME, host_dir) < 0)
    return mh_error_make (err, ENOMEM, "config.json");
  if (mounts != NULL && mounts->type != JSON_ARRAY)
    return mh_error_make (err, 0, "mounts: expected an array, got %s", json_type_name (mounts->type));
  if (mounts == NULL)
    {
      mounts = json_new_array ();
      if (mounts == NULL || json_object_set (root, "mounts", mounts, err) < 0)
        return mounts ? -1 : mh_error_make (err, ENOMEM, "config.json");
    }
  if (add_mount (mounts, INJECT_INIT_DEST, init_path, "ro", false, err) < 0
      || add_mount (mounts, INJECT_VERDICTS_DEST, verdicts, "ro", true, err) < 0
      || add_mount (mounts, INJECT_RECORDS_DEST, records, "rw", true, err) < 0)
    return -1;
  return 0;
}

/* [init, --policy P, --backoff B, --grow G, --verdict-dir, --events-file, --, old args…]; each
 * setting from its annotation or from process.env (oci_restart_sources). */
static int
prefix_args (struct json *root, const struct oci_config *config, mh_error_t *err)
{
  struct restart_sources src;
  struct json *process = json_get (root, "process");
  const struct json *old = process_args (root);
  struct json *args = json_new_array ();
  int r = 0;

  oci_restart_sources (config, &src);
  const struct
  {
    const char *flag, *value;
  } copied[] = {
    { "--policy", src.restart.value },
    { "--backoff", src.backoff.value },
    { "--grow", src.grow.value },
  };

  if (args == NULL)
    return mh_error_make (err, ENOMEM, "config.json");
  if (old == NULL || old->u.array.len == 0)
    r = mh_error_make (err, 0, "process.args: missing or empty; memhook-init needs the workload to run");
  if (r == 0)
    r = push_string (args, INJECT_INIT_DEST, err);
  for (size_t i = 0; r == 0 && i < sizeof copied / sizeof copied[0]; i++)
    {
      if (copied[i].value != NULL)
        r = push_string (args, copied[i].flag, err) < 0 || push_string (args, copied[i].value, err) < 0 ? -1 : 0;
    }
  if (r == 0)
    r = push_string (args, "--verdict-dir", err) < 0 || push_string (args, INJECT_VERDICTS_DEST, err) < 0
                || push_string (args, "--events-file", err) < 0 || push_string (args, INJECT_RECORDS_DEST, err) < 0
                || push_string (args, "--", err) < 0
            ? -1
            : 0;
  for (size_t i = 0; r == 0 && i < old->u.array.len; i++)
    {
      struct json *copy = json_copy (old->u.array.items[i]);
      r = copy ? json_array_append (args, copy, err) : mh_error_make (err, ENOMEM, "config.json");
    }
  if (r < 0)
    {
      json_free (args);
      return -1;
    }
  return json_object_set (process, "args", args, err);
}

int
inject_init_check (const struct json *root, const char *id, mh_error_t *err)
{
  const struct json *args = process_args (root);
  const struct json *mounts = root && root->type == JSON_OBJECT ? json_get (root, "mounts") : NULL;

  if (oci_id_check (id, err) < 0)
    return -1;
  if (args == NULL || args->u.array.len == 0)
    return mh_error_make (err, 0, "process.args: missing or empty; memhook-init needs the workload to run");
  if (mounts != NULL && mounts->type != JSON_ARRAY)
    return mh_error_make (err, 0, "mounts: expected an array, got %s; give a list of mounts or none",
                          json_type_name (mounts->type));
  return 0;
}

int
inject_init (struct json *root, const char *init_path, const char *state_dir, const char *id,
             const struct oci_config *config, const struct restart_policy *policy, bool *changed, mh_error_t *err)
{
  cleanup_free char *host_dir = NULL;

  if (policy->mode == RESTART_NO || inject_init_present (root))
    return 0;
  if (inject_init_check (root, id, err) < 0)
    return -1;
  if (make_host_side (state_dir, id, err) < 0)
    return mh_error_wrap (err, "memhook-init's verdict dir");
  if (asprintf (&host_dir, "%s/%s", state_dir, id) < 0)
    return mh_error_make (err, ENOMEM, "config.json");
  if (prefix_args (root, config, err) < 0 || add_mounts (root, init_path, host_dir, err) < 0)
    return -1;
  *changed = true;
  return 0;
}
