/* Parsing into the guarded tree, and the typed accessors.
 *
 * yajl's event parser feeds a small stack of open containers.  yajl's
 * own tree API is not used because it converts numbers (losing "2.50"
 * and integers beyond double precision), keeps duplicate keys, and has
 * no depth limit. */
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "cleanup.h"
#include "json_private.h"

/* Objects with more keys than this get a hash index while parsing, so a
 * 4 MiB object of tiny keys costs linear time to check for duplicates. */
#define INDEX_MIN_KEYS 16

#define STR_(x) #x
#define STR(x) STR_ (x)

struct frame
{
  struct json *node;
  size_t slot;   /* objects: the key whose value comes next */
  size_t *index; /* open addressing, key position + 1, 0 = empty */
  size_t index_cap;
};

struct parser
{
  struct json *root;
  struct frame stack[JSON_MAX_DEPTH];
  size_t depth;
  const char *fail; /* why a callback stopped the parse */
};

/* ---- tree basics ---- */

static struct json *
node_new (enum json_type type)
{
  struct json *j = calloc (1, sizeof (*j));
  if (j != NULL)
    j->type = type;
  return j;
}

void
json_free (struct json *j)
{
  size_t i;

  if (j == NULL)
    return;
  switch (j->type)
    {
    case JSON_NUMBER:
      free (j->u.number);
      break;
    case JSON_STRING:
      free (j->u.string.data);
      break;
    case JSON_OBJECT:
      for (i = 0; i < j->u.object.len; i++)
        {
          free (j->u.object.keys[i]);
          json_free (j->u.object.values[i]);
        }
      free (j->u.object.keys);
      free (j->u.object.values);
      break;
    case JSON_ARRAY:
      for (i = 0; i < j->u.array.len; i++)
        json_free (j->u.array.items[i]);
      free (j->u.array.items);
      break;
    default:
      break;
    }
  free (j);
}

void
json_freep (struct json **j)
{
  json_free (*j);
  *j = NULL;
}

const char *
json_type_name (enum json_type t)
{
  switch (t)
    {
    case JSON_NULL:
      return "null";
    case JSON_BOOL:
      return "boolean";
    case JSON_NUMBER:
      return "number";
    case JSON_STRING:
      return "string";
    case JSON_OBJECT:
      return "object";
    case JSON_ARRAY:
      return "array";
    }
  return "unknown";
}

/* ---- building the tree while parsing ---- */

static size_t
key_hash (const char *s)
{
  size_t h = 14695981039346656037u;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 1099511628211u;
  return h;
}

static int
index_rebuild (struct frame *f)
{
  const struct json *o = f->node;
  size_t cap = 64, i;

  while (cap < o->u.object.len * 4)
    cap *= 2;
  free (f->index);
  f->index = calloc (cap, sizeof (*f->index));
  if (f->index == NULL)
    return -1;
  f->index_cap = cap;
  for (i = 0; i < o->u.object.len; i++)
    {
      size_t h = key_hash (o->u.object.keys[i]) & (cap - 1);
      while (f->index[h] != 0)
        h = (h + 1) & (cap - 1);
      f->index[h] = i + 1;
    }
  return 0;
}

/* Position of key in the frame's object, or (size_t) -1. */
static size_t
frame_find (const struct frame *f, const char *key)
{
  const struct json *o = f->node;
  size_t i, h;

  if (f->index == NULL)
    {
      for (i = 0; i < o->u.object.len; i++)
        if (strcmp (o->u.object.keys[i], key) == 0)
          return i;
      return (size_t) -1;
    }
  for (h = key_hash (key) & (f->index_cap - 1); f->index[h] != 0; h = (h + 1) & (f->index_cap - 1))
    if (strcmp (o->u.object.keys[f->index[h] - 1], key) == 0)
      return f->index[h] - 1;
  return (size_t) -1;
}

/* Arrays grow to 4, 8, 16, ... entries: a new block is needed exactly
 * when len is 0 or a power of two of at least 4, so no capacity field is
 * kept (removal only shrinks len, which keeps the block large enough). */
