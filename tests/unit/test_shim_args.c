/* memhook-runtime's reading of runc's command line: global options, the
 * command, and for create/run the bundle and container id exactly as runc
 * (urfave/cli v1 on Go's flag package) would find them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* The shim is a program, not part of the library: test its parser directly. */
#include "../../shim/args.c"

#define PARSE(out, ...)                                                                                          \
  do                                                                                                             \
    {                                                                                                            \
      char *argv_[] = { "memhook-runtime", __VA_ARGS__, NULL };                                                  \
      shim_args_parse ((int) (sizeof (argv_) / sizeof (argv_[0])) - 1, argv_, (out));                           \
    }                                                                                                            \
  while (0)

static void
containerd_shim_call (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "--root", "/run/containerd/runc/default", "--log", "/run/x/log.json", "--log-format", "json",
         "create", "--bundle", "/run/x/bundle", "--pid-file", "/run/x/init.pid", "web1");
  assert_int_equal (a.command, SHIM_CMD_CREATE);
  assert_int_equal (a.command_index, 7);
  assert_string_equal (a.root, "/run/containerd/runc/default");
  assert_string_equal (a.log, "/run/x/log.json");
  assert_string_equal (a.log_format, "json");
  assert_string_equal (a.bundle, "/run/x/bundle");
  assert_string_equal (a.container_id, "web1");
  assert_true (a.prepare);
}

static void
bundle_forms (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "create", "-b", "/b1", "c1");
  assert_string_equal (a.bundle, "/b1");
  assert_string_equal (a.container_id, "c1");
  PARSE (&a, "create", "-b=/b2", "c2");
  assert_string_equal (a.bundle, "/b2");
  PARSE (&a, "create", "--bundle", "/b3", "c3");
  assert_string_equal (a.bundle, "/b3");
  PARSE (&a, "create", "--bundle=/b4", "c4");
  assert_string_equal (a.bundle, "/b4");
  /* Go's flag package takes one dash for long names too. */
  PARSE (&a, "run", "-bundle", "/b5", "c5");
  assert_string_equal (a.bundle, "/b5");
  assert_int_equal (a.command, SHIM_CMD_RUN);
  /* The last one given wins. */
  PARSE (&a, "create", "-b", "/first", "--bundle=/last", "c6");
  assert_string_equal (a.bundle, "/last");
  /* A value that looks like a flag is still the value. */
  PARSE (&a, "create", "--pid-file", "-b", "c7");
  assert_null (a.bundle);
  assert_string_equal (a.container_id, "c7");
}

static void
bundle_defaults_to_cwd (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "create", "--pid-file", "/p", "c1");
  assert_true (a.prepare);
  assert_null (a.bundle);
  PARSE (&a, "run", "--bundle", "", "c2");
  assert_true (a.prepare);
  assert_null (a.bundle); /* runc: empty = current directory */
}

static void
flags_after_the_id_are_reordered (void **state)
{
  struct shim_args a;
  (void) state;

  /* urfave/cli moves defined flags in front: runc takes this. */
  PARSE (&a, "create", "c1", "--bundle", "/b");
  assert_true (a.prepare);
  assert_string_equal (a.bundle, "/b");
  assert_string_equal (a.container_id, "c1");
  /* ...but a bool flag swallows the id as its "value" while reordering,
   * so runc sees three arguments and refuses: nothing to prepare. */
  PARSE (&a, "create", "--no-pivot", "c1", "--bundle", "/b");
  assert_false (a.prepare);
  /* After "--" nothing is a flag. */
  PARSE (&a, "create", "--", "c1");
  assert_true (a.prepare);
  assert_string_equal (a.container_id, "c1");
  PARSE (&a, "create", "--", "-b", "c1");
  assert_false (a.prepare);
}

static void
global_options (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "--root=/r", "--debug", "--systemd-cgroup", "--rootless", "false", "--criu", "/usr/sbin/criu",
         "--log=/l", "--log-format=text", "run", "-d", "--keep", "--no-subreaper", "--console-socket", "/s", "c1");
  assert_int_equal (a.command, SHIM_CMD_RUN);
  assert_int_equal (a.command_index, 10);
  assert_string_equal (a.root, "/r");
  assert_string_equal (a.log, "/l");
  assert_string_equal (a.log_format, "text");
  assert_string_equal (a.container_id, "c1");
  assert_true (a.prepare);
  /* Bool flags with a value, single dash. */
  PARSE (&a, "-debug=true", "--systemd-cgroup=0", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_CREATE);
  assert_true (a.prepare);
  /* --rootless takes a value: "create" is that value here. */
  PARSE (&a, "--rootless", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_OTHER);
  assert_int_equal (a.command_index, 3);
}

