/* Rewriting config.json: what is not changed stays as it was (values, key
 * order, number text), the hooks are added once, a second pass is a no-op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "json.h"
#include "rewrite.h"

#define HOOK "/usr/local/bin/memhook"

static char *const hook_options[] = { "--state-dir=/run/memhook", "--unsupported=warn", NULL };

/* Unknown fields, odd key order, "2.50", int64 extremes, integers past
 * int64, negative numbers, exponents, unicode (raw and escaped, a
 * surrogate pair), an empty object and array, and a null. */
static const char odd_config[] =
  "{\"zzz\":{\"b\":1,\"a\":2.50,\"c\":[1e400,-0.0,1E-7,-12]},\"ociVersion\":\"1.0.2\","
  "\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"echo h\\u00e9llo \\ud83d\\ude00 \\u2603 caf\xc3\xa9\"],"
  "\"env\":[\"A=\\\"quoted\\\"\\\\\\n\\t\"],\"cwd\":\"/\"},"
  "\"annotations\":{\"io.x/\xe2\x98\x83\":\"snow\\u0001man\",\"empty\":\"\"},"
  "\"linux\":{\"uidMappings\":[],\"resources\":{\"memory\":{\"swap\":-1,\"limit\":9223372036854775807,"
  "\"reservation\":67108864,\"swappiness\":18446744073709551615,\"extra\":-9223372036854775808},"
  "\"cpu\":{\"shares\":1024,\"quota\":-1,\"weird\":123456789012345678901234567890}},"
  "\"seccomp\":null,\"sysctl\":{}},\"root\":{\"readonly\":true,\"path\":\"rootfs\"}}";

static struct json *
parse (const char *text)
{
  struct json *j = NULL;
  mh_error_t err = NULL;

  if (json_parse (text, strlen (text), "config.json", &j, &err) < 0)
    fail_msg ("parse: %s", err->msg);
  return j;
}

static char *
serialize (const struct json *j, size_t *len)
{
  char *out = NULL;
  mh_error_t err = NULL;

  if (json_serialize (j, &out, len, &err) < 0)
    fail_msg ("serialize: %s", err->msg);
  return out;
}

static void
effective_of (const struct json *root, struct oci_memory *m)
{
  struct oci_config c;
  mh_error_t err = NULL;

  memset (&c, 0, sizeof c);
  if (oci_config_from_json (root, &c, &err) < 0)
    fail_msg ("config: %s", err->msg);
  *m = c.memory;
  oci_config_free (&c);
}

static const struct json *
path_get (const struct json *j, const char *a, const char *b, const char *c)
{
  j = json_get (j, a);
  if (j && b)
    j = json_get (j, b);
  if (j && c)
    j = json_get (j, c);
  return j;
}

static void
round_trip_keeps_everything_but_the_hooks (void **state)
{
  struct json *orig = parse (odd_config), *root = parse (odd_config);
  struct rewrite_result res = { .changed = false };
  struct oci_memory m;
  mh_error_t err = NULL;
  size_t len_a, len_b;
  (void) state;

  effective_of (root, &m);
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_false (res.changed);
  assert_int_equal (res.n_set + res.n_dropped, 0);
  assert_int_equal (rewrite_hooks (root, HOOK, hook_options, &res, &err), 0);
  assert_true (res.changed);
  assert_int_equal (res.n_hooks, 3);

  char *out = serialize (root, &len_a);
  /* Number text verbatim. */
  assert_non_null (strstr (out, "2.50"));
  assert_non_null (strstr (out, "9223372036854775807"));
  assert_non_null (strstr (out, "-9223372036854775808"));
  assert_non_null (strstr (out, "18446744073709551615"));
  assert_non_null (strstr (out, "123456789012345678901234567890"));
  assert_non_null (strstr (out, "1e400"));
  assert_non_null (strstr (out, "-0.0"));
  assert_non_null (strstr (out, "1E-7"));
  /* Odd key order kept: "zzz" first, "swap" before "limit". */
  assert_true (strstr (out, "\"zzz\"") < strstr (out, "\"ociVersion\""));
  assert_true (strstr (out, "\"swap\"") < strstr (out, "\"limit\""));

  /* The result minus the hooks serializes to exactly the original. */
  struct json *back = parse (out);
  assert_true (json_object_remove (back, "hooks"));
  char *a = serialize (orig, &len_a), *b = serialize (back, &len_b);
  assert_int_equal (len_a, len_b);
  assert_memory_equal (a, b, len_a);
  assert_true (json_equal (orig, back));

  /* Unicode survives as the same code points. */
  const struct json *args = path_get (back, "process", "args", NULL);
  assert_non_null (args);
  assert_string_equal (args->u.array.items[2]->u.string.data,
                       "echo h\xc3\xa9llo \xf0\x9f\x98\x80 \xe2\x98\x83 caf\xc3\xa9");
  const struct json *ann = json_get (back, "annotations");
  assert_string_equal (ann->u.object.keys[0], "io.x/\xe2\x98\x83");
  assert_string_equal (ann->u.object.values[0]->u.string.data, "snow\x01man");

  free (a);
  free (b);
  free (out);
  json_free (back);
  json_free (orig);
  json_free (root);
}

