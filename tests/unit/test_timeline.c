/* The timeline people read: the facts of each event on one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "timeline.h"

static char *
line (const char *event_json)
{
  cleanup_error mh_error_t err = NULL;
  cleanup_json struct json *e = NULL;
  char *out = NULL;

  assert_int_equal (json_parse (event_json, strlen (event_json), "test", &e, &err), 0);
  assert_int_equal (timeline_format (e, &out, &err), 0);
  return out;
}

static void
sizes (void **state)
{
  (void) state;
  char b[32];
  assert_string_equal (timeline_size (64LL << 20, b, sizeof (b)), "64 MiB");
  assert_string_equal (timeline_size (66715648, b, sizeof (b)), "63.6 MiB");
  assert_string_equal (timeline_size (1023, b, sizeof (b)), "1023 bytes");
  assert_string_equal (timeline_size (1, b, sizeof (b)), "1 byte");
  assert_string_equal (timeline_size (1536, b, sizeof (b)), "1.5 KiB");
  assert_string_equal (timeline_size (-1, b, sizeof (b)), "unlimited");
}

static void
oom_kill_line (void **state)
{
  (void) state;
  cleanup_free char *l = line ("{\"v\":1,\"time\":\"2026-11-23T09:37:14.929Z\",\"id\":\"web1\",\"name\":\"web\","
                               "\"event\":\"oom_kill\",\"pid\":123,\"comm\":\"stress\",\"anon_rss\":67108864,"
                               "\"limit\":67108864,\"oom_kills\":2,\"main\":false}");
  assert_string_equal (l, "2026-11-23 09:37:14.929Z  web1 (web)  oom_kill  pid 123 (stress) anon 64 MiB, "
                          "limit 64 MiB (kill 2 of this run)");
}

static void
oom_kill_unnamed (void **state)
{
  (void) state;
  cleanup_free char *l = line ("{\"time\":\"t\",\"id\":\"a\",\"event\":\"oom_kill\",\"pid\":null,\"comm\":null,"
                               "\"limit\":-1,\"oom_kills\":1}");
  assert_non_null (strstr (l, "victim not named by the kernel's log, limit unlimited"));
}

static void
exit_lines (void **state)
{
  (void) state;
  cleanup_free char *child = line (
      "{\"time\":\"t\",\"id\":\"a\",\"event\":\"exit\",\"verdict\":\"Exited\",\"exit_code\":1,\"oom_kills\":1,"
      "\"main_oom_killed\":false,\"victims\":[{\"pid\":9,\"comm\":\"stress\",\"anon_rss\":67108864,\"main\":false}]}");
  assert_non_null (strstr (child, "exit  exited 1; one child OOM-killed: stress, pid 9, 64 MiB anon"));
  cleanup_free char *main = line ("{\"time\":\"t\",\"id\":\"a\",\"event\":\"exit\",\"verdict\":\"OOMKilled\","
                                  "\"oom_kills\":1,\"victims\":[{\"pid\":5,\"comm\":\"java\",\"main\":true}]}");
  assert_non_null (strstr (main, "OOMKilled: the kernel's OOM killer killed the main process (java, pid 5)"));
  cleanup_free char *ended = line ("{\"time\":\"t\",\"id\":\"a\",\"event\":\"exit\",\"verdict\":\"Ended\","
                                   "\"oom_kills\":3,\"victims\":[{\"pid\":7,\"comm\":\"k\",\"main\":false}]}");
  assert_non_null (strstr (ended, "ended, not OOM-killed"));
  assert_non_null (strstr (ended, "3 children OOM-killed, last: k, pid 7"));
  cleanup_free char *unknown = line ("{\"time\":\"t\",\"id\":\"a\",\"event\":\"exit\",\"verdict\":\"Unknown\","
                                     "\"reason\":\"the watcher was lost\",\"oom_kills\":0}");
  assert_non_null (strstr (unknown, "exit  Unknown: the watcher was lost"));
  assert_null (strstr (unknown, "OOM-killed"));
}

static void
other_events (void **state)
{
  (void) state;
  cleanup_free char *w = line ("{\"time\":\"t\",\"id\":\"a\",\"event\":\"warning\",\"stage\":\"poststart\","
                               "\"message\":\"watcher gone\"}");
  assert_non_null (strstr (w, "warning  poststart: watcher gone"));
  cleanup_free char *a = line ("{\"time\":\"t\",\"id\":\"a\",\"event\":\"apply\",\"cgroup\":\"/x\",\"version\":2,"
                               "\"plan\":[{\"file\":\"memory.max\",\"value\":\"67108864\"},"
                               "{\"file\":\"memory.swap.max\",\"value\":\"0\"}]}");
  assert_non_null (strstr (a, "/x (v2): memory.max=67108864 (64 MiB), memory.swap.max=0"));
  cleanup_free char *u = line ("{\"v\":1,\"time\":\"t\",\"id\":\"a\",\"event\":\"future\",\"x\":1}");
  assert_non_null (strstr (u, "future  {\"x\":1}"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (sizes),       cmocka_unit_test (oom_kill_line), cmocka_unit_test (oom_kill_unnamed),
    cmocka_unit_test (exit_lines),  cmocka_unit_test (other_events),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
