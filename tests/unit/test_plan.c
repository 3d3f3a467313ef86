/* The plan: the OCI → cgroup translation table on v1 and v2, runc's rules
 * in order, operator policy, the v1 write order, and the JSON forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "plan.h"

#define MiB (1LL << 20)
#define GiB (1LL << 30)
#define LIMIT "linux.resources.memory.limit"
#define SWAP "linux.resources.memory.swap"
#define RESERVATION "linux.resources.memory.reservation"

static struct opt_i64
i64 (int64_t v)
{
  return (struct opt_i64){ .present = true, .value = v };
}

static struct oci_config
config_mem (struct oci_memory m)
{
  struct oci_config c = { .has_memory = true, .memory = m };
  return c;
}

static struct plan_input
input (const struct oci_config *c, enum cg_version v)
{
  struct plan_input in = { .config = c, .version = v, .unsupported = UNSUPPORTED_WARN };
  return in;
}

static void
build (const struct plan_input *in, struct plan *p)
{
  mh_error_t err = NULL;

  if (plan_build (in, p, &err) < 0)
    fail_msg ("plan_build: %s", err->msg);
}

static void
build_mem_kernel (enum cg_version v, unsigned kernel, struct oci_memory m, struct plan *p)
{
  struct oci_config c = config_mem (m);
  struct plan_input in = input (&c, v);
  in.kernel = kernel;
  build (&in, p);
}

static void
build_mem (enum cg_version v, struct oci_memory m, struct plan *p)
{
  build_mem_kernel (v, 0, m, p);
}

/* The value planned for a file; NULL when no step writes it. */
static const char *
value_of (const struct plan *p, const char *file)
{
  for (size_t i = 0; i < p->n_steps; i++)
    if (strcmp (p->steps[i].file, file) == 0)
      return p->steps[i].value;
  return NULL;
}

static ssize_t
index_of (const struct plan *p, const char *file)
{
  for (size_t i = 0; i < p->n_steps; i++)
    if (strcmp (p->steps[i].file, file) == 0)
      return (ssize_t) i;
  return -1;
}

static bool
notes_have (const struct plan_note *n, size_t len, const char *field, const char *substring)
{
  for (size_t i = 0; i < len; i++)
    if ((field == NULL || strcmp (n[i].field, field) == 0) && strstr (n[i].message, substring) != NULL)
      return true;
  return false;
}

#define assert_value(p, file, expect) assert_string_equal (value_of ((p), (file)) ?: "(no step)", (expect))
#define assert_no_step(p, file) assert_null (value_of ((p), (file)))
#define assert_warning(p, field, s) assert_true (notes_have ((p)->warnings, (p)->n_warnings, (field), (s)))
#define assert_error(p, field, s) assert_true (notes_have ((p)->errors, (p)->n_errors, (field), (s)))

/* ---- v1 table ---- */

static void
test_v1_limit (void **state)
{
  struct plan p;
  (void) state;

  build_mem (CG_V1, (struct oci_memory){ 0 }, &p); /* absent */
  assert_int_equal (p.n_steps, 0);
  assert_int_equal (p.n_warnings, 0);
  assert_int_equal (p.n_errors, 0);
  assert_null (plan_first_error (&p));
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (0) }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_warning (&p, LIMIT, "0 means not set (runc's rule); omit the field or give a size");
  assert_false (p.effective.limit.present);
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB) }, &p);
  assert_int_equal (p.n_steps, 1);
  assert_value (&p, "memory.limit_in_bytes", "67108864");
  assert_string_equal (p.steps[0].field, LIMIT);
  assert_int_equal (p.n_warnings, 0);
  plan_free (&p);

  /* -1 and no swap: memory+swap unlimited too (rule 1) */
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (-1) }, &p);
  assert_int_equal (p.n_steps, 2);
  assert_value (&p, "memory.limit_in_bytes", "-1");
  assert_value (&p, "memory.memsw.limit_in_bytes", "-1");
  plan_free (&p);
}

static void
test_v1_swap (void **state)
{
  struct plan p;
  (void) state;

  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (128 * MiB) }, &p);
  assert_int_equal (p.n_steps, 2);
  assert_value (&p, "memory.memsw.limit_in_bytes", "134217728"); /* memory+swap as is */
  assert_string_equal (p.steps[index_of (&p, "memory.memsw.limit_in_bytes")].field, SWAP);
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (-1) }, &p);
  assert_value (&p, "memory.memsw.limit_in_bytes", "-1");
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (64 * MiB) }, &p);
  assert_value (&p, "memory.memsw.limit_in_bytes", "67108864"); /* swap = limit: no swap */
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (0) }, &p);
  assert_int_equal (p.n_steps, 1);
  assert_no_step (&p, "memory.memsw.limit_in_bytes");
  assert_warning (&p, SWAP, "0 means not set");
  plan_free (&p);

  /* v1's kernel refuses an unlimited limit above a finite memory+swap */
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (-1), .swap = i64 (256 * MiB) }, &p);
  assert_int_equal (p.n_errors, 1);
  assert_error (&p, SWAP, "256 MiB is below the unlimited memory limit; cgroup v1 needs memory+swap >= limit; "
                          "set swap to -1, or set a limit");
  assert_int_equal (p.n_steps, 0);
  plan_free (&p);
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (-1), .swap = i64 (-1) }, &p);
  assert_value (&p, "memory.memsw.limit_in_bytes", "-1");
  assert_value (&p, "memory.limit_in_bytes", "-1");
  plan_free (&p);
}

