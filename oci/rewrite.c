#include "rewrite.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

enum field_kind
{
  FIELD_I64,
  FIELD_U64,
  FIELD_BOOL,
};

struct memory_field
{
  const char *key;
  const char *path;
  enum field_kind kind;
  size_t offset; /* of the opt_* member in struct oci_memory */
};

#define MEM_PATH "linux.resources.memory."
static const struct memory_field memory_fields[REWRITE_MEMORY_FIELDS] = {
  { "limit", MEM_PATH "limit", FIELD_I64, offsetof (struct oci_memory, limit) },
  { "reservation", MEM_PATH "reservation", FIELD_I64, offsetof (struct oci_memory, reservation) },
  { "swap", MEM_PATH "swap", FIELD_I64, offsetof (struct oci_memory, swap) },
  { "kernel", MEM_PATH "kernel", FIELD_I64, offsetof (struct oci_memory, kernel) },
  { "kernelTCP", MEM_PATH "kernelTCP", FIELD_I64, offsetof (struct oci_memory, kernel_tcp) },
  { "swappiness", MEM_PATH "swappiness", FIELD_U64, offsetof (struct oci_memory, swappiness) },
  { "disableOOMKiller", MEM_PATH "disableOOMKiller", FIELD_BOOL, offsetof (struct oci_memory, disable_oom_killer) },
  { "useHierarchy", MEM_PATH "useHierarchy", FIELD_BOOL, offsetof (struct oci_memory, use_hierarchy) },
  { "checkBeforeUpdate", MEM_PATH "checkBeforeUpdate", FIELD_BOOL, offsetof (struct oci_memory, check_before_update) },
};

static const char *const hook_stages[REWRITE_HOOK_STAGES] = { "createRuntime", "poststart", "poststop" };

static bool
field_present (const struct memory_field *f, const struct oci_memory *m)
{
  const char *p = (const char *) m + f->offset;
  switch (f->kind)
    {
    case FIELD_I64:
      return ((const struct opt_i64 *) p)->present;
    case FIELD_U64:
      return ((const struct opt_u64 *) p)->present;
    case FIELD_BOOL:
      return ((const struct opt_bool *) p)->present;
    }
  return false;
}

/* A number node's text as an exact uint64 (digits only, no sign). */
static bool
number_u64 (const struct json *n, uint64_t *out)
{
  const char *s = n->u.number;
  char *end = NULL;

  if (s == NULL || *s < '0' || *s > '9')
    return false;
  errno = 0;
  *out = strtoull (s, &end, 10);
  return errno == 0 && *end == '\0';
}

/* Whether the node already holds the effective value. */
static bool
field_equal (const struct memory_field *f, const struct oci_memory *m, const struct json *node)
{
  const char *p = (const char *) m + f->offset;
  cleanup_error mh_error_t ignored = NULL;

  switch (f->kind)
    {
    case FIELD_I64:
      {
        int64_t v;
        return node->type == JSON_NUMBER && json_number_int64 (node, f->path, &v, &ignored) == 0
               && v == ((const struct opt_i64 *) p)->value;
      }
    case FIELD_U64:
      {
        uint64_t v;
        return node->type == JSON_NUMBER && number_u64 (node, &v) && v == ((const struct opt_u64 *) p)->value;
      }
    case FIELD_BOOL:
      return node->type == JSON_BOOL && node->u.boolean == ((const struct opt_bool *) p)->value;
    }
  return false;
}

static struct json *
field_node (const struct memory_field *f, const struct oci_memory *m)
{
  const char *p = (const char *) m + f->offset;

  switch (f->kind)
    {
    case FIELD_I64:
      return json_new_int (((const struct opt_i64 *) p)->value);
    case FIELD_U64:
      return json_new_uint (((const struct opt_u64 *) p)->value);
    case FIELD_BOOL:
      return json_new_bool (((const struct opt_bool *) p)->value);
    }
  return NULL;
}

/* obj[key] as an object, created (appended) when absent and create is set;
 * *out = NULL when absent and not created. */
