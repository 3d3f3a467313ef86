#include "oom.h"

#include <string.h>

#include "cgfile.h"
#include "cleanup.h"

static int
keyed (const char *text, const char *file, const char *key, bool required, int64_t *out, mh_error_t *err)
{
  bool found = false;

  if (cg_keyed_get (text, key, &found, out) < 0)
    return mh_error_make (err, 0, "%s: malformed \"%s\" line", file, key);
  if (!found)
    {
      if (required)
        return mh_error_make (err, 0, "%s: no \"%s\" line; this kernel is too old to count OOM kills", file, key);
      *out = -1;
    }
  return 0;
}

int
cg_oom_read (int dirfd, enum cg_version version, struct cg_oom_counters *out, mh_error_t *err)
{
  const char *file = version == CG_V1 ? "memory.oom_control" : "memory.events";
  cleanup_free char *text = NULL;
  int64_t under = 0;

  memset (out, 0, sizeof (*out));
  if (cg_read_text (dirfd, file, &text, err) < 0)
    return -1;
  if (keyed (text, file, "oom_kill", true, &out->oom_kill, err) < 0)
    return -1;
  if (version == CG_V1)
    {
      out->oom = -1;
      if (keyed (text, file, "under_oom", false, &under, err) < 0)
        return -1;
      out->under_oom = under > 0;
      return 0;
    }
  return keyed (text, file, "oom", false, &out->oom, err);
}
