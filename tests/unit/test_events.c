/* events.jsonl: schema fields, names from annotations, whole lines under
 * concurrent writers, rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "events.h"
#include "fsutil.h"
#include "tmptree.h"

#define WRITERS 20
#define LINES_EACH 200

static int
setup (void **state)
{
  return tree_setup (state, "events");
}

static const char *
str (const struct json *o, const char *key)
{
  const struct json *v = json_get (o, key);
  if (v == NULL || v->type != JSON_STRING)
    fail_msg ("key \"%s\" is not a string", key);
  return v->u.string.data;
}

static void
test_time_format (void **state)
{
  char buf[40];
  const char *t = events_time_now (buf, sizeof (buf));

  (void) state;
  /* 2026-11-23T09:30:00.123Z */
  assert_int_equal (strlen (t), 24);
  for (int i = 0; i < 24; i++)
    {
      char c = t[i];
      switch (i)
        {
        case 4: case 7: assert_int_equal (c, '-'); break;
        case 10: assert_int_equal (c, 'T'); break;
        case 13: case 16: assert_int_equal (c, ':'); break;
        case 19: assert_int_equal (c, '.'); break;
        case 23: assert_int_equal (c, 'Z'); break;
        default: assert_true (isdigit ((unsigned char) c));
        }
    }
}

static void
test_event_fields (void **state)
{
  struct oci_kv items[] = {
    { (char *) "io.kubernetes.cri.container-name", (char *) "web" },
    { (char *) "io.kubernetes.cri.sandbox-name", (char *) "pod-7" },
    { (char *) "io.kubernetes.cri.sandbox-namespace", (char *) "prod" },
  };
  struct oci_kv_list a = { 3, items };
  cleanup_json struct json *e = event_new ("apply", "c1", &a);
  cleanup_json struct json *bare = event_new ("exit", "c2", NULL);

  (void) state;
  assert_non_null (e);
  assert_int_equal (e->u.object.len, 7);
  assert_string_equal (e->u.object.keys[0], "v");
  assert_string_equal (json_get (e, "v")->u.number, "1");
  assert_string_equal (str (e, "id"), "c1");
  assert_string_equal (str (e, "event"), "apply");
  assert_string_equal (str (e, "name"), "web");
  assert_string_equal (str (e, "pod"), "pod-7");
  assert_string_equal (str (e, "namespace"), "prod");
  assert_non_null (json_get (e, "time"));
  assert_null (json_get (bare, "name"));
  assert_null (json_get (bare, "pod"));
  assert_int_equal (bare->u.object.len, 4);
}

static void
test_annotation_precedence (void **state)
{
  struct oci_kv items[] = {
    { (char *) "io.kubernetes.cri.container-name", (char *) "from-containerd" },
    { (char *) "io.kubernetes.container.name", (char *) "from-crio" },
    { (char *) "io.kubernetes.pod.namespace", (char *) "" }, /* empty = absent */
  };
  struct oci_kv_list a = { 3, items };

  (void) state;
  assert_string_equal (events_annotation_name (&a), "from-crio");
  assert_null (events_annotation_namespace (&a));
  assert_null (events_annotation_pod (&a));
  assert_null (events_annotation_name (NULL));
}

