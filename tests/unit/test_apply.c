/* Applying a plan on a fake cgroup tree of plain files: skip what is
 * already so (after page rounding), write the rest, verify, restore
 * everything written when a step or the verification fails.
 *
 * The program drops CAP_DAC_OVERRIDE first so a read-only (0444) file
 * can be read but not written: that is how a kernel refusal part-way
 * through a plan is simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply.h"
#include "cgfile.h"
#include "cleanup.h"
#include "fsutil.h"
#include "tmptree.h"

#define UNLIMITED_V1 "9223372036854771712\n"

/* Files are checked for their exact content (tree_assert_file): a value
 * memhook wrote has no newline, one the test put there has; that is how
 * "not written" is told apart. */
static int
setup (void **state)
{
  return tree_setup (state, "apply");
}

/* A plan from (field, file, value) triples. */
static void
plan_of (struct plan *p, enum cg_version v, size_t n, const char *const (*steps)[3])
{
  memset (p, 0, sizeof (*p));
  p->version = v;
  p->n_steps = n;
  p->steps = calloc (n, sizeof (*p->steps));
  for (size_t i = 0; i < n; i++)
    {
      p->steps[i].field = strdup (steps[i][0]);
      p->steps[i].file = strdup (steps[i][1]);
      p->steps[i].value = strdup (steps[i][2]);
    }
}

static void
apply_ok (struct tree *t, struct plan *p, struct cg_apply_result *r)
{
  mh_error_t err = NULL;
  if (cg_apply (t->fd, p, r, &err) < 0)
    fail_msg ("cg_apply failed: %s", err->msg);
  assert_null (err);
}

static char *
apply_bad (struct tree *t, struct plan *p)
{
  struct cg_apply_result r = { .n = 99 };
  mh_error_t err = NULL;
  char *msg;

  assert_int_equal (cg_apply (t->fd, p, &r, &err), -1);
  assert_non_null (err);
  assert_int_equal (r.n, 0);
  assert_null (r.steps);
  msg = strdup (err->msg);
  mh_error_free (&err);
  return msg;
}

static void
assert_contains (const char *s, const char *want)
{
  if (strstr (s, want) == NULL)
    fail_msg ("\"%s\" lacks \"%s\"", s, want);
}

static void
test_skip_when_equal (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.limit", "memory.limit_in_bytes", "67108864" },
    /* the kernel keeps 67108864 of this: equal after rounding */
    { "linux.resources.memory.reservation", "memory.soft_limit_in_bytes", "67109000" },
    { "linux.resources.memory.swappiness", "memory.swappiness", "0" },
  };
  struct tree *t = *state;
  struct cg_apply_result r;
  struct plan p;

  tree_put (t, "memory.limit_in_bytes", "67108864\n");
  tree_put (t, "memory.soft_limit_in_bytes", "67108864\n");
  tree_put (t, "memory.swappiness", "0\n");
  plan_of (&p, CG_V1, 3, steps);
  apply_ok (t, &p, &r);
  assert_int_equal (r.n, 3);
  assert_int_equal (r.n_written, 0);
  for (size_t i = 0; i < 3; i++)
    assert_false (r.steps[i].written);
  tree_assert_file (t, "memory.limit_in_bytes", "67108864\n");
  tree_assert_file (t, "memory.soft_limit_in_bytes", "67108864\n");
  cleanup_json struct json *c = cg_apply_corrections_to_json (&r);
  assert_int_equal (c->type, JSON_ARRAY);
  assert_int_equal (c->u.array.len, 0);
  cg_apply_result_free (&r);
  plan_free (&p);
}

