/* Operator options: precedence CLI → env → config file → default, and a
 * clear error naming the source for every bad value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"

struct fixture
{
  char dir[64];
  char path[128];
  char config_env[160]; /* "MEMHOOK_CONFIG=<path>" */
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof (*f));

  snprintf (f->dir, sizeof f->dir, "/tmp/memhook-test-options-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  snprintf (f->path, sizeof f->path, "%s/memhook.json", f->dir);
  snprintf (f->config_env, sizeof f->config_env, "MEMHOOK_CONFIG=%s", f->path);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  char sub[160];

  unlink (f->path);
  snprintf (sub, sizeof sub, "%s/sub", f->dir);
  rmdir (sub);
  rmdir (f->dir);
  free (f);
  return 0;
}

static void
write_config (struct fixture *f, const char *text)
{
  FILE *fp = fopen (f->path, "w");
  assert_non_null (fp);
  fputs (text, fp);
  fclose (fp);
}

/* Resolves and expects success. */
static void
resolve_ok (const struct options_cli *cli, char **envp, struct options *o)
{
  mh_error_t err = NULL;

  if (options_resolve (cli, envp, o, &err) < 0)
    fail_msg ("options_resolve failed: %s", err->msg);
}

/* Resolves, expects failure, and checks every given substring. */
static void
resolve_bad (const struct options_cli *cli, char **envp, const char *s1, const char *s2)
{
  mh_error_t err = NULL;
  struct options o;

  assert_int_equal (options_resolve (cli, envp, &o, &err), -1);
  assert_non_null (err);
  if (strstr (err->msg, s1) == NULL || (s2 && strstr (err->msg, s2) == NULL))
    fail_msg ("message \"%s\" lacks \"%s\" or \"%s\"", err->msg, s1, s2 ? s2 : "");
  assert_null (o.state_dir); /* nothing half-resolved is handed out */
  mh_error_free (&err);
}

static void
test_defaults (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, NULL }; /* the file does not exist: fine */
  struct options o;

  resolve_ok (NULL, envp, &o);
  assert_string_equal (o.state_dir, "/run/memhook");
  assert_int_equal (o.unsupported, UNSUPPORTED_WARN);
  assert_int_equal (o.on_fault, ON_FAULT_PASS);
  assert_false (o.has_default_limit);
  assert_false (o.has_max_limit);
  assert_null (o.runtime);
  assert_null (o.metrics_dir);
  options_free (&o);
}

static void
test_default_config_path_absent (void **state)
{
  char *envp[] = { NULL };
  struct options o;
  (void) state;

  if (access (MEMHOOK_DEFAULT_CONFIG, F_OK) == 0)
    skip (); /* the host has one: its content is not ours to judge */
  resolve_ok (NULL, envp, &o);
  assert_string_equal (o.state_dir, MEMHOOK_DEFAULT_STATE_DIR);
  options_free (&o);
}

static void
test_file_only (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, NULL };
  struct options o;

  write_config (f, "{\"state_dir\": \"/var/lib/memhook\", \"unsupported\": \"error\","
                   " \"default_limit\": \"64m\", \"max_limit\": 1073741824, \"on_fault\": \"fail\","
                   " \"runtime\": \"/usr/sbin/runc\", \"metrics_dir\": \"/var/lib/node_exporter\"}");
  resolve_ok (NULL, envp, &o);
  assert_string_equal (o.state_dir, "/var/lib/memhook");
  assert_int_equal (o.unsupported, UNSUPPORTED_ERROR);
  assert_true (o.has_default_limit);
  assert_int_equal (o.default_limit, 64LL << 20);
  assert_true (o.has_max_limit);
  assert_int_equal (o.max_limit, 1LL << 30);
  assert_int_equal (o.on_fault, ON_FAULT_FAIL);
  assert_string_equal (o.runtime, "/usr/sbin/runc");
  assert_string_equal (o.metrics_dir, "/var/lib/node_exporter");
  options_free (&o);
}

