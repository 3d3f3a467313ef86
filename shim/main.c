/* memhook-runtime: runc's command line in front of the real runtime.
 * Every call ends in an exec of the runtime with argv unchanged; create
 * and run prepare the bundle first, and refuse an invalid config before
 * the runtime ever sees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cleanup.h"
#include "error.h"
#include "options.h"
#include "prepare.h"
#include "runlog.h"
#include "runtime.h"
#include "supervise.h"

/* The message of err as one line for the user, prefixed when it is not
 * already one of memhook's lines. */
static int
fail (const struct shim_args *args, mh_error_t err)
{
  char buf[2048];
  cleanup_free char *line = NULL;
  const char *text = mh_error_text (err, buf, sizeof buf);

  if (strncmp (text, "memhook: ", 9) != 0 && asprintf (&line, "memhook-runtime: %s", text) >= 0)
    text = line;
  shim_report (args, SHIM_LEVEL_ERROR, text);
  return 1;
}

int
main (int argc, char **argv)
{
  struct shim_args args;
  struct options opts = { 0 };
  struct options_cli cli = { 0 }; /* the command line is runc's: nothing of ours on it */
  cleanup_error mh_error_t err = NULL;
  cleanup_free char *runtime = NULL;
  int status;

  shim_args_parse (argc, (char *const *) argv, &args);
  if (options_resolve (&cli, NULL, &opts, &err) < 0)
    return fail (&args, err);
  if (shim_runtime_find (opts.runtime, &runtime, &err) < 0)
    {
      status = fail (&args, err);
      options_free (&opts);
      return status;
    }
  if (args.prepare)
    {
      struct shim_prepared prepared;

      if (shim_prepare (&args, &opts, &prepared, &err) < 0)
        {
          status = fail (&args, err);
          options_free (&opts);
          return status;
        }
      /* `run` in the foreground with a restart policy: memhook-runtime
       * stays the parent (supervise.c, container mode).  A detached run
       * has no parent to stay: shim_prepare put memhook-init in front
       * (process mode) and it passes through like create. */
      if (shim_supervises (&args, &prepared.restart))
        {
          status = shim_supervise_run (&args, &opts, runtime, argv, &prepared.restart);
          options_free (&opts);
          return status;
        }
    }
  options_free (&opts);
  shim_runtime_exec (runtime, argv, &err);
  fail (&args, err);
  return 127; /* as a shell says "cannot run" */
}