static void
hooks_carry_path_stage_and_options (void **state)
{
  struct json *root = parse ("{\"ociVersion\":\"1.0.2\"}");
  struct rewrite_result res = { .changed = false };
  mh_error_t err = NULL;
  static const char *const stages[] = { "createRuntime", "poststart", "poststop" };
  (void) state;

  assert_false (rewrite_hooks_present (root));
  assert_int_equal (rewrite_hooks (root, HOOK, hook_options, &res, &err), 0);
  assert_true (rewrite_hooks_present (root));
  /* One stage without: not all present. */
  struct json *pruned = json_copy (root);
  assert_true (json_object_remove (json_get (pruned, "hooks"), "poststop"));
  assert_false (rewrite_hooks_present (pruned));
  json_free (pruned);
  for (size_t i = 0; i < 3; i++)
    {
      const struct json *arr = path_get (root, "hooks", stages[i], NULL);
      assert_non_null (arr);
      assert_int_equal (arr->type, JSON_ARRAY);
      assert_int_equal (arr->u.array.len, 1);
      const struct json *h = arr->u.array.items[0];
      assert_true (rewrite_is_memhook_hook (h));
      assert_string_equal (json_get (h, "path")->u.string.data, HOOK);
      const struct json *args = json_get (h, "args");
      assert_int_equal (args->u.array.len, 5);
      assert_string_equal (args->u.array.items[0]->u.string.data, "memhook");
      assert_string_equal (args->u.array.items[1]->u.string.data, "hook");
      assert_string_equal (args->u.array.items[2]->u.string.data, stages[i]);
      assert_string_equal (args->u.array.items[3]->u.string.data, "--state-dir=/run/memhook");
      assert_string_equal (args->u.array.items[4]->u.string.data, "--unsupported=warn");
      assert_string_equal (res.hooks[i], stages[i]);
    }
  json_free (root);
}

static void
second_rewrite_changes_nothing (void **state)
{
  struct json *root = parse (odd_config);
  struct rewrite_result res = { .changed = false };
  struct oci_memory m;
  mh_error_t err = NULL;
  size_t len1, len2;
  (void) state;

  /* First pass: drop swappiness, set a limit, add hooks. */
  effective_of (root, &m);
  m.swappiness.present = false;
  m.limit.value = 67108864;
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_int_equal (rewrite_hooks (root, HOOK, hook_options, &res, &err), 0);
  assert_true (res.changed);
  char *first = serialize (root, &len1);

  /* Second pass over the written text with the same settings. */
  struct json *again = parse (first);
  struct rewrite_result res2 = { .changed = false };
  assert_int_equal (rewrite_memory (again, &m, &res2, &err), 0);
  assert_int_equal (rewrite_hooks (again, "/other/dir/memhook", hook_options, &res2, &err), 0);
  assert_false (res2.changed);
  assert_int_equal (res2.n_hooks + res2.n_set + res2.n_dropped, 0);
  char *second = serialize (again, &len2);
  assert_int_equal (len1, len2);
  assert_memory_equal (first, second, len1);
  free (first);
  free (second);
  json_free (again);
  json_free (root);
}

