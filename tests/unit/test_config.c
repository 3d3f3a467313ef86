/* Reading config.json: memory fields with present flags, unified,
 * cgroupsPath, annotations, process args/env, and errors naming paths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static void
parse_ok (const char *doc, struct oci_config *c)
{
  mh_error_t err = NULL;
  char buf[512];

  if (oci_config_parse (doc, strlen (doc), c, &err) < 0)
    fail_msg ("unexpected error: %s", mh_error_text (err, buf, sizeof (buf)));
}

static void
assert_config_error (const char *doc, const char *expected)
{
  struct oci_config c;
  mh_error_t err = NULL;

  memset (&c, 0x5a, sizeof (c));
  assert_int_equal (oci_config_parse (doc, strlen (doc), &c, &err), -1);
  assert_non_null (err);
  assert_string_equal (err->msg, expected);
  /* nothing half-filled is handed back */
  assert_false (c.has_memory);
  assert_null (c.cgroups_path);
  assert_null (c.args);
  assert_int_equal (c.unified.len, 0);
  mh_error_free (&err);
  oci_config_free (&c);
}

static void
test_runc_spec_fixture (void **state)
{
  const char *root = getenv ("MEMHOOK_SOURCE_ROOT");
  char path[4096];
  struct oci_config c;
  mh_error_t err = NULL;
  (void) state;

  assert_non_null (root);
  snprintf (path, sizeof (path), "%s/tests/unit/data/config-runc.json", root);
  assert_int_equal (oci_config_load (path, &c, &err), 0);
  assert_true (c.has_memory);
  assert_true (c.memory.limit.present);
  assert_int_equal (c.memory.limit.value, 67108864);
  assert_true (c.memory.reservation.present);
  assert_int_equal (c.memory.reservation.value, 33554432);
  assert_true (c.memory.swap.present);
  assert_int_equal (c.memory.swap.value, 134217728);
  assert_true (c.memory.swappiness.present);
  assert_int_equal (c.memory.swappiness.value, 60);
  assert_true (c.memory.disable_oom_killer.present);
  assert_false (c.memory.disable_oom_killer.value);
  assert_true (c.memory.check_before_update.present);
  assert_true (c.memory.check_before_update.value);
  assert_false (c.memory.kernel.present);
  assert_false (c.memory.kernel_tcp.present);
  assert_false (c.memory.use_hierarchy.present);
  assert_int_equal (c.unified.len, 2);
  assert_string_equal (c.unified.items[0].key, "memory.high");
  assert_string_equal (oci_kv_get (&c.unified, "memory.oom.group"), "1");
  assert_string_equal (c.cgroups_path, "/memhook-test/web1");
  assert_string_equal (oci_kv_get (&c.annotations, "io.kubernetes.pod.name"), "web");
  assert_string_equal (oci_kv_get (&c.annotations, "memhook.restart"), "on-oom");
  assert_null (oci_kv_get (&c.annotations, "missing"));
  assert_int_equal (c.n_args, 3);
  assert_string_equal (c.args[2], "echo hi");
  assert_int_equal (c.n_env, 2);
  assert_string_equal (c.env[1], "TERM=xterm");
  oci_config_free (&c);
  assert_null (c.args);
  oci_config_free (&c); /* twice is harmless */
}

static void
test_absent_and_zero (void **state)
{
  struct oci_config c;
  (void) state;

  parse_ok ("{\"ociVersion\": \"1.0.2\", \"unknownField\": {\"x\": [1, 2]}}", &c);
  assert_false (c.has_memory);
  assert_false (c.memory.limit.present);
  assert_null (c.cgroups_path);
  assert_int_equal (c.annotations.len, 0);
  assert_int_equal (c.n_args, 0);
  assert_null (oci_kv_get (&c.annotations, "x"));
  oci_config_free (&c);

  /* present zeros differ from absent (crun treats them as values) */
  parse_ok ("{\"linux\": {\"resources\": {\"memory\": {\"limit\": 0, \"swap\": 0, \"swappiness\": 0,"
            " \"disableOOMKiller\": false, \"kernel\": 0, \"kernelTCP\": 0, \"reservation\": 0,"
            " \"useHierarchy\": false, \"checkBeforeUpdate\": false}}}}",
            &c);
  assert_true (c.has_memory);
  assert_true (c.memory.limit.present && c.memory.limit.value == 0);
  assert_true (c.memory.swap.present && c.memory.swap.value == 0);
  assert_true (c.memory.swappiness.present && c.memory.swappiness.value == 0);
  assert_true (c.memory.kernel.present && c.memory.kernel_tcp.present && c.memory.reservation.present);
  assert_true (c.memory.disable_oom_killer.present && !c.memory.disable_oom_killer.value);
  assert_true (c.memory.use_hierarchy.present && c.memory.check_before_update.present);
  oci_config_free (&c);

  /* null is absent, at every level */
  parse_ok ("{\"linux\": {\"resources\": {\"memory\": {\"limit\": null}, \"unified\": null}, \"cgroupsPath\": null},"
            " \"process\": {\"args\": null}, \"annotations\": null}",
            &c);
  assert_true (c.has_memory);
  assert_false (c.memory.limit.present);
  oci_config_free (&c);
  parse_ok ("{\"linux\": {\"resources\": {\"memory\": null}}, \"process\": null}", &c);
  assert_false (c.has_memory);
  oci_config_free (&c);

  /* -1 means unlimited and is a value */
  parse_ok ("{\"linux\": {\"resources\": {\"memory\": {\"limit\": -1, \"swap\": -1}}}}", &c);
  assert_int_equal (c.memory.limit.value, -1);
  assert_int_equal (c.memory.swap.value, -1);
  oci_config_free (&c);
}