static void
test_v1_other_fields (void **state)
{
  struct plan p;
  (void) state;

  build_mem (CG_V1, (struct oci_memory){ .reservation = i64 (32 * MiB) }, &p);
  assert_int_equal (p.n_steps, 1);
  assert_value (&p, "memory.soft_limit_in_bytes", "33554432");
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .reservation = i64 (-1) }, &p);
  assert_value (&p, "memory.soft_limit_in_bytes", "-1");
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .reservation = i64 (0) }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_warning (&p, RESERVATION, "0 means not set");
  plan_free (&p);

  for (uint64_t sw = 0; sw <= 100; sw += 50)
    {
      char expect[8];
      snprintf (expect, sizeof expect, "%llu", (unsigned long long) sw);
      build_mem (CG_V1, (struct oci_memory){ .swappiness = { true, sw } }, &p);
      assert_value (&p, "memory.swappiness", expect); /* 0 is a value here */
      plan_free (&p);
    }

  build_mem (CG_V1, (struct oci_memory){ .disable_oom_killer = { true, true } }, &p);
  assert_value (&p, "memory.oom_control", "1");
  plan_free (&p);
  build_mem (CG_V1, (struct oci_memory){ .disable_oom_killer = { true, false } }, &p);
  assert_int_equal (p.n_steps, 0);
  plan_free (&p);

  /* kmem limits: written on kernels that enforce them, unsupported since 5.16 */
  build_mem_kernel (CG_V1, KERNEL_VERSION_CODE (5, 15), (struct oci_memory){ .kernel = i64 (16 * MiB), .kernel_tcp = i64 (-1) }, &p);
  assert_value (&p, "memory.kmem.limit_in_bytes", "16777216");
  assert_value (&p, "memory.kmem.tcp.limit_in_bytes", "-1");
  plan_free (&p);
  build_mem_kernel (CG_V1, KERNEL_VERSION_CODE (6, 1), (struct oci_memory){ .kernel = i64 (16 * MiB), .kernel_tcp = i64 (-1) }, &p);
  assert_null (value_of (&p, "memory.kmem.limit_in_bytes"));
  assert_value (&p, "memory.kmem.tcp.limit_in_bytes", "-1");
  assert_warning (&p, "linux.resources.memory.kernel", "no longer enforce");
  assert_false (p.effective.kernel.present);
  plan_free (&p);
  build_mem (CG_V1, (struct oci_memory){ .kernel = i64 (0), .kernel_tcp = i64 (0) }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_warning (&p, "linux.resources.memory.kernel", "0 means not set");
  assert_warning (&p, "linux.resources.memory.kernelTCP", "0 means not set");
  plan_free (&p);

  build_mem_kernel (CG_V1, KERNEL_VERSION_CODE (4, 18), (struct oci_memory){ .use_hierarchy = { true, true } }, &p);
  assert_value (&p, "memory.use_hierarchy", "1");
  plan_free (&p);
  build_mem_kernel (CG_V1, KERNEL_VERSION_CODE (4, 18), (struct oci_memory){ .use_hierarchy = { true, false } }, &p);
  assert_value (&p, "memory.use_hierarchy", "0");
  plan_free (&p);
  /* always hierarchical since 5.11: 0 is refused by the kernel, 1 is a no-op */
  build_mem (CG_V1, (struct oci_memory){ .use_hierarchy = { true, false } }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_warning (&p, "linux.resources.memory.useHierarchy", "always hierarchical");
  plan_free (&p);
  build_mem (CG_V1, (struct oci_memory){ .use_hierarchy = { true, true } }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_int_equal (p.n_warnings, 0);
  plan_free (&p);

  build_mem (CG_V1, (struct oci_memory){ .check_before_update = { true, true } }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_int_equal (p.n_notes, 1);
  assert_string_equal (p.notes[0].field, "linux.resources.memory.checkBeforeUpdate");
  assert_true (p.effective.check_before_update.value);
  plan_free (&p);
}

static void
test_v1_unified (void **state)
{
  struct oci_kv kv[] = { { "memory.high", "50000000" }, { "pids.max", "10" } };
  struct oci_config c = { .unified = { 2, kv } };
  struct plan_input in = input (&c, CG_V1);
  struct plan p;
  (void) state;

  build (&in, &p);
  assert_int_equal (p.n_steps, 0);
  assert_int_equal (p.n_errors, 0);
  assert_int_equal (p.n_warnings, 2); /* runc refuses any unified key on v1 */
  assert_warning (&p, "linux.resources.unified.memory.high", "needs cgroup v2");
  assert_warning (&p, "linux.resources.unified.pids.max", "dropped");
  plan_free (&p);

  in.unsupported = UNSUPPORTED_ERROR;
  build (&in, &p);
  assert_int_equal (p.n_errors, 2);
  assert_error (&p, "linux.resources.unified.memory.high", "--unsupported=warn");
  assert_string_equal (plan_first_error (&p),
                       "linux.resources.unified.memory.high: needs cgroup v2 (runc refuses linux.resources.unified "
                       "on v1); this host's memory controller is on v1; remove the field, or let memhook drop it with "
                       "--unsupported=warn");
  plan_free (&p);

  in.unsupported = UNSUPPORTED_IGNORE;
  build (&in, &p);
  assert_int_equal (p.n_errors + p.n_warnings + p.n_steps, 0);
  plan_free (&p);
}

/* ---- v2 table ---- */

static void
test_v2_limit_and_swap (void **state)
{
  struct plan p;
  (void) state;

  build_mem (CG_V2, (struct oci_memory){ 0 }, &p);
  assert_int_equal (p.n_steps, 0);
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (0) }, &p);
  assert_int_equal (p.n_steps, 0);
  assert_warning (&p, LIMIT, "0 means not set");
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (64 * MiB) }, &p);
  assert_int_equal (p.n_steps, 1);
  assert_value (&p, "memory.max", "67108864");
  assert_no_step (&p, "memory.swap.max"); /* rule 2: swap unset → left alone */
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (-1) }, &p);
  assert_value (&p, "memory.max", "max");
  assert_value (&p, "memory.swap.max", "max"); /* rule 1 */
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (96 * MiB) }, &p);
  assert_value (&p, "memory.swap.max", "33554432"); /* rule 7: swap − limit */
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (64 * MiB) }, &p);
  assert_value (&p, "memory.swap.max", "0"); /* 0 disables swap */
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (-1) }, &p);
  assert_value (&p, "memory.swap.max", "max"); /* rule 2 */
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (-1), .swap = i64 (GiB) }, &p);
  assert_value (&p, "memory.swap.max", "1073741824"); /* rule 3: passed as is */
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (-1), .swap = i64 (-1) }, &p);
  assert_value (&p, "memory.swap.max", "max");
  plan_free (&p);

  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (0) }, &p);
  assert_no_step (&p, "memory.swap.max");
  assert_warning (&p, SWAP, "0 means not set");
  plan_free (&p);
}

