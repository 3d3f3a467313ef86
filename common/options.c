/* Operator options: command line → environment → config file → default.
 *
 * Every source that gives a value is checked, even when a higher one
 * overrides it: a typo in /etc/memhook/memhook.json must not wait for the
 * day the command-line override is removed. */
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "size.h"

extern char **environ;

/* One option as each source spells it. */
struct option_names
{
  const char *cli; /* "--max-limit" */
  const char *env; /* "MEMHOOK_MAX_LIMIT" */
  const char *key; /* "max_limit" */
};

enum option_id
{
  OPT_STATE_DIR,
  OPT_UNSUPPORTED,
  OPT_DEFAULT_LIMIT,
  OPT_MAX_LIMIT,
  OPT_ON_FAULT,
  OPT_RUNTIME,
  OPT_METRICS_DIR,
  OPT_COUNT,
};

static const struct option_names names[OPT_COUNT] = {
  [OPT_STATE_DIR] = { "--state-dir", "MEMHOOK_STATE_DIR", "state_dir" },
  [OPT_UNSUPPORTED] = { "--unsupported", "MEMHOOK_UNSUPPORTED", "unsupported" },
  [OPT_DEFAULT_LIMIT] = { "--default-limit", "MEMHOOK_DEFAULT_LIMIT", "default_limit" },
  [OPT_MAX_LIMIT] = { "--max-limit", "MEMHOOK_MAX_LIMIT", "max_limit" },
  [OPT_ON_FAULT] = { "--on-fault", "MEMHOOK_ON_FAULT", "on_fault" },
  [OPT_RUNTIME] = { "--runtime", "MEMHOOK_REAL_RUNTIME", "runtime" },
  [OPT_METRICS_DIR] = { "--metrics-dir", "MEMHOOK_METRICS_DIR", "metrics_dir" },
};

/* The raw text of one option from each source; NULL = not given. */
struct option_texts
{
  const char *cli[OPT_COUNT];
  const char *env[OPT_COUNT];
  const char *file[OPT_COUNT];
  char *file_owned[OPT_COUNT]; /* numbers from the file, printed */
  const char *file_path;
};

int
unsupported_mode_parse (const char *s, const char *what, enum unsupported_mode *out, mh_error_t *err)
{
  if (s != NULL && strcmp (s, "error") == 0)
    *out = UNSUPPORTED_ERROR;
  else if (s != NULL && strcmp (s, "warn") == 0)
    *out = UNSUPPORTED_WARN;
  else if (s != NULL && strcmp (s, "ignore") == 0)
    *out = UNSUPPORTED_IGNORE;
  else
    return mh_error_make (err, 0, "%s: \"%s\" is not a mode; use error, warn or ignore", what, s ? s : "");
  return 0;
}

const char *
unsupported_mode_name (enum unsupported_mode m)
{
  switch (m)
    {
    case UNSUPPORTED_ERROR:
      return "error";
    case UNSUPPORTED_WARN:
      return "warn";
    case UNSUPPORTED_IGNORE:
      return "ignore";
    }
  return "?";
}

int
on_fault_parse (const char *s, const char *what, enum on_fault *out, mh_error_t *err)
{
  if (s != NULL && strcmp (s, "pass") == 0)
    *out = ON_FAULT_PASS;
  else if (s != NULL && strcmp (s, "fail") == 0)
    *out = ON_FAULT_FAIL;
  else
    return mh_error_make (err, 0, "%s: \"%s\" is not a choice; use pass or fail", what, s ? s : "");
  return 0;
}

static const char *
env_lookup (char *const *envp, const char *name)
{
  size_t n = strlen (name);

  for (; envp != NULL && *envp != NULL; envp++)
    if (strncmp (*envp, name, n) == 0 && (*envp)[n] == '=')
      return *envp + n + 1;
  return NULL;
}

/* A limit option: a size, or "none"/"max"/-1 for "no limit of this kind"
 * (an unlimited default is the same as no default). */
