/* oci/policy.c: annotations, decisions, backoff and grow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define MIB (1024LL * 1024LL)

static struct restart_policy
parsed (const char *restart, const char *backoff, const char *grow)
{
  struct restart_policy p;
  mh_error_t err = NULL;

  if (restart_policy_parse (restart, backoff, grow, &p, &err) < 0)
    fail_msg ("unexpected error: %s", err && err->msg ? err->msg : "?");
  return p;
}

/* The value is refused, the message names the annotation and contains `part`,
 * and the policy passed in is left as it was. */
static void
assert_refused (const char *restart, const char *backoff, const char *grow, const char *annotation,
                const char *part)
{
  struct restart_policy p, before;
  mh_error_t err = NULL;

  restart_policy_init (&p);
  p.mode = RESTART_ALWAYS;
  memcpy (&before, &p, sizeof (p));
  assert_int_equal (restart_policy_parse (restart, backoff, grow, &p, &err), -1);
  assert_non_null (err);
  assert_non_null (err->msg);
  if (strncmp (err->msg, annotation, strlen (annotation)) != 0 || strstr (err->msg, part) == NULL)
    fail_msg ("message \"%s\" should start with \"%s\" and contain \"%s\"", err->msg, annotation, part);
  assert_memory_equal (&p, &before, sizeof (p));
  mh_error_free (&err);
}

/* A value from the container's environment is refused naming the variable. */
static void
test_sources_name_the_variable (void **state)
{
  struct restart_policy p;
  mh_error_t err = NULL;
  struct restart_sources src = {
    .restart = { .value = "on-oom:2", .name = "process.env MEMHOOK_RESTART" },
    .backoff = { .value = "1s,fast", .name = "process.env MEMHOOK_RESTART_BACKOFF" },
  };
  (void) state;

  assert_int_equal (restart_policy_parse_sources (&src, &p, &err), -1);
  assert_string_equal (err->msg, "process.env MEMHOOK_RESTART_BACKOFF MAX: \"fast\" is not a duration; "
                                 "use e.g. 100ms, 10s, 1.5m, 2h, or milliseconds");
  mh_error_free (&err);

  src.backoff.value = NULL;
  src.grow = (struct restart_source){ .value = "0.5", .name = "process.env MEMHOOK_OOM_GROW" };
  assert_int_equal (restart_policy_parse_sources (&src, &p, &err), -1);
  assert_non_null (strstr (err->msg, "process.env MEMHOOK_OOM_GROW: FACTOR \"0.5\" must be above 1"));
  mh_error_free (&err);

  src.grow.value = NULL;
  src.restart.value = "sometimes";
  assert_int_equal (restart_policy_parse_sources (&src, &p, &err), -1);
  assert_non_null (strstr (err->msg, "process.env MEMHOOK_RESTART: \"sometimes\" is not a policy"));
  mh_error_free (&err);

  /* No name: the annotation's. */
  src.restart = (struct restart_source){ .value = "on-oom:x" };
  assert_int_equal (restart_policy_parse_sources (&src, &p, &err), -1);
  assert_non_null (strstr (err->msg, "io.memhook.restart: \"on-oom:x\" has a bad count"));
  mh_error_free (&err);

  src.restart.value = "on-oom:2";
  src.backoff = (struct restart_source){ .value = "1s,2s,3s", .name = "process.env MEMHOOK_RESTART_BACKOFF" };
  assert_int_equal (restart_policy_parse_sources (&src, &p, &err), 0);
  assert_int_equal (p.mode, RESTART_ON_OOM);
  assert_int_equal (p.max_restarts, 2);
  assert_int_equal (p.backoff_reset_ms, 3000);
}

static void
test_defaults (void **state)
{
  struct restart_policy p = parsed (NULL, NULL, NULL);

  (void) state;
  assert_int_equal (p.mode, RESTART_NO);
  assert_int_equal (p.max_restarts, 0);
  assert_int_equal (p.backoff_initial_ms, 100);
  assert_int_equal (p.backoff_max_ms, 60000);
  assert_int_equal (p.backoff_reset_ms, 10000);
  assert_false (p.grow);
}

