#include "watch_grow.h"

#include <inttypes.h>
#include <stdio.h>

#include "cgfile.h"
#include "cleanup.h"

static int
write_i64 (int dirfd, const char *file, int64_t v, mh_error_t *err)
{
  char text[32];

  snprintf (text, sizeof (text), "%" PRId64, v);
  return cg_write (dirfd, file, text, err);
}

static int
grow_v1 (int fd, const struct restart_policy *policy, int64_t limit, int64_t *out, mh_error_t *err)
{
  const char *memsw = "memory.memsw.limit_in_bytes";
  bool has_memsw = cg_file_exists (fd, memsw);
  int64_t swap = -1, new_limit, new_swap;
  cleanup_error mh_error_t undo_err = NULL;

  /* -1 (unlimited) stays -1. */
  if (has_memsw && cg_read_i64 (fd, memsw, &swap, err) < 0)
    return -1;
  if (!restart_grow (policy, limit, has_memsw ? swap : 0, &new_limit, &new_swap))
    return 0;
  /* memsw >= limit at every step: raise memsw first. */
  if (has_memsw && new_swap > 0 && new_swap != swap && write_i64 (fd, memsw, new_swap, err) < 0)
    return -1;
  if (write_i64 (fd, "memory.limit_in_bytes", new_limit, err) < 0)
    {
      if (has_memsw && new_swap > 0 && new_swap != swap)
        write_i64 (fd, memsw, swap, &undo_err);
      return -1;
    }
  *out = new_limit;
  return 0;
}

int
watch_grow (int cgroup_dirfd, enum cg_version version, const struct restart_policy *policy, int64_t *limit,
            mh_error_t *err)
{
  const char *file = version == CG_V1 ? "memory.limit_in_bytes" : "memory.max";
  int64_t now, new_limit, unused;

  if (cg_read_i64 (cgroup_dirfd, file, &now, err) < 0)
    return -1;
  *limit = now;
  if (!policy->grow || now < 0)
    return 0;
  if (version == CG_V1)
    return grow_v1 (cgroup_dirfd, policy, now, limit, err);
  /* v2: memory.swap.max is the allowance itself and stays as it is. */
  if (!restart_grow (policy, now, 0, &new_limit, &unused))
    return 0;
  if (write_i64 (cgroup_dirfd, "memory.max", new_limit, err) < 0)
    return -1;
  *limit = new_limit;
  return 0;
}