static int
limit_option_parse (const char *text, const char *what, bool *has, int64_t *value, mh_error_t *err)
{
  int64_t v;

  if (text != NULL && strcmp (text, "none") == 0)
    {
      *has = false;
      return 0;
    }
  if (size_parse (text, what, &v, err) < 0)
    return -1;
  if (v == 0)
    return mh_error_make (err, 0, "%s: 0 is not a limit; give a size such as 64m, or none", what);
  *has = v != SIZE_UNLIMITED;
  *value = *has ? v : 0;
  return 0;
}

static int
path_option_check (const char *text, const char *what, bool absolute, mh_error_t *err)
{
  if (text == NULL || *text == '\0')
    return mh_error_make (err, 0, "%s: empty; give a path", what);
  if (absolute && text[0] != '/')
    return mh_error_make (err, 0, "%s: \"%s\" is not an absolute path; give a path starting with /", what, text);
  return 0;
}

/* What the option means, into *o; only the fields of this option change. */
static int
option_apply (enum option_id id, const char *text, const char *what, struct options *o, mh_error_t *err)
{
  switch (id)
    {
    case OPT_STATE_DIR:
      if (path_option_check (text, what, true, err) < 0)
        return -1;
      free (o->state_dir);
      o->state_dir = strdup (text);
      return o->state_dir ? 0 : mh_error_make (err, ENOMEM, "%s", what);
    case OPT_UNSUPPORTED:
      return unsupported_mode_parse (text, what, &o->unsupported, err);
    case OPT_DEFAULT_LIMIT:
      return limit_option_parse (text, what, &o->has_default_limit, &o->default_limit, err);
    case OPT_MAX_LIMIT:
      return limit_option_parse (text, what, &o->has_max_limit, &o->max_limit, err);
    case OPT_ON_FAULT:
      return on_fault_parse (text, what, &o->on_fault, err);
    case OPT_RUNTIME:
      if (path_option_check (text, what, false, err) < 0)
        return -1;
      free (o->runtime);
      o->runtime = strdup (text);
      return o->runtime ? 0 : mh_error_make (err, ENOMEM, "%s", what);
    case OPT_METRICS_DIR:
      if (path_option_check (text, what, true, err) < 0)
        return -1;
      free (o->metrics_dir);
      o->metrics_dir = strdup (text);
      return o->metrics_dir ? 0 : mh_error_make (err, ENOMEM, "%s", what);
    case OPT_COUNT:
      break;
    }
  return mh_error_make (err, EINVAL, "%s: unknown option", what);
}

static bool
option_is_size (enum option_id id)
{
  return id == OPT_DEFAULT_LIMIT || id == OPT_MAX_LIMIT;
}

/* The file's values as text: strings as they are; sizes may also be
 * integers (bytes). */
static int
file_value_text (struct option_texts *t, enum option_id id, const struct json *v, mh_error_t *err)
{
  const char *path = t->file_path, *key = names[id].key;

  if (v->type == JSON_STRING)
    {
      if (strlen (v->u.string.data) != v->u.string.len)
        return mh_error_make (err, 0, "%s: %s: contains a NUL byte; give a plain string", path, key);
      t->file[id] = v->u.string.data;
      return 0;
    }
  if (v->type == JSON_NUMBER && option_is_size (id))
    {
      int64_t n;
      cleanup_error mh_error_t nerr = NULL;

      if (json_number_int64 (v, key, &n, &nerr) < 0)
        return mh_error_make (err, 0, "%s: %s: %s is not a whole number of bytes; give bytes or a size string like \"1g\"",
                              path, key, v->u.number);
      if (asprintf (&t->file_owned[id], "%" PRId64, n) < 0)
        return mh_error_make (err, ENOMEM, "%s: %s", path, key);
      t->file[id] = t->file_owned[id];
      return 0;
    }
  return mh_error_make (err, 0, "%s: %s: expected a %s, got %s; write it as in %s",
                        path, key, option_is_size (id) ? "size string or a number of bytes" : "string",
                        json_type_name (v->type),
                        option_is_size (id) ? "\"max_limit\": \"1g\"" : "\"state_dir\": \"/run/memhook\"");
}

