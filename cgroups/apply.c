#include "apply.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgfile.h"
#include "cleanup.h"
#include "size.h"

/* A cgroup value as the kernel shows it: a number (-1 = unlimited) or, for
 * the few text values, the trimmed first line. */
struct cgval
{
  bool numeric;
  int64_t num;
  char text[96];
};

/* Files whose values are byte counts: the kernel stores them in pages. */
static bool
is_size_file (const char *file)
{
  static const char *const v2[] = { "memory.max", "memory.low", "memory.high", "memory.min",
                                    "memory.swap.max", "memory.swap.high", "memory.zswap.max" };
  size_t len = strlen (file);

  if (len > 9 && strcmp (file + len - 9, "_in_bytes") == 0)
    return true;
  for (size_t i = 0; i < sizeof (v2) / sizeof (v2[0]); i++)
    if (strcmp (file, v2[i]) == 0)
      return true;
  return false;
}

static bool
is_limit_file (const char *file)
{
  return strcmp (file, "memory.limit_in_bytes") == 0 || strcmp (file, "memory.memsw.limit_in_bytes") == 0
         || strcmp (file, "memory.max") == 0;
}

static void
parse_value (const char *file, const char *text, struct cgval *v)
{
  char *end = NULL;
  long long n;
  bool found = false;
  int64_t kv = 0;

  memset (v, 0, sizeof (*v));
  /* memory.oom_control is written "1" and read back as keyed lines. */
  if (strcmp (file, "memory.oom_control") == 0 && cg_keyed_get (text, "oom_kill_disable", &found, &kv) == 0 && found)
    {
      v->numeric = true;
      v->num = kv;
      return;
    }
  while (*text == ' ' || *text == '\t')
    text++;
  snprintf (v->text, sizeof (v->text), "%.*s", (int) strcspn (text, "\n"), text);
  for (size_t l = strlen (v->text); l > 0 && (v->text[l - 1] == ' ' || v->text[l - 1] == '\t'); l--)
    v->text[l - 1] = '\0';
  if (strcmp (v->text, "max") == 0)
    {
      v->numeric = true;
      v->num = -1;
      return;
    }
  errno = 0;
  n = strtoll (v->text, &end, 10);
  if (errno != 0 || end == v->text || *end != '\0')
    return;
  v->numeric = true;
  v->num = (n >= CG_V1_UNLIMITED_MIN || n < 0) ? -1 : (int64_t) n;
}

/* What the kernel keeps of a wanted value: sizes round down to a page. */
static void
expected_value (const char *file, const char *wanted, long page, struct cgval *v)
{
  parse_value (file, wanted, v);
  if (v->numeric && v->num > 0 && is_size_file (file) && page > 0)
    v->num = v->num / page * page;
}

static bool
cgval_equal (const struct cgval *a, const struct cgval *b)
{
  if (a->numeric && b->numeric)
    return a->num == b->num;
  return !a->numeric && !b->numeric && strcmp (a->text, b->text) == 0;
}

bool
cg_value_matches (const char *file, const char *wanted, const char *found, long page_size)
{
  struct cgval w, f;

  expected_value (file, wanted, page_size, &w);
  parse_value (file, found, &f);
  return cgval_equal (&w, &f);
}

/* The value as it can be written back to restore it. */
static char *
writable_form (const char *raw, const struct cgval *v)
{
  char *s = NULL;

  if (!v->numeric)
    return strdup (v->text);
  if (v->num == -1)
    return strdup (strncmp (raw, "max", 3) == 0 ? "max" : "-1");
  if (asprintf (&s, "%" PRId64, v->num) < 0)
    return NULL;
  return s;
}

static const char *
approx_size (int64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
  double v = (double) bytes;
  size_t u = 0;

  if (bytes < 0)
    return size_format (bytes, buf, len);
  while (v >= 1024 && u + 1 < sizeof (units) / sizeof (units[0]))
    {
      v /= 1024;
      u++;
    }
  if (u == 0)
    snprintf (buf, len, "%" PRId64 " bytes", bytes);
  else
    snprintf (buf, len, "%.1f %s", v, units[u]);
  return buf;
}

