/* The plan: which cgroup file gets which value, in which order, for this
 * host's cgroup version; what is refused and why.  The one place where
 * v1/v2 knowledge lives; validate prints it, the hook executes it, the
 * wrapper refuses with it before the runtime runs. */
#ifndef MEMHOOK_PLAN_H
#define MEMHOOK_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "options.h"

enum cg_version
{
  CG_V1 = 1,
  CG_V2 = 2,
};

/* Values currently in the cgroup, read by the caller; they decide the v1
 * write order.  known = false: assume the kernel's defaults (unlimited). */
struct plan_current
{
  bool known;
  int64_t limit; /* bytes; -1 = unlimited */
  int64_t memsw; /* bytes; -1 = unlimited */
};

struct plan_step
{
  char *field; /* OCI path, e.g. "linux.resources.memory.limit" */
  char *file;  /* "memory.limit_in_bytes" */
  char *value; /* exactly what is written: "67108864", "-1", "max", "1" */
  char *why;   /* short reason, e.g. "raise: memsw before limit" or NULL */
};

struct plan_note
{
  char *field; /* OCI path or option name */
  char *message;
};

struct plan_policy_change
{
  char *field;   /* "linux.resources.memory.limit" */
  char *option;  /* "--default-limit" */
  char *message; /* "set to 64 MiB (no limit was set)" */
};

struct plan
{
  enum cg_version version;
  size_t n_steps;
  struct plan_step *steps;
  size_t n_warnings;
  struct plan_note *warnings;
  size_t n_errors;
  struct plan_note *errors;
  size_t n_policy;
  struct plan_policy_change *policy;
  /* The memory settings after operator policy (for config rewriting and
   * the record): limit defaulted, unsupported fields dropped. */
  struct oci_memory effective;
  bool limit_from_policy;
  /* Step-less information (e.g. checkBeforeUpdate is the hook's job). */
  size_t n_notes;
  struct plan_note *notes;
  /* "field: message" of errors[0], owned; what plan_first_error returns. */
  char *first_error;
};

struct plan_input
{
  const struct oci_config *config;
  enum cg_version version;
  enum unsupported_mode unsupported;
  bool has_default_limit;
  int64_t default_limit;
  bool has_max_limit;
  int64_t max_limit;
  struct plan_current current;
  /* The running kernel as KERNEL_VERSION_CODE(major, minor) (plan_kernel_now);
   * 0 = assume a current kernel.  Some v1 files stopped meaning anything:
   * use_hierarchy=0 is refused since 5.11, kmem limits are ignored since 5.16. */
  unsigned kernel;
};

#define KERNEL_VERSION_CODE(major, minor) (((unsigned) (major) << 16) | ((unsigned) (minor) << 8))
/* The running kernel's version code from uname(2); 0 when unknown. */
unsigned plan_kernel_now (void);
/* The input for this host from resolved operator options: kernel from
 * uname, current values unknown (the caller may read them in). */
void plan_input_init (struct plan_input *in, const struct oci_config *config, enum cg_version version,
                      const struct options *opts);

/* Builds the plan.  Invalid settings do not make it fail: they land in
 * plan->errors (all of them, in runc's rule order) and the function
 * returns 0; it returns < 0 only for out-of-memory.  Use plan_first_error
 * for the hook's one-line message. */
int plan_build (const struct plan_input *in, struct plan *out, mh_error_t *err);
void plan_free (struct plan *p);
/* "linux.resources.memory.swap: 32 MiB is below …; set swap >= limit or -1" */
const char *plan_first_error (const struct plan *p);

/* JSON forms shared by validate --json and the apply event. */
struct json *plan_steps_to_json (const struct plan *p);
struct json *plan_to_json (const struct plan *p);

#endif
