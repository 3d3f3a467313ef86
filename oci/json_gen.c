/* Building, editing, comparing and serializing trees.  Serialization
 * goes through yajl_gen so escaping and UTF-8 checks are yajl's. */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "cleanup.h"
#include "json_private.h"

/* ---- building ---- */

static struct json *
node_new (enum json_type type)
{
  struct json *j = calloc (1, sizeof (*j));
  if (j != NULL)
    j->type = type;
  return j;
}

struct json *
json_new_object (void)
{
  return node_new (JSON_OBJECT);
}

struct json *
json_new_array (void)
{
  return node_new (JSON_ARRAY);
}

struct json *
json_new_null (void)
{
  return node_new (JSON_NULL);
}

struct json *
json_new_bool (bool b)
{
  struct json *j = node_new (JSON_BOOL);
  if (j != NULL)
    j->u.boolean = b;
  return j;
}

struct json *
json_new_string_len (const char *s, size_t len)
{
  struct json *j = node_new (JSON_STRING);

  if (j == NULL)
    return NULL;
  j->u.string.data = malloc (len + 1);
  if (j->u.string.data == NULL)
    {
      free (j);
      return NULL;
    }
  memcpy (j->u.string.data, s, len);
  j->u.string.data[len] = '\0';
  j->u.string.len = len;
  return j;
}

struct json *
json_new_string (const char *s)
{
  return json_new_string_len (s, strlen (s));
}

static struct json *
number_take (char *text)
{
  struct json *j;

  if (text == NULL)
    return NULL;
  j = node_new (JSON_NUMBER);
  if (j == NULL)
    {
      free (text);
      return NULL;
    }
  j->u.number = text;
  return j;
}

struct json *
json_new_int (int64_t v)
{
  char *text = NULL;
  if (asprintf (&text, "%" PRId64, v) < 0)
    return NULL;
  return number_take (text);
}

struct json *
json_new_uint (uint64_t v)
{
  char *text = NULL;
  if (asprintf (&text, "%" PRIu64, v) < 0)
    return NULL;
  return number_take (text);
}