static const char *const int_fields[] = { "limit", "reservation", "swap", "kernel", "kernelTCP" };
static const char *const bool_fields[] = { "disableOOMKiller", "useHierarchy", "checkBeforeUpdate" };

struct bad_value
{
  const char *json;
  const char *got;
};

static const struct bad_value bad_values[] = {
  { "\"64m\"", "a string \"64m\"" },
  { "\"\"", "a string \"\"" },
  { "true", "a boolean" },
  { "{}", "an object" },
  { "[]", "an array" },
  { "1.5", "a number 1.5" },
  { "1.0", "a number 1.0" },
  { "1e9", "a number 1e9" },
};

static void
assert_memory_field_error (const char *field, const char *value, const char *expected_tail)
{
  char doc[256], expected[256];

  snprintf (doc, sizeof (doc), "{\"linux\": {\"resources\": {\"memory\": {\"%s\": %s}}}}", field, value);
  snprintf (expected, sizeof (expected), "linux.resources.memory.%s: %s", field, expected_tail);
  assert_config_error (doc, expected);
}

static void
test_memory_wrong_types (void **state)
{
  char tail[128];
  size_t f, v;
  (void) state;

  for (f = 0; f < sizeof (int_fields) / sizeof (int_fields[0]); f++)
    for (v = 0; v < sizeof (bad_values) / sizeof (bad_values[0]); v++)
      {
        snprintf (tail, sizeof (tail), "expected an integer, got %s", bad_values[v].got);
        assert_memory_field_error (int_fields[f], bad_values[v].json, tail);
      }
  for (v = 0; v < sizeof (bad_values) / sizeof (bad_values[0]); v++)
    {
      snprintf (tail, sizeof (tail), "expected an unsigned integer, got %s", bad_values[v].got);
      assert_memory_field_error ("swappiness", bad_values[v].json, tail);
    }
  assert_memory_field_error ("swappiness", "-1", "expected an unsigned integer, got -1");
  for (f = 0; f < sizeof (bool_fields) / sizeof (bool_fields[0]); f++)
    {
      assert_memory_field_error (bool_fields[f], "1", "expected a boolean, got a number 1");
      assert_memory_field_error (bool_fields[f], "0", "expected a boolean, got a number 0");
      assert_memory_field_error (bool_fields[f], "\"true\"", "expected a boolean, got a string \"true\"");
      assert_memory_field_error (bool_fields[f], "{}", "expected a boolean, got an object");
      assert_memory_field_error (bool_fields[f], "[]", "expected a boolean, got an array");
    }
}

static void
test_memory_int64_extremes (void **state)
{
  struct oci_config c;
  size_t f;
  (void) state;

  parse_ok ("{\"linux\": {\"resources\": {\"memory\": {\"limit\": 9223372036854775807,"
            " \"reservation\": -9223372036854775808, \"swappiness\": 18446744073709551615}}}}",
            &c);
  assert_true (c.memory.limit.value == INT64_MAX);
  assert_true (c.memory.reservation.value == INT64_MIN);
  assert_true (c.memory.swappiness.value == UINT64_MAX);
  oci_config_free (&c);

  for (f = 0; f < sizeof (int_fields) / sizeof (int_fields[0]); f++)
    {
      assert_memory_field_error (int_fields[f], "9223372036854775808",
                                 "9223372036854775808 is out of range for a 64-bit integer");
      assert_memory_field_error (int_fields[f], "-9223372036854775809",
                                 "-9223372036854775809 is out of range for a 64-bit integer");
    }
  assert_memory_field_error ("swappiness", "18446744073709551616",
                             "18446744073709551616 is out of range for a 64-bit unsigned integer");
}

