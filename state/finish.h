/* Ending a run: the verdict into record.json and one `exit` event.
 *
 * Whoever knows most does it, once: the watcher as it sees the container
 * end (it holds the evidence); poststop when the watcher is gone without
 * having done it; memhook-runtime run, which also knows the exit status,
 * when the record says so ("exit_by": "runtime").  A lock on the
 * container's state folder makes the first of them the only one. */
#ifndef MEMHOOK_FINISH_H
#define MEMHOOK_FINISH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "json.h"
#include "verdict.h"
#include "watch.h"

#define RECORD_EXIT_BY "exit_by"
#define RECORD_EXIT_BY_RUNTIME "runtime"

struct run_end
{
  int state_dirfd;
  int container_dirfd;
  pid_t watcher;        /* > 0: only the run this watcher watched */
  bool status_known;    /* a parent saw the main process's wait status */
  int wait_status;
  struct json *event;   /* the exit event to fill (event_new), borrowed */
  const char *metrics_dir; /* NULL = no metrics */
};

/* Has this run's record its verdict already? */
bool run_finished (const struct json *rec);
/* Does the record leave the end to memhook-runtime run? */
bool run_exit_by_runtime (const struct json *rec);

/* The evidence watch.json gives for the run of this record. */
void run_evidence (const struct json *rec, int container_dirfd, struct verdict_evidence *ev,
                   struct watch_report *rep);

/* This run's watch.json (*found false when there is none yet: the watcher
 * writes it first when it has something to say), and whether the record's
 * watcher is alive: its start time in watch.json guards against a reused
 * pid once it is there. */
bool run_watcher_alive (const struct json *rec, int container_dirfd, struct watch_report *rep, bool *found);

/* Waits, at most timeout_ms, until the record's run has its verdict, or
 * its watcher has written its last word (watch.json, ended_cleanly) or is
 * dead: from then on nothing more will come from the watcher. */
void run_await_watcher (int container_dirfd, int timeout_ms);

/* Finishes the run if nobody has: *done tells whether this call did. */
int run_finish (const struct run_end *end, bool *done, mh_error_t *err);

#endif