static const char *
step_what (const struct plan_step *s)
{
  return s->field ? s->field : s->file;
}

static int
read_raw (int dirfd, const struct plan_step *s, char **raw, mh_error_t *err)
{
  if (cg_read_text (dirfd, s->file, raw, err) == 0)
    return 0;
  if ((*err)->errnum != ENOENT)
    return mh_error_wrap (err, "%s: read the cgroup's current value", step_what (s));
  if (strcmp (s->file, "memory.memsw.limit_in_bytes") == 0 || strcmp (s->file, "memory.swap.max") == 0)
    return mh_error_make (err, 0, "%s: no swap accounting on this kernel (%s missing); boot with swapaccount=1 "
                          "or drop linux.resources.memory.swap", step_what (s), s->file);
  return mh_error_make (err, 0, "%s: this kernel has no %s; drop %s from the configuration",
                        step_what (s), s->file, step_what (s));
}

/* Usage and peak for an EBUSY message; the file names differ per version. */
static void
usage_text (int dirfd, const char *file, char *buf, size_t len)
{
  bool memsw = strcmp (file, "memory.memsw.limit_in_bytes") == 0;
  bool v2 = strcmp (file, "memory.max") == 0;
  const char *usage_file = v2 ? "memory.current" : memsw ? "memory.memsw.usage_in_bytes" : "memory.usage_in_bytes";
  const char *peak_file = v2 ? "memory.peak" : memsw ? "memory.memsw.max_usage_in_bytes" : "memory.max_usage_in_bytes";
  cleanup_error mh_error_t ignored = NULL;
  int64_t usage = -1, peak = -1;
  char a[32], b[32];

  if (cg_read_i64 (dirfd, usage_file, &usage, &ignored) < 0)
    usage = -1;
  if (cg_read_i64 (dirfd, peak_file, &peak, &ignored) < 0)
    peak = -1;
  if (usage < 0)
    snprintf (buf, len, "the cgroup's usage could not be read");
  else if (peak < 0)
    snprintf (buf, len, "the cgroup uses %s (%s)", approx_size (usage, a, sizeof (a)), usage_file);
  else
    snprintf (buf, len, "the cgroup uses %s (%s), peak %s (%s)", approx_size (usage, a, sizeof (a)), usage_file,
              approx_size (peak, b, sizeof (b)), peak_file);
}

static int
write_failed (int dirfd, const struct plan_step *s, mh_error_t *err)
{
  int e = (*err)->errnum;
  char usage[192];

  if (e == ENOENT)
    {
      cleanup_free char *raw = NULL;
      return read_raw (dirfd, s, &raw, err);
    }
  if (e == EBUSY && is_limit_file (s->file))
    {
      usage_text (dirfd, s->file, usage, sizeof (usage));
      return mh_error_make (err, 0, "%s: %s refused %s (device busy): %s and the kernel could not reclaim below "
                            "the new limit; raise the limit above the usage, or set it before the workload allocates",
                            step_what (s), s->file, s->value, usage);
    }
  if (e == EINVAL && is_limit_file (s->file))
    return mh_error_make (err, 0, "%s: %s refused %s (invalid argument): on cgroup v1 the memory limit must stay at "
                          "or below memory.memsw.limit_in_bytes; set swap >= limit or -1",
                          step_what (s), s->file, s->value);
  return mh_error_make (err, 0, "%s: write %s to %s: %s; check the value and the cgroup's other limits",
                        step_what (s), s->value, s->file, strerror (e));
}

/* checkBeforeUpdate on v2: the kernel would reclaim and then OOM-kill to
 * meet a limit below usage; refuse instead, as crun does. */
