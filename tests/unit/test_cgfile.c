/* cgroup files relative to a dir fd, OOM counters, and the file helpers,
 * on a fake cgroup tree of plain files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgfile.h"
#include "cleanup.h"
#include "fsutil.h"
#include "oom.h"
#include "tmptree.h"

static int
setup (void **state)
{
  return tree_setup (state, "cgfile");
}

static void
test_read_i64 (void **state)
{
  struct tree *t = *state;
  mh_error_t err = NULL;
  int64_t v = 0;

  tree_put (t, "memory.limit_in_bytes", "67108864\n");
  assert_int_equal (cg_read_i64 (t->fd, "memory.limit_in_bytes", &v, &err), 0);
  assert_int_equal (v, 67108864);
  tree_put (t, "memory.max", "max\n");
  assert_int_equal (cg_read_i64 (t->fd, "memory.max", &v, &err), 0);
  assert_int_equal (v, -1);
  tree_put (t, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
  assert_int_equal (cg_read_i64 (t->fd, "memory.memsw.limit_in_bytes", &v, &err), 0);
  assert_int_equal (v, -1);
  tree_put (t, "memory.soft_limit_in_bytes", "9223372036854767616\n"); /* just below: a real value */
  assert_int_equal (cg_read_i64 (t->fd, "memory.soft_limit_in_bytes", &v, &err), 0);
  assert_int_equal (v, INT64_C (9223372036854767616));
  tree_put (t, "memory.swappiness", "0\n");
  assert_int_equal (cg_read_i64 (t->fd, "memory.swappiness", &v, &err), 0);
  assert_int_equal (v, 0);
}

static void
test_read_i64_errors (void **state)
{
  struct tree *t = *state;
  mh_error_t err = NULL;
  int64_t v = 42;

  tree_put (t, "memory.current", "12 kB\n");
  assert_int_equal (cg_read_i64 (t->fd, "memory.current", &v, &err), -1);
  assert_non_null (strstr (err->msg, "memory.current"));
  assert_int_equal (v, 42);
  tree_put (t, "memory.low", "");
  assert_int_equal (cg_read_i64 (t->fd, "memory.low", &v, &err), -1);
  assert_int_equal (cg_read_i64 (t->fd, "memory.nothere", &v, &err), -1);
  assert_int_equal (err->errnum, ENOENT);
  assert_non_null (strstr (err->msg, "memory.nothere"));
  mh_error_free (&err);
}

static void
test_write (void **state)
{
  struct tree *t = *state;
  mh_error_t err = NULL;
  cleanup_free char *a = NULL;

  tree_put (t, "memory.limit_in_bytes", "9223372036854771712\n");
  assert_int_equal (cg_write (t->fd, "memory.limit_in_bytes", "4096", &err), 0);
  a = tree_get (t, "memory.limit_in_bytes");
  assert_string_equal (a, "4096");
  /* No file is created: a missing file is the kernel saying "not here". */
  assert_int_equal (cg_write (t->fd, "memory.memsw.limit_in_bytes", "1", &err), -1);
  assert_int_equal (err->errnum, ENOENT);
  assert_false (cg_file_exists (t->fd, "memory.memsw.limit_in_bytes"));
  /* A refusal keeps its errno. */
  assert_int_equal (mkdirat (t->fd, "memory.oom_control", 0755), 0);
  assert_int_equal (cg_write (t->fd, "memory.oom_control", "1", &err), -1);
  assert_int_equal (err->errnum, EISDIR);
  assert_non_null (strstr (err->msg, "memory.oom_control"));
  /* Symlinks are not followed. */
  assert_int_equal (symlinkat ("/etc/passwd", t->fd, "memory.high"), 0);
  assert_int_equal (cg_write (t->fd, "memory.high", "1", &err), -1);
  assert_int_equal (err->errnum, ELOOP);
  mh_error_free (&err);
}