static int
grow (void **items, size_t len, size_t size)
{
  void *p;

  if (len != 0 && (len < 4 || (len & (len - 1)) != 0))
    return 0;
  p = realloc (*items, (len == 0 ? 4 : len * 2) * size);
  if (p == NULL)
    return -1;
  *items = p;
  return 0;
}

static int
object_append_key (struct json *o, char *key)
{
  if (grow ((void **) &o->u.object.keys, o->u.object.len, sizeof (char *)) < 0
      || grow ((void **) &o->u.object.values, o->u.object.len, sizeof (struct json *)) < 0)
    return -1;
  o->u.object.keys[o->u.object.len] = key;
  o->u.object.values[o->u.object.len] = NULL;
  o->u.object.len++;
  return 0;
}

int
json_internal_object_append (struct json *o, char *key, struct json *value)
{
  if (object_append_key (o, key) < 0)
    return -1;
  o->u.object.values[o->u.object.len - 1] = value;
  return 0;
}

int
json_internal_array_append (struct json *a, struct json *value)
{
  if (grow ((void **) &a->u.array.items, a->u.array.len, sizeof (struct json *)) < 0)
    return -1;
  a->u.array.items[a->u.array.len++] = value;
  return 0;
}

/* Hand a finished node to its parent (or make it the root).  Returns 0
 * to stop yajl; the node is freed then. */
static int
attach (struct parser *p, struct json *node)
{
  struct frame *f;

  if (node == NULL)
    {
      p->fail = "out of memory";
      return 0;
    }
  if (p->depth == 0)
    {
      p->root = node;
      return 1;
    }
  f = &p->stack[p->depth - 1];
  if (f->node->type == JSON_ARRAY)
    {
      if (json_internal_array_append (f->node, node) < 0)
        {
          json_free (node);
          p->fail = "out of memory";
          return 0;
        }
      return 1;
    }
  /* A duplicate key: the last value wins, in the first key's place. */
  json_free (f->node->u.object.values[f->slot]);
  f->node->u.object.values[f->slot] = node;
  return 1;
}

static int
on_null (void *ctx)
{
  return attach (ctx, node_new (JSON_NULL));
}

static int
on_boolean (void *ctx, int value)
{
  struct json *j = node_new (JSON_BOOL);
  if (j != NULL)
    j->u.boolean = value != 0;
  return attach (ctx, j);
}

static int
on_number (void *ctx, const char *text, size_t len)
{
  struct json *j = node_new (JSON_NUMBER);
  if (j != NULL && (j->u.number = strndup (text, len)) == NULL)
    {
      free (j);
      j = NULL;
    }
  return attach (ctx, j);
}

static int
on_string (void *ctx, const unsigned char *s, size_t len)
{
  struct json *j = node_new (JSON_STRING);
  if (j != NULL)
    {
      j->u.string.data = malloc (len + 1);
      if (j->u.string.data == NULL)
        {
          free (j);
          return attach (ctx, NULL);
        }
      memcpy (j->u.string.data, s, len);
      j->u.string.data[len] = '\0';
      j->u.string.len = len;
    }
  return attach (ctx, j);
}

static int
open_container (struct parser *p, enum json_type type)
{
  struct json *j;

  if (p->depth == JSON_MAX_DEPTH)
    {
      p->fail = "nesting deeper than " STR (JSON_MAX_DEPTH) " levels";
      return 0;
    }
  j = node_new (type);
  if (!attach (p, j))
    return 0;
  p->stack[p->depth++] = (struct frame) { .node = j };
  return 1;
}

static int
close_container (void *ctx)
{
  struct parser *p = ctx;
  struct frame *f = &p->stack[--p->depth];

  free (f->index);
  f->index = NULL;
  return 1;
}

static int
on_start_map (void *ctx)
{
  return open_container (ctx, JSON_OBJECT);
}

static int
on_start_array (void *ctx)
{
  return open_container (ctx, JSON_ARRAY);
}