static int
child_object (struct json *obj, const char *key, const char *path, bool create, struct json **out, mh_error_t *err)
{
  struct json *child = json_get (obj, key);

  *out = NULL;
  if (child != NULL && child->type == JSON_OBJECT)
    {
      *out = child;
      return 0;
    }
  if (child != NULL && child->type != JSON_NULL)
    return mh_error_make (err, 0, "%s: expected an object, got %s", path, json_type_name (child->type));
  if (!create)
    return 0;
  child = json_new_object ();
  if (child == NULL)
    return mh_error_make (err, ENOMEM, "%s", path);
  if (json_object_set (obj, key, child, err) < 0)
    return -1;
  *out = child;
  return 0;
}

/* linux.resources.memory; created on the way when create is set. */
static int
memory_object (struct json *root, bool create, struct json **out, mh_error_t *err)
{
  struct json *linux_obj = NULL, *resources = NULL;

  *out = NULL;
  if (root->type != JSON_OBJECT)
    return mh_error_make (err, 0, "config.json: expected an object, got %s", json_type_name (root->type));
  if (child_object (root, "linux", "linux", create, &linux_obj, err) < 0)
    return -1;
  if (linux_obj == NULL)
    return 0;
  if (child_object (linux_obj, "resources", "linux.resources", create, &resources, err) < 0)
    return -1;
  if (resources == NULL)
    return 0;
  return child_object (resources, "memory", "linux.resources.memory", create, out, err);
}

int
rewrite_memory (struct json *root, const struct oci_memory *effective, struct rewrite_result *res, mh_error_t *err)
{
  struct json *memory = NULL;

  if (memory_object (root, false, &memory, err) < 0)
    return -1;
  for (size_t i = 0; i < REWRITE_MEMORY_FIELDS; i++)
    {
      const struct memory_field *f = &memory_fields[i];
      struct json *node = memory ? json_get (memory, f->key) : NULL;
      bool have = node != NULL && node->type != JSON_NULL;

      if (!field_present (f, effective))
        {
          if (have)
            {
              json_object_remove (memory, f->key);
              res->dropped[res->n_dropped++] = f->path;
              res->changed = true;
            }
          continue;
        }
      if (have && field_equal (f, effective, node))
        continue;
      if (memory == NULL && memory_object (root, true, &memory, err) < 0)
        return -1;
      struct json *value = field_node (f, effective);
      if (value == NULL)
        return mh_error_make (err, ENOMEM, "%s", f->path);
      if (json_object_set (memory, f->key, value, err) < 0)
        return mh_error_wrap (err, "%s", f->path);
      res->set[res->n_set++] = f->path;
      res->changed = true;
    }
  return 0;
}

int
rewrite_drop_unified (struct json *root, struct rewrite_result *res, mh_error_t *err)
{
  struct json *linux_obj = NULL, *resources = NULL;

  if (root->type != JSON_OBJECT)
    return mh_error_make (err, 0, "config.json: expected an object, got %s", json_type_name (root->type));
  if (child_object (root, "linux", "linux", false, &linux_obj, err) < 0)
    return -1;
  if (linux_obj == NULL)
    return 0;
  if (child_object (linux_obj, "resources", "linux.resources", false, &resources, err) < 0)
    return -1;
  if (resources != NULL && json_object_remove (resources, "unified"))
    res->unified_dropped = res->changed = true;
  return 0;
}

bool
rewrite_is_memhook_hook (const struct json *hook)
{
  const struct json *path, *args;
  const char *base;

  if (hook == NULL || hook->type != JSON_OBJECT)
    return false;
  path = json_get (hook, "path");
  args = json_get (hook, "args");
  if (path == NULL || path->type != JSON_STRING || args == NULL || args->type != JSON_ARRAY || args->u.array.len < 2)
    return false;
  base = strrchr (path->u.string.data, '/');
  base = base ? base + 1 : path->u.string.data;
  return strcmp (base, "memhook") == 0 && args->u.array.items[1]->type == JSON_STRING
         && strcmp (args->u.array.items[1]->u.string.data, "hook") == 0;
}

static int
stage_has_memhook (const struct json *hooks, const char *stage, bool *found, mh_error_t *err)
{
  const struct json *arr = json_get (hooks, stage);

  if (arr == NULL || arr->type == JSON_NULL)
    return 0;
  if (arr->type != JSON_ARRAY)
    return mh_error_make (err, 0, "hooks.%s: expected an array, got %s", stage, json_type_name (arr->type));
  for (size_t i = 0; i < arr->u.array.len; i++)
    if (rewrite_is_memhook_hook (arr->u.array.items[i]))
      *found = true;
  return 0;
}

