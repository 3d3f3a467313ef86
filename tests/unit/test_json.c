/* The guarded JSON layer: malformed input, guards, typed accessors,
 * duplicate keys, serialization and editing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "json.h"

/* Parse s; return the error message (malloc'd) or NULL on success. */
static char *
parse_error_of (const char *s, size_t len)
{
  struct json *j = NULL;
  mh_error_t err = NULL;
  char *msg;

  if (json_parse (s, len, "x.json", &j, &err) == 0)
    {
      assert_non_null (j);
      json_free (j);
      return NULL;
    }
  assert_null (j);
  assert_non_null (err);
  msg = strdup (err->msg);
  mh_error_free (&err);
  return msg;
}

static void
assert_parse_error (const char *s, const char *expected)
{
  char *msg = parse_error_of (s, strlen (s));
  assert_non_null (msg);
  assert_string_equal (msg, expected);
  free (msg);
}

static struct json *
parse_ok (const char *s)
{
  struct json *j = NULL;
  mh_error_t err = NULL;
  char buf[512];

  if (json_parse (s, strlen (s), "x.json", &j, &err) < 0)
    fail_msg ("unexpected parse error: %s", mh_error_text (err, buf, sizeof (buf)));
  return j;
}

/* ---- malformed input, with line and column ---- */

static void
test_malformed_positions (void **state)
{
  (void) state;
  /* truncated */
  assert_parse_error ("{\n  \"a\": [1, 2\n", "x.json: line 3, column 1: unexpected end of input (truncated?)");
  assert_parse_error ("{\"a\": \"abc", "x.json: line 1, column 11: unexpected end of input (truncated?)");
  assert_parse_error ("{\"a\":", "x.json: line 1, column 6: unexpected end of input (truncated?)");
  /* trailing data */
  assert_parse_error ("{\n  \"a\": 1\n} x", "x.json: line 3, column 3: unexpected data after the JSON document");
  assert_parse_error ("{}\n{}", "x.json: line 2, column 1: unexpected data after the JSON document");
  /* bad token */
  assert_parse_error ("{\n  \"a\": 1,\n  \"b\": tru\n}",
                      "x.json: line 3, column 11: invalid token (expected a string, number, object, array, "
                      "true, false or null)");
  assert_parse_error ("[1, 2,]", "x.json: line 1, column 7: unexpected token");
  assert_parse_error ("[1 2]", "x.json: line 1, column 4: expected ',' or ']' after an array element");
  assert_parse_error ("{\n  \"a\": 1,,\n}", "x.json: line 2, column 10: expected a string as object key");
  assert_parse_error ("{\"a\" 1}", "x.json: line 1, column 6: expected ':' after an object key");
  assert_parse_error ("{\"a\":-}", "x.json: line 1, column 7: malformed number, a digit is required after the minus sign");
  /* bad escape */
  assert_parse_error ("{\n  \"a\": \"\\q\"\n}", "x.json: line 2, column 10: invalid escape sequence in a string");
  assert_parse_error ("{\n  \"a\": \"\\u12x4\"\n}",
                      "x.json: line 2, column 13: invalid (non-hex) character occurs after '\\u' inside string");
  /* invalid UTF-8 */
  assert_parse_error ("{\n  \"a\": \"\xff\"\n}", "x.json: line 2, column 9: invalid UTF-8 in a string");
  assert_parse_error ("{\n  \"ab\xc3(\": 1\n}", "x.json: line 2, column 6: invalid UTF-8 in a string");
  /* raw control character inside a string */
  assert_parse_error ("{\"a\": \"x\ny\"}", "x.json: line 1, column 9: invalid character inside string");
  /* columns count characters, not bytes */
  assert_parse_error ("{\"\xc3\xa9\xc3\xa9\": 1 23}",
                      "x.json: line 1, column 10: expected ',' or '}' after an object member");
  assert_parse_error ("{\"a\": @}", "x.json: line 1, column 7: invalid character");
  /* comments are not JSON */
  assert_parse_error ("{\"a\": 1 /* c */}",
                      "x.json: line 1, column 9: probable comment found in input text, comments are not enabled");
  /* a byte order mark is not JSON either (Go refuses it too) */
  assert_parse_error ("\xef\xbb\xbf{}", "x.json: line 1, column 1: invalid character");
}

