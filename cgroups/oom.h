/* OOM counters: v1 memory.oom_control (oom_kill, under_oom), v2
 * memory.events (oom, oom_kill, oom_group_kill).  Count oom_kill. */
#ifndef MEMHOOK_CG_OOM_H
#define MEMHOOK_CG_OOM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "plan.h"

struct cg_oom_counters
{
  int64_t oom;      /* v2 "oom"; v1: -1 (not kept) */
  int64_t oom_kill; /* both */
  bool under_oom;   /* v1 only */
};

int cg_oom_read (int dirfd, enum cg_version version, struct cg_oom_counters *out, mh_error_t *err);

#endif
