/* The Prometheus textfile: families, label escaping, what is left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "metrics.h"

static void
render (void **state)
{
  (void) state;
  cleanup_error mh_error_t err = NULL;
  cleanup_free char *text = NULL;
  size_t len = 0;
  struct metrics_row rows[] = {
    { .id = "web1", .limit = 67108864, .oom_kills = 1, .verdict = "OOMKilled" },
    { .id = "q\"\\\nx", .limit = -1, .oom_kills = 0, .verdict = NULL },
    { .id = "nolimit", .limit = INT64_MIN, .oom_kills = -1, .verdict = "Ended" },
  };

  assert_int_equal (metrics_render (rows, 3, &text, &len, &err), 0);
  assert_int_equal (strlen (text), len);
  assert_non_null (strstr (text, "# TYPE memhook_container_memory_limit_bytes gauge\n"));
  assert_non_null (strstr (text, "# TYPE memhook_container_oom_kills_total counter\n"));
  assert_non_null (strstr (text, "memhook_container_memory_limit_bytes{id=\"web1\"} 67108864\n"));
  assert_non_null (strstr (text, "memhook_container_oom_kills_total{id=\"web1\"} 1\n"));
  assert_non_null (strstr (text, "memhook_container_last_verdict{id=\"web1\",verdict=\"OOMKilled\"} 1\n"));
  assert_non_null (strstr (text, "memhook_container_memory_limit_bytes{id=\"q\\\"\\\\\\nx\"} +Inf\n"));
  assert_null (strstr (text, "last_verdict{id=\"q"));
  assert_null (strstr (text, "limit_bytes{id=\"nolimit\"}"));
  assert_null (strstr (text, "oom_kills_total{id=\"nolimit\"}"));
  assert_non_null (strstr (text, "last_verdict{id=\"nolimit\",verdict=\"Ended\"} 1\n"));
}

static void
render_empty (void **state)
{
  (void) state;
  cleanup_error mh_error_t err = NULL;
  cleanup_free char *text = NULL;
  size_t len = 0;

  assert_int_equal (metrics_render (NULL, 0, &text, &len, &err), 0);
  assert_non_null (strstr (text, "# HELP memhook_container_last_verdict"));
  assert_null (strstr (text, "{"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test (render), cmocka_unit_test (render_empty) };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