static void
test_modes (void **state)
{
  struct restart_policy p;

  (void) state;
  p = parsed ("no", NULL, NULL);
  assert_int_equal (p.mode, RESTART_NO);
  p = parsed ("on-oom", NULL, NULL);
  assert_int_equal (p.mode, RESTART_ON_OOM);
  assert_int_equal (p.max_restarts, 0);
  p = parsed ("on-oom:3", NULL, NULL);
  assert_int_equal (p.mode, RESTART_ON_OOM);
  assert_int_equal (p.max_restarts, 3);
  p = parsed ("on-oom:0", NULL, NULL);
  assert_int_equal (p.max_restarts, 0);
  p = parsed ("on-failure", NULL, NULL);
  assert_int_equal (p.mode, RESTART_ON_FAILURE);
  p = parsed ("on-failure:12", NULL, NULL);
  assert_int_equal (p.mode, RESTART_ON_FAILURE);
  assert_int_equal (p.max_restarts, 12);
  p = parsed ("always", NULL, NULL);
  assert_int_equal (p.mode, RESTART_ALWAYS);
}

static void
test_mode_malformed (void **state)
{
  (void) state;
  assert_refused ("on-oomm", NULL, NULL, "io.memhook.restart: ",
                  "\"on-oomm\" is not a policy; use no, on-oom[:N], on-failure[:N] or always");
  assert_refused ("", NULL, NULL, "io.memhook.restart: ", "empty");
  assert_refused ("On-OOM", NULL, NULL, "io.memhook.restart: ", "is not a policy");
  assert_refused (" always", NULL, NULL, "io.memhook.restart: ", "is not a policy");
  assert_refused ("unless-stopped", NULL, NULL, "io.memhook.restart: ", "is not a policy");
  assert_refused ("on-oom:", NULL, NULL, "io.memhook.restart: ", "bad count");
  assert_refused ("on-oom:-1", NULL, NULL, "io.memhook.restart: ", "bad count \"-1\"");
  assert_refused ("on-oom:x", NULL, NULL, "io.memhook.restart: ", "bad count");
  assert_refused ("on-oom:3 ", NULL, NULL, "io.memhook.restart: ", "bad count");
  assert_refused ("on-failure:1:2", NULL, NULL, "io.memhook.restart: ", "bad count");
  assert_refused ("on-failure:99999999999", NULL, NULL, "io.memhook.restart: ", "bad count");
  assert_refused ("always:3", NULL, NULL, "io.memhook.restart: ", "takes no count");
  assert_refused ("no:1", NULL, NULL, "io.memhook.restart: ", "takes no count");
}

static void
test_backoff (void **state)
{
  struct restart_policy p;

  (void) state;
  p = parsed ("always", "100ms,1m,10s", NULL);
  assert_int_equal (p.backoff_initial_ms, 100);
  assert_int_equal (p.backoff_max_ms, 60000);
  assert_int_equal (p.backoff_reset_ms, 10000);
  p = parsed ("always", "1s", NULL);
  assert_int_equal (p.backoff_initial_ms, 1000);
  assert_int_equal (p.backoff_max_ms, 60000);
  assert_int_equal (p.backoff_reset_ms, 10000);
  p = parsed ("always", "250ms,2s", NULL);
  assert_int_equal (p.backoff_initial_ms, 250);
  assert_int_equal (p.backoff_max_ms, 2000);
  assert_int_equal (p.backoff_reset_ms, 10000);
  p = parsed ("always", "1.5s,1.5s,1h", NULL);
  assert_int_equal (p.backoff_initial_ms, 1500);
  assert_int_equal (p.backoff_max_ms, 1500);
  assert_int_equal (p.backoff_reset_ms, 3600000);
  /* a lone INITIAL above the default MAX raises MAX */
  p = parsed ("always", "2m", NULL);
  assert_int_equal (p.backoff_initial_ms, 120000);
  assert_int_equal (p.backoff_max_ms, 120000);
}

