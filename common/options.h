/* Operator options and their precedence:
 * command line → environment → /etc/memhook/memhook.json ($MEMHOOK_CONFIG) → default. */
#ifndef MEMHOOK_OPTIONS_H
#define MEMHOOK_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define MEMHOOK_DEFAULT_CONFIG "/etc/memhook/memhook.json"
#define MEMHOOK_DEFAULT_STATE_DIR "/run/memhook"

enum unsupported_mode
{
  UNSUPPORTED_ERROR,
  UNSUPPORTED_WARN,
  UNSUPPORTED_IGNORE,
};

enum on_fault
{
  ON_FAULT_PASS,
  ON_FAULT_FAIL,
};

/* Where a resolved value came from, for messages and the record. */
enum option_source
{
  SOURCE_DEFAULT,
  SOURCE_FILE,
  SOURCE_ENV,
  SOURCE_CLI,
};

struct options
{
  char *state_dir;
  enum unsupported_mode unsupported;
  bool has_default_limit;
  int64_t default_limit;
  bool has_max_limit;
  int64_t max_limit; /* SIZE_UNLIMITED never stored here: "max" means no max */
  enum on_fault on_fault;
  char *runtime; /* NULL = search; memhook-runtime only */
  char *metrics_dir; /* NULL = no metrics */
};

/* Values given on the command line; NULL = not given. */
struct options_cli
{
  const char *state_dir;
  const char *unsupported;
  const char *default_limit;
  const char *max_limit;
  const char *on_fault;
  const char *runtime;
  const char *metrics_dir;
};

/* Environment: MEMHOOK_STATE_DIR, MEMHOOK_UNSUPPORTED, MEMHOOK_DEFAULT_LIMIT,
 * MEMHOOK_MAX_LIMIT, MEMHOOK_ON_FAULT, MEMHOOK_REAL_RUNTIME, MEMHOOK_METRICS_DIR;
 * config file from MEMHOOK_CONFIG or MEMHOOK_DEFAULT_CONFIG (absent file = fine).
 * envp may be NULL to use environ.  Every bad value is an error naming its
 * source: "--max-limit: …", "MEMHOOK_MAX_LIMIT: …", "/etc/memhook/memhook.json: max_limit: …". */
int options_resolve (const struct options_cli *cli, char *const *envp, struct options *out, mh_error_t *err);
void options_free (struct options *o);

int unsupported_mode_parse (const char *s, const char *what, enum unsupported_mode *out, mh_error_t *err);
const char *unsupported_mode_name (enum unsupported_mode m);
int on_fault_parse (const char *s, const char *what, enum on_fault *out, mh_error_t *err);

/* The options as hook args ("--state-dir=…", …) so the wrapper can pass
 * what it resolved to the hooks it injects.  NULL-terminated, malloc'd. */
char **options_to_args (const struct options *o);

#endif
