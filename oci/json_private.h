/* Shared between json.c (parsing) and json_gen.c (building): appending
 * without the checks the public setters make.  Not for other modules. */
#ifndef MEMHOOK_JSON_PRIVATE_H
#define MEMHOOK_JSON_PRIVATE_H

#include "json.h"

/* Takes ownership of key and value on success only. */
int json_internal_object_append (struct json *o, char *key, struct json *value);
int json_internal_array_append (struct json *a, struct json *value);

#endif