static void
test_v2_reservation (void **state)
{
  struct plan p;
  (void) state;

  build_mem (CG_V2, (struct oci_memory){ .reservation = i64 (32 * MiB) }, &p);
  assert_value (&p, "memory.low", "33554432");
  plan_free (&p);
  build_mem (CG_V2, (struct oci_memory){ .reservation = i64 (-1) }, &p);
  assert_value (&p, "memory.low", "max");
  plan_free (&p);
  build_mem (CG_V2, (struct oci_memory){ .reservation = i64 (0) }, &p);
  assert_no_step (&p, "memory.low");
  plan_free (&p);
}

/* The v1-only fields under each --unsupported mode. */
static void
test_v2_unsupported (void **state)
{
  struct oci_memory m = { .limit = i64 (64 * MiB), .swappiness = { true, 10 }, .disable_oom_killer = { true, true },
                          .kernel = i64 (MiB), .kernel_tcp = i64 (MiB), .use_hierarchy = { true, false } };
  static const char *fields[] = { "linux.resources.memory.swappiness", "linux.resources.memory.disableOOMKiller",
                                  "linux.resources.memory.kernel", "linux.resources.memory.kernelTCP",
                                  "linux.resources.memory.useHierarchy" };
  struct oci_config c = config_mem (m);
  struct plan_input in = input (&c, CG_V2);
  struct plan p;
  (void) state;

  in.unsupported = UNSUPPORTED_ERROR;
  build (&in, &p);
  assert_int_equal (p.n_errors, 5);
  for (size_t i = 0; i < 5; i++)
    {
      assert_string_equal (p.errors[i].field, fields[i]); /* in field order */
      assert_non_null (strstr (p.errors[i].message, "; remove the field"));
    }
  assert_int_equal (p.n_steps, 0); /* a plan with errors has no steps */
  plan_free (&p);

  in.unsupported = UNSUPPORTED_WARN;
  build (&in, &p);
  assert_int_equal (p.n_errors, 0);
  assert_int_equal (p.n_warnings, 5);
  for (size_t i = 0; i < 5; i++)
    assert_string_equal (p.warnings[i].field, fields[i]);
  assert_warning (&p, "linux.resources.memory.swappiness", "cgroup v2 has no per-cgroup swappiness; dropped");
  assert_int_equal (p.n_steps, 1);
  assert_value (&p, "memory.max", "67108864");
  assert_false (p.effective.swappiness.present);
  assert_false (p.effective.disable_oom_killer.present);
  assert_false (p.effective.kernel.present);
  assert_false (p.effective.kernel_tcp.present);
  assert_false (p.effective.use_hierarchy.present);
  assert_true (p.effective.limit.present);
  plan_free (&p);

  in.unsupported = UNSUPPORTED_IGNORE;
  build (&in, &p);
  assert_int_equal (p.n_errors + p.n_warnings, 0);
  assert_int_equal (p.n_steps, 1);
  assert_false (p.effective.swappiness.present);
  plan_free (&p);

  /* honoured or harmless values are no warning: hierarchy true, OOM killer kept */
  build_mem (CG_V2, (struct oci_memory){ .use_hierarchy = { true, true }, .disable_oom_killer = { true, false } }, &p);
  assert_int_equal (p.n_warnings + p.n_errors + p.n_steps, 0);
  assert_true (notes_have (p.notes, p.n_notes, "linux.resources.memory.useHierarchy", "always hierarchical"));
  plan_free (&p);
}

