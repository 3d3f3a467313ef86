/* What memhook reads from a bundle's config.json. */
#ifndef MEMHOOK_OCI_CONFIG_H
#define MEMHOOK_OCI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "json.h"
#include "policy.h"

struct opt_i64
{
  bool present;
  int64_t value;
};
struct opt_u64
{
  bool present;
  uint64_t value;
};
struct opt_bool
{
  bool present;
  bool value;
};

/* linux.resources.memory, every field with a present flag: absent differs
 * from 0 (runc treats 0 as unset, crun as a value). */
struct oci_memory
{
  struct opt_i64 limit;
  struct opt_i64 reservation;
  struct opt_i64 swap; /* memory + swap, v1 semantics */
  struct opt_i64 kernel;
  struct opt_i64 kernel_tcp;
  struct opt_u64 swappiness;
  struct opt_bool disable_oom_killer;
  struct opt_bool use_hierarchy;
  struct opt_bool check_before_update;
};

struct oci_kv
{
  char *key;
  char *value;
};

struct oci_kv_list
{
  size_t len;
  struct oci_kv *items;
};

struct oci_config
{
  bool has_memory; /* linux.resources.memory present */
  struct oci_memory memory;
  struct oci_kv_list unified;     /* linux.resources.unified */
  char *cgroups_path;             /* linux.cgroupsPath, NULL when absent */
  struct oci_kv_list annotations; /* annotations */
  size_t n_args;
  char **args; /* process.args */
  size_t n_env;
  char **env; /* process.env */
};

/* From a parsed tree (the wrapper keeps the tree to rewrite it). */
int oci_config_from_json (const struct json *root, struct oci_config *out, mh_error_t *err);
int oci_config_parse (const char *buf, size_t len, struct oci_config *out, mh_error_t *err);
/* path is a config.json file; errors are prefixed with the path. */
int oci_config_load (const char *path, struct oci_config *out, mh_error_t *err);
void oci_config_free (struct oci_config *c);

const char *oci_kv_get (const struct oci_kv_list *l, const char *key);

/* The value of NAME in process.env (its first occurrence, as getenv()
 * finds it), NULL when absent. */
const char *oci_env_get (const struct oci_config *c, const char *name);

/* The restart settings (policy.h): each io.memhook.* annotation, else the
 * MEMHOOK_* variable of process.env that stands in for it; a refusal names
 * the one that was used.  Points into *c. */
void oci_restart_sources (const struct oci_config *c, struct restart_sources *out);
/* An object of string values (annotations, unified) as a list in key
 * order; obj NULL gives an empty list.  Errors name "<path>.<key>". */
int oci_kv_list_from_json (const struct json *obj, const char *path, struct oci_kv_list *out, mh_error_t *err);
void oci_kv_list_free (struct oci_kv_list *l);

#endif
