/* The plan: OCI memory settings + operator policy → ordered cgroup writes
 * for this host's cgroup version.  The one place where v1/v2 knowledge
 * lives.
 *
 * The steps of building, in order:
 *   1. a present 0 in limit/swap/reservation/kernel/kernelTCP means "not
 *      set" (runc's rule), with a warning;
 *   2. the config's own rules (runc's converter, then Docker's range
 *      checks), every error collected;
 *   3. operator policy (--default-limit, --max-limit);
 *   4. what this cgroup version cannot honour (--unsupported);
 *   5. the steps, only when there is no error: a plan with errors has no
 *      steps so nobody can execute half of it. */
#include "plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "size.h"

#define FIELD_MEMORY "linux.resources.memory."
#define FIELD_LIMIT FIELD_MEMORY "limit"
#define FIELD_SWAP FIELD_MEMORY "swap"
#define FIELD_RESERVATION FIELD_MEMORY "reservation"
#define FIELD_SWAPPINESS FIELD_MEMORY "swappiness"
#define FIELD_OOM FIELD_MEMORY "disableOOMKiller"
#define FIELD_KERNEL FIELD_MEMORY "kernel"
#define FIELD_KERNEL_TCP FIELD_MEMORY "kernelTCP"
#define FIELD_HIERARCHY FIELD_MEMORY "useHierarchy"
#define FIELD_CHECK FIELD_MEMORY "checkBeforeUpdate"
#define FIELD_UNIFIED "linux.resources.unified"

#define UNIFIED_KEY_MAX 255

struct builder
{
  const struct plan_input *in;
  struct plan *p;
  struct oci_memory m; /* the settings as they evolve into plan->effective */
  bool oom;            /* an allocation failed: the plan is thrown away */
  /* linux.resources.unified "memory.max" on v2 is a limit too (policy) */
  bool unified_limit_present;
  int64_t unified_limit;
};

/* Collecting: failures only set b->oom, so the rules read straight. */

static char *
vformat (struct builder *b, const char *fmt, va_list ap)
{
  char *s = NULL;

  if (b->oom || vasprintf (&s, fmt, ap) < 0)
    {
      b->oom = true;
      return NULL;
    }
  return s;
}

static char *
dup_or_null (struct builder *b, const char *s)
{
  char *d;

  if (s == NULL || b->oom)
    return NULL;
  d = strdup (s);
  if (d == NULL)
    b->oom = true;
  return d;
}

static bool
grow (struct builder *b, void **array, size_t n, size_t size)
{
  void *a;

  if (b->oom)
    return false;
  a = realloc (*array, (n + 1) * size);
  if (a == NULL)
    {
      b->oom = true;
      return false;
    }
  *array = a;
  return true;
}

static void
note_push (struct builder *b, struct plan_note **arr, size_t *n, const char *field, const char *fmt, va_list ap)
{
  char *msg = vformat (b, fmt, ap);
  char *f = dup_or_null (b, field);

  if (msg == NULL || f == NULL || !grow (b, (void **) arr, *n, sizeof (**arr)))
    {
      free (msg);
      free (f);
      return;
    }
  (*arr)[*n].field = f;
  (*arr)[*n].message = msg;
  (*n)++;
}

static void __attribute__ ((format (printf, 3, 4)))
plan_error (struct builder *b, const char *field, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  note_push (b, &b->p->errors, &b->p->n_errors, field, fmt, ap);
  va_end (ap);
}

static void __attribute__ ((format (printf, 3, 4)))
plan_warning (struct builder *b, const char *field, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  note_push (b, &b->p->warnings, &b->p->n_warnings, field, fmt, ap);
  va_end (ap);
}

static void __attribute__ ((format (printf, 3, 4)))
plan_info (struct builder *b, const char *field, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  note_push (b, &b->p->notes, &b->p->n_notes, field, fmt, ap);
  va_end (ap);
}

static void __attribute__ ((format (printf, 4, 5)))
plan_policy (struct builder *b, const char *field, const char *option, const char *fmt, ...)
{
  struct plan *p = b->p;
  va_list ap;
  char *msg, *f = dup_or_null (b, field), *o = dup_or_null (b, option);

  va_start (ap, fmt);
  msg = vformat (b, fmt, ap);
  va_end (ap);
  if (msg == NULL || f == NULL || o == NULL || !grow (b, (void **) &p->policy, p->n_policy, sizeof (*p->policy)))
    {
      free (msg);
      free (f);
      free (o);
      return;
    }
  p->policy[p->n_policy++] = (struct plan_policy_change){ .field = f, .option = o, .message = msg };
}