static void
test_v2_unified (void **state)
{
  struct oci_kv kv[] = { { "memory.high", "50000000" }, { "cpu.weight", "100" }, { "memory.oom.group", "1" } };
  struct oci_config c = { .unified = { 3, kv } };
  struct plan_input in = input (&c, CG_V2);
  struct plan p;
  (void) state;

  build (&in, &p);
  assert_int_equal (p.n_errors, 0);
  assert_int_equal (p.n_steps, 2); /* cpu.weight: the runtime's business */
  assert_value (&p, "memory.high", "50000000");
  assert_value (&p, "memory.oom.group", "1");
  assert_string_equal (p.steps[0].field, "linux.resources.unified.memory.high");
  plan_free (&p);
}

static void
test_unified_names (void **state)
{
  static const char *bad[] = { "", "memory", "../memory.max", "memory.max/../x", "memory..max", "/memory.max",
                               ".max", "memory.", "Memory.max", "memory.m ax", "memory.max\n", "me-mory.max" };
  static const char *good[] = { "memory.high", "memory.swap.max", "io.weight", "hugetlb.2MB.max", "cpu.uclamp.min",
                                "memory.zswap.max", "rdma.max", "misc_x.a-b" };
  struct plan p;
  (void) state;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    for (int v = 1; v <= 2; v++)
      {
        struct oci_kv kv = { (char *) bad[i], "1" };
        struct oci_config c = { .unified = { 1, &kv } };
        struct plan_input in = input (&c, v);
        build (&in, &p);
        if (p.n_errors != 1)
          fail_msg ("key \"%s\" on v%d: %zu errors", bad[i], v, p.n_errors);
        assert_error (&p, "linux.resources.unified", "is not a cgroup file name; use a name like memory.high");
        assert_int_equal (p.n_steps, 0);
        plan_free (&p);
      }
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      struct oci_kv kv = { (char *) good[i], "1" };
      struct oci_config c = { .unified = { 1, &kv } };
      struct plan_input in = input (&c, CG_V2);
      build (&in, &p);
      if (p.n_errors != 0)
        fail_msg ("key \"%s\": %s", good[i], plan_first_error (&p));
      plan_free (&p);
    }

  /* one file, two values */
  struct oci_kv twice[] = { { "memory.max", "max" }, { "memory.max", "1" } };
  struct oci_config ct = { .unified = { 2, twice } };
  struct plan_input it = input (&ct, CG_V2);
  build (&it, &p);
  assert_int_equal (p.n_errors, 1);
  assert_error (&p, "linux.resources.unified", "key \"memory.max\" is given twice; give it once");
  plan_free (&p);

  /* a memory value with a newline would be two writes */
  struct oci_kv nl = { "memory.high", "1\nmax" };
  struct oci_config c = { .unified = { 1, &nl } };
  struct plan_input in = input (&c, CG_V2);
  build (&in, &p);
  assert_error (&p, "linux.resources.unified", "control character");
  plan_free (&p);
}

static void
test_unified_conflicts (void **state)
{
  struct oci_kv kv[] = { { "memory.max", "100000000" }, { "memory.swap.max", "0" }, { "memory.low", "1" } };
  struct oci_config c = config_mem ((struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (128 * MiB),
                                                         .reservation = i64 (MiB) });
  struct plan_input in = input (&c, CG_V2);
  struct plan p;
  (void) state;

  c.unified = (struct oci_kv_list){ 3, kv };
  build (&in, &p);
  assert_int_equal (p.n_errors, 3);
  assert_error (&p, "linux.resources.unified", "\"memory.max\" sets the same file as linux.resources.memory.limit");
  assert_error (&p, "linux.resources.unified", "\"memory.swap.max\" sets the same file as linux.resources.memory.swap");
  assert_error (&p, "linux.resources.unified", "\"memory.low\" sets the same file as " RESERVATION);
  plan_free (&p);

  /* unified memory.max alone is the limit for policy: no default, and --max-limit applies */
  struct oci_config c2 = { .unified = { 1, kv } };
  struct plan_input in2 = input (&c2, CG_V2);
  in2.has_default_limit = true;
  in2.default_limit = 32 * MiB;
  build (&in2, &p);
  assert_int_equal (p.n_errors, 0);
  assert_int_equal (p.n_policy, 0);
  assert_value (&p, "memory.max", "100000000");
  plan_free (&p);

  in2.has_max_limit = true;
  in2.max_limit = 64 * MiB;
  build (&in2, &p);
  assert_error (&p, "linux.resources.unified.memory.max", "is above --max-limit 64 MiB");
  plan_free (&p);

  struct oci_kv notnum = { "memory.max", "64m" };
  c2.unified = (struct oci_kv_list){ 1, &notnum };
  build (&in2, &p);
  assert_error (&p, "linux.resources.unified", "\"memory.max\": \"64m\" is not a number of bytes; give bytes or max");
  plan_free (&p);
}

