/* The OCI state a runtime sends a hook: what runc and crun really send,
 * and the container id check. */
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

#include "state.h"

static void
parse_ok (const char *doc, struct oci_state *s)
{
  mh_error_t err = NULL;
  char buf[512];

  if (oci_state_parse (doc, strlen (doc), s, &err) < 0)
    fail_msg ("unexpected error: %s", mh_error_text (err, buf, sizeof (buf)));
}

static void
assert_state_error (const char *doc, const char *expected)
{
  struct oci_state s;
  mh_error_t err = NULL;

  memset (&s, 0x5a, sizeof (s));
  assert_int_equal (oci_state_parse (doc, strlen (doc), &s, &err), -1);
  assert_string_equal (err->msg, expected);
  assert_null (s.id);
  assert_null (s.bundle);
  assert_false (s.has_pid);
  mh_error_free (&err);
  oci_state_free (&s);
}

static void
test_runc_state (void **state)
{
  struct oci_state s;
  (void) state;

  parse_ok ("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"x\",\"status\":\"creating\",\"pid\":123,\"bundle\":\"/b\","
            "\"annotations\":{}}",
            &s);
  assert_string_equal (s.oci_version, "1.0.2-dev");
  assert_string_equal (s.id, "x");
  assert_string_equal (s.status, "creating");
  assert_true (s.has_pid);
  assert_int_equal (s.pid, 123);
  assert_string_equal (s.bundle, "/b");
  assert_int_equal (s.annotations.len, 0);
  oci_state_free (&s);
  assert_null (s.id);

  /* runc with annotations, as podman passes them */
  parse_ok ("{\"ociVersion\":\"1.0.2-dev\",\"id\":\"3f1a9c\",\"status\":\"created\",\"pid\":4242,"
            "\"bundle\":\"/var/lib/containers/storage/overlay-containers/3f1a9c/userdata\","
            "\"annotations\":{\"io.podman.annotations.autoremove\":\"FALSE\",\"memhook.restart\":\"on-oom\"}}",
            &s);
  assert_string_equal (oci_kv_get (&s.annotations, "memhook.restart"), "on-oom");
  assert_int_equal (s.annotations.len, 2);
  oci_state_free (&s);
}

static void
test_crun_state (void **state)
{
  struct oci_state s;
  (void) state;

  parse_ok ("{\"ociVersion\":\"1.0\",\"id\":\"x\",\"status\":\"created\",\"pid\":123,\"bundle\":\"/b\","
            "\"root\":\"/run/crun/x\"}",
            &s);
  assert_string_equal (s.oci_version, "1.0");
  assert_string_equal (s.status, "created");
  assert_int_equal (s.pid, 123);
  assert_string_equal (s.bundle, "/b");
  assert_int_equal (s.annotations.len, 0);
  oci_state_free (&s);

  /* every status is taken as sent, known or not */
  const char *statuses[] = { "creating", "created", "starting", "running", "stopped", "paused", "somethingNew" };
  for (size_t i = 0; i < sizeof (statuses) / sizeof (statuses[0]); i++)
    {
      char doc[256];
      snprintf (doc, sizeof (doc), "{\"ociVersion\":\"1.0\",\"id\":\"c1\",\"status\":\"%s\",\"bundle\":\"/b\"}",
                statuses[i]);
      parse_ok (doc, &s);
      assert_string_equal (s.status, statuses[i]);
      assert_false (s.has_pid);
      oci_state_free (&s);
    }
}

static void
test_pid (void **state)
{
  struct oci_state s;
  (void) state;

  /* a runtime sends 0 when there is no process */
  parse_ok ("{\"id\":\"x\",\"pid\":0,\"bundle\":\"/b\"}", &s);
  assert_false (s.has_pid);
  assert_int_equal (s.pid, 0);
  assert_null (s.oci_version);
  assert_null (s.status);
  oci_state_free (&s);
  parse_ok ("{\"id\":\"x\",\"pid\":null,\"bundle\":\"/b\"}", &s);
  assert_false (s.has_pid);
  oci_state_free (&s);
  parse_ok ("{\"id\":\"x\",\"pid\":2147483647,\"bundle\":\"/b\"}", &s);
  assert_true (s.has_pid);
  assert_int_equal (s.pid, 2147483647);
  oci_state_free (&s);

  assert_state_error ("{\"id\":\"x\",\"pid\":-5,\"bundle\":\"/b\"}", "state: pid: -5 is not a valid process id");
  assert_state_error ("{\"id\":\"x\",\"pid\":2147483648,\"bundle\":\"/b\"}",
                      "state: pid: 2147483648 is not a valid process id");
  assert_state_error ("{\"id\":\"x\",\"pid\":\"123\",\"bundle\":\"/b\"}",
                      "state: pid: expected an integer, got a string \"123\"");
  assert_state_error ("{\"id\":\"x\",\"pid\":1.5,\"bundle\":\"/b\"}", "state: pid: expected an integer, got a number 1.5");
  assert_state_error ("{\"id\":\"x\",\"pid\":99999999999999999999,\"bundle\":\"/b\"}",
                      "state: pid: 99999999999999999999 is out of range for a 64-bit integer");
}