static void
test_backoff_malformed (void **state)
{
  (void) state;
  assert_refused (NULL, "", NULL, "io.memhook.restart.backoff: ", "empty");
  assert_refused (NULL, "fast", NULL, "io.memhook.restart.backoff INITIAL: ", "\"fast\" is not a duration");
  assert_refused (NULL, "100ms,soon", NULL, "io.memhook.restart.backoff MAX: ", "is not a duration");
  assert_refused (NULL, "100ms,1m,x", NULL, "io.memhook.restart.backoff RESET: ", "is not a duration");
  assert_refused (NULL, "0", NULL, "io.memhook.restart.backoff: ", "INITIAL \"0\" must be above 0");
  assert_refused (NULL, "100ms,1m,0s", NULL, "io.memhook.restart.backoff: ", "RESET \"0s\" must be above 0");
  assert_refused (NULL, "1s,500ms", NULL, "io.memhook.restart.backoff: ", "MAX \"500ms\" is below INITIAL");
  assert_refused (NULL, "-100ms", NULL, "io.memhook.restart.backoff INITIAL: ", "negative");
  assert_refused (NULL, "100ms,,10s", NULL, "io.memhook.restart.backoff: ", "empty value");
  assert_refused (NULL, "100ms,", NULL, "io.memhook.restart.backoff: ", "empty value");
  assert_refused (NULL, "1,2,3,4", NULL, "io.memhook.restart.backoff: ", "more than 3 values");
  assert_refused (NULL, "100ms,25h", NULL, "io.memhook.restart.backoff: ", "longer than a day");
  /* a bad backoff fails the whole parse even when the mode is fine */
  assert_refused ("on-oom:2", "100ms 1m", NULL, "io.memhook.restart.backoff INITIAL: ", "not a duration");
}

static void
test_grow_parse (void **state)
{
  struct restart_policy p;

  (void) state;
  p = parsed ("on-oom", NULL, "1.5");
  assert_true (p.grow);
  assert_int_equal (p.grow_factor, 1500000);
  assert_int_equal (p.grow_max, -1);
  p = parsed ("on-oom", NULL, "2,1g");
  assert_int_equal (p.grow_factor, 2000000);
  assert_int_equal (p.grow_max, 1024 * MIB);
  p = parsed ("on-oom", NULL, "1.000001,max");
  assert_int_equal (p.grow_factor, 1000001);
  assert_int_equal (p.grow_max, -1);
  p = parsed ("on-oom", NULL, "16");
  assert_int_equal (p.grow_factor, 16000000);
  p = parsed ("on-oom", NULL, "1.25,1.5GiB");
  assert_int_equal (p.grow_factor, 1250000);
  assert_int_equal (p.grow_max, 1536 * MIB);
}

static void
test_grow_malformed (void **state)
{
  (void) state;
  assert_refused (NULL, NULL, "", "io.memhook.oom.grow: ", "empty");
  assert_refused (NULL, NULL, "1", "io.memhook.oom.grow: ", "FACTOR \"1\" must be above 1");
  assert_refused (NULL, NULL, "1.0", "io.memhook.oom.grow: ", "must be above 1");
  assert_refused (NULL, NULL, "0.5", "io.memhook.oom.grow: ", "must be above 1");
  assert_refused (NULL, NULL, "16.5", "io.memhook.oom.grow: ", "at most 16");
  assert_refused (NULL, NULL, "100000000000000000000", "io.memhook.oom.grow: ", "at most 16");
  assert_refused (NULL, NULL, "double", "io.memhook.oom.grow: ", "FACTOR \"double\" is not a number");
  assert_refused (NULL, NULL, "1.5x", "io.memhook.oom.grow: ", "is not a number");
  assert_refused (NULL, NULL, "-2", "io.memhook.oom.grow: ", "is not a number");
  assert_refused (NULL, NULL, "1e1", "io.memhook.oom.grow: ", "is not a number");
  assert_refused (NULL, NULL, ".", "io.memhook.oom.grow: ", "is not a number");
  assert_refused (NULL, NULL, "1.0000001", "io.memhook.oom.grow: ", "up to 6 decimals");
  assert_refused (NULL, NULL, "1.5,lots", "io.memhook.oom.grow MAX: ", "\"lots\" is not a size");
  assert_refused (NULL, NULL, "1.5,0", "io.memhook.oom.grow: ", "MAX \"0\" must be above 0");
  assert_refused (NULL, NULL, "1.5,1g,2g", "io.memhook.oom.grow: ", "more than 2 values");
  assert_refused (NULL, NULL, ",1g", "io.memhook.oom.grow: ", "empty value");
}

