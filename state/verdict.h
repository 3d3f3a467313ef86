/* The verdict on a container's exit (SPEC.md, "The verdict on an exit"),
 * decided from evidence only: pure rules, no I/O. */
#ifndef MEMHOOK_VERDICT_H
#define MEMHOOK_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"

enum verdict
{
  VERDICT_OOMKILLED,
  VERDICT_KILLED,
  VERDICT_EXITED,
  VERDICT_ENDED,
  VERDICT_UNKNOWN,
};

struct verdict_evidence
{
  /* From the watcher (watch.json of this run). */
  bool watch_found;
  bool ended_cleanly;      /* the watcher saw the end of the container and wrote it down */
  bool main_exited;        /* its pidfd on the main process became readable */
  bool main_oom_killed;    /* the kernel named the main pid as an OOM victim */
  int64_t oom_kills;       /* kills seen in this run */
  int64_t unattributed;    /* kills whose victim nobody could name */
  /* The kernel's log was read whole through the main process's end: its
   * kill line names its pid with or without the (rate-limited) summary, so
   * an unnamed kill was not the main process. */
  bool log_complete;
  /* From a parent (memhook-runtime run, memhook-init); false in hook-only mode. */
  bool status_known;
  int wait_status;         /* as waitpid(2) gives it */
};

struct verdict_result
{
  enum verdict verdict;
  bool has_exit_code;
  int exit_code;   /* 0..255; 128+N for a death by signal N (the shell's convention) */
  int signal;      /* 0 = none or not known */
  const char *why; /* one phrase for people, static */
};

void verdict_decide (const struct verdict_evidence *e, struct verdict_result *out);
const char *verdict_name (enum verdict v);
/* false for a name that is not a verdict. */
bool verdict_from_name (const char *name, enum verdict *out);

/* Adds the exit event's fields (SPEC: verdict, exit_code when known,
 * signal when known, oom_kills, main_oom_killed) to an object. */
int verdict_to_json (const struct verdict_result *r, const struct verdict_evidence *e, struct json *obj,
                     mh_error_t *err);

#endif