static int
check_before_update (int dirfd, const struct plan_step *s, const struct cgval *wanted, mh_error_t *err)
{
  bool swap = strcmp (s->file, "memory.swap.max") == 0;
  const char *usage_file = swap ? "memory.swap.current" : "memory.current";
  int64_t usage = 0;
  char a[32], b[32];

  if (!wanted->numeric || wanted->num < 0 || (!swap && strcmp (s->file, "memory.max") != 0))
    return 0;
  if (cg_read_i64 (dirfd, usage_file, &usage, err) < 0)
    return mh_error_wrap (err, "%s: checkBeforeUpdate", step_what (s));
  if (swap ? wanted->num < usage : wanted->num <= usage)
    return mh_error_make (err, 0, "%s: %s at or below the current usage %s (%s) and checkBeforeUpdate is set; "
                          "raise the limit or unset checkBeforeUpdate", step_what (s),
                          approx_size (wanted->num, a, sizeof (a)), approx_size (usage, b, sizeof (b)), usage_file);
  return 0;
}

struct apply_run
{
  int dirfd;
  const struct plan *plan;
  long page;
  bool check_before;
  struct cg_applied *steps;
  bool *done;
  size_t *written; /* indices in write order, for the reverse restore */
  size_t n_written;
};

static int
record_before (struct apply_run *r, size_t i, const char *raw, mh_error_t *err)
{
  const struct plan_step *s = &r->plan->steps[i];
  struct cg_applied *a = &r->steps[i];
  struct cgval before;

  parse_value (s->file, raw, &before);
  free (a->field);
  free (a->file);
  free (a->value);
  free (a->before);
  a->field = s->field ? strdup (s->field) : NULL;
  a->file = strdup (s->file);
  a->value = strdup (s->value);
  a->before = writable_form (raw, &before);
  if (a->file == NULL || a->value == NULL || a->before == NULL || (s->field && a->field == NULL))
    return mh_error_make (err, ENOMEM, "apply");
  return 0;
}

#define WRITE_FAILED (-2) /* err holds the kernel's errno, not yet explained */

/* One step: skip when already so, otherwise write and remember. */
static int
do_step (struct apply_run *r, size_t i, mh_error_t *err)
{
  const struct plan_step *s = &r->plan->steps[i];
  cleanup_free char *raw = NULL;
  struct cgval want, have;

  if (read_raw (r->dirfd, s, &raw, err) < 0 || record_before (r, i, raw, err) < 0)
    return -1;
  r->done[i] = true;
  expected_value (s->file, s->value, r->page, &want);
  parse_value (s->file, raw, &have);
  if (cgval_equal (&want, &have))
    return 0;
  if (r->check_before && r->plan->version == CG_V2 && check_before_update (r->dirfd, s, &want, err) < 0)
    return -1;
  if (cg_write (r->dirfd, s->file, s->value, err) < 0)
    {
      r->done[i] = false;
      return WRITE_FAILED;
    }
  r->steps[i].written = true;
  r->written[r->n_written++] = i;
  return 0;
}

/* The other half of v1's limit ≤ memsw pair, when it is still to come. */
static ssize_t
pending_partner (const struct apply_run *r, size_t i)
{
  const char *file = r->plan->steps[i].file;
  const char *other;

  if (strcmp (file, "memory.limit_in_bytes") == 0)
    other = "memory.memsw.limit_in_bytes";
  else if (strcmp (file, "memory.memsw.limit_in_bytes") == 0)
    other = "memory.limit_in_bytes";
  else
    return -1;
  for (size_t j = i + 1; j < r->plan->n_steps; j++)
    if (!r->done[j] && strcmp (r->plan->steps[j].file, other) == 0)
      return (ssize_t) j;
  return -1;
}

static int
run_step (struct apply_run *r, size_t i, mh_error_t *err)
{
  ssize_t j;
  int rc = do_step (r, i, err);

  if (rc != WRITE_FAILED)
    return rc;
  /* The plan chose the order from the values read before; if the runtime
   * changed one since, the kernel answers EINVAL: write the partner first
   * (crun does the same). */
  if ((*err)->errnum != EINVAL || (j = pending_partner (r, i)) < 0)
    return write_failed (r->dirfd, &r->plan->steps[i], err);
  mh_error_free (err);
  if ((rc = do_step (r, (size_t) j, err)) < 0)
    return rc == WRITE_FAILED ? write_failed (r->dirfd, &r->plan->steps[j], err) : -1;
  if ((rc = do_step (r, i, err)) < 0)
    return rc == WRITE_FAILED ? write_failed (r->dirfd, &r->plan->steps[i], err) : -1;
  return 0;
}

