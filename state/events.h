/* <state-dir>/events.jsonl: one JSON object a line, schema version 1,
 * appended whole (one write() under an exclusive flock on O_APPEND) so
 * concurrent writers never interleave. */
#ifndef MEMHOOK_EVENTS_H
#define MEMHOOK_EVENTS_H

#include "config.h"
#include "error.h"
#include "json.h"

#define EVENTS_FILE "events.jsonl"
#define EVENTS_SCHEMA_VERSION 1

/* {"v":1,"time":"2026-11-23T09:30:00.123Z","id":…,"event":…} plus name/pod/namespace
 * from the annotations when they carry them (annotations may be NULL). */
struct json *event_new (const char *event, const char *id, const struct oci_kv_list *annotations);
/* Rotation: when events.jsonl is larger than EVENTS_ROTATE_BYTES, the
 * writer holding the lock renames it to events.jsonl.1 (replacing the
 * previous one) and starts a new file: at most about 2 x 8 MiB are kept. */
#define EVENTS_ROTATED_FILE "events.jsonl.1"
#define EVENTS_ROTATE_BYTES (8u * 1024 * 1024)

/* Now as RFC 3339 UTC with milliseconds: "2026-11-23T09:30:00.123Z". */
const char *events_time_now (char *buf, size_t len);
/* The container name, pod and namespace the engine annotated, or NULL. */
const char *events_annotation_name (const struct oci_kv_list *annotations);
const char *events_annotation_pod (const struct oci_kv_list *annotations);
const char *events_annotation_namespace (const struct oci_kv_list *annotations);

int events_append (int state_dirfd, const struct json *event, mh_error_t *err);
/* Convenience: a `warning` event with "field" (or "stage") and "message". */
int events_warning (int state_dirfd, const char *id, const struct oci_kv_list *annotations,
                    const char *field_key, const char *field, const char *message, mh_error_t *err);

#endif
