#include "mode.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

const char *
cg_mode_name (enum cg_mode m)
{
  switch (m)
    {
    case CG_MODE_LEGACY:
      return "legacy";
    case CG_MODE_HYBRID:
      return "hybrid";
    case CG_MODE_UNIFIED:
      return "unified";
    }
  return "unknown";
}

static int
fs_magic (const char *path, long *magic)
{
  struct statfs st;

  if (statfs (path, &st) < 0)
    return -1;
  *magic = (long) st.f_type;
  return 0;
}

/* The root cgroup of a v2 hierarchy lists the controllers it offers. */
static int
v2_check_memory (const char *root, mh_error_t *err)
{
  cleanup_close int dirfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *text = NULL;

  if (dirfd < 0)
    return mh_error_make (err, errno, "open %s", root);
  if (read_file_at (dirfd, "cgroup.controllers", 4096, &text, NULL, err) < 0)
    return mh_error_wrap (err, "%s", root);
  for (char *save = NULL, *tok = strtok_r (text, " \n", &save); tok; tok = strtok_r (NULL, " \n", &save))
    if (strcmp (tok, "memory") == 0)
      return 0;
  return mh_error_make (err, 0, "%s/cgroup.controllers does not offer the memory controller; "
                        "enable it in the parent's cgroup.subtree_control", root);
}

static int
v1_check_memory (const char *memory_root, mh_error_t *err)
{
  long magic = 0;
  cleanup_close int dirfd = -1;

  if (fs_magic (memory_root, &magic) < 0)
    return mh_error_make (err, errno, "memory controller: %s is not mounted; mount the cgroup v1 memory controller there", memory_root);
  if (magic != CGROUP_SUPER_MAGIC)
    return mh_error_make (err, 0, "memory controller: %s is not a cgroup v1 mount", memory_root);
  dirfd = open (memory_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return mh_error_make (err, errno, "open %s", memory_root);
  if (faccessat (dirfd, "memory.usage_in_bytes", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return mh_error_make (err, 0, "memory controller: %s is a cgroup mount without the memory controller", memory_root);
  return 0;
}

int
cg_host_detect (const char *root, struct cg_host *out, mh_error_t *err)
{
  long magic = 0;
  cleanup_free char *unified = NULL;
  cleanup_free char *memory = NULL;

  memset (out, 0, sizeof (*out));
  if (fs_magic (root, &magic) < 0)
    return mh_error_make (err, errno, "cgroup mount %s", root);
  if (magic == CGROUP2_SUPER_MAGIC)
    {
      if (v2_check_memory (root, err) < 0)
        return -1;
      out->memory_root = strdup (root);
      if (out->memory_root == NULL)
        return mh_error_make (err, ENOMEM, "detect cgroups");
      out->mode = CG_MODE_UNIFIED;
      out->memory_version = CG_V2;
      return 0;
    }
  if (asprintf (&unified, "%s/unified", root) < 0 || asprintf (&memory, "%s/memory", root) < 0)
    return mh_error_make (err, ENOMEM, "detect cgroups");
  out->mode = (fs_magic (unified, &magic) == 0 && magic == CGROUP2_SUPER_MAGIC) ? CG_MODE_HYBRID : CG_MODE_LEGACY;
  if (v1_check_memory (memory, err) < 0)
    return -1;
  out->memory_version = CG_V1;
  out->memory_root = steal_pointer (&memory);
  return 0;
}

void
cg_host_free (struct cg_host *h)
{
  if (h == NULL)
    return;
  free (h->memory_root);
  h->memory_root = NULL;
}
