#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

#define PROC_CGROUP_MAX (64 * 1024)

/* A cgroup path must stay inside the controller's mount: absolute, no ".."
 * (a process in another cgroup namespace shows "/../…"), no empty tricks. */
static int
check_rel (const char *rel, mh_error_t *err)
{
  if (rel[0] != '/')
    return mh_error_make (err, 0, "cgroup path \"%s\": not absolute; the runtime reported a path memhook cannot place", rel);
  for (const char *p = rel; *p;)
    {
      while (*p == '/')
        p++;
      size_t n = strcspn (p, "/");
      if ((n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
        return mh_error_make (err, 0, "cgroup path \"%s\": leaves the cgroup mount; "
                              "run the hook in the host's cgroup namespace (as the runtime does)", rel);
      p += n;
    }
  return 0;
}

static bool
has_memory (const char *controllers, size_t len)
{
  for (const char *p = controllers, *end = controllers + len; p < end;)
    {
      const char *comma = memchr (p, ',', (size_t) (end - p));
      size_t n = comma ? (size_t) (comma - p) : (size_t) (end - p);
      if (n == 6 && memcmp (p, "memory", 6) == 0)
        return true;
      p += n + 1;
    }
  return false;
}

int
cg_path_parse (const char *proc_cgroup, enum cg_version version, char **out, mh_error_t *err)
{
  for (const char *line = proc_cgroup; *line;)
    {
      const char *eol = strchrnul (line, '\n');
      const char *c1 = memchr (line, ':', (size_t) (eol - line));
      const char *c2 = c1 ? memchr (c1 + 1, ':', (size_t) (eol - c1 - 1)) : NULL;

      if (c2 != NULL)
        {
          bool v2_line = (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1);
          bool match = version == CG_V2 ? v2_line : (!v2_line && has_memory (c1 + 1, (size_t) (c2 - c1 - 1)));
          if (match)
            {
              cleanup_free char *path = strndup (c2 + 1, (size_t) (eol - c2 - 1));
              if (path == NULL)
                return mh_error_make (err, ENOMEM, "parse /proc/PID/cgroup");
              if (check_rel (path, err) < 0)
                return -1;
              *out = steal_pointer (&path);
              return 0;
            }
        }
      line = *eol ? eol + 1 : eol;
    }
  if (version == CG_V2)
    return mh_error_make (err, 0, "no cgroup v2 entry (\"0::/…\") in the process's cgroup list");
  return mh_error_make (err, 0, "no cgroup v1 memory controller entry in the process's cgroup list");
}

int
cg_path_of_pid (pid_t pid, enum cg_version version, char **out, mh_error_t *err)
{
  char proc[64];
  cleanup_free char *text = NULL;
  size_t len = 0;

  snprintf (proc, sizeof (proc), "/proc/%d/cgroup", (int) pid);
  if (read_file_at (AT_FDCWD, proc, PROC_CGROUP_MAX, &text, &len, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        return mh_error_make (err, 0, "process %d (state.pid) does not exist; it exited before the hook ran; nothing to apply", (int) pid);
      return -1;
    }
  if (strlen (text) != len)
    return mh_error_make (err, 0, "%s: unexpected NUL byte", proc);
  if (cg_path_parse (text, version, out, err) < 0)
    return mh_error_wrap (err, "%s", proc);
  return 0;
}

static int
open_walk (int rootfd, const char *rel, int *dirfd)
{
  cleanup_close int cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);

  if (cur < 0)
    return -1;
  for (const char *p = rel; *p;)
    {
      while (*p == '/')
        p++;
      size_t n = strcspn (p, "/");
      if (n == 0)
        break;
      cleanup_free char *name = strndup (p, n);
      if (name == NULL)
        return -1;
      int next = openat (cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        {
          /* Say ELOOP for a symlink, as openat2's RESOLVE_NO_SYMLINKS does. */
          struct stat st;
          int e = errno;
          if (fstatat (cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
            e = ELOOP;
          errno = e;
          return -1;
        }
      close (cur);
      cur = next;
      p += n;
    }
  *dirfd = steal_fd (&cur);
  return 0;
}

static int
open_beneath (int rootfd, const char *rel, int *dirfd)
{
  struct open_how how = {
    .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  const char *path = rel;

  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  long fd = syscall (SYS_openat2, rootfd, path, &how, sizeof (how));
  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    /* Old kernel, or a seccomp filter that does not know openat2. */
    return open_walk (rootfd, rel, dirfd);
  if (fd < 0)
    return -1;
  *dirfd = (int) fd;
  return 0;
}

int
cg_open_dir (const struct cg_host *host, const char *rel, int *dirfd, mh_error_t *err)
{
  cleanup_close int rootfd = -1;

  if (check_rel (rel, err) < 0)
    return -1;
  rootfd = open (host->memory_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return mh_error_make (err, errno, "open %s", host->memory_root);
  if (open_beneath (rootfd, rel, dirfd) < 0)
    {
      int e = errno;
      struct stat st;
      const char *inner = rel + strspn (rel, "/");
      /* O_DIRECTORY|O_NOFOLLOW on a symlink says ENOTDIR: tell which. */
      if (e == ENOTDIR && *inner && fstatat (rootfd, inner, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        e = ELOOP;
      if (e == ELOOP || e == EXDEV)
        return mh_error_make (err, e, "cgroup %s%s: leaves the cgroup mount through a symlink; "
                              "the cgroup path must be a plain directory", host->memory_root, rel);
      if (e == ENOENT)
        return mh_error_make (err, e, "cgroup %s%s does not exist; the container exited or the runtime removed its cgroup", host->memory_root, rel);
      return mh_error_make (err, e, "open cgroup %s%s", host->memory_root, rel);
    }
  return 0;
}
