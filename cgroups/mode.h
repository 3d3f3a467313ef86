/* Which cgroup layout this host has and where the memory controller is. */
#ifndef MEMHOOK_CG_MODE_H
#define MEMHOOK_CG_MODE_H

#include "error.h"
#include "plan.h"

enum cg_mode
{
  CG_MODE_LEGACY,  /* v1 only */
  CG_MODE_HYBRID,  /* v1 controllers, cgroup2 at <root>/unified */
  CG_MODE_UNIFIED, /* v2 */
};

struct cg_host
{
  enum cg_mode mode;
  enum cg_version memory_version; /* where the memory controller is */
  char *memory_root;              /* "/sys/fs/cgroup/memory" (v1) or "/sys/fs/cgroup" (v2) */
};

/* root is normally "/sys/fs/cgroup" (a parameter for tests). */
int cg_host_detect (const char *root, struct cg_host *out, mh_error_t *err);
void cg_host_free (struct cg_host *h);
const char *cg_mode_name (enum cg_mode m);

#endif
