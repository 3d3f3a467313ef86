#include "confine.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include "memhook-build.h"

#if MEMHOOK_SECCOMP
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "seccomp-filter.h"
#endif

/* Empty effective, permitted, inheritable and ambient sets, and
 * no_new_privs (confine_hook): nothing can be regained, not even by an
 * exec as root, which then gets no more than the empty permitted set it
 * had (and the seccomp filter allows no exec).  So the bounding set, ~80
 * prctl calls on every container start, is left as it is. */
static int
drop_caps (unsigned flags, mh_error_t *err)
{
  cap_value_t keep[] = { CAP_DAC_OVERRIDE };
  cap_t caps;
  int rc;

  /* One prctl; libcap's cap_reset_ambient asks about each capability first. */
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return mh_error_make (err, errno, "clear ambient capabilities");
  caps = cap_init ();
  if (caps == NULL)
    return mh_error_make (err, errno, "capabilities");
  if ((flags & CONFINE_KEEP_DAC_OVERRIDE) != 0)
    {
      cap_set_flag (caps, CAP_EFFECTIVE, 1, keep, CAP_SET);
      cap_set_flag (caps, CAP_PERMITTED, 1, keep, CAP_SET);
    }
  rc = cap_set_proc (caps);
  cap_free (caps);
  if (rc < 0)
    return mh_error_make (err, errno, "drop capabilities");
  return 0;
}

#if MEMHOOK_SECCOMP
/* libseccomp compiled the filter at build time (hooks/seccomp_gen.c). */
static int
load_seccomp (mh_error_t *err)
{
  struct sock_fprog prog = {
    .len = sizeof (confine_filter) / sizeof (confine_filter[0]),
    .filter = (struct sock_filter *) confine_filter,
  };

  if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
    return mh_error_make (err, errno, "load the seccomp filter");
  return 0;
}
#endif

int
confine_has_seccomp (void)
{
  return MEMHOOK_SECCOMP;
}

int
confine_hook (unsigned flags, mh_error_t *err)
{
  if (drop_caps (flags, err) < 0)
    return mh_error_wrap (err, "confine");
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return mh_error_make (err, errno, "confine: no_new_privs");
#if MEMHOOK_SECCOMP
  if (load_seccomp (err) < 0)
    return mh_error_wrap (err, "confine");
#endif
  return 0;
}