static void
test_keyed (void **state)
{
  static const char oom_control[] = "oom_kill_disable 1\nunder_oom 0\noom_kill 3\n";
  bool found = false;
  int64_t v = 0;

  (void) state;
  assert_int_equal (cg_keyed_get (oom_control, "oom_kill", &found, &v), 0);
  assert_true (found);
  assert_int_equal (v, 3);
  assert_int_equal (cg_keyed_get (oom_control, "oom_kill_disable", &found, &v), 0);
  assert_true (found);
  assert_int_equal (v, 1);
  assert_int_equal (cg_keyed_get (oom_control, "oom", &found, &v), 0);
  assert_false (found); /* "oom" is not a prefix match of "oom_kill" */
  assert_int_equal (cg_keyed_get ("anon 12x\n", "anon", &found, &v), -1);
  assert_int_equal (cg_keyed_get ("anon 5", "anon", &found, &v), 0);
  assert_int_equal (v, 5);
}

static void
test_oom_read (void **state)
{
  struct tree *t = *state;
  struct cg_oom_counters c;
  mh_error_t err = NULL;

  tree_put (t, "memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 7\n");
  assert_int_equal (cg_oom_read (t->fd, CG_V1, &c, &err), 0);
  assert_int_equal (c.oom_kill, 7);
  assert_int_equal (c.oom, -1);
  assert_true (c.under_oom);
  tree_put (t, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n");
  assert_int_equal (cg_oom_read (t->fd, CG_V2, &c, &err), 0);
  assert_int_equal (c.oom_kill, 1);
  assert_int_equal (c.oom, 2);
  assert_false (c.under_oom);
  tree_put (t, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n"); /* old kernel */
  assert_int_equal (cg_oom_read (t->fd, CG_V1, &c, &err), -1);
  assert_non_null (strstr (err->msg, "oom_kill"));
  mh_error_free (&err);
}

static void
test_write_file_atomic (void **state)
{
  struct tree *t = *state;
  mh_error_t err = NULL;
  cleanup_free char *a = NULL;
  struct stat st;
  mode_t old = umask (0);

  assert_int_equal (write_file_atomic (t->fd, "record.json", "{}\n", 3, 0600, &err), 0);
  umask (old);
  assert_int_equal (fstatat (t->fd, "record.json", &st, 0), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  a = tree_get (t, "record.json");
  assert_string_equal (a, "{}\n");
  assert_int_equal (write_file_atomic (t->fd, "record.json", "[1]\n", 4, 0600, &err), 0);
  free (a);
  a = tree_get (t, "record.json");
  assert_string_equal (a, "[1]\n");
  /* No temp file is left behind. */
  DIR *d = fdopendir (dup (t->fd));
  int entries = 0;
  for (struct dirent *e; (e = readdir (d)) != NULL;)
    if (e->d_name[0] != '.' || (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")))
      entries++;
  closedir (d);
  assert_int_equal (entries, 1);
  assert_int_equal (write_file_atomic (t->fd, "a/b", "x", 1, 0600, &err), -1);
  mh_error_free (&err);
}

static void
test_read_file_at_limits (void **state)
{
  struct tree *t = *state;
  mh_error_t err = NULL;
  char *out = NULL;
  size_t len = 0;

  tree_put (t, "big", "0123456789");
  assert_int_equal (read_file_at (t->fd, "big", 10, &out, &len, &err), 0);
  assert_int_equal (len, 10);
  free (out);
  assert_int_equal (read_file_at (t->fd, "big", 9, &out, &len, &err), -1);
  assert_non_null (strstr (err->msg, "big"));
  assert_int_equal (symlinkat ("big", t->fd, "link"), 0);
  assert_int_equal (read_file_at (t->fd, "link", 100, &out, &len, &err), -1);
  assert_int_equal (err->errnum, ELOOP);
  tree_put (t, "empty", "");
  assert_int_equal (read_file_at (t->fd, "empty", 100, &out, &len, &err), 0);
  assert_int_equal (len, 0);
  assert_string_equal (out, "");
  free (out);
  mh_error_free (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_read_i64, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_read_i64_errors, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_write, setup, tree_teardown),
    cmocka_unit_test (test_keyed),
    cmocka_unit_test_setup_teardown (test_oom_read, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_write_file_atomic, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_read_file_at_limits, setup, tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