static void
plan_step (struct builder *b, const char *field, const char *file, const char *value, const char *why)
{
  struct plan *p = b->p;
  struct plan_step s = {
    .field = dup_or_null (b, field),
    .file = dup_or_null (b, file),
    .value = dup_or_null (b, value),
    .why = dup_or_null (b, why),
  };

  if (b->oom || !grow (b, (void **) &p->steps, p->n_steps, sizeof (*p->steps)))
    {
      free (s.field);
      free (s.file);
      free (s.value);
      free (s.why);
      return;
    }
  p->steps[p->n_steps++] = s;
}

/* A byte count as the file takes it: v1 "-1", v2 "max" for unlimited. */
static const char *
bytes_value (enum cg_version v, int64_t bytes, char *buf, size_t len)
{
  if (bytes == SIZE_UNLIMITED)
    snprintf (buf, len, "%s", v == CG_V2 ? "max" : "-1");
  else
    snprintf (buf, len, "%" PRId64, bytes);
  return buf;
}

static const char *
human (int64_t bytes, char *buf, size_t len)
{
  return size_format (bytes, buf, len);
}

/* ---- 1. a present 0 is "not set" ---- */

static void
zero_is_unset (struct builder *b, struct opt_i64 *f, const char *field)
{
  if (f->present && f->value == 0)
    {
      plan_warning (b, field, "0 means not set (runc's rule); omit the field or give a size");
      f->present = false;
    }
}

/* ---- 2. the config's own rules ---- */

static void
invalid_value (struct builder *b, const struct opt_i64 *f, const char *field)
{
  if (f->present && f->value < -1)
    plan_error (b, field, "%" PRId64 " is not a valid memory value; give bytes above 0, or -1 for unlimited", f->value);
}

/* runc's converter (rules 4-6 of REFERENCE; rules 1-3 and 7 are the
 * translation, below), then the range checks Docker adds. */
static void
config_rules (struct builder *b)
{
  const struct oci_memory *m = &b->m;
  char s1[32], s2[32];

  if (m->swap.present && !m->limit.present)
    plan_error (b, FIELD_SWAP, "%s set without a memory limit (swap counts memory+swap); set limit too, or remove swap",
                human (m->swap.value, s1, sizeof s1));
  invalid_value (b, &m->limit, FIELD_LIMIT);
  invalid_value (b, &m->swap, FIELD_SWAP);
  if (m->swap.present && m->limit.present && m->limit.value > 0 && m->swap.value >= 0
      && m->swap.value < m->limit.value)
    plan_error (b, FIELD_SWAP,
                "%s is below the memory limit %s (swap counts memory+swap); set swap >= limit or -1",
                human (m->swap.value, s1, sizeof s1), human (m->limit.value, s2, sizeof s2));
  /* v2 passes such a swap as is (rule 3); v1's kernel holds limit ≤ memsw
   * and refuses an unlimited limit above a finite memory+swap (EINVAL). */
  if (b->in->version == CG_V1 && m->limit.present && m->limit.value == SIZE_UNLIMITED && m->swap.present
      && m->swap.value > 0)
    plan_error (b, FIELD_SWAP,
                "%s is below the unlimited memory limit; cgroup v1 needs memory+swap >= limit; set swap to -1, "
                "or set a limit",
                human (m->swap.value, s1, sizeof s1));
  invalid_value (b, &m->reservation, FIELD_RESERVATION);
  invalid_value (b, &m->kernel, FIELD_KERNEL);
  invalid_value (b, &m->kernel_tcp, FIELD_KERNEL_TCP);
  if (m->swappiness.present && m->swappiness.value > 100)
    plan_error (b, FIELD_SWAPPINESS, "%" PRIu64 " is above 100; give 0..100", m->swappiness.value);
}

/* A plain file name of a controller: "memory.high".  No path, no "..". */
static bool
unified_key_ok (const char *key)
{
  size_t len = strlen (key), i;
  const char *dot = strchr (key, '.');

  if (len == 0 || len > UNIFIED_KEY_MAX || dot == NULL || dot == key || dot[1] == '\0' || strstr (key, "..") != NULL)
    return false;
  for (i = 0; key + i < dot; i++)
    if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') || key[i] == '_'))
      return false;
  for (; i < len; i++)
    {
      char c = key[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
            || c == '-'))
        return false;
    }
  return true;
}

