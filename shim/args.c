/* runc 1.1 parses its command line with urfave/cli v1 on top of Go's flag
 * package.  To find the same bundle and container id runc will use, this
 * follows both exactly: Go's flag syntax (-x and --x alike, "=value" or
 * the next argument, bool flags never take the next argument, "--" ends
 * the flags, the first non-flag ends them too) and urfave's reordering of
 * a command's arguments (its flags move in front of the positional ones,
 * so "create ID --bundle B" works). */
#include "args.h"

#include <stddef.h>
#include <string.h>

enum flag_kind
{
  FLAG_BOOL,
  FLAG_VALUE,
};

struct flag_def
{
  const char *name;
  enum flag_kind kind;
};

static const struct flag_def global_flags[] = {
  { "debug", FLAG_BOOL },  { "log", FLAG_VALUE },          { "log-format", FLAG_VALUE },
  { "root", FLAG_VALUE },  { "criu", FLAG_VALUE },         { "systemd-cgroup", FLAG_BOOL },
  { "rootless", FLAG_VALUE }, { "help", FLAG_BOOL },       { "h", FLAG_BOOL },
  { "version", FLAG_BOOL }, { "v", FLAG_BOOL },            { NULL, FLAG_BOOL },
};

/* create's flags; run has these and three more.  urfave adds help/h. */
static const struct flag_def create_flags[] = {
  { "bundle", FLAG_VALUE },       { "b", FLAG_VALUE },      { "console-socket", FLAG_VALUE },
  { "pid-file", FLAG_VALUE },     { "no-pivot", FLAG_BOOL }, { "no-new-keyring", FLAG_BOOL },
  { "preserve-fds", FLAG_VALUE }, { "help", FLAG_BOOL },    { "h", FLAG_BOOL },
  { NULL, FLAG_BOOL },
};

static const struct flag_def run_flags[] = {
  { "bundle", FLAG_VALUE },       { "b", FLAG_VALUE },      { "console-socket", FLAG_VALUE },
  { "pid-file", FLAG_VALUE },     { "no-pivot", FLAG_BOOL }, { "no-new-keyring", FLAG_BOOL },
  { "preserve-fds", FLAG_VALUE }, { "detach", FLAG_BOOL },  { "d", FLAG_BOOL },
  { "keep", FLAG_BOOL },          { "no-subreaper", FLAG_BOOL }, { "help", FLAG_BOOL },
  { "h", FLAG_BOOL },             { NULL, FLAG_BOOL },
};

/* The flag name in "-name", "--name" or "--name=value": [*start, *start+*len). */
static void
flag_name (const char *arg, const char **start, size_t *len)
{
  const char *s = arg + 1;
  if (*s == '-')
    s++;
  *start = s;
  *len = strcspn (s, "=");
}

static const struct flag_def *
flag_lookup (const struct flag_def *defs, const char *name, size_t len)
{
  for (const struct flag_def *d = defs; d->name; d++)
    if (strlen (d->name) == len && strncmp (d->name, name, len) == 0)
      return d;
  return NULL;
}

/* Go's strconv.ParseBool. */
static int
parse_go_bool (const char *s, bool *out)
{
  static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
  static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };

  for (size_t i = 0; i < sizeof (yes) / sizeof (yes[0]); i++)
    {
      if (strcmp (s, yes[i]) == 0)
        return *out = true, 0;
      if (strcmp (s, no[i]) == 0)
        return *out = false, 0;
    }
  return -1;
}

/* One step of Go's FlagSet.parseOne over args[*i].  Returns 1 when a flag
 * was consumed, 0 at the end of the flags, -1 on a syntax error or an
 * unknown flag (runc then prints its usage: nothing for us to do).
 * *value gets a value flag's value, *set a bool flag's state. */
static int
parse_one (const struct flag_def *defs, int argc, char *const *args, int *i,
           const struct flag_def **def, const char **value, bool *set)
{
  const char *s, *name;
  size_t len;

  if (*i >= argc)
    return 0;
  s = args[*i];
  if (strlen (s) < 2 || s[0] != '-')
    return 0;
  if (strcmp (s, "--") == 0)
    {
      (*i)++;
      return 0;
    }
  flag_name (s, &name, &len);
  if (len == 0 || name[0] == '-' || name[0] == '=')
    return -1;
  (*i)++;
  *def = flag_lookup (defs, name, len);
  if (*def == NULL)
    return -1;
  *value = NULL;
  *set = false;
  if (name[len] == '=')
    *value = name + len + 1;
  if ((*def)->kind == FLAG_BOOL)
    {
      *set = true;
      return *value == NULL || parse_go_bool (*value, set) == 0 ? 1 : -1;
    }
  if (*value == NULL)
    {
      if (*i >= argc)
        return -1;
      *value = args[(*i)++];
    }
  return 1;
}

