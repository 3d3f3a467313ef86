/* The parts of a bundle's config.json memhook acts on.  Unknown fields
 * are ignored, as runtimes do; a known field of the wrong type is an
 * error naming its path, since guessing would change what the user asked. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define KEY_SHOWN_MAX 64

enum field_kind
{
  FIELD_I64,
  FIELD_U64,
  FIELD_BOOL,
};

static const struct
{
  const char *key;
  enum field_kind kind;
  size_t offset;
} memory_fields[] = {
  { "limit", FIELD_I64, offsetof (struct oci_memory, limit) },
  { "reservation", FIELD_I64, offsetof (struct oci_memory, reservation) },
  { "swap", FIELD_I64, offsetof (struct oci_memory, swap) },
  { "kernel", FIELD_I64, offsetof (struct oci_memory, kernel) },
  { "kernelTCP", FIELD_I64, offsetof (struct oci_memory, kernel_tcp) },
  { "swappiness", FIELD_U64, offsetof (struct oci_memory, swappiness) },
  { "disableOOMKiller", FIELD_BOOL, offsetof (struct oci_memory, disable_oom_killer) },
  { "useHierarchy", FIELD_BOOL, offsetof (struct oci_memory, use_hierarchy) },
  { "checkBeforeUpdate", FIELD_BOOL, offsetof (struct oci_memory, check_before_update) },
};

static int
read_memory (const struct json *mem, struct oci_memory *m, mh_error_t *err)
{
  size_t i;

  for (i = 0; i < sizeof (memory_fields) / sizeof (memory_fields[0]); i++)
    {
      void *field = (char *) m + memory_fields[i].offset;
      char path[64];
      int ret;

      snprintf (path, sizeof (path), "linux.resources.memory.%s", memory_fields[i].key);
      switch (memory_fields[i].kind)
        {
        case FIELD_I64:
          {
            struct opt_i64 *f = field;
            ret = json_get_int64 (mem, memory_fields[i].key, path, &f->present, &f->value, err);
            break;
          }
        case FIELD_U64:
          {
            struct opt_u64 *f = field;
            ret = json_get_uint64 (mem, memory_fields[i].key, path, &f->present, &f->value, err);
            break;
          }
        default:
          {
            struct opt_bool *f = field;
            ret = json_get_bool (mem, memory_fields[i].key, path, &f->present, &f->value, err);
            break;
          }
        }
      if (ret < 0)
        return ret;
    }
  return 0;
}

void
oci_kv_list_free (struct oci_kv_list *l)
{
  size_t i;

  for (i = 0; i < l->len; i++)
    {
      free (l->items[i].key);
      free (l->items[i].value);
    }
  free (l->items);
  l->items = NULL;
  l->len = 0;
}

int
oci_kv_list_from_json (const struct json *obj, const char *path, struct oci_kv_list *out, mh_error_t *err)
{
  size_t i, n;

  out->len = 0;
  out->items = NULL;
  if (obj == NULL || obj->type == JSON_NULL)
    return 0;
  if (obj->type != JSON_OBJECT)
    return json_type_error (obj, path, "an object", err);
  n = obj->u.object.len;
  if (n == 0)
    return 0;
  out->items = calloc (n, sizeof (*out->items));
  if (out->items == NULL)
    return mh_error_make (err, ENOMEM, "%s", path);
  for (i = 0; i < n; i++)
    {
      const char *key = obj->u.object.keys[i], *value;
      cleanup_free char *shown = json_printable (key, strlen (key), KEY_SHOWN_MAX);
      cleanup_free char *item_path = NULL;

      if (shown == NULL || asprintf (&item_path, "%s.%s", path, shown) < 0)
        {
          item_path = NULL;
          oci_kv_list_free (out);
          return mh_error_make (err, ENOMEM, "%s", path);
        }
      if (json_string_value (obj->u.object.values[i], item_path, &value, err) < 0)
        {
          oci_kv_list_free (out);
          return -1;
        }
      out->items[i].key = strdup (key);
      out->items[i].value = strdup (value);
      out->len = i + 1;
      if (out->items[i].key == NULL || out->items[i].value == NULL)
        {
          oci_kv_list_free (out);
          return mh_error_make (err, ENOMEM, "%s", path);
        }
    }
  return 0;
}

const char *
oci_kv_get (const struct oci_kv_list *l, const char *key)
{
  size_t i;

  if (l == NULL)
    return NULL;
  for (i = 0; i < l->len; i++)
    if (strcmp (l->items[i].key, key) == 0)
      return l->items[i].value;
  return NULL;
}

const char *
oci_env_get (const struct oci_config *c, const char *name)
{
  size_t n = strlen (name);

  /* The first one, as getenv() in the container finds it. */
  for (size_t i = 0; i < c->n_env; i++)
    if (strncmp (c->env[i], name, n) == 0 && c->env[i][n] == '=')
      return c->env[i] + n + 1;
  return NULL;
}

