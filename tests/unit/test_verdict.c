/* The verdict table of SPEC.md, rule by rule: who can give which verdict
 * from which evidence, and Unknown whenever the evidence is incomplete. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"

#define EXITED(code) ((code) << 8)
#define SIGNALED(sig) (sig)

/* What a watcher that saw everything and nothing unusual writes. */
static struct verdict_evidence
clean (void)
{
  return (struct verdict_evidence){ .watch_found = true, .ended_cleanly = true, .main_exited = true };
}

static struct verdict_result
decide (struct verdict_evidence e)
{
  struct verdict_result r;
  verdict_decide (&e, &r);
  return r;
}

static void
main_named_by_kernel_is_oomkilled (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.main_oom_killed = true;
  e.oom_kills = 1;
  struct verdict_result r = decide (e);
  assert_int_equal (r.verdict, VERDICT_OOMKILLED);
  assert_true (r.has_exit_code);
  assert_int_equal (r.exit_code, 137);
  assert_int_equal (r.signal, SIGKILL);
}

static void
oomkilled_stands_even_when_the_watcher_died_later (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.ended_cleanly = false;
  e.main_oom_killed = true;
  assert_int_equal (decide (e).verdict, VERDICT_OOMKILLED);
}

static void
hook_only_clean_end_is_ended (void **state)
{
  (void) state;
  struct verdict_result r = decide (clean ());
  assert_int_equal (r.verdict, VERDICT_ENDED);
  assert_false (r.has_exit_code);
  assert_int_equal (r.signal, 0);
}

static void
child_kills_do_not_make_main_oomkilled (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.oom_kills = 10;
  assert_int_equal (decide (e).verdict, VERDICT_ENDED);
  e.status_known = true;
  e.wait_status = EXITED (0);
  struct verdict_result r = decide (e);
  assert_int_equal (r.verdict, VERDICT_EXITED);
  assert_int_equal (r.exit_code, 0);
}

static void
lost_watcher_is_unknown (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.ended_cleanly = false;
  assert_int_equal (decide (e).verdict, VERDICT_UNKNOWN);
  e = (struct verdict_evidence){ 0 };
  assert_int_equal (decide (e).verdict, VERDICT_UNKNOWN);
  e = clean ();
  e.main_exited = false;
  assert_int_equal (decide (e).verdict, VERDICT_UNKNOWN);
}

static void
unattributed_kill_makes_hook_only_unknown (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.oom_kills = 2;
  e.unattributed = 1;
  e.log_complete = false;
  assert_int_equal (decide (e).verdict, VERDICT_UNKNOWN);
  /* The whole log was read: the main process's kill line would have named
   * its pid, so the unnamed kill was someone else. */
  e.log_complete = true;
  assert_int_equal (decide (e).verdict, VERDICT_ENDED);
  e.log_complete = false;
  /* …but a known normal exit rules the main process out. */
  e.status_known = true;
  e.wait_status = EXITED (3);
  struct verdict_result r = decide (e);
  assert_int_equal (r.verdict, VERDICT_EXITED);
  assert_int_equal (r.exit_code, 3);
  /* …and a known SIGKILL does not, unless the log was read whole. */
  e.wait_status = SIGNALED (SIGKILL);
  assert_int_equal (decide (e).verdict, VERDICT_UNKNOWN);
  e.log_complete = true;
  assert_int_equal (decide (e).verdict, VERDICT_KILLED);
}

static void
status_known_sigkill_not_named_is_killed (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.status_known = true;
  e.wait_status = SIGNALED (SIGKILL);
  struct verdict_result r = decide (e);
  assert_int_equal (r.verdict, VERDICT_KILLED);
  assert_int_equal (r.exit_code, 137);
  assert_int_equal (r.signal, SIGKILL);
  e.ended_cleanly = false;
  assert_int_equal (decide (e).verdict, VERDICT_UNKNOWN);
}

static void
status_known_other_signal_is_exited_with_signal (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.status_known = true;
  e.wait_status = SIGNALED (SIGTERM);
  struct verdict_result r = decide (e);
  assert_int_equal (r.verdict, VERDICT_EXITED);
  assert_int_equal (r.exit_code, 128 + SIGTERM);
  assert_int_equal (r.signal, SIGTERM);
  /* A normal exit needs no watcher at all. */
  e = (struct verdict_evidence){ .status_known = true, .wait_status = EXITED (1) };
  assert_int_equal (decide (e).verdict, VERDICT_EXITED);
}

static void
named_but_status_says_exit (void **state)
{
  (void) state;
  struct verdict_evidence e = clean ();
  e.main_oom_killed = true;
  e.status_known = true;
  e.wait_status = EXITED (2);
  struct verdict_result r = decide (e);
  assert_int_equal (r.verdict, VERDICT_EXITED);
  assert_int_equal (r.exit_code, 2);
}

static void
names_round_trip (void **state)
{
  (void) state;
  enum verdict v;
  for (int i = VERDICT_OOMKILLED; i <= VERDICT_UNKNOWN; i++)
    {
      assert_true (verdict_from_name (verdict_name ((enum verdict) i), &v));
      assert_int_equal (v, i);
    }
  assert_false (verdict_from_name ("oomkilled", &v));
  assert_false (verdict_from_name (NULL, &v));
  assert_string_equal (verdict_name (VERDICT_OOMKILLED), "OOMKilled");
}

static void
json_fields (void **state)
{
  (void) state;
  cleanup_error mh_error_t err = NULL;
  struct verdict_evidence e = clean ();
  e.main_oom_killed = true;
  e.oom_kills = 2;
  struct verdict_result r = decide (e);
  cleanup_json struct json *o = json_new_object ();
  assert_int_equal (verdict_to_json (&r, &e, o, &err), 0);
  assert_string_equal (json_get (o, "verdict")->u.string.data, "OOMKilled");
  assert_string_equal (json_get (o, "exit_code")->u.number, "137");
  assert_string_equal (json_get (o, "signal")->u.string.data, "SIGKILL");
  assert_string_equal (json_get (o, "oom_kills")->u.number, "2");
  assert_true (json_get (o, "main_oom_killed")->u.boolean);

  cleanup_json struct json *o2 = json_new_object ();
  struct verdict_evidence e2 = clean ();
  r = decide (e2);
  assert_int_equal (verdict_to_json (&r, &e2, o2, &err), 0);
  assert_null (json_get (o2, "exit_code"));
  assert_null (json_get (o2, "signal"));
  assert_false (json_get (o2, "main_oom_killed")->u.boolean);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (main_named_by_kernel_is_oomkilled),
    cmocka_unit_test (oomkilled_stands_even_when_the_watcher_died_later),
    cmocka_unit_test (hook_only_clean_end_is_ended),
    cmocka_unit_test (child_kills_do_not_make_main_oomkilled),
    cmocka_unit_test (lost_watcher_is_unknown),
    cmocka_unit_test (unattributed_kill_makes_hook_only_unknown),
    cmocka_unit_test (status_known_sigkill_not_named_is_killed),
    cmocka_unit_test (status_known_other_signal_is_exited_with_signal),
    cmocka_unit_test (named_but_status_says_exit),
    cmocka_unit_test (names_round_trip),
    cmocka_unit_test (json_fields),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
