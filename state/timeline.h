/* The event log for people: one line per event, with the facts that
 * matter ("oom_kill  pid 123 (stress) anon 64 MiB, limit 64 MiB").
 * Pure: an event object in, a line out. */
#ifndef MEMHOOK_TIMELINE_H
#define MEMHOOK_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"

/* "63.6 MiB", "64 MiB", "512 KiB", "100 bytes", "unlimited" (-1):
 * rounded to one decimal, for reading, not for settings. */
const char *timeline_size (int64_t bytes, char *buf, size_t len);
/* The line for one event, without a newline; malloc'd.  An event of a
 * kind it does not know is shown with its fields as JSON. */
int timeline_format (const struct json *event, char **out, mh_error_t *err);

#endif
