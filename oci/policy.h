/* The restart policy of a container (SPEC.md, annotations io.memhook.restart,
 * io.memhook.restart.backoff, io.memhook.oom.grow): parsing, the decision to
 * restart after a run ended, the backoff between restarts and the limit
 * growth after an OOM kill.
 *
 * Pure logic with no JSON and no I/O: the same code runs in memhook-runtime
 * (container mode), in the watcher (grow) and in the static memhook-init
 * (process mode), so all three agree. */
#ifndef MEMHOOK_POLICY_H
#define MEMHOOK_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define RESTART_ANNOTATION "io.memhook.restart"
#define RESTART_BACKOFF_ANNOTATION "io.memhook.restart.backoff"
#define RESTART_GROW_ANNOTATION "io.memhook.oom.grow"

/* The same settings as variables of the container's environment
 * (process.env), for engines that cannot set annotations (docker 20.10:
 * no --annotation, and its labels never reach config.json).  An
 * annotation wins over its variable. */
#define RESTART_ENV "MEMHOOK_RESTART"
#define RESTART_BACKOFF_ENV "MEMHOOK_RESTART_BACKOFF"
#define RESTART_GROW_ENV "MEMHOOK_OOM_GROW"

/* Docker's backoff: 100 ms doubling to 1 min, reset after 10 s of running. */
#define RESTART_BACKOFF_INITIAL_MS 100
#define RESTART_BACKOFF_MAX_MS 60000
#define RESTART_BACKOFF_RESET_MS 10000
/* No delay above a day: keeps every delay a valid poll() timeout. */
#define RESTART_BACKOFF_LIMIT_MS (24 * 3600 * 1000)

/* FACTOR is kept in millionths so nothing goes through a double. */
#define RESTART_GROW_SCALE 1000000
#define RESTART_GROW_FACTOR_MAX 16
#define RESTART_PAGE_SIZE 4096

enum restart_mode
{
  RESTART_NO = 0,
  RESTART_ON_OOM,
  RESTART_ON_FAILURE,
  RESTART_ALWAYS,
};

/* How a run of the workload ended (SPEC.md, "The verdict on an exit").
 * Declared here rather than taken from state/verdict.h because this module
 * is compiled into the static memhook-init, which must not pull in the
 * JSON layer. */
enum restart_verdict
{
  RESTART_VERDICT_OOMKILLED = 0, /* the kernel's OOM killer killed it */
  RESTART_VERDICT_KILLED,        /* SIGKILL from anyone else */
  RESTART_VERDICT_EXITED,        /* exit code known (death by another signal: 128+S) */
  RESTART_VERDICT_ENDED,         /* ended, not OOM-killed, status not observable */
  RESTART_VERDICT_UNKNOWN,       /* the evidence is gone */
};

struct restart_policy
{
  enum restart_mode mode;
  unsigned max_restarts; /* 0 = no limit (Docker's convention) */
  int64_t backoff_initial_ms;
  int64_t backoff_max_ms;
  int64_t backoff_reset_ms;
  bool grow;                 /* io.memhook.oom.grow was given */
  uint32_t grow_factor;      /* FACTOR × RESTART_GROW_SCALE, > RESTART_GROW_SCALE */
  int64_t grow_max;          /* bytes; -1 = no ceiling */
};

/* What restart_decide() concluded; everything but RESTART_GO means stop. */
enum restart_decision
{
  RESTART_GO = 0,
  RESTART_STOP_POLICY,    /* the policy does not restart on this end */
  RESTART_STOP_SPENT,     /* N restarts were done already */
  RESTART_STOP_REQUESTED, /* the user asked for a stop (SIGTERM/SIGINT) */
};

/* Between restarts: the delay the last restart waited (0 before the first). */
struct restart_backoff
{
  int64_t last_delay_ms;
};

/* The policy "no" with Docker's backoff and no grow. */
void restart_policy_init (struct restart_policy *policy);

/* Each parser reads one annotation's value into *policy and leaves the rest
 * untouched; on a malformed value it fails naming the annotation and the
 * fix, and *policy is unchanged. */
int restart_parse_mode (const char *text, struct restart_policy *policy, mh_error_t *err);
int restart_parse_backoff (const char *text, struct restart_policy *policy, mh_error_t *err);
int restart_parse_grow (const char *text, struct restart_policy *policy, mh_error_t *err);

/* All three annotations; NULL = absent.  *policy is written only on success. */
int restart_policy_parse (const char *restart, const char *backoff, const char *grow,
                          struct restart_policy *policy, mh_error_t *err);

/* One setting as a container gave it: its text (NULL = absent) and the
 * name a refusal calls it by (NULL = its annotation's name). */
struct restart_source
{
  const char *value;
  const char *name;
};

/* The three settings, each from wherever it was found. */
struct restart_sources
{
  struct restart_source restart, backoff, grow;
};

/* restart_policy_parse with each refusal naming where the value came from. */
int restart_policy_parse_sources (const struct restart_sources *src, struct restart_policy *policy,
                                  mh_error_t *err);

/* Should a run that ended so be followed by another?  attempts_so_far =
 * restarts already done.  on-oom: OOMKilled only; on-failure: a non-zero
 * exit or any kill (Docker's semantics); always: any end.  Ended and
 * Unknown restart only under always: nothing says they failed. */
enum restart_decision restart_decide (const struct restart_policy *policy, enum restart_verdict verdict,
                                      int exit_code, unsigned attempts_so_far, bool stop_requested);

/* The delay before the next restart, and remember it: INITIAL first, then
 * ×2 capped at MAX, back to INITIAL when the run that just ended lasted at
 * least RESET. */
int64_t restart_next_delay (const struct restart_policy *policy, struct restart_backoff *state,
                            int64_t run_duration_ms);

/* The memory settings after an OOM kill: limit × FACTOR capped at MAX,
 * rounded down to a page, never below the old limit; the swap allowance
 * (swap − limit) is kept.  limit and swap as in config.json: 0 = unset,
 * -1 = unlimited.  No grow configured, or an unset/unlimited limit: both
 * come back unchanged.  Returns true when the limit changed. */
bool restart_grow (const struct restart_policy *policy, int64_t limit, int64_t swap, int64_t *new_limit,
                   int64_t *new_swap);

/* "no", "on-oom", "on-failure", "always". */
const char *restart_mode_name (enum restart_mode mode);
/* "OOMKilled", "Killed", "Exited", "Ended", "Unknown". */
const char *restart_verdict_name (enum restart_verdict verdict);
/* For logs: "restart", "the policy does not restart", "restarts spent",
 * "stop requested". */
const char *restart_decision_name (enum restart_decision decision);

#endif
