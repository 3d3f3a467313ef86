/* /proc/<pid>/cgroup parsing and opening a cgroup dir without escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <seccomp.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "mode.h"
#include "path.h"
#include "tmptree.h"

static const char hybrid[] = "12:name=systemd:/\n"
                             "11:cpu,cpuacct:/other\n"
                             "4:memory:/process_api/4a17\n"
                             "3:cpuset:/\n"
                             "0::/unified-path\n";

static char *
parse_ok (const char *text, enum cg_version v)
{
  mh_error_t err = NULL;
  char *out = NULL;

  if (cg_path_parse (text, v, &out, &err) < 0)
    fail_msg ("cg_path_parse failed: %s", err->msg);
  assert_null (err);
  return out;
}

static void
parse_bad (const char *text, enum cg_version v, const char *want)
{
  mh_error_t err = NULL;
  char *out = (char *) "untouched";

  assert_int_equal (cg_path_parse (text, v, &out, &err), -1);
  assert_non_null (err);
  assert_string_equal (out, "untouched");
  if (strstr (err->msg, want) == NULL)
    fail_msg ("message \"%s\" lacks \"%s\"", err->msg, want);
  mh_error_free (&err);
}

static void
test_v1_hybrid (void **state)
{
  (void) state;
  cleanup_free char *p = parse_ok (hybrid, CG_V1);
  assert_string_equal (p, "/process_api/4a17");
}

static void
test_v2_hybrid (void **state)
{
  (void) state;
  cleanup_free char *p = parse_ok (hybrid, CG_V2);
  assert_string_equal (p, "/unified-path");
}

static void
test_v2_root (void **state)
{
  (void) state;
  cleanup_free char *p = parse_ok ("0::/\n", CG_V2);
  assert_string_equal (p, "/");
  cleanup_free char *q = parse_ok ("0::/a/b c", CG_V2); /* no trailing newline, space in name */
  assert_string_equal (q, "/a/b c");
}

static void
test_v1_comounted (void **state)
{
  (void) state;
  cleanup_free char *p = parse_ok ("5:cpu,cpuacct:/x\n3:blkio,memory:/mem\n", CG_V1);
  assert_string_equal (p, "/mem");
}

static void
test_v1_not_a_prefix_match (void **state)
{
  (void) state;
  /* "memory" must be a whole controller name, and the v2 line is not v1. */
  parse_bad ("4:nomemory:/a\n5:memory_x:/b\n0::/c\n", CG_V1, "memory controller");
  parse_bad ("4:memory:/a\n", CG_V2, "0::");
  parse_bad ("", CG_V1, "memory controller");
  parse_bad ("garbage without colons\n", CG_V2, "0::");
}

static void
test_escapes_refused (void **state)
{
  (void) state;
  parse_bad ("0::/../x\n", CG_V2, "leaves the cgroup mount");
  parse_bad ("4:memory:/a/../../b\n", CG_V1, "leaves the cgroup mount");
  parse_bad ("4:memory:/a/./b\n", CG_V1, "leaves the cgroup mount");
  parse_bad ("4:memory:relative\n", CG_V1, "not absolute");
  parse_bad ("0::\n", CG_V2, "not absolute");
}

static void
test_of_pid_self (void **state)
{
  mh_error_t err = NULL;
  cleanup_free char *text = NULL;
  char *p = NULL;
  FILE *f;
  size_t n = 0;

  (void) state;
  f = fopen ("/proc/self/cgroup", "r");
  if (f == NULL)
    skip ();
  getdelim (&text, &n, '\0', f);
  fclose (f);
  enum cg_version v = strstr (text, ":memory:") ? CG_V1 : CG_V2;
  assert_int_equal (cg_path_of_pid (getpid (), v, &p, &err), 0);
  assert_non_null (p);
  assert_int_equal (p[0], '/');
  free (p);
  assert_int_equal (cg_path_of_pid (0x7ffffff0, v, &p, &err), -1);
  assert_non_null (strstr (err->msg, "does not exist"));
  mh_error_free (&err);
}

/* A fake memory root in a temp dir. */
struct fake
{
  char root[64];
  struct cg_host host;
};

static int
setup_fake (void **state)
{
  struct fake *f = calloc (1, sizeof (*f));
  char path[256];

  if (tree_mkdtemp (f->root, sizeof (f->root), "cgpath") == NULL)
    return -1;
  snprintf (path, sizeof (path), "%s/a", f->root);
  mkdir (path, 0755);
  snprintf (path, sizeof (path), "%s/a/b", f->root);
  mkdir (path, 0755);
  snprintf (path, sizeof (path), "%s/a/link", f->root);
  if (symlink ("/etc", path) < 0)
    return -1;
  snprintf (path, sizeof (path), "%s/a/file", f->root);
  close (open (path, O_CREAT | O_WRONLY, 0644));
  f->host.mode = CG_MODE_LEGACY;
  f->host.memory_version = CG_V1;
  f->host.memory_root = f->root;
  *state = f;
  return 0;
}

static int
teardown_fake (void **state)
{
  struct fake *f = *state;
  tree_remove (f->root);
  free (f);
  return 0;
}