static void
test_precedence (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, "MEMHOOK_STATE_DIR=/env/state", "MEMHOOK_MAX_LIMIT=2g",
                   "MEMHOOK_UNSUPPORTED=ignore", "MEMHOOK_REAL_RUNTIME=crun", "OTHER=1", NULL };
  struct options_cli cli = { .max_limit = "512m", .on_fault = "pass" };
  struct options o;

  write_config (f, "{\"state_dir\": \"/file/state\", \"max_limit\": \"1g\", \"default_limit\": \"128m\","
                   " \"on_fault\": \"fail\", \"unsupported\": \"error\"}");
  resolve_ok (&cli, envp, &o);
  assert_string_equal (o.state_dir, "/env/state");     /* env over file */
  assert_int_equal (o.max_limit, 512LL << 20);         /* CLI over env over file */
  assert_int_equal (o.default_limit, 128LL << 20);     /* file alone */
  assert_int_equal (o.on_fault, ON_FAULT_PASS);        /* CLI over file */
  assert_int_equal (o.unsupported, UNSUPPORTED_IGNORE); /* env over file */
  assert_string_equal (o.runtime, "crun");
  options_free (&o);

  /* the same through the process environment (envp NULL) */
  setenv ("MEMHOOK_CONFIG", f->path, 1);
  setenv ("MEMHOOK_STATE_DIR", "/from/environ", 1);
  resolve_ok (NULL, NULL, &o);
  assert_string_equal (o.state_dir, "/from/environ");
  assert_int_equal (o.max_limit, 1LL << 30);
  unsetenv ("MEMHOOK_STATE_DIR");
  unsetenv ("MEMHOOK_CONFIG");
  options_free (&o);
}

static void
test_none_overrides_lower (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, "MEMHOOK_DEFAULT_LIMIT=max", NULL };
  struct options_cli cli = { .max_limit = "none" };
  struct options o;

  write_config (f, "{\"max_limit\": \"1g\", \"default_limit\": \"64m\"}");
  resolve_ok (&cli, envp, &o);
  assert_false (o.has_max_limit);
  assert_false (o.has_default_limit); /* an unlimited default is no default */
  options_free (&o);

  cli.max_limit = "-1";
  resolve_ok (&cli, envp, &o);
  assert_false (o.has_max_limit);
  options_free (&o);
}

static void
test_bad_cli (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, NULL };
  struct options_cli cli = { .max_limit = "64x" };

  resolve_bad (&cli, envp, "--max-limit: \"64x\" is not a size; use e.g. 64m, 1g, 1.5GiB, bytes, or max", NULL);
  cli = (struct options_cli){ .default_limit = "0" };
  resolve_bad (&cli, envp, "--default-limit: 0 is not a limit", NULL);
  cli = (struct options_cli){ .unsupported = "maybe" };
  resolve_bad (&cli, envp, "--unsupported: \"maybe\" is not a mode; use error, warn or ignore", NULL);
  cli = (struct options_cli){ .on_fault = "retry" };
  resolve_bad (&cli, envp, "--on-fault: \"retry\"", "pass or fail");
  cli = (struct options_cli){ .state_dir = "relative/dir" };
  resolve_bad (&cli, envp, "--state-dir: \"relative/dir\" is not an absolute path", NULL);
  cli = (struct options_cli){ .state_dir = "" };
  resolve_bad (&cli, envp, "--state-dir: empty", NULL);
  cli = (struct options_cli){ .runtime = "" };
  resolve_bad (&cli, envp, "--runtime: empty", NULL);
  cli = (struct options_cli){ .metrics_dir = "m" };
  resolve_bad (&cli, envp, "--metrics-dir", "absolute");
}

