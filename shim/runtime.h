/* Finding the binaries memhook-runtime works with, and handing over to
 * the real runtime. */
#ifndef MEMHOOK_SHIM_RUNTIME_H
#define MEMHOOK_SHIM_RUNTIME_H

#include "error.h"

/* The sbin directories searched after PATH (nvidia-container-runtime's
 * list), for runtimes and hooks alike. */
#define SHIM_SBIN_DIRS "/usr/local/sbin:/usr/sbin:/sbin"

/* The real runtime: `configured` (MEMHOOK_REAL_RUNTIME or the config
 * file's "runtime", as options_resolve found it; a path, or a name looked
 * up like the default) or else runc, then crun, on PATH and the sbin
 * directories.  A candidate that is this very binary (same inode as
 * /proc/self/exe, through any symlink) is skipped: the wrapper never
 * calls itself.  *out is malloc'd. */
int shim_runtime_find (const char *configured, char **out, mh_error_t *err);

/* memhook's hook binary for the hooks injected into config.json: an
 * absolute path from MEMHOOK_HOOK_PATH, else "memhook" next to this
 * binary, else "memhook" on PATH.  *out is malloc'd. */
int shim_hook_find (char **out, mh_error_t *err);

/* Executes the runtime with argv as given except argv[0]; returns only on
 * failure.  Exit code, signals, stdio and inherited fds stay the caller's. */
int shim_runtime_exec (const char *runtime, char **argv, mh_error_t *err);

#endif