static void
memory_fields_set_dropped_and_kept (void **state)
{
  struct json *root = parse ("{\"linux\":{\"resources\":{\"memory\":{\"kernel\":0,\"swappiness\":60,"
                             "\"limit\":67108864,\"disableOOMKiller\":true,\"checkBeforeUpdate\":false}}}}");
  struct rewrite_result res = { .changed = false };
  struct oci_memory m;
  mh_error_t err = NULL;
  size_t len;
  (void) state;

  effective_of (root, &m);
  m.kernel.present = false;             /* a present 0: not set */
  m.swappiness.present = false;         /* v2 cannot */
  m.disable_oom_killer.present = false; /* v2 cannot */
  m.reservation = (struct opt_i64){ .present = true, .value = 33554432 };
  m.check_before_update.value = true;
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_true (res.changed);
  assert_int_equal (res.n_dropped, 3);
  assert_string_equal (res.dropped[0], "linux.resources.memory.kernel");
  assert_string_equal (res.dropped[1], "linux.resources.memory.swappiness");
  assert_string_equal (res.dropped[2], "linux.resources.memory.disableOOMKiller");
  assert_int_equal (res.n_set, 2);
  assert_string_equal (res.set[0], "linux.resources.memory.reservation");
  assert_string_equal (res.set[1], "linux.resources.memory.checkBeforeUpdate");
  char *out = serialize (root, &len);
  /* Kept in place, the new key appended. */
  const struct json *mem = path_get (root, "linux", "resources", "memory");
  assert_int_equal (mem->u.object.len, 3);
  assert_string_equal (mem->u.object.keys[0], "limit");
  assert_string_equal (mem->u.object.keys[1], "checkBeforeUpdate");
  assert_string_equal (mem->u.object.keys[2], "reservation");
  assert_string_equal (mem->u.object.values[2]->u.number, "33554432");
  assert_true (mem->u.object.values[1]->u.boolean);
  free (out);
  json_free (root);
}

static void
default_limit_creates_the_path (void **state)
{
  struct json *root = parse ("{\"ociVersion\":\"1.0.2\",\"process\":{}}");
  struct rewrite_result res = { .changed = false };
  struct oci_memory m;
  mh_error_t err = NULL;
  (void) state;

  memset (&m, 0, sizeof m);
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_false (res.changed);
  assert_null (json_get (root, "linux")); /* nothing to set: nothing created */
  m.limit = (struct opt_i64){ .present = true, .value = 268435456 };
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_true (res.changed);
  const struct json *limit = path_get (root, "linux", "resources", "memory");
  assert_non_null (limit);
  assert_string_equal (json_get (limit, "limit")->u.number, "268435456");
  assert_string_equal (root->u.object.keys[2], "linux");
  json_free (root);
}

static void
equal_value_keeps_its_node (void **state)
{
  /* Same value, different text: an integer node written another way is
   * still the same value only when it parses as that integer. */
  struct json *root = parse ("{\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864,\"swap\":-1,"
                             "\"swappiness\":0}}}}");
  struct rewrite_result res = { .changed = false };
  struct oci_memory m;
  mh_error_t err = NULL;
  (void) state;

  effective_of (root, &m);
  const struct json *before = path_get (root, "linux", "resources", "memory");
  const struct json *limit_node = json_get (before, "limit");
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_false (res.changed);
  assert_ptr_equal (json_get (before, "limit"), limit_node);
  /* A changed value replaces the node in place (same key position). */
  m.swap.value = 134217728;
  assert_int_equal (rewrite_memory (root, &m, &res, &err), 0);
  assert_true (res.changed);
  assert_string_equal (before->u.object.keys[1], "swap");
  assert_string_equal (before->u.object.values[1]->u.number, "134217728");
  json_free (root);
}