static void
test_write_and_corrections (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.limit", "memory.limit_in_bytes", "33554432" },
    { "linux.resources.memory.swappiness", "memory.swappiness", "60" },
    { "linux.resources.memory.disableOOMKiller", "memory.oom_control", "1" },
  };
  struct tree *t = *state;
  struct cg_apply_result r;
  struct plan p;

  tree_put (t, "memory.limit_in_bytes", UNLIMITED_V1);
  tree_put (t, "memory.swappiness", "60\n");
  tree_put (t, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  plan_of (&p, CG_V1, 3, steps);
  apply_ok (t, &p, &r);
  assert_int_equal (r.n_written, 2);
  assert_true (r.steps[0].written);
  assert_false (r.steps[1].written);
  assert_true (r.steps[2].written);
  assert_string_equal (r.steps[0].before, "-1");
  assert_string_equal (r.steps[0].found, "33554432");
  assert_string_equal (r.steps[2].before, "0");
  tree_assert_file (t, "memory.limit_in_bytes", "33554432");
  tree_assert_file (t, "memory.swappiness", "60\n");
  tree_assert_file (t, "memory.oom_control", "1");

  cleanup_json struct json *c = cg_apply_corrections_to_json (&r);
  assert_int_equal (c->u.array.len, 2);
  const struct json *c0 = c->u.array.items[0];
  assert_string_equal (json_get (c0, "field")->u.string.data, "linux.resources.memory.limit");
  assert_string_equal (json_get (c0, "file")->u.string.data, "memory.limit_in_bytes");
  assert_string_equal (json_get (c0, "was")->u.string.data, "-1");
  assert_string_equal (json_get (c0, "value")->u.string.data, "33554432");
  cleanup_json struct json *s = cg_apply_steps_to_json (&r);
  assert_int_equal (s->u.array.len, 3);
  assert_false (json_get (s->u.array.items[1], "written")->u.boolean);
  assert_string_equal (json_get (s->u.array.items[0], "found")->u.string.data, "33554432");
  cg_apply_result_free (&r);
  plan_free (&p);
}

static void
test_undo (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.limit", "memory.limit_in_bytes", "33554432" },
    { "linux.resources.memory.swappiness", "memory.swappiness", "60" },
    { "linux.resources.memory.reservation", "memory.soft_limit_in_bytes", "16777216" },
  };
  struct tree *t = *state;
  struct cg_apply_result r;
  mh_error_t err = NULL;
  struct plan p;

  tree_put (t, "memory.limit_in_bytes", UNLIMITED_V1);
  tree_put (t, "memory.swappiness", "60\n");
  tree_put (t, "memory.soft_limit_in_bytes", "8388608\n");
  plan_of (&p, CG_V1, 3, steps);
  apply_ok (t, &p, &r);
  assert_int_equal (r.n_written, 2);
  assert_int_equal (cg_apply_undo (t->fd, &r, &err), 0);
  assert_null (err);
  tree_assert_file (t, "memory.limit_in_bytes", "-1");
  tree_assert_file (t, "memory.swappiness", "60\n"); /* never written, never touched */
  tree_assert_file (t, "memory.soft_limit_in_bytes", "8388608");
  /* A value that cannot be put back is named. */
  assert_int_equal (fchmodat (t->fd, "memory.soft_limit_in_bytes", 0444, 0), 0);
  assert_int_equal (cg_apply_undo (t->fd, &r, &err), -1);
  assert_non_null (strstr (err->msg, "restoring memory.soft_limit_in_bytes to 8388608 also failed"));
  mh_error_free (&err);
  cg_apply_result_free (&r);
  plan_free (&p);
}

static void
test_oom_control_already_set (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.disableOOMKiller", "memory.oom_control", "1" },
  };
  struct tree *t = *state;
  struct cg_apply_result r;
  struct plan p;

  tree_put (t, "memory.oom_control", "oom_kill_disable 1\nunder_oom 0\noom_kill 2\n");
  plan_of (&p, CG_V1, 1, steps);
  apply_ok (t, &p, &r);
  assert_int_equal (r.n_written, 0);
  tree_assert_file (t, "memory.oom_control", "oom_kill_disable 1\nunder_oom 0\noom_kill 2\n");
  cg_apply_result_free (&r);
  plan_free (&p);
}

static void
test_restore_on_failure (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.swap", "memory.memsw.limit_in_bytes", "209715200" },
    { "linux.resources.memory.limit", "memory.limit_in_bytes", "104857600" },
    { "linux.resources.memory.swappiness", "memory.swappiness", "10" },
    { "linux.resources.memory.reservation", "memory.soft_limit_in_bytes", "52428800" },
  };
  struct tree *t = *state;
  struct plan p;

  tree_put (t, "memory.memsw.limit_in_bytes", UNLIMITED_V1);
  tree_put (t, "memory.limit_in_bytes", "67108864\n");
  tree_put (t, "memory.swappiness", "60\n");
  tree_put (t, "memory.soft_limit_in_bytes", UNLIMITED_V1);
  assert_int_equal (fchmodat (t->fd, "memory.soft_limit_in_bytes", 0444, 0), 0);
  plan_of (&p, CG_V1, 4, steps);
  cleanup_free char *msg = apply_bad (t, &p);
  assert_contains (msg, "linux.resources.memory.reservation");
  assert_contains (msg, "memory.soft_limit_in_bytes");
  assert_contains (msg, "52428800");
  /* Every value written before the failure is back (in writable form). */
  tree_assert_file (t, "memory.memsw.limit_in_bytes", "-1");
  tree_assert_file (t, "memory.limit_in_bytes", "67108864");
  tree_assert_file (t, "memory.swappiness", "60");
  tree_assert_file (t, "memory.soft_limit_in_bytes", UNLIMITED_V1);
  plan_free (&p);
}