static int
on_map_key (void *ctx, const unsigned char *key, size_t len)
{
  struct parser *p = ctx;
  struct frame *f = &p->stack[p->depth - 1];
  struct json *o = f->node;
  char *copy;
  size_t at;

  /* Keys are C strings in the tree; nothing we read needs a NUL in one. */
  if (memchr (key, '\0', len) != NULL)
    {
      p->fail = "object key contains a NUL character";
      return 0;
    }
  copy = strndup ((const char *) key, len);
  if (copy == NULL)
    goto oom;
  at = frame_find (f, copy);
  if (at != (size_t) -1)
    {
      free (copy);
      f->slot = at;
      return 1;
    }
  if (object_append_key (o, copy) < 0)
    {
      free (copy);
      goto oom;
    }
  f->slot = o->u.object.len - 1;
  if (o->u.object.len >= INDEX_MIN_KEYS)
    {
      if (f->index == NULL || o->u.object.len * 2 > f->index_cap)
        {
          if (index_rebuild (f) < 0)
            goto oom;
        }
      else
        {
          size_t h = key_hash (copy) & (f->index_cap - 1);
          while (f->index[h] != 0)
            h = (h + 1) & (f->index_cap - 1);
          f->index[h] = o->u.object.len;
        }
    }
  return 1;
oom:
  p->fail = "out of memory";
  return 0;
}

static const yajl_callbacks callbacks = {
  .yajl_null = on_null,
  .yajl_boolean = on_boolean,
  .yajl_number = on_number,
  .yajl_string = on_string,
  .yajl_start_map = on_start_map,
  .yajl_map_key = on_map_key,
  .yajl_end_map = close_container,
  .yajl_start_array = on_start_array,
  .yajl_end_array = close_container,
};

/* ---- error positions ---- */

/* 1-based line and column (in characters, not bytes) of buf[off]. */
static void
position (const char *buf, size_t len, size_t off, size_t *line, size_t *col)
{
  size_t i;

  *line = 1;
  *col = 1;
  if (off > len)
    off = len;
  for (i = 0; i < off; i++)
    {
      unsigned char c = buf[i];
      if (c == '\n')
        {
          (*line)++;
          *col = 1;
        }
      else if ((c & 0xc0) != 0x80)
        (*col)++;
    }
}

/* yajl's "lexical error: invalid char in json text.\n" → "invalid char in json text" */
static void
trim_reason (char *s)
{
  size_t n;
  const char *prefixes[] = { "lexical error: ", "parse error: " };
  size_t i;

  for (i = 0; i < sizeof (prefixes) / sizeof (prefixes[0]); i++)
    {
      size_t pl = strlen (prefixes[i]);
      if (strncmp (s, prefixes[i], pl) == 0)
        {
          memmove (s, s + pl, strlen (s + pl) + 1);
          break;
        }
    }
  n = strlen (s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '.' || s[n - 1] == '\t'))
    s[--n] = '\0';
}

/* yajl's wording where it misleads a reader of config.json, and whether
 * yajl's offset lies just past the offending token (most parse errors)
 * rather than on it (lexical errors; "after key and value" rewinds). */
static const struct
{
  const char *yajl;
  const char *ours;
  bool after_token;
} reasons[] = {
  { "premature EOF", "unexpected end of input (truncated?)", false },
  { "trailing garbage", "unexpected data after the JSON document", true },
  { "unallowed token at this point in JSON text", "unexpected token", true },
  { "invalid object key (must be a string)", "expected a string as object key", true },
  { "object key and value must be separated by a colon (':')", "expected ':' after an object key", true },
  { "after key and value, inside map, I expect ',' or '}'", "expected ',' or '}' after an object member", false },
  { "after array element, I expect ',' or ']'", "expected ',' or ']' after an array element", true },
  { "invalid string in json text", "invalid token (expected a string, number, object, array, true, false or null)", false },
  { "inside a string, '\\' occurs before a character which it may not", "invalid escape sequence in a string", false },
  { "invalid bytes in UTF8 string", "invalid UTF-8 in a string", false },
  { "invalid char in json text", "invalid character", true },
};

/* yajl reports a bad UTF-8 sequence after reading it; the first invalid
 * sequence in the input (yajl's own rules) is where it really is. */