static void
existing_memhook_hooks_are_kept (void **state)
{
  /* podman with memhook's hooks.d puts a createRuntime hook there itself;
   * a prestart one counts for createRuntime too. */
  struct json *root = parse ("{\"hooks\":{\"prestart\":[{\"path\":\"/usr/libexec/memhook\",\"args\":"
                             "[\"memhook\",\"hook\",\"prestart\",\"--on-fault=fail\"]}],"
                             "\"poststart\":[{\"path\":\"/usr/bin/nvidia-hook\",\"args\":[\"x\",\"hook\"]},"
                             "{\"path\":\"/opt/memhook-not\",\"args\":[\"memhook\",\"hook\"]},"
                             "{\"path\":\"/opt/memhook\",\"args\":[\"memhook\",\"validate\"]}]}}");
  struct rewrite_result res = { .changed = false };
  mh_error_t err = NULL;
  (void) state;

  assert_false (rewrite_hooks_present (root));
  assert_int_equal (rewrite_hooks (root, HOOK, NULL, &res, &err), 0);
  assert_true (rewrite_hooks_present (root));
  assert_int_equal (res.n_hooks, 2);
  assert_string_equal (res.hooks[0], "poststart");
  assert_string_equal (res.hooks[1], "poststop");
  assert_null (path_get (root, "hooks", "createRuntime", NULL));
  const struct json *ps = path_get (root, "hooks", "poststart", NULL);
  assert_int_equal (ps->u.array.len, 4);
  assert_string_equal (json_get (ps->u.array.items[0], "path")->u.string.data, "/usr/bin/nvidia-hook");
  assert_true (rewrite_is_memhook_hook (ps->u.array.items[3]));
  assert_int_equal (json_get (ps->u.array.items[3], "args")->u.array.len, 3);
  json_free (root);
}

static void
bad_shapes_are_errors (void **state)
{
  struct rewrite_result res = { .changed = false };
  struct oci_memory m;
  mh_error_t err = NULL;
  (void) state;

  struct json *root = parse ("{\"hooks\":{\"poststop\":{}}}");
  assert_int_equal (rewrite_hooks (root, HOOK, NULL, &res, &err), -1);
  assert_non_null (strstr (err->msg, "hooks.poststop: expected an array"));
  mh_error_free (&err);
  json_free (root);

  root = parse ("{\"hooks\":[]}");
  assert_int_equal (rewrite_hooks (root, HOOK, NULL, &res, &err), -1);
  assert_non_null (strstr (err->msg, "hooks: expected an object"));
  mh_error_free (&err);
  json_free (root);

  memset (&m, 0, sizeof m);
  m.limit = (struct opt_i64){ .present = true, .value = 1 };
  root = parse ("{\"linux\":{\"resources\":7}}");
  assert_int_equal (rewrite_memory (root, &m, &res, &err), -1);
  assert_non_null (strstr (err->msg, "linux.resources: expected an object"));
  mh_error_free (&err);
  json_free (root);
}

static void
unified_dropped_whole (void **state)
{
  struct json *root = parse ("{\"linux\":{\"resources\":{\"unified\":{\"memory.high\":\"1000\"},\"pids\":{}}}}");
  struct rewrite_result res = { .changed = false };
  mh_error_t err = NULL;
  (void) state;

  assert_int_equal (rewrite_drop_unified (root, &res, &err), 0);
  assert_true (res.unified_dropped);
  assert_true (res.changed);
  const struct json *r = path_get (root, "linux", "resources", NULL);
  assert_int_equal (r->u.object.len, 1);
  assert_string_equal (r->u.object.keys[0], "pids");
  struct rewrite_result res2 = { .changed = false };
  assert_int_equal (rewrite_drop_unified (root, &res2, &err), 0);
  assert_false (res2.changed);
  json_free (root);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (round_trip_keeps_everything_but_the_hooks),
    cmocka_unit_test (hooks_carry_path_stage_and_options),
    cmocka_unit_test (second_rewrite_changes_nothing),
    cmocka_unit_test (memory_fields_set_dropped_and_kept),
    cmocka_unit_test (default_limit_creates_the_path),
    cmocka_unit_test (equal_value_keeps_its_node),
    cmocka_unit_test (existing_memhook_hooks_are_kept),
    cmocka_unit_test (bad_shapes_are_errors),
    cmocka_unit_test (unified_dropped_whole),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