/* Reverse order undoes a v1 limit/memsw pair in an order the kernel
 * accepts; what still fails with EINVAL gets one more try at the end.
 * Returns how many values could not be restored (each named in *err). */
static int
restore (struct apply_run *r, mh_error_t *err)
{
  size_t retry[r->n_written ? r->n_written : 1], n_retry = 0;
  int failed = 0;

  for (size_t k = r->n_written; k-- > 0;)
    {
      struct cg_applied *a = &r->steps[r->written[k]];
      cleanup_error mh_error_t e = NULL;
      if (cg_write (r->dirfd, a->file, a->before, &e) < 0)
        retry[n_retry++] = r->written[k];
    }
  for (size_t k = 0; k < n_retry; k++)
    {
      struct cg_applied *a = &r->steps[retry[k]];
      cleanup_error mh_error_t e = NULL;
      if (cg_write (r->dirfd, a->file, a->before, &e) < 0)
        {
          failed++;
          if (err && *err)
            mh_error_wrap (err, "restoring %s to %s also failed (%s)", a->file, a->before,
                           strerror (e->errnum ? e->errnum : EIO));
        }
    }
  return failed;
}

static int
verify (struct apply_run *r, mh_error_t *err)
{
  for (size_t i = 0; i < r->plan->n_steps; i++)
    {
      const struct plan_step *s = &r->plan->steps[i];
      cleanup_free char *raw = NULL;
      struct cgval want, have;

      if (cg_read_text (r->dirfd, s->file, &raw, err) < 0)
        return mh_error_wrap (err, "%s: read back %s", step_what (s), s->file);
      expected_value (s->file, s->value, r->page, &want);
      parse_value (s->file, raw, &have);
      free (r->steps[i].found);
      r->steps[i].found = writable_form (raw, &have);
      if (r->steps[i].found == NULL)
        return mh_error_make (err, ENOMEM, "verify");
      if (!cgval_equal (&want, &have))
        {
          char expect[sizeof (want.text)];
          if (!want.numeric)
            snprintf (expect, sizeof (expect), "%s", want.text);
          else if (want.num < 0)
            snprintf (expect, sizeof (expect), "unlimited");
          else
            snprintf (expect, sizeof (expect), "%" PRId64, want.num);
          return mh_error_make (err, 0, "%s: %s holds %s after memhook wrote %s (expected %s after page rounding); "
                                "something else changes this cgroup, or the kernel does not keep the value",
                                step_what (s), s->file, r->steps[i].found, s->value, expect);
        }
    }
  return 0;
}

int
cg_apply (int dirfd, const struct plan *plan, struct cg_apply_result *out, mh_error_t *err)
{
  struct apply_run r = { .dirfd = dirfd, .plan = plan, .page = sysconf (_SC_PAGESIZE) };
  size_t n = plan->n_steps;
  int ret = -1;

  memset (out, 0, sizeof (*out));
  r.check_before = plan->effective.check_before_update.present && plan->effective.check_before_update.value;
  r.steps = calloc (n ? n : 1, sizeof (*r.steps));
  r.done = calloc (n ? n : 1, sizeof (*r.done));
  r.written = calloc (n ? n : 1, sizeof (*r.written));
  if (r.steps == NULL || r.done == NULL || r.written == NULL)
    {
      mh_error_make (err, ENOMEM, "apply");
      goto out;
    }
  for (size_t i = 0; i < n; i++)
    if (!r.done[i] && run_step (&r, i, err) < 0)
      goto fail;
  if (verify (&r, err) < 0)
    goto fail;
  out->n = n;
  out->steps = steal_pointer (&r.steps);
  out->n_written = r.n_written;
  ret = 0;
  goto out;

fail:
  restore (&r, err);
out:
  if (r.steps)
    {
      struct cg_apply_result tmp = { .n = n, .steps = r.steps };
      cg_apply_result_free (&tmp);
    }
  free (r.done);
  free (r.written);
  return ret;
}

