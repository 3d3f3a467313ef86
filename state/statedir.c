#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* mkdir -p of the parents: what memhook creates there is root's and 0755,
 * like /run itself; the state dir alone is private. */
static int
make_parents (const char *path, mh_error_t *err)
{
  cleanup_free char *copy = strdup (path);

  if (copy == NULL)
    return mh_error_make (err, ENOMEM, "state dir");
  for (char *p = copy + 1; (p = strchr (p, '/')) != NULL; p++)
    {
      *p = '\0';
      if (mkdir (copy, 0755) < 0 && errno != EEXIST)
        return mh_error_make (err, errno, "create %s", copy);
      *p = '/';
    }
  return 0;
}

/* Owner and mode: root's (our euid), no group/other access.  A directory
 * memhook just made gets its mode fixed; an existing one is the operator's
 * and is refused with the fix instead of silently changed. */
static int
check_dir (int fd, const char *shown, bool just_created, mh_error_t *err)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    return mh_error_make (err, errno, "stat %s", shown);
  if (st.st_uid != geteuid ())
    return mh_error_make (err, 0, "%s is owned by uid %u, not by uid %u (root); chown root:root %s or use another --state-dir",
                          shown, (unsigned) st.st_uid, (unsigned) geteuid (), shown);
  if ((st.st_mode & 077) == 0)
    return 0;
  if (just_created)
    {
      if (fchmod (fd, 0700) < 0)
        return mh_error_make (err, errno, "chmod 0700 %s", shown);
      return 0;
    }
  return mh_error_make (err, 0, "%s has mode %04o: others can read or change memhook's records; chmod 0700 %s",
                        shown, (unsigned) (st.st_mode & 07777), shown);
}

static int
open_nofollow (int at, const char *name, const char *shown, int *fd, mh_error_t *err)
{
  *fd = openat (at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*fd >= 0)
    return 0;
  if (errno == ELOOP || errno == ENOTDIR)
    {
      struct stat st;
      if (fstatat (at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
        return mh_error_make (err, 0, "%s is a symlink; memhook follows no symlink into its state: "
                              "point --state-dir at the real directory", shown);
      return mh_error_make (err, ENOTDIR, "%s is not a directory; remove it or use another --state-dir", shown);
    }
  return mh_error_make (err, errno, "open %s", shown);
}

int
statedir_open (const char *path, bool create, int *dirfd, mh_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *clean = NULL;
  bool created = false;

  if (path == NULL || path[0] != '/')
    return mh_error_make (err, 0, "state dir \"%s\": not an absolute path; give --state-dir an absolute path",
                          path ? path : "");
  clean = strdup (path);
  if (clean == NULL)
    return mh_error_make (err, ENOMEM, "state dir");
  for (size_t l = strlen (clean); l > 1 && clean[l - 1] == '/'; l--)
    clean[l - 1] = '\0';
  path = clean;
  if (create)
    {
      if (make_parents (path, err) < 0)
        return mh_error_wrap (err, "state dir");
      if (mkdir (path, 0700) == 0)
        created = true;
      else if (errno != EEXIST)
        return mh_error_make (err, errno, "create state dir %s", path);
    }
  if (open_nofollow (AT_FDCWD, path, path, &fd, err) < 0)
    return -1;
  if (check_dir (fd, path, created, err) < 0)
    return mh_error_wrap (err, "state dir");
  *dirfd = steal_fd (&fd);
  return 0;
}

int
statedir_open_container (int state_dirfd, const char *id, bool create, int *dirfd, mh_error_t *err)
{
  cleanup_close int fd = -1;
  bool created = false;

  /* The caller checked the id with oci_id_check; this guard only makes
   * sure nothing here can ever name a path outside the state dir. */
  if (id == NULL || id[0] == '\0' || id[0] == '.' || strchr (id, '/') != NULL)
    return mh_error_make (err, 0, "container id \"%s\" cannot be a directory name", id ? id : "");
  if (create)
    {
      if (mkdirat (state_dirfd, id, 0700) == 0)
        created = true;
      else if (errno != EEXIST)
        return mh_error_make (err, errno, "create state dir entry %s", id);
    }
  if (open_nofollow (state_dirfd, id, id, &fd, err) < 0)
    return mh_error_wrap (err, "state dir");
  if (check_dir (fd, id, created, err) < 0)
    return mh_error_wrap (err, "state dir");
  *dirfd = steal_fd (&fd);
  return 0;
}
