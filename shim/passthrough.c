/* Handing over: exec, not fork, so the engine talks to the real runtime
 * as if the wrapper were not there (exit code, signals, stdio, the
 * console socket and every inherited fd). */
#include "runtime.h"

#include <errno.h>
#include <unistd.h>

int
shim_runtime_exec (const char *runtime, char **argv, mh_error_t *err)
{
  argv[0] = (char *) runtime;
  execv (runtime, argv);
  return mh_error_make (err, errno, "exec %s", runtime);
}
