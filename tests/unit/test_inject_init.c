/* shim/inject_init.c: process mode's rewrite of config.json.  memhook-init
 * goes in front of process.args with the restart settings, three mounts
 * are added, the host side (verdict dir, records file) is made; a second
 * pass changes nothing, no policy changes nothing, and a config it cannot
 * change is refused naming the field before anything is touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tmptree.h"

/* The shim is a program, not part of the library: test the module directly. */
#include "../../shim/inject_init.c"

#define INIT "/usr/libexec/memhook/memhook-init"
#define ID "web1"

/* What one test holds: the parsed config, its tree and the state dir. */
struct fixture
{
  struct tree *tree;
  char state_dir[128];
  struct json *root;
  struct oci_config config;
  bool parsed;
  struct restart_policy policy;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof (*f));
  void *t = NULL;

  if (f == NULL || tree_setup (&t, "inject") < 0)
    {
      free (f);
      return -1;
    }
  f->tree = t;
  snprintf (f->state_dir, sizeof f->state_dir, "%s/state", f->tree->root);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  void *t = f->tree;

  json_free (f->root);
  if (f->parsed)
    oci_config_free (&f->config);
  free (f);
  return tree_teardown (&t);
}

/* Parse doc as the bundle's config.json and its restart policy, as
 * shim_prepare does. */
static void
load (struct fixture *f, const char *doc)
{
  mh_error_t err = NULL;
  struct restart_sources src;

  if (json_parse (doc, strlen (doc), "config.json", &f->root, &err) < 0
      || oci_config_from_json (f->root, &f->config, &err) < 0)
    fail_msg ("config: %s", err->msg);
  f->parsed = true;
  oci_restart_sources (&f->config, &src);
  if (restart_policy_parse_sources (&src, &f->policy, &err) < 0)
    fail_msg ("policy: %s", err->msg);
}

static char *
serialized (const struct json *root)
{
  mh_error_t err = NULL;
  char *out = NULL;
  size_t len;

  if (json_serialize_compact (root, &out, &len, &err) < 0)
    fail_msg ("serialize: %s", err->msg);
  return out;
}

static int
inject (struct fixture *f, const char *id, bool *changed, mh_error_t *err)
{
  *changed = false;
  return inject_init (f->root, INIT, f->state_dir, id, &f->config, &f->policy, changed, err);
}

static void
assert_strings (const struct json *arr, const char *const *want, size_t n)
{
  assert_non_null (arr);
  assert_int_equal (arr->type, JSON_ARRAY);
  assert_int_equal (arr->u.array.len, n);
  for (size_t i = 0; i < n; i++)
    {
      assert_int_equal (arr->u.array.items[i]->type, JSON_STRING);
      assert_string_equal (arr->u.array.items[i]->u.string.data, want[i]);
    }
}

static const struct json *
args_of (const struct json *root)
{
  return json_get (json_get (root, "process"), "args");
}

static void
args_are_prefixed (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;
  bool changed;
  static const char *const want[]
      = { INJECT_INIT_DEST, "--policy",    "on-oom:2",          "--backoff",     "100ms,1s,10s", "--grow",
          "1.5,256m",       "--verdict-dir", INJECT_VERDICTS_DEST, "--events-file", INJECT_RECORDS_DEST, "--",
          "/bin/app",       "-x",          "two words" };

  load (f, "{\"process\": {\"args\": [\"/bin/app\", \"-x\", \"two words\"], \"env\": [\"PATH=/bin\"]},"
           " \"annotations\": {\"io.memhook.restart\": \"on-oom:2\", \"io.memhook.restart.backoff\": \"100ms,1s,10s\","
           " \"io.memhook.oom.grow\": \"1.5,256m\"}}");
  assert_false (inject_init_present (f->root));
  assert_int_equal (inject (f, ID, &changed, &err), 0);
  assert_true (changed);
  assert_true (inject_init_present (f->root));
  assert_strings (args_of (f->root), want, sizeof want / sizeof want[0]);
  /* the rest of process is kept */
  static const char *const env[] = { "PATH=/bin" };
  assert_strings (json_get (json_get (f->root, "process"), "env"), env, 1);
}

/* Settings from process.env where no annotation says otherwise; only the
 * ones given become options. */