struct decision_row
{
  enum restart_mode mode;
  unsigned max;
  enum restart_verdict verdict;
  int exit_code;
  unsigned attempts;
  bool stop;
  enum restart_decision want;
};

static void
test_decide_table (void **state)
{
  static const struct decision_row rows[] = {
    /* no: never */
    { RESTART_NO, 0, RESTART_VERDICT_OOMKILLED, 137, 0, false, RESTART_STOP_POLICY },
    { RESTART_NO, 0, RESTART_VERDICT_EXITED, 1, 0, false, RESTART_STOP_POLICY },
    /* on-oom: OOMKilled only */
    { RESTART_ON_OOM, 0, RESTART_VERDICT_OOMKILLED, 137, 0, false, RESTART_GO },
    { RESTART_ON_OOM, 0, RESTART_VERDICT_OOMKILLED, 137, 500, false, RESTART_GO },
    { RESTART_ON_OOM, 0, RESTART_VERDICT_KILLED, 137, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_OOM, 0, RESTART_VERDICT_EXITED, 0, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_OOM, 0, RESTART_VERDICT_EXITED, 137, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_OOM, 0, RESTART_VERDICT_ENDED, 0, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_OOM, 0, RESTART_VERDICT_UNKNOWN, 0, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_OOM, 2, RESTART_VERDICT_OOMKILLED, 137, 1, false, RESTART_GO },
    { RESTART_ON_OOM, 2, RESTART_VERDICT_OOMKILLED, 137, 2, false, RESTART_STOP_SPENT },
    { RESTART_ON_OOM, 2, RESTART_VERDICT_OOMKILLED, 137, 0, true, RESTART_STOP_REQUESTED },
    /* on-failure: non-zero exit, or any kill */
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_EXITED, 3, 0, false, RESTART_GO },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_EXITED, 143, 0, false, RESTART_GO },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_EXITED, 0, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_OOMKILLED, 137, 0, false, RESTART_GO },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_KILLED, 137, 0, false, RESTART_GO },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_ENDED, 0, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_UNKNOWN, 0, 0, false, RESTART_STOP_POLICY },
    { RESTART_ON_FAILURE, 2, RESTART_VERDICT_EXITED, 3, 2, false, RESTART_STOP_SPENT },
    { RESTART_ON_FAILURE, 2, RESTART_VERDICT_EXITED, 0, 2, false, RESTART_STOP_POLICY },
    { RESTART_ON_FAILURE, 0, RESTART_VERDICT_EXITED, 3, 0, true, RESTART_STOP_REQUESTED },
    /* always: any end, until a stop */
    { RESTART_ALWAYS, 0, RESTART_VERDICT_EXITED, 0, 0, false, RESTART_GO },
    { RESTART_ALWAYS, 0, RESTART_VERDICT_EXITED, 0, 100000, false, RESTART_GO },
    { RESTART_ALWAYS, 0, RESTART_VERDICT_KILLED, 137, 0, false, RESTART_GO },
    { RESTART_ALWAYS, 0, RESTART_VERDICT_ENDED, 0, 0, false, RESTART_GO },
    { RESTART_ALWAYS, 0, RESTART_VERDICT_UNKNOWN, 0, 0, false, RESTART_GO },
    { RESTART_ALWAYS, 0, RESTART_VERDICT_EXITED, 0, 0, true, RESTART_STOP_REQUESTED },
  };
  struct restart_policy p;

  (void) state;
  for (size_t i = 0; i < sizeof (rows) / sizeof (rows[0]); i++)
    {
      enum restart_decision got;

      restart_policy_init (&p);
      p.mode = rows[i].mode;
      p.max_restarts = rows[i].max;
      got = restart_decide (&p, rows[i].verdict, rows[i].exit_code, rows[i].attempts, rows[i].stop);
      if (got != rows[i].want)
        fail_msg ("row %zu: %s:%u after %s (exit %d, %u restarts, stop %d): got \"%s\", want \"%s\"", i,
                  restart_mode_name (rows[i].mode), rows[i].max, restart_verdict_name (rows[i].verdict),
                  rows[i].exit_code, rows[i].attempts, rows[i].stop, restart_decision_name (got),
                  restart_decision_name (rows[i].want));
    }
}