static void
test_verify_mismatch_restores (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.swappiness", "memory.swappiness", "30" },
    /* the kernel would keep 4096; a plain file keeps 4097: a mismatch */
    { "linux.resources.memory.limit", "memory.limit_in_bytes", "4097" },
  };
  struct tree *t = *state;
  struct plan p;

  tree_put (t, "memory.swappiness", "60\n");
  tree_put (t, "memory.limit_in_bytes", "8192\n");
  plan_of (&p, CG_V1, 2, steps);
  cleanup_free char *msg = apply_bad (t, &p);
  assert_contains (msg, "memory.limit_in_bytes holds 4097");
  assert_contains (msg, "expected 4096");
  tree_assert_file (t, "memory.swappiness", "60");
  tree_assert_file (t, "memory.limit_in_bytes", "8192");
  plan_free (&p);
}

static void
test_missing_memsw (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.limit", "memory.limit_in_bytes", "104857600" },
    { "linux.resources.memory.swap", "memory.memsw.limit_in_bytes", "209715200" },
  };
  struct tree *t = *state;
  struct plan p;

  tree_put (t, "memory.limit_in_bytes", "67108864\n");
  plan_of (&p, CG_V1, 2, steps);
  cleanup_free char *msg = apply_bad (t, &p);
  assert_contains (msg, "no swap accounting on this kernel (memory.memsw.limit_in_bytes missing)");
  assert_contains (msg, "swapaccount=1");
  assert_contains (msg, "drop linux.resources.memory.swap");
  tree_assert_file (t, "memory.limit_in_bytes", "67108864");
  plan_free (&p);
}

static void
test_missing_file (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.kernel", "memory.kmem.limit_in_bytes", "1048576" },
  };
  struct tree *t = *state;
  struct plan p;

  plan_of (&p, CG_V1, 1, steps);
  cleanup_free char *msg = apply_bad (t, &p);
  assert_contains (msg, "this kernel has no memory.kmem.limit_in_bytes");
  plan_free (&p);
}

static void
test_check_before_update_v2 (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.swap", "memory.swap.max", "0" },
    { "linux.resources.memory.limit", "memory.max", "52428800" },
  };
  struct tree *t = *state;
  struct cg_apply_result r;
  struct plan p;

  tree_put (t, "memory.max", "max\n");
  tree_put (t, "memory.swap.max", "max\n");
  tree_put (t, "memory.swap.current", "0\n");
  tree_put (t, "memory.current", "52428800\n"); /* at the limit: refused */
  plan_of (&p, CG_V2, 2, steps);
  p.effective.check_before_update = (struct opt_bool) { .present = true, .value = true };
  cleanup_free char *msg = apply_bad (t, &p);
  assert_contains (msg, "checkBeforeUpdate");
  assert_contains (msg, "memory.current");
  tree_assert_file (t, "memory.max", "max\n");
  tree_assert_file (t, "memory.swap.max", "max"); /* written then restored */

  tree_put (t, "memory.current", "1048576\n");
  apply_ok (t, &p, &r);
  tree_assert_file (t, "memory.max", "52428800");
  tree_assert_file (t, "memory.swap.max", "0");
  cg_apply_result_free (&r);

  /* Without the flag a limit below usage is the kernel's business. */
  tree_put (t, "memory.max", "max\n");
  tree_put (t, "memory.current", "104857600\n");
  p.effective.check_before_update.value = false;
  apply_ok (t, &p, &r);
  tree_assert_file (t, "memory.max", "52428800");
  cg_apply_result_free (&r);
  plan_free (&p);
}

static void
test_v2_text_values (void **state)
{
  static const char *const steps[][3] = {
    { "linux.resources.memory.limit", "memory.max", "max" },
    { "linux.resources.unified.memory.oom.group", "memory.oom.group", "1" },
  };
  struct tree *t = *state;
  struct cg_apply_result r;
  struct plan p;

  tree_put (t, "memory.max", "max\n");
  tree_put (t, "memory.oom.group", "0\n");
  plan_of (&p, CG_V2, 2, steps);
  apply_ok (t, &p, &r);
  assert_false (r.steps[0].written);
  assert_true (r.steps[1].written);
  assert_string_equal (r.steps[0].before, "max");
  tree_assert_file (t, "memory.max", "max\n");
  tree_assert_file (t, "memory.oom.group", "1");
  cg_apply_result_free (&r);
  plan_free (&p);
}

