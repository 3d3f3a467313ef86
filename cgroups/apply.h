/* Executes a plan on a cgroup directory: writes what is not yet so, in the
 * plan's order, keeping what was there; reads every planned file back and
 * compares after page rounding; on any failure restores what it wrote, in
 * reverse order, and explains the failure in the user's terms. */
#ifndef MEMHOOK_CG_APPLY_H
#define MEMHOOK_CG_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "json.h"
#include "plan.h"

/* One planned step as it went. */
struct cg_applied
{
  char *field;   /* OCI path from the plan step (may be NULL) */
  char *file;    /* "memory.limit_in_bytes" */
  char *value;   /* what the plan wants, as written */
  char *before;  /* what the cgroup held, in writable form ("max", "-1", "67108864") */
  char *found;   /* what the read-back showed after apply */
  bool written;  /* false: the runtime had already set it */
};

struct cg_apply_result
{
  size_t n;
  struct cg_applied *steps;
  size_t n_written;
};

/* The values that decide the v1 write order (plan_current). v1: limit and
 * memsw; v2: memory.max and memory.max + memory.swap.max.  A missing memsw
 * / swap file reads as unlimited. */
int cg_read_current (int dirfd, enum cg_version version, struct plan_current *out, mh_error_t *err);

/* Applies and verifies plan on dirfd.  On failure the cgroup holds what it
 * held before (as far as the kernel lets it be restored: a restore failure
 * is added to the message) and *out is empty. */
int cg_apply (int dirfd, const struct plan *plan, struct cg_apply_result *out, mh_error_t *err);
void cg_apply_result_free (struct cg_apply_result *r);
/* Undoes a successful cg_apply (the hook failed later): writes back what
 * each written step found, in reverse order.  Best effort: every step is
 * tried; the error lists what could not be restored. */
int cg_apply_undo (int dirfd, const struct cg_apply_result *r, mh_error_t *err);

/* Values the runtime left different from the plan (the steps written):
 * [{"field","file","was","value"}].  An empty array when nothing was. */
struct json *cg_apply_corrections_to_json (const struct cg_apply_result *r);
/* Every step: [{"file","value","was","found","written"}]. */
struct json *cg_apply_steps_to_json (const struct cg_apply_result *r);

/* Exposed for tests: the value the kernel will show for `value` written
 * to `file` (sizes round down to the page size; "max"/"-1" = unlimited). */
bool cg_value_matches (const char *file, const char *wanted, const char *found, long page_size);

#endif