int
cg_apply_undo (int dirfd, const struct cg_apply_result *r, mh_error_t *err)
{
  size_t order[r->n ? r->n : 1], n = 0;
  struct apply_run run = { .dirfd = dirfd, .steps = r->steps, .written = order };

  /* The plan order stands in for the write order: where a v1 pair was
   * swapped, restore()'s second pass puts it right. */
  for (size_t i = 0; i < r->n; i++)
    if (r->steps[i].written)
      order[n++] = i;
  run.n_written = n;
  mh_error_make (err, 0, "the cgroup keeps memhook's values");
  if (restore (&run, err) == 0)
    {
      mh_error_free (err);
      return 0;
    }
  return -1;
}

void
cg_apply_result_free (struct cg_apply_result *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n && r->steps; i++)
    {
      free (r->steps[i].field);
      free (r->steps[i].file);
      free (r->steps[i].value);
      free (r->steps[i].before);
      free (r->steps[i].found);
    }
  free (r->steps);
  memset (r, 0, sizeof (*r));
}

static int
set_str (struct json *obj, const char *key, const char *value)
{
  struct json *v = json_new_string (value ? value : "");
  cleanup_error mh_error_t e = NULL;

  if (v == NULL)
    return -1;
  return json_object_set (obj, key, v, &e);
}

static struct json *
steps_json (const struct cg_apply_result *r, bool corrections_only)
{
  struct json *arr = json_new_array ();
  cleanup_error mh_error_t e = NULL;

  if (arr == NULL)
    return NULL;
  for (size_t i = 0; i < r->n; i++)
    {
      const struct cg_applied *a = &r->steps[i];
      struct json *o;
      int rc = 0;

      if (corrections_only && !a->written)
        continue;
      o = json_new_object ();
      if (o == NULL)
        goto fail;
      if (corrections_only && a->field)
        rc |= set_str (o, "field", a->field);
      rc |= set_str (o, "file", a->file);
      if (corrections_only)
        {
          rc |= set_str (o, "was", a->before);
          rc |= set_str (o, "value", a->value);
        }
      else
        {
          struct json *b = json_new_bool (a->written);
          rc |= set_str (o, "value", a->value);
          rc |= set_str (o, "was", a->before);
          rc |= set_str (o, "found", a->found);
          rc |= b ? json_object_set (o, "written", b, &e) : -1;
        }
      if (rc < 0 || json_array_append (arr, o, &e) < 0)
        {
          json_free (o);
          goto fail;
        }
    }
  return arr;
fail:
  json_free (arr);
  return NULL;
}

struct json *
cg_apply_corrections_to_json (const struct cg_apply_result *r)
{
  return steps_json (r, true);
}

struct json *
cg_apply_steps_to_json (const struct cg_apply_result *r)
{
  return steps_json (r, false);
}

int
cg_read_current (int dirfd, enum cg_version version, struct plan_current *out, mh_error_t *err)
{
  const char *limit_file = version == CG_V1 ? "memory.limit_in_bytes" : "memory.max";
  const char *swap_file = version == CG_V1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max";
  int64_t swap = -1;

  memset (out, 0, sizeof (*out));
  if (cg_read_i64 (dirfd, limit_file, &out->limit, err) < 0)
    return -1;
  if (cg_file_exists (dirfd, swap_file) && cg_read_i64 (dirfd, swap_file, &swap, err) < 0)
    return -1;
  /* plan_current.memsw is memory+swap (v1 semantics) on both versions. */
  if (version == CG_V1 || swap < 0 || out->limit < 0)
    out->memsw = swap < 0 ? -1 : swap;
  else
    out->memsw = out->limit + swap;
  if (version == CG_V2 && out->limit < 0)
    out->memsw = -1;
  out->known = true;
  return 0;
}
