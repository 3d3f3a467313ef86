/* A guarded JSON tree on top of yajl's event parser.
 *
 * Guards: input size limit, nesting limit, integers beyond int64 refused
 * by the typed accessors, duplicate keys resolved as Go does (the last
 * value wins; the key keeps the position of its first occurrence), parse
 * errors with line and column.  Numbers keep their exact source text and
 * object keys their order, so a document can be rewritten without
 * changing what the rewrite does not touch. */
#ifndef MEMHOOK_JSON_H
#define MEMHOOK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define JSON_MAX_INPUT (4u * 1024 * 1024) /* bytes */
#define JSON_MAX_DEPTH 64

enum json_type
{
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_OBJECT,
  JSON_ARRAY,
};

struct json
{
  enum json_type type;
  union
  {
    bool boolean;
    char *number; /* exact source text, e.g. "2.50" or "-9223372036854775808" */
    struct
    {
      char *data; /* NUL-terminated; may hold embedded NULs (see len) */
      size_t len;
    } string;
    struct
    {
      size_t len;
      char **keys;
      struct json **values;
    } object;
    struct
    {
      size_t len;
      struct json **items;
    } array;
  } u;
};

/* "what" names the input in errors ("config.json", "state on stdin"). */
int json_parse (const char *buf, size_t len, const char *what, struct json **out, mh_error_t *err);
/* Reads at most JSON_MAX_INPUT bytes from fd; more is an error. */
int json_parse_fd (int fd, const char *what, struct json **out, mh_error_t *err);
int json_parse_file (const char *path, struct json **out, mh_error_t *err);
void json_free (struct json *j);
#define cleanup_json __attribute__ ((cleanup (json_freep)))
void json_freep (struct json **j);

const char *json_type_name (enum json_type t);

/* Object lookup; NULL when absent or when obj is not an object. */
struct json *json_get (const struct json *obj, const char *key);

/* Typed accessors.  `path` is the field's JSON path used in errors
 * ("linux.resources.memory.limit").  Absent or null → *present = false
 * and 0 returned.  A wrong type → error:
 *   "linux.resources.memory.limit: expected an integer, got a string \"64m\"" */
int json_get_int64 (const struct json *obj, const char *key, const char *path,
                    bool *present, int64_t *out, mh_error_t *err);
int json_get_uint64 (const struct json *obj, const char *key, const char *path,
                     bool *present, uint64_t *out, mh_error_t *err);
int json_get_bool (const struct json *obj, const char *key, const char *path,
                   bool *present, bool *out, mh_error_t *err);
/* *out is a borrowed pointer into the tree; strings with NULs are refused. */
int json_get_string (const struct json *obj, const char *key, const char *path,
                     const char **out, mh_error_t *err);
/* Present and of the type, or absent (NULL); anything else is an error. */
int json_get_object (const struct json *obj, const char *key, const char *path,
                     const struct json **out, mh_error_t *err);
int json_get_array (const struct json *obj, const char *key, const char *path,
                    const struct json **out, mh_error_t *err);
/* Lenient: the int64 at key, or dflt when absent, not a number or out of
 * range.  For memhook's own files (records, watch.json), where damage must
 * mean "no evidence", never a crash. */
int64_t json_get_int64_or (const struct json *obj, const char *key, int64_t dflt);
/* A number node as int64 (no fraction, no exponent, in range). */
int json_number_int64 (const struct json *num, const char *path, int64_t *out, mh_error_t *err);

/* A string or array element as a C string, refusing other types and
 * strings with NULs (the error names path). */
int json_string_value (const struct json *j, const char *path, const char **out, mh_error_t *err);
/* "path: expected <expected>, got a string \"64m\"" for j (NULL = nothing). */
int json_type_error (const struct json *j, const char *path, const char *expected, mh_error_t *err);
/* For messages: "a string \"64m\"", "a number 1.5", "an object"...; malloc'd. */
char *json_describe (const struct json *j);
/* s[0..len) made safe for one line of a message: quotes, backslashes and
 * control characters escaped, cut after max bytes with "...".  malloc'd. */
char *json_printable (const char *s, size_t len, size_t max);

/* Building and editing (for config rewriting). */
struct json *json_new_object (void);
struct json *json_new_array (void);
struct json *json_new_string (const char *s);
struct json *json_new_int (int64_t v);
struct json *json_new_bool (bool b);
struct json *json_new_uint (uint64_t v);
struct json *json_new_null (void);
/* s[0..len), may hold NULs. */
struct json *json_new_string_len (const char *s, size_t len);
/* A number from its text, kept verbatim; NULL when text is not a JSON number. */
struct json *json_new_number (const char *text);
/* Deep copy; NULL when out of memory. */
struct json *json_copy (const struct json *j);
/* Takes ownership of value; replaces an existing key in place. */
int json_object_set (struct json *obj, const char *key, struct json *value, mh_error_t *err);
/* Returns true when the key was there. */
bool json_object_remove (struct json *obj, const char *key);
int json_array_append (struct json *arr, struct json *value, mh_error_t *err);
/* Deep structural equality (numbers by text). */
bool json_equal (const struct json *a, const struct json *b);

/* Serialize with two-space indentation, numbers verbatim, keys in order. */
int json_serialize (const struct json *j, char **out, size_t *len, mh_error_t *err);
/* Appends one compact line; used for events.jsonl. */
int json_serialize_compact (const struct json *j, char **out, size_t *len, mh_error_t *err);

#endif