/* Global options: up to the command.  Returns the command's index, or -1
 * when there is none or when runc will stop before running one. */
static int
parse_global (int argc, char *const *argv, struct shim_args *out)
{
  int i = 1;

  for (;;)
    {
      const struct flag_def *def = NULL;
      const char *value = NULL;
      bool set = false;
      int r = parse_one (global_flags, argc, argv, &i, &def, &value, &set);

      if (r < 0)
        return -1;
      if (r == 0)
        break;
      if (strcmp (def->name, "root") == 0)
        out->root = value;
      else if (strcmp (def->name, "log") == 0)
        out->log = value;
      else if (strcmp (def->name, "log-format") == 0)
        out->log_format = value;
      else if (def->kind == FLAG_BOOL && set && strcmp (def->name, "debug") != 0
               && strcmp (def->name, "systemd-cgroup") != 0)
        return -1; /* --help, --version: runc answers them itself */
    }
  return i < argc ? i : -1;
}

/* urfave/cli v1.22's reorderArgs: a defined flag and, when it has no
 * "=", the next argument unless that starts with '-' move to the front;
 * everything from "--" on stays at the end. */
static int
is_defined_flag (const struct flag_def *defs, const char *arg)
{
  const char *name;
  size_t len;

  if (arg[0] != '-' || strcmp (arg, "-") == 0 || strcmp (arg, "--") == 0)
    return 0;
  flag_name (arg, &name, &len);
  return flag_lookup (defs, name, len) != NULL;
}

static void
reorder (const struct flag_def *defs, int argc, char *const *args, char **out)
{
  int n = 0, rest = 0, cut = argc;
  bool may_be_value = false;
  char *remaining[argc > 0 ? argc : 1];

  for (int i = 0; i < argc; i++)
    {
      if (strcmp (args[i], "--") == 0)
        {
          cut = i;
          break;
        }
      if (may_be_value && args[i][0] != '-')
        {
          may_be_value = false;
          out[n++] = args[i];
        }
      else if (is_defined_flag (defs, args[i]))
        {
          out[n++] = args[i];
          may_be_value = strchr (args[i], '=') == NULL;
        }
      else
        remaining[rest++] = args[i];
    }
  for (int i = 0; i < rest; i++)
    out[n++] = remaining[i];
  for (int i = cut; i < argc; i++)
    out[n++] = args[i];
}

static void
parse_create_run (const struct flag_def *defs, int argc, char *const *args, struct shim_args *out)
{
  char *ordered[argc > 0 ? argc : 1];
  bool detach = false, console_socket = false;
  int i = 0;

  reorder (defs, argc, args, ordered);
  for (;;)
    {
      const struct flag_def *def = NULL;
      const char *value = NULL;
      bool set = false;
      int r = parse_one (defs, argc, ordered, &i, &def, &value, &set);

      if (r < 0)
        return;
      if (r == 0)
        break;
      if (strcmp (def->name, "bundle") == 0 || strcmp (def->name, "b") == 0)
        out->bundle = value;
      else if (strcmp (def->name, "detach") == 0 || strcmp (def->name, "d") == 0)
        detach = set;
      else if (strcmp (def->name, "console-socket") == 0)
        console_socket = value[0] != '\0';
      else if ((strcmp (def->name, "help") == 0 || strcmp (def->name, "h") == 0) && set)
        return;
    }
  out->detached = defs == run_flags && (detach || console_socket);
  /* runc wants exactly one argument, the container id. */
  if (argc - i != 1)
    return;
  out->container_id = ordered[i];
  out->prepare = true;
}

void
shim_args_parse (int argc, char *const *argv, struct shim_args *out)
{
  const char *cmd;

  memset (out, 0, sizeof (*out));
  out->command_index = parse_global (argc, argv, out);
  if (out->command_index < 0)
    {
      out->command = SHIM_CMD_NONE;
      return;
    }
  cmd = argv[out->command_index];
  if (strcmp (cmd, "create") == 0)
    out->command = SHIM_CMD_CREATE;
  else if (strcmp (cmd, "run") == 0)
    out->command = SHIM_CMD_RUN;
  else
    {
      out->command = SHIM_CMD_OTHER;
      return;
    }
  parse_create_run (out->command == SHIM_CMD_CREATE ? create_flags : run_flags,
                    argc - out->command_index - 1, argv + out->command_index + 1, out);
  if (out->bundle != NULL && out->bundle[0] == '\0')
    out->bundle = NULL; /* runc: an empty --bundle is the current directory */
}

bool
shim_args_process_mode (const struct shim_args *args)
{
  return args->command == SHIM_CMD_CREATE || (args->command == SHIM_CMD_RUN && args->detached);
}