static void
open_bad (struct fake *f, const char *rel, const char *want)
{
  mh_error_t err = NULL;
  int fd = -7;

  assert_int_equal (cg_open_dir (&f->host, rel, &fd, &err), -1);
  assert_int_equal (fd, -7);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("cg_open_dir(%s): \"%s\" lacks \"%s\"", rel, err->msg, want);
  mh_error_free (&err);
}

static void
test_open_dir (void **state)
{
  struct fake *f = *state;
  mh_error_t err = NULL;
  struct stat a, b;
  char path[256];
  int fd = -1;

  assert_int_equal (cg_open_dir (&f->host, "/a/b", &fd, &err), 0);
  assert_true (fd >= 0);
  snprintf (path, sizeof (path), "%s/a/b", f->root);
  assert_int_equal (stat (path, &a), 0);
  assert_int_equal (fstat (fd, &b), 0);
  assert_int_equal (a.st_ino, b.st_ino);
  /* The fd must be usable for openat() of files (not O_PATH). */
  int child = openat (fd, ".", O_RDONLY | O_DIRECTORY);
  assert_true (child >= 0);
  close (child);
  close (fd);

  assert_int_equal (cg_open_dir (&f->host, "/", &fd, &err), 0);
  assert_int_equal (fstat (fd, &b), 0);
  assert_int_equal (stat (f->root, &a), 0);
  assert_int_equal (a.st_ino, b.st_ino);
  close (fd);
  assert_int_equal (cg_open_dir (&f->host, "//a//b/", &fd, &err), 0);
  close (fd);
}

static void
test_open_dir_refusals (void **state)
{
  struct fake *f = *state;

  open_bad (f, "/a/link", "symlink");
  open_bad (f, "/a/link/ssl", "symlink");
  open_bad (f, "/a/../..", "leaves the cgroup mount");
  open_bad (f, "/../etc", "leaves the cgroup mount");
  open_bad (f, "a/b", "not absolute");
  open_bad (f, "/a/missing", "does not exist");
  open_bad (f, "/a/file", "open cgroup");
}

/* Kernels before 5.6 have no openat2: the component walk must refuse the
 * same things.  A seccomp filter in a child makes openat2 say ENOSYS. */
static void
test_open_dir_without_openat2 (void **state)
{
  struct fake *f = *state;
  int status = 0;
  pid_t pid;

  /* valgrind knows neither openat2 nor seccomp: every test there runs the
   * walk already. */
  if (getenv ("LD_PRELOAD") && strstr (getenv ("LD_PRELOAD"), "vgpreload"))
    skip ();
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
      mh_error_t err = NULL;
      int fd = -1, bad = 0;
      if (ctx == NULL || seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (openat2), 0) < 0
          || seccomp_load (ctx) < 0)
        _exit (99);
      bad |= cg_open_dir (&f->host, "/a/b", &fd, &err) != 0 || fd < 0;
      bad |= (cg_open_dir (&f->host, "/a/link", &fd, &err) != -1 || strstr (err->msg, "symlink") == NULL) << 1;
      bad |= (cg_open_dir (&f->host, "/a/../..", &fd, &err) != -1 || strstr (err->msg, "leaves") == NULL) << 2;
      bad |= (cg_open_dir (&f->host, "/a/missing", &fd, &err) != -1 || strstr (err->msg, "does not exist") == NULL) << 3;
      mh_error_free (&err);
      _exit (bad);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
}

static void
test_host_detect (void **state)
{
  struct cg_host h = { 0 };
  mh_error_t err = NULL;
  struct fake *f = *state;

  /* A plain directory is no cgroup mount: legacy guess, then the memory
   * controller check names the path. */
  assert_int_equal (cg_host_detect (f->root, &h, &err), -1);
  assert_non_null (strstr (err->msg, "/memory"));
  mh_error_free (&err);
  cg_host_free (&h);

  if (access ("/sys/fs/cgroup", F_OK) != 0)
    return;
  if (cg_host_detect ("/sys/fs/cgroup", &h, &err) < 0)
    {
      /* A host without a memory controller: the error must say so. */
      assert_non_null (err);
      mh_error_free (&err);
      return;
    }
  assert_non_null (h.memory_root);
  if (h.memory_version == CG_V1)
    assert_string_equal (h.memory_root, "/sys/fs/cgroup/memory");
  else
    assert_int_equal (h.mode, CG_MODE_UNIFIED);
  assert_non_null (cg_mode_name (h.mode));
  cg_host_free (&h);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_v1_hybrid),
    cmocka_unit_test (test_v2_hybrid),
    cmocka_unit_test (test_v2_root),
    cmocka_unit_test (test_v1_comounted),
    cmocka_unit_test (test_v1_not_a_prefix_match),
    cmocka_unit_test (test_escapes_refused),
    cmocka_unit_test (test_of_pid_self),
    cmocka_unit_test_setup_teardown (test_open_dir, setup_fake, teardown_fake),
    cmocka_unit_test_setup_teardown (test_open_dir_refusals, setup_fake, teardown_fake),
    cmocka_unit_test_setup_teardown (test_open_dir_without_openat2, setup_fake, teardown_fake),
    cmocka_unit_test_setup_teardown (test_host_detect, setup_fake, teardown_fake),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
