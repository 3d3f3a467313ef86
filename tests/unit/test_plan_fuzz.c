/* plan_build over random configs: never crashes, never leaks, and every
 * plan it hands out is safe to execute.
 *
 * Seeded and reproducible: MEMHOOK_FUZZ_SEED=<n> replays a run,
 * MEMHOOK_FUZZ_ITERATIONS=<n> changes its length (default 100000). */
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

/* splitmix64: tiny, good enough, identical everywhere */
static uint64_t
next (uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static uint64_t
below (uint64_t *s, uint64_t n)
{
  return next (s) % n;
}

/* Values that matter to the rules, plus plain random ones. */
static int64_t
random_bytes (uint64_t *s)
{
  static const int64_t special[] = { 0, -1, -2, INT64_MIN, INT64_MAX, 1, 4095, 4096, 6 * MiB, 64 * MiB, 128 * MiB,
                                     1LL << 30, (1LL << 30) + 1, INT64_MAX - 1 };
  switch (below (s, 4))
    {
    case 0:
      return special[below (s, sizeof special / sizeof special[0])];
    case 1:
      return (int64_t) next (s);
    default:
      return (int64_t) (below (s, 16) + 1) * 16 * MiB; /* collide often: equal, above, below */
    }
}

static struct opt_i64
random_i64 (uint64_t *s)
{
  struct opt_i64 o = { .present = below (s, 2) == 0 };
  if (o.present)
    o.value = random_bytes (s);
  return o;
}

static struct opt_bool
random_bool (uint64_t *s)
{
  return (struct opt_bool){ .present = below (s, 3) == 0, .value = below (s, 2) == 0 };
}

static const char *keys[] = { "memory.high", "memory.max", "memory.low", "memory.swap.max", "memory.min",
                              "memory.oom.group", "cpu.weight", "pids.max", "../memory.max", "memory..x", "",
                              "memory", "memory.max/x", "Memory.high", "io.max" };
static const char *values[] = { "max", "0", "1", "67108864", "64m", "", "1\n2", "-1", "99999999999999999999999",
                                "9223372036854775807" };

static void
random_config (uint64_t *s, struct oci_config *c, struct oci_kv *kv, size_t kv_max)
{
  struct oci_memory *m = &c->memory;

  memset (c, 0, sizeof (*c));
  c->has_memory = below (s, 8) != 0;
  m->limit = random_i64 (s);
  m->swap = random_i64 (s);
  m->reservation = random_i64 (s);
  m->kernel = random_i64 (s);
  m->kernel_tcp = random_i64 (s);
  m->swappiness = (struct opt_u64){ .present = below (s, 3) == 0,
                                    .value = below (s, 4) == 0 ? next (s) : below (s, 110) };
  m->disable_oom_killer = random_bool (s);
  m->use_hierarchy = random_bool (s);
  m->check_before_update = random_bool (s);
  c->unified.len = below (s, 4) == 0 ? below (s, kv_max + 1) : 0;
  c->unified.items = kv;
  for (size_t i = 0; i < c->unified.len; i++)
    {
      kv[i].key = (char *) keys[below (s, sizeof keys / sizeof keys[0])];
      kv[i].value = (char *) values[below (s, sizeof values / sizeof values[0])];
    }
}

static void
random_input (uint64_t *s, const struct oci_config *c, struct plan_input *in)
{
  memset (in, 0, sizeof (*in));
  in->config = below (s, 16) == 0 ? NULL : c;
  in->version = below (s, 2) ? CG_V2 : CG_V1;
  in->unsupported = (enum unsupported_mode) below (s, 3);
  in->has_default_limit = below (s, 3) == 0;
  in->default_limit = below (s, 2) ? random_bytes (s) : (int64_t) (below (s, 16) + 1) * 16 * MiB;
  if (in->default_limit <= 0)
    in->default_limit = 64 * MiB; /* options_resolve never hands out 0 or unlimited */
  in->has_max_limit = below (s, 3) == 0;
  in->max_limit = (int64_t) (below (s, 16) + 1) * 16 * MiB;
  in->current.known = below (s, 2) == 0;
  in->current.limit = below (s, 5) == 0 ? -1 : (int64_t) (below (s, 16) + 1) * 16 * MiB;
  in->current.memsw = below (s, 5) == 0 ? -1 : (int64_t) (below (s, 16) + 1) * 16 * MiB;
  /* the kernel never shows limit > memsw */
  if (in->current.memsw != -1 && (in->current.limit == -1 || in->current.limit > in->current.memsw))
    in->current.memsw = in->current.limit;
}

static bool
le_inf (int64_t a, int64_t b)
{
  return b == -1 || (a != -1 && a <= b);
}

/* Replays the writes; false when an intermediate state breaks limit ≤ memsw. */
static bool
v1_replay_safe (const struct plan *p, int64_t limit, int64_t memsw)
{
  for (size_t i = 0; i < p->n_steps; i++)
    {
      if (strcmp (p->steps[i].file, "memory.limit_in_bytes") == 0)
        limit = strtoll (p->steps[i].value, NULL, 10);
      else if (strcmp (p->steps[i].file, "memory.memsw.limit_in_bytes") == 0)
        memsw = strtoll (p->steps[i].value, NULL, 10);
      else
        continue;
      if (!le_inf (limit, memsw))
        return false;
    }
  return true;
}

static void
check_plan (const struct plan_input *in, const struct plan *p, uint64_t seed, unsigned long iter)
{
#define CHECK(cond)                                                                                                    \
  do                                                                                                                   \
    if (!(cond))                                                                                                       \
      fail_msg ("seed %llu iteration %lu: %s", (unsigned long long) seed, iter, #cond);                                \
  while (0)

  CHECK (p->version == in->version);
  if (p->n_errors > 0)
    {
      CHECK (p->n_steps == 0);
      CHECK (plan_first_error (p) != NULL);
      CHECK (strncmp (plan_first_error (p), p->errors[0].field, strlen (p->errors[0].field)) == 0);
    }
  else
    CHECK (plan_first_error (p) == NULL);
  for (size_t i = 0; i < p->n_errors; i++)
    CHECK (p->errors[i].field && p->errors[i].message && strstr (p->errors[i].message, "; "));
  for (size_t i = 0; i < p->n_warnings; i++)
    CHECK (p->warnings[i].field && p->warnings[i].message && p->warnings[i].message[0]);
  for (size_t i = 0; i < p->n_steps; i++)
    {
      const struct plan_step *st = &p->steps[i];
      CHECK (st->field && st->file && st->value);
      CHECK (strncmp (st->file, "memory.", 7) == 0);
      CHECK (strchr (st->file, '/') == NULL && strstr (st->file, "..") == NULL);
      CHECK (strpbrk (st->value, "\n\r") == NULL);
      if (in->version == CG_V1)
        CHECK (strcmp (st->file, "memory.max") != 0);
      else
        CHECK (strstr (st->file, "_in_bytes") == NULL && strcmp (st->file, "memory.swappiness") != 0
               && strcmp (st->file, "memory.oom_control") != 0);
      if ((strcmp (st->file, "memory.limit_in_bytes") == 0 || strcmp (st->file, "memory.max") == 0)
          && in->has_max_limit)
        {
          int64_t v = strtoll (st->value, NULL, 10);
          CHECK (strcmp (st->value, "max") != 0 && v != -1 && v <= in->max_limit);
        }
    }
  if (in->version == CG_V1 && p->n_errors == 0)
    {
      int64_t l0 = in->current.known ? in->current.limit : -1;
      int64_t s0 = in->current.known ? in->current.memsw : -1;
      CHECK (v1_replay_safe (p, l0, s0));
    }
  if (in->version == CG_V2)
    CHECK (!p->effective.swappiness.present && !p->effective.kernel.present && !p->effective.use_hierarchy.present);
  if (p->effective.limit.present)
    CHECK (p->effective.limit.value != 0);
#undef CHECK
}

static void
test_random_plans (void **state)
{
  const char *seed_env = getenv ("MEMHOOK_FUZZ_SEED");
  const char *iter_env = getenv ("MEMHOOK_FUZZ_ITERATIONS");
  uint64_t seed = seed_env ? strtoull (seed_env, NULL, 10) : 20260801;
  unsigned long iterations = iter_env ? strtoul (iter_env, NULL, 10) : 100000;
  uint64_t s = seed;
  unsigned long with_errors = 0, with_steps = 0, v1_pairs = 0;
  (void) state;

  printf ("seed %llu, %lu iterations\n", (unsigned long long) seed, iterations);
  for (unsigned long i = 0; i < iterations; i++)
    {
      struct oci_kv kv[4];
      struct oci_config c;
      struct plan_input in;
      struct plan p;
      mh_error_t err = NULL;

      random_config (&s, &c, kv, 4);
      random_input (&s, &c, &in);
      if (plan_build (&in, &p, &err) != 0)
        fail_msg ("seed %llu iteration %lu: plan_build failed: %s", (unsigned long long) seed, i,
                  err ? err->msg : "?");
      check_plan (&in, &p, seed, i);
      with_errors += p.n_errors > 0;
      with_steps += p.n_steps > 0;
      if (in.version == CG_V1 && p.n_steps >= 2 && strstr (p.steps[0].file, "limit_in_bytes")
          && strstr (p.steps[1].file, "limit_in_bytes"))
        v1_pairs++;
      if (i % 16 == 0)
        {
          struct json *j = plan_to_json (&p);
          char *text = NULL;
          size_t len;
          assert_non_null (j);
          assert_int_equal (json_serialize_compact (j, &text, &len, &err), 0);
          free (text);
          json_free (j);
        }
      plan_free (&p);
    }
  printf ("%lu with errors, %lu with steps, %lu ordered v1 limit/memsw pairs\n", with_errors, with_steps, v1_pairs);
  /* the generator must reach both kinds of plan, or the test proves nothing */
  assert_true (with_errors > iterations / 10);
  assert_true (with_steps > iterations / 10);
  assert_true (v1_pairs > iterations / 100);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_random_plans),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
