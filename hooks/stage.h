/* The hook's stages; cmd_hook.c parses arguments, options and the state
 * on stdin, then calls one of these. */
#ifndef MEMHOOK_STAGE_H
#define MEMHOOK_STAGE_H

#include <stdbool.h>

#include "error.h"
#include "json.h"
#include "options.h"
#include "state.h"

struct hook_ctx
{
  const char *stage;     /* as given on the command line */
  struct options opts;   /* resolved */
  struct oci_state state; /* parsed, id checked */
  int state_dirfd;       /* opened (created) state dir; -1 after a fault under --on-fault=pass */
  bool exit_by_runtime;  /* --exit-by=runtime: memhook-runtime run gives the verdict */
};

/* A stage returns STAGE_FAULT when memhook's own environment failed (state
 * dir unwritable or full, watcher cannot start, no memory) and --on-fault
 * is fail; any other < 0 is a failure of the container's input. */
#define STAGE_FAULT (-2)

/* A fault of memhook's own environment.  Under --on-fault=pass: a warning
 * on stderr, in syslog and (when the state dir is usable) a `warning`
 * event with "stage"; *err is consumed and 0 returned, the stage goes on.
 * Under fail: returns STAGE_FAULT with *err kept for the error line. */
int hook_fault (struct hook_ctx *ctx, mh_error_t *err);
/* A warning that is not a fault (stderr, syslog, `warning` event). */
void hook_warning (struct hook_ctx *ctx, const char *field_key, const char *field, const char *message);
/* The record createRuntime wrote for this container: 0 with *rec = NULL
 * when there is none; 1 when a fault was passed (--on-fault=pass: warned,
 * nothing more to do); STAGE_FAULT under --on-fault=fail. */
int hook_load_record (struct hook_ctx *ctx, int *container_dirfd, struct json **rec, mh_error_t *err);

/* createRuntime or prestart (the second of the two is a no-op). */
int stage_create (struct hook_ctx *ctx, mh_error_t *err);
int stage_poststart (struct hook_ctx *ctx, mh_error_t *err);
int stage_poststop (struct hook_ctx *ctx, mh_error_t *err);

#endif