static void
test_empty_input (void **state)
{
  (void) state;
  assert_parse_error ("", "x.json: line 1, column 1: empty input (expected a JSON document)");
  assert_parse_error (" \n\t", "x.json: line 2, column 2: empty input (expected a JSON document)");
  char *msg = parse_error_of (NULL, 0);
  assert_string_equal (msg, "x.json: line 1, column 1: empty input (expected a JSON document)");
  free (msg);
}

static char *
nested (size_t depth)
{
  char *s = malloc (depth * 2 + 1);
  memset (s, '[', depth);
  memset (s + depth, ']', depth);
  s[depth * 2] = '\0';
  return s;
}

static void
test_nesting_limit (void **state)
{
  char *ok = nested (JSON_MAX_DEPTH), *bad = nested (JSON_MAX_DEPTH + 1);
  struct json *j;
  (void) state;

  j = parse_ok (ok);
  assert_int_equal (j->type, JSON_ARRAY);
  json_free (j);
  assert_parse_error (bad, "x.json: line 1, column 65: nesting deeper than 64 levels");
  /* objects count the same as arrays */
  assert_parse_error ("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
                      "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
                      "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
                      "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
                      "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":[[[",
                      "x.json: line 1, column 321: nesting deeper than 64 levels");
  free (ok);
  free (bad);
}

/* {"s":"<spaces>"} of exactly n bytes */
static char *
doc_of_size (size_t n)
{
  char *s = malloc (n + 1);
  memset (s, ' ', n);
  memcpy (s, "{\"s\":\"", 6);
  memcpy (s + n - 2, "\"}", 2);
  s[n] = '\0';
  return s;
}

static void
test_size_limit (void **state)
{
  char *ok = doc_of_size (JSON_MAX_INPUT), *msg;
  struct json *j;
  (void) state;

  j = parse_ok (ok);
  assert_int_equal (json_get (j, "s")->u.string.len, JSON_MAX_INPUT - 8);
  json_free (j);
  free (ok);

  char *big = doc_of_size (JSON_MAX_INPUT + 1);
  msg = parse_error_of (big, JSON_MAX_INPUT + 1);
  assert_string_equal (msg, "x.json: input larger than 4 MiB");
  free (msg);
  free (big);
}

static int
memfd_with (const char *data, size_t len)
{
  int fd = memfd_create ("json", MFD_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, data, len), (ssize_t) len);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

static void
test_parse_fd (void **state)
{
  struct json *j = NULL;
  mh_error_t err = NULL;
  char *doc;
  int fd;
  (void) state;

  doc = doc_of_size (JSON_MAX_INPUT);
  fd = memfd_with (doc, JSON_MAX_INPUT);
  assert_int_equal (json_parse_fd (fd, "state on stdin", &j, &err), 0);
  assert_int_equal (j->type, JSON_OBJECT);
  json_free (j);
  close (fd);
  free (doc);

  doc = doc_of_size (JSON_MAX_INPUT + 1);
  fd = memfd_with (doc, JSON_MAX_INPUT + 1);
  assert_int_equal (json_parse_fd (fd, "state on stdin", &j, &err), -1);
  assert_null (j);
  assert_string_equal (err->msg, "state on stdin: input larger than 4 MiB");
  mh_error_free (&err);
  close (fd);
  free (doc);

  fd = memfd_with ("{\"a\":\n", 6);
  assert_int_equal (json_parse_fd (fd, "state on stdin", &j, &err), -1);
  assert_string_equal (err->msg, "state on stdin: line 2, column 1: unexpected end of input (truncated?)");
  mh_error_free (&err);
  close (fd);

  assert_int_equal (json_parse_file ("/nonexistent/memhook-h1.json", &j, &err), -1);
  assert_string_equal (err->msg, "open /nonexistent/memhook-h1.json");
  assert_int_equal (err->errnum, ENOENT);
  mh_error_free (&err);
}

static void
test_parse_values (void **state)
{
  struct json *j = parse_ok ("{\"n\": null, \"t\": true, \"f\": false, \"i\": -12, \"d\": 2.50, \"e\": 1E+3,"
                             " \"s\": \"a\\u00e9\\n\\\"\", \"a\": [1, \"x\", {}], \"o\": {\"k\": []}}");
  (void) state;

  assert_int_equal (j->u.object.len, 9);
  assert_int_equal (json_get (j, "n")->type, JSON_NULL);
  assert_true (json_get (j, "t")->u.boolean);
  assert_false (json_get (j, "f")->u.boolean);
  assert_string_equal (json_get (j, "i")->u.number, "-12");
  assert_string_equal (json_get (j, "d")->u.number, "2.50");
  assert_string_equal (json_get (j, "e")->u.number, "1E+3");
  assert_string_equal (json_get (j, "s")->u.string.data, "a\xc3\xa9\n\"");
  assert_int_equal (json_get (j, "s")->u.string.len, 5);
  assert_int_equal (json_get (j, "a")->u.array.len, 3);
  assert_int_equal (json_get (j, "a")->u.array.items[2]->type, JSON_OBJECT);
  assert_int_equal (json_get (json_get (j, "o"), "k")->type, JSON_ARRAY);
  assert_null (json_get (j, "missing"));
  assert_null (json_get (json_get (j, "a"), "k")); /* not an object */
  assert_string_equal (json_type_name (JSON_OBJECT), "object");
  json_free (j);

  /* a document need not be an object at this layer */
  j = parse_ok (" 42 ");
  assert_string_equal (j->u.number, "42");
  json_free (j);
}

static void
test_nul_characters (void **state)
{
  struct json *j;
  const char *s;
  mh_error_t err = NULL;
  (void) state;

  j = parse_ok ("{\"a\": \"x\\u0000y\"}");
  assert_int_equal (json_get (j, "a")->u.string.len, 3);
  assert_memory_equal (json_get (j, "a")->u.string.data, "x\0y", 3);
  assert_int_equal (json_get_string (j, "a", "annotations.a", &s, &err), -1);
  assert_null (s);
  assert_string_equal (err->msg, "annotations.a: string contains a NUL character (\\u0000); remove it");
  mh_error_free (&err);
  json_free (j);

  assert_parse_error ("{\"a\\u0000b\": 1}", "x.json: line 1, column 11: object key contains a NUL character");
}

/* ---- duplicate keys ---- */

static void
test_duplicate_keys (void **state)
{
  struct json *j = parse_ok ("{\"a\": 1, \"b\": {\"x\": 1}, \"a\": 3, \"b\": {\"y\": 2}, \"c\": 4}");
  (void) state;

  assert_int_equal (j->u.object.len, 3);
  assert_string_equal (j->u.object.keys[0], "a");
  assert_string_equal (j->u.object.keys[1], "b");
  assert_string_equal (j->u.object.keys[2], "c");
  assert_string_equal (json_get (j, "a")->u.number, "3");
  /* the whole last value wins, no merging */
  assert_null (json_get (json_get (j, "b"), "x"));
  assert_string_equal (json_get (json_get (j, "b"), "y")->u.number, "2");
  json_free (j);
}

/* Large objects use a hash index; duplicates must still resolve. */
static void
test_duplicate_keys_large (void **state)
{
  size_t n = 20000, i, size = 0;
  char *doc = NULL;
  FILE *f = open_memstream (&doc, &size);
  struct json *j;
  (void) state;

  assert_non_null (f);
  fputs ("{", f);
  for (i = 0; i < n; i++)
    fprintf (f, "\"k%zu\": %zu, ", i, i);
  /* every key again, in reverse, with new values */
  for (i = n; i-- > 0;)
    fprintf (f, "\"k%zu\": %zu%s", i, i + 1000000, i ? ", " : "}");
  assert_int_equal (fclose (f), 0);
  j = parse_ok (doc);
  assert_int_equal (j->u.object.len, n);
  for (i = 0; i < n; i += 997)
    {
      char key[32], val[32];
      snprintf (key, sizeof (key), "k%zu", i);
      snprintf (val, sizeof (val), "%zu", i + 1000000);
      assert_string_equal (j->u.object.keys[i], key);
      assert_string_equal (json_get (j, key)->u.number, val);
    }
  json_free (j);
  free (doc);
}

/* ---- typed accessors ---- */

static void
assert_int64 (const char *doc, bool present, int64_t value)
{
  struct json *j = parse_ok (doc);
  mh_error_t err = NULL;
  bool p = !present;
  int64_t v = ~value; /* anything but the expected value */

  assert_int_equal (json_get_int64 (j, "v", "v", &p, &v, &err), 0);
  assert_null (err);
  assert_int_equal (p, present);
  assert_true (v == value);
  json_free (j);
}

static void
assert_int64_error (const char *doc, const char *expected)
{
  struct json *j = parse_ok (doc);
  mh_error_t err = NULL;
  bool p = true;
  int64_t v = 7;

  assert_int_equal (json_get_int64 (j, "v", "linux.resources.memory.limit", &p, &v, &err), -1);
  assert_false (p);
  assert_int_equal (v, 0);
  assert_string_equal (err->msg, expected);
  mh_error_free (&err);
  json_free (j);
}

static void
test_int64 (void **state)
{
  (void) state;
  assert_int64 ("{\"v\": 0}", true, 0);
  assert_int64 ("{\"v\": -0}", true, 0);
  assert_int64 ("{\"v\": -1}", true, -1);
  assert_int64 ("{\"v\": 9223372036854775807}", true, INT64_MAX);
  assert_int64 ("{\"v\": -9223372036854775808}", true, INT64_MIN);
  assert_int64 ("{\"v\": null}", false, 0);
  assert_int64 ("{}", false, 0);

  assert_int64_error ("{\"v\": 9223372036854775808}",
                      "linux.resources.memory.limit: 9223372036854775808 is out of range for a 64-bit integer");
  assert_int64_error ("{\"v\": -9223372036854775809}",
                      "linux.resources.memory.limit: -9223372036854775809 is out of range for a 64-bit integer");
  assert_int64_error ("{\"v\": 99999999999999999999999999}",
                      "linux.resources.memory.limit: 99999999999999999999999999 is out of range for a 64-bit integer");
  assert_int64_error ("{\"v\": \"64m\"}", "linux.resources.memory.limit: expected an integer, got a string \"64m\"");
  assert_int64_error ("{\"v\": 1.0}", "linux.resources.memory.limit: expected an integer, got a number 1.0");
  assert_int64_error ("{\"v\": 1.5}", "linux.resources.memory.limit: expected an integer, got a number 1.5");
  assert_int64_error ("{\"v\": 1e3}", "linux.resources.memory.limit: expected an integer, got a number 1e3");
  assert_int64_error ("{\"v\": true}", "linux.resources.memory.limit: expected an integer, got a boolean");
  assert_int64_error ("{\"v\": {}}", "linux.resources.memory.limit: expected an integer, got an object");
  assert_int64_error ("{\"v\": [1]}", "linux.resources.memory.limit: expected an integer, got an array");
  /* long strings are cut, quotes and control characters escaped */
  assert_int64_error ("{\"v\": \"0123456789012345678901234567890123456789-and-more\"}",
                      "linux.resources.memory.limit: expected an integer, got a string "
                      "\"0123456789012345678901234567890123456789...\"");
  assert_int64_error ("{\"v\": \"a\\\"b\\nc\\u0001\"}",
                      "linux.resources.memory.limit: expected an integer, got a string \"a\\\"b\\nc\\x01\"");
  /* a cut never splits a UTF-8 character: 39 bytes then a 2-byte é */
  assert_int64_error ("{\"v\": \"012345678901234567890123456789012345678\xc3\xa9xyz\"}",
                      "linux.resources.memory.limit: expected an integer, got a string "
                      "\"012345678901234567890123456789012345678...\"");
}

static void
test_number_int64 (void **state)
{
  struct json *j = parse_ok ("[5, \"5\"]");
  mh_error_t err = NULL;
  int64_t v;
  (void) state;

  assert_int_equal (json_number_int64 (j->u.array.items[0], "a[0]", &v, &err), 0);
  assert_int_equal (v, 5);
  assert_int_equal (json_number_int64 (j->u.array.items[1], "a[1]", &v, &err), -1);
  assert_string_equal (err->msg, "a[1]: expected an integer, got a string \"5\"");
  mh_error_free (&err);
  json_free (j);
}

static void
assert_uint64_error (const char *doc, const char *expected)
{
  struct json *j = parse_ok (doc);
  mh_error_t err = NULL;
  bool p = true;
  uint64_t v = 7;

  assert_int_equal (json_get_uint64 (j, "v", "swappiness", &p, &v, &err), -1);
  assert_false (p);
  assert_int_equal (v, 0);
  assert_string_equal (err->msg, expected);
  mh_error_free (&err);
  json_free (j);
}

static void
test_uint64 (void **state)
{
  struct json *j = parse_ok ("{\"max\": 18446744073709551615, \"z\": 0, \"nz\": -0, \"n\": null}");
  mh_error_t err = NULL;
  bool p;
  uint64_t v;
  (void) state;

  assert_int_equal (json_get_uint64 (j, "max", "max", &p, &v, &err), 0);
  assert_true (p);
  assert_true (v == UINT64_MAX);
  assert_int_equal (json_get_uint64 (j, "z", "z", &p, &v, &err), 0);
  assert_true (p);
  assert_int_equal (v, 0);
  assert_int_equal (json_get_uint64 (j, "nz", "nz", &p, &v, &err), 0);
  assert_true (p);
  assert_int_equal (v, 0);
  assert_int_equal (json_get_uint64 (j, "n", "n", &p, &v, &err), 0);
  assert_false (p);
  json_free (j);

  assert_uint64_error ("{\"v\": -1}", "swappiness: expected an unsigned integer, got -1");
  assert_uint64_error ("{\"v\": -9223372036854775809}",
                       "swappiness: expected an unsigned integer, got -9223372036854775809");
  assert_uint64_error ("{\"v\": 18446744073709551616}",
                       "swappiness: 18446744073709551616 is out of range for a 64-bit unsigned integer");
  assert_uint64_error ("{\"v\": 60.0}", "swappiness: expected an unsigned integer, got a number 60.0");
  assert_uint64_error ("{\"v\": \"60\"}", "swappiness: expected an unsigned integer, got a string \"60\"");
  assert_uint64_error ("{\"v\": false}", "swappiness: expected an unsigned integer, got a boolean");
}

static void
test_bool_string_object_array (void **state)
{
  struct json *j = parse_ok ("{\"b\": true, \"s\": \"x\", \"o\": {\"k\": 1}, \"a\": [], \"n\": null, \"num\": 1}");
  mh_error_t err = NULL;
  const struct json *sub;
  const char *s;
  bool p, b;
  (void) state;

  assert_int_equal (json_get_bool (j, "b", "b", &p, &b, &err), 0);
  assert_true (p && b);
  assert_int_equal (json_get_bool (j, "n", "n", &p, &b, &err), 0);
  assert_false (p);
  assert_int_equal (json_get_bool (j, "num", "x.disableOOMKiller", &p, &b, &err), -1);
  assert_string_equal (err->msg, "x.disableOOMKiller: expected a boolean, got a number 1");
  mh_error_free (&err);
  assert_int_equal (json_get_bool (j, "s", "x.b", &p, &b, &err), -1);
  assert_string_equal (err->msg, "x.b: expected a boolean, got a string \"x\"");
  mh_error_free (&err);

  assert_int_equal (json_get_string (j, "s", "s", &s, &err), 0);
  assert_string_equal (s, "x");
  assert_int_equal (json_get_string (j, "n", "n", &s, &err), 0);
  assert_null (s);
  assert_int_equal (json_get_string (j, "o", "linux.cgroupsPath", &s, &err), -1);
  assert_string_equal (err->msg, "linux.cgroupsPath: expected a string, got an object");
  mh_error_free (&err);

  assert_int_equal (json_get_object (j, "o", "o", &sub, &err), 0);
  assert_non_null (sub);
  assert_int_equal (json_get_object (j, "missing", "missing", &sub, &err), 0);
  assert_null (sub);
  assert_int_equal (json_get_object (j, "a", "linux", &sub, &err), -1);
  assert_null (sub);
  assert_string_equal (err->msg, "linux: expected an object, got an array");
  mh_error_free (&err);

  assert_int_equal (json_get_array (j, "a", "a", &sub, &err), 0);
  assert_non_null (sub);
  assert_int_equal (json_get_array (j, "num", "process.args", &sub, &err), -1);
  assert_string_equal (err->msg, "process.args: expected an array, got a number 1");
  mh_error_free (&err);

  /* absent parents chain as absent */
  assert_int_equal (json_get_bool (NULL, "b", "b", &p, &b, &err), 0);
  assert_false (p);
  json_free (j);
}

/* ---- serialization ---- */

static char *
pretty (const struct json *j)
{
  char *out = NULL;
  size_t len = 0;
  mh_error_t err = NULL;

  assert_int_equal (json_serialize (j, &out, &len, &err), 0);
  assert_int_equal (strlen (out), len);
  return out;
}

static char *
compact (const struct json *j)
{
  char *out = NULL;
  size_t len = 0;
  mh_error_t err = NULL;

  assert_int_equal (json_serialize_compact (j, &out, &len, &err), 0);
  assert_int_equal (strlen (out), len);
  return out;
}

static void
test_serialize_exact (void **state)
{
  struct json *j = parse_ok ("{\"z\":1,\"a\":[2.50,true,null,{},[]],\"url\":\"http://x/y\",\"u\":\"\xc3\xa9\xe6\x97\xa5\","
                             "\"nul\":\"a\\u0000b\",\"ctl\":\"\\t\\u001f\"}");
  char *out;
  (void) state;

  out = pretty (j);
  assert_string_equal (out, "{\n"
                            "  \"z\": 1,\n"
                            "  \"a\": [\n"
                            "    2.50,\n"
                            "    true,\n"
                            "    null,\n"
                            "    {},\n"
                            "    []\n"
                            "  ],\n"
                            "  \"url\": \"http://x/y\",\n"
                            "  \"u\": \"\xc3\xa9\xe6\x97\xa5\",\n"
                            "  \"nul\": \"a\\u0000b\",\n"
                            "  \"ctl\": \"\\t\\u001F\"\n"
                            "}\n");
  free (out);
  out = compact (j);
  assert_string_equal (out, "{\"z\":1,\"a\":[2.50,true,null,{},[]],\"url\":\"http://x/y\",\"u\":\"\xc3\xa9\xe6\x97\xa5\","
                            "\"nul\":\"a\\u0000b\",\"ctl\":\"\\t\\u001F\"}");
  assert_null (strchr (out, '\n'));
  free (out);
  json_free (j);
}

static void
test_round_trip (void **state)
{
  const char *root = getenv ("MEMHOOK_SOURCE_ROOT");
  char path[4096];
  struct json *a = NULL, *b = NULL, *c = NULL;
  mh_error_t err = NULL;
  char *out1, *out2;
  (void) state;

  assert_non_null (root);
  snprintf (path, sizeof (path), "%s/tests/unit/data/config-runc.json", root);
  assert_int_equal (json_parse_file (path, &a, &err), 0);
  out1 = pretty (a);
  assert_int_equal (json_parse (out1, strlen (out1), "out", &b, &err), 0);
  assert_true (json_equal (a, b));
  /* serializing again gives the same bytes */
  out2 = pretty (b);
  assert_string_equal (out1, out2);
  free (out2);
  out2 = compact (b);
  assert_int_equal (json_parse (out2, strlen (out2), "out", &c, &err), 0);
  assert_true (json_equal (a, c));
  /* key order kept: ociVersion, process, root, ... as runc spec wrote them */
  assert_string_equal (b->u.object.keys[0], "ociVersion");
  assert_string_equal (b->u.object.keys[1], "process");
  assert_true (strstr (out1, "\"ociVersion\"") < strstr (out1, "\"process\""));
  assert_true (strstr (out1, "\"limit\": 67108864") < strstr (out1, "\"reservation\": 33554432"));
  free (out1);
  free (out2);
  json_free (a);
  json_free (b);
  json_free (c);

  /* numbers verbatim */
  a = parse_ok ("{\"d\": 2.50, \"big\": 123456789012345678901234567890, \"e\": -1.5E-7}");
  out1 = compact (a);
  assert_string_equal (out1, "{\"d\":2.50,\"big\":123456789012345678901234567890,\"e\":-1.5E-7}");
  free (out1);
  json_free (a);
}

static void
test_serialize_invalid_utf8 (void **state)
{
  struct json *j = json_new_array ();
  mh_error_t err = NULL;
  char *out = (char *) 1;
  (void) state;

  assert_int_equal (json_array_append (j, json_new_string_len ("a\xff", 2), &err), 0);
  assert_int_equal (json_serialize (j, &out, NULL, &err), -1);
  assert_null (out);
  assert_string_equal (err->msg, "serialize JSON: a string is not valid UTF-8");
  mh_error_free (&err);
  json_free (j);
}

/* ---- building and editing ---- */

static void
test_edit (void **state)
{
  struct json *j = parse_ok ("{\"a\": 1, \"b\": 2, \"c\": 3}");
  mh_error_t err = NULL;
  struct json *arr;
  char *out;
  (void) state;

  /* replace in place keeps the position */
  assert_int_equal (json_object_set (j, "b", json_new_string ("two"), &err), 0);
  /* new keys go last */
  assert_int_equal (json_object_set (j, "d", json_new_int (INT64_MIN), &err), 0);
  assert_int_equal (json_object_set (j, "e", json_new_uint (UINT64_MAX), &err), 0);
  assert_int_equal (json_object_set (j, "f", json_new_bool (false), &err), 0);
  assert_int_equal (json_object_set (j, "g", json_new_null (), &err), 0);
  assert_int_equal (json_object_set (j, "h", json_new_number ("2.50"), &err), 0);
  assert_true (json_object_remove (j, "a"));
  assert_false (json_object_remove (j, "a"));
  arr = json_new_array ();
  for (int i = 0; i < 9; i++)
    assert_int_equal (json_array_append (arr, json_new_int (i), &err), 0);
  assert_int_equal (json_object_set (j, "arr", arr, &err), 0);
  out = compact (j);
  assert_string_equal (out, "{\"b\":\"two\",\"c\":3,\"d\":-9223372036854775808,\"e\":18446744073709551615,"
                            "\"f\":false,\"g\":null,\"h\":2.50,\"arr\":[0,1,2,3,4,5,6,7,8]}");
  free (out);

  /* many keys, then removals, then more keys: storage stays consistent */
  for (int i = 0; i < 100; i++)
    {
      char key[16];
      snprintf (key, sizeof (key), "k%d", i);
      assert_int_equal (json_object_set (j, key, json_new_int (i), &err), 0);
    }
  for (int i = 0; i < 100; i += 2)
    {
      char key[16];
      snprintf (key, sizeof (key), "k%d", i);
      assert_true (json_object_remove (j, key));
    }
  for (int i = 0; i < 30; i++)
    {
      char key[16];
      snprintf (key, sizeof (key), "n%d", i);
      assert_int_equal (json_object_set (j, key, json_new_int (i), &err), 0);
    }
  assert_int_equal (j->u.object.len, 8 + 50 + 30);
  assert_string_equal (json_get (j, "k99")->u.number, "99");
  assert_null (json_get (j, "k98"));
  assert_string_equal (j->u.object.keys[j->u.object.len - 1], "n29");

  /* wrong targets: the value is still freed (valgrind checks) */
  assert_int_equal (json_object_set (arr, "x", json_new_int (1), &err), -1);
  assert_string_equal (err->msg, "set JSON key \"x\": not an object");
  mh_error_free (&err);
  assert_int_equal (json_array_append (j, json_new_int (1), &err), -1);
  assert_string_equal (err->msg, "append to JSON array: not an array");
  mh_error_free (&err);
  assert_int_equal (json_object_set (j, "x", NULL, &err), -1);
  mh_error_free (&err);
  json_free (j);
}

static void
test_new_number (void **state)
{
  const char *good[] = { "0", "-0", "12", "2.50", "1e5", "1E-5", "-1.5e+10" };
  const char *bad[] = { "", "-", "01", "1.", ".5", "1e", "1e+", "abc", "1 ", "+1", "0x10", "NaN" };
  size_t i;
  (void) state;

  for (i = 0; i < sizeof (good) / sizeof (good[0]); i++)
    {
      struct json *n = json_new_number (good[i]);
      assert_non_null (n);
      assert_string_equal (n->u.number, good[i]);
      json_free (n);
    }
  for (i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    assert_null (json_new_number (bad[i]));
  assert_null (json_new_number (NULL));
}

static void
test_equal_and_copy (void **state)
{
  struct json *a = parse_ok ("{\"x\": [1, \"s\", {\"k\": null}], \"y\": true}");
  struct json *b = parse_ok ("{\"y\": true, \"x\": [1, \"s\", {\"k\": null}]}");
  struct json *c = parse_ok ("{\"x\": [1.0, \"s\", {\"k\": null}], \"y\": true}");
  struct json *d = parse_ok ("{\"x\": [1, \"s\", {\"k\": null}], \"y\": false}");
  struct json *e = parse_ok ("{\"x\": [1, \"s\", {\"k\": null}]}");
  struct json *f = parse_ok ("{\"x\": [\"s\", 1, {\"k\": null}], \"y\": true}");
  struct json *s1 = json_new_string_len ("a\0b", 3), *s2 = json_new_string_len ("a\0c", 3);
  struct json *copy = json_copy (a);
  (void) state;

  assert_true (json_equal (a, b));  /* key order does not matter */
  assert_false (json_equal (a, c)); /* numbers by text */
  assert_false (json_equal (a, d));
  assert_false (json_equal (a, e));
  assert_false (json_equal (e, a));
  assert_false (json_equal (a, f)); /* array order does */
  assert_false (json_equal (s1, s2));
  assert_true (json_equal (NULL, NULL));
  assert_false (json_equal (a, NULL));
  assert_true (json_equal (a, copy));
  assert_ptr_not_equal (a->u.object.values[0], copy->u.object.values[0]);
  json_free (a);
  json_free (b);
  json_free (c);
  json_free (d);
  json_free (e);
  json_free (f);
  json_free (s1);
  json_free (s2);
  json_free (copy);
}

/* Deterministic mutations of a realistic document: every outcome is
 * either a clean error with a position or a tree that round-trips. */
static void
test_mutations (void **state)
{
  const char *seed = "{\"ociVersion\": \"1.0.2\", \"linux\": {\"resources\": {\"memory\": {\"limit\": 67108864,"
                     " \"swap\": -1, \"swappiness\": 60, \"disableOOMKiller\": false}, \"unified\": {\"a\": \"\\u00e9\"}},"
                     " \"x\": [1, 2.50, null, true, {\"k\": [[]]}]}, \"annotations\": {\"a\": \"b\", \"a\": \"c\"}}";
  const char alphabet[] = "{}[]:,\"\\ \n01-.eE+tfnulr\xc3\xa9\xff\x00a";
  size_t len = strlen (seed), round, ok = 0;
  uint64_t rng = 0x9e3779b97f4a7c15u;
  char *buf = malloc (len + 8);
  (void) state;

  for (round = 0; round < 20000; round++)
    {
      struct json *j = NULL, *again = NULL;
      mh_error_t err = NULL;
      size_t n = len, k, edits;

      memcpy (buf, seed, len);
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      edits = 1 + rng % 3;
      for (k = 0; k < edits && n > 0; k++)
        {
          rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
          size_t at = (rng >> 8) % n;
          char c = alphabet[(rng >> 40) % (sizeof (alphabet) - 1)];
          switch (rng % 3)
            {
            case 0: /* replace */
              buf[at] = c;
              break;
            case 1: /* delete */
              memmove (buf + at, buf + at + 1, n - at - 1);
              n--;
              break;
            default: /* truncate */
              n = at + 1;
              break;
            }
        }
      if (json_parse (buf, n, "x.json", &j, &err) < 0)
        {
          assert_null (j);
          assert_true (strncmp (err->msg, "x.json: line ", 13) == 0);
          mh_error_free (&err);
          continue;
        }
      char *out = NULL;
      /* what yajl accepted, yajl must be able to write back */
      assert_int_equal (json_serialize (j, &out, NULL, &err), 0);
      assert_int_equal (json_parse (out, strlen (out), "out", &again, &err), 0);
      assert_true (json_equal (j, again));
      json_free (again);
      free (out);
      ok++;
      json_free (j);
    }
  /* the mutations must leave some documents valid, or this tests nothing */
  assert_true (ok > 100);
  free (buf);
}

static void
test_cleanup_json (void **state)
{
  (void) state;
  cleanup_json struct json *j = parse_ok ("{\"a\": [1, 2]}");
  assert_non_null (j);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_malformed_positions),
    cmocka_unit_test (test_empty_input),
    cmocka_unit_test (test_nesting_limit),
    cmocka_unit_test (test_size_limit),
    cmocka_unit_test (test_parse_fd),
    cmocka_unit_test (test_parse_values),
    cmocka_unit_test (test_nul_characters),
    cmocka_unit_test (test_duplicate_keys),
    cmocka_unit_test (test_duplicate_keys_large),
    cmocka_unit_test (test_int64),
    cmocka_unit_test (test_number_int64),
    cmocka_unit_test (test_uint64),
    cmocka_unit_test (test_bool_string_object_array),
    cmocka_unit_test (test_serialize_exact),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_serialize_invalid_utf8),
    cmocka_unit_test (test_edit),
    cmocka_unit_test (test_new_number),
    cmocka_unit_test (test_equal_and_copy),
    cmocka_unit_test (test_mutations),
    cmocka_unit_test (test_cleanup_json),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