static void
test_on_oom_count (void **state)
{
  struct restart_policy p = parsed ("on-oom:3", NULL, NULL);
  unsigned restarts = 0;

  (void) state;
  while (restart_decide (&p, RESTART_VERDICT_OOMKILLED, 137, restarts, false) == RESTART_GO)
    restarts++;
  assert_int_equal (restarts, 3);
}

static void
test_backoff_sequence (void **state)
{
  static const int64_t want[] = { 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000 };
  struct restart_policy p = parsed ("always", NULL, NULL);
  struct restart_backoff b = { 0 };

  (void) state;
  for (size_t i = 0; i < sizeof (want) / sizeof (want[0]); i++)
    assert_int_equal (restart_next_delay (&p, &b, 50), want[i]);
  /* a run just short of RESET keeps the cap; one of RESET or more starts over */
  assert_int_equal (restart_next_delay (&p, &b, 9999), 60000);
  assert_int_equal (restart_next_delay (&p, &b, 10000), 100);
  assert_int_equal (restart_next_delay (&p, &b, 0), 200);
  assert_int_equal (restart_next_delay (&p, &b, 3600000), 100);
}

static void
test_backoff_custom (void **state)
{
  struct restart_policy p = parsed ("always", "300ms,1s,2s", NULL);
  struct restart_backoff b = { 0 };

  (void) state;
  assert_int_equal (restart_next_delay (&p, &b, 0), 300);
  assert_int_equal (restart_next_delay (&p, &b, 0), 600);
  assert_int_equal (restart_next_delay (&p, &b, 0), 1000);
  assert_int_equal (restart_next_delay (&p, &b, 1999), 1000);
  assert_int_equal (restart_next_delay (&p, &b, 2000), 300);
  /* INITIAL = MAX: constant */
  p = parsed ("always", "1s,1s", NULL);
  b.last_delay_ms = 0;
  assert_int_equal (restart_next_delay (&p, &b, 0), 1000);
  assert_int_equal (restart_next_delay (&p, &b, 0), 1000);
  /* the largest values do not overflow */
  p = parsed ("always", "24h,24h,24h", NULL);
  b.last_delay_ms = 0;
  assert_int_equal (restart_next_delay (&p, &b, 0), 86400000);
  assert_int_equal (restart_next_delay (&p, &b, 0), 86400000);
}

static void
test_grow (void **state)
{
  struct restart_policy p = parsed ("on-oom", NULL, "1.5");
  int64_t limit, swap;

  (void) state;
  /* no MAX: ×1.5 each time, swap unset stays unset */
  assert_true (restart_grow (&p, 64 * MIB, 0, &limit, &swap));
  assert_int_equal (limit, 96 * MIB);
  assert_int_equal (swap, 0);
  assert_true (restart_grow (&p, limit, swap, &limit, &swap));
  assert_int_equal (limit, 144 * MIB);
  /* the swap allowance stays: 64m limit with 96m swap = 32m of swap */
  assert_true (restart_grow (&p, 64 * MIB, 96 * MIB, &limit, &swap));
  assert_int_equal (limit, 96 * MIB);
  assert_int_equal (swap, 128 * MIB);
  /* swap == limit (no swap) stays no swap */
  assert_true (restart_grow (&p, 64 * MIB, 64 * MIB, &limit, &swap));
  assert_int_equal (swap, 96 * MIB);
  /* swap -1 stays -1 */
  assert_true (restart_grow (&p, 64 * MIB, -1, &limit, &swap));
  assert_int_equal (limit, 96 * MIB);
  assert_int_equal (swap, -1);
  /* rounded down to a page: 10000 × 1.5 = 15000 → 12288 */
  assert_true (restart_grow (&p, 10000, 0, &limit, &swap));
  assert_int_equal (limit, 12288);
}

