/* runc's command line as memhook-runtime needs to understand it: the
 * global options (only to skip them and to find --log/--log-format), the
 * command, and for create/run the bundle and the container id.  Nothing is
 * ever rewritten: the real runtime gets argv as it came. */
#ifndef MEMHOOK_SHIM_ARGS_H
#define MEMHOOK_SHIM_ARGS_H

#include <stdbool.h>

enum shim_command
{
  SHIM_CMD_NONE,  /* no command (--help, --version, nothing) */
  SHIM_CMD_OTHER, /* any command memhook only passes through */
  SHIM_CMD_CREATE,
  SHIM_CMD_RUN,
};

struct shim_args
{
  enum shim_command command;
  int command_index;      /* argv index of the command, -1 when none */
  const char *root;       /* --root, NULL when not given */
  const char *log;        /* --log */
  const char *log_format; /* --log-format ("text" or "json") */
  /* create/run only: */
  const char *bundle;       /* --bundle/-b; NULL = the current directory */
  const char *container_id; /* first argument after the command's options */
  /* create/run that memhook should prepare: a container id was found and
   * no --help was asked.  Otherwise the call only passes through. */
  bool prepare;
  /* run only: -d/--detach (its last value, as Go's flag package takes it)
   * or a non-empty --console-socket: memhook-runtime cannot stay the
   * container's parent, as after create. */
  bool detached;
};

/* Whether a restart policy means process mode (memhook-init inside the
 * container): create, and a run memhook-runtime cannot stay the parent of. */
bool shim_args_process_mode (const struct shim_args *args);

/* Never fails: whatever it cannot understand is left for the real runtime
 * to judge (and to answer with its own usage error). */
void shim_args_parse (int argc, char *const *argv, struct shim_args *out);

#endif