static bool
is_memory_key (const char *key)
{
  return strncmp (key, "memory.", 7) == 0;
}

static bool
value_has_control (const char *v)
{
  for (; *v; v++)
    if ((unsigned char) *v < 0x20 || *v == 0x7f)
      return true;
  return false;
}

/* "max" or a whole number of bytes, as memory.max takes it. */
static bool
unified_bytes (const char *v, int64_t *out)
{
  int64_t n = 0;

  if (strcmp (v, "max") == 0)
    {
      *out = SIZE_UNLIMITED;
      return true;
    }
  if (*v == '\0')
    return false;
  for (; *v; v++)
    {
      if (*v < '0' || *v > '9' || n > (INT64_MAX - (*v - '0')) / 10)
        return false;
      n = n * 10 + (*v - '0');
    }
  *out = n;
  return true;
}

/* An OCI field and a unified file that set the same cgroup file: which one
 * wins differs between runtimes, so refuse the ambiguity. */
static void
unified_conflict (struct builder *b, const char *key, const char *file, const struct opt_i64 *f, const char *field)
{
  if (strcmp (key, file) == 0 && f->present)
    plan_error (b, FIELD_UNIFIED, "\"%s\" sets the same file as %s; set one of them", key, field);
}

static bool
unified_seen_before (const struct oci_kv_list *u, size_t i)
{
  for (size_t j = 0; j < i; j++)
    if (u->items[j].key && strcmp (u->items[j].key, u->items[i].key) == 0)
      return true;
  return false;
}

static void
unified_rules (struct builder *b)
{
  const struct oci_kv_list *u = b->in->config ? &b->in->config->unified : NULL;

  for (size_t i = 0; u != NULL && i < u->len; i++)
    {
      const char *key = u->items[i].key ? u->items[i].key : "";
      const char *value = u->items[i].value ? u->items[i].value : "";

      if (!unified_key_ok (key))
        {
          plan_error (b, FIELD_UNIFIED, "key \"%s\" is not a cgroup file name; use a name like memory.high "
                      "(controller.file, no '/' or '..')", key);
          continue;
        }
      if (unified_seen_before (u, i))
        {
          /* the JSON parser keeps the last of duplicate keys; a list built
           * otherwise must not write one file twice with different values */
          plan_error (b, FIELD_UNIFIED, "key \"%s\" is given twice; give it once", key);
          continue;
        }
      if (!is_memory_key (key))
        continue; /* the runtime's business; memhook acts on memory only */
      if (value_has_control (value))
        {
          plan_error (b, FIELD_UNIFIED, "\"%s\": the value has a control character; give the value on one line", key);
          continue;
        }
      if (strcmp (key, "memory.max") == 0)
        {
          if (!unified_bytes (value, &b->unified_limit))
            {
              plan_error (b, FIELD_UNIFIED, "\"memory.max\": \"%s\" is not a number of bytes; give bytes or max", value);
              continue;
            }
          b->unified_limit_present = true;
        }
      if (b->in->version != CG_V2)
        continue; /* dropped on v1 (unsupported_v1): no conflict to judge */
      unified_conflict (b, key, "memory.max", &b->m.limit, FIELD_LIMIT);
      unified_conflict (b, key, "memory.swap.max", &b->m.swap, FIELD_SWAP);
      unified_conflict (b, key, "memory.low", &b->m.reservation, FIELD_RESERVATION);
    }
}

/* ---- 3. operator policy ---- */

