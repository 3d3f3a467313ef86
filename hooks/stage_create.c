/* createRuntime / prestart: find the container's memory cgroup, build the
 * plan, apply and verify it, take the OOM baseline, start the watcher,
 * give up privileges, write the record and the events.
 *
 * The record (<state-dir>/<id>/record.json) this stage writes:
 *   id, bundle, pid, cgroup (path in the memory hierarchy), cgroup_dir
 *   (absolute), version (1|2), mode, status ("applied"; "failed" plus "error"
 *   when the stage failed after writing it), stage, started
 *   (RFC 3339), limit (bytes the cgroup holds after apply, -1 unlimited),
 *   plan ([{file,value}]), steps ([{file,value,was,found,written}]),
 *   corrections ([{field,file,was,value}]: what the runtime left different),
 *   policy ([{field,option,message}]), warnings ([{field|stage,message}]),
 *   baseline {oom_kill, oom}, watcher_pid (null when none), verdict (null
 *   until the run ends: state/finish.c), exit_by ("watcher" or "runtime":
 *   who ends the run), history (previous runs of this id, oldest first, at
 *   most RECORD_HISTORY_MAX). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "cgfile.h"
#include "cleanup.h"
#include "confine.h"
#include "events.h"
#include "finish.h"
#include "mode.h"
#include "oom.h"
#include "path.h"
#include "plan.h"
#include "metrics.h"
#include "record.h"
#include "stage.h"
#include "statedir.h"
#include "watch.h"

#define RECORD_HISTORY_MAX 20
#define CGROUP_ROOT "/sys/fs/cgroup"

/* Everything the stage gathers, freed in one place. */
struct create_run
{
  struct hook_ctx *ctx;
  struct oci_config config;
  struct cg_host host;
  char *cgroup;     /* relative to the memory root */
  char *cgroup_dir; /* absolute */
  int cgroup_fd;
  int container_fd; /* <state>/<id>/, -1 without a usable state dir */
  struct json *previous;
  struct plan plan;
  struct cg_apply_result applied;
  struct cg_oom_counters baseline;
  int64_t limit;
  pid_t watcher;
  struct json *warnings; /* faults passed and plan warnings, for the record */
  struct json *record;   /* as stored, when it was */
};

static void
run_free (struct create_run *r)
{
  oci_config_free (&r->config);
  cg_host_free (&r->host);
  free (r->cgroup);
  free (r->cgroup_dir);
  if (r->cgroup_fd >= 0)
    close (r->cgroup_fd);
  if (r->container_fd >= 0)
    close (r->container_fd);
  json_free (r->previous);
  plan_free (&r->plan);
  cg_apply_result_free (&r->applied);
  json_free (r->warnings);
  json_free (r->record);
}

static int
put (struct json *o, const char *key, struct json *v, mh_error_t *err)
{
  return json_object_set (o, key, v, err);
}