static size_t
first_bad_utf8 (const char *buf, size_t len, size_t off)
{
  size_t i = 0, k, n;

  while (i < off && i < len)
    {
      unsigned char c = buf[i];
      if (c < 0x80)
        n = 0;
      else if ((c >> 5) == 0x6)
        n = 1;
      else if ((c >> 4) == 0xe)
        n = 2;
      else if ((c >> 3) == 0x1e)
        n = 3;
      else
        return i;
      for (k = 1; k <= n; k++)
        if (i + k >= len || ((unsigned char) buf[i + k] & 0xc0) != 0x80)
          return i;
      i += n + 1;
    }
  return off;
}

static int
parse_error (yajl_handle h, const struct parser *p, const char *buf, size_t len, size_t off,
             const char *what, mh_error_t *err)
{
  size_t line, col, i;
  unsigned char *yerr;
  const char *reason;
  int ret;

  if (p->fail != NULL)
    {
      position (buf, len, off, &line, &col);
      return mh_error_make (err, 0, "%s: line %zu, column %zu: %s", what, line, col, p->fail);
    }
  yerr = yajl_get_error (h, 0, (const unsigned char *) buf, len);
  if (yerr == NULL)
    return mh_error_make (err, ENOMEM, "%s: parse", what);
  trim_reason ((char *) yerr);
  reason = (const char *) yerr;
  for (i = 0; i < sizeof (reasons) / sizeof (reasons[0]); i++)
    if (strcmp (reason, reasons[i].yajl) == 0)
      {
        reason = reasons[i].ours;
        if (reasons[i].after_token && off > 0)
          off--;
        if (strcmp (reasons[i].yajl, "invalid bytes in UTF8 string") == 0)
          off = first_bad_utf8 (buf, len, off);
        break;
      }
  position (buf, len, off, &line, &col);
  ret = mh_error_make (err, 0, "%s: line %zu, column %zu: %s", what, line, col, reason);
  yajl_free_error (h, yerr);
  return ret;
}

static bool
only_whitespace (const char *buf, size_t len)
{
  size_t i;
  for (i = 0; i < len; i++)
    if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
      return false;
  return true;
}

int
json_parse (const char *buf, size_t len, const char *what, struct json **out, mh_error_t *err)
{
  struct parser p = { 0 };
  yajl_handle h;
  yajl_status st;
  size_t off;
  int ret = 0;

  *out = NULL;
  if (what == NULL)
    what = "JSON";
  if (len > JSON_MAX_INPUT)
    return mh_error_make (err, 0, "%s: input larger than 4 MiB", what);
  if (buf == NULL || only_whitespace (buf, len))
    {
      size_t line, col;
      position (buf, buf == NULL ? 0 : len, len, &line, &col);
      return mh_error_make (err, 0, "%s: line %zu, column %zu: empty input (expected a JSON document)", what, line,
                            col);
    }

  h = yajl_alloc (&callbacks, NULL, &p);
  if (h == NULL)
    return mh_error_make (err, ENOMEM, "%s: parse", what);
  yajl_config (h, yajl_allow_comments, 0);
  yajl_config (h, yajl_dont_validate_strings, 0);

  st = yajl_parse (h, (const unsigned char *) buf, len);
  if (st == yajl_status_ok)
    {
      st = yajl_complete_parse (h);
      /* yajl finishes by feeding itself one blank: the error is at the end. */
      off = len;
    }
  else
    {
      off = yajl_get_bytes_consumed (h);
      /* A callback stops yajl just after the token; point at its last byte. */
      if (st == yajl_status_client_canceled && off > 0)
        off--;
    }
  if (st != yajl_status_ok)
    ret = parse_error (h, &p, buf, len, off, what, err);

  while (p.depth > 0)
    close_container (&p);
  yajl_free (h);
  if (ret < 0)
    {
      json_free (p.root);
      return ret;
    }
  *out = p.root;
  return 0;
}