/* ---- runc's rules, in order ---- */

static void
test_swap_below_limit_message (void **state)
{
  struct plan p;
  (void) state;

  for (int v = 1; v <= 2; v++)
    {
      build_mem (v, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (32 * MiB) }, &p);
      assert_int_equal (p.n_errors, 1);
      assert_string_equal (plan_first_error (&p),
                           "linux.resources.memory.swap: 32 MiB is below the memory limit 64 MiB (swap counts "
                           "memory+swap); set swap >= limit or -1");
      assert_int_equal (p.n_steps, 0);
      plan_free (&p);
    }
}

static void
test_rules_in_order (void **state)
{
  struct plan p;
  (void) state;

  /* swap without limit (rule 4), also with limit 0 */
  build_mem (CG_V1, (struct oci_memory){ .swap = i64 (128 * MiB) }, &p);
  assert_int_equal (p.n_errors, 1);
  assert_error (&p, SWAP, "set without a memory limit");
  assert_error (&p, SWAP, "; set limit too, or remove swap");
  plan_free (&p);
  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (0), .swap = i64 (128 * MiB) }, &p);
  assert_int_equal (p.n_errors, 1);
  assert_error (&p, SWAP, "set without a memory limit");
  plan_free (&p);

  /* every error, in rule order */
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (-2), .swap = i64 (-7), .reservation = i64 (-3),
                                         .kernel = i64 (-4), .kernel_tcp = i64 (-5), .swappiness = { true, 101 } },
             &p);
  assert_int_equal (p.n_errors, 6);
  assert_string_equal (p.errors[0].field, LIMIT);
  assert_string_equal (p.errors[0].message, "-2 is not a valid memory value; give bytes above 0, or -1 for unlimited");
  assert_string_equal (p.errors[1].field, SWAP);
  assert_string_equal (p.errors[2].field, RESERVATION);
  assert_string_equal (p.errors[3].field, "linux.resources.memory.kernel");
  assert_string_equal (p.errors[4].field, "linux.resources.memory.kernelTCP");
  assert_string_equal (p.errors[5].field, "linux.resources.memory.swappiness");
  assert_string_equal (p.errors[5].message, "101 is above 100; give 0..100");
  assert_string_equal (plan_first_error (&p),
                       LIMIT ": -2 is not a valid memory value; give bytes above 0, or -1 for unlimited");
  assert_int_equal (p.n_steps, 0);
  plan_free (&p);

  /* swap below limit, then reservation above limit: both reported, in rule order */
  build_mem (CG_V2, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (MiB), .reservation = i64 (128 * MiB) },
             &p);
  assert_int_equal (p.n_errors, 2);
  assert_string_equal (p.errors[0].field, SWAP);
  assert_string_equal (p.errors[1].field, RESERVATION);
  assert_string_equal (p.errors[1].message, "128 MiB is above the memory limit 64 MiB; set reservation <= limit");
  plan_free (&p);

  /* reservation vs limit: equal fine, -1 either side fine */
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB), .reservation = i64 (64 * MiB) }, &p);
  assert_int_equal (p.n_errors, 0);
  plan_free (&p);
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (-1), .reservation = i64 (GiB) }, &p);
  assert_int_equal (p.n_errors, 0);
  plan_free (&p);
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (64 * MiB), .reservation = i64 (-1) }, &p);
  assert_int_equal (p.n_errors, 0);
  plan_free (&p);

  /* the message format of every error: "<what is wrong>; <what to do>" */
  build_mem (CG_V1, (struct oci_memory){ .limit = i64 (INT64_MIN), .swap = i64 (INT64_MIN) }, &p);
  for (size_t i = 0; i < p.n_errors; i++)
    assert_non_null (strstr (p.errors[i].message, "; "));
  plan_free (&p);
}

/* ---- operator policy ---- */

