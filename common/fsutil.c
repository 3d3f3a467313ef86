#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          errno = EIO;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
read_all_fd (int fd, size_t max, char **out, size_t *len, mh_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t used = 0, cap = 0;

  for (;;)
    {
      if (cap - used < 4096)
        {
          /* +1 keeps room for the terminating NUL and lets us see "more than max". */
          size_t want = cap ? cap * 2 : 8192;
          if (want > max + 1)
            want = max + 1;
          if (want <= used)
            return mh_error_make (err, 0, "input larger than %zu bytes", max);
          char *nbuf = realloc (buf, want + 1);
          if (nbuf == NULL)
            return mh_error_make (err, ENOMEM, "read");
          buf = nbuf;
          cap = want;
        }
      ssize_t n = read (fd, buf + used, cap - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return mh_error_make (err, errno, "read");
      if (n == 0)
        break;
      used += (size_t) n;
      if (used > max)
        return mh_error_make (err, 0, "input larger than %zu bytes", max);
    }
  if (buf == NULL)
    {
      buf = malloc (1);
      if (buf == NULL)
        return mh_error_make (err, ENOMEM, "read");
    }
  buf[used] = '\0';
  *out = steal_pointer (&buf);
  if (len)
    *len = used;
  return 0;
}

int
read_file_at (int dirfd, const char *name, size_t max, char **out, size_t *len, mh_error_t *err)
{
  cleanup_close int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    return mh_error_make (err, errno, "open %s", name);
  if (read_all_fd (fd, max, out, len, err) < 0)
    return mh_error_wrap (err, "%s", name);
  return 0;
}

/* ".name.XXXXXXXX" next to the target, so rename() stays in one filesystem. */
static int
temp_name (const char *name, char *buf, size_t len)
{
  unsigned char rnd[6];
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  char suffix[sizeof (rnd) + 1];

  if (getrandom (rnd, sizeof (rnd), GRND_NONBLOCK) != (ssize_t) sizeof (rnd))
    {
      /* No entropy yet this early at boot: O_EXCL still makes a clash safe. */
      unsigned long v = (unsigned long) getpid () ^ (unsigned long) (uintptr_t) &rnd;
      memcpy (rnd, &v, sizeof (rnd));
    }
  for (size_t i = 0; i < sizeof (rnd); i++)
    suffix[i] = alphabet[rnd[i] % (sizeof (alphabet) - 1)];
  suffix[sizeof (rnd)] = '\0';
  int n = snprintf (buf, len, ".%s.%s.tmp", name, suffix);
  return n < 0 || (size_t) n >= len ? -1 : 0;
}

static int
write_temp (int dirfd, const char *tmp, const void *buf, size_t len, mode_t mode, bool durable, mh_error_t *err)
{
  cleanup_close int fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

  if (fd < 0)
    return mh_error_make (err, errno, "create %s", tmp);
  /* The umask must not decide a record's mode. */
  if (fchmod (fd, mode) < 0)
    return mh_error_make (err, errno, "chmod %s", tmp);
  if (write_all (fd, buf, len) < 0)
    return mh_error_make (err, errno, "write %s", tmp);
  if (durable && fsync (fd) < 0)
    return mh_error_make (err, errno, "fsync %s", tmp);
  if (close (steal_fd (&fd)) < 0)
    return mh_error_make (err, errno, "close %s", tmp);
  return 0;
}

static int
replace_file (int dirfd, const char *name, const void *buf, size_t len, mode_t mode, bool durable, mh_error_t *err)
{
  char tmp[512];

  if (strchr (name, '/') != NULL)
    return mh_error_make (err, EINVAL, "write %s: not a plain file name", name);
  for (int attempt = 0;; attempt++)
    {
      if (temp_name (name, tmp, sizeof (tmp)) < 0)
        return mh_error_make (err, ENAMETOOLONG, "write %s", name);
      if (write_temp (dirfd, tmp, buf, len, mode, durable, err) == 0)
        break;
      if ((*err)->errnum != EEXIST || attempt >= 8)
        {
          if ((*err)->errnum != EEXIST)
            unlinkat (dirfd, tmp, 0);
          return -1;
        }
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return mh_error_make (err, saved, "rename %s to %s", tmp, name);
    }
  /* The rename is durable only once the directory is. */
  if (!durable)
    return 0;
  if (dirfd == AT_FDCWD)
    {
      cleanup_close int cwd = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cwd < 0 || fsync (cwd) < 0)
        return mh_error_make (err, errno, "fsync directory of %s", name);
    }
  else if (fsync (dirfd) < 0 && errno != EINVAL)
    return mh_error_make (err, errno, "fsync directory of %s", name);
  return 0;
}

int
write_file_atomic (int dirfd, const char *name, const void *buf, size_t len, mode_t mode, mh_error_t *err)
{
  return replace_file (dirfd, name, buf, len, mode, true, err);
}

int
write_file_replace (int dirfd, const char *name, const void *buf, size_t len, mode_t mode, mh_error_t *err)
{
  return replace_file (dirfd, name, buf, len, mode, false, err);
}