/* Appends a new string; takes care of an allocation failure. */
static int
append_string (struct json *arr, const char *s, mh_error_t *err)
{
  struct json *str = json_new_string (s);

  if (str == NULL)
    return mh_error_make (err, ENOMEM, "hook args");
  return json_array_append (arr, str, err);
}

static struct json *
hook_entry (const char *hook_path, const char *stage, char *const *options, mh_error_t *err)
{
  cleanup_json struct json *hook = json_new_object ();
  struct json *args = json_new_array ();
  struct json *path = json_new_string (hook_path);
  const char *fixed[] = { "memhook", "hook", stage };

  if (hook == NULL || args == NULL || path == NULL)
    {
      json_free (args);
      json_free (path);
      mh_error_make (err, ENOMEM, "hooks.%s", stage);
      return NULL;
    }
  /* json_object_set owns the value from here on, even when it fails. */
  if (json_object_set (hook, "path", path, err) < 0)
    {
      json_free (args);
      return NULL;
    }
  if (json_object_set (hook, "args", args, err) < 0)
    return NULL;
  for (size_t i = 0; i < 3; i++)
    if (append_string (args, fixed[i], err) < 0)
      return NULL;
  for (size_t i = 0; options && options[i]; i++)
    if (append_string (args, options[i], err) < 0)
      return NULL;
  return steal_pointer (&hook);
}

static int
add_hook (struct json *hooks, const char *stage, const char *hook_path, char *const *options, mh_error_t *err)
{
  struct json *arr = json_get (hooks, stage);
  struct json *entry = hook_entry (hook_path, stage, options, err);

  if (entry == NULL)
    return -1;
  if (arr == NULL || arr->type == JSON_NULL)
    {
      arr = json_new_array ();
      if (arr == NULL)
        {
          json_free (entry);
          return mh_error_make (err, ENOMEM, "hooks.%s", stage);
        }
      if (json_object_set (hooks, stage, arr, err) < 0)
        {
          json_free (entry);
          return -1;
        }
    }
  return json_array_append (arr, entry, err);
}

bool
rewrite_hooks_present (const struct json *root)
{
  const struct json *hooks = root && root->type == JSON_OBJECT ? json_get (root, "hooks") : NULL;
  cleanup_error mh_error_t err = NULL;

  if (hooks == NULL || hooks->type != JSON_OBJECT)
    return false;
  for (size_t i = 0; i < REWRITE_HOOK_STAGES; i++)
    {
      bool found = false;
      if (stage_has_memhook (hooks, hook_stages[i], &found, &err) < 0)
        return false;
      if (!found && strcmp (hook_stages[i], "createRuntime") == 0
          && stage_has_memhook (hooks, "prestart", &found, &err) < 0)
        return false;
      if (!found)
        return false;
    }
  return true;
}

int
rewrite_hooks (struct json *root, const char *hook_path, char *const *options, struct rewrite_result *res,
               mh_error_t *err)
{
  struct json *hooks = NULL;

  if (root->type != JSON_OBJECT)
    return mh_error_make (err, 0, "config.json: expected an object, got %s", json_type_name (root->type));
  if (child_object (root, "hooks", "hooks", false, &hooks, err) < 0)
    return -1;
  for (size_t i = 0; i < REWRITE_HOOK_STAGES; i++)
    {
      const char *stage = hook_stages[i];
      bool found = false;

      if (hooks != NULL)
        {
          if (stage_has_memhook (hooks, stage, &found, err) < 0)
            return -1;
          if (strcmp (stage, "createRuntime") == 0 && stage_has_memhook (hooks, "prestart", &found, err) < 0)
            return -1;
        }
      if (found)
        continue;
      if (hooks == NULL && child_object (root, "hooks", "hooks", true, &hooks, err) < 0)
        return -1;
      if (add_hook (hooks, stage, hook_path, options, err) < 0)
        return mh_error_wrap (err, "add memhook's %s hook", stage);
      res->hooks[res->n_hooks++] = stage;
      res->changed = true;
    }
  return 0;
}