static void
test_bad_env (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, "MEMHOOK_MAX_LIMIT=lots", NULL };
  char *envp2[] = { f->config_env, "MEMHOOK_ON_FAULT=", NULL };
  char *envp3[] = { "MEMHOOK_CONFIG=", NULL };

  resolve_bad (NULL, envp, "MEMHOOK_MAX_LIMIT: \"lots\" is not a size", NULL);
  resolve_bad (NULL, envp2, "MEMHOOK_ON_FAULT: \"\" is not a choice", NULL);
  resolve_bad (NULL, envp3, "MEMHOOK_CONFIG: empty", NULL);
}

/* A typo in a lower source is an error even when a higher one overrides it. */
static void
test_bad_lower_source_still_refused (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, "MEMHOOK_MAX_LIMIT=1gg", NULL };
  struct options_cli cli = { .max_limit = "1g" };

  resolve_bad (&cli, envp, "MEMHOOK_MAX_LIMIT", "not a size");
}

static void
test_bad_file (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, NULL };
  char sub_env[200];
  char sub[160];

  write_config (f, "{\"max_limit\": \"64x\"}");
  resolve_bad (NULL, envp, f->path, ": max_limit: \"64x\" is not a size");

  write_config (f, "{\"max_limt\": \"1g\"}");
  resolve_bad (NULL, envp, f->path, "unknown key \"max_limt\"");

  write_config (f, "{\"state_dir\": 5}");
  resolve_bad (NULL, envp, "state_dir: expected a string", NULL);

  write_config (f, "{\"max_limit\": 1.5}");
  resolve_bad (NULL, envp, "max_limit: 1.5 is not a whole number of bytes", NULL);

  write_config (f, "{\"max_limit\": true}");
  resolve_bad (NULL, envp, "max_limit: expected a size string or a number of bytes", NULL);

  write_config (f, "[1, 2]");
  resolve_bad (NULL, envp, f->path, "expected a JSON object");

  write_config (f, "{\"state_dir\": \"/x\",");
  resolve_bad (NULL, envp, f->path, NULL);

  write_config (f, "");
  resolve_bad (NULL, envp, f->path, NULL);

  write_config (f, "{\"state_dir\": \"a\\u0000b\"}");
  resolve_bad (NULL, envp, "state_dir", "NUL");

  /* a directory is not a config file */
  snprintf (sub, sizeof sub, "%s/sub", f->dir);
  assert_int_equal (mkdir (sub, 0700), 0);
  snprintf (sub_env, sizeof sub_env, "MEMHOOK_CONFIG=%s", sub);
  char *envp_dir[] = { sub_env, NULL };
  resolve_bad (NULL, envp_dir, sub, "not a regular file");
}

static void
test_file_null_is_absent (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, NULL };
  struct options o;

  write_config (f, "{\"max_limit\": null, \"state_dir\": null}");
  resolve_ok (NULL, envp, &o);
  assert_false (o.has_max_limit);
  assert_string_equal (o.state_dir, "/run/memhook");
  options_free (&o);
}

static void
test_default_above_max (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, "MEMHOOK_MAX_LIMIT=1g", NULL };
  struct options_cli cli = { .default_limit = "2g" };

  resolve_bad (&cli, envp, "--default-limit: 2 GiB is above the maximum 1 GiB (from MEMHOOK_MAX_LIMIT)",
               "lower the default limit or raise the maximum");
  write_config (f, "{\"default_limit\": \"4g\"}");
  resolve_bad (NULL, envp, f->path, "4 GiB is above the maximum 1 GiB");

  /* equal is fine */
  struct options o;
  cli.default_limit = "1024m";
  resolve_ok (&cli, envp, &o);
  assert_int_equal (o.default_limit, o.max_limit);
  options_free (&o);
}