static void
test_wrong_types_on_the_way (void **state)
{
  (void) state;
  assert_config_error ("[]", "top level: expected an object, got an array");
  assert_config_error ("\"x\"", "top level: expected an object, got a string \"x\"");
  assert_config_error ("{\"linux\": 5}", "linux: expected an object, got a number 5");
  assert_config_error ("{\"linux\": {\"resources\": []}}", "linux.resources: expected an object, got an array");
  assert_config_error ("{\"linux\": {\"resources\": {\"memory\": \"64m\"}}}",
                       "linux.resources.memory: expected an object, got a string \"64m\"");
  assert_config_error ("{\"linux\": {\"resources\": {\"unified\": [\"memory.high\"]}}}",
                       "linux.resources.unified: expected an object, got an array");
  assert_config_error ("{\"linux\": {\"resources\": {\"unified\": {\"memory.high\": \"1\", \"memory.max\": 5}}}}",
                       "linux.resources.unified.memory.max: expected a string, got a number 5");
  assert_config_error ("{\"linux\": {\"resources\": {\"unified\": {\"a\\nb\": null}}}}",
                       "linux.resources.unified.a\\nb: expected a string, got null");
  assert_config_error ("{\"linux\": {\"cgroupsPath\": 7}}", "linux.cgroupsPath: expected a string, got a number 7");
  assert_config_error ("{\"linux\": {\"cgroupsPath\": \"/a\\u0000b\"}}",
                       "linux.cgroupsPath: string contains a NUL character (\\u0000); remove it");
  assert_config_error ("{\"annotations\": []}", "annotations: expected an object, got an array");
  assert_config_error ("{\"annotations\": {\"memhook.restart\": true}}",
                       "annotations.memhook.restart: expected a string, got a boolean");
  assert_config_error ("{\"process\": \"sh\"}", "process: expected an object, got a string \"sh\"");
  assert_config_error ("{\"process\": {\"args\": \"sh -c x\"}}",
                       "process.args: expected an array, got a string \"sh -c x\"");
  assert_config_error ("{\"process\": {\"args\": [\"a\", \"b\", \"c\", 4]}}",
                       "process.args[3]: expected a string, got a number 4");
  assert_config_error ("{\"process\": {\"args\": [\"a\", \"b\\u0000c\"]}}",
                       "process.args[1]: string contains a NUL character (\\u0000); remove it");
  assert_config_error ("{\"process\": {\"args\": [\"a\"], \"env\": [\"A=1\", null]}}",
                       "process.env[1]: expected a string, got null");
  assert_config_error ("{\"process\": {\"env\": {\"A\": \"1\"}}}", "process.env: expected an array, got an object");
  /* a bad field after good ones: the good ones are not handed back either */
  assert_config_error ("{\"linux\": {\"cgroupsPath\": \"/x\", \"resources\": {\"memory\": {\"limit\": 1}}},"
                       " \"process\": {\"args\": [\"a\", 1]}}",
                       "process.args[1]: expected a string, got a number 1");
}

static void
test_malformed_config (void **state)
{
  (void) state;
  assert_config_error ("{\n  \"linux\": {\n    \"resources\": {\"memory\": {\"limit\": 64m}}\n  }\n}",
                       "config.json: line 3, column 41: invalid character");
  assert_config_error ("{\n  \"linux\": {\n    \"cgroupsPath\": \"/x\" \"y\"\n  }\n}",
                       "config.json: line 3, column 27: expected ',' or '}' after an object member");
  assert_config_error ("{\n  \"linux\": {\n    \"resources\": {\"memory\": {\"limit\": 1}}\n  }\n",
                       "config.json: line 5, column 1: unexpected end of input (truncated?)");
  assert_config_error ("", "config.json: line 1, column 1: empty input (expected a JSON document)");
}

static void
test_duplicate_keys_last_wins (void **state)
{
  struct oci_config c;
  (void) state;

  parse_ok ("{\"linux\": {\"resources\": {\"memory\": {\"limit\": 1, \"limit\": 2}}},"
            " \"annotations\": {\"a\": \"1\", \"b\": \"2\", \"a\": \"3\"}}",
            &c);
  assert_int_equal (c.memory.limit.value, 2);
  assert_int_equal (c.annotations.len, 2);
  assert_string_equal (c.annotations.items[0].key, "a");
  assert_string_equal (c.annotations.items[0].value, "3");
  oci_config_free (&c);
}