static size_t
digits (const char *s)
{
  size_t n = 0;
  while (s[n] >= '0' && s[n] <= '9')
    n++;
  return n;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool
is_json_number (const char *s)
{
  size_t n;

  if (*s == '-')
    s++;
  n = digits (s);
  if (n == 0 || (s[0] == '0' && n > 1))
    return false;
  s += n;
  if (*s == '.')
    {
      n = digits (++s);
      if (n == 0)
        return false;
      s += n;
    }
  if (*s == 'e' || *s == 'E')
    {
      s++;
      if (*s == '+' || *s == '-')
        s++;
      n = digits (s);
      if (n == 0)
        return false;
      s += n;
    }
  return *s == '\0';
}

struct json *
json_new_number (const char *text)
{
  if (text == NULL || !is_json_number (text))
    return NULL;
  return number_take (strdup (text));
}

struct json *
json_copy (const struct json *j)
{
  struct json *c;
  size_t i;

  if (j == NULL)
    return NULL;
  switch (j->type)
    {
    case JSON_NULL:
      return json_new_null ();
    case JSON_BOOL:
      return json_new_bool (j->u.boolean);
    case JSON_NUMBER:
      return number_take (strdup (j->u.number));
    case JSON_STRING:
      return json_new_string_len (j->u.string.data, j->u.string.len);
    case JSON_ARRAY:
      c = json_new_array ();
      for (i = 0; c != NULL && i < j->u.array.len; i++)
        {
          struct json *item = json_copy (j->u.array.items[i]);
          if (item == NULL || json_internal_array_append (c, item) < 0)
            {
              json_free (item);
              json_free (c);
              c = NULL;
            }
        }
      return c;
    case JSON_OBJECT:
      c = json_new_object ();
      for (i = 0; c != NULL && i < j->u.object.len; i++)
        {
          struct json *value = json_copy (j->u.object.values[i]);
          char *key = strdup (j->u.object.keys[i]);
          if (value == NULL || key == NULL || json_internal_object_append (c, key, value) < 0)
            {
              free (key);
              json_free (value);
              json_free (c);
              c = NULL;
            }
        }
      return c;
    }
  return NULL;
}

/* ---- editing ---- */

static ssize_t
key_position (const struct json *obj, const char *key)
{
  size_t i;
  for (i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return (ssize_t) i;
  return -1;
}

int
json_object_set (struct json *obj, const char *key, struct json *value, mh_error_t *err)
{
  char *copy;
  ssize_t at;

  if (value == NULL)
    return mh_error_make (err, ENOMEM, "set JSON key \"%s\"", key);
  if (obj == NULL || obj->type != JSON_OBJECT)
    {
      json_free (value);
      return mh_error_make (err, 0, "set JSON key \"%s\": not an object", key);
    }
  at = key_position (obj, key);
  if (at >= 0)
    {
      json_free (obj->u.object.values[at]);
      obj->u.object.values[at] = value;
      return 0;
    }
  copy = strdup (key);
  if (copy == NULL || json_internal_object_append (obj, copy, value) < 0)
    {
      free (copy);
      json_free (value);
      return mh_error_make (err, ENOMEM, "set JSON key \"%s\"", key);
    }
  return 0;
}

bool
json_object_remove (struct json *obj, const char *key)
{
  ssize_t at;
  size_t tail;

  if (obj == NULL || obj->type != JSON_OBJECT)
    return false;
  at = key_position (obj, key);
  if (at < 0)
    return false;
  free (obj->u.object.keys[at]);
  json_free (obj->u.object.values[at]);
  tail = obj->u.object.len - at - 1;
  memmove (&obj->u.object.keys[at], &obj->u.object.keys[at + 1], tail * sizeof (char *));
  memmove (&obj->u.object.values[at], &obj->u.object.values[at + 1], tail * sizeof (struct json *));
  obj->u.object.len--;
  return true;
}

int
json_array_append (struct json *arr, struct json *value, mh_error_t *err)
{
  if (value == NULL)
    return mh_error_make (err, ENOMEM, "append to JSON array");
  if (arr == NULL || arr->type != JSON_ARRAY)
    {
      json_free (value);
      return mh_error_make (err, 0, "append to JSON array: not an array");
    }
  if (json_internal_array_append (arr, value) < 0)
    {
      json_free (value);
      return mh_error_make (err, ENOMEM, "append to JSON array");
    }
  return 0;
}

/* Objects compare as sets of keys: keys are unique in every tree this
 * module builds, and JSON gives key order no meaning. */
bool
json_equal (const struct json *a, const struct json *b)
{
  size_t i;

  if (a == NULL || b == NULL)
    return a == b;
  if (a->type != b->type)
    return false;
  switch (a->type)
    {
    case JSON_NULL:
      return true;
    case JSON_BOOL:
      return a->u.boolean == b->u.boolean;
    case JSON_NUMBER:
      return strcmp (a->u.number, b->u.number) == 0;
    case JSON_STRING:
      return a->u.string.len == b->u.string.len
             && memcmp (a->u.string.data, b->u.string.data, a->u.string.len) == 0;
    case JSON_ARRAY:
      if (a->u.array.len != b->u.array.len)
        return false;
      for (i = 0; i < a->u.array.len; i++)
        if (!json_equal (a->u.array.items[i], b->u.array.items[i]))
          return false;
      return true;
    case JSON_OBJECT:
      if (a->u.object.len != b->u.object.len)
        return false;
      for (i = 0; i < a->u.object.len; i++)
        {
          ssize_t at = key_position (b, a->u.object.keys[i]);
          if (at < 0 || !json_equal (a->u.object.values[i], b->u.object.values[at]))
            return false;
        }
      return true;
    }
  return false;
}

/* ---- serializing ---- */

static yajl_gen_status
gen_node (yajl_gen g, const struct json *j)
{
  yajl_gen_status st;
  size_t i;

  if (j == NULL)
    return yajl_gen_null (g);
  switch (j->type)
    {
    case JSON_NULL:
      return yajl_gen_null (g);
    case JSON_BOOL:
      return yajl_gen_bool (g, j->u.boolean);
    case JSON_NUMBER:
      return yajl_gen_number (g, j->u.number, strlen (j->u.number));
    case JSON_STRING:
      return yajl_gen_string (g, (const unsigned char *) j->u.string.data, j->u.string.len);
    case JSON_ARRAY:
      if ((st = yajl_gen_array_open (g)) != yajl_gen_status_ok)
        return st;
      for (i = 0; i < j->u.array.len; i++)
        if ((st = gen_node (g, j->u.array.items[i])) != yajl_gen_status_ok)
          return st;
      return yajl_gen_array_close (g);
    case JSON_OBJECT:
      if ((st = yajl_gen_map_open (g)) != yajl_gen_status_ok)
        return st;
      for (i = 0; i < j->u.object.len; i++)
        {
          const char *k = j->u.object.keys[i];
          if ((st = yajl_gen_string (g, (const unsigned char *) k, strlen (k))) != yajl_gen_status_ok
              || (st = gen_node (g, j->u.object.values[i])) != yajl_gen_status_ok)
            return st;
        }
      return yajl_gen_map_close (g);
    }
  return yajl_gen_invalid_number;
}

static const char *
gen_reason (yajl_gen_status st)
{
  switch (st)
    {
    case yajl_gen_invalid_string:
      return "a string is not valid UTF-8";
    case yajl_max_depth_exceeded:
      return "nesting too deep";
    case yajl_gen_invalid_number:
      return "invalid number";
    default:
      return "internal generator error";
    }
}

/* yajl's beautifier prints an empty container as "{\n\n  }"; JSON
 * strings never hold a raw newline, so "{\n\n" is always structure. */
static size_t
collapse_empty (char *s, size_t n)
{
  size_t r = 0, w = 0;

  while (r < n)
    {
      if ((s[r] == '{' || s[r] == '[') && r + 2 < n && s[r + 1] == '\n' && s[r + 2] == '\n')
        {
          size_t k = r + 3;
          while (k < n && s[k] == ' ')
            k++;
          if (k < n && s[k] == (s[r] == '{' ? '}' : ']'))
            {
              s[w++] = s[r];
              r = k;
              continue;
            }
        }
      s[w++] = s[r++];
    }
  s[w] = '\0';
  return w;
}

static int
serialize (const struct json *j, bool pretty, char **out, size_t *len, mh_error_t *err)
{
  yajl_gen g;
  yajl_gen_status st;
  const unsigned char *buf;
  size_t n;
  int ret = 0;

  *out = NULL;
  if (len != NULL)
    *len = 0;
  g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return mh_error_make (err, ENOMEM, "serialize JSON");
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  yajl_gen_config (g, yajl_gen_escape_solidus, 0);
  if (pretty)
    {
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_indent_string, "  ");
    }
  st = gen_node (g, j);
  if (st == yajl_gen_status_ok)
    st = yajl_gen_get_buf (g, &buf, &n);
  if (st != yajl_gen_status_ok)
    ret = mh_error_make (err, 0, "serialize JSON: %s", gen_reason (st));
  else if ((*out = malloc (n + 1)) == NULL)
    ret = mh_error_make (err, ENOMEM, "serialize JSON");
  else
    {
      memcpy (*out, buf, n);
      (*out)[n] = '\0';
      if (pretty)
        n = collapse_empty (*out, n);
      if (len != NULL)
        *len = n;
    }
  yajl_gen_free (g);
  return ret;
}

int
json_serialize (const struct json *j, char **out, size_t *len, mh_error_t *err)
{
  return serialize (j, true, out, len, err);
}

int
json_serialize_compact (const struct json *j, char **out, size_t *len, mh_error_t *err)
{
  return serialize (j, false, out, len, err);
}
