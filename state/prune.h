/* Bounds on the state dir: container records stay after their exit (for
 * inspect and history) but not forever.  Documented in memhook-records(5). */
#ifndef MEMHOOK_PRUNE_H
#define MEMHOOK_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#include <time.h>

#define PRUNE_MAX_RECORDS 1000
#define PRUNE_MAX_AGE_S (7 * 24 * 3600)
/* A pass reads every container dir: at most one a minute (the stamp
 * file's mtime says when the last one ran), not one per container end. */
#define PRUNE_INTERVAL_S 60
#define PRUNE_STAMP_FILE ".pruned"

/* A container dir of the state dir and its record's modification time. */
struct record_entry
{
  char *id;
  struct timespec mtime; /* of record.json, of the dir when it has none */
};

/* Every container dir (symlinks and other files skipped), sorted by id. */
int records_list (int state_dirfd, struct record_entry **out, size_t *n, mh_error_t *err);
void records_list_free (struct record_entry *list, size_t n);

/* Removes the dirs of ended containers (a verdict in the record, no live
 * watcher) whose record is older than max_age_s, then the oldest ended
 * ones while more than max_records dirs remain.  keep_id is never
 * removed.  *removed counts what went. */
int records_prune (int state_dirfd, const char *keep_id, size_t max_records, int64_t max_age_s, size_t *removed,
                   mh_error_t *err);

/* Whether a pass is due; marks it done now when it is (the caller prunes). */
bool records_prune_due (int state_dirfd, int64_t interval_s);

#endif