static int
file_load (struct option_texts *t, struct json **root, mh_error_t *err)
{
  cleanup_close int fd = -1;
  struct stat st;
  const struct json *r;

  fd = open (t->file_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT)
    return 0; /* no config file: every option from elsewhere */
  if (fd < 0)
    return mh_error_make (err, errno, "config file %s: cannot open; fix its permissions or set MEMHOOK_CONFIG",
                          t->file_path);
  if (fstat (fd, &st) < 0)
    return mh_error_make (err, errno, "config file %s: stat", t->file_path);
  if (!S_ISREG (st.st_mode))
    return mh_error_make (err, 0, "config file %s: not a regular file; give a JSON file", t->file_path);
  if (json_parse_fd (fd, t->file_path, root, err) < 0)
    return -1;
  r = *root;
  if (r->type != JSON_OBJECT)
    return mh_error_make (err, 0, "%s: expected a JSON object, got %s; write {\"state_dir\": \"/run/memhook\", …}",
                          t->file_path, json_type_name (r->type));
  for (size_t i = 0; i < r->u.object.len; i++)
    {
      const char *key = r->u.object.keys[i];
      const struct json *v = r->u.object.values[i];
      enum option_id id;

      for (id = 0; id < OPT_COUNT; id++)
        if (strcmp (names[id].key, key) == 0)
          break;
      if (id == OPT_COUNT)
        return mh_error_make (err, 0,
                              "%s: unknown key \"%s\"; the keys are state_dir, unsupported, default_limit, "
                              "max_limit, on_fault, runtime, metrics_dir",
                              t->file_path, key);
      if (v->type == JSON_NULL)
        continue; /* null = not given, as in the OCI documents */
      if (file_value_text (t, id, v, err) < 0)
        return -1;
    }
  return 0;
}

static void
options_defaults (struct options *o)
{
  memset (o, 0, sizeof (*o));
  o->unsupported = UNSUPPORTED_WARN;
  o->on_fault = ON_FAULT_PASS;
}

/* Check every given text, lowest source first, so the highest wins. */
static int
options_merge (const struct option_texts *t, struct options *o, enum option_source *src, mh_error_t *err)
{
  for (enum option_id id = 0; id < OPT_COUNT; id++)
    {
      cleanup_free char *file_what = NULL;

      src[id] = SOURCE_DEFAULT;
      if (t->file[id] != NULL)
        {
          if (asprintf (&file_what, "%s: %s", t->file_path, names[id].key) < 0)
            return mh_error_make (err, ENOMEM, "%s", t->file_path);
          if (option_apply (id, t->file[id], file_what, o, err) < 0)
            return -1;
          src[id] = SOURCE_FILE;
        }
      if (t->env[id] != NULL)
        {
          if (option_apply (id, t->env[id], names[id].env, o, err) < 0)
            return -1;
          src[id] = SOURCE_ENV;
        }
      if (t->cli[id] != NULL)
        {
          if (option_apply (id, t->cli[id], names[id].cli, o, err) < 0)
            return -1;
          src[id] = SOURCE_CLI;
        }
    }
  return 0;
}

static const char *
source_name (const struct option_texts *t, enum option_id id, enum option_source s)
{
  switch (s)
    {
    case SOURCE_CLI:
      return names[id].cli;
    case SOURCE_ENV:
      return names[id].env;
    case SOURCE_FILE:
      return t->file_path;
    case SOURCE_DEFAULT:
      break;
    }
  return "default";
}