static void
test_from_json_keeps_tree (void **state)
{
  struct json *root = NULL;
  struct oci_config c;
  mh_error_t err = NULL;
  const char *doc = "{\"linux\": {\"resources\": {\"memory\": {\"limit\": 1048576}}}}";
  (void) state;

  assert_int_equal (json_parse (doc, strlen (doc), "config.json", &root, &err), 0);
  assert_int_equal (oci_config_from_json (root, &c, &err), 0);
  assert_int_equal (c.memory.limit.value, 1048576);
  oci_config_free (&c);
  /* the tree is untouched and still usable */
  assert_non_null (json_get (json_get (json_get (root, "linux"), "resources"), "memory"));
  json_free (root);

  assert_int_equal (oci_config_from_json (NULL, &c, &err), -1);
  assert_string_equal (err->msg, "top level: expected an object, got nothing");
  mh_error_free (&err);
}

/* The restart settings: each annotation, else its MEMHOOK_* variable in
 * process.env (docker 20.10 cannot set annotations); the name a refusal
 * gives says which one was used. */
static void
test_restart_sources (void **state)
{
  struct oci_config c;
  struct restart_sources src;
  (void) state;

  parse_ok ("{\"annotations\": {\"io.memhook.restart\": \"on-oom:2\"},"
            " \"process\": {\"args\": [\"x\"], \"env\": [\"PATH=/bin\", \"MEMHOOK_RESTART=always\","
            " \"MEMHOOK_RESTART_BACKOFF=1s,2s\", \"MEMHOOK_RESTART_BACKOFF=9s\", \"MEMHOOK_OOM_GROWTH=2\","
            " \"MEMHOOK_OOM_GROW\"]}}",
            &c);
  oci_restart_sources (&c, &src);
  /* the annotation wins */
  assert_string_equal (src.restart.value, "on-oom:2");
  assert_string_equal (src.restart.name, "io.memhook.restart");
  /* the first occurrence, as getenv() in the container */
  assert_string_equal (src.backoff.value, "1s,2s");
  assert_string_equal (src.backoff.name, "process.env MEMHOOK_RESTART_BACKOFF");
  /* neither a longer name nor an entry without '=' counts */
  assert_null (src.grow.value);
  assert_null (oci_env_get (&c, "MEMHOOK_OOM_GROW"));
  assert_string_equal (oci_env_get (&c, "PATH"), "/bin");
  oci_config_free (&c);

  parse_ok ("{}", &c);
  oci_restart_sources (&c, &src);
  assert_null (src.restart.value);
  assert_null (src.backoff.value);
  assert_null (src.grow.value);
  oci_config_free (&c);
}

static void
test_load_prefixes_path (void **state)
{
  char path[] = "/tmp/memhook-h1-config-XXXXXX";
  const char *bad_type = "{\"linux\": {\"resources\": {\"memory\": {\"limit\": \"64m\"}}}}";
  const char *bad_json = "{\"linux\": }";
  struct oci_config c;
  mh_error_t err = NULL;
  char expected[256];
  int fd = mkstemp (path);
  (void) state;

  assert_true (fd >= 0);
  assert_int_equal (write (fd, bad_type, strlen (bad_type)), (ssize_t) strlen (bad_type));
  assert_int_equal (oci_config_load (path, &c, &err), -1);
  snprintf (expected, sizeof (expected), "%s: linux.resources.memory.limit: expected an integer, got a string \"64m\"",
            path);
  assert_string_equal (err->msg, expected);
  mh_error_free (&err);

  assert_int_equal (ftruncate (fd, 0), 0);
  assert_int_equal (pwrite (fd, bad_json, strlen (bad_json), 0), (ssize_t) strlen (bad_json));
  assert_int_equal (oci_config_load (path, &c, &err), -1);
  snprintf (expected, sizeof (expected), "%s: line 1, column 11: unexpected token", path);
  assert_string_equal (err->msg, expected);
  mh_error_free (&err);
  close (fd);
  unlink (path);

  assert_int_equal (oci_config_load ("/nonexistent/memhook-h1/config.json", &c, &err), -1);
  assert_string_equal (err->msg, "open /nonexistent/memhook-h1/config.json");
  assert_int_equal (err->errnum, ENOENT);
  mh_error_free (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_runc_spec_fixture),
    cmocka_unit_test (test_absent_and_zero),
    cmocka_unit_test (test_memory_wrong_types),
    cmocka_unit_test (test_memory_int64_extremes),
    cmocka_unit_test (test_wrong_types_on_the_way),
    cmocka_unit_test (test_malformed_config),
    cmocka_unit_test (test_duplicate_keys_last_wins),
    cmocka_unit_test (test_from_json_keeps_tree),
    cmocka_unit_test (test_load_prefixes_path),
    cmocka_unit_test (test_restart_sources),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