static void
test_default_limit (void **state)
{
  struct oci_config c = config_mem ((struct oci_memory){ 0 });
  struct plan_input in = input (&c, CG_V1);
  struct plan p;
  (void) state;

  in.has_default_limit = true;
  in.default_limit = 64 * MiB;

  for (int v = 1; v <= 2; v++)
    {
      in.version = v;
      build (&in, &p); /* absent */
      assert_int_equal (p.n_steps, 1); /* a defaulted limit gets no swap step */
      assert_value (&p, v == 1 ? "memory.limit_in_bytes" : "memory.max", "67108864");
      assert_true (p.limit_from_policy);
      assert_true (p.effective.limit.present);
      assert_int_equal (p.effective.limit.value, 64 * MiB);
      assert_false (p.effective.swap.present);
      assert_int_equal (p.n_policy, 1);
      assert_string_equal (p.policy[0].field, LIMIT);
      assert_string_equal (p.policy[0].option, "--default-limit");
      assert_string_equal (p.policy[0].message, "set to 64 MiB (no limit was set)");
      plan_free (&p);
    }

  /* present 0: not set, so defaulted, with the warning */
  c.memory.limit = i64 (0);
  in.version = CG_V2;
  build (&in, &p);
  assert_value (&p, "memory.max", "67108864");
  assert_warning (&p, LIMIT, "0 means not set");
  assert_int_equal (p.n_policy, 1);
  plan_free (&p);

  /* -1 is an explicit choice: no default */
  c.memory.limit = i64 (-1);
  build (&in, &p);
  assert_value (&p, "memory.max", "max");
  assert_int_equal (p.n_policy, 0);
  assert_false (p.limit_from_policy);
  plan_free (&p);

  /* a set limit stays */
  c.memory.limit = i64 (GiB);
  build (&in, &p);
  assert_value (&p, "memory.max", "1073741824");
  assert_int_equal (p.n_policy, 0);
  plan_free (&p);

  /* no config at all (no linux.resources.memory) */
  struct plan_input bare = in;
  bare.config = NULL;
  build (&bare, &p);
  assert_value (&p, "memory.max", "67108864");
  plan_free (&p);

  /* a reservation above the defaulted limit */
  c.memory = (struct oci_memory){ .reservation = i64 (128 * MiB) };
  build (&in, &p);
  assert_error (&p, RESERVATION, "above the memory limit 64 MiB (from operator policy)");
  plan_free (&p);

  /* swap without limit stays an error: the config must be valid on its own */
  c.memory = (struct oci_memory){ .swap = i64 (128 * MiB) };
  build (&in, &p);
  assert_error (&p, SWAP, "set without a memory limit");
  plan_free (&p);
}

static void
test_max_limit (void **state)
{
  struct oci_config c = config_mem ((struct oci_memory){ .limit = i64 (2 * GiB) });
  struct plan_input in = input (&c, CG_V2);
  struct plan p;
  (void) state;

  in.has_max_limit = true;
  in.max_limit = GiB;
  build (&in, &p);
  assert_int_equal (p.n_errors, 1);
  assert_string_equal (plan_first_error (&p),
                       LIMIT ": 2 GiB is above --max-limit 1 GiB (operator policy); set a limit at or below 1 GiB");
  assert_int_equal (p.n_steps, 0);
  plan_free (&p);

  c.memory.limit = i64 (-1);
  build (&in, &p);
  assert_string_equal (plan_first_error (&p), LIMIT ": unlimited (-1) is above --max-limit 1 GiB (operator policy); "
                                              "set a limit at or below 1 GiB");
  plan_free (&p);

  c.memory.limit = i64 (GiB); /* equal: fine */
  build (&in, &p);
  assert_int_equal (p.n_errors, 0);
  assert_value (&p, "memory.max", "1073741824");
  plan_free (&p);

  /* no limit and no default: capped at the maximum, recorded */
  c.memory.limit = (struct opt_i64){ 0 };
  build (&in, &p);
  assert_int_equal (p.n_errors, 0);
  assert_value (&p, "memory.max", "1073741824");
  assert_int_equal (p.n_policy, 1);
  assert_string_equal (p.policy[0].option, "--max-limit");
  assert_true (p.limit_from_policy);
  plan_free (&p);

  /* default and max together: the default when at or below the max */
  in.has_default_limit = true;
  in.default_limit = 256 * MiB;
  build (&in, &p);
  assert_value (&p, "memory.max", "268435456");
  assert_string_equal (p.policy[0].option, "--default-limit");
  plan_free (&p);

  in.default_limit = 2 * GiB; /* conflict */
  build (&in, &p);
  assert_int_equal (p.n_errors, 1);
  assert_error (&p, LIMIT, "the default 2 GiB (--default-limit) is above --max-limit 1 GiB; lower --default-limit or "
                           "raise --max-limit");
  assert_int_equal (p.n_steps, 0);
  plan_free (&p);
}

/* ---- v1 order ---- */

/* Replays the steps against (limit, memsw), checking the kernel's rule at
 * every intermediate state. */
static void
simulate_v1 (const struct plan *p, int64_t limit, int64_t memsw)
{
  for (size_t i = 0; i < p->n_steps; i++)
    {
      int64_t v = strtoll (p->steps[i].value, NULL, 10);
      if (strcmp (p->steps[i].file, "memory.limit_in_bytes") == 0)
        limit = v;
      else if (strcmp (p->steps[i].file, "memory.memsw.limit_in_bytes") == 0)
        memsw = v;
      else
        continue;
      if (memsw != -1 && (limit == -1 || limit > memsw))
        fail_msg ("after step %zu (%s=%s): limit %lld > memsw %lld", i, p->steps[i].file, p->steps[i].value,
                  (long long) limit, (long long) memsw);
    }
}