/* One restart setting: the annotation, else the variable of process.env. */
static struct restart_source
restart_source (const struct oci_config *c, const char *annotation, const char *env, const char *env_name)
{
  struct restart_source s = { .value = oci_kv_get (&c->annotations, annotation), .name = annotation };

  if (s.value == NULL && (s.value = oci_env_get (c, env)) != NULL)
    s.name = env_name;
  return s;
}

void
oci_restart_sources (const struct oci_config *c, struct restart_sources *out)
{
  out->restart = restart_source (c, RESTART_ANNOTATION, RESTART_ENV, "process.env " RESTART_ENV);
  out->backoff
      = restart_source (c, RESTART_BACKOFF_ANNOTATION, RESTART_BACKOFF_ENV, "process.env " RESTART_BACKOFF_ENV);
  out->grow = restart_source (c, RESTART_GROW_ANNOTATION, RESTART_GROW_ENV, "process.env " RESTART_GROW_ENV);
}

static void
strv_free (char **v, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

static int
read_strings (const struct json *parent, const char *key, const char *path, char ***out, size_t *n,
              mh_error_t *err)
{
  const struct json *arr;
  char **v;
  size_t i;

  *out = NULL;
  *n = 0;
  if (json_get_array (parent, key, path, &arr, err) < 0)
    return -1;
  if (arr == NULL || arr->u.array.len == 0)
    return 0;
  v = calloc (arr->u.array.len, sizeof (*v));
  if (v == NULL)
    return mh_error_make (err, ENOMEM, "%s", path);
  for (i = 0; i < arr->u.array.len; i++)
    {
      char item_path[128];
      const char *s;

      snprintf (item_path, sizeof (item_path), "%s[%zu]", path, i);
      if (json_string_value (arr->u.array.items[i], item_path, &s, err) < 0)
        {
          strv_free (v, i);
          return -1;
        }
      v[i] = strdup (s);
      if (v[i] == NULL)
        {
          strv_free (v, i);
          return mh_error_make (err, ENOMEM, "%s", path);
        }
    }
  *out = v;
  *n = arr->u.array.len;
  return 0;
}

static int
read_linux (const struct json *linux_obj, struct oci_config *c, mh_error_t *err)
{
  const struct json *resources, *memory, *unified;
  const char *cgroups_path;

  if (json_get_object (linux_obj, "resources", "linux.resources", &resources, err) < 0
      || json_get_object (resources, "memory", "linux.resources.memory", &memory, err) < 0
      || json_get_object (resources, "unified", "linux.resources.unified", &unified, err) < 0
      || json_get_string (linux_obj, "cgroupsPath", "linux.cgroupsPath", &cgroups_path, err) < 0)
    return -1;
  c->has_memory = memory != NULL;
  if (read_memory (memory, &c->memory, err) < 0
      || oci_kv_list_from_json (unified, "linux.resources.unified", &c->unified, err) < 0)
    return -1;
  if (cgroups_path != NULL && (c->cgroups_path = strdup (cgroups_path)) == NULL)
    return mh_error_make (err, ENOMEM, "linux.cgroupsPath");
  return 0;
}

int
oci_config_from_json (const struct json *root, struct oci_config *out, mh_error_t *err)
{
  struct oci_config c = { 0 };
  const struct json *linux_obj, *process, *annotations;

  memset (out, 0, sizeof (*out));
  if (root == NULL || root->type != JSON_OBJECT)
    return json_type_error (root, "top level", "an object", err);
  if (json_get_object (root, "linux", "linux", &linux_obj, err) < 0
      || json_get_object (root, "process", "process", &process, err) < 0
      || json_get_object (root, "annotations", "annotations", &annotations, err) < 0
      || read_linux (linux_obj, &c, err) < 0
      || oci_kv_list_from_json (annotations, "annotations", &c.annotations, err) < 0
      || read_strings (process, "args", "process.args", &c.args, &c.n_args, err) < 0
      || read_strings (process, "env", "process.env", &c.env, &c.n_env, err) < 0)
    {
      oci_config_free (&c);
      return -1;
    }
  *out = c;
  return 0;
}

int
oci_config_parse (const char *buf, size_t len, struct oci_config *out, mh_error_t *err)
{
  cleanup_json struct json *root = NULL;

  memset (out, 0, sizeof (*out));
  if (json_parse (buf, len, "config.json", &root, err) < 0)
    return -1;
  return oci_config_from_json (root, out, err);
}

int
oci_config_load (const char *path, struct oci_config *out, mh_error_t *err)
{
  cleanup_json struct json *root = NULL;

  memset (out, 0, sizeof (*out));
  /* Parse errors already name the file. */
  if (json_parse_file (path, &root, err) < 0)
    return -1;
  if (oci_config_from_json (root, out, err) < 0)
    return mh_error_wrap (err, "%s", path);
  return 0;
}

void
oci_config_free (struct oci_config *c)
{
  if (c == NULL)
    return;
  oci_kv_list_free (&c->unified);
  oci_kv_list_free (&c->annotations);
  free (c->cgroups_path);
  strv_free (c->args, c->n_args);
  strv_free (c->env, c->n_env);
  memset (c, 0, sizeof (*c));
}
