/* Where the real runtime and the hook binary are.  Identity is decided by
 * inode, not by name: an operator may install the wrapper as "runc" in
 * /usr/local/sbin, in front of the real one. */
#include "runtime.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

struct self_id
{
  bool known;
  dev_t dev;
  ino_t ino;
};

static void
self_id_get (struct self_id *self)
{
  struct stat st;

  self->known = stat ("/proc/self/exe", &st) == 0;
  if (self->known)
    {
      self->dev = st.st_dev;
      self->ino = st.st_ino;
    }
}

enum candidate
{
  CANDIDATE_NONE, /* missing or not an executable file */
  CANDIDATE_SELF,
  CANDIDATE_OK,
};

static enum candidate
candidate_check (const char *path, const struct self_id *self)
{
  struct stat st;

  if (stat (path, &st) < 0 || !S_ISREG (st.st_mode) || access (path, X_OK) < 0)
    return CANDIDATE_NONE;
  if (self->known && st.st_dev == self->dev && st.st_ino == self->ino)
    return CANDIDATE_SELF;
  return CANDIDATE_OK;
}

/* name in each directory of PATH, then of SHIM_SBIN_DIRS.  Relative PATH
 * entries are skipped when absolute_only (hook paths in config.json must
 * be absolute).  *saw_self tells whether only this binary answered. */
static char *
search (const char *name, const struct self_id *self, bool absolute_only, bool *saw_self)
{
  const char *path_env = getenv ("PATH");
  const char *lists[] = { path_env ? path_env : "", SHIM_SBIN_DIRS };

  for (size_t l = 0; l < sizeof (lists) / sizeof (lists[0]); l++)
    {
      const char *p = lists[l];
      while (*p)
        {
          size_t len = strcspn (p, ":");
          char candidate[PATH_MAX];

          if (len > 0 && (!absolute_only || p[0] == '/')
              && snprintf (candidate, sizeof candidate, "%.*s/%s", (int) len, p, name) < (int) sizeof candidate)
            {
              switch (candidate_check (candidate, self))
                {
                case CANDIDATE_OK:
                  return strdup (candidate);
                case CANDIDATE_SELF:
                  *saw_self = true;
                  break;
                case CANDIDATE_NONE:
                  break;
                }
            }
          p += len;
          if (*p == ':')
            p++;
        }
    }
  return NULL;
}

static int
configured_runtime (const char *configured, const struct self_id *self, char **out, mh_error_t *err)
{
  bool saw_self = false;

  if (strchr (configured, '/') == NULL)
    {
      *out = search (configured, self, false, &saw_self);
      if (*out != NULL)
        return 0;
      return mh_error_make (err, 0, "runtime \"%s\" (MEMHOOK_REAL_RUNTIME or \"runtime\" in the config file): %s; "
                            "install it or give the real runtime's path",
                            configured, saw_self ? "only memhook-runtime itself has that name" : "not found on PATH or in " SHIM_SBIN_DIRS);
    }
  switch (candidate_check (configured, self))
    {
    case CANDIDATE_OK:
      *out = strdup (configured);
      return *out ? 0 : mh_error_make (err, ENOMEM, "runtime");
    case CANDIDATE_SELF:
      return mh_error_make (err, 0, "runtime %s (MEMHOOK_REAL_RUNTIME or \"runtime\" in the config file) is "
                            "memhook-runtime itself; give the real runtime (runc or crun)", configured);
    case CANDIDATE_NONE:
      break;
    }
  return mh_error_make (err, 0, "runtime %s (MEMHOOK_REAL_RUNTIME or \"runtime\" in the config file) is not an "
                        "executable file; give the real runtime's path", configured);
}

int
shim_runtime_find (const char *configured, char **out, mh_error_t *err)
{
  static const char *const defaults[] = { "runc", "crun" };
  struct self_id self;
  bool saw_self = false;

  self_id_get (&self);
  if (configured != NULL && configured[0] != '\0')
    return configured_runtime (configured, &self, out, err);
  for (size_t i = 0; i < sizeof (defaults) / sizeof (defaults[0]); i++)
    {
      *out = search (defaults[i], &self, false, &saw_self);
      if (*out != NULL)
        return 0;
    }
  if (saw_self)
    return mh_error_make (err, 0, "no real runtime: the only runc found is memhook-runtime itself; install runc or "
                          "crun, or set MEMHOOK_REAL_RUNTIME to the real runtime's path");
  return mh_error_make (err, 0, "no real runtime: neither runc nor crun is on PATH or in " SHIM_SBIN_DIRS
                        "; install one, or set MEMHOOK_REAL_RUNTIME to its path");
}

int
shim_hook_find (char **out, mh_error_t *err)
{
  const char *env = getenv ("MEMHOOK_HOOK_PATH");
  struct self_id self = { .known = false };
  char exe[PATH_MAX], candidate[PATH_MAX + 16];
  bool saw_self = false;
  ssize_t n;

  if (env != NULL && env[0] != '\0')
    {
      if (env[0] != '/' || candidate_check (env, &self) != CANDIDATE_OK)
        return mh_error_make (err, 0, "MEMHOOK_HOOK_PATH %s: not an absolute path to an executable file; "
                              "give the memhook binary's absolute path", env);
      *out = strdup (env);
      return *out ? 0 : mh_error_make (err, ENOMEM, "hook path");
    }
  n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      char *slash = strrchr (exe, '/');
      if (slash != NULL)
        {
          *slash = '\0';
          snprintf (candidate, sizeof candidate, "%s/memhook", exe);
          if (candidate_check (candidate, &self) == CANDIDATE_OK)
            {
              *out = strdup (candidate);
              return *out ? 0 : mh_error_make (err, ENOMEM, "hook path");
            }
        }
    }
  *out = search ("memhook", &self, true, &saw_self);
  if (*out != NULL)
    return 0;
  return mh_error_make (err, 0, "the memhook hook binary is neither next to memhook-runtime nor on PATH; "
                        "install memhook or set MEMHOOK_HOOK_PATH to its absolute path");
}