static void
policy_limit (struct builder *b)
{
  const struct plan_input *in = b->in;
  struct oci_memory *m = &b->m;
  char s1[32], s2[32];
  /* memory.max from unified counts only where it will be written (v2) */
  bool unified = b->unified_limit_present && in->version == CG_V2;

  if (!m->limit.present && !unified)
    {
      if (in->has_default_limit)
        {
          if (in->has_max_limit && in->default_limit > in->max_limit)
            {
              plan_error (b, FIELD_LIMIT, "the default %s (--default-limit) is above --max-limit %s; "
                          "lower --default-limit or raise --max-limit",
                          human (in->default_limit, s1, sizeof s1), human (in->max_limit, s2, sizeof s2));
              return;
            }
          m->limit = (struct opt_i64){ .present = true, .value = in->default_limit };
          b->p->limit_from_policy = true;
          plan_policy (b, FIELD_LIMIT, "--default-limit", "set to %s (no limit was set)",
                       human (in->default_limit, s1, sizeof s1));
        }
      else if (in->has_max_limit)
        {
          /* No limit = unlimited, which --max-limit refuses; capping at the
           * maximum is the one value that honours both. */
          m->limit = (struct opt_i64){ .present = true, .value = in->max_limit };
          b->p->limit_from_policy = true;
          plan_policy (b, FIELD_LIMIT, "--max-limit", "set to %s (no limit was set and no --default-limit is "
                       "configured)", human (in->max_limit, s1, sizeof s1));
        }
      return;
    }
  if (in->has_max_limit)
    {
      int64_t v = m->limit.present ? m->limit.value : b->unified_limit;
      const char *field = m->limit.present ? FIELD_LIMIT : FIELD_UNIFIED ".memory.max";

      if (v == SIZE_UNLIMITED)
        plan_error (b, field, "unlimited (-1) is above --max-limit %s (operator policy); set a limit at or below %s",
                    human (in->max_limit, s1, sizeof s1), s1);
      else if (v > in->max_limit)
        plan_error (b, field, "%s is above --max-limit %s (operator policy); set a limit at or below %s",
                    human (v, s2, sizeof s2), human (in->max_limit, s1, sizeof s1), s1);
    }
}

static void
reservation_rule (struct builder *b)
{
  const struct oci_memory *m = &b->m;
  char s1[32], s2[32];

  if (m->reservation.present && m->reservation.value > 0 && m->limit.present && m->limit.value > 0
      && m->reservation.value > m->limit.value)
    plan_error (b, FIELD_RESERVATION, "%s is above the memory limit %s%s; set reservation <= limit",
                human (m->reservation.value, s1, sizeof s1), human (m->limit.value, s2, sizeof s2),
                b->p->limit_from_policy ? " (from operator policy)" : "");
}

/* ---- 4. what this cgroup version cannot honour ---- */

static void
unsupported (struct builder *b, const char *field, const char *what)
{
  switch (b->in->unsupported)
    {
    case UNSUPPORTED_ERROR:
      plan_error (b, field, "%s; remove the field, or let memhook drop it with --unsupported=warn", what);
      break;
    case UNSUPPORTED_WARN:
      plan_warning (b, field, "%s; dropped (remove the field to silence this, or --unsupported=ignore)", what);
      break;
    case UNSUPPORTED_IGNORE:
      break;
    }
}

static void
unsupported_v2 (struct builder *b)
{
  struct oci_memory *m = &b->m;

  if (m->swappiness.present)
    unsupported (b, FIELD_SWAPPINESS, "cgroup v2 has no per-cgroup swappiness");
  if (m->disable_oom_killer.present && m->disable_oom_killer.value)
    unsupported (b, FIELD_OOM, "cgroup v2 cannot disable the OOM killer");
  if (m->kernel.present)
    unsupported (b, FIELD_KERNEL, "cgroup v2 has no kernel memory limit (kernel memory counts in memory.max)");
  if (m->kernel_tcp.present)
    unsupported (b, FIELD_KERNEL_TCP, "cgroup v2 has no kernel TCP memory limit (it counts in memory.max)");
  if (m->use_hierarchy.present && !m->use_hierarchy.value)
    unsupported (b, FIELD_HIERARCHY, "cgroup v2 is always hierarchical");
  else if (m->use_hierarchy.present)
    plan_info (b, FIELD_HIERARCHY, "cgroup v2 is always hierarchical; nothing to write");
  /* Dropped whatever the mode: the effective settings are what this host
   * honours, and crun refuses these fields on v2 even when harmless. */
  m->swappiness.present = false;
  m->disable_oom_killer.present = false;
  m->kernel.present = false;
  m->kernel_tcp.present = false;
  m->use_hierarchy.present = false;
}

/* Fields v1 still has files for that recent kernels no longer honour:
 * writing them would fail (use_hierarchy=0: EINVAL) or read back as
 * something else (kmem: accepted and ignored), so they are unsupported. */