static void
order_case (int64_t l0, int64_t s0, struct oci_memory m, const char *first_file, const char *why_part)
{
  struct oci_config c = config_mem (m);
  struct plan_input in = input (&c, CG_V1);
  struct plan p;

  in.current = (struct plan_current){ .known = true, .limit = l0, .memsw = s0 };
  build (&in, &p);
  assert_int_equal (p.n_errors, 0);
  assert_true (p.n_steps >= 1);
  assert_string_equal (p.steps[0].file, first_file);
  if (why_part != NULL)
    {
      assert_non_null (p.steps[0].why);
      if (strstr (p.steps[0].why, why_part) == NULL)
        fail_msg ("why \"%s\" lacks \"%s\"", p.steps[0].why, why_part);
    }
  simulate_v1 (&p, l0, s0);
  plan_free (&p);
}

static void
test_v1_order (void **state)
{
  const char *L = "memory.limit_in_bytes", *S = "memory.memsw.limit_in_bytes";
  (void) state;

  /* raising: memsw first */
  order_case (64 * MiB, 64 * MiB, (struct oci_memory){ .limit = i64 (128 * MiB), .swap = i64 (256 * MiB) }, S,
              "raise: memsw before limit");
  /* lowering: limit first */
  order_case (256 * MiB, 512 * MiB, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (128 * MiB) }, L,
              "lower: limit before memsw");
  /* mixed: limit down, memsw up */
  order_case (128 * MiB, 256 * MiB, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (512 * MiB) }, L,
              "limit down, memsw up");
  /* mixed: limit up, memsw down — only limit first is safe here */
  order_case (64 * MiB, 512 * MiB, (struct oci_memory){ .limit = i64 (256 * MiB), .swap = i64 (300 * MiB) }, L,
              "limit up, memsw down: limit before memsw");
  /* mixed where only memsw first is safe: limit up past the current memsw */
  order_case (64 * MiB, 128 * MiB, (struct oci_memory){ .limit = i64 (256 * MiB), .swap = i64 (512 * MiB) }, S,
              "raise");
  /* to unlimited from limited: memsw first */
  order_case (64 * MiB, 64 * MiB, (struct oci_memory){ .limit = i64 (-1) }, S, "raise");
  /* from unlimited to limited: limit first */
  order_case (-1, -1, (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (128 * MiB) }, L, "lower");
  /* both to unlimited from limited: memsw first */
  order_case (64 * MiB, 128 * MiB, (struct oci_memory){ .limit = i64 (-1), .swap = i64 (-1) }, S, "raise");
  /* unknown current = kernel defaults (unlimited): limit first */
  struct oci_config c = config_mem ((struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (128 * MiB) });
  struct plan_input in = input (&c, CG_V1);
  struct plan p;
  build (&in, &p);
  assert_string_equal (p.steps[0].file, L);
  assert_string_equal (p.steps[1].file, S);
  assert_string_equal (p.steps[0].why, "lower: limit before memsw keeps limit <= memsw");
  plan_free (&p);
}

/* A limit without swap above the current memsw: memsw raised to the limit. */
static void
test_v1_limit_only_above_memsw (void **state)
{
  struct oci_config c = config_mem ((struct oci_memory){ .limit = i64 (256 * MiB) });
  struct plan_input in = input (&c, CG_V1);
  struct plan p;
  (void) state;

  in.current = (struct plan_current){ .known = true, .limit = 64 * MiB, .memsw = 128 * MiB };
  build (&in, &p);
  assert_int_equal (p.n_steps, 2);
  assert_string_equal (p.steps[0].file, "memory.memsw.limit_in_bytes");
  assert_string_equal (p.steps[0].value, "268435456");
  assert_string_equal (p.steps[1].file, "memory.limit_in_bytes");
  assert_warning (&p, SWAP, "memory+swap is 128 MiB, below the new limit 256 MiB; memory+swap raised to 256 MiB");
  simulate_v1 (&p, 64 * MiB, 128 * MiB);
  plan_free (&p);

  /* the same for a defaulted limit */
  c.memory = (struct oci_memory){ 0 };
  in.has_default_limit = true;
  in.default_limit = 256 * MiB;
  build (&in, &p);
  assert_int_equal (p.n_steps, 2);
  simulate_v1 (&p, 64 * MiB, 128 * MiB);
  plan_free (&p);

  /* memsw already unlimited or high enough: the limit alone */
  in.current.memsw = -1;
  build (&in, &p);
  assert_int_equal (p.n_steps, 1);
  assert_string_equal (p.steps[0].file, "memory.limit_in_bytes");
  plan_free (&p);
  in.current.memsw = 256 * MiB;
  build (&in, &p);
  assert_int_equal (p.n_steps, 1);
  plan_free (&p);
}