int
json_parse_fd (int fd, const char *what, struct json **out, mh_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0, cap = 0;

  *out = NULL;
  for (;;)
    {
      ssize_t n;

      if (len == cap)
        {
          char *p;
          /* One byte beyond the limit tells "too large" from "exactly 4 MiB". */
          if (cap > JSON_MAX_INPUT)
            return mh_error_make (err, 0, "%s: input larger than 4 MiB", what);
          cap = cap == 0 ? 16384 : cap * 2;
          if (cap > JSON_MAX_INPUT + 1)
            cap = JSON_MAX_INPUT + 1;
          p = realloc (buf, cap);
          if (p == NULL)
            return mh_error_make (err, ENOMEM, "%s: read", what);
          buf = p;
        }
      n = read (fd, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return mh_error_make (err, errno, "%s: read", what);
      if (n == 0)
        break;
      len += n;
    }
  return json_parse (buf, len, what, out, err);
}

int
json_parse_file (const char *path, struct json **out, mh_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  *out = NULL;
  if (fd < 0)
    return mh_error_make (err, errno, "open %s", path);
  return json_parse_fd (fd, path, out, err);
}

/* ---- accessors ---- */

struct json *
json_get (const struct json *obj, const char *key)
{
  size_t i;

  if (obj == NULL || obj->type != JSON_OBJECT || key == NULL)
    return NULL;
  for (i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

char *
json_printable (const char *s, size_t len, size_t max)
{
  /* Worst case: every byte becomes \xNN, plus "..." and NUL. */
  size_t n = len < max ? len : max, i, o = 0;
  bool cut = len > max;
  char *out;

  /* Do not cut a UTF-8 sequence in half. */
  if (cut)
    while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
      n--;
  out = malloc (n * 4 + 4);
  if (out == NULL)
    return NULL;
  for (i = 0; i < n; i++)
    {
      unsigned char c = s[i];
      if (c == '"' || c == '\\')
        {
          out[o++] = '\\';
          out[o++] = c;
        }
      else if (c == '\n')
        o += sprintf (out + o, "\\n");
      else if (c == '\t')
        o += sprintf (out + o, "\\t");
      else if (c < 0x20 || c == 0x7f)
        o += sprintf (out + o, "\\x%02x", c);
      else
        out[o++] = c;
    }
  if (cut)
    o += sprintf (out + o, "...");
  out[o] = '\0';
  return out;
}

#define SHOWN_MAX 40

char *
json_describe (const struct json *j)
{
  cleanup_free char *shown = NULL;
  char *out = NULL;

  if (j == NULL)
    return strdup ("nothing");
  switch (j->type)
    {
    case JSON_STRING:
      shown = json_printable (j->u.string.data, j->u.string.len, SHOWN_MAX);
      if (shown == NULL || asprintf (&out, "a string \"%s\"", shown) < 0)
        return NULL;
      return out;
    case JSON_NUMBER:
      shown = json_printable (j->u.number, strlen (j->u.number), SHOWN_MAX);
      if (shown == NULL || asprintf (&out, "a number %s", shown) < 0)
        return NULL;
      return out;
    case JSON_BOOL:
      return strdup ("a boolean");
    case JSON_OBJECT:
      return strdup ("an object");
    case JSON_ARRAY:
      return strdup ("an array");
    case JSON_NULL:
      return strdup ("null");
    }
  return strdup ("an unknown value");
}

int
json_type_error (const struct json *j, const char *path, const char *expected, mh_error_t *err)
{
  cleanup_free char *got = json_describe (j);
  return mh_error_make (err, 0, "%s: expected %s, got %s", path, expected, got ? got : "something else");
}

static bool
absent (const struct json *j)
{
  return j == NULL || j->type == JSON_NULL;
}

static bool
is_integer_text (const char *s)
{
  return strpbrk (s, ".eE") == NULL;
}

int
json_number_int64 (const struct json *num, const char *path, int64_t *out, mh_error_t *err)
{
  char *end;
  long long v;

  *out = 0;
  if (num == NULL || num->type != JSON_NUMBER || !is_integer_text (num->u.number))
    return json_type_error (num, path, "an integer", err);
  errno = 0;
  v = strtoll (num->u.number, &end, 10);
  if (errno == ERANGE)
    {
      cleanup_free char *shown = json_printable (num->u.number, strlen (num->u.number), SHOWN_MAX);
      return mh_error_make (err, 0, "%s: %s is out of range for a 64-bit integer", path, shown ? shown : "number");
    }
  if (errno != 0 || *end != '\0' || end == num->u.number)
    return json_type_error (num, path, "an integer", err);
  *out = v;
  return 0;
}

/* The number node as uint64; not declared in json.h as nothing else needs it yet. */
static int
number_uint64 (const struct json *num, const char *path, uint64_t *out, mh_error_t *err)
{
  const char *s;
  char *end;
  unsigned long long v;

  *out = 0;
  if (num == NULL || num->type != JSON_NUMBER || !is_integer_text (num->u.number))
    return json_type_error (num, path, "an unsigned integer", err);
  s = num->u.number;
  if (s[0] == '-')
    {
      /* "-0" is zero; any other negative is refused, not wrapped. */
      if (strspn (s + 1, "0") == strlen (s + 1))
        return 0;
      cleanup_free char *shown = json_printable (s, strlen (s), SHOWN_MAX);
      return mh_error_make (err, 0, "%s: expected an unsigned integer, got %s", path, shown ? shown : "a negative number");
    }
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno == ERANGE)
    {
      cleanup_free char *shown = json_printable (s, strlen (s), SHOWN_MAX);
      return mh_error_make (err, 0, "%s: %s is out of range for a 64-bit unsigned integer", path, shown ? shown : "number");
    }
  if (errno != 0 || *end != '\0' || end == s)
    return json_type_error (num, path, "an unsigned integer", err);
  *out = v;
  return 0;
}

int
json_get_int64 (const struct json *obj, const char *key, const char *path, bool *present, int64_t *out,
                mh_error_t *err)
{
  const struct json *j = json_get (obj, key);

  *present = false;
  *out = 0;
  if (absent (j))
    return 0;
  if (json_number_int64 (j, path, out, err) < 0)
    return -1;
  *present = true;
  return 0;
}

int
json_get_uint64 (const struct json *obj, const char *key, const char *path, bool *present, uint64_t *out,
                 mh_error_t *err)
{
  const struct json *j = json_get (obj, key);

  *present = false;
  *out = 0;
  if (absent (j))
    return 0;
  if (number_uint64 (j, path, out, err) < 0)
    return -1;
  *present = true;
  return 0;
}

int
json_get_bool (const struct json *obj, const char *key, const char *path, bool *present, bool *out,
               mh_error_t *err)
{
  const struct json *j = json_get (obj, key);

  *present = false;
  *out = false;
  if (absent (j))
    return 0;
  if (j->type != JSON_BOOL)
    return json_type_error (j, path, "a boolean", err);
  *present = true;
  *out = j->u.boolean;
  return 0;
}

int
json_string_value (const struct json *j, const char *path, const char **out, mh_error_t *err)
{
  *out = NULL;
  if (j == NULL || j->type != JSON_STRING)
    return json_type_error (j, path, "a string", err);
  if (memchr (j->u.string.data, '\0', j->u.string.len) != NULL)
    return mh_error_make (err, 0, "%s: string contains a NUL character (\\u0000); remove it", path);
  *out = j->u.string.data;
  return 0;
}

int
json_get_string (const struct json *obj, const char *key, const char *path, const char **out, mh_error_t *err)
{
  const struct json *j = json_get (obj, key);

  *out = NULL;
  if (absent (j))
    return 0;
  return json_string_value (j, path, out, err);
}

static int
get_typed (const struct json *obj, const char *key, const char *path, enum json_type type,
           const char *expected, const struct json **out, mh_error_t *err)
{
  const struct json *j = json_get (obj, key);

  *out = NULL;
  if (absent (j))
    return 0;
  if (j->type != type)
    return json_type_error (j, path, expected, err);
  *out = j;
  return 0;
}

int
json_get_object (const struct json *obj, const char *key, const char *path, const struct json **out,
                 mh_error_t *err)
{
  return get_typed (obj, key, path, JSON_OBJECT, "an object", out, err);
}

int
json_get_array (const struct json *obj, const char *key, const char *path, const struct json **out,
                mh_error_t *err)
{
  return get_typed (obj, key, path, JSON_ARRAY, "an array", out, err);
}

int64_t
json_get_int64_or (const struct json *obj, const char *key, int64_t dflt)
{
  const struct json *v = json_get (obj, key);
  cleanup_error mh_error_t e = NULL;
  int64_t out;

  if (v == NULL || v->type != JSON_NUMBER || json_number_int64 (v, key, &out, &e) < 0)
    return dflt;
  return out;
}
