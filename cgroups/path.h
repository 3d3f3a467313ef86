/* The container's memory cgroup: from /proc/<pid>/cgroup to a directory fd. */
#ifndef MEMHOOK_CG_PATH_H
#define MEMHOOK_CG_PATH_H

#include <sys/types.h>

#include "error.h"
#include "mode.h"

/* Parses the text of /proc/<pid>/cgroup: the "0::/path" line on v2, the
 * line whose controller list names "memory" on v1.  *out is the path
 * relative to the controller's mount, starting with '/'. */
int cg_path_parse (const char *proc_cgroup, enum cg_version version, char **out, mh_error_t *err);
int cg_path_of_pid (pid_t pid, enum cg_version version, char **out, mh_error_t *err);
/* Opens memory_root + rel as a directory without leaving memory_root:
 * ".." components, symlinks and escapes are refused (error names the path). */
int cg_open_dir (const struct cg_host *host, const char *rel, int *dirfd, mh_error_t *err);

#endif