static void
test_grow_max (void **state)
{
  struct restart_policy p = parsed ("on-oom", NULL, "1.5,80m");
  int64_t limit, swap;

  (void) state;
  assert_true (restart_grow (&p, 64 * MIB, 128 * MIB, &limit, &swap));
  assert_int_equal (limit, 80 * MIB);
  assert_int_equal (swap, 144 * MIB);
  /* at MAX: no change */
  assert_false (restart_grow (&p, 80 * MIB, 144 * MIB, &limit, &swap));
  assert_int_equal (limit, 80 * MIB);
  assert_int_equal (swap, 144 * MIB);
  /* already above MAX: never below the old limit */
  assert_false (restart_grow (&p, 100 * MIB, 0, &limit, &swap));
  assert_int_equal (limit, 100 * MIB);
  /* MAX not on a page: rounded down */
  p = parsed ("on-oom", NULL, "2,100001");
  assert_true (restart_grow (&p, 65536, 0, &limit, &swap));
  assert_int_equal (limit, 98304);
  /* growth smaller than a page on an unaligned limit: unchanged */
  p = parsed ("on-oom", NULL, "1.000001");
  assert_false (restart_grow (&p, 4097, 0, &limit, &swap));
  assert_int_equal (limit, 4097);
}

static void
test_grow_none (void **state)
{
  struct restart_policy p = parsed ("on-oom", NULL, NULL);
  int64_t limit, swap;

  (void) state;
  /* no grow configured */
  assert_false (restart_grow (&p, 64 * MIB, 128 * MIB, &limit, &swap));
  assert_int_equal (limit, 64 * MIB);
  assert_int_equal (swap, 128 * MIB);
  p = parsed ("on-oom", NULL, "2");
  /* unlimited or unset limit: nothing to grow */
  assert_false (restart_grow (&p, -1, -1, &limit, &swap));
  assert_int_equal (limit, -1);
  assert_int_equal (swap, -1);
  assert_false (restart_grow (&p, 0, 0, &limit, &swap));
  assert_int_equal (limit, 0);
  /* near the top: saturates instead of wrapping */
  assert_true (restart_grow (&p, INT64_MAX / 2 + 4096, -1, &limit, &swap));
  assert_true (limit > INT64_MAX / 2);
  assert_int_equal (limit % 4096, 0);
  assert_true (restart_grow (&p, INT64_MAX / 2 + 4096, INT64_MAX - 1, &limit, &swap));
  assert_int_equal (swap, INT64_MAX);
}

static void
test_names (void **state)
{
  (void) state;
  assert_string_equal (restart_verdict_name (RESTART_VERDICT_OOMKILLED), "OOMKilled");
  assert_string_equal (restart_verdict_name (RESTART_VERDICT_KILLED), "Killed");
  assert_string_equal (restart_verdict_name (RESTART_VERDICT_EXITED), "Exited");
  assert_string_equal (restart_verdict_name (RESTART_VERDICT_ENDED), "Ended");
  assert_string_equal (restart_verdict_name (RESTART_VERDICT_UNKNOWN), "Unknown");
  assert_string_equal (restart_mode_name (RESTART_ON_FAILURE), "on-failure");
  assert_string_equal (restart_mode_name (RESTART_ON_OOM), "on-oom");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults),
    cmocka_unit_test (test_modes),
    cmocka_unit_test (test_mode_malformed),
    cmocka_unit_test (test_backoff),
    cmocka_unit_test (test_backoff_malformed),
    cmocka_unit_test (test_grow_parse),
    cmocka_unit_test (test_grow_malformed),
    cmocka_unit_test (test_decide_table),
    cmocka_unit_test (test_on_oom_count),
    cmocka_unit_test (test_backoff_sequence),
    cmocka_unit_test (test_backoff_custom),
    cmocka_unit_test (test_grow),
    cmocka_unit_test (test_grow_max),
    cmocka_unit_test (test_grow_none),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_sources_name_the_variable),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