static void
unsupported_v1_kernel (struct builder *b)
{
  struct oci_memory *m = &b->m;
  unsigned k = b->in->kernel ? b->in->kernel : KERNEL_VERSION_CODE (255, 0);

  if (m->kernel.present && k >= KERNEL_VERSION_CODE (5, 16))
    {
      unsupported (b, FIELD_KERNEL, "Linux 5.16 and later no longer enforce kernel memory limits "
                   "(kernel memory counts in the memory limit; runc ignores the field too)");
      m->kernel.present = false;
    }
  if (m->use_hierarchy.present && k >= KERNEL_VERSION_CODE (5, 11))
    {
      if (!m->use_hierarchy.value)
        unsupported (b, FIELD_HIERARCHY, "Linux 5.11 and later are always hierarchical");
      else
        plan_info (b, FIELD_HIERARCHY, "Linux 5.11 and later are always hierarchical; nothing to write");
      m->use_hierarchy.present = false;
    }
}

unsigned
plan_kernel_now (void)
{
  struct utsname u;
  unsigned major = 0, minor = 0;

  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &major, &minor) != 2 || major > 255 || minor > 255)
    return 0;
  return KERNEL_VERSION_CODE (major, minor);
}

void
plan_input_init (struct plan_input *in, const struct oci_config *config, enum cg_version version,
                 const struct options *opts)
{
  *in = (struct plan_input) {
    .config = config,
    .version = version,
    .unsupported = opts->unsupported,
    .has_default_limit = opts->has_default_limit,
    .default_limit = opts->default_limit,
    .has_max_limit = opts->has_max_limit,
    .max_limit = opts->max_limit,
    .current = { .known = false },
    .kernel = plan_kernel_now (),
  };
}

static void
unsupported_v1 (struct builder *b)
{
  const struct oci_kv_list *u = b->in->config ? &b->in->config->unified : NULL;
  cleanup_free char *field = NULL;

  /* runc refuses any unified key on v1, memory or not. */
  for (size_t i = 0; u != NULL && i < u->len; i++)
    {
      const char *key = u->items[i].key ? u->items[i].key : "";

      free (field);
      field = NULL;
      if (!unified_key_ok (key))
        continue; /* already an error */
      if (asprintf (&field, FIELD_UNIFIED ".%s", key) < 0)
        {
          field = NULL;
          b->oom = true;
          return;
        }
      unsupported (b, field, "needs cgroup v2 (runc refuses linux.resources.unified on v1); "
                   "this host's memory controller is on v1");
    }
}

/* ---- 5. the steps ---- */

/* a ≤ b where -1 is infinity: the kernel's limit ≤ memsw rule. */
static bool
le_inf (int64_t a, int64_t b)
{
  if (b == SIZE_UNLIMITED)
    return true;
  if (a == SIZE_UNLIMITED)
    return false;
  return a <= b;
}

static int
cmp_inf (int64_t a, int64_t b)
{
  if (a == b)
    return 0;
  return le_inf (a, b) ? -1 : 1;
}

/* limit and memsw on v1: an order in which every intermediate state keeps
 * limit ≤ memsw, decided from the current values (runc reads the current
 * limit; crun retries on EINVAL — a plan has to be right first time). */
static void
v1_limit_pair (struct builder *b, int64_t limit, int64_t memsw, const char *memsw_field)
{
  const struct plan_current *cur = &b->in->current;
  int64_t l0 = cur->known ? cur->limit : SIZE_UNLIMITED;
  int64_t s0 = cur->known ? cur->memsw : SIZE_UNLIMITED;
  bool memsw_first_ok = le_inf (l0, memsw), limit_first_ok = le_inf (limit, s0);
  int dl = cmp_inf (limit, l0), ds = cmp_inf (memsw, s0);
  bool memsw_first;
  const char *direction;
  char why[128], lv[32], sv[32];

  if (dl >= 0 && ds >= 0)
    direction = dl == 0 && ds == 0 ? "unchanged" : "raise";
  else if (dl <= 0 && ds <= 0)
    direction = "lower";
  else
    direction = dl < 0 ? "limit down, memsw up" : "limit up, memsw down";

  if (memsw_first_ok && limit_first_ok)
    memsw_first = strcmp (direction, "raise") == 0; /* runc's choice */
  else
    memsw_first = memsw_first_ok; /* the one safe order (one always is when limit ≤ memsw now) */

  snprintf (why, sizeof why, "%s: %s keeps limit <= memsw", direction,
            memsw_first ? "memsw before limit" : "limit before memsw");
  bytes_value (CG_V1, limit, lv, sizeof lv);
  bytes_value (CG_V1, memsw, sv, sizeof sv);
  if (memsw_first)
    plan_step (b, memsw_field, "memory.memsw.limit_in_bytes", sv, why);
  plan_step (b, FIELD_LIMIT, "memory.limit_in_bytes", lv, why);
  if (!memsw_first)
    plan_step (b, memsw_field, "memory.memsw.limit_in_bytes", sv, why);
}