int
options_resolve (const struct options_cli *cli, char *const *envp, struct options *out, mh_error_t *err)
{
  struct option_texts t = { 0 };
  struct json *root = NULL;
  enum option_source src[OPT_COUNT];
  int ret = -1;

  if (envp == NULL)
    envp = environ;
  options_defaults (out);
  if (cli != NULL)
    {
      t.cli[OPT_STATE_DIR] = cli->state_dir;
      t.cli[OPT_UNSUPPORTED] = cli->unsupported;
      t.cli[OPT_DEFAULT_LIMIT] = cli->default_limit;
      t.cli[OPT_MAX_LIMIT] = cli->max_limit;
      t.cli[OPT_ON_FAULT] = cli->on_fault;
      t.cli[OPT_RUNTIME] = cli->runtime;
      t.cli[OPT_METRICS_DIR] = cli->metrics_dir;
    }
  for (enum option_id id = 0; id < OPT_COUNT; id++)
    t.env[id] = env_lookup (envp, names[id].env);

  t.file_path = env_lookup (envp, "MEMHOOK_CONFIG");
  if (t.file_path != NULL && *t.file_path == '\0')
    {
      mh_error_make (err, 0, "MEMHOOK_CONFIG: empty; unset it or give the config file's path");
      goto out;
    }
  if (t.file_path == NULL)
    t.file_path = MEMHOOK_DEFAULT_CONFIG;
  if (file_load (&t, &root, err) < 0)
    goto out;
  if (options_merge (&t, out, src, err) < 0)
    goto out;

  if (out->has_default_limit && out->has_max_limit && out->default_limit > out->max_limit)
    {
      char d[32], m[32];
      mh_error_make (err, 0, "%s: %s is above the maximum %s (from %s); lower the default limit or raise the maximum",
                     source_name (&t, OPT_DEFAULT_LIMIT, src[OPT_DEFAULT_LIMIT]),
                     size_format (out->default_limit, d, sizeof d), size_format (out->max_limit, m, sizeof m),
                     source_name (&t, OPT_MAX_LIMIT, src[OPT_MAX_LIMIT]));
      goto out;
    }
  if (out->state_dir == NULL && (out->state_dir = strdup (MEMHOOK_DEFAULT_STATE_DIR)) == NULL)
    {
      mh_error_make (err, ENOMEM, "options");
      goto out;
    }
  ret = 0;
out:
  for (enum option_id id = 0; id < OPT_COUNT; id++)
    free (t.file_owned[id]);
  json_free (root);
  if (ret < 0)
    options_free (out);
  return ret;
}

void
options_free (struct options *o)
{
  if (o == NULL)
    return;
  free (o->state_dir);
  free (o->runtime);
  free (o->metrics_dir);
  o->state_dir = o->runtime = o->metrics_dir = NULL;
}

static char *
arg_format (const char *name, const char *value)
{
  char *s = NULL;
  if (asprintf (&s, "%s=%s", name, value) < 0)
    return NULL;
  return s;
}

static char *
arg_limit (const char *name, bool has, int64_t value)
{
  char buf[32];

  if (!has)
    return arg_format (name, "none");
  snprintf (buf, sizeof buf, "%" PRId64, value);
  return arg_format (name, buf);
}

/* Every option the hooks understand, explicitly, so a hook resolves to
 * exactly what the wrapper resolved whatever its own environment holds.
 * --runtime is the wrapper's alone. */
char **
options_to_args (const struct options *o)
{
  char **args = calloc (7, sizeof (char *));
  size_t n = 0;

  if (args == NULL)
    return NULL;
  args[n++] = arg_format ("--state-dir", o->state_dir ? o->state_dir : MEMHOOK_DEFAULT_STATE_DIR);
  args[n++] = arg_format ("--unsupported", unsupported_mode_name (o->unsupported));
  args[n++] = arg_limit ("--default-limit", o->has_default_limit, o->default_limit);
  args[n++] = arg_limit ("--max-limit", o->has_max_limit, o->max_limit);
  args[n++] = arg_format ("--on-fault", o->on_fault == ON_FAULT_FAIL ? "fail" : "pass");
  if (o->metrics_dir != NULL)
    args[n++] = arg_format ("--metrics-dir", o->metrics_dir);
  for (size_t i = 0; i < n; i++)
    if (args[i] == NULL)
      {
        for (size_t j = 0; j < n; j++)
          free (args[j]);
        free (args);
        return NULL;
      }
  return args;
}