static void
help_and_version_pass_through (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "--help");
  assert_int_equal (a.command, SHIM_CMD_NONE);
  assert_int_equal (a.command_index, -1);
  PARSE (&a, "-v", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_NONE);
  PARSE (&a, "--version=false", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_CREATE);
  PARSE (&a, "create", "--help", "c1");
  assert_int_equal (a.command, SHIM_CMD_CREATE);
  assert_false (a.prepare);
  PARSE (&a, "run", "-h=false", "c1");
  assert_true (a.prepare);
}

static void
malformed_lines_are_left_to_runc (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "--frobnicate", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_NONE);
  PARSE (&a, "--debug=maybe", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_NONE);
  PARSE (&a, "---root", "/r", "create", "c1");
  assert_int_equal (a.command, SHIM_CMD_NONE);
  PARSE (&a, "--root");
  assert_int_equal (a.command, SHIM_CMD_NONE);
  PARSE (&a, "create");
  assert_int_equal (a.command, SHIM_CMD_CREATE);
  assert_false (a.prepare);
  PARSE (&a, "create", "c1", "c2");
  assert_false (a.prepare);
  PARSE (&a, "create", "--bundle");
  assert_false (a.prepare);
  PARSE (&a, "create", "--frob", "c1");
  assert_false (a.prepare);
  PARSE (&a, "create", "--no-pivot=perhaps", "c1");
  assert_false (a.prepare);
  /* Run-only flags are unknown to create. */
  PARSE (&a, "create", "-d", "c1");
  assert_false (a.prepare);
}

static void
other_commands_pass_through (void **state)
{
  struct shim_args a;
  static const char *const commands[] = { "start", "state", "list", "ps", "kill", "delete", "exec", "events",
                                          "update", "pause", "resume", "checkpoint", "restore", "spec",
                                          "features", "help", "frobnicate" };
  (void) state;

  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    {
      char *argv[] = { "memhook-runtime", "--root", "/r", (char *) commands[i], "--bundle", "/b", "c1", NULL };
      shim_args_parse (7, argv, &a);
      assert_int_equal (a.command, SHIM_CMD_OTHER);
      assert_int_equal (a.command_index, 3);
      assert_false (a.prepare);
      assert_null (a.bundle);
      assert_string_equal (a.root, "/r");
    }
  PARSE (&a, "ps", "c1");
  assert_int_equal (a.command, SHIM_CMD_OTHER);
}

/* run -d/--detach/--console-socket: nobody stays the parent, so a restart
 * policy means process mode, as on create. */
static void
detached_run_is_process_mode (void **state)
{
  struct shim_args a;
  (void) state;

  PARSE (&a, "run", "-b", "/b", "c1");
  assert_false (a.detached);
  assert_false (shim_args_process_mode (&a));
  PARSE (&a, "run", "-d", "-b", "/b", "c1");
  assert_true (a.detached);
  assert_true (shim_args_process_mode (&a));
  PARSE (&a, "run", "-b", "/b", "c1", "--detach");
  assert_true (a.detached);
  assert_string_equal (a.container_id, "c1");
  /* Go's flag package: the last value counts. */
  PARSE (&a, "run", "-d", "--detach=false", "c1");
  assert_false (a.detached);
  PARSE (&a, "--root", "/r", "run", "--console-socket", "/run/x.sock", "c1");
  assert_true (a.detached);
  PARSE (&a, "run", "--console-socket=", "c1");
  assert_false (a.detached);
  /* create is process mode whatever its options; other commands never. */
  PARSE (&a, "create", "--console-socket", "/run/x.sock", "c1");
  assert_false (a.detached);
  assert_true (shim_args_process_mode (&a));
  PARSE (&a, "start", "c1");
  assert_false (shim_args_process_mode (&a));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (containerd_shim_call),
    cmocka_unit_test (bundle_forms),
    cmocka_unit_test (bundle_defaults_to_cwd),
    cmocka_unit_test (flags_after_the_id_are_reordered),
    cmocka_unit_test (global_options),
    cmocka_unit_test (help_and_version_pass_through),
    cmocka_unit_test (malformed_lines_are_left_to_runc),
    cmocka_unit_test (other_commands_pass_through),
    cmocka_unit_test (detached_run_is_process_mode),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