static void
test_required_fields (void **state)
{
  (void) state;
  assert_state_error ("{\"bundle\":\"/b\"}", "state: id: missing; the runtime must send it");
  assert_state_error ("{\"id\":null,\"bundle\":\"/b\"}", "state: id: missing; the runtime must send it");
  assert_state_error ("{\"id\":5,\"bundle\":\"/b\"}", "state: id: expected a string, got a number 5");
  assert_state_error ("{\"id\":\"x\"}", "state: bundle: missing; the runtime must send it");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"b/c\"}", "state: bundle: \"b/c\" is not an absolute path");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"\"}", "state: bundle: \"\" is not an absolute path");
  assert_state_error ("{\"id\":\"x\",\"bundle\":[\"/b\"]}", "state: bundle: expected a string, got an array");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"/b\\u0000c\"}",
                      "state: bundle: string contains a NUL character (\\u0000); remove it");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"/b\",\"status\":1}", "state: status: expected a string, got a number 1");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"/b\",\"ociVersion\":1.0}",
                      "state: ociVersion: expected a string, got a number 1.0");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"/b\",\"annotations\":[]}",
                      "state: annotations: expected an object, got an array");
  assert_state_error ("{\"id\":\"x\",\"bundle\":\"/b\",\"annotations\":{\"k\":1}}",
                      "state: annotations.k: expected a string, got a number 1");
  assert_state_error ("{\"id\":\"../x\",\"bundle\":\"/b\"}",
                      "state: container id \"../x\": contains '/'; use an id without '/', '..' or control characters");
}

static void
test_malformed_state (void **state)
{
  (void) state;
  assert_state_error ("[]", "state: top level: expected an object, got an array");
  assert_state_error ("null", "state: top level: expected an object, got null");
  assert_state_error ("{\"id\":\"x\",", "state: line 1, column 11: unexpected end of input (truncated?)");
  assert_state_error ("{\"id\":\"x\"}{}", "state: line 1, column 11: unexpected data after the JSON document");
  assert_state_error ("", "state: line 1, column 1: empty input (expected a JSON document)");
}

static int
memfd_with (const char *data, size_t len)
{
  int fd = memfd_create ("state", MFD_CLOEXEC);
  assert_true (fd >= 0);
  if (len > 0)
    assert_int_equal (write (fd, data, len), (ssize_t) len);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  return fd;
}

