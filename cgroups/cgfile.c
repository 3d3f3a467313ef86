#include "cgfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

/* memory.stat and memory.numa_stat are the largest files memhook reads. */
#define CG_TEXT_MAX (256 * 1024)

int
cg_read_text (int dirfd, const char *file, char **out, mh_error_t *err)
{
  return read_file_at (dirfd, file, CG_TEXT_MAX, out, NULL, err);
}

static int
parse_i64 (const char *s, int64_t *out)
{
  char *end = NULL;
  long long v;

  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno != 0 || end == s)
    return -1;
  while (*end == ' ' || *end == '\n' || *end == '\t')
    end++;
  if (*end != '\0')
    return -1;
  *out = (int64_t) v;
  return 0;
}

int
cg_read_i64 (int dirfd, const char *file, int64_t *out, mh_error_t *err)
{
  cleanup_free char *text = NULL;
  int64_t v;

  if (cg_read_text (dirfd, file, &text, err) < 0)
    return -1;
  text[strcspn (text, "\n")] = '\0';
  if (strcmp (text, "max") == 0)
    {
      *out = -1;
      return 0;
    }
  if (parse_i64 (text, &v) < 0)
    return mh_error_make (err, 0, "%s: expected a number or \"max\", found \"%.40s\"", file, text);
  *out = v >= CG_V1_UNLIMITED_MIN ? -1 : v;
  return 0;
}

int
cg_write (int dirfd, const char *file, const char *value, mh_error_t *err)
{
  /* O_TRUNC means nothing to cgroupfs (the shell's ">" sends it too) and
   * lets a plain-file tree in the unit tests behave like one. */
  cleanup_close int fd = openat (dirfd, file, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  size_t len = strlen (value);
  ssize_t n;

  if (fd < 0)
    return mh_error_make (err, errno, "open %s", file);
  /* The kernel takes a cgroup value from one write(); a retry after a
   * short write would send a second, different value. */
  do
    n = write (fd, value, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mh_error_make (err, errno, "write %s to %s", value, file);
  if ((size_t) n != len)
    return mh_error_make (err, EIO, "write %s to %s: short write", value, file);
  return 0;
}

int
cg_keyed_get (const char *text, const char *key, bool *found, int64_t *out)
{
  size_t klen = strlen (key);

  *found = false;
  for (const char *line = text; *line;)
    {
      const char *eol = strchrnul (line, '\n');
      if ((size_t) (eol - line) > klen && strncmp (line, key, klen) == 0 && line[klen] == ' ')
        {
          char buf[32];
          size_t n = (size_t) (eol - line) - klen - 1;
          if (n == 0 || n >= sizeof (buf))
            return -1;
          memcpy (buf, line + klen + 1, n);
          buf[n] = '\0';
          if (parse_i64 (buf, out) < 0)
            return -1;
          *found = true;
          return 0;
        }
      line = *eol ? eol + 1 : eol;
    }
  return 0;
}

bool
cg_file_exists (int dirfd, const char *file)
{
  return faccessat (dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}
