#include "confine.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include "memhook-build.h"

#if MEMHOOK_SECCOMP
#include <seccomp.h>
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
/* What the rest of the hook does: read/write/flock/rename/fsync in the
 * state dir, allocate, log to syslog (a unix socket), print one line and
 * exit.  Anything else fails with EPERM rather than killing the process,
 * so an unforeseen libc call becomes an error message, not a crash. */
static const char *const allowed[] = {
  "read", "write", "writev", "pread64", "pwrite64", "readv", "openat", "close", "fstat", "newfstatat",
  "statx", "lseek", "mmap", "munmap", "mremap", "mprotect", "brk", "madvise", "flock", "fsync", "fdatasync",
  "ftruncate", "renameat", "renameat2", "unlinkat", "fchmod", "getrandom", "clock_gettime", "gettimeofday",
  "time", "exit", "exit_group", "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "getpid", "gettid",
  "tgkill", "socket", "connect", "sendto", "sendmsg", "fcntl", "dup", "dup3", "getuid", "geteuid", "getgid",
  "getegid", "futex", "restart_syscall", "sched_yield", "getdents64",
};

static int
load_seccomp (mh_error_t *err)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ERRNO (EPERM));
  int rc = 0;

  if (ctx == NULL)
    return mh_error_make (err, ENOMEM, "seccomp");
  for (size_t i = 0; rc == 0 && i < sizeof (allowed) / sizeof (allowed[0]); i++)
    {
      int nr = seccomp_syscall_resolve_name (allowed[i]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* not on this architecture */
      rc = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 0);
    }
  /* isatty() from stdio: only the terminal query. */
  if (rc == 0)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), 1, SCMP_A1 (SCMP_CMP_EQ, TCGETS));
  if (rc == 0)
    rc = seccomp_load (ctx); /* sets no_new_privs first (SCMP_FLTATR_CTL_NNP) */
  seccomp_release (ctx);
  if (rc < 0)
    return mh_error_make (err, -rc, "load the seccomp filter");
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