static void
test_read_fd (void **state)
{
  const char *doc = "{\"ociVersion\":\"1.0\",\"id\":\"x\",\"status\":\"created\",\"pid\":123,\"bundle\":\"/b\","
                    "\"root\":\"/run/crun/x\"}\n";
  struct oci_state s;
  mh_error_t err = NULL;
  int fd, pipefd[2];
  char *big;
  (void) state;

  fd = memfd_with (doc, strlen (doc));
  assert_int_equal (oci_state_read_fd (fd, &s, &err), 0);
  assert_string_equal (s.id, "x");
  oci_state_free (&s);
  close (fd);

  /* a pipe, as a runtime gives it */
  assert_int_equal (pipe (pipefd), 0);
  assert_int_equal (write (pipefd[1], doc, strlen (doc)), (ssize_t) strlen (doc));
  close (pipefd[1]);
  assert_int_equal (oci_state_read_fd (pipefd[0], &s, &err), 0);
  assert_int_equal (s.pid, 123);
  oci_state_free (&s);
  close (pipefd[0]);

  fd = memfd_with (NULL, 0);
  assert_int_equal (oci_state_read_fd (fd, &s, &err), -1);
  assert_string_equal (err->msg, "state: line 1, column 1: empty input (expected a JSON document)");
  mh_error_free (&err);
  close (fd);

  big = malloc (JSON_MAX_INPUT + 1);
  memset (big, ' ', JSON_MAX_INPUT + 1);
  memcpy (big, doc, strlen (doc));
  fd = memfd_with (big, JSON_MAX_INPUT + 1);
  assert_int_equal (oci_state_read_fd (fd, &s, &err), -1);
  assert_string_equal (err->msg, "state: input larger than 4 MiB");
  assert_null (s.id);
  mh_error_free (&err);
  close (fd);
  free (big);

  /* stdin is named as such */
  int saved = dup (STDIN_FILENO);
  fd = memfd_with ("{\"id\":\"x\"}", 10);
  assert_int_equal (dup2 (fd, STDIN_FILENO), STDIN_FILENO);
  assert_int_equal (oci_state_read_fd (STDIN_FILENO, &s, &err), -1);
  assert_string_equal (err->msg, "state on stdin: bundle: missing; the runtime must send it");
  mh_error_free (&err);
  assert_int_equal (dup2 (saved, STDIN_FILENO), STDIN_FILENO);
  close (saved);
  close (fd);

  assert_int_equal (oci_state_read_fd (-1, &s, &err), -1);
  assert_int_equal (err->errnum, EBADF);
  assert_string_equal (err->msg, "state: read");
  mh_error_free (&err);
}

/* ---- container ids ---- */

static void
assert_id_ok (const char *id)
{
  mh_error_t err = NULL;
  if (oci_id_check (id, &err) < 0)
    fail_msg ("id \"%s\" refused: %s", id, err->msg);
}

static void
assert_id_error (const char *id, const char *expected)
{
  mh_error_t err = NULL;
  assert_int_equal (oci_id_check (id, &err), -1);
  assert_string_equal (err->msg, expected);
  mh_error_free (&err);
}

static void
test_id_check (void **state)
{
  char *long_id = malloc (OCI_ID_MAX + 2);
  (void) state;

  assert_id_ok ("x");
  assert_id_ok ("a..b");
  assert_id_ok ("a.");
  assert_id_ok ("web-1_2.a");
  assert_id_ok ("3f1a9c0b4e5d6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a");
  assert_id_ok ("caf\xc3\xa9");
  memset (long_id, 'a', OCI_ID_MAX);
  long_id[OCI_ID_MAX] = '\0';
  assert_id_ok (long_id);

  assert_id_error ("../x", "container id \"../x\": contains '/'; use an id without '/', '..' or control characters");
  assert_id_error ("a/b", "container id \"a/b\": contains '/'; use an id without '/', '..' or control characters");
  assert_id_error ("/", "container id \"/\": contains '/'; use an id without '/', '..' or control characters");
  assert_id_error ("", "container id \"\": is empty; give the container a non-empty id");
  assert_id_error (NULL, "container id \"\": is empty; give the container a non-empty id");
  assert_id_error (".", "container id \".\": is a dot path; use an id without '/', '..' or control characters");
  assert_id_error ("..", "container id \"..\": is a dot path; use an id without '/', '..' or control characters");
  assert_id_error (".hidden",
                   "container id \".hidden\": starts with '.'; use an id that does not start with '.'");
  assert_id_error ("a\nb", "container id \"a\\nb\": contains a control character; use an id without '/', '..' or "
                           "control characters");
  assert_id_error ("a\x7f", "container id \"a\\x7f\": contains a control character; use an id without '/', '..' or "
                            "control characters");
  assert_id_error ("\x1b[2J", "container id \"\\x1b[2J\": contains a control character; use an id without '/', "
                              "'..' or control characters");
  long_id[OCI_ID_MAX] = 'a';
  long_id[OCI_ID_MAX + 1] = '\0';
  assert_id_error (long_id, "container id \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
                            "is longer than 1024 bytes; use a shorter id");
  free (long_id);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_runc_state),
    cmocka_unit_test (test_crun_state),
    cmocka_unit_test (test_pid),
    cmocka_unit_test (test_required_fields),
    cmocka_unit_test (test_malformed_state),
    cmocka_unit_test (test_read_fd),
    cmocka_unit_test (test_id_check),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