static struct json *
note (const char *key, const char *field, const char *message)
{
  struct json *o = json_new_object ();
  if (o == NULL || json_object_set (o, key, json_new_string (field ? field : ""), NULL) < 0
      || json_object_set (o, "message", json_new_string (message), NULL) < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}

/* A fault passed under --on-fault=pass is also part of the record. */
static int
fault (struct create_run *r, mh_error_t *err)
{
  char text[2048];

  mh_error_text (*err, text, sizeof (text));
  if (hook_fault (r->ctx, err) < 0)
    return STAGE_FAULT;
  json_array_append (r->warnings, note ("stage", r->ctx->stage, text), NULL);
  return 0;
}

static int
locate_cgroup (struct create_run *r, mh_error_t *err)
{
  const struct oci_state *s = &r->ctx->state;

  if (!s->has_pid)
    return mh_error_make (err, 0, "pid: missing from the state; register memhook for createRuntime or prestart, "
                          "where the runtime sends the container's pid");
  if (cg_host_detect (CGROUP_ROOT, &r->host, err) < 0)
    return -1;
  if (cg_path_of_pid (s->pid, r->host.memory_version, &r->cgroup, err) < 0)
    return -1;
  if (asprintf (&r->cgroup_dir, "%s%s", r->host.memory_root, strcmp (r->cgroup, "/") == 0 ? "" : r->cgroup) < 0)
    {
      r->cgroup_dir = NULL;
      return mh_error_make (err, ENOMEM, "cgroup path");
    }
  return cg_open_dir (&r->host, r->cgroup, &r->cgroup_fd, err);
}

static int
load_config (struct create_run *r, mh_error_t *err)
{
  cleanup_free char *path = NULL;

  if (asprintf (&path, "%s/config.json", r->ctx->state.bundle) < 0)
    return mh_error_make (err, ENOMEM, "config.json");
  return oci_config_load (path, &r->config, err);
}

/* The state dir entry and the previous record; trouble there is a fault. */
static int
open_container_state (struct create_run *r, mh_error_t *err)
{
  if (r->ctx->state_dirfd < 0)
    return 0;
  if (statedir_open_container (r->ctx->state_dirfd, r->ctx->state.id, true, &r->container_fd, err) < 0)
    {
      r->container_fd = -1;
      return fault (r, err);
    }
  if (record_load (r->container_fd, &r->previous, err) < 0)
    return fault (r, err);
  return 0;
}

/* createRuntime and prestart both registered: the second finds the record
 * of this very process already applied. */
static bool
already_applied (const struct create_run *r)
{
  const struct json *pid = json_get (r->previous, "pid");
  const struct json *status = json_get (r->previous, "status");
  int64_t v = 0;
  cleanup_error mh_error_t e = NULL;

  if (pid == NULL || pid->type != JSON_NUMBER || status == NULL || status->type != JSON_STRING)
    return false;
  if (json_number_int64 (pid, "pid", &v, &e) < 0)
    return false;
  return v == r->ctx->state.pid && strcmp (status->u.string.data, "applied") == 0;
}

static int
make_plan (struct create_run *r, mh_error_t *err)
{
  struct plan_input in;

  plan_input_init (&in, &r->config, r->host.memory_version, &r->ctx->opts);

  if (cg_read_current (r->cgroup_fd, r->host.memory_version, &in.current, err) < 0)
    return mh_error_wrap (err, "cgroup %s", r->cgroup_dir);
  if (plan_build (&in, &r->plan, err) < 0)
    return -1;
  if (r->plan.n_errors > 0)
    return mh_error_make (err, 0, "%s", plan_first_error (&r->plan));
  return 0;
}

static int
apply_plan (struct create_run *r, mh_error_t *err)
{
  struct plan_current now;

  if (cg_apply (r->cgroup_fd, &r->plan, &r->applied, err) < 0)
    return -1;
  /* The limit the cgroup really holds, for the watcher and the record. */
  if (cg_read_current (r->cgroup_fd, r->host.memory_version, &now, err) < 0)
    return mh_error_wrap (err, "cgroup %s", r->cgroup_dir);
  r->limit = now.limit;
  return 0;
}

static int
start_watcher (struct create_run *r, mh_error_t *err)
{
  struct restart_sources restart;
  struct restart_policy grow;
  cleanup_error mh_error_t grow_err = NULL;

  /* For process mode's grow, which memhook-runtime checked; a value it
   * never saw (hook-only engines, where nothing restarts) must not stop
   * the watcher from starting. */
  oci_restart_sources (&r->config, &restart);
  restart_policy_init (&grow);
  if (restart.grow.value != NULL && restart_parse_grow (restart.grow.value, &grow, &grow_err) < 0)
    restart.grow.value = NULL;
  struct watch_params p = {
    .state_dir = r->ctx->opts.state_dir,
    .id = r->ctx->state.id,
    .version = r->host.memory_version,
    .memcg = r->cgroup,
    .cgroup_dirfd = r->cgroup_fd,
    .main_pid = r->ctx->state.pid,
    .limit = r->limit,
    .annotations = &r->ctx->state.annotations,
    .metrics_dir = r->ctx->opts.metrics_dir,
    .exit_by_runtime = r->ctx->exit_by_runtime,
    .grow = restart.grow.value,
  };

  r->baseline = (struct cg_oom_counters) { .oom = -1, .oom_kill = -1 };
  if (cg_oom_read (r->cgroup_fd, r->host.memory_version, &r->baseline, err) < 0)
    {
      mh_error_wrap (err, "OOM baseline of %s", r->cgroup_dir);
      return fault (r, err);
    }
  /* The watcher writes into the state dir: without one it has no use. */
  if (r->container_fd < 0)
    return 0;
  p.baseline = r->baseline;
  if (watch_spawn (&p, &r->watcher, err) < 0)
    {
      r->watcher = 0;
      mh_error_wrap (err, "start the OOM watcher");
      return fault (r, err);
    }
  return 0;
}

static int
confine (struct create_run *r, mh_error_t *err)
{
  /* statedir_open checked the state dir is our euid's: no capability is
   * needed for what is left. */
  if (confine_hook (0, err) < 0)
    return fault (r, err);
  return 0;
}

/* The previous run's outcome, for history. */
static struct json *
summary_of (const struct json *prev)
{
  static const char *const keys[] = { "started", "ended", "pid", "limit", "verdict", "exit_code", "signal",
                                      "oom_kills", "main_oom_killed" };
  struct json *o = json_new_object ();

  for (size_t i = 0; o != NULL && i < sizeof (keys) / sizeof (keys[0]); i++)
    {
      const struct json *v = json_get (prev, keys[i]);
      if (v != NULL && json_object_set (o, keys[i], json_copy (v), NULL) < 0)
        {
          json_free (o);
          return NULL;
        }
    }
  return o;
}

static struct json *
history_of (const struct json *prev)
{
  struct json *h = json_new_array ();
  const struct json *old = json_get (prev, "history");
  size_t from = 0;

  if (h == NULL || prev == NULL)
    return h;
  if (old != NULL && old->type == JSON_ARRAY)
    {
      if (old->u.array.len >= RECORD_HISTORY_MAX)
        from = old->u.array.len - (RECORD_HISTORY_MAX - 1);
      for (size_t i = from; i < old->u.array.len; i++)
        if (json_array_append (h, json_copy (old->u.array.items[i]), NULL) < 0)
          goto fail;
    }
  if (json_array_append (h, summary_of (prev), NULL) < 0)
    goto fail;
  return h;
fail:
  json_free (h);
  return NULL;
}

static struct json *
policy_json (const struct plan *p)
{
  cleanup_json struct json *whole = plan_to_json (p);
  const struct json *policy = json_get (whole, "policy");

  return policy ? json_copy (policy) : json_new_array ();
}

static struct json *
int_or_null (int64_t v, bool known)
{
  return known ? json_new_int (v) : json_new_null ();
}

static struct json *
build_record (struct create_run *r, mh_error_t *err)
{
  const struct oci_state *s = &r->ctx->state;
  struct json *rec = json_new_object ();
  struct json *base = json_new_object ();
  bool base_given = false; /* json_object_set owns it from then on, even on failure */
  char now[40];

  if (rec == NULL || base == NULL)
    {
      json_free (rec);
      json_free (base);
      mh_error_make (err, ENOMEM, "record");
      return NULL;
    }
  if (put (base, "oom_kill", int_or_null (r->baseline.oom_kill, r->baseline.oom_kill >= 0), err) < 0
      || put (base, "oom", int_or_null (r->baseline.oom, r->baseline.oom >= 0), err) < 0
      || put (rec, "id", json_new_string (s->id), err) < 0 || put (rec, "bundle", json_new_string (s->bundle), err) < 0
      || put (rec, "pid", json_new_int (s->pid), err) < 0 || put (rec, "cgroup", json_new_string (r->cgroup), err) < 0
      || put (rec, "cgroup_dir", json_new_string (r->cgroup_dir), err) < 0
      || put (rec, "version", json_new_int (r->host.memory_version), err) < 0
      || put (rec, "mode", json_new_string (cg_mode_name (r->host.mode)), err) < 0
      || put (rec, "status", json_new_string ("applied"), err) < 0
      || put (rec, "stage", json_new_string (r->ctx->stage), err) < 0
      || put (rec, "started", json_new_string (events_time_now (now, sizeof (now))), err) < 0
      || put (rec, "limit", json_new_int (r->limit), err) < 0
      || put (rec, "plan", plan_steps_to_json (&r->plan), err) < 0
      || put (rec, "steps", cg_apply_steps_to_json (&r->applied), err) < 0
      || put (rec, "corrections", cg_apply_corrections_to_json (&r->applied), err) < 0
      || put (rec, "policy", policy_json (&r->plan), err) < 0
      || put (rec, "warnings", json_copy (r->warnings), err) < 0 || put (rec, "baseline", (base_given = true, base), err) < 0
      || put (rec, "watcher_pid", int_or_null (r->watcher, r->watcher > 0), err) < 0
      || put (rec, "verdict", json_new_null (), err) < 0
      || put (rec, RECORD_EXIT_BY, json_new_string (r->ctx->exit_by_runtime ? RECORD_EXIT_BY_RUNTIME : "watcher"), err) < 0
      || put (rec, "history", history_of (r->previous), err) < 0)
    {
      if (!base_given)
        json_free (base);
      json_free (rec);
      return NULL;
    }
  return rec;
}

static struct json *
apply_event (struct create_run *r, mh_error_t *err)
{
  const struct oci_state *s = &r->ctx->state;
  struct json *e = event_new ("apply", s->id, &s->annotations);

  if (e == NULL)
    {
      mh_error_make (err, ENOMEM, "apply event");
      return NULL;
    }
  if (put (e, "cgroup", json_new_string (r->cgroup), err) < 0
      || put (e, "version", json_new_int (r->host.memory_version), err) < 0
      || put (e, "plan", plan_steps_to_json (&r->plan), err) < 0 || put (e, "policy", policy_json (&r->plan), err) < 0
      || put (e, "corrections", cg_apply_corrections_to_json (&r->applied), err) < 0)
    {
      json_free (e);
      return NULL;
    }
  return e;
}

static int
write_record_and_events (struct create_run *r, mh_error_t *err)
{
  const struct oci_state *s = &r->ctx->state;
  cleanup_json struct json *rec = NULL;
  cleanup_json struct json *event = NULL;

  if (r->container_fd < 0)
    return 0;
  for (size_t i = 0; i < r->plan.n_warnings; i++)
    json_array_append (r->warnings, note ("field", r->plan.warnings[i].field, r->plan.warnings[i].message), NULL);
  rec = build_record (r, err);
  if (rec == NULL || record_store (r->container_fd, rec, err) < 0)
    return fault (r, err);
  r->record = steal_pointer (&rec);
  event = apply_event (r, err);
  if (event == NULL || events_append (r->ctx->state_dirfd, event, err) < 0)
    return fault (r, err);
  for (size_t i = 0; i < r->plan.n_warnings; i++)
    if (events_warning (r->ctx->state_dirfd, s->id, &s->annotations, "field", r->plan.warnings[i].field,
                        r->plan.warnings[i].message, err) < 0)
      return fault (r, err);
  if (r->ctx->opts.metrics_dir != NULL && metrics_write (r->ctx->state_dirfd, r->ctx->opts.metrics_dir, err) < 0)
    return fault (r, err);
  return 0;
}

/* A failing stage leaves the cgroup as it found it (a fault under
 * --on-fault=fail stops the container too). */
static void
undo_apply (struct create_run *r, mh_error_t *err)
{
  cleanup_error mh_error_t e = NULL;
  char *joined = NULL;
  char text[2048];

  /* A record already written must not claim this run applied. */
  if (r->record != NULL && err != NULL && *err != NULL
      && json_object_set (r->record, "status", json_new_string ("failed"), NULL) == 0
      && json_object_set (r->record, "error", json_new_string (mh_error_text (*err, text, sizeof (text))), NULL) == 0)
    record_store (r->container_fd, r->record, &e);
  mh_error_free (&e);
  if (cg_apply_undo (r->cgroup_fd, &r->applied, &e) == 0 || err == NULL || *err == NULL)
    return;
  if (asprintf (&joined, "%s; and %s", (*err)->msg ? (*err)->msg : "", e->msg ? e->msg : "") < 0)
    return;
  free ((*err)->msg);
  (*err)->msg = joined;
}

int
stage_create (struct hook_ctx *ctx, mh_error_t *err)
{
  struct create_run r = { .ctx = ctx, .cgroup_fd = -1, .container_fd = -1, .limit = -1 };
  int rc;

  r.warnings = json_new_array ();
  if (r.warnings == NULL)
    rc = mh_error_make (err, ENOMEM, "record");
  /* Everything is read and opened before anything is written. */
  else if ((rc = load_config (&r, err)) < 0 || (rc = locate_cgroup (&r, err)) < 0
           || (rc = open_container_state (&r, err)) < 0)
    ;
  else if (already_applied (&r))
    rc = 0;
  else if ((rc = make_plan (&r, err)) < 0 || (rc = apply_plan (&r, err)) < 0)
    ;
  else if ((rc = start_watcher (&r, err)) < 0 || (rc = confine (&r, err)) < 0
           || (rc = write_record_and_events (&r, err)) < 0)
    undo_apply (&r, err);
  run_free (&r);
  return rc;
}