static void
v1_limit_steps (struct builder *b)
{
  const struct oci_memory *m = &b->m;
  const struct plan_current *cur = &b->in->current;
  int64_t s0 = cur->known ? cur->memsw : SIZE_UNLIMITED;
  char lv[32], s1[32], s2[32];

  if (!m->limit.present)
    return;
  if (m->swap.present)
    v1_limit_pair (b, m->limit.value, m->swap.value, FIELD_SWAP);
  else if (m->limit.value == SIZE_UNLIMITED)
    /* rule 1: an unlimited memory with no swap given is unlimited swap too */
    v1_limit_pair (b, SIZE_UNLIMITED, SIZE_UNLIMITED, FIELD_SWAP);
  else if (!le_inf (m->limit.value, s0))
    {
      /* The kernel would refuse the limit (EINVAL).  Raise memsw to the
       * new limit: the least that keeps limit ≤ memsw, no swap granted. */
      plan_warning (b, FIELD_SWAP, "not set, and memory+swap is %s, below the new limit %s; memory+swap raised "
                    "to %s (no swap); set swap to choose", human (s0, s1, sizeof s1),
                    human (m->limit.value, s2, sizeof s2), s2);
      v1_limit_pair (b, m->limit.value, m->limit.value, FIELD_SWAP);
    }
  else
    plan_step (b, FIELD_LIMIT, "memory.limit_in_bytes", bytes_value (CG_V1, m->limit.value, lv, sizeof lv),
               b->p->limit_from_policy ? "operator policy" : NULL);
}

static void
v1_steps (struct builder *b)
{
  const struct oci_memory *m = &b->m;
  char v[32];

  v1_limit_steps (b);
  if (m->reservation.present)
    plan_step (b, FIELD_RESERVATION, "memory.soft_limit_in_bytes",
               bytes_value (CG_V1, m->reservation.value, v, sizeof v), NULL);
  if (m->swappiness.present)
    {
      snprintf (v, sizeof v, "%" PRIu64, m->swappiness.value);
      plan_step (b, FIELD_SWAPPINESS, "memory.swappiness", v, NULL);
    }
  if (m->disable_oom_killer.present && m->disable_oom_killer.value)
    plan_step (b, FIELD_OOM, "memory.oom_control", "1", NULL);
  if (m->kernel.present)
    plan_step (b, FIELD_KERNEL, "memory.kmem.limit_in_bytes", bytes_value (CG_V1, m->kernel.value, v, sizeof v),
               NULL);
  if (m->kernel_tcp.present)
    plan_step (b, FIELD_KERNEL_TCP, "memory.kmem.tcp.limit_in_bytes",
               bytes_value (CG_V1, m->kernel_tcp.value, v, sizeof v), NULL);
  if (m->use_hierarchy.present)
    plan_step (b, FIELD_HIERARCHY, "memory.use_hierarchy", m->use_hierarchy.value ? "1" : "0", NULL);
}

/* memory.swap.max from swap (memory+swap), runc's converter rules 1-3, 7. */
static void
v2_swap_step (struct builder *b)
{
  const struct oci_memory *m = &b->m;
  char v[32];

  if (!m->swap.present)
    {
      if (m->limit.present && m->limit.value == SIZE_UNLIMITED)
        plan_step (b, FIELD_SWAP, "memory.swap.max", "max", "limit -1 and no swap: swap unlimited too");
      return;
    }
  if (m->swap.value == SIZE_UNLIMITED)
    plan_step (b, FIELD_SWAP, "memory.swap.max", "max", NULL);
  else if (m->limit.value == SIZE_UNLIMITED)
    plan_step (b, FIELD_SWAP, "memory.swap.max", bytes_value (CG_V2, m->swap.value, v, sizeof v),
               "limit -1: swap passed as is");
  else
    plan_step (b, FIELD_SWAP, "memory.swap.max", bytes_value (CG_V2, m->swap.value - m->limit.value, v, sizeof v),
               "swap - limit (swap counts memory+swap)");
}