static void
args_from_the_environment (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;
  bool changed;
  static const char *const want[] = { INJECT_INIT_DEST, "--policy",    "always",
                                      "--grow",         "2",           "--verdict-dir",
                                      INJECT_VERDICTS_DEST, "--events-file", INJECT_RECORDS_DEST,
                                      "--",             "/bin/app" };

  load (f, "{\"process\": {\"args\": [\"/bin/app\"], \"env\": [\"MEMHOOK_RESTART=on-oom\", \"MEMHOOK_OOM_GROW=2\"]},"
           " \"annotations\": {\"io.memhook.restart\": \"always\"}}");
  assert_int_equal (inject (f, ID, &changed, &err), 0);
  assert_strings (args_of (f->root), want, sizeof want / sizeof want[0]);
}

static void
mounts_are_added (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;
  bool changed;
  char verdicts[256], records[256], name[256];
  const struct json *mounts;
  struct stat st;

  load (f, "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart\": \"on-oom\"},"
           " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}]}");
  assert_int_equal (inject (f, ID, &changed, &err), 0);
  mounts = json_get (f->root, "mounts");
  assert_int_equal (mounts->u.array.len, 4);
  assert_string_equal (json_get (mounts->u.array.items[0], "destination")->u.string.data, "/proc");

  snprintf (verdicts, sizeof verdicts, "%s/" ID "/verdicts", f->state_dir);
  snprintf (records, sizeof records, "%s/" ID "/init-records.jsonl", f->state_dir);
  const struct
  {
    const char *dest, *source;
    const char *opts[5];
    size_t n_opts;
  } want[] = {
    { INJECT_INIT_DEST, INIT, { "bind", "ro", "nosuid", "nodev" }, 4 },
    { INJECT_VERDICTS_DEST, verdicts, { "bind", "ro", "nosuid", "nodev", "noexec" }, 5 },
    { INJECT_RECORDS_DEST, records, { "bind", "rw", "nosuid", "nodev", "noexec" }, 5 },
  };
  for (size_t i = 0; i < 3; i++)
    {
      const struct json *m = mounts->u.array.items[i + 1];
      assert_string_equal (json_get (m, "destination")->u.string.data, want[i].dest);
      assert_string_equal (json_get (m, "type")->u.string.data, "bind");
      assert_string_equal (json_get (m, "source")->u.string.data, want[i].source);
      assert_strings (json_get (m, "options"), want[i].opts, want[i].n_opts);
    }
  /* The host side: the verdict dir (0700) and the records file (0600). */
  assert_int_equal (stat (verdicts, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0700);
  assert_int_equal (stat (records, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0600);

  /* No mounts at all: the list is made. */
  json_free (f->root);
  oci_config_free (&f->config);
  f->root = NULL;
  f->parsed = false;
  load (f, "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart\": \"always\"}}");
  assert_int_equal (inject (f, "web2", &changed, &err), 0);
  assert_int_equal (json_get (f->root, "mounts")->u.array.len, 3);
  snprintf (name, sizeof name, "%s/web2/verdicts", f->state_dir);
  assert_int_equal (stat (name, &st), 0);
}

static void
second_pass_changes_nothing (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;
  bool changed;
  cleanup_free char *first = NULL;
  cleanup_free char *second = NULL;

  load (f, "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart\": \"on-oom:3\"}}");
  assert_int_equal (inject (f, ID, &changed, &err), 0);
  assert_true (changed);
  first = serialized (f->root);
  assert_int_equal (inject (f, ID, &changed, &err), 0);
  assert_false (changed);
  second = serialized (f->root);
  assert_string_equal (first, second);

  /* From its own output, re-read as the next create would. */
  json_free (f->root);
  oci_config_free (&f->config);
  f->root = NULL;
  f->parsed = false;
  load (f, first);
  assert_int_equal (inject (f, ID, &changed, &err), 0);
  assert_false (changed);
  free (second);
  second = serialized (f->root);
  assert_string_equal (first, second);
}

static void
no_policy_leaves_it_untouched (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;
  bool changed;
  struct stat st;
  static const char *const docs[] = {
    "{\"process\": {\"args\": [\"/bin/app\"]}}",
    "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart\": \"no\"}}",
    "{\"process\": {\"args\": [\"/bin/app\"], \"env\": [\"MEMHOOK_RESTART=no\"]}}",
    /* a backoff alone is no policy */
    "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart.backoff\": \"1s\"}}",
  };

  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
    {
      cleanup_free char *before = NULL;
      cleanup_free char *after = NULL;

      json_free (f->root);
      if (f->parsed)
        oci_config_free (&f->config);
      f->root = NULL;
      f->parsed = false;
      load (f, docs[i]);
      before = serialized (f->root);
      assert_int_equal (inject (f, ID, &changed, &err), 0);
      assert_false (changed);
      after = serialized (f->root);
      assert_string_equal (before, after);
    }
  /* and nothing made on the host */
  assert_int_equal (stat (f->state_dir, &st), -1);
}

static void
assert_refused (struct fixture *f, const char *doc, const char *id, const char *message)
{
  mh_error_t err = NULL;
  bool changed;
  cleanup_free char *before = NULL;
  cleanup_free char *after = NULL;
  char buf[512];
  struct stat st;

  json_free (f->root);
  if (f->parsed)
    oci_config_free (&f->config);
  f->root = NULL;
  f->parsed = false;
  load (f, doc);
  before = serialized (f->root);
  assert_int_equal (inject (f, id, &changed, &err), -1);
  assert_false (changed);
  if (strstr (mh_error_text (err, buf, sizeof buf), message) != buf)
    fail_msg ("refusal \"%s\" should start with \"%s\"", buf, message);
  mh_error_free (&err);
  after = serialized (f->root);
  assert_string_equal (before, after);
  assert_int_equal (stat (f->state_dir, &st), -1);
}

static void
bad_input_is_refused_naming_the_field (void **state)
{
  struct fixture *f = *state;

  assert_refused (f, "{\"process\": {\"args\": []}, \"annotations\": {\"io.memhook.restart\": \"on-oom\"}}", ID,
                  "process.args: missing or empty; memhook-init needs the workload to run");
  assert_refused (f, "{\"process\": {\"cwd\": \"/\"}, \"annotations\": {\"io.memhook.restart\": \"on-oom\"}}", ID,
                  "process.args: missing or empty");
  assert_refused (f, "{\"annotations\": {\"io.memhook.restart\": \"on-oom\"}}", ID, "process.args: missing or empty");
  assert_refused (f,
                  "{\"process\": {\"args\": [\"/bin/app\"]}, \"mounts\": {\"destination\": \"/x\"},"
                  " \"annotations\": {\"io.memhook.restart\": \"on-oom\"}}",
                  ID, "mounts: expected an array, got object");
  assert_refused (f, "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart\": \"on-oom\"}}",
                  "../escape", "container id");
}

static void
oom_group_is_refused (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;

  load (f, "{\"process\": {\"args\": [\"/bin/app\"]}, \"annotations\": {\"io.memhook.restart\": \"on-oom\"},"
           " \"linux\": {\"resources\": {\"unified\": {\"memory.oom.group\": \"1\"}}}}");
  assert_int_equal (inject_init_check_oom_group (&f->config, &err), -1);
  assert_non_null (strstr (err->msg, "linux.resources.unified.memory.oom.group: is 1"));
  mh_error_free (&err);
  json_free (f->root);
  oci_config_free (&f->config);
  f->root = NULL;
  f->parsed = false;
  load (f, "{\"process\": {\"args\": [\"/bin/app\"]},"
           " \"linux\": {\"resources\": {\"unified\": {\"memory.oom.group\": \"0\"}}}}");
  assert_int_equal (inject_init_check_oom_group (&f->config, &err), 0);
}

/* MEMHOOK_INIT_PATH must be an absolute path to an executable file. */
static void
find_honours_memhook_init_path (void **state)
{
  struct fixture *f = *state;
  mh_error_t err = NULL;
  char *out = NULL;
  char path[256];

  (void) f;
  setenv ("MEMHOOK_INIT_PATH", "memhook-init", 1);
  assert_int_equal (inject_init_find (&out, &err), -1);
  assert_non_null (strstr (err->msg, "MEMHOOK_INIT_PATH memhook-init: not an absolute path"));
  mh_error_free (&err);

  snprintf (path, sizeof path, "%s/not-executable", f->tree->root);
  tree_put (f->tree, "not-executable", "x");
  setenv ("MEMHOOK_INIT_PATH", path, 1);
  assert_int_equal (inject_init_find (&out, &err), -1);
  mh_error_free (&err);

  setenv ("MEMHOOK_INIT_PATH", "/bin/sh", 1);
  assert_int_equal (inject_init_find (&out, &err), 0);
  assert_non_null (out);
  assert_int_equal (out[0], '/');
  free (out);
  unsetenv ("MEMHOOK_INIT_PATH");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (args_are_prefixed, setup, teardown),
    cmocka_unit_test_setup_teardown (args_from_the_environment, setup, teardown),
    cmocka_unit_test_setup_teardown (mounts_are_added, setup, teardown),
    cmocka_unit_test_setup_teardown (second_pass_changes_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown (no_policy_leaves_it_untouched, setup, teardown),
    cmocka_unit_test_setup_teardown (bad_input_is_refused_naming_the_field, setup, teardown),
    cmocka_unit_test_setup_teardown (oom_group_is_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (find_honours_memhook_init_path, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
