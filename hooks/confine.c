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

static int
drop_caps (unsigned flags, mh_error_t *err)
{
  bool keep_dac = (flags & CONFINE_KEEP_DAC_OVERRIDE) != 0;
  cap_value_t keep[] = { CAP_DAC_OVERRIDE };
  cap_t caps;
  cap_flag_value_t setpcap = CAP_CLEAR;
  int rc;

  caps = cap_get_proc ();
  if (caps == NULL)
    return mh_error_make (err, errno, "read capabilities");
  cap_get_flag (caps, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
  cap_free (caps);
  /* The bounding set first: dropping from it takes CAP_SETPCAP, which the
   * next step gives up.  Without CAP_SETPCAP (a rootless engine) there is
   * no bounding set to shrink, and no exec follows anyway. */
  for (cap_value_t c = 0; setpcap == CAP_SET && c <= CAP_LAST_CAP; c++)
    {
      if (keep_dac && c == CAP_DAC_OVERRIDE)
        continue;
      if (CAP_IS_SUPPORTED (c) && cap_drop_bound (c) < 0 && errno != EINVAL)
        return mh_error_make (err, errno, "drop capability %d from the bounding set", (int) c);
    }
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    return mh_error_make (err, errno, "clear ambient capabilities");
  caps = cap_init ();
  if (caps == NULL)
    return mh_error_make (err, errno, "capabilities");
  if (keep_dac)
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
