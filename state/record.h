/* <state-dir>/<id>/record.json: the container run's record, a JSON object
 * rewritten atomically.  A new run of an id moves the previous record's
 * verdict into "history". */
#ifndef MEMHOOK_RECORD_H
#define MEMHOOK_RECORD_H

#include "error.h"
#include "json.h"

#define RECORD_FILE "record.json"

/* *out = NULL and 0 returned when there is no record yet. */
int record_load (int container_dirfd, struct json **out, mh_error_t *err);
int record_store (int container_dirfd, const struct json *record, mh_error_t *err);

#endif