static void
test_append_and_warning (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  cleanup_json struct json *e = event_new ("apply", "c1", NULL);
  cleanup_free char *text = NULL;
  struct stat st;
  size_t len;

  assert_int_equal (events_append (d->fd, e, &err), 0);
  assert_int_equal (events_warning (d->fd, "c1", NULL, "field", "linux.resources.memory.swap", "a \"quoted\"\nmessage", &err), 0);
  text = tree_read (d, EVENTS_FILE, 64u << 20, &len);
  char *nl = strchr (text, '\n');
  assert_non_null (nl);
  assert_int_equal (text[len - 1], '\n');
  assert_ptr_equal (strchr (nl + 1, '\n'), text + len - 1); /* two lines exactly */
  cleanup_json struct json *w = NULL;
  assert_int_equal (json_parse (nl + 1, strlen (nl + 1), "line 2", &w, &err), 0);
  assert_string_equal (str (w, "event"), "warning");
  assert_string_equal (str (w, "field"), "linux.resources.memory.swap");
  assert_string_equal (str (w, "message"), "a \"quoted\"\nmessage");
  assert_int_equal (fstatat (d->fd, EVENTS_FILE, &st, 0), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
}

static void
test_symlink_refused (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  cleanup_json struct json *e = event_new ("apply", "c1", NULL);

  assert_int_equal (symlinkat ("/tmp/memhook-test-events-elsewhere", d->fd, EVENTS_FILE), 0);
  assert_int_equal (events_append (d->fd, e, &err), -1);
  assert_int_equal (err->errnum, ELOOP);
  assert_int_equal (access ("/tmp/memhook-test-events-elsewhere", F_OK), -1);
  mh_error_free (&err);
}

static void
writer (int dirfd, int n)
{
  char id[32];
  mh_error_t err = NULL;

  snprintf (id, sizeof (id), "writer-%02d", n);
  for (int i = 0; i < LINES_EACH; i++)
    {
      struct json *e = event_new ("warning", id, NULL);
      /* Lines of different lengths, some long, so a torn write would show. */
      char msg[2048];
      int len = 10 + (i * 37 + n * 101) % 1900;
      memset (msg, 'a' + n % 26, (size_t) len);
      msg[len] = '\0';
      if (json_object_set (e, "message", json_new_string (msg), &err) < 0 || events_append (dirfd, e, &err) < 0)
        _exit (1);
      json_free (e);
    }
  _exit (0);
}

static void
test_concurrent_writers (void **state)
{
  struct tree *d = *state;
  int counts[WRITERS] = { 0 };
  cleanup_free char *text = NULL;
  size_t len = 0, lines = 0;
  pid_t pids[WRITERS];

  for (int n = 0; n < WRITERS; n++)
    {
      pids[n] = fork ();
      assert_true (pids[n] >= 0);
      if (pids[n] == 0)
        writer (d->fd, n);
    }
  for (int n = 0; n < WRITERS; n++)
    {
      int status = 0;
      assert_int_equal (waitpid (pids[n], &status, 0), pids[n]);
      assert_true (WIFEXITED (status));
      assert_int_equal (WEXITSTATUS (status), 0);
    }
  text = tree_read (d, EVENTS_FILE, 64u << 20, &len);
  for (char *line = text, *nl; line < text + len; line = nl + 1)
    {
      mh_error_t err = NULL;
      struct json *e = NULL;
      int n = -1;
      nl = strchr (line, '\n');
      assert_non_null (nl);
      if (json_parse (line, (size_t) (nl - line), "line", &e, &err) < 0)
        fail_msg ("line %zu does not parse: %s", lines + 1, err->msg);
      assert_int_equal (sscanf (str (e, "id"), "writer-%d", &n), 1);
      assert_true (n >= 0 && n < WRITERS);
      const char *m = str (e, "message");
      for (const char *p = m; *p; p++)
        assert_int_equal (*p, 'a' + n % 26);
      counts[n]++;
      lines++;
      json_free (e);
    }
  assert_int_equal (lines, WRITERS * LINES_EACH);
  for (int n = 0; n < WRITERS; n++)
    assert_int_equal (counts[n], LINES_EACH);
}

static void
test_rotation (void **state)
{
  struct tree *d = *state;
  mh_error_t err = NULL;
  cleanup_json struct json *e = event_new ("apply", "c1", NULL);
  cleanup_free char *text = NULL;
  struct stat st;
  size_t len = 0;
  int fd;

  fd = openat (d->fd, EVENTS_FILE, O_WRONLY | O_CREAT, 0600);
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, EVENTS_ROTATE_BYTES - 1), 0);
  close (fd);
  /* Below the bound: appended to the same file. */
  assert_int_equal (events_append (d->fd, e, &err), 0);
  assert_int_equal (fstatat (d->fd, EVENTS_ROTATED_FILE, &st, 0), -1);
  /* Now above: the next writer rotates, then appends to a new file. */
  assert_int_equal (events_append (d->fd, e, &err), 0);
  assert_int_equal (fstatat (d->fd, EVENTS_ROTATED_FILE, &st, 0), 0);
  assert_true (st.st_size >= (off_t) EVENTS_ROTATE_BYTES);
  text = tree_read (d, EVENTS_FILE, 64u << 20, &len);
  assert_ptr_equal (strchr (text, '\n'), text + len - 1);
  /* A second rotation replaces the old .1: at most two files. */
  fd = openat (d->fd, EVENTS_FILE, O_WRONLY);
  assert_int_equal (ftruncate (fd, EVENTS_ROTATE_BYTES + 10), 0);
  close (fd);
  assert_int_equal (events_append (d->fd, e, &err), 0);
  assert_int_equal (fstatat (d->fd, EVENTS_ROTATED_FILE, &st, 0), 0);
  assert_int_equal (st.st_size, (off_t) EVENTS_ROTATE_BYTES + 10);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_time_format),
    cmocka_unit_test (test_event_fields),
    cmocka_unit_test (test_annotation_precedence),
    cmocka_unit_test_setup_teardown (test_append_and_warning, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_symlink_refused, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_concurrent_writers, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_rotation, setup, tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
