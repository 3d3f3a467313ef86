/* The container's record (round trip, atomic, private) and the state dir
 * checks (root's, 0700, no symlinks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "fsutil.h"
#include "record.h"
#include "statedir.h"
#include "tmptree.h"

static int
setup (void **state)
{
  return tree_setup (state, "record");
}

static void
assert_contains (const char *s, const char *want)
{
  if (strstr (s, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", s, want);
}

static void
test_no_record (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  struct json *r = (struct json *) 1;

  assert_int_equal (record_load (d->fd, &r, &err), 0);
  assert_null (r);
  assert_null (err);
}

static void
test_round_trip (void **state)
{
  static const char text[] = "{\"id\":\"c1\",\"pid\":4242,\"limit\":67108864,\"verdict\":null,"
                             "\"plan\":[{\"file\":\"memory.limit_in_bytes\",\"value\":\"67108864\"}],"
                             "\"history\":[{\"verdict\":\"OOMKilled\",\"exit_code\":137}],\"ok\":true}";
  struct tree *d = *state;
  mh_error_t err = NULL;
  cleanup_json struct json *in = NULL;
  cleanup_json struct json *out = NULL;
  struct stat st;

  assert_int_equal (json_parse (text, strlen (text), "test", &in, &err), 0);
  assert_int_equal (record_store (d->fd, in, &err), 0);
  assert_int_equal (fstatat (d->fd, RECORD_FILE, &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0600);
  assert_int_equal (record_load (d->fd, &out, &err), 0);
  assert_non_null (out);
  assert_true (json_equal (in, out));
  /* Key order is kept (records are read by people too). */
  assert_string_equal (out->u.object.keys[0], "id");
  assert_string_equal (out->u.object.keys[6], "ok");

  /* Rewriting replaces it whole. */
  json_object_set (in, "verdict", json_new_string ("Exited"), &err);
  assert_int_equal (record_store (d->fd, in, &err), 0);
  json_free (out);
  out = NULL;
  assert_int_equal (record_load (d->fd, &out, &err), 0);
  assert_string_equal (json_get (out, "verdict")->u.string.data, "Exited");
}

static void
test_corrupt_record (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  struct json *r = NULL;

  assert_int_equal (write_file_atomic (d->fd, RECORD_FILE, "{\"id\":", 6, 0600, &err), 0);
  assert_int_equal (record_load (d->fd, &r, &err), -1);
  assert_null (r);
  assert_contains (err->msg, RECORD_FILE);
  assert_int_equal (write_file_atomic (d->fd, RECORD_FILE, "[1]", 3, 0600, &err), 0);
  assert_int_equal (record_load (d->fd, &r, &err), -1);
  assert_null (r);
  assert_contains (err->msg, "not a JSON object");
  unlinkat (d->fd, RECORD_FILE, 0);
  assert_int_equal (symlinkat ("/etc/hostname", d->fd, RECORD_FILE), 0);
  assert_int_equal (record_load (d->fd, &r, &err), -1);
  assert_int_equal (err->errnum, ELOOP);
  mh_error_free (&err);
}

static void
test_statedir_create (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  char path[256];
  struct stat st;
  int fd = -1, cfd = -1;
  mode_t old = umask (022);

  snprintf (path, sizeof (path), "%s/run/memhook/", d->root); /* trailing slash tolerated */
  assert_int_equal (statedir_open (path, true, &fd, &err), 0);
  umask (old);
  snprintf (path, sizeof (path), "%s/run", d->root);
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0755);
  assert_int_equal (fstat (fd, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  assert_int_equal (st.st_uid, geteuid ());

  assert_int_equal (statedir_open_container (fd, "web-1", true, &cfd, &err), 0);
  assert_int_equal (fstat (cfd, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  close (cfd);
  /* Opening again (no create) finds it. */
  assert_int_equal (statedir_open_container (fd, "web-1", false, &cfd, &err), 0);
  close (cfd);
  assert_int_equal (statedir_open_container (fd, "absent", false, &cfd, &err), -1);
  assert_int_equal (err->errnum, ENOENT);
  assert_int_equal (statedir_open_container (fd, "../x", true, &cfd, &err), -1);
  assert_int_equal (statedir_open_container (fd, "..", true, &cfd, &err), -1);
  close (fd);
  /* Opening the existing one again is fine. */
  snprintf (path, sizeof (path), "%s/run/memhook", d->root);
  assert_int_equal (statedir_open (path, false, &fd, &err), 0);
  close (fd);
  mh_error_free (&err);
}

static void
test_statedir_refusals (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  char path[256], link[256];
  int fd = -1;

  /* An existing directory with group/other access is the operator's: refused with the fix. */
  snprintf (path, sizeof (path), "%s/open", d->root);
  assert_int_equal (mkdir (path, 0700), 0);
  assert_int_equal (chmod (path, 0755), 0);
  assert_int_equal (statedir_open (path, true, &fd, &err), -1);
  assert_contains (err->msg, "mode 0755");
  assert_contains (err->msg, "chmod 0700");
  /* A symlink is never followed. */
  snprintf (link, sizeof (link), "%s/link", d->root);
  assert_int_equal (symlink (path, link), 0);
  assert_int_equal (chmod (path, 0700), 0);
  assert_int_equal (statedir_open (link, true, &fd, &err), -1);
  assert_contains (err->msg, "symlink");
  /* Relative paths are refused. */
  assert_int_equal (statedir_open ("run/memhook", true, &fd, &err), -1);
  assert_contains (err->msg, "absolute");
  /* A file is not a state dir. */
  snprintf (path, sizeof (path), "%s/file", d->root);
  close (open (path, O_CREAT | O_WRONLY, 0600));
  assert_int_equal (statedir_open (path, true, &fd, &err), -1);
  assert_contains (err->msg, "not a directory");
  /* Someone else's directory (needs root to chown). */
  if (geteuid () == 0)
    {
      snprintf (path, sizeof (path), "%s/other", d->root);
      assert_int_equal (mkdir (path, 0700), 0);
      assert_int_equal (chown (path, 65534, 65534), 0);
      assert_int_equal (statedir_open (path, true, &fd, &err), -1);
      assert_contains (err->msg, "owned by uid 65534");
      assert_contains (err->msg, "chown root:root");
    }
  /* A symlinked container entry is refused too. */
  assert_int_equal (symlinkat ("/tmp", d->fd, "evil"), 0);
  assert_int_equal (statedir_open_container (d->fd, "evil", true, &fd, &err), -1);
  assert_contains (err->msg, "symlink");
  mh_error_free (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_no_record, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_round_trip, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_corrupt_record, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_statedir_create, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_statedir_refusals, setup, tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