/* Every small combination of current and target keeps limit ≤ memsw. */
static void
test_v1_order_exhaustive (void **state)
{
  static const int64_t values[] = { -1, 1 * MiB, 2 * MiB, 3 * MiB, 4 * MiB };
  const size_t n = sizeof values / sizeof values[0];
  (void) state;

  for (size_t a = 0; a < n; a++)
    for (size_t b = 0; b < n; b++)
      for (size_t l = 0; l < n; l++)
        for (size_t s = 0; s <= n; s++)
          {
            int64_t l0 = values[a], s0 = values[b];
            struct oci_memory m = { .limit = i64 (values[l]) };
            struct oci_config c;
            struct plan_input in;
            struct plan p;

            if (s0 != -1 && (l0 == -1 || l0 > s0))
              continue; /* the kernel never shows limit > memsw */
            if (s < n)
              m.swap = i64 (values[s]);
            c = config_mem (m);
            in = input (&c, CG_V1);
            in.current = (struct plan_current){ true, l0, s0 };
            build (&in, &p);
            if (p.n_errors == 0)
              simulate_v1 (&p, l0, s0);
            else
              assert_int_equal (p.n_steps, 0);
            plan_free (&p);
          }
}

/* ---- misc ---- */

static void
test_bad_version (void **state)
{
  struct plan_input in = { .version = 3 };
  struct plan p;
  mh_error_t err = NULL;
  (void) state;

  assert_int_equal (plan_build (&in, &p, &err), -1);
  assert_non_null (err);
  mh_error_free (&err);
  plan_free (&p); /* safe on a zeroed plan */
  plan_free (NULL);
  assert_null (plan_first_error (NULL));
}

static char *
compact (struct json *j)
{
  char *s = NULL;
  size_t len;
  mh_error_t err = NULL;

  assert_non_null (j);
  assert_int_equal (json_serialize_compact (j, &s, &len, &err), 0);
  json_free (j);
  return s;
}

static void
test_json (void **state)
{
  struct oci_config c = config_mem ((struct oci_memory){ .limit = i64 (0), .swap = i64 (-1) });
  struct plan_input in = input (&c, CG_V2);
  struct plan p;
  char *s;
  (void) state;

  in.has_default_limit = true;
  in.default_limit = 64 * MiB;
  c.memory.limit = i64 (64 * MiB);
  build (&in, &p);
  s = compact (plan_steps_to_json (&p));
  assert_string_equal (s, "[{\"field\":\"linux.resources.memory.limit\",\"file\":\"memory.max\",\"value\":\"67108864\"},"
                          "{\"field\":\"linux.resources.memory.swap\",\"file\":\"memory.swap.max\",\"value\":\"max\"}]");
  free (s);
  plan_free (&p);

  c.memory = (struct oci_memory){ .limit = i64 (0), .swappiness = { true, 5 } };
  build (&in, &p);
  s = compact (plan_to_json (&p));
  assert_string_equal (
      s, "{\"version\":2,"
         "\"steps\":[{\"field\":\"linux.resources.memory.limit\",\"file\":\"memory.max\",\"value\":\"67108864\","
         "\"why\":\"operator policy\"}],"
         "\"warnings\":[{\"field\":\"linux.resources.memory.limit\",\"message\":\"0 means not set (runc's rule); omit "
         "the field or give a size\"},{\"field\":\"linux.resources.memory.swappiness\",\"message\":\"cgroup v2 has no "
         "per-cgroup swappiness; dropped (remove the field to silence this, or --unsupported=ignore)\"}],"
         "\"errors\":[],"
         "\"policy\":[{\"field\":\"linux.resources.memory.limit\",\"option\":\"--default-limit\",\"message\":\"set to "
         "64 MiB (no limit was set)\"}],"
         "\"notes\":[]}");
  free (s);
  plan_free (&p);

  c.memory = (struct oci_memory){ .limit = i64 (64 * MiB), .swap = i64 (MiB) };
  build (&in, &p);
  s = compact (plan_to_json (&p));
  assert_non_null (strstr (s, "\"steps\":[]"));
  assert_non_null (strstr (s, "\"errors\":[{\"field\":\"linux.resources.memory.swap\",\"message\":\"1 MiB is below"));
  free (s);
  plan_free (&p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_v1_limit),
    cmocka_unit_test (test_v1_swap),
    cmocka_unit_test (test_v1_other_fields),
    cmocka_unit_test (test_v1_unified),
    cmocka_unit_test (test_v2_limit_and_swap),
    cmocka_unit_test (test_v2_reservation),
    cmocka_unit_test (test_v2_unsupported),
    cmocka_unit_test (test_v2_unified),
    cmocka_unit_test (test_unified_names),
    cmocka_unit_test (test_unified_conflicts),
    cmocka_unit_test (test_swap_below_limit_message),
    cmocka_unit_test (test_rules_in_order),
    cmocka_unit_test (test_default_limit),
    cmocka_unit_test (test_max_limit),
    cmocka_unit_test (test_v1_order),
    cmocka_unit_test (test_v1_limit_only_above_memsw),
    cmocka_unit_test (test_v1_order_exhaustive),
    cmocka_unit_test (test_bad_version),
    cmocka_unit_test (test_json),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