static void
v2_steps (struct builder *b)
{
  const struct oci_memory *m = &b->m;
  const struct oci_kv_list *u = b->in->config ? &b->in->config->unified : NULL;
  cleanup_free char *field = NULL;
  char v[32];

  if (m->limit.present)
    plan_step (b, FIELD_LIMIT, "memory.max", bytes_value (CG_V2, m->limit.value, v, sizeof v),
               b->p->limit_from_policy ? "operator policy" : NULL);
  v2_swap_step (b);
  if (m->reservation.present)
    plan_step (b, FIELD_RESERVATION, "memory.low", bytes_value (CG_V2, m->reservation.value, v, sizeof v), NULL);
  for (size_t i = 0; u != NULL && i < u->len; i++)
    {
      if (!is_memory_key (u->items[i].key))
        continue;
      free (field);
      if (asprintf (&field, FIELD_UNIFIED ".%s", u->items[i].key) < 0)
        {
          field = NULL;
          b->oom = true;
          return;
        }
      plan_step (b, field, u->items[i].key, u->items[i].value, "verbatim from linux.resources.unified");
    }
}

static void
check_before_update (struct builder *b)
{
  if (!b->m.check_before_update.present || !b->m.check_before_update.value)
    return;
  if (b->in->version == CG_V2)
    plan_info (b, FIELD_CHECK, "the hook refuses a limit at or below the current usage (memory.current)");
  else
    plan_info (b, FIELD_CHECK, "the kernel refuses a limit below the current usage on v1 (EBUSY)");
}

static void
steps_clear (struct plan *p)
{
  for (size_t i = 0; i < p->n_steps; i++)
    {
      free (p->steps[i].field);
      free (p->steps[i].file);
      free (p->steps[i].value);
      free (p->steps[i].why);
    }
  free (p->steps);
  p->steps = NULL;
  p->n_steps = 0;
}

int
plan_build (const struct plan_input *in, struct plan *out, mh_error_t *err)
{
  struct builder b = { .in = in, .p = out };

  memset (out, 0, sizeof (*out));
  if (in == NULL || (in->version != CG_V1 && in->version != CG_V2))
    return mh_error_make (err, EINVAL, "plan: cgroup version %d; give 1 or 2", in ? (int) in->version : 0);
  out->version = in->version;
  if (in->config != NULL && in->config->has_memory)
    b.m = in->config->memory;

  zero_is_unset (&b, &b.m.limit, FIELD_LIMIT);
  zero_is_unset (&b, &b.m.swap, FIELD_SWAP);
  zero_is_unset (&b, &b.m.reservation, FIELD_RESERVATION);
  zero_is_unset (&b, &b.m.kernel, FIELD_KERNEL);
  zero_is_unset (&b, &b.m.kernel_tcp, FIELD_KERNEL_TCP);

  config_rules (&b);
  unified_rules (&b);
  policy_limit (&b);
  reservation_rule (&b);
  if (in->version == CG_V2)
    unsupported_v2 (&b);
  else
    {
      unsupported_v1 (&b);
      unsupported_v1_kernel (&b);
    }
  check_before_update (&b);

  if (out->n_errors == 0)
    {
      if (in->version == CG_V2)
        v2_steps (&b);
      else
        v1_steps (&b);
    }
  out->effective = b.m;
  if (out->n_errors > 0)
    {
      steps_clear (out);
      if (asprintf (&out->first_error, "%s: %s", out->errors[0].field, out->errors[0].message) < 0)
        {
          out->first_error = NULL;
          b.oom = true;
        }
    }
  if (b.oom)
    {
      plan_free (out);
      return mh_error_make (err, ENOMEM, "plan");
    }
  return 0;
}

static void
notes_free (struct plan_note *n, size_t len)
{
  for (size_t i = 0; i < len; i++)
    {
      free (n[i].field);
      free (n[i].message);
    }
  free (n);
}

void
plan_free (struct plan *p)
{
  if (p == NULL)
    return;
  steps_clear (p);
  notes_free (p->warnings, p->n_warnings);
  notes_free (p->errors, p->n_errors);
  notes_free (p->notes, p->n_notes);
  for (size_t i = 0; i < p->n_policy; i++)
    {
      free (p->policy[i].field);
      free (p->policy[i].option);
      free (p->policy[i].message);
    }
  free (p->policy);
  free (p->first_error);
  memset (p, 0, sizeof (*p));
}

const char *
plan_first_error (const struct plan *p)
{
  if (p == NULL || p->n_errors == 0)
    return NULL;
  return p->first_error;
}
