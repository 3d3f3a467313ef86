/* The plan as JSON, shared by `memhook validate --json` and the apply
 * event.  NULL means out of memory; the setters free what they are given
 * on failure, so a failed build leaks nothing. */
#include "plan.h"

#include <stddef.h>

#include "json.h"

static int
set_string (struct json *obj, const char *key, const char *value)
{
  return json_object_set (obj, key, value ? json_new_string (value) : json_new_null (), NULL);
}

static struct json *
step_json (const struct plan_step *s, bool with_why)
{
  struct json *o = json_new_object ();

  if (o == NULL || set_string (o, "field", s->field) < 0 || set_string (o, "file", s->file) < 0
      || set_string (o, "value", s->value) < 0 || (with_why && s->why && set_string (o, "why", s->why) < 0))
    {
      json_free (o);
      return NULL;
    }
  return o;
}

static struct json *
steps_json (const struct plan *p, bool with_why)
{
  struct json *a = json_new_array ();

  for (size_t i = 0; a != NULL && i < p->n_steps; i++)
    if (json_array_append (a, step_json (&p->steps[i], with_why), NULL) < 0)
      {
        json_free (a);
        return NULL;
      }
  return a;
}

static struct json *
notes_json (const struct plan_note *n, size_t len)
{
  struct json *a = json_new_array ();

  for (size_t i = 0; a != NULL && i < len; i++)
    {
      struct json *o = json_new_object ();

      if (o == NULL || set_string (o, "field", n[i].field) < 0 || set_string (o, "message", n[i].message) < 0)
        {
          json_free (o);
          json_free (a);
          return NULL;
        }
      if (json_array_append (a, o, NULL) < 0) /* frees o */
        {
          json_free (a);
          return NULL;
        }
    }
  return a;
}

static struct json *
policy_json (const struct plan *p)
{
  struct json *a = json_new_array ();

  for (size_t i = 0; a != NULL && i < p->n_policy; i++)
    {
      const struct plan_policy_change *c = &p->policy[i];
      struct json *o = json_new_object ();

      if (o == NULL || set_string (o, "field", c->field) < 0 || set_string (o, "option", c->option) < 0
          || set_string (o, "message", c->message) < 0)
        {
          json_free (o);
          json_free (a);
          return NULL;
        }
      if (json_array_append (a, o, NULL) < 0)
        {
          json_free (a);
          return NULL;
        }
    }
  return a;
}

struct json *
plan_steps_to_json (const struct plan *p)
{
  return steps_json (p, false);
}

struct json *
plan_to_json (const struct plan *p)
{
  struct json *o = json_new_object ();

  if (o == NULL || json_object_set (o, "version", json_new_int (p->version), NULL) < 0
      || json_object_set (o, "steps", steps_json (p, true), NULL) < 0
      || json_object_set (o, "warnings", notes_json (p->warnings, p->n_warnings), NULL) < 0
      || json_object_set (o, "errors", notes_json (p->errors, p->n_errors), NULL) < 0
      || json_object_set (o, "policy", policy_json (p), NULL) < 0
      || json_object_set (o, "notes", notes_json (p->notes, p->n_notes), NULL) < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}