static void
test_empty_plan (void **state)
{
  struct tree *t = *state;
  struct cg_apply_result r;
  struct plan p = { .version = CG_V1 };

  apply_ok (t, &p, &r);
  assert_int_equal (r.n, 0);
  cleanup_json struct json *c = cg_apply_corrections_to_json (&r);
  assert_non_null (c);
  assert_int_equal (c->u.array.len, 0);
  cg_apply_result_free (&r);
}

static void
test_read_current (void **state)
{
  struct tree *t = *state;
  struct plan_current c;
  mh_error_t err = NULL;

  tree_put (t, "memory.limit_in_bytes", "67108864\n");
  assert_int_equal (cg_read_current (t->fd, CG_V1, &c, &err), 0);
  assert_true (c.known);
  assert_int_equal (c.limit, 67108864);
  assert_int_equal (c.memsw, -1); /* no memsw file: no swap accounting */
  tree_put (t, "memory.memsw.limit_in_bytes", "134217728\n");
  assert_int_equal (cg_read_current (t->fd, CG_V1, &c, &err), 0);
  assert_int_equal (c.memsw, 134217728);

  tree_put (t, "memory.max", "104857600\n");
  tree_put (t, "memory.swap.max", "52428800\n");
  assert_int_equal (cg_read_current (t->fd, CG_V2, &c, &err), 0);
  assert_int_equal (c.limit, 104857600);
  assert_int_equal (c.memsw, 157286400);
  tree_put (t, "memory.swap.max", "max\n");
  assert_int_equal (cg_read_current (t->fd, CG_V2, &c, &err), 0);
  assert_int_equal (c.memsw, -1);
  tree_put (t, "memory.max", "max\n");
  tree_put (t, "memory.swap.max", "0\n");
  assert_int_equal (cg_read_current (t->fd, CG_V2, &c, &err), 0);
  assert_int_equal (c.limit, -1);
  assert_int_equal (c.memsw, -1);

  assert_int_equal (unlinkat (t->fd, "memory.limit_in_bytes", 0), 0);
  assert_int_equal (cg_read_current (t->fd, CG_V1, &c, &err), -1);
  assert_non_null (strstr (err->msg, "memory.limit_in_bytes"));
  mh_error_free (&err);
}

static void
test_value_matches (void **state)
{
  (void) state;
  assert_true (cg_value_matches ("memory.limit_in_bytes", "67108865", "67108864\n", 4096));
  assert_false (cg_value_matches ("memory.limit_in_bytes", "67108865", "67112960\n", 4096));
  assert_true (cg_value_matches ("memory.limit_in_bytes", "-1", UNLIMITED_V1, 4096));
  assert_true (cg_value_matches ("memory.max", "max", "max\n", 4096));
  assert_true (cg_value_matches ("memory.max", "-1", "max\n", 4096));
  assert_true (cg_value_matches ("memory.low", "1000", "0\n", 4096));
  /* Not a size: no rounding. */
  assert_false (cg_value_matches ("memory.swappiness", "4097", "4096\n", 4096));
  assert_true (cg_value_matches ("memory.oom_control", "1", "oom_kill_disable 1\nunder_oom 0\n", 4096));
  assert_false (cg_value_matches ("memory.oom_control", "1", "oom_kill_disable 0\nunder_oom 0\n", 4096));
  assert_true (cg_value_matches ("memory.oom.group", "1", "1\n", 4096));
  assert_false (cg_value_matches ("memory.foo", "abc", "abd\n", 4096));
  assert_true (cg_value_matches ("memory.foo", "abc", "abc\n", 4096));
}

/* Without CAP_DAC_OVERRIDE root honours a 0444 file like anyone else. */
static void
drop_dac_override (void)
{
  cap_value_t caps[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER };
  cap_t c = cap_get_proc ();

  if (c == NULL)
    return;
  cap_set_flag (c, CAP_EFFECTIVE, 3, caps, CAP_CLEAR);
  cap_set_proc (c);
  cap_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_skip_when_equal, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_write_and_corrections, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_oom_control_already_set, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_undo, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_restore_on_failure, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_verify_mismatch_restores, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_missing_memsw, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_missing_file, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_check_before_update_v2, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v2_text_values, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_empty_plan, setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_read_current, setup, tree_teardown),
    cmocka_unit_test (test_value_matches),
  };
  drop_dac_override ();
  return cmocka_run_group_tests (tests, NULL, NULL);
}