static void
test_mode_names (void **state)
{
  mh_error_t err = NULL;
  enum unsupported_mode m;
  enum on_fault of;
  (void) state;

  for (m = UNSUPPORTED_ERROR; m <= UNSUPPORTED_IGNORE; m++)
    {
      enum unsupported_mode back;
      assert_int_equal (unsupported_mode_parse (unsupported_mode_name (m), "x", &back, &err), 0);
      assert_int_equal (back, m);
    }
  assert_int_equal (unsupported_mode_parse (NULL, "--unsupported", &m, &err), -1);
  mh_error_free (&err);
  assert_int_equal (unsupported_mode_parse ("WARN", "--unsupported", &m, &err), -1);
  mh_error_free (&err);
  assert_int_equal (on_fault_parse ("fail", "x", &of, &err), 0);
  assert_int_equal (of, ON_FAULT_FAIL);
  assert_int_equal (on_fault_parse ("pass", "x", &of, &err), 0);
  assert_int_equal (of, ON_FAULT_PASS);
}

static void
free_args (char **args)
{
  for (char **a = args; *a; a++)
    free (*a);
  free (args);
}

static void
test_to_args (void **state)
{
  struct fixture *f = *state;
  char *envp[] = { f->config_env, NULL };
  struct options_cli cli = { .state_dir = "/s", .unsupported = "error", .max_limit = "1g",
                             .on_fault = "fail", .runtime = "/usr/bin/runc", .metrics_dir = "/m" };
  struct options o, back;
  char **args;

  resolve_ok (&cli, envp, &o);
  args = options_to_args (&o);
  assert_non_null (args);
  assert_string_equal (args[0], "--state-dir=/s");
  assert_string_equal (args[1], "--unsupported=error");
  assert_string_equal (args[2], "--default-limit=none");
  assert_string_equal (args[3], "--max-limit=1073741824");
  assert_string_equal (args[4], "--on-fault=fail");
  assert_string_equal (args[5], "--metrics-dir=/m");
  assert_null (args[6]); /* no --runtime: the wrapper's own */

  /* the args resolve back to the same options, whatever a file says */
  write_config (f, "{\"max_limit\": \"2g\", \"default_limit\": \"64m\", \"unsupported\": \"ignore\"}");
  struct options_cli cli2 = { 0 };
  for (char **a = args; *a; a++)
    {
      const char *v = strchr (*a, '=') + 1;
      if (strncmp (*a, "--state-dir=", 12) == 0) cli2.state_dir = v;
      else if (strncmp (*a, "--unsupported=", 14) == 0) cli2.unsupported = v;
      else if (strncmp (*a, "--default-limit=", 16) == 0) cli2.default_limit = v;
      else if (strncmp (*a, "--max-limit=", 12) == 0) cli2.max_limit = v;
      else if (strncmp (*a, "--on-fault=", 11) == 0) cli2.on_fault = v;
      else if (strncmp (*a, "--metrics-dir=", 14) == 0) cli2.metrics_dir = v;
    }
  resolve_ok (&cli2, envp, &back);
  assert_string_equal (back.state_dir, o.state_dir);
  assert_int_equal (back.unsupported, o.unsupported);
  assert_int_equal (back.has_default_limit, o.has_default_limit);
  assert_int_equal (back.max_limit, o.max_limit);
  assert_int_equal (back.on_fault, o.on_fault);
  options_free (&back);
  free_args (args);
  options_free (&o);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_defaults, setup, teardown),
    cmocka_unit_test_setup_teardown (test_default_config_path_absent, setup, teardown),
    cmocka_unit_test_setup_teardown (test_file_only, setup, teardown),
    cmocka_unit_test_setup_teardown (test_precedence, setup, teardown),
    cmocka_unit_test_setup_teardown (test_none_overrides_lower, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_cli, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_env, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_lower_source_still_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_file, setup, teardown),
    cmocka_unit_test_setup_teardown (test_file_null_is_absent, setup, teardown),
    cmocka_unit_test_setup_teardown (test_default_above_max, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mode_names, setup, teardown),
    cmocka_unit_test_setup_teardown (test_to_args, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
