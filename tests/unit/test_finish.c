/* Ending a run (state/finish.c): one verdict and one exit event, whoever
 * comes first; evidence only from this run's watch.json; a parent's exit
 * status wins over "Ended". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "cleanup.h"
#include "events.h"
#include "finish.h"
#include "record.h"
#include "tmptree.h"

#define WATCHER 4100
#define MAIN 4200

static int
setup (void **state)
{
  return tree_setup (state, "finish");
}

/* The state dir is the tree; the container's folder "c1" in it. */
static int
container_fd (struct tree *t)
{
  mkdirat (t->fd, "c1", 0700);
  int fd = openat (t->fd, "c1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  return fd;
}

static void
put_record (int cfd, const char *text)
{
  mh_error_t err = NULL;
  cleanup_json struct json *rec = NULL;

  assert_int_equal (json_parse (text, strlen (text), "test", &rec, &err), 0);
  assert_int_equal (record_store (cfd, rec, &err), 0);
}

static void
put_watch (int cfd, pid_t watcher, bool main_oom_killed)
{
  mh_error_t err = NULL;
  struct watch_report rep;

  memset (&rep, 0, sizeof (rep));
  rep.watcher_pid = watcher;
  rep.main_pid = MAIN;
  rep.kmsg = rep.kmsg_complete = true;
  rep.main_exited = rep.ended_cleanly = true;
  rep.main_oom_killed = main_oom_killed;
  rep.oom_kills = main_oom_killed ? 1 : 0;
  assert_int_equal (watch_report_store (cfd, &rep, &err), 0);
}

static const char *
field (int cfd, const char *key, char *buf, size_t len)
{
  mh_error_t err = NULL;
  cleanup_json struct json *rec = NULL;
  const struct json *v;

  assert_int_equal (record_load (cfd, &rec, &err), 0);
  v = json_get (rec, key);
  snprintf (buf, len, "%s", v == NULL ? "(none)" : v->type == JSON_STRING ? v->u.string.data : "(not a string)");
  return buf;
}

static int
exit_events (struct tree *t)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  mh_error_t err = NULL;
  int n = 0;

  if (read_file_at (t->fd, "events.jsonl", 1 << 20, &text, &len, &err) < 0)
    {
      mh_error_free (&err);
      return 0;
    }
  for (const char *p = text; (p = strstr (p, "\"event\":\"exit\"")) != NULL; p++)
    n++;
  return n;
}

static bool
finish (struct tree *t, int cfd, pid_t watcher, bool status_known, int wait_status)
{
  cleanup_json struct json *ev = event_new ("exit", "c1", NULL);
  struct run_end end = { .state_dirfd = t->fd, .container_dirfd = cfd, .watcher = watcher, .event = ev,
                         .status_known = status_known, .wait_status = wait_status };
  mh_error_t err = NULL;
  bool done = false;

  assert_int_equal (run_finish (&end, &done, &err), 0);
  return done;
}

static void
test_once (void **state)
{
  struct tree *t = *state;
  cleanup_close int cfd = container_fd (t);
  char buf[64];

  put_record (cfd, "{\"id\":\"c1\",\"pid\":4200,\"status\":\"applied\",\"watcher_pid\":4100,\"verdict\":null}");
  put_watch (cfd, WATCHER, true);
  assert_true (finish (t, cfd, WATCHER, false, 0));
  assert_string_equal (field (cfd, "verdict", buf, sizeof (buf)), "OOMKilled");
  assert_string_equal (field (cfd, "status", buf, sizeof (buf)), "stopped");
  /* poststop after the watcher: nothing more. */
  assert_false (finish (t, cfd, 0, false, 0));
  assert_int_equal (exit_events (t), 1);
}

static void
test_other_watcher (void **state)
{
  struct tree *t = *state;
  cleanup_close int cfd = container_fd (t);
  char buf[64];

  /* A watcher of an earlier run of the same id does not end this one. */
  put_record (cfd, "{\"id\":\"c1\",\"pid\":4200,\"status\":\"applied\",\"watcher_pid\":4100,\"verdict\":null}");
  assert_false (finish (t, cfd, 999, false, 0));
  assert_string_equal (field (cfd, "verdict", buf, sizeof (buf)), "(not a string)");
  assert_int_equal (exit_events (t), 0);
}

static void
test_stale_watch_file (void **state)
{
  struct tree *t = *state;
  cleanup_close int cfd = container_fd (t);
  char buf[64];

  /* watch.json of another watcher says nothing about this run. */
  put_record (cfd, "{\"id\":\"c1\",\"pid\":4200,\"status\":\"applied\",\"watcher_pid\":4100,\"verdict\":null}");
  put_watch (cfd, 777, true);
  assert_true (finish (t, cfd, 0, false, 0));
  assert_string_equal (field (cfd, "verdict", buf, sizeof (buf)), "Unknown");
}

static void
test_parent_status (void **state)
{
  struct tree *t = *state;
  cleanup_close int cfd = container_fd (t);
  char buf[64];

  /* memhook-runtime run knows the exit code: Exited, not Ended. */
  put_record (cfd, "{\"id\":\"c1\",\"pid\":4200,\"status\":\"applied\",\"watcher_pid\":4100,\"verdict\":null,"
                   "\"exit_by\":\"runtime\"}");
  put_watch (cfd, WATCHER, false);
  assert_true (finish (t, cfd, 0, true, 3 << 8));
  assert_string_equal (field (cfd, "verdict", buf, sizeof (buf)), "Exited");
  assert_int_equal (exit_events (t), 1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_once, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_other_watcher, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_stale_watch_file, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_parent_status, setup, tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
