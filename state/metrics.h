/* Prometheus textfile for node_exporter's textfile collector:
 * <metrics-dir>/memhook.prom, rewritten whole and atomically from the
 * records in the state dir (per container: limit, OOM kills of its last
 * run, last verdict). */
#ifndef MEMHOOK_METRICS_H
#define MEMHOOK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"

#define METRICS_FILE "memhook.prom"

struct metrics_row
{
  const char *id;
  int64_t limit;        /* bytes; -1 unlimited; INT64_MIN unknown */
  int64_t oom_kills;    /* -1 unknown */
  const char *verdict;  /* NULL while running */
};

/* The text for rows (sorted by the caller); malloc'd. */
int metrics_render (const struct metrics_row *rows, size_t n, char **out, size_t *len, mh_error_t *err);
/* Scans the state dir's records (and watch.json for running containers)
 * and rewrites metrics_dir/memhook.prom under an flock of metrics_dir. */
int metrics_write (int state_dirfd, const char *metrics_dir, mh_error_t *err);

#endif
